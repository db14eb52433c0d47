import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapMeter

final class FragmentTableTests: XCTestCase {
    /// A UDP packet from 10.77.0.1:7000 to 10.77.0.2:7001, split in fragments of id 0x1234.
    func fragment(offset: UInt16, more: Bool, id: UInt16 = 0x1234, payload: Int = 100) -> PacketFacts {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        if offset == 0 {
            f.ipv4(proto: 17, payload: 8 + payload, flagsOffset: (more ? 0x2000 : 0), identification: id)
            f.udp(sport: 7000, dport: 7001, payload: 3000)
        } else {
            f.ipv4(proto: 17, payload: payload, flagsOffset: (more ? 0x2000 : 0) | offset, identification: id)
        }
        f.zeros(payload)
        return f.decode()
    }

    func testDecoderMarksFragments() {
        let first = fragment(offset: 0, more: true)
        XCTAssertTrue(first.isFirstFragment)
        XCTAssertFalse(first.isLaterFragment)
        XCTAssertEqual(first.fragmentID, 0x1234)
        XCTAssertEqual(first.key.sourcePort, 7000)
        let last = fragment(offset: 185, more: false)
        XCTAssertTrue(last.isLaterFragment)
        XCTAssertEqual(last.fragmentID, 0x1234)
        let whole = FrameBuilder.tcpv4().decode()
        XCTAssertFalse(whole.isFirstFragment || whole.isLaterFragment, "DF set, no offset: not a fragment")

        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 44, payload: 8 + 8 + 16)
        v6.raw([17, 0, 0x00, 0x01, 0xAB, 0xCD, 0xEF, 0x01]) // offset 0, M set, id 0xABCDEF01
        v6.udp(sport: 53, dport: 53, payload: 400)
        v6.zeros(16)
        let six = v6.decode()
        XCTAssertTrue(six.isFirstFragment)
        XCTAssertEqual(six.fragmentID, 0xABCD_EF01)
        XCTAssertEqual(six.key.sourcePort, 53)
    }

    func testLaterFragmentsTakeTheFirstOnesPorts() {
        var table = FragmentTable(capacity: 64)
        var evicted: FragmentTable.Held?
        let first = fragment(offset: 0, more: true)
        XCTAssertNil(table.first(first.key, id: first.fragmentID, now: 0, evicted: &evicted))
        let later = fragment(offset: 185, more: false)
        let key = table.later(later.key, id: later.fragmentID, octets: later.octets, now: 1, evicted: &evicted)
        XCTAssertEqual(key, first.key, "the later fragment joins the first one's flow")
        let other = fragment(offset: 185, more: false, id: 0x9999)
        XCTAssertNil(
            table.later(other.key, id: other.fragmentID, octets: other.octets, now: 1, evicted: &evicted),
            "another packet's fragment is not attributed to this flow")
        XCTAssertNil(evicted)
    }

    func testFragmentsBeforeTheFirstAreHeldThenGiven() {
        var table = FragmentTable(capacity: 64)
        var evicted: FragmentTable.Held?
        for (offset, t) in [(370, 10), (185, 20)] as [(UInt16, UInt64)] {
            let f = fragment(offset: offset, more: offset != 370)
            XCTAssertNil(table.later(f.key, id: f.fragmentID, octets: f.octets, now: t, evicted: &evicted))
        }
        let first = fragment(offset: 0, more: true)
        let held = table.first(first.key, id: first.fragmentID, now: 30, evicted: &evicted)
        XCTAssertEqual(held?.packets, 2)
        XCTAssertEqual(held?.octets, 240)
        XCTAssertEqual(held?.firstNs, 10)
        XCTAssertEqual(held?.lastNs, 20)
        XCTAssertEqual(held?.key, first.key, "held counts go to the flow with the first fragment's ports")
        XCTAssertEqual(table.attributed, 2)
    }

    func testFragmentsWhoseFirstNeverComesAreNotLost() {
        var table = FragmentTable(capacity: 64, timeoutSeconds: 5)
        var evicted: FragmentTable.Held?
        let f = fragment(offset: 185, more: false)
        XCTAssertNil(table.later(f.key, id: f.fragmentID, octets: f.octets, now: 0, evicted: &evicted))
        var delivered: [FragmentTable.Held] = []
        while let held = table.nextExpired(now: 4_999_999_999) { delivered.append(held) }
        XCTAssertTrue(delivered.isEmpty)
        while let held = table.nextExpired(now: 5_000_000_000) { delivered.append(held) }
        XCTAssertEqual(delivered.map(\.packets), [1])
        XCTAssertEqual(delivered.first?.key.sourcePort, 0, "counted without ports")
        XCTAssertEqual(table.unattributed, 1)
    }

    func testAFullSetGivesUpItsOldestEntry() {
        var table = FragmentTable(capacity: 4) // one set of four
        var evicted: FragmentTable.Held?
        for id in 0 ..< 4 {
            let f = fragment(offset: 185, more: false, id: UInt16(id))
            _ = table.later(f.key, id: f.fragmentID, octets: f.octets, now: UInt64(id), evicted: &evicted)
        }
        XCTAssertNil(evicted)
        let f = fragment(offset: 185, more: false, id: 99)
        _ = table.later(f.key, id: f.fragmentID, octets: f.octets, now: 10, evicted: &evicted)
        XCTAssertEqual(evicted?.packets, 1, "the oldest packet's held fragment comes back, to be counted without ports")
        XCTAssertEqual(table.unattributed, 1)
    }
}

final class FlowCacheHeldTests: XCTestCase {
    func testHeldCountsJoinTheFlowWithTheirOwnTimes() {
        var c = FlowCache(
            maxFlows: 64, policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60),
            point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0))
        let key = FrameBuilder.tcpv4().decode().key
        c.meter(key: key, octets: 100, tcpFlags: 0, now: 50)
        c.meterHeld(key: key, packets: 2, octets: 240, firstNs: 10, lastNs: 20)
        var records: [FlowRecord] = []
        _ = c.expireAll(reason: .forcedEnd) {
            records.append(copy $0); return true
        }
        XCTAssertEqual(records.first?.packets, 3)
        XCTAssertEqual(records.first?.octets, 340)
        XCTAssertEqual(records.first?.firstNs, 10, "the flow started with the held fragments")
        XCTAssertEqual(records.first?.lastNs, 50)
    }
}

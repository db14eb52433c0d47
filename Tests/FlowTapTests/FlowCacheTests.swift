import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapMeter

final class FlowCacheTests: XCTestCase {
    let point = ObservationPoint(ingressInterface: 7, egressInterface: 8, direction: 0)

    func cache(maxFlows: Int = 64, idle: Int = 15, active: Int = 60) -> FlowCache {
        FlowCache(
            maxFlows: maxFlows, policy: ExpiryPolicy(idleTimeoutSeconds: idle, activeTimeoutSeconds: active),
            point: point)
    }

    func key(_ port: UInt16) -> FlowKey { FrameBuilder.tcpv4(sport: port).decode().key }

    /// The cache keeps nanoseconds; these tests think in milliseconds.
    func ms(_ v: UInt64) -> UInt64 { v * 1_000_000 }

    func pending(_ c: inout FlowCache) -> [FlowRecord] {
        var out: [FlowRecord] = []
        _ = c.drainPending {
            out.append(copy $0); return true
        }
        return out
    }

    func expired(_ c: inout FlowCache, now: UInt64) -> [FlowRecord] {
        var out: [FlowRecord] = []
        c.expire(now: now, slots: c.capacity) {
            out.append(copy $0); return true
        }
        return out
    }

    func testPacketsOfOneFlowAccumulate() {
        var c = cache()
        c.meter(key: key(1), octets: 100, tcpFlags: TCPFlags.syn, now: ms(1000))
        c.meter(key: key(1), octets: 60, tcpFlags: TCPFlags.ack, now: ms(1500))
        c.meter(key: key(2), octets: 40, tcpFlags: 0, now: ms(1600))
        XCTAssertEqual(c.liveFlows, 2)
        XCTAssertEqual(c.flowsCreated, 2)
        XCTAssertEqual(c.pendingCount, 0)
        var records: [FlowRecord] = []
        XCTAssertTrue(
            c.expireAll(reason: .forcedEnd) {
                records.append(copy $0); return true
            })
        XCTAssertEqual(c.liveFlows, 0)
        let first = records.first { $0.key == key(1) }
        XCTAssertEqual(first?.packets, 2)
        XCTAssertEqual(first?.octets, 160)
        XCTAssertEqual(first?.firstNs, ms(1000))
        XCTAssertEqual(first?.lastNs, ms(1500))
        XCTAssertEqual(first?.tcpFlags, TCPFlags.syn | TCPFlags.ack)
        XCTAssertEqual(first?.endReason, .forcedEnd)
        XCTAssertEqual(first?.ingressInterface, 7)
        XCTAssertEqual(first?.egressInterface, 8)
        XCTAssertEqual(records.count, 2)
    }

    /// One connection, one flow per direction: the ACK after the FIN, a retransmitted FIN and
    /// an RST join the closing flow, which ends once the close grace passes without a packet.
    func testAClosedFlowKeepsItsClosingPacketsForTheGrace() {
        var c = cache()
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.ack, now: ms(10))
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(20))
        XCTAssertTrue(pending(&c).isEmpty, "a FIN no longer reports at once")
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.ack, now: ms(30)) // the last ACK
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(1_030)) // FIN again
        c.meter(key: key(1), octets: 40, tcpFlags: TCPFlags.rst, now: ms(1_040))
        XCTAssertEqual(c.liveFlows, 1)
        XCTAssertTrue(expired(&c, now: ms(1_040 + 4_999)).isEmpty, "within 5 s of the last packet")
        let out = expired(&c, now: ms(1_040 + 5_000))
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out.first?.endReason, .endOfFlowDetected)
        XCTAssertEqual(out.first?.packets, 5)
        XCTAssertEqual(out.first?.octets, 4 * 52 + 40)
        XCTAssertEqual(out.first?.tcpFlags, TCPFlags.fin | TCPFlags.ack | TCPFlags.rst)
        XCTAssertEqual(out.first?.lastNs, ms(1_040))
        XCTAssertEqual(c.liveFlows, 0)
    }

    /// A SYN on a closing flow's 5-tuple is the next connection: the old flow ends now.
    func testASYNDuringTheGraceStartsANewFlow() {
        var c = cache()
        c.meter(key: key(1), octets: 60, tcpFlags: TCPFlags.syn, now: ms(10))
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(20))
        c.meter(key: key(1), octets: 60, tcpFlags: TCPFlags.syn, now: ms(500))
        let out = pending(&c)
        XCTAssertEqual(out.map(\.packets), [2])
        XCTAssertEqual(out.first?.endReason, .endOfFlowDetected)
        XCTAssertEqual(c.flowsCreated, 2)
        XCTAssertEqual(c.liveFlows, 1)
        let next = expired(&c, now: ms(500 + 15_000))
        XCTAssertEqual(next.map(\.packets), [1])
        XCTAssertEqual(next.first?.endReason, .idleTimeout, "the new connection is not closing")
        XCTAssertEqual(next.first?.firstNs, ms(500))
        // A SYN that is not on a closing flow (a retransmitted SYN) joins it.
        c.meter(key: key(2), octets: 60, tcpFlags: TCPFlags.syn, now: ms(20_000))
        c.meter(key: key(2), octets: 60, tcpFlags: TCPFlags.syn, now: ms(21_000))
        XCTAssertTrue(pending(&c).isEmpty)
        XCTAssertEqual(c.flowsCreated, 3)
    }

    /// The SYN/ACK of the next connection on a closing flow's 5-tuple starts the server
    /// direction's next flow, as the SYN does the client's.
    func testASYNACKDuringTheGraceStartsANewFlow() {
        var c = cache()
        c.meter(key: key(1), octets: 60, tcpFlags: TCPFlags.syn | TCPFlags.ack, now: ms(10))
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(20))
        c.meter(key: key(1), octets: 60, tcpFlags: TCPFlags.syn | TCPFlags.ack, now: ms(500))
        XCTAssertEqual(pending(&c).map(\.packets), [2])
        XCTAssertEqual(c.flowsCreated, 2)
    }

    /// A RST seen in one direction closes the other direction's flow, whose forwarder never
    /// sees it: the notice carries the reverse key, the other cache closes that flow (close
    /// grace, then "end of flow detected" instead of the idle timeout), once per connection,
    /// also when the other direction carries another ToS.
    func testARSTClosesTheOtherDirectionThroughItsNotice() {
        let ring = SPSCRing<FlowKey>(capacity: 4)
        var a = cache(), b = cache()
        a.resetNotices = ring
        let forward = key(1)
        var reverse = key(1).reverseKey
        reverse.w6 |= 0xB8 << 40 // the server marks its packets EF
        b.meter(
            key: reverse, octets: 1500, tcpFlags: TCPFlags.ack | TCPFlags.payload, sequence: 1, payload: 1448,
            now: ms(10))
        a.meter(key: forward, octets: 52, tcpFlags: TCPFlags.ack, now: ms(11))
        a.meter(key: forward, octets: 40, tcpFlags: TCPFlags.rst, now: ms(20))
        a.meter(key: forward, octets: 40, tcpFlags: TCPFlags.rst | TCPFlags.ack, now: ms(21))
        var notices: [FlowKey] = []
        ring.drain { notices.append($0) }
        XCTAssertEqual(notices, [forward.reverseKey], "one notice per connection, with the other direction's key")
        notices.forEach { b.closeForPeerReset($0) }
        b.closeForPeerReset(key(2).reverseKey)
        XCTAssertEqual(b.peerResetsClosed, 1)
        XCTAssertEqual(b.peerResetsUnmatched, 1, "a notice for a flow not here makes none")
        XCTAssertEqual(b.liveFlows, 1)
        XCTAssertTrue(expired(&b, now: ms(10 + 4_999)).isEmpty, "the close grace counts from the flow's last packet")
        let out = expired(&b, now: ms(10 + 5_000))
        XCTAssertEqual(out.map(\.endReason), [.endOfFlowDetected])
        XCTAssertEqual(out.first?.key, reverse)
        XCTAssertEqual(out.first?.tcpFlags, TCPFlags.ack, "the other direction's RST is not this flow's flag")
        XCTAssertEqual(expired(&a, now: ms(21 + 5_000)).map(\.endReason), [.endOfFlowDetected])
    }

    /// Notices that find the other direction's ring full are counted, not waited for; with no
    /// close grace a notice ends the flow at once.
    func testResetNoticesAreBoundedAndEndAtOnceWithoutAGrace() {
        let ring = SPSCRing<FlowKey>(capacity: 2)
        var a = cache()
        a.resetNotices = ring
        for port in UInt16(1) ... 5 { a.meter(key: key(port), octets: 40, tcpFlags: TCPFlags.rst, now: ms(10)) }
        XCTAssertEqual(ring.count, 2)
        XCTAssertEqual(a.resetNoticesLost, 3)
        var b = FlowCache(
            maxFlows: 64,
            policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60, closeTimeoutSeconds: 0), point: point
        )
        b.meter(key: key(1).reverseKey, octets: 52, tcpFlags: TCPFlags.ack, now: ms(5))
        ring.drain { b.closeForPeerReset($0) }
        let out = pending(&b)
        XCTAssertEqual(out.map(\.endReason), [.endOfFlowDetected])
        XCTAssertEqual(b.liveFlows, 0)
        XCTAssertEqual(b.peerResetsUnmatched, 1)
    }

    /// `--tcp-close-timeout 0`: the FIN or RST reports the flow itself.
    func testNoCloseGraceEndsTheFlowAtItsFIN() {
        var c = FlowCache(
            maxFlows: 64,
            policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60, closeTimeoutSeconds: 0), point: point
        )
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.ack, now: ms(10))
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(20))
        let out = pending(&c)
        XCTAssertEqual(out.map(\.packets), [2])
        XCTAssertEqual(out.first?.endReason, .endOfFlowDetected)
        XCTAssertEqual(c.liveFlows, 0)
    }

    func testFullSetEvictsItsLeastRecentFlow() {
        var c = cache(maxFlows: 8) // one set of eight ways
        XCTAssertEqual(c.capacity, 8)
        for i in 0 ..< 8 { c.meter(key: key(UInt16(100 + i)), octets: 40, tcpFlags: 0, now: ms(UInt64(1000 + i))) }
        c.meter(key: key(100), octets: 40, tcpFlags: 0, now: ms(2000)) // 100 is now the most recent
        XCTAssertEqual(c.pendingCount, 0)
        c.meter(key: key(999), octets: 40, tcpFlags: 0, now: ms(2001))
        let out = pending(&c)
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out.first?.key, key(101), "the flow seen longest ago goes")
        XCTAssertEqual(out.first?.endReason, .lackOfResources)
        XCTAssertEqual(c.evictions, 1)
        XCTAssertEqual(c.liveFlows, 8)
    }

    func testIdleTimeoutEndsTheFlow() {
        var c = cache(idle: 2, active: 60)
        c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(10_000))
        XCTAssertEqual(expired(&c, now: ms(11_999)).count, 0)
        let out = expired(&c, now: ms(12_000))
        XCTAssertEqual(out.map(\.endReason), [.idleTimeout])
        XCTAssertEqual(c.liveFlows, 0)
    }

    func testActiveTimeoutReportsDeltasAndKeepsTheFlow() {
        var c = cache(idle: 5, active: 2)
        c.meter(key: key(1), octets: 100, tcpFlags: TCPFlags.syn, now: ms(10_000))
        c.meter(key: key(1), octets: 100, tcpFlags: 0, now: ms(11_500))
        var out = expired(&c, now: ms(12_000))
        XCTAssertEqual(out.map(\.endReason), [.activeTimeout])
        XCTAssertEqual(out.first?.packets, 2)
        XCTAssertEqual(c.liveFlows, 1)
        c.meter(key: key(1), octets: 50, tcpFlags: TCPFlags.ack, now: ms(12_500))
        XCTAssertEqual(
            expired(&c, now: ms(14_499)).count, 0, "the next report's active timeout runs from its first packet")
        out = expired(&c, now: ms(14_500))
        XCTAssertEqual(out.first?.packets, 1, "only the packets since the last report")
        XCTAssertEqual(out.first?.octets, 50)
        XCTAssertEqual(out.first?.firstNs, ms(12_500))
        XCTAssertEqual(out.first?.tcpFlags, TCPFlags.ack)
        // Quiet since: the idle timeout removes it without an empty record.
        XCTAssertEqual(expired(&c, now: ms(20_000)).count, 0)
        XCTAssertEqual(c.liveFlows, 0)
    }

    func testEqualIdleAndActiveTimeoutsPreferIdle() {
        var c = cache(idle: 2, active: 2)
        c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(0))
        XCTAssertEqual(expired(&c, now: ms(2_000)).map(\.endReason), [.idleTimeout])
    }

    /// The idle and active boundaries on the packet's own path, whatever the sweep has done:
    /// a packet a gap of the timeout − 1 ms after joins the report; at the timeout, or 1 ms
    /// after, the report ends first (idle: the flow is new; active: the entry goes on).
    func testTimeoutsEndTheReportOnThePacketsOwnPath() {
        for (gap, splits) in [(UInt64(1_999), false), (2_000, true), (2_001, true)] {
            var c = cache(idle: 2, active: 60)
            c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(10_000))
            c.meter(key: key(1), octets: 60, tcpFlags: 0, now: ms(10_000 + gap))
            let ended = pending(&c)
            XCTAssertEqual(ended.map(\.endReason), splits ? [.idleTimeout] : [], "idle, gap \(gap) ms")
            XCTAssertEqual(ended.first?.octets, splits ? 40 : nil)
            XCTAssertEqual(c.flowsCreated, splits ? 2 : 1)
            var rest: [FlowRecord] = []
            _ = c.expireAll(reason: .forcedEnd) {
                rest.append(copy $0); return true
            }
            XCTAssertEqual(rest.map(\.packets), [splits ? 1 : 2])
            XCTAssertEqual(rest.first?.firstNs, ms(splits ? 10_000 + gap : 10_000))
        }
        for (gap, splits) in [(UInt64(2_999), false), (3_000, true), (3_001, true)] {
            var c = cache(idle: 2, active: 3)
            // A packet every second keeps the flow from going idle.
            var t: UInt64 = 10_000
            while t < 12_999 { c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(t)); t += 1_000 }
            c.meter(key: key(1), octets: 60, tcpFlags: 0, now: ms(10_000 + gap))
            let ended = pending(&c)
            XCTAssertEqual(ended.map(\.endReason), splits ? [.activeTimeout] : [], "active, at \(gap) ms")
            XCTAssertEqual(ended.first?.lastNs, splits ? ms(12_000) : nil)
            XCTAssertEqual(c.flowsCreated, 1, "an active report keeps the flow")
            var rest: [FlowRecord] = []
            _ = c.expireAll(reason: .forcedEnd) {
                rest.append(copy $0); return true
            }
            XCTAssertEqual(
                rest.first?.firstNs, ms(splits ? 10_000 + gap : 10_000), "the next report starts with the packet")
        }
    }

    /// A closing flow's packet after the close grace ends it first (end of flow detected); a
    /// full set's least recent flow whose idle timeout has come is reported as idle, not as a
    /// lack of resources.
    func testTheCloseGraceAndEvictionsTellTheirTimeouts() {
        var c = FlowCache(
            maxFlows: 64,
            policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60, closeTimeoutSeconds: 5), point: point
        )
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(1_000))
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.ack, now: ms(5_999))
        XCTAssertTrue(pending(&c).isEmpty, "within the grace: the closing ACK joins")
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.ack, now: ms(10_999))
        XCTAssertEqual(pending(&c).map(\.packets), [2], "the grace had passed: the closed flow ended first")
        XCTAssertEqual(pending(&c).count, 0)

        var one = FlowCache(
            maxFlows: 8, policy: ExpiryPolicy(idleTimeoutSeconds: 2, activeTimeoutSeconds: 60), point: point)
        for i in 0 ..< 8 { one.meter(key: key(UInt16(i)), octets: 40, tcpFlags: 0, now: ms(UInt64(i))) }
        one.meter(key: key(100), octets: 40, tcpFlags: 0, now: ms(1_000))
        XCTAssertEqual(pending(&one).map(\.endReason), [.lackOfResources])
        one.meter(key: key(101), octets: 40, tcpFlags: 0, now: ms(2_001))
        XCTAssertEqual(pending(&one).map(\.endReason), [.idleTimeout], "its idle timeout had come")
        XCTAssertEqual(one.evictions, 1)
    }

    /// `flowtap set` shortens the idle timeout: the sweep takes the flow's lower bound down, so
    /// that its next packet after the new deadline ends the report on its own path.
    func testAShorterTimeoutReachesThePacketPathThroughTheSweep() {
        var c = cache(idle: 15, active: 60)
        c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(0))
        c.policy = ExpiryPolicy(idleTimeoutSeconds: 2, activeTimeoutSeconds: 60)
        XCTAssertEqual(expired(&c, now: ms(1_000)).count, 0, "not yet due")
        c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(1_500))
        c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(3_500))
        XCTAssertEqual(pending(&c).map(\.endReason), [.idleTimeout], "2 s after the last packet, by the new timeout")
    }

    /// Ordered expiry (`flowtap read`): each flow is reported when the clock reaches its
    /// deadline, flows due at once in the order of their deadlines, and the order is the same
    /// with any hash seed.
    func testOrderedExpiryFollowsTheDeadlinesWhateverTheSeed() {
        var orders: [[UInt16]] = []
        for seed in [0, 1, 0xDEAD_BEEF, .max] as [UInt64] {
            var c = FlowCache(
                maxFlows: 1024, policy: ExpiryPolicy(idleTimeoutSeconds: 2, activeTimeoutSeconds: 60), point: point,
                seed: seed, orderedExpiry: true)
            // 100 flows, each last seen at a different time, metered in another order.
            for i in 0 ..< 100 {
                c.meter(key: key(UInt16(i)), octets: 40, tcpFlags: 0, now: ms(UInt64((i * 37) % 100)))
                c.enqueueNew(now: ms(UInt64((i * 37) % 100))) // as PacketMeter does after every frame
            }
            var got: [UInt16] = []
            XCTAssertEqual(
                c.expireInOrder(now: ms(2_049)) {
                    got.append($0.key.sourcePort); return true
                }, 50)
            XCTAssertEqual(
                c.expireInOrder(now: ms(2_099)) {
                    got.append($0.key.sourcePort); return true
                }, 50)
            XCTAssertEqual(c.liveFlows, 0)
            orders.append(got)
        }
        let expected = (0 ..< 100).map { last in UInt16((0 ..< 100).first { ($0 * 37) % 100 == last }!) }
        for o in orders { XCTAssertEqual(o, expected) }
    }

    func testOrderedExpiryEndsTheForcedFlowsInOrderAndStaysBounded() {
        var c = FlowCache(
            maxFlows: 64, policy: ExpiryPolicy(idleTimeoutSeconds: 1, activeTimeoutSeconds: 2, closeTimeoutSeconds: 0),
            point: point, orderedExpiry: true)
        // Churn: every flow ends at its FIN, long before its queue item is due.
        for i in 0 ..< 100_000 {
            c.meter(
                key: key(UInt16(truncatingIfNeeded: i)), octets: 40, tcpFlags: TCPFlags.fin, now: ms(UInt64(i / 1000)))
            c.enqueueNew(now: ms(UInt64(i / 1000)))
            _ = pending(&c)
        }
        XCTAssertLessThanOrEqual(c.queue?.count ?? .max, 2 * c.capacity + 1024, "stale items are dropped")
        for i in 0 ..< 10 {
            c.meter(key: key(UInt16(i)), octets: 40, tcpFlags: 0, now: ms(200_000 + UInt64(9 - i)))
            c.enqueueNew(now: ms(200_000 + UInt64(9 - i)))
        }
        var order: [UInt16] = []
        XCTAssertTrue(
            c.expireAll(reason: .forcedEnd) {
                order.append($0.key.sourcePort); return true
            })
        XCTAssertEqual(order, (0 ..< 10).reversed().map { UInt16($0) }, "forced ends by deadline, not by slot")
    }

    func testRefusedExpiryStaysForTheNextScan() {
        var c = cache(idle: 1, active: 60)
        c.meter(key: key(1), octets: 40, tcpFlags: 0, now: ms(0))
        XCTAssertEqual(c.expire(now: ms(5_000), slots: c.capacity) { _ in false }, 0)
        XCTAssertEqual(c.liveFlows, 1)
        XCTAssertEqual(expired(&c, now: ms(5_000)).count, 1)
        XCTAssertEqual(c.liveFlows, 0)
    }

    func testExpireAllResumesAfterARefusal() {
        var c = cache()
        for i in 0 ..< 10 { c.meter(key: key(UInt16(i)), octets: 40, tcpFlags: 0, now: ms(0)) }
        var taken = 0
        XCTAssertFalse(
            c.expireAll(reason: .forcedEnd) { _ in
                taken += 1; return taken <= 4
            })
        var rest = 0
        XCTAssertTrue(
            c.expireAll(reason: .forcedEnd) { _ in
                rest += 1; return true
            })
        XCTAssertEqual(4 + rest, 10)
    }

    func testManyFlowsFitBelowCapacityWithFewEvictions() {
        var c = cache(maxFlows: 4096)
        var evicted = 0
        for i in 0 ..< 2048 {
            var k = key(UInt16(i))
            k.w2 = UInt64(i)
            c.meter(key: k, octets: 40, tcpFlags: 0, now: ms(0))
            evicted += pending(&c).count
        }
        XCTAssertEqual(UInt64(evicted), c.evictions)
        XCTAssertGreaterThan(c.liveFlows, 2000, "at half load an 8-way table should keep nearly every flow")
    }
}

final class RecordRingTests: XCTestCase {
    static func record(_ n: UInt64) -> FlowRecord {
        FlowRecord(
            key: FlowKey(), packets: n, octets: n, firstNs: 0, lastNs: 0, ingressInterface: 1,
            egressInterface: 2, tcpFlags: 0, endReason: .idleTimeout, direction: 0)
    }

    func testFIFOAndBounded() {
        let ring = RecordRing(capacity: 3)
        XCTAssertEqual(ring.capacity, 4)
        for i in 0 ..< 4 { XCTAssertTrue(ring.push(Self.record(UInt64(i)))) }
        XCTAssertFalse(ring.push(Self.record(9)), "full")
        var seen: [UInt64] = []
        XCTAssertEqual(ring.drain(limit: 2) { seen.append($0.packets) }, 2)
        XCTAssertTrue(ring.push(Self.record(4)))
        ring.drain { seen.append($0.packets) }
        XCTAssertEqual(seen, [0, 1, 2, 3, 4])
        XCTAssertFalse(ring.isDrained)
        ring.finish()
        XCTAssertTrue(ring.isDrained)
    }

    func testProducerAndConsumerThreads() {
        let ring = RecordRing(capacity: 64)
        let total: UInt64 = 200_000
        guard
            let producer = PosixThread(
                name: "test-producer",
                {
                    var i: UInt64 = 0
                    while i < total { if ring.push(RecordRingTests.record(i)) { i += 1 } }
                    ring.finish()
                })
        else { return XCTFail("no thread") }
        var expected: UInt64 = 0
        var ordered = true
        while !ring.isDrained {
            ring.drain { r in
                if r.packets != expected { ordered = false }
                expected += 1
            }
        }
        producer.join()
        XCTAssertEqual(expected, total)
        XCTAssertTrue(ordered)
    }
}

final class FlowMemoryTests: XCTestCase {
    func testAFlowTakesAtMost156Bytes() {
        // An entry in the table plus its 32-bit tag: the whole per-flow cost of a cache slot.
        // 64 of key, 48 of counts and times, 32 of TCP insight (the handshake's times, 12; the
        // sequence state and counts, 20), 8 of application state (the stream's start and the
        // label's slot; its state byte sits in padding), padding to 152, and the tag. A budget:
        // the README's memory figure for --max-flows follows from it (the application pools,
        // `ApplicationTable`, come on top).
        let perFlow = MemoryLayout<FlowEntry>.stride + MemoryLayout<UInt32>.stride
        XCTAssertLessThanOrEqual(perFlow, 156, "\(perFlow) bytes per flow")
    }

    func testARecordTakesAtMost216Bytes() {
        // What each ring slot and each waiting biflow record costs; test_biflow_memory.sh's
        // bound counts on it.
        XCTAssertLessThanOrEqual(MemoryLayout<FlowRecord>.stride, 216)
    }

    func testWhatEveryPacketTouchesIsInTheEntrysFirst104Bytes() {
        // The key, the four counted fields, `state`, a TCP data segment's high mark, and the
        // lower bound of its deadline.
        for field in [
            \FlowEntry.lastNs, \FlowEntry.tcpFlags, \FlowEntry.state, \FlowEntry.highSequence,
            \FlowEntry.dueNs
        ] as [PartialKeyPath<FlowEntry>] {
            XCTAssertLessThan(MemoryLayout<FlowEntry>.offset(of: field)!, 104)
        }
        XCTAssertEqual(MemoryLayout<FlowEntry>.offset(of: \FlowEntry.highSequence), 92, "in the padding after state")
    }
}

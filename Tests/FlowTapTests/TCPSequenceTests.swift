import XCTest

@testable import FlowTapDecode
@testable import FlowTapMeter

/// `TCPSequence`'s definition, segment by segment, through the cache as the meter feeds it.
final class TCPSequenceTests: XCTestCase {
    let data = TCPFlags.ack | TCPFlags.payload
    var cache = FlowCache(
        maxFlows: 64, policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60),
        point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0))
    let key = FrameBuilder.tcpv4(sport: 40000).decode().key
    var now: UInt64 = 1_000_000_000

    func segment(_ sequence: UInt32, _ length: UInt32 = 1000) {
        now += 1000
        cache.meter(key: key, octets: 52 + length, tcpFlags: data, sequence: sequence, payload: length, now: now)
    }

    func counts() -> (retransmitted: UInt32, outOfOrder: UInt32) {
        var out: [FlowRecord] = []
        XCTAssertTrue(
            cache.expireAll(reason: .forcedEnd) {
                out.append(copy $0); return true
            })
        return (out.first?.retransmittedPackets ?? 99, out.first?.outOfOrderPackets ?? 99)
    }

    func testInOrderDataCountsNothing() {
        for i: UInt32 in 0 ..< 100 { segment(5000 + i * 1000) }
        cache.meter(key: key, octets: 52, tcpFlags: TCPFlags.ack, now: now + 1) // pure ACKs are not data
        cache.meter(key: key, octets: 52, tcpFlags: TCPFlags.ack, now: now + 2)
        XCTAssertTrue(counts() == (0, 0))
    }

    /// Seen, then sent again (lost after the probe): retransmissions, a partial overlap too.
    func testASegmentWhoseStartWasSeenIsARetransmission() {
        segment(0); segment(1000); segment(2000)
        segment(1000) // again
        segment(2500, 1000) // starts below the mark, ends beyond it: moves the mark
        segment(3500) // in order after the overlap
        XCTAssertTrue(counts() == (2, 0))
    }

    /// A gap, then what it lacked (reordered or lost before the probe): out of order, once per
    /// segment; a second copy of a filler is a retransmission, as the hole shrank past it.
    func testAFillerOfTheHoleIsOutOfOrder() {
        segment(0); segment(3000) // hole [1000, 3000)
        segment(1000) // fills its front
        segment(2000) // and the rest
        segment(2000) // seen now: retransmission
        segment(4000) // in order
        XCTAssertTrue(counts() == (1, 2))
    }

    /// One hole is tracked: a newer gap replaces it, and a late segment of the older one counts
    /// as a retransmission (the documented limit).
    func testANewerHoleReplacesTheOlder() {
        segment(0); segment(2000) // hole [1000, 2000)
        segment(4000) // hole [3000, 4000): the older one forgotten
        segment(3000) // out of order
        segment(1000) // of the forgotten hole: retransmission
        XCTAssertTrue(counts() == (1, 1))
    }

    func testSequenceNumbersWrap() {
        segment(UInt32.max - 1499) // ends at 500 after the wrap
        segment(500) // in order across the wrap
        segment(UInt32.max - 1499) // again: retransmission
        segment(3500) // hole [1500, 3500)
        segment(1500) // out of order
        XCTAssertTrue(counts() == (1, 1))
    }

    /// Counts are per report, like packets; the sequence state is the connection's.
    func testAnActiveReportStartsTheCountsAgain() {
        cache.policy = ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 1)
        segment(0); segment(1000); segment(0)
        var out: [FlowRecord] = []
        cache.expire(now: now + 1_000_000_000, slots: cache.capacity) {
            out.append(copy $0); return true
        }
        XCTAssertEqual(out.map(\.retransmittedPackets), [1])
        XCTAssertEqual(out.first?.endReason, .activeTimeout)
        now += 1_000_000_000
        segment(2000) // in order: the mark survived the report
        segment(1000)
        XCTAssertTrue(counts() == (1, 0))
    }
}

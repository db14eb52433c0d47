import XCTest

@testable import FlowTapBase
@testable import FlowTapControl
@testable import FlowTapDecode
@testable import FlowTapMeter

/// `show flows` and `expire --match` at the cache: the filter's fields, the incremental scan's
/// top N against a plain sort of the same flows, and an expiry that takes only what matches.
final class FlowQueryTests: XCTestCase {
    static let point = ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0)

    func cacheWithFlows(_ n: Int) -> FlowCache {
        var cache = FlowCache(
            maxFlows: 8192, policy: ExpiryPolicy(idleTimeoutSeconds: 60, activeTimeoutSeconds: 60), point: Self.point,
            seed: 99)
        for i in 0 ..< n {
            var key = FrameBuilder.tcpv4(sport: UInt16(1000 + i), dport: UInt16(i % 3 == 0 ? 443 : 80)).decode().key
            key.apply(FlowKeyMask([.l3, .l4]))
            for _ in 0 ..< (i % 7) + 1 {
                cache.meter(key: key, octets: UInt32(100 + i), tcpFlags: 0, now: UInt64(i) * 1000)
            }
        }
        return cache
    }

    func testTheFilterTakesEachFieldAndNamesAnUnknownOne() throws {
        let key = FrameBuilder.tcpv4(sport: 40000, dport: 5201).decode().key
        XCTAssertTrue(
            try FlowFilter(parsing: "src=10.77.0.1 dst=10.77.0.2 sport=40000 dport=5201 proto=tcp").matches(key))
        XCTAssertFalse(try FlowFilter(parsing: "dport=80").matches(key))
        XCTAssertFalse(try FlowFilter(parsing: "proto=udp").matches(key))
        XCTAssertFalse(try FlowFilter(parsing: "src=10.77.0.2").matches(key))
        XCTAssertFalse(try FlowFilter(parsing: "src=fd00::1").matches(key), "another family never matches")
        XCTAssertTrue(try FlowFilter(parsing: "").matches(key), "no term: every flow")
        XCTAssertThrowsError(try FlowFilter(parsing: "port=80")) {
            XCTAssertTrue("\($0)".contains("unknown filter field 'port'"))
        }
        XCTAssertThrowsError(try FlowFilter(parsing: "src=nonsense"))
        XCTAssertEqual(key.addresses.source, "10.77.0.1")
        XCTAssertEqual(key.addresses.destination, "10.77.0.2")
    }

    func testTheIncrementalScanFindsTheSameTopFlowsAsASort() throws {
        let cache = cacheWithFlows(3000)
        let filter = try FlowFilter(parsing: "dport=443")
        for order in FlowOrder.allCases {
            var scan = FlowQueryScan(FlowQuery(order: order, limit: 25, matches: { filter.matches($0) }))
            var steps = 0
            while !cache.step(&scan, nowNs: 10_000_000) { steps += 1 }
            XCTAssertEqual(steps, cache.capacity / FlowQueryScan.slotsPerStep - 1, "one slice per call")
            var all: [FlowSnapshot] = []
            var whole = FlowQueryScan(FlowQuery(order: order, limit: 10_000, matches: { filter.matches($0) }))
            while !cache.step(&whole, nowNs: 10_000_000) {}
            all = whole.result
            let live443 = (0 ..< cache.capacity).filter {
                cache.tags[$0] != 0 && cache.entries[$0].key.destinationPort == 443
            }.count
            XCTAssertEqual(all.count, live443, "every live flow to 443 (a full set may have evicted one of the 1000)")
            XCTAssertGreaterThan(live443, 950)
            let expected = all.sorted { order.score($0, nowNs: 10_000_000) > order.score($1, nowNs: 10_000_000) }
                .prefix(25)
            XCTAssertEqual(
                scan.result.map { order.score($0, nowNs: 10_000_000) },
                expected.map { order.score($0, nowNs: 10_000_000) }, "\(order)")
            XCTAssertTrue(scan.result.allSatisfy { $0.key.destinationPort == 443 })
        }
    }

    func testExpireMatchTakesOnlyWhatMatches() throws {
        var cache = cacheWithFlows(300)
        let filter = try FlowFilter(parsing: "dport=443")
        var out: [FlowRecord] = []
        XCTAssertTrue(
            cache.expire(where: { filter.matches($0) }) {
                out.append(copy $0); return true
            })
        let live = cache.liveFlows
        XCTAssertEqual(out.count, 100)
        XCTAssertTrue(out.allSatisfy { $0.key.destinationPort == 443 && $0.endReason == .forcedEnd })
        XCTAssertEqual(live, 200)
    }
}

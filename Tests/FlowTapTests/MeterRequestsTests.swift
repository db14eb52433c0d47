import XCTest

@testable import FlowTapDecode
@testable import FlowTapMeter

/// `flowtap expire` requests as a forwarder reads them at its housekeeping: every request since
/// its last one is carried out, not the latest alone.
final class MeterRequestsTests: XCTestCase {
    func key(_ port: UInt16) -> FlowKey { FrameBuilder.tcpv4(sport: port, dport: 443).decode().key }

    func testRequestsBetweenTwoHousekeepingsAreAllCarriedOut() {
        let requests = MeterRequests()
        requests.requestExpiry { $0.sourcePort == 1000 }
        requests.requestExpiry { $0.sourcePort == 2000 }
        XCTAssertEqual(requests.expiryRequests, 2)
        guard let both = requests.expiryMatches(after: 0, through: 2) else { return XCTFail("every flow") }
        XCTAssertTrue(both(key(1000)), "the first request's flows too")
        XCTAssertTrue(both(key(2000)))
        XCTAssertFalse(both(key(3000)))
        guard let second = requests.expiryMatches(after: 1, through: 2) else { return XCTFail("every flow") }
        XCTAssertFalse(second(key(1000)), "a forwarder that did the first does the second alone")

        requests.requestExpiry()
        XCTAssertNil(requests.expiryMatches(after: 2, through: 3), "--all")
        XCTAssertNil(requests.expiryMatches(after: 0, through: 3), "--all among them")
    }

    func testAForwarderTooFarBehindExportsEveryFlow() {
        let requests = MeterRequests()
        for _ in 0 ... MeterRequests.keptExpiries { requests.requestExpiry { $0.sourcePort == 1000 } }
        let latest = requests.expiryRequests
        XCTAssertNil(requests.expiryMatches(after: 0, through: latest), "more than were kept: every flow, not fewer")
        XCTAssertNotNil(requests.expiryMatches(after: latest - 5, through: latest))
    }
}

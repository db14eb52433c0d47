import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode

final class FlowKeyTests: XCTestCase {
    static func macWord(_ mac: [UInt8]) -> UInt64 {
        mac.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    func testMaskKeepsOnlyRecordedFields() {
        var key = FrameBuilder.tcpv4(sport: 1234, dport: 80).decode().key
        key.w7 = UInt64(7 | FlowKey.vlanPresent)
        var l3 = key
        l3.apply(FlowKeyMask([.l3]))
        XCTAssertEqual(l3.sourceIPv4, 0x0A4D_0001)
        XCTAssertEqual(l3.ipProtocol, 6)
        XCTAssertEqual(l3.sourcePort, 0)
        XCTAssertEqual(l3.sourceMAC, 0)
        XCTAssertEqual(l3.innerVLAN, 0)
        XCTAssertEqual(l3.ipVersion, 4)

        var l2 = key
        l2.apply(FlowKeyMask([.l2]))
        XCTAssertEqual(l2.sourceIPv4, 0)
        XCTAssertEqual(l2.sourceMAC, key.sourceMAC)
        XCTAssertEqual(l2.innerVLAN, 7 | FlowKey.vlanPresent)
        XCTAssertEqual(l2.ipProtocol, 0)
        XCTAssertEqual(l2.ipVersion, 4)

        var l4 = key
        l4.apply(FlowKeyMask([.l4]))
        XCTAssertEqual(l4.sourcePort, 1234)
        XCTAssertEqual(l4.ipProtocol, 6)
        XCTAssertEqual(l4.sourceIPv4, 0)
    }

    func testHashSeparatesKeysThatDifferInOneField() {
        let a = FrameBuilder.tcpv4(sport: 1000).decode().key
        let b = FrameBuilder.tcpv4(sport: 1001).decode().key
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a.hashValue64, b.hashValue64)
        XCTAssertEqual(a.hashValue64, FrameBuilder.tcpv4(sport: 1000).decode().key.hashValue64)
    }

    func testRecordSetParsing() {
        XCTAssertEqual(RecordSet(parsing: "l3,l4"), [.l3, .l4])
        XCTAssertEqual(RecordSet(parsing: "L4,l2"), [.l2, .l4])
        XCTAssertEqual(RecordSet(parsing: "l2,l3,l4")?.names, "l2,l3,l4")
        XCTAssertNil(RecordSet(parsing: ""))
        XCTAssertNil(RecordSet(parsing: "l3,l5"))
        XCTAssertNil(RecordSet(parsing: "l3,"))
    }
}

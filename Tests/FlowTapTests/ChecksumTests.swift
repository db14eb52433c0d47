import XCTest

@testable import FlowTapBase
@testable import FlowTapSend

final class ChecksumTests: XCTestCase {
    func sum(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBytes { InternetChecksum.ipv4Header($0) }
    }

    func testRFC1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
        XCTAssertEqual(sum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]), 0x220D)
    }

    func testIPv4HeaderVector() {
        let header: [UInt8] = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
            0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7
        ]
        XCTAssertEqual(sum(header), 0xB861)
    }

    func testOddLengthPadsWithZero() {
        XCTAssertEqual(sum([0x12, 0x34, 0x56]), ~UInt16(0x1234 + 0x5600))
    }

    func testUDPChecksumVector() {
        // 10.77.9.1:4739 → 10.77.9.2:4739, payload "flowtap" (odd length); computed by hand
        // over pseudo-header + header + payload.
        var datagram: [UInt8] = [0x12, 0x83, 0x12, 0x83, 0x00, 0x0F, 0x00, 0x00]
        datagram += Array("flowtap".utf8)
        let v = datagram.withUnsafeBytes {
            InternetChecksum.udp(
                source: IPv4Address("10.77.9.1")!, destination: IPv4Address("10.77.9.2")!, datagram: $0)
        }
        XCTAssertEqual(v, 0xF9E7)
    }

    func testComputedZeroIsSentAsAllOnes() {
        let datagram: [UInt8] = [0x03, 0xE8, 0x07, 0xD0, 0x00, 0x0A, 0x00, 0x00, 0xCD, 0x85]
        let v = datagram.withUnsafeBytes {
            InternetChecksum.udp(
                source: IPv4Address("10.77.9.1")!, destination: IPv4Address("10.77.9.2")!, datagram: $0)
        }
        XCTAssertEqual(v, 0xFFFF)
    }

    func testSenderHeadersVerify() {
        let payload: [UInt8] = Array("an IPFIX message".utf8)
        var buffer = [UInt8](repeating: 0xAA, count: 28) + payload
        buffer.withUnsafeMutableBytes { raw in
            UDPSender.writeIPv4Headers(
                before: raw.baseAddress! + 28, payloadLength: payload.count,
                source: IPv4Address("10.77.9.1")!, sourcePort: 4739,
                destination: IPv4Address("10.77.9.2")!, destinationPort: 4739, id: 7)
        }
        XCTAssertEqual(Array(buffer[0 ..< 4]), [0x45, 0x00, 0x00, UInt8(28 + payload.count)])
        XCTAssertEqual(buffer[9], 17)
        XCTAssertEqual(Array(buffer[12 ..< 20]), [10, 77, 9, 1, 10, 77, 9, 2])
        // A correct header sums, checksum included, to all ones: the complement is zero.
        XCTAssertEqual(sum(Array(buffer[0 ..< 20])), 0)
        var pseudo: [UInt8] = [10, 77, 9, 1, 10, 77, 9, 2, 0, 17, 0, UInt8(8 + payload.count)]
        pseudo += buffer[20...]
        XCTAssertEqual(sum(pseudo), 0)
        XCTAssertEqual(Array(buffer[20 ..< 26]), [0x12, 0x83, 0x12, 0x83, 0x00, UInt8(8 + payload.count)])
    }

    func testIPv6HeadersAndMandatoryUDPChecksum() {
        let payload: [UInt8] = Array("v6".utf8)
        var buffer = [UInt8](repeating: 0xAA, count: 48) + payload
        let src = IPv6Address("fd00:9::1")!, dst = IPv6Address("fd00:9::2")!
        buffer.withUnsafeMutableBytes { raw in
            UDPSender.writeIPv6Headers(
                before: raw.baseAddress! + 48, payloadLength: payload.count,
                source: src, sourcePort: 4739, destination: dst, destinationPort: 4739)
        }
        XCTAssertEqual(Array(buffer[0 ..< 8]), [0x60, 0, 0, 0, 0, 10, 17, 64])
        XCTAssertEqual(Array(buffer[8 ..< 24]), src.bytes)
        XCTAssertEqual(Array(buffer[24 ..< 40]), dst.bytes)
        // Pseudo-header (RFC 8200 §8.1) + datagram sums to all ones.
        var pseudo = src.bytes + dst.bytes + [0, 0, 0, 10, 0, 0, 0, 17]
        pseudo += buffer[40...]
        XCTAssertEqual(sum(pseudo), 0)
        XCTAssertNotEqual(Array(buffer[46 ..< 48]), [0, 0])
    }
}

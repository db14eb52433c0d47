import XCTest

@testable import FlowTapDecode

final class OffloadTests: XCTestCase {
    func testSegmentsOfATCPSuperFrame() {
        // 20 000 bytes of TCP payload behind Ethernet (14) + IPv4 (20) + TCP (20), MSS 1448.
        let wire = VirtioNetHeader.segments(frameLength: 54 + 20_000, ipOffset: 14, transportEnd: 54, gsoSize: 1448)
        XCTAssertEqual(wire.packets, 14, "ceil(20000 / 1448)")
        XCTAssertEqual(wire.octets, 14 * 40 + 20_000, "IP + TCP headers once per segment, plus the payload")
        let exact = VirtioNetHeader.segments(frameLength: 54 + 2896, ipOffset: 14, transportEnd: 54, gsoSize: 1448)
        XCTAssertEqual(exact.packets, 2)
        XCTAssertEqual(exact.octets, 2 * 40 + 2896)
        let empty = VirtioNetHeader.segments(frameLength: 54, ipOffset: 14, transportEnd: 54, gsoSize: 1448)
        XCTAssertEqual(empty.packets, 1, "a frame with no payload is one packet")
        XCTAssertEqual(empty.octets, 40)
    }

    /// Segmenting by hand, as the kernel does, gives the same totals.
    func testTotalsMatchSegmentingByHand() {
        for (payload, mss, headers) in [
            (65_000, 1448, 52), (9_001, 1000, 40), (1_500, 1448, 60), (33_333, 1280 - 48, 48)
        ] {
            var packets: UInt64 = 0, octets: UInt64 = 0, left = payload
            repeat {
                let take = min(left, mss)
                packets += 1
                octets += UInt64(headers + take)
                left -= take
            } while left > 0
            let wire = VirtioNetHeader.segments(
                frameLength: 14 + headers + payload, ipOffset: 14, transportEnd: 14 + headers, gsoSize: mss)
            XCTAssertEqual(wire.packets, packets)
            XCTAssertEqual(wire.octets, octets)
        }
    }

    func testDecoderGivesTheHeaderOffsetsSegmentsRepeat() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800, vlans: [(0x8100, 5)])
        f.ipv4(proto: 6, payload: 32 + 100, options: [1, 1, 1, 1])
        f.tcp(sport: 1, dport: 2, flags: TCPFlags.ack, dataOffset: 8)
        f.zeros(12 + 100)
        let facts = f.decode()
        XCTAssertEqual(facts.ipOffset, 18)
        XCTAssertEqual(facts.transportEnd, 18 + 24 + 32, "TCP options counted through the data offset")

        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 17, payload: 8 + 50)
        v6.udp(sport: 1, dport: 2, payload: 50)
        v6.zeros(50)
        XCTAssertEqual(v6.decode().transportEnd, 14 + 40 + 8)
    }

    func testVirtioHeaderFields() {
        var raw: [UInt8] = [
            VirtioNetHeader.needsChecksum, VirtioNetHeader.gsoTCPv4 | VirtioNetHeader.gsoECN, 54, 0, 0xA8, 0x05, 34, 0,
            16, 0, 0, 0
        ]
        let h = raw.withUnsafeMutableBytes { VirtioNetHeader(UnsafeRawPointer($0.baseAddress!)) }
        XCTAssertEqual(h.gsoSize, 1448)
        XCTAssertTrue(h.isSegmented)
        raw[1] = VirtioNetHeader.gsoNone
        XCTAssertFalse(
            raw.withUnsafeBytes { VirtioNetHeader($0.baseAddress!) }.isSegmented, "checksum offload alone is one packet"
        )
    }
}

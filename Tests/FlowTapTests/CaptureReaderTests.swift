import XCTest

@testable import FlowTapDecode
@testable import FlowTapDevice

/// Capture files built here byte by byte, as the formats' specifications lay them out (pcap:
/// the tcpdump.org file format; pcapng: draft-ietf-opsawg-pcapng), read back by CaptureReader.
final class CaptureReaderTests: XCTestCase {
    static let frame = FrameBuilder.tcpv4(sport: 1000, dport: 80, flags: TCPFlags.syn, payload: 10).bytes

    struct Bytes {
        var data: [UInt8] = []
        let big: Bool
        mutating func u16(_ v: UInt16) {
            data += big ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)]
        }
        mutating func u32(_ v: UInt32) {
            let le = (0 ..< 4).map { UInt8((v >> (8 * $0)) & 0xFF) }
            data += big ? le.reversed() : le
        }
        mutating func pad() { while data.count % 4 != 0 { data.append(0) } }
    }

    static func pcap(
        big: Bool, nanoseconds: Bool, linkType: UInt32 = 1, frames: [(sec: UInt32, frac: UInt32, bytes: [UInt8])]
    ) -> [UInt8] {
        var b = Bytes(big: big)
        b.u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        b.u16(2); b.u16(4); b.u32(0); b.u32(0); b.u32(262_144); b.u32(linkType)
        for f in frames {
            b.u32(f.sec); b.u32(f.frac); b.u32(UInt32(f.bytes.count)); b.u32(UInt32(f.bytes.count))
            b.data += f.bytes
        }
        return b.data
    }

    static func read(_ bytes: [UInt8]) -> (
        frames: [(ns: UInt64, bytes: [UInt8])], error: CaptureError?, other: Int, cut: Int
    ) {
        bytes.withUnsafeBytes { raw in
            var reader = CaptureReader(.memory(raw))
            var out: [(UInt64, [UInt8])] = []
            var other = 0, cut = 0
            while true {
                switch reader.next() {
                case let .frame(f):
                    out.append((f.timestampNs, Array(UnsafeRawBufferPointer(start: f.bytes, count: f.length))))
                case .otherLinkType: other += 1
                case .cutLinkHeader: cut += 1
                case .end: return (out, nil, other, cut)
                case let .failure(e): return (out, e, other, cut)
                }
            }
        }
    }

    func testPcapInBothByteOrdersWithMicroAndNanoseconds() {
        for big in [false, true] {
            for ns in [false, true] {
                let file = Self.pcap(
                    big: big, nanoseconds: ns,
                    frames: [
                        (1_700_000_000, ns ? 123_456_789 : 123_456, Self.frame),
                        (1_700_000_001, 5, Self.frame)
                    ])
                let got = Self.read(file)
                XCTAssertNil(got.error)
                XCTAssertEqual(
                    got.frames.map(\.ns),
                    [
                        1_700_000_000_000_000_000 + (ns ? 123_456_789 : 123_456_000),
                        1_700_000_001_000_000_000 + (ns ? 5 : 5_000)
                    ], "big \(big) ns \(ns)")
                XCTAssertEqual(got.frames.map(\.bytes), [Self.frame, Self.frame])
            }
        }
    }

    func testCookedAndRawPacketsBecomeEthernetFramesWithTheirEtherType() {
        let ip = Array(Self.frame[14...])
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00] + ip
        let sll2: [UInt8] = [0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + ip
        for (link, packet) in [(UInt32(113), sll), (276, sll2), (101, ip), (228, ip)] {
            let got = Self.read(Self.pcap(big: false, nanoseconds: false, linkType: link, frames: [(1, 0, packet)]))
            XCTAssertNil(got.error)
            XCTAssertEqual(
                got.frames.first?.bytes, [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + ip, "link type \(link)")
        }
        let other = Self.read(Self.pcap(big: false, nanoseconds: false, linkType: 105, frames: [(1, 0, ip)]))
        XCTAssertEqual(other.other, 1, "802.11 is counted, not metered")
    }

    /// BSD loopback (NULL, in either byte order; LOOP), PPP with and without FF 03 and with a
    /// compressed protocol field, PPP in HDLC framing, Cisco HDLC (under its own type and under
    /// PPP's, as libpcap writes it), raw IP as 12 and 14: each an Ethernet frame of the
    /// ethertype its header names, the IP packet's bytes unchanged.
    func testBSDLoopbackPPPAndCiscoHDLCBecomeEthernetFrames() {
        let ip = Array(Self.frame[14...])
        var ip6 = [UInt8](repeating: 0, count: 48)
        ip6[0] = 0x60; ip6[5] = 8; ip6[6] = 17; ip6[7] = 64
        let cases: [(String, UInt32, [UInt8], UInt16, [UInt8])] = [
            ("NULL, little-endian AF_INET", 0, [2, 0, 0, 0], 0x0800, ip),
            ("NULL, big-endian AF_INET", 0, [0, 0, 0, 2], 0x0800, ip),
            ("NULL, Darwin AF_INET6", 0, [30, 0, 0, 0], 0x86DD, ip6),
            ("NULL, FreeBSD AF_INET6 big-endian", 0, [0, 0, 0, 28], 0x86DD, ip6),
            ("NULL, NetBSD AF_INET6", 0, [24, 0, 0, 0], 0x86DD, ip6),
            ("NULL, AF_APPLETALK: not IP", 0, [16, 0, 0, 0], 0, ip),
            ("LOOP, AF_INET", 108, [0, 0, 0, 2], 0x0800, ip),
            ("PPP with FF 03", 9, [0xFF, 0x03, 0x00, 0x21], 0x0800, ip),
            ("PPP without FF 03", 9, [0x00, 0x57], 0x86DD, ip6),
            ("PPP, compressed protocol", 9, [0x21], 0x0800, ip),
            ("PPP LCP: not IP", 9, [0xFF, 0x03, 0xC0, 0x21], 0, [1, 1, 0, 4]),
            ("PPP HDLC", 50, [0xFF, 0x03, 0x00, 0x21], 0x0800, ip),
            ("Cisco HDLC", 104, [0x0F, 0x00, 0x08, 0x00], 0x0800, ip),
            ("Cisco HDLC, multicast, IPv6", 104, [0x8F, 0x00, 0x86, 0xDD], 0x86DD, ip6),
            ("Cisco HDLC under PPP's type", 9, [0x0F, 0x00, 0x08, 0x00], 0x0800, ip),
            ("Cisco HDLC under PPP HDLC's type", 50, [0x0F, 0x00, 0x86, 0xDD], 0x86DD, ip6),
            ("raw IP as 12", 12, [], 0x0800, ip),
            ("raw IP as 14", 14, [], 0x86DD, ip6)
        ]
        for (name, link, header, type, packet) in cases {
            let got = Self.read(
                Self.pcap(big: false, nanoseconds: false, linkType: link, frames: [(1, 0, header + packet)]))
            XCTAssertNil(got.error, name)
            XCTAssertEqual(
                got.frames.first?.bytes,
                [UInt8](repeating: 0, count: 12) + [UInt8(type >> 8), UInt8(type & 0xFF)] + packet, name)
        }
    }

    /// A link-layer header cut short (a tiny snap length) is an undecodable packet and the
    /// reading goes on; an empty Ethernet record is a frame of no bytes (the meter counts it).
    func testCutLinkHeadersAreCountedAndTheReadingGoesOn() {
        for (link, header) in [
            (UInt32(113), [UInt8](repeating: 0, count: 10)), (276, [0x08, 0x00]), (0, [2, 0]), (9, [0xFF]),
            (104, [0x0F, 0x00, 0x08]), (101, [])
        ] {
            let got = Self.read(
                Self.pcap(big: false, nanoseconds: false, linkType: link, frames: [(1, 0, header), (2, 0, header)]))
            XCTAssertNil(got.error, "link type \(link)")
            XCTAssertEqual(got.cut, 2, "link type \(link)")
        }
        let empty = Self.read(Self.pcap(big: false, nanoseconds: false, frames: [(1, 0, []), (2, 0, Self.frame)]))
        XCTAssertEqual(empty.frames.map(\.bytes), [[], Self.frame])
    }

    func testPcapngWithResolutionsOffsetsAndSimplePackets() {
        for big in [false, true] {
            var b = Bytes(big: big)
            // Section header: type, length 28, byte-order magic, version 1.0, section length -1.
            b.u32(0x0A0D_0D0A); b.u32(28); b.u32(0x1A2B_3C4D); b.u16(1); b.u16(0); b.u32(0xFFFF_FFFF);
            b.u32(0xFFFF_FFFF); b.u32(28)
            // Interface 0 (44 bytes): Ethernet, if_tsresol 9 (ns), if_tsoffset 100 s, end of options.
            b.u32(1); b.u32(44); b.u16(1); b.u16(0); b.u32(0)
            b.u16(9); b.u16(1); b.data += [9, 0, 0, 0]
            b.u16(14); b.u16(8); b.u32(big ? 0 : 100); b.u32(big ? 100 : 0)
            b.u16(0); b.u16(0); b.u32(44)
            // A name resolution block, skipped.
            b.u32(4); b.u32(16); b.u32(0); b.u32(16)
            // Enhanced packet: interface 0, time 2^32 + 7 ns.
            let epbLength = UInt32(32 + (Self.frame.count + 3) / 4 * 4)
            b.u32(6); b.u32(epbLength); b.u32(0); b.u32(1); b.u32(7); b.u32(UInt32(Self.frame.count));
            b.u32(UInt32(Self.frame.count))
            b.data += Self.frame; b.pad(); b.u32(epbLength)
            // Simple packet: the last time again.
            let spbLength = UInt32(16 + (Self.frame.count + 3) / 4 * 4)
            b.u32(3); b.u32(spbLength); b.u32(UInt32(Self.frame.count)); b.data += Self.frame; b.pad(); b.u32(spbLength)
            let got = Self.read(b.data)
            XCTAssertNil(got.error, "\(String(describing: got.error))")
            let expected: UInt64 = (1 << 32) + 7 + 100_000_000_000
            XCTAssertEqual(got.frames.map(\.ns), [expected, expected], big ? "big-endian" : "little-endian")
            XCTAssertEqual(got.frames.map(\.bytes), [Self.frame, Self.frame])
        }
    }

    func testBinaryResolutionIsExact() {
        var i = CaptureParser.Interface(linkType: 1, snapLength: 0)
        i.binary = true
        i.resolution = 20
        XCTAssertEqual(CaptureParser.nanoseconds(3 << 20 | 1 << 19, i), 3_500_000_000)
        i.resolution = 63
        XCTAssertEqual(CaptureParser.nanoseconds(.max, i), 1_999_999_999, "no trap at the widest shift")
        i = CaptureParser.Interface(linkType: 1, snapLength: 0)
        XCTAssertEqual(CaptureParser.nanoseconds(.max, i), .max, "saturates")
    }

    func testATruncatedFileNamesThePacketAndTheByte() {
        let file = Self.pcap(big: false, nanoseconds: false, frames: [(1, 0, Self.frame), (2, 0, Self.frame)])
        let got = Self.read(Array(file.dropLast(5)))
        XCTAssertEqual(got.frames.count, 1, "the packets before it are read")
        XCTAssertEqual(got.error?.packet, 2)
        XCTAssertEqual(got.error?.offset, UInt64(24 + 16 + Self.frame.count))
        XCTAssertTrue(got.error?.problem.hasPrefix("truncated") ?? false)
    }

    func testGarbageAndLiesAreErrorsNotTraps() {
        XCTAssertEqual(Self.read([0x5d, 0xe2, 0xb2, 0xa6] + [UInt8](repeating: 7, count: 40)).error?.packet, 1)
        XCTAssertEqual(Self.read([]).error?.problem, "the input is empty")
        var huge = Self.pcap(big: false, nanoseconds: false, frames: [(1, 0, Self.frame)])
        huge[24 + 8] = 0xFF; huge[24 + 9] = 0xFF; huge[24 + 10] = 0xFF; huge[24 + 11] = 0x7F
        XCTAssertTrue(Self.read(huge).error?.problem.contains("damaged") ?? false)
    }
}

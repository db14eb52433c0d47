import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode

final class PacketDecoderTests: XCTestCase {
    func testIPv4TCPGivesPortsFlagsAndIPLength() {
        let facts = FrameBuilder.tcpv4(sport: 40001, dport: 5201, flags: TCPFlags.syn | TCPFlags.ack, payload: 100)
            .decode()
        XCTAssertEqual(facts.kind, .ipv4)
        XCTAssertEqual(facts.key.sourcePort, 40001)
        XCTAssertEqual(facts.key.destinationPort, 5201)
        XCTAssertEqual(facts.key.ipProtocol, 6)
        XCTAssertEqual(facts.key.ipVersion, 4)
        XCTAssertEqual(facts.key.sourceIPv4, 0x0A4D_0001)
        XCTAssertEqual(facts.key.destinationIPv4, 0x0A4D_0002)
        XCTAssertEqual(facts.key.etherType, 0x0800)
        XCTAssertEqual(facts.key.sourceMAC, FlowKeyTests.macWord(FrameBuilder.h1MAC))
        XCTAssertEqual(facts.tcpFlags, TCPFlags.syn | TCPFlags.ack | TCPFlags.payload, "100 bytes of payload")
        XCTAssertEqual(
            FrameBuilder.tcpv4(flags: TCPFlags.ack, payload: 0).decode().tcpFlags, TCPFlags.ack, "no payload")
        XCTAssertEqual(facts.octets, 140)
        XCTAssertFalse(facts.endsFlow)
    }

    func testFINAndRSTEndTheFlow() {
        XCTAssertTrue(FrameBuilder.tcpv4(flags: TCPFlags.fin | TCPFlags.ack).decode().endsFlow)
        XCTAssertTrue(FrameBuilder.tcpv4(flags: TCPFlags.rst).decode().endsFlow)
    }

    func testIPv4OptionsMoveTheTransportHeader() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 17, payload: 8 + 10, tos: 0xB8, options: [0x94, 0x04, 0, 0]) // router alert
        f.udp(sport: 53, dport: 33000, payload: 10)
        f.zeros(10)
        let facts = f.decode()
        XCTAssertEqual(facts.kind, .ipv4)
        XCTAssertEqual(facts.key.sourcePort, 53)
        XCTAssertEqual(facts.key.destinationPort, 33000)
        XCTAssertEqual(facts.key.tos, 0xB8)
        XCTAssertEqual(facts.octets, 24 + 18)
    }

    func testEthernetPaddingIsNotCounted() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 17, payload: 8)
        f.udp(sport: 1, dport: 2, payload: 0)
        f.zeros(18) // padded to the 60-byte minimum
        XCTAssertEqual(f.bytes.count, 60)
        XCTAssertEqual(f.decode().octets, 28)
    }

    func testLaterIPv4FragmentHasNoPorts() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 17, payload: 100, flagsOffset: 185) // offset 1480 bytes
        f.zeros(100)
        let facts = f.decode()
        XCTAssertEqual(facts.kind, .ipv4)
        XCTAssertTrue(facts.isLaterFragment)
        XCTAssertEqual(facts.key.sourcePort, 0)
        XCTAssertEqual(facts.key.destinationPort, 0)
        XCTAssertEqual(facts.octets, 120)
    }

    func testFirstIPv4FragmentCarriesPorts() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 17, payload: 8 + 40, flagsOffset: 0x2000) // MF, offset 0
        f.udp(sport: 7000, dport: 7001, payload: 3000)
        f.zeros(40)
        let facts = f.decode()
        XCTAssertFalse(facts.isLaterFragment)
        XCTAssertEqual(facts.key.sourcePort, 7000)
    }

    func testVLANAndQinQTagsAreRecorded() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800, vlans: [(0x8100, 0x2064)]) // PCP 1, VLAN 100
        f.ipv4(proto: 17, payload: 8)
        f.udp(sport: 1, dport: 2, payload: 0)
        var facts = f.decode()
        XCTAssertEqual(facts.kind, .ipv4)
        XCTAssertEqual(facts.key.outerVLAN, 100 | FlowKey.vlanPresent)
        XCTAssertEqual(facts.key.innerVLAN, 0)
        XCTAssertEqual(facts.key.sourcePort, 1)

        var q = FrameBuilder()
        q.ethernet(type: 0x86DD, vlans: [(0x88A8, 10), (0x8100, 20)])
        q.ipv6(next: 17, payload: 8)
        q.udp(sport: 3, dport: 4, payload: 0)
        facts = q.decode()
        XCTAssertEqual(facts.kind, .ipv6)
        XCTAssertEqual(facts.key.outerVLAN, 10 | FlowKey.vlanPresent)
        XCTAssertEqual(facts.key.innerVLAN, 20 | FlowKey.vlanPresent)
        XCTAssertEqual(facts.key.destinationPort, 4)
    }

    func testWithoutL2TheKeyIsTheMaskedKey() {
        var v4 = FrameBuilder()
        v4.ethernet(type: 0x0800, vlans: [(0x8100, 100)])
        v4.ipv4(proto: 17, payload: 8)
        v4.udp(sport: 1, dport: 2, payload: 0)
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD, vlans: [(0x88A8, 10), (0x8100, 20)])
        v6.ipv6(next: 6, payload: 20)
        v6.tcp(sport: 3, dport: 4, flags: TCPFlags.syn)
        for frame in [v4, v6] {
            let full = frame.decode(), bare = frame.decode(l2: false)
            var masked = full.key
            masked.apply(FlowKeyMask([.l3, .l4]))
            XCTAssertEqual(bare.key, masked)
            XCTAssertEqual([bare.key.w4, bare.key.w5, bare.key.w7], [0, 0, 0])
            XCTAssertEqual(bare.octets, full.octets)
            XCTAssertEqual(bare.transportEnd, full.transportEnd)
            XCTAssertEqual(bare.ipOffset, full.ipOffset)
        }
    }

    /// label << 12 | traffic class << 9 | bottom of stack << 8 | TTL
    func mplsEntry(_ label: UInt32, bottom: Bool) -> UInt32 { label << 12 | (bottom ? 0x100 : 0) | 64 }

    func testMPLSStackIsWalkedToTheInnerPacket() {
        var f = FrameBuilder()
        f.ethernet(type: 0x8847)
        for (i, label) in [1000, 2000, 3000].enumerated() { f.u32(mplsEntry(UInt32(label), bottom: i == 2)) }
        f.ipv4(proto: 17, payload: 8 + 20)
        f.udp(sport: 5000, dport: 6000, payload: 20)
        f.zeros(20)
        let facts = f.decode()
        XCTAssertEqual(facts.kind, .ipv4)
        XCTAssertEqual(facts.key.destinationPort, 6000)
        XCTAssertEqual(facts.octets, 48)
        XCTAssertEqual(facts.key.etherType, 0x8847)
        XCTAssertEqual(
            facts.key.mplsTopLabel, mplsEntry(1000, bottom: false) >> 8, "label, traffic class, bottom of stack")
        XCTAssertEqual(facts.key.mplsSecondLabel >> 4, 2000, "only the top two entries are kept")

        var v6 = FrameBuilder()
        v6.ethernet(type: 0x8847)
        v6.u32(mplsEntry(16, bottom: true))
        v6.ipv6(next: 58, payload: 8)
        v6.raw([128, 0, 0, 0, 0, 0, 0, 0])
        let six = v6.decode()
        XCTAssertEqual(six.kind, .ipv6)
        XCTAssertEqual(six.key.mplsTopLabel >> 4, 16)
        XCTAssertEqual(six.key.mplsTopLabel & 1, 1, "bottom of stack")

        var pw = FrameBuilder() // an Ethernet pseudowire: not IP under the stack
        pw.ethernet(type: 0x8847)
        pw.u32(mplsEntry(77, bottom: true))
        pw.zeros(4)
        pw.ethernet(type: 0x0800)
        XCTAssertEqual(pw.decode().kind, .nonIP)
    }

    func testHostileMPLSStacks() {
        var open = FrameBuilder() // no bottom of stack before the frame ends
        open.ethernet(type: 0x8847)
        for _ in 0 ..< 3 { open.u32(mplsEntry(5, bottom: false)) }
        XCTAssertEqual(open.decode().issue, .truncatedMPLS)
        var deep = FrameBuilder() // more entries than the walk reads
        deep.ethernet(type: 0x8847)
        for _ in 0 ..< 12 { deep.u32(mplsEntry(5, bottom: false)) }
        deep.zeros(40)
        XCTAssertEqual(deep.decode().issue, .mplsStackTooDeep)
        var bare = FrameBuilder() // a bottom entry with nothing under it
        bare.ethernet(type: 0x8847)
        bare.u32(mplsEntry(5, bottom: true))
        XCTAssertEqual(bare.decode().issue, .truncatedMPLS)
    }

    func testThreeTagsAreNotDecoded() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800, vlans: [(0x88A8, 1), (0x8100, 2), (0x8100, 3)])
        f.ipv4(proto: 17, payload: 8)
        f.udp(sport: 1, dport: 2, payload: 0)
        XCTAssertEqual(f.decode().issue, .tooManyVLANTags)
    }

    func testIPv6WalksExtensionHeaders() {
        var f = FrameBuilder()
        f.ethernet(type: 0x86DD)
        f.ipv6(next: 0, payload: 8 + 8 + 16 + 20, trafficClass: 0x20)
        f.raw([44, 0, 1, 4, 0, 0, 0, 0]) // hop-by-hop (PadN) → fragment
        f.raw([60, 0, 0, 0, 0, 0, 0, 0x2A]) // fragment, offset 0 → destination options
        f.raw([6, 1, 1, 12] + [UInt8](repeating: 0, count: 12)) // destination options, 16 bytes → TCP
        f.tcp(sport: 443, dport: 50000, flags: TCPFlags.psh | TCPFlags.ack)
        let facts = f.decode()
        XCTAssertEqual(facts.kind, .ipv6)
        XCTAssertEqual(facts.key.ipProtocol, 6)
        XCTAssertEqual(facts.key.tos, 0x20)
        XCTAssertEqual(facts.key.sourcePort, 443)
        XCTAssertEqual(facts.tcpFlags, TCPFlags.psh | TCPFlags.ack)
        XCTAssertEqual(facts.octets, 40 + 52)
        XCTAssertEqual(facts.key.ipVersion, 6)
        XCTAssertEqual(facts.key.w0.bigEndian >> 56, 0xFD)
    }

    func testLaterIPv6FragmentHasNoPorts() {
        var f = FrameBuilder()
        f.ethernet(type: 0x86DD)
        f.ipv6(next: 44, payload: 8 + 64)
        f.raw([17, 0, 0x05, 0xA8, 0, 0, 0, 0x2A]) // offset 181 × 8
        f.zeros(64)
        let facts = f.decode()
        XCTAssertEqual(facts.kind, .ipv6)
        XCTAssertTrue(facts.isLaterFragment)
        XCTAssertEqual(facts.key.ipProtocol, 17)
        XCTAssertEqual(facts.key.sourcePort, 0)
    }

    func testICMPTypeAndCodeGoInTheDestinationPortSlot() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 1, payload: 64)
        f.raw([8, 0])
        f.zeros(62)
        let facts = f.decode()
        XCTAssertEqual(facts.key.destinationPort, 0x0800)
        XCTAssertEqual(facts.key.sourcePort, 0)

        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 58, payload: 8)
        v6.raw([128, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(v6.decode().key.destinationPort, 128 << 8)
    }

    func testNonIPFrameIsNotMalformed() {
        var f = FrameBuilder()
        f.ethernet(type: 0x0806)
        f.zeros(28)
        let facts = f.decode()
        XCTAssertEqual(facts.kind, .nonIP)
        XCTAssertEqual(facts.key.etherType, 0x0806)
        XCTAssertEqual(facts.octets, 28)
    }

    func testMalformedFramesNameTheirReason() {
        func expect(_ issue: DecodeIssue, _ build: (inout FrameBuilder) -> Void, line: UInt = #line) {
            var f = FrameBuilder()
            build(&f)
            let facts = f.decode()
            XCTAssertEqual(facts.kind, .malformed, line: line)
            XCTAssertEqual(facts.issue, issue, line: line)
        }
        expect(.truncatedEthernet) { _ in }
        expect(.truncatedEthernet) { $0.zeros(13) }
        expect(.truncatedVLAN) {
            $0.ethernet(type: 0x8100); $0.u8(0)
        }
        expect(.truncatedIPv4) {
            $0.ethernet(type: 0x0800); $0.zeros(19)
        }
        expect(.badIPv4Header) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 6, payload: 20, ihlOverride: 4); $0.zeros(20)
        }
        expect(.badIPv4Header) {
            $0.ethernet(type: 0x0800); $0.u8(0x65); $0.zeros(39)
        }
        expect(.truncatedIPv4) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 6, payload: 0, ihlOverride: 15)
        }
        expect(.ipv4LengthBeyondFrame) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 17, payload: 8, totalLengthOverride: 200);
            $0.udp(sport: 1, dport: 2, payload: 0)
        }
        expect(.ipv4LengthBelowHeader) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 17, payload: 8, totalLengthOverride: 12);
            $0.udp(sport: 1, dport: 2, payload: 0)
        }
        expect(.truncatedIPv6) {
            $0.ethernet(type: 0x86DD); $0.zeros(39)
        }
        expect(.badIPv6Header) {
            $0.ethernet(type: 0x86DD); $0.u8(0x40); $0.zeros(39)
        }
        expect(.ipv6LengthBeyondFrame) {
            $0.ethernet(type: 0x86DD); $0.ipv6(next: 17, payload: 8, payloadLengthOverride: 400);
            $0.udp(sport: 1, dport: 2, payload: 0)
        }
        expect(.ipv6Jumbogram) {
            $0.ethernet(type: 0x86DD); $0.ipv6(next: 0, payload: 0)
        }
        expect(.ipv6ExtensionChain) { // a destination-options header whose length runs past the packet
            $0.ethernet(type: 0x86DD); $0.ipv6(next: 60, payload: 8); $0.raw([60, 200, 0, 0, 0, 0, 0, 0])
        }
        expect(.ipv6ExtensionChain) { // nine hop-by-hop headers in a row: longer than the walk allows
            $0.ethernet(type: 0x86DD); $0.ipv6(next: 0, payload: 72)
            for _ in 0 ..< 9 { $0.raw([0, 0, 1, 4, 0, 0, 0, 0]) }
        }
        expect(.truncatedTCP) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 6, payload: 10); $0.zeros(10)
        }
        expect(.badTCPDataOffset) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 6, payload: 20);
            $0.tcp(sport: 1, dport: 2, flags: 0, dataOffset: 4)
        }
        expect(.truncatedUDP) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 17, payload: 4); $0.zeros(4)
        }
        expect(.truncatedICMP) {
            $0.ethernet(type: 0x0800); $0.ipv4(proto: 1, payload: 1); $0.zeros(1)
        }
    }

    /// A capture cut by its snap length: metered by the IP header's length as long as the flow
    /// key's headers are there; TCP flags and sequence only when the TCP header was captured.
    func testSnappedPacketsAreMeteredByTheirIPLength() {
        let tcp = FrameBuilder.tcpv4(sport: 40000, dport: 443, flags: TCPFlags.ack | TCPFlags.psh, payload: 1400)
        let whole = tcp.decode()
        for cut in [54, 60, 96, 200] {
            let facts = tcp.decode(captured: cut)
            XCTAssertEqual(facts.kind, .ipv4, "cut at \(cut)")
            XCTAssertTrue(facts.isSnapped, "cut at \(cut)")
            XCTAssertEqual(facts.octets, 1440, "the IP length, not the bytes captured")
            XCTAssertEqual(facts.key, whole.key)
            XCTAssertEqual(facts.tcpFlags, whole.tcpFlags, "flags and payload bit from the captured header")
            XCTAssertEqual(facts.tcpPayload, 1400)
        }
        // Only the ports of the TCP header: the flow, but no flags.
        let ports = tcp.decode(captured: 14 + 20 + 6)
        XCTAssertEqual(ports.kind, .ipv4)
        XCTAssertEqual(ports.key, whole.key)
        XCTAssertEqual(ports.tcpFlags, 0)
        XCTAssertEqual(tcp.decode(captured: 14 + 20 + 3).issue, .truncatedTCP, "no ports, no flow")
        XCTAssertEqual(tcp.decode(captured: 14 + 19).issue, .truncatedIPv4)
        // The same packet read whole is not snapped; a live frame (no wire length) that claims
        // more than it holds is malformed as before.
        XCTAssertFalse(tcp.decode(captured: tcp.bytes.count).isSnapped)
        var lying = FrameBuilder()
        lying.ethernet(type: 0x0800); lying.ipv4(proto: 17, payload: 8, totalLengthOverride: 200);
        lying.udp(sport: 1, dport: 2, payload: 0)
        XCTAssertEqual(lying.decode().issue, .ipv4LengthBeyondFrame)
        // UDP needs its ports only; IPv6 likewise, its extension headers walked within the bytes.
        var udp6 = FrameBuilder()
        udp6.ethernet(type: 0x86DD); udp6.ipv6(next: 60, payload: 8 + 8 + 500); udp6.raw([17, 0, 1, 4, 0, 0, 0, 0])
        udp6.udp(sport: 53, dport: 3333, payload: 500); udp6.zeros(500)
        let v6 = udp6.decode(captured: 14 + 40 + 8 + 4)
        XCTAssertEqual(v6.kind, .ipv6)
        XCTAssertTrue(v6.isSnapped)
        XCTAssertEqual(v6.octets, 40 + 516)
        XCTAssertEqual(v6.key.sourcePort, 53)
        XCTAssertEqual(
            udp6.decode(captured: 14 + 40 + 6).issue, .ipv6ExtensionChain, "the extension header is cut: no transport")
    }

    /// IPv4 total length 0 (TSO, BIG TCP captured on the sender) and IPv6 jumbograms count as
    /// the packet's wire length.
    func testTSOAndJumbogramsCountTheirWireLength() {
        var tso = FrameBuilder()
        tso.ethernet(type: 0x0800); tso.ipv4(proto: 6, payload: 20 + 3000, totalLengthOverride: 0)
        tso.tcp(sport: 1, dport: 2, flags: TCPFlags.ack); tso.zeros(3000)
        for facts in [tso.decode(), tso.decode(captured: 128)] {
            XCTAssertEqual(facts.kind, .ipv4)
            XCTAssertEqual(facts.octets, 3040)
            XCTAssertEqual(facts.tcpPayload, 3000)
        }
        var jumbo = FrameBuilder()
        jumbo.ethernet(type: 0x86DD); jumbo.ipv6(next: 0, payload: 0)
        jumbo.raw([6, 0, 0xC2, 4, 0, 1, 0x11, 0x78]) // hop-by-hop: Jumbo Payload of 70 008
        jumbo.tcp(sport: 1, dport: 2, flags: TCPFlags.ack); jumbo.zeros(70_008 - 8 - 20)
        let facts = jumbo.decode(captured: 200)
        XCTAssertEqual(facts.kind, .ipv6)
        XCTAssertEqual(Int(facts.octets), jumbo.bytes.count - 14)
        XCTAssertEqual(facts.key.ipProtocol, 6)
        XCTAssertEqual(facts.key.destinationPort, 2)
        // A hop-by-hop header without the option: no length to trust.
        var fake = FrameBuilder()
        fake.ethernet(type: 0x86DD); fake.ipv6(next: 0, payload: 0); fake.raw([6, 0, 1, 4, 0, 0, 0, 0])
        fake.tcp(sport: 1, dport: 2, flags: TCPFlags.ack); fake.zeros(100)
        XCTAssertEqual(fake.decode().issue, .ipv6Jumbogram)
        // BIG TCP as its sender's capture shows it: payload length 0, TCP right after.
        var big = FrameBuilder()
        big.ethernet(type: 0x86DD); big.ipv6(next: 6, payload: 0); big.tcp(sport: 1, dport: 2, flags: TCPFlags.ack);
        big.zeros(80_000)
        let bigFacts = big.decode(captured: 128)
        XCTAssertEqual(bigFacts.kind, .ipv6)
        XCTAssertEqual(Int(bigFacts.octets), big.bytes.count - 14)
        XCTAssertEqual(bigFacts.tcpPayload, 80_000)
        // Payload length 0 over "no next header" is an empty packet, whatever the padding.
        var empty = FrameBuilder()
        empty.ethernet(type: 0x86DD); empty.ipv6(next: 59, payload: 0); empty.zeros(6)
        XCTAssertEqual(empty.decode().octets, 40)
    }

    /// PPPoE session frames (RFC 2516): the IP packet inside, after VLAN tags too; the frame's
    /// ethertype stays 0x8864 in the L2 key; LCP is non-IP; a bad or cut header has its reason.
    func testPPPoESessionsCarryTheirIPPackets() {
        for vlans: [(tpid: UInt16, tci: UInt16)] in [[], [(0x88A8, 100), (0x8100, 200)]] {
            var f = FrameBuilder()
            f.ethernet(type: 0x8864, vlans: vlans);
            f.pppoe(session: 0x1234, protocolNumber: 0x0021, payload: 20 + 20 + 10)
            f.ipv4(proto: 6, payload: 30); f.tcp(sport: 4000, dport: 80, flags: TCPFlags.syn); f.zeros(10)
            let facts = f.decode()
            XCTAssertEqual(facts.kind, .ipv4)
            XCTAssertEqual(facts.octets, 50)
            XCTAssertEqual(facts.key.destinationPort, 80)
            XCTAssertEqual(facts.key.etherType, 0x8864)
            XCTAssertEqual(Int(facts.ipOffset), 14 + 4 * vlans.count + 8)
        }
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x8864); v6.pppoe(session: 7, protocolNumber: 0x0057, payload: 48)
        v6.ipv6(next: 17, payload: 8); v6.udp(sport: 546, dport: 547, payload: 0)
        XCTAssertEqual(v6.decode().kind, .ipv6)
        XCTAssertEqual(v6.decode().key.destinationPort, 547)
        var compressed = FrameBuilder()
        compressed.ethernet(type: 0x8864); compressed.raw([0x11, 0, 0, 9, 0, 29, 0x21])
        compressed.ipv4(proto: 17, payload: 8); compressed.udp(sport: 1, dport: 2, payload: 0)
        XCTAssertEqual(compressed.decode().kind, .ipv4, "a protocol field compressed to one byte")
        XCTAssertEqual(compressed.decode().key.destinationPort, 2)
        var lcp = FrameBuilder()
        lcp.ethernet(type: 0x8864); lcp.pppoe(session: 7, protocolNumber: 0xC021, payload: 4); lcp.raw([9, 1, 0, 4])
        XCTAssertEqual(lcp.decode().kind, .nonIP)
        var bad = FrameBuilder()
        bad.ethernet(type: 0x8864); bad.raw([0x21, 0, 0, 7, 0, 2, 0, 0x21]); bad.zeros(20)
        XCTAssertEqual(bad.decode().issue, .badPPPoEHeader)
        var cut = FrameBuilder()
        cut.ethernet(type: 0x8864); cut.raw([0x11, 0, 0, 7])
        XCTAssertEqual(cut.decode().issue, .truncatedPPPoE)
    }

    /// Every prefix of every test frame, and random bytes behind a valid header: the decoder
    /// must answer without reading past the end (the buffers are exactly sized, so an overrun
    /// would trip the address sanitizer or read garbage that breaks the "sane result" checks).
    func testTruncationsAndGarbageNeverCrash() {
        var frames = [FrameBuilder.tcpv4().bytes]
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD, vlans: [(0x8100, 5)])
        v6.ipv6(next: 0, payload: 8 + 20)
        v6.raw([6, 0, 1, 4, 0, 0, 0, 0])
        v6.tcp(sport: 1, dport: 2, flags: 0)
        frames.append(v6.bytes)
        for frame in frames {
            for cut in 0 ... frame.count {
                let facts = FrameBuilder(bytes: Array(frame.prefix(cut))).decode()
                if facts.kind == .ipv4 || facts.kind == .ipv6 {
                    XCTAssertLessThanOrEqual(Int(facts.octets), cut)
                }
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 20000 {
            var f = FrameBuilder()
            f.ethernet(type: [0x0800, 0x86DD, 0x8100, 0x88A8][Int.random(in: 0 ..< 4, using: &rng)])
            for _ in 0 ..< Int.random(in: 0 ..< 120, using: &rng) { f.u8(UInt8.random(in: 0 ... 255, using: &rng)) }
            let facts = f.decode()
            if facts.kind == .ipv4 || facts.kind == .ipv6 {
                XCTAssertLessThanOrEqual(Int(facts.octets), f.bytes.count - 14)
            }
        }
    }
}

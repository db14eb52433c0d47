import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapMeter

final class PacketMeterTests: XCTestCase {
    func makeMeter(
        _ records: RecordSet = [.l3, .l4], sampling: Sampling = Sampling(), vnet: Int = 0,
        own: OwnExportFilter = OwnExportFilter()
    ) -> PacketMeter {
        PacketMeter(
            records: records, policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60), maxFlows: 64,
            point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0),
            sampling: sampling, vnetHeader: vnet, ownExport: own)
    }

    /// The bare ACKs the inspection skips without decoding: no data, no SYN, FIN or RST, read
    /// from the headers; anything else, or what the headers do not settle, is decoded.
    /// The inspection reads a transport header where it is known to lie, as the whole decoder
    /// would: the same end, flags (the payload bit too), sequence and payload; nil where it
    /// cannot tell, and the decoder reads the packet.
    func testTheTransportHeaderIsReadAsTheDecoderReadsIt() {
        func both(_ f: FrameBuilder, proto: UInt8, cut: Int = 0) -> (fast: [Int]?, decoder: [Int]) {
            let facts = f.decode()
            let decoder = [Int(facts.transportEnd), Int(facts.tcpFlags), Int(facts.tcpSequence), Int(facts.tcpPayload)]
            let ip = Array(f.bytes.dropFirst(14).dropLast(cut))
            let fast = ip.withUnsafeBytes {
                PacketMeter.transportHeader($0.baseAddress!, octets: $0.count, proto: proto)
            }
            return (fast.map { [14 + $0.end, Int($0.flags), Int($0.sequence), Int($0.payload)] }, decoder)
        }
        var frames: [(FrameBuilder, UInt8)] = []
        for flags in [
            TCPFlags.ack, TCPFlags.syn, TCPFlags.fin | TCPFlags.ack, TCPFlags.rst, TCPFlags.psh | TCPFlags.ack
        ] {
            for payload in [0, 1, 517] { frames.append((.tcpv4(flags: flags, payload: payload), 6)) }
        }
        var options = FrameBuilder()
        options.ethernet(type: 0x0800)
        options.ipv4(proto: 6, payload: 32 + 10, options: [1, 1, 1, 0])
        options.tcp(sport: 1, dport: 2, flags: TCPFlags.ack | TCPFlags.psh, dataOffset: 8)
        options.zeros(12 + 10)
        frames.append((options, 6))
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 6, payload: 20 + 7)
        v6.tcp(sport: 1, dport: 2, flags: TCPFlags.ack)
        v6.zeros(7)
        frames.append((v6, 6))
        var udp4 = FrameBuilder()
        udp4.ethernet(type: 0x0800)
        udp4.ipv4(proto: 17, payload: 8 + 30)
        udp4.udp(sport: 5353, dport: 53, payload: 30)
        udp4.zeros(30)
        frames.append((udp4, 17))
        var udp6 = FrameBuilder()
        udp6.ethernet(type: 0x86DD)
        udp6.ipv6(next: 17, payload: 8 + 3)
        udp6.udp(sport: 1, dport: 443, payload: 3)
        udp6.zeros(3)
        frames.append((udp6, 17))
        for (frame, proto) in frames {
            let (fast, decoder) = both(frame, proto: proto)
            XCTAssertEqual(fast, decoder, "\(frame.bytes.prefix(60))")
        }
        var extensionHeader = FrameBuilder()
        extensionHeader.ethernet(type: 0x86DD)
        extensionHeader.ipv6(next: 0, payload: 28)
        extensionHeader.zeros(8)
        extensionHeader.tcp(sport: 1, dport: 2, flags: TCPFlags.ack)
        XCTAssertNil(both(extensionHeader, proto: 6).fast, "an extension header: the decoder reads it")
        XCTAssertNil(both(.tcpv4(flags: TCPFlags.ack, payload: 0), proto: 6, cut: 1).fast, "shorter than its headers")
        var badOffset = FrameBuilder()
        badOffset.ethernet(type: 0x0800)
        badOffset.ipv4(proto: 6, payload: 20)
        badOffset.tcp(sport: 1, dport: 2, flags: TCPFlags.ack, dataOffset: 4)
        XCTAssertNil(both(badOffset, proto: 6).fast, "a TCP data offset under 5")
    }

    func feed(_ meter: inout PacketMeter, _ frame: [UInt8], now: UInt64 = 1) {
        frame.withUnsafeBytes { meter.meter($0.baseAddress!, length: $0.count, now: now) }
    }

    func records(_ meter: inout PacketMeter) -> [FlowRecord] {
        var out: [FlowRecord] = []
        _ = meter.cache.expireAll(reason: .forcedEnd) {
            out.append(copy $0); return true
        }
        return out
    }

    func testEachFrameIsCountedOnceWhereItBelongs() {
        var m = makeMeter()
        feed(&m, FrameBuilder.tcpv4().bytes)
        var arp = FrameBuilder()
        arp.ethernet(type: 0x0806)
        arp.zeros(28)
        feed(&m, arp.bytes)
        feed(&m, Array(FrameBuilder.tcpv4().bytes.prefix(30)))
        var own = FrameBuilder()
        own.ethernet(type: 0x0800)
        own.ipv4(proto: 17, payload: 8 + 10, src: 0x0A4D_0901, dst: 0x0A4D_0902)
        own.udp(sport: 4739, dport: 4739, payload: 10)
        own.zeros(10)
        var filter = OwnExportFilter()
        filter.add(
            source: IPAddress("10.77.9.1")!, sourcePort: 4739, destination: IPAddress("10.77.9.2")!,
            destinationPort: 4739)
        var m2 = makeMeter(own: filter)
        feed(&m2, own.bytes)
        XCTAssertEqual(m2.counters.ownExport, 1, "flowtap's own export packets are not metered")
        XCTAssertEqual(m2.counters.metered, 0)
        // The port prefilter lets these through; the full test must not take them for ours.
        // Nor is our source address and port sent elsewhere (a spoofed source hides nothing), or
        // sent to the collector's address on another port.
        let others: [(UInt32, UInt16, UInt32, UInt16)] = [
            (0x0A4D_0901, 4739 + 64, 0x0A4D_0902, 4739), (0x0A4D_0903, 4739, 0x0A4D_0902, 4739),
            (0x0A4D_0901, 4739, 0x0A4D_0905, 4739), (0x0A4D_0901, 4739, 0x0A4D_0902, 4740)
        ]
        for (source, port, destination, destinationPort) in others {
            var other = FrameBuilder()
            other.ethernet(type: 0x0800)
            other.ipv4(proto: 17, payload: 8 + 10, src: source, dst: destination)
            other.udp(sport: port, dport: destinationPort, payload: 10)
            other.zeros(10)
            feed(&m2, other.bytes)
        }
        XCTAssertEqual(m2.counters.ownExport, 1, "only our source and the collector's destination together are ours")
        XCTAssertEqual(m2.counters.metered, 4)

        let c = m.snapshot
        XCTAssertEqual(c.metered, 1)
        XCTAssertEqual(c.nonIPUnmetered, 1, "without l2, non-IP frames are counted, not metered")
        XCTAssertEqual(c.issues[Int(DecodeIssue.truncatedIPv4.rawValue)], 1)
        XCTAssertEqual(records(&m).count, 1)

        var l2 = makeMeter([.l2])
        feed(&l2, arp.bytes)
        XCTAssertEqual(records(&l2).first?.key.etherType, 0x0806, "with l2, a non-IP frame is an l2 flow")
    }

    func testSampledOutFramesAreCountedNotMetered() {
        var m = makeMeter(sampling: Sampling(interval: 4))
        for _ in 0 ..< 12 { feed(&m, FrameBuilder.tcpv4().bytes) }
        XCTAssertEqual(m.counters.metered, 3)
        XCTAssertEqual(m.counters.sampledOut, 9)
        XCTAssertEqual(records(&m).first?.packets, 3)
    }

    func testASuperFrameCountsAsItsSegments() {
        var m = makeMeter(vnet: 12)
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 6, payload: 20 + 20_000)
        f.tcp(sport: 1, dport: 2, flags: TCPFlags.ack)
        f.zeros(20_000)
        let header: [UInt8] = [
            VirtioNetHeader.needsChecksum, VirtioNetHeader.gsoTCPv4, 54, 0, 0xA8, 0x05, 34, 0, 16, 0, 0, 0
        ]
        feed(&m, header + f.bytes)
        let r = records(&m)
        XCTAssertEqual(r.first?.packets, 14)
        XCTAssertEqual(r.first?.octets, 14 * 40 + 20_000)
        XCTAssertEqual(m.counters.gsoSegments, 14)
    }

    /// The meter decodes the link layer itself and then IPv4 inline, IPv6 out of line, and sends
    /// the common frame straight to the cache: every one of those paths must meter what the
    /// whole decoder decodes, with and without L2, with and without a virtio_net_hdr.
    func testEveryPathMetersWhatTheDecoderDecodes() {
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 6, payload: 20 + 50, trafficClass: 0x28)
        v6.tcp(sport: 443, dport: 50000, flags: TCPFlags.ack | TCPFlags.psh)
        v6.zeros(50)
        var v6VLAN = FrameBuilder()
        v6VLAN.ethernet(type: 0x86DD, vlans: [(tpid: 0x8100, tci: 7)])
        v6VLAN.ipv6(next: 17, payload: 8 + 30)
        v6VLAN.udp(sport: 5353, dport: 5353, payload: 30)
        v6VLAN.zeros(30)
        var v4QinQ = FrameBuilder()
        v4QinQ.ethernet(type: 0x0800, vlans: [(tpid: 0x88A8, tci: 100), (tpid: 0x8100, tci: 200)])
        v4QinQ.ipv4(proto: 17, payload: 8 + 20, tos: 0xB8)
        v4QinQ.udp(sport: 1000, dport: 2000, payload: 20)
        v4QinQ.zeros(20)
        var v4MPLS = FrameBuilder()
        v4MPLS.ethernet(type: 0x8847)
        v4MPLS.raw([0x00, 0x01, 0x41, 0x40]) // label 20, bottom of stack
        v4MPLS.ipv4(proto: 1, payload: 8)
        v4MPLS.raw([8, 0, 0, 0, 0, 1, 0, 1]) // ICMP echo request
        let frames = [FrameBuilder.tcpv4(), v6, v6VLAN, v4QinQ, v4MPLS]

        for recordSet: RecordSet in [[.l3, .l4], [.l2, .l3, .l4]] {
            for vnet in [0, 12] {
                var m = makeMeter(recordSet, vnet: vnet)
                for f in frames {
                    for _ in 0 ..< 2 { feed(&m, [UInt8](repeating: 0, count: vnet) + f.bytes) }
                }
                let got = records(&m)
                XCTAssertEqual(got.count, frames.count, "records \(recordSet), vnet \(vnet)")
                for (i, f) in frames.enumerated() {
                    let expected = f.decode(l2: recordSet.contains(.l2))
                    XCTAssertNotEqual(expected.kind, .malformed)
                    guard let r = got.first(where: { $0.key == expected.key }) else {
                        XCTFail("frame \(i) (records \(recordSet), vnet \(vnet)): no record with the decoder's key")
                        continue
                    }
                    XCTAssertEqual(r.packets, 2, "frame \(i)")
                    XCTAssertEqual(r.octets, 2 * UInt64(expected.octets), "frame \(i)")
                    XCTAssertEqual(r.tcpFlags, expected.tcpFlags & TCPFlags.header, "frame \(i)")
                }
                XCTAssertEqual(m.counters.metered, UInt64(2 * frames.count))
            }
        }
    }
}

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapSend

/// Builds test frames byte by byte, the way a capture would show them.
struct FrameBuilder {
    var bytes: [UInt8] = []

    static let h1MAC: [UInt8] = [0x02, 0x77, 0, 0, 0, 0x01]
    static let h2MAC: [UInt8] = [0x02, 0x77, 0, 0, 0, 0x02]

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
    mutating func raw(_ v: [UInt8]) { bytes += v }

    mutating func ethernet(type: UInt16, vlans: [(tpid: UInt16, tci: UInt16)] = []) {
        raw(Self.h2MAC)
        raw(Self.h1MAC)
        for v in vlans { u16(v.tpid); u16(v.tci) }
        u16(type)
    }

    /// IPv4 header; `options` bytes are appended (IHL grows with them).
    mutating func ipv4(
        proto: UInt8, payload: Int, src: UInt32 = 0x0A4D_0001, dst: UInt32 = 0x0A4D_0002,
        tos: UInt8 = 0, flagsOffset: UInt16 = 0x4000, options: [UInt8] = [],
        totalLengthOverride: Int? = nil, ihlOverride: UInt8? = nil, identification: UInt16 = 0x1234
    ) {
        let ihl = ihlOverride ?? UInt8((20 + options.count) / 4)
        let start = bytes.count
        u8(0x40 | ihl)
        u8(tos)
        u16(UInt16(totalLengthOverride ?? (20 + options.count + payload)))
        u16(identification)
        u16(flagsOffset)
        u8(64)
        u8(proto)
        u16(0)
        u32(src)
        u32(dst)
        raw(options)
        // A real header checksum: a bridge with br_netfilter drops frames without one.
        let sum = Array(bytes[start...]).withUnsafeBytes { InternetChecksum.ipv4Header($0) }
        bytes[start + 10] = UInt8(sum >> 8)
        bytes[start + 11] = UInt8(sum & 0xFF)
    }

    mutating func ipv6(next: UInt8, payload: Int, trafficClass: UInt8 = 0, payloadLengthOverride: Int? = nil) {
        u32(0x6000_0000 | UInt32(trafficClass) << 20)
        u16(UInt16(payloadLengthOverride ?? payload))
        u8(next)
        u8(64)
        raw([0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01])
        raw([0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02])
    }

    mutating func tcp(sport: UInt16, dport: UInt16, flags: UInt16, dataOffset: UInt8 = 5) {
        u16(sport); u16(dport); u32(1); u32(0)
        u16(UInt16(dataOffset) << 12 | flags)
        u16(65535); u16(0); u16(0)
    }

    mutating func udp(sport: UInt16, dport: UInt16, payload: Int) {
        u16(sport); u16(dport); u16(UInt16(8 + payload)); u16(0)
    }

    mutating func zeros(_ n: Int) { bytes += [UInt8](repeating: 0, count: n) }

    /// Decodes the frame as the forwarder would (`l2` false: as it does when l2 is not recorded);
    /// with `captured`, as `flowtap read` would a capture that kept only its first bytes.
    func decode(l2: Bool = true, captured: Int? = nil) -> PacketFacts {
        var facts = PacketFacts()
        let kept = Array(bytes.prefix(captured ?? bytes.count))
        kept.withUnsafeBytes { raw in
            PacketDecoder.decode(
                raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, length: raw.count,
                wireLength: captured == nil ? nil : bytes.count, into: &facts, l2: l2)
        }
        return facts
    }

    /// PPPoE session header (RFC 2516) and the PPP protocol.
    mutating func pppoe(session: UInt16, protocolNumber: UInt16, payload: Int) {
        u8(0x11); u8(0); u16(session); u16(UInt16(payload + 2)); u16(protocolNumber)
    }
}

extension FrameBuilder {
    static func tcpv4(sport: UInt16 = 40000, dport: UInt16 = 5201, flags: UInt16 = TCPFlags.ack, payload: Int = 100)
        -> FrameBuilder
    {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 6, payload: 20 + payload)
        f.tcp(sport: sport, dport: dport, flags: flags)
        f.zeros(payload)
        return f
    }
}

/// Runs `body` with a message writer over a zeroed buffer of `capacity` bytes, returning the
/// bytes written.
func withMessage(capacity: Int = 1472, _ body: (inout MessageWriter) -> Void) -> [UInt8] {
    var storage = [UInt8](repeating: 0, count: capacity)
    return storage.withUnsafeMutableBytes { raw in
        var writer = MessageWriter(base: raw.baseAddress!, capacity: capacity)
        body(&writer)
        return Array(writer.bytes)
    }
}

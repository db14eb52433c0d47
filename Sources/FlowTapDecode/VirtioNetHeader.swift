import FlowTapBase

/// The virtio_net_hdr in front of every frame of a TAP opened with IFF_VNET_HDR (`--offload`),
/// in the host's byte order, and what a GSO super-frame amounts to on a wire.
public struct VirtioNetHeader: Sendable, Equatable {
    public static let needsChecksum: UInt8 = 1
    public static let gsoNone: UInt8 = 0
    public static let gsoTCPv4: UInt8 = 1
    public static let gsoUDP: UInt8 = 3
    public static let gsoTCPv6: UInt8 = 4
    public static let gsoUDPL4: UInt8 = 5
    public static let gsoECN: UInt8 = 0x80

    public var flags: UInt8
    public var gsoType: UInt8
    public var gsoSize: UInt16

    @inline(__always) @inlinable
    public init(_ p: UnsafeRawPointer) {
        flags = p.u8(0)
        gsoType = p.u8(1)
        gsoSize = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
    }

    /// True for a super-frame that the kernel would cut into several segments.
    @inline(__always) @inlinable
    public var isSegmented: Bool { gsoType & ~Self.gsoECN != Self.gsoNone && gsoSize > 0 }

    /// What a GSO super-frame of `frameLength` bytes carries as segments on a wire: each segment
    /// repeats the headers up to `transportEnd` (derived from the decoded packet, not from the
    /// kernel's hdr_len, which on the forwarding path can span the whole first segment) and
    /// takes up to `gsoSize` bytes of payload. Octets are IP octets: the IP and transport
    /// headers once per segment, plus the payload.
    @inline(__always) @inlinable
    public static func segments(frameLength: Int, ipOffset: Int, transportEnd: Int, gsoSize: Int) -> (
        packets: UInt64, octets: UInt64
    ) {
        let payload = max(0, frameLength - transportEnd)
        let packets = max(1, (payload + gsoSize - 1) / gsoSize)
        return (UInt64(packets), UInt64(packets * (transportEnd - ipOffset) + payload))
    }
}

/// What the decoder learned from one frame: everything the meter needs, and nothing else.
public struct PacketFacts: Sendable {
    public var key = FlowKey()
    public var kind: FrameKind = .malformed
    /// Why the frame could not be metered, when `kind == .malformed`.
    public var issue: DecodeIssue = .none
    /// IP total length (IPv4 total length, or 40 + IPv6 payload length): what
    /// octetDeltaCount counts. For non-IP frames, the bytes after the Ethernet and VLAN headers.
    public var octets: UInt32 = 0
    /// TCP header bits 4–15 (flags, with NS), as tcpControlBits (RFC 9565) wants them, and
    /// `TCPFlags.payload` when the segment carries data.
    public var tcpFlags: UInt16 = 0
    /// What sets the packet apart from the common case (`Marks`): all zero for a whole,
    /// unfragmented packet, so that the meter tests one byte.
    public var marks: UInt8 = 0
    /// The IP identification of a fragment (IPv4: 16 bits; IPv6 fragment header: 32 bits).
    public var fragmentID: UInt32 = 0
    /// Offsets from the frame start of the IP header and of the end of the TCP/UDP header (0
    /// when there is none): what a GSO super-frame repeats in front of every segment.
    public var ipOffset: UInt16 = 0
    public var transportEnd: UInt16 = 0
    /// A TCP segment's sequence number and payload length (read only with `TCPFlags.payload`).
    public var tcpSequence: UInt32 = 0
    public var tcpPayload: UInt32 = 0

    @inlinable public init() {}

    public enum Marks {
        /// An IP fragment other than the first: it has no transport header, so no ports.
        public static let laterFragment: UInt8 = 0x01
        /// The first fragment of a fragmented packet (offset 0, more fragments follow).
        public static let firstFragment: UInt8 = 0x02
        /// A capture's packet cut by its snap length: its IP length is more than the bytes
        /// captured (counted by the header's length; flags only from what was captured).
        public static let snapped: UInt8 = 0x04
    }

    @inlinable public var isLaterFragment: Bool { marks & Marks.laterFragment != 0 }
    public var isFirstFragment: Bool { marks & Marks.firstFragment != 0 }
    @inlinable public var isSnapped: Bool { marks & Marks.snapped != 0 }

    /// TCP FIN or RST: the flow has ended (flowEndReason "end of Flow detected").
    @inline(__always) @inlinable
    public var endsFlow: Bool { tcpFlags & (TCPFlags.fin | TCPFlags.rst) != 0 }
}

public enum FrameKind: UInt8, Sendable {
    case ipv4, ipv6, nonIP, malformed

    /// IPv4 or IPv6, as one comparison: written as `== .ipv4 || == .ipv6`, the frame path's
    /// first test compiled to 28 more instructions per packet (callgrind).
    @inline(__always) @inlinable
    public var isIP: Bool { rawValue <= FrameKind.ipv6.rawValue }
}

public enum TCPFlags {
    public static let fin: UInt16 = 0x01
    public static let syn: UInt16 = 0x02
    public static let rst: UInt16 = 0x04
    public static let psh: UInt16 = 0x08
    public static let ack: UInt16 = 0x10
    /// Not a TCP flag: the segment carries payload (set by the decoder, kept out of records).
    public static let payload: UInt16 = 0x8000
    /// The bits of tcpControlBits (RFC 9565): what records carry.
    public static let header: UInt16 = 0x0FFF
}

/// Why a frame was forwarded without being metered. Each has its own counter in the stats.
public enum DecodeIssue: UInt8, CaseIterable, Sendable {
    case none
    case truncatedEthernet
    case truncatedVLAN
    case tooManyVLANTags
    case truncatedIPv4
    case badIPv4Header
    case ipv4LengthBeyondFrame
    case ipv4LengthBelowHeader
    case truncatedIPv6
    case badIPv6Header
    case ipv6LengthBeyondFrame
    case ipv6Jumbogram
    case ipv6ExtensionChain
    case truncatedTCP
    case badTCPDataOffset
    case truncatedUDP
    case truncatedICMP
    case truncatedMPLS
    case mplsStackTooDeep
    case truncatedPPPoE
    case badPPPoEHeader
    /// A capture's link-layer header (Linux cooked, BSD loopback, PPP, Cisco HDLC) cut short.
    case truncatedLinkHeader

    /// The name the stats print.
    public var name: String {
        switch self {
        case .none: "none"
        case .truncatedEthernet: "truncated-ethernet"
        case .truncatedVLAN: "truncated-vlan"
        case .tooManyVLANTags: "too-many-vlan-tags"
        case .truncatedIPv4: "truncated-ipv4"
        case .badIPv4Header: "bad-ipv4-header"
        case .ipv4LengthBeyondFrame: "ipv4-length-beyond-frame"
        case .ipv4LengthBelowHeader: "ipv4-length-below-header"
        case .truncatedIPv6: "truncated-ipv6"
        case .badIPv6Header: "bad-ipv6-header"
        case .ipv6LengthBeyondFrame: "ipv6-length-beyond-frame"
        case .ipv6Jumbogram: "ipv6-jumbogram"
        case .ipv6ExtensionChain: "ipv6-extension-chain"
        case .truncatedTCP: "truncated-tcp"
        case .badTCPDataOffset: "bad-tcp-data-offset"
        case .truncatedUDP: "truncated-udp"
        case .truncatedICMP: "truncated-icmp"
        case .truncatedMPLS: "truncated-mpls"
        case .mplsStackTooDeep: "mpls-stack-too-deep"
        case .truncatedPPPoE: "truncated-pppoe"
        case .badPPPoEHeader: "bad-pppoe-header"
        case .truncatedLinkHeader: "truncated-link-header"
        }
    }
}

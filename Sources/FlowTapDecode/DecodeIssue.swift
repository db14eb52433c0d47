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

/// Why a parser of a flow's first bytes gave up: each has its own counter. The flow is
/// forwarded and metered as ever, without the fields the parser would have found.
public enum InspectIssue: UInt8, CaseIterable, Sendable {
    case none
    /// A TLS record or handshake header whose lengths do not fit (a record over 2^14 bytes,
    /// a ClientHello shorter than its fixed part).
    case badTLSRecord
    /// A ClientHello whose fields overrun it (a session id, cipher list, extension or name
    /// longer than what holds it).
    case badClientHello
    /// A ClientHello larger than the reassembly buffer: given up, not waited for.
    case helloTooLarge
    /// A DNS message shorter than its header, of another opcode, without a question, or whose
    /// question overruns it.
    case badDNSMessage
    /// A name whose compression pointers loop, point forward or chain more than 16 times.
    case dnsPointerLoop
    /// A name longer than 255 bytes on the wire.
    case dnsNameTooLong
    /// An HTTP request whose head does not end within `HTTPMessage.maxHead` bytes.
    case httpHeadTooLarge
    /// A QUIC long header of a version flowtap has no Initial keys for (RFC 9000 §15).
    case quicUnknownVersion
    /// A QUIC packet whose connection IDs, token or length run past its datagram.
    case badQUICPacket
    /// A client Initial whose AEAD tag does not verify with the keys of its Destination
    /// Connection ID (nor of the flow's first): not a client's Initial, or altered.
    case quicBadTag
    /// An opened Initial holding a frame that does not parse or is not allowed there.
    case badQUICFrame

    /// The name the stats print.
    public var name: String {
        switch self {
        case .none: "none"
        case .badTLSRecord: "bad-tls-record"
        case .badClientHello: "bad-client-hello"
        case .helloTooLarge: "hello-too-large"
        case .badDNSMessage: "bad-dns-message"
        case .dnsPointerLoop: "dns-pointer-loop"
        case .dnsNameTooLong: "dns-name-too-long"
        case .httpHeadTooLarge: "http-head-too-large"
        case .quicUnknownVersion: "quic-unknown-version"
        case .badQUICPacket: "bad-quic-packet"
        case .quicBadTag: "quic-bad-tag"
        case .badQUICFrame: "bad-quic-frame"
        }
    }
}

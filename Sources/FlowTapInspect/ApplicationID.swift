/// What a flow was recognised as, from its first bytes: the application label records carry.
/// The raw value is the selector of flowtap's applicationId (IE 95, RFC 6759): classification
/// engine 6 ("User Defined") and this value in two bytes, named by the options record that maps
/// each id to applicationName (IE 96) and applicationDescription (IE 94).
public enum ApplicationID: UInt8, CaseIterable, Sendable, BitwiseCopyable {
    case none = 0
    case tls = 1
    case http = 2
    case dns = 3
    case ssh = 4
    case quic = 5

    /// RFC 6759 §4.1: classification engine 6, "User Defined".
    public static let classificationEngine: UInt8 = 6

    /// The applicationName (IE 96), and the label the metrics and `show flows` print.
    public var name: String {
        switch self {
        case .none: "none"
        case .tls: "tls"
        case .http: "http"
        case .dns: "dns"
        case .ssh: "ssh"
        case .quic: "quic"
        }
    }

    /// The applicationDescription (IE 94).
    public var description: String {
        switch self {
        case .none: "not recognised"
        case .tls: "TLS over TCP, from its ClientHello or ServerHello"
        case .http: "HTTP/1.x, from its request or status line"
        case .dns: "DNS over UDP or TCP, from a query or response"
        case .ssh: "SSH, from its version banner"
        case .quic: "QUIC, from its Initial packets"
        }
    }

    /// The labels an exporter names in its options record (every one but `none`).
    public static var labelled: [ApplicationID] { allCases.filter { $0 != .none } }
}

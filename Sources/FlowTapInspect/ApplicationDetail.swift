/// The fields a flow's first bytes gave, for its records: a flow is one application, so one of
/// the parsers' facts. A plain value of fixed size (no reference inside), so that it can live in
/// the shared memory a handover keeps and cross a ring between threads by copy.
public struct ApplicationDetail: Sendable, Equatable, BitwiseCopyable {
    public enum Facts: Sendable, Equatable, BitwiseCopyable {
        case none
        case tls(ClientHelloFacts)
        case http(HTTPFacts)
        case dns(DNSFacts)
    }

    public var application: ApplicationID
    public var facts: Facts

    public init(_ application: ApplicationID, _ facts: Facts = .none) {
        self.application = application
        self.facts = facts
    }

    /// The name that says most of the flow: the server name, the HTTP host, the DNS question.
    public var name: String {
        switch facts {
        case .none: ""
        case let .tls(t): t.serverName.string
        case let .http(h): h.host.string
        case let .dns(d): d.queryName.string
        }
    }
}

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

    /// A biflow record's fields: the initiator's (`self`), with what only the responder's
    /// direction says added (an HTTP status, a DNS response code); the responder's alone when
    /// the initiator's direction named nothing.
    public func merging(_ reverse: ApplicationDetail?) -> ApplicationDetail {
        guard let reverse else { return self }
        var merged = self
        switch (facts, reverse.facts) {
        case (.none, _):
            return reverse
        case (.http(var h), .http(let r)):
            if h.status == 0 { h.status = r.status }
            merged.facts = .http(h)
        case (.dns(var q), .dns(let r)):
            if q.responseCode == nil { q.responseCode = r.responseCode }
            merged.facts = .dns(q)
        default:
            break
        }
        return merged
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

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

    /// Which of the parsers' facts these are: 0 none, 1 TLS, 2 HTTP, 3 DNS (read without a copy
    /// of the facts).
    @inlinable public var factsKind: Int {
        switch facts {
        case .none: 0
        case .tls: 1
        case .http: 2
        case .dns: 3
        }
    }

    /// The fields as an encoder reads them: the texts where they lie, in the facts' order
    /// (TLS: server name, ALPN, JA4; HTTP: method, host, target, version, user agent; DNS: the
    /// question), and the numbers.
    public struct Fields {
        public var texts = InlineArray<5, UnsafeRawBufferPointer>(
            repeating: UnsafeRawBufferPointer(start: nil, count: 0))
        public var tlsVersion: UInt16 = 0
        public var httpStatus: UInt16 = 0
        public var dnsQueryType: UInt16 = 0
        public var dnsResponseCode: UInt8 = 0

        @inlinable public init() {}
    }

    /// `body` with the fields, valid for its time. The facts are copied once, by the switch
    /// (an optional's `?.facts` in a caller copied them twice more: callgrind). Inlinable, so
    /// that the encoder gets it specialised (generic, it looked up metadata at every call).
    @inlinable public func withFields<R>(_ body: (Fields) -> R) -> R {
        var f = Fields()
        switch facts {
        case let .tls(t):
            f.tlsVersion = t.version
            return t.serverName.withBytes { name in
                t.alpn.withBytes { alpn in
                    t.ja4.withBytes { ja4 in
                        f.texts[0] = name
                        f.texts[1] = alpn
                        f.texts[2] = ja4
                        return body(f)
                    }
                }
            }
        case let .http(h):
            f.httpStatus = h.status
            return h.method.withBytes { method in
                h.host.withBytes { host in
                    h.target.withBytes { target in
                        h.version.withBytes { version in
                            h.userAgent.withBytes { agent in
                                f.texts[0] = method
                                f.texts[1] = host
                                f.texts[2] = target
                                f.texts[3] = version
                                f.texts[4] = agent
                                return body(f)
                            }
                        }
                    }
                }
            }
        case let .dns(d):
            f.dnsQueryType = d.queryType
            f.dnsResponseCode = d.responseCode ?? 0
            return d.queryName.withBytes { name in
                f.texts[0] = name
                return body(f)
            }
        case .none:
            return body(f)
        }
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

extension Optional where Wrapped == ApplicationDetail {
    /// The fields' address for `body`, nil without fields: the export path passes them by
    /// address, as they are 880 bytes and an optional's value was copied at each step.
    @inlinable public func withPointer<R>(_ body: (UnsafePointer<ApplicationDetail>?) -> R) -> R {
        guard let detail = self else { return body(nil) }
        return withUnsafePointer(to: detail) { body($0) }
    }
}

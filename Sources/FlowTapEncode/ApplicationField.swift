import FlowTapInspect

/// The elements that say what a flow is (docs/application-visibility.md has the table and why
/// each set): IANA's applicationId and HTTP elements, ntop's (PEN 35632) for TLS and DNS, which
/// Wireshark's IPFIX dissector and nProbe's collectors decode, and Flowmon's (PEN 39499) ALPN,
/// the one published element for it. In IPFIX the text ones are variable-length (RFC 7011
/// §7); NetFlow v9 has no variable length, so there they have a fixed one, padded with zeros
/// and cut to fit, and ALPN (no v9 number) is left out.
public enum ApplicationField: Sendable, Equatable, CaseIterable {
    /// applicationId (95, RFC 6759): classification engine 6 and the `ApplicationID` selector.
    case applicationId
    case tlsServerName, tlsALPN, tlsVersion, ja4
    case httpMethod, httpHost, httpTarget, httpVersion, httpUserAgent, httpStatusCode
    case dnsQueryName, dnsQueryType, dnsResponseCode

    public static let ntopPEN: UInt32 = 35632
    public static let flowmonPEN: UInt32 = 39499
    /// IPFIX's variable length in a template (RFC 7011 §7).
    static let variableLength = 0xFFFF

    /// The element number in IPFIX (with `enterprise`), and in NetFlow v9 (ntop's numbers there
    /// are 57472 + the IPFIX one; nil: not carried in v9).
    public var element: UInt16 {
        switch self {
        case .applicationId: 95
        case .tlsServerName: 188
        case .tlsALPN: 337
        case .tlsVersion: 495
        case .ja4: 576
        case .httpMethod: 459
        case .httpHost: 460
        case .httpTarget: 461
        case .httpVersion: 462
        case .httpUserAgent: 468
        case .httpStatusCode: 457
        case .dnsQueryName: 205
        case .dnsQueryType: 207
        case .dnsResponseCode: 208
        }
    }

    public var enterprise: UInt32? {
        switch self {
        case .tlsServerName, .tlsVersion, .ja4, .dnsQueryName, .dnsQueryType, .dnsResponseCode: Self.ntopPEN
        case .tlsALPN: Self.flowmonPEN
        default: nil
        }
    }

    public var v9Element: UInt16? {
        switch self {
        case .tlsALPN: nil
        case _ where enterprise == Self.ntopPEN: 57472 + element
        default: element
        }
    }

    /// Length in a NetFlow v9 template, and in IPFIX for the numeric fields (nil there: a text
    /// field, variable-length).
    public var fixedLength: Int {
        switch self {
        case .applicationId: 3
        case .tlsVersion, .httpStatusCode: 2
        case .dnsQueryType, .dnsResponseCode: 1
        case .tlsServerName, .httpHost, .httpTarget, .httpUserAgent, .dnsQueryName: 128
        case .ja4: 36
        case .tlsALPN, .httpMethod: 16
        case .httpVersion: 8
        }
    }

    public var isText: Bool {
        switch self {
        case .applicationId, .tlsVersion, .httpStatusCode, .dnsQueryType, .dnsResponseCode: false
        default: true
        }
    }

    /// The fields of a record of `application` whose parser gave `facts` (`kind`), after the
    /// flow's own: one template per kind, so records of flows without fields keep theirs.
    public enum Kind: Int, Sendable, CaseIterable {
        case label = 0, tls, http, dns

        public var fields: [ApplicationField] {
            switch self {
            case .label: [.applicationId]
            case .tls: [.applicationId, .tlsServerName, .tlsALPN, .tlsVersion, .ja4]
            case .http:
                [.applicationId, .httpMethod, .httpHost, .httpTarget, .httpVersion, .httpUserAgent, .httpStatusCode]
            case .dns: [.applicationId, .dnsQueryName, .dnsQueryType, .dnsResponseCode]
            }
        }

        public static func of(_ detail: ApplicationDetail?) -> Kind {
            switch detail?.facts {
            case .tls?: .tls
            case .http?: .http
            case .dns?: .dns
            default: .label
            }
        }
    }

    /// A record's facts, bound once for all its fields: each field then reads its value in
    /// place. (A switch over `ApplicationDetail.Facts` per field copied the facts for each
    /// field, twice a record: a third of what naming cost `read`, callgrind.)
    struct Bound {
        var tls: ClientHelloFacts?
        var http: HTTPFacts?
        var dns: DNSFacts?

        init(_ detail: ApplicationDetail?) {
            switch detail?.facts {
            case let .tls(t)?: tls = t
            case let .http(h)?: http = h
            case let .dns(d)?: dns = d
            default: break
            }
        }
    }

    /// Appends this field of a record labelled `application` with `facts`: a number in its
    /// length; a text field with its length prefix (IPFIX: one byte, or 255 and two) or, in v9,
    /// padded to `fixedLength`.
    func write(application: UInt8, _ facts: Bound, variable: Bool, into m: inout MessageWriter) {
        switch self {
        case .applicationId:
            m.append8(ApplicationID.classificationEngine)
            m.append16(UInt16(application))
        case .tlsVersion:
            m.append16(facts.tls?.version ?? 0)
        case .httpStatusCode:
            m.append16(facts.http?.status ?? 0)
        case .dnsQueryType:
            // ntop's element is one octet: types above 255 (CAA, URI) go as 0.
            let type = facts.dns?.queryType ?? 0
            m.append8(type <= 255 ? UInt8(type) : 0)
        case .dnsResponseCode:
            m.append8(facts.dns?.responseCode ?? 0)
        default:
            withText(facts) { value in
                let count = variable ? value.count : min(value.count, fixedLength)
                if variable {
                    if count < 255 {
                        m.append8(UInt8(count))
                    } else {
                        m.append8(255)
                        m.append16(UInt16(count))
                    }
                }
                guard m.reserve(count) else { return }
                for i in 0 ..< count { m.append8(value[i]) }
                if !variable { m.appendZeros(fixedLength - count) }
            }
        }
    }

    /// A text field's bytes, in place, handed to `body` (none for a number, or a field of
    /// another application).
    func withText<R>(_ facts: Bound, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        switch self {
        case .tlsServerName: return facts.tls?.serverName.withBytes(body) ?? body(none)
        case .tlsALPN: return facts.tls?.alpn.withBytes(body) ?? body(none)
        case .ja4: return facts.tls?.ja4.withBytes(body) ?? body(none)
        case .httpMethod: return facts.http?.method.withBytes(body) ?? body(none)
        case .httpHost: return facts.http?.host.withBytes(body) ?? body(none)
        case .httpTarget: return facts.http?.target.withBytes(body) ?? body(none)
        case .httpVersion: return facts.http?.version.withBytes(body) ?? body(none)
        case .httpUserAgent: return facts.http?.userAgent.withBytes(body) ?? body(none)
        case .dnsQueryName: return facts.dns?.queryName.withBytes(body) ?? body(none)
        default: return body(none)
        }
    }

    /// Bytes this field takes in a record (with its IPFIX length prefix when `variable`).
    func encodedLength(_ facts: Bound, variable: Bool) -> Int {
        guard isText && variable else { return fixedLength }
        let n = withText(facts) { $0.count }
        return n + (n < 255 ? 1 : 3)
    }
}

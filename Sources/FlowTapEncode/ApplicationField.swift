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

        public static func of(_ detail: UnsafePointer<ApplicationDetail>?) -> Kind {
            switch detail?.pointee.factsKind {
            case 1?: .tls
            case 2?: .http
            case 3?: .dns
            default: .label
            }
        }
    }

    /// Where a text field is among its facts' texts (`ApplicationDetail.text`); nil for a number.
    var textSlot: Int? {
        switch self {
        case .tlsServerName, .httpMethod, .dnsQueryName: 0
        case .tlsALPN, .httpHost: 1
        case .ja4, .httpTarget: 2
        case .httpVersion: 3
        case .httpUserAgent: 4
        default: nil
        }
    }

    /// Appends this field of a record labelled `application` with the fields at `detail` (nil:
    /// none, so empty texts and zeros): a number in its length; a text field with its length
    /// prefix (IPFIX: one byte, or 255 and two) or, in v9, padded to `fixedLength`. The fields
    /// are read where they lie.
    func write(
        application: UInt8, _ detail: UnsafePointer<ApplicationDetail>?, variable: Bool, into m: inout MessageWriter
    ) {
        switch self {
        case .applicationId:
            m.append8(ApplicationID.classificationEngine)
            m.append16(UInt16(application))
        case .tlsVersion:
            m.append16(detail?.pointee.tlsVersion ?? 0)
        case .httpStatusCode:
            m.append16(detail?.pointee.httpStatus ?? 0)
        case .dnsQueryType:
            // ntop's element is one octet: types above 255 (CAA, URI) go as 0.
            let type = detail?.pointee.dnsQueryType ?? 0
            m.append8(type <= 255 ? UInt8(type) : 0)
        case .dnsResponseCode:
            m.append8(detail?.pointee.dnsResponseCode ?? 0)
        default:
            let value = text(detail)
            let count = variable ? value.count : min(value.count, fixedLength)
            if variable {
                if count < 255 {
                    m.append8(UInt8(count))
                } else {
                    m.append8(255)
                    m.append16(UInt16(count))
                }
            }
            m.append(bytes: UnsafeRawBufferPointer(start: value.baseAddress, count: count))
            if !variable { m.appendZeros(fixedLength - count) }
        }
    }

    /// A text field's bytes (none for a number).
    func text(_ detail: UnsafePointer<ApplicationDetail>?) -> UnsafeRawBufferPointer {
        guard let slot = textSlot else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return ApplicationDetail.text(detail, slot)
    }

    /// Bytes this field takes in a record (with its IPFIX length prefix when `variable`).
    func encodedLength(_ detail: UnsafePointer<ApplicationDetail>?, variable: Bool) -> Int {
        guard isText && variable else { return fixedLength }
        let n = text(detail).count
        return n + (n < 255 ? 1 : 3)
    }
}

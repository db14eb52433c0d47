import FlowTapInspect
import FlowTapMeter
import FoundationEssentials

/// The control socket's protocol, shared by the server and the `flowtap show|expire|templates|set`
/// client: one request line, one JSON document back. Each answer is a Codable type here, so
/// every JSON key is spelled once (a property, in snake case on the wire).
public enum ControlRequest: Sendable, Equatable {
    case stats
    case collectors
    case config
    /// `flowtap expire`: every flow (nil), or those the filter text matches.
    case expire(filter: String?)
    /// `flowtap show flows`: the top flows by `order` among those the filter text matches.
    case flows(top: Int, order: FlowOrder, filter: String)
    case templates
    /// `flowtap set`: new timeouts in seconds (nil: unchanged).
    case set(idleTimeout: Int?, activeTimeout: Int?)
    /// `flowtap run --takeover`: a new flowtap asks for the TAPs, the sockets and the flows.
    case handover(HandoverAsk)
    /// `flowtap reload` (systemd's ExecReload=): park, leave the state in the service manager's
    /// fd store, and exit for the service manager to start the unit's binary again at once.
    case reload(HandoverAsk)

    public var isHandover: Bool {
        switch self {
        case .handover, .reload: true
        default: false
        }
    }

    /// The line sent over the socket.
    public var line: String {
        switch self {
        case .stats: "stats"
        case .collectors: "collectors"
        case .config: "config"
        case .expire(let filter): filter.map { "expire \($0)" } ?? "expire"
        case .flows(let top, let order, let filter): "flows \(top) \(order.rawValue) \(filter)"
        case .templates: "templates"
        case .set(let idle, let active):
            "set" + (active.map { " active-timeout=\($0)" } ?? "") + (idle.map { " idle-timeout=\($0)" } ?? "")
        case .handover(let ask): "handover " + ControlJSON.encode(ask)
        case .reload(let ask): "reload " + ControlJSON.encode(ask)
        }
    }

    /// The request a line asks, or the one-line error the client gets back.
    public init(parsing line: String, longestTimeout: Int) throws(ControlError) {
        let words = line.split(separator: " ").map(String.init)
        switch words.first ?? "" {
        case "stats": self = .stats
        case "collectors": self = .collectors
        case "config": self = .config
        case "templates": self = .templates
        case "expire": self = .expire(filter: words.count > 1 ? words.dropFirst().joined(separator: " ") : nil)
        case "flows":
            guard words.count >= 3, let top = Int(words[1]), top > 0, let order = FlowOrder(rawValue: words[2]) else {
                throw ControlError(
                    error:
                        "ask 'flows TOP ORDER [FILTER]', ORDER one of \(FlowOrder.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            self = .flows(top: top, order: order, filter: words.dropFirst(3).joined(separator: " "))
        case "set":
            var idle: Int?, active: Int?
            for word in words.dropFirst() {
                let parts = word.split(separator: "=")
                guard parts.count == 2, let value = Int(parts[1]), value > 0, value <= longestTimeout else {
                    throw ControlError(error: "'\(word)' is not NAME=SECONDS with 1 to \(longestTimeout) seconds")
                }
                switch parts[0] {
                case "idle-timeout": idle = value
                case "active-timeout": active = value
                default: throw ControlError(error: "'\(parts[0])' cannot be set; set idle-timeout or active-timeout")
                }
            }
            self = .set(idleTimeout: idle, activeTimeout: active)
        case "handover", "reload":
            let json = Array(line.utf8.drop { $0 != UInt8(ascii: " ") })
            guard case .success(let ask)? = ControlJSON.decode(HandoverAsk.self, from: json) else {
                throw ControlError(error: "'\(words[0])' needs the successor's description in JSON")
            }
            self = words[0] == "handover" ? .handover(ask) : .reload(ask)
        default:
            throw ControlError(
                error: "unknown request '\(line)'; ask stats, flows, collectors, config, expire, templates or set")
        }
    }
}

/// What a successor tells the running flowtap before a handover: who it is, the options that
/// must not change, and what its flow tables look like (it keeps the flows only when they are
/// the same: `StateLayout.signature`, --max-flows, the record set).
public struct HandoverAsk: Codable, Sendable, Equatable {
    public var pid: Int32
    public var tapA: String
    public var tapB: String
    public var offload: Bool
    public var queues: Int
    public var maxFlows: Int
    public var records: String
    public var layout: UInt64

    public init(
        pid: Int32, tapA: String, tapB: String, offload: Bool, queues: Int, maxFlows: Int, records: String,
        layout: UInt64
    ) {
        self.pid = pid
        self.tapA = tapA
        self.tapB = tapB
        self.offload = offload
        self.queues = queues
        self.maxFlows = maxFlows
        self.records = records
        self.layout = layout
    }
}

/// The running flowtap's answer to a handover ask, sent with the descriptors (SCM_RIGHTS), one
/// name each, in order; `flowsKept` false: the successor starts with empty tables (the
/// running one reports its flows, "forced end", at the park).
public struct HandoverOffer: Codable, Sendable, Equatable {
    public var pid: Int32
    public var names: [String]
    public var flowsKept: Bool
    public init(pid: Int32, names: [String], flowsKept: Bool) {
        self.pid = pid
        self.names = names
        self.flowsKept = flowsKept
    }
}

/// The answer to `flowtap reload`.
public struct ReloadAnswer: Codable, Sendable {
    public var reloading: Bool
    public var flowsKept: Bool
    public init(reloading: Bool, flowsKept: Bool) {
        self.reloading = reloading
        self.flowsKept = flowsKept
    }
}

/// The answer to a request that failed.
public struct ControlError: Codable, Error, Sendable {
    public var error: String
    public init(error: String) { self.error = error }
}

/// Frames and bytes per second over one window.
public struct RateAnswer: Codable, Sendable {
    public var frames: Double
    public var bytes: Double
}

public struct FragmentAnswer: Codable, Sendable {
    public var held: UInt64
    public var attributed: UInt64
    public var unattributed: UInt64
}

public struct ResetNoticeAnswer: Codable, Sendable {
    public var closed: UInt64
    public var unmatched: UInt64
    public var lost: UInt64
}

/// One forwarder (a direction of one queue) in `show stats`.
public struct DirectionAnswer: Codable, Sendable {
    public var name: String
    public var queue: Int
    public var frames: UInt64
    public var bytes: UInt64
    /// Keyed "1s", "10s", "60s".
    public var rates: [String: RateAnswer]
    public var flowsActive: UInt64
    public var flowsPeak: UInt64
    public var flowsCreated: UInt64
    /// Records by flowEndReason.
    public var records: [String: UInt64]
    public var evictions: UInt64
    public var recordsLost: UInt64
    public var kernelDrops: UInt64
    /// Frames not metered, by decode issue.
    public var undecodable: [String: UInt64]
    public var fragments: FragmentAnswer
    public var resetNotices: ResetNoticeAnswer
    public var applications: ApplicationsAnswer
}

/// Naming flows in `show stats`: records by application, parsers' give-ups by reason, and the
/// label and reassembly pools (`size`, `inUse`, `exhausted`), QUIC Initials opened and skipped.
public struct ApplicationsAnswer: Codable, Sendable {
    public var records: [String: UInt64]
    public var inspectFailures: [String: UInt64]
    public var detailsLost: UInt64
    public var labels: PoolAnswer
    public var reassembly: PoolAnswer
    /// QUIC Initials opened, and openings the per-second budget skipped.
    public var quicDecryptions: UInt64
    public var quicDecryptionsSkipped: UInt64
}

public struct PoolAnswer: Codable, Sendable {
    public var size: UInt64
    public var inUse: UInt64
    public var exhausted: UInt64
}

/// One collector in `show stats` and `show collectors`.
public struct CollectorAnswer: Codable, Sendable {
    public var url: String
    public var messages: UInt64
    public var records: UInt64
    public var bytes: UInt64
    public var sendErrors: UInt64
    public var queueDepth: UInt64
    public var recordsLost: UInt64
    public var notExportable: UInt64
    public var icmpErrors: UInt64
    public var lastError: String
    public var lastErrorTimeMs: UInt64
}

public struct StatsAnswer: Codable, Sendable {
    public var directions: [DirectionAnswer]
    public var collectors: [CollectorAnswer]
    /// Records sent with their label alone: the export thread's store of fields was full and
    /// the memory to grow it refused. Optional so that this version's `show stats` still reads
    /// the answer of a probe started before it (nil there), as during an upgrade's handover.
    public var detailsWithoutRoom: UInt64?
}

/// One live flow in `show flows`; the latencies only for a TCP flow whose reverse is known.
public struct FlowAnswer: Codable, Sendable {
    public var src: String
    public var dst: String
    public var sport: UInt16
    public var dport: UInt16
    public var proto: UInt8
    public var packets: UInt64
    public var bytes: UInt64
    public var firstMs: UInt64
    public var lastMs: UInt64
    public var tcpFlags: UInt16
    public var rateBps: Double
    public var retransmitted: UInt32
    public var outOfOrder: UInt32
    public var direction: String
    public var queue: Int
    public var clientDelayUs: UInt64?
    public var serverDelayUs: UInt64?
    public var appLatencyUs: UInt64?
    /// What the flow is (`--app-fields`), as `read --json` names it: its application, and its
    /// server name, HTTP host or DNS question (the reverse flow's when it has none itself).
    public var app: String?
    public var name: String?
}

/// One exported record as `flowtap read` prints it when it has no destination: the table
/// `show flows` prints, or with `--json` one object per line, in the order the records were
/// exported. Keys as `show flows --json` names them, and why the record was made.
public struct RecordAnswer: Codable, Sendable, Equatable {
    public var src: String
    public var dst: String
    public var sport: UInt16
    public var dport: UInt16
    public var proto: UInt8
    public var packets: UInt64
    public var bytes: UInt64
    public var firstMs: UInt64
    public var lastMs: UInt64
    public var tcpFlags: UInt16
    public var rateBps: Double
    public var retransmitted: UInt32
    public var outOfOrder: UInt32
    public var endReason: String
    public var clientDelayUs: UInt64?
    public var serverDelayUs: UInt64?
    public var appLatencyUs: UInt64?
    /// `--biflow`: the reverse direction's counts.
    public var reversePackets: UInt64?
    public var reverseBytes: UInt64?
    /// What the flow is (`--app-fields`): its application, and the name that says most of it
    /// (TLS server name, HTTP host, DNS question); the other fields in JSON.
    public var app: String?
    public var name: String?
    public var alpn: String?
    public var tlsVersion: UInt16?
    public var ja4: String?
    /// QUIC's version, in hex as IANA's registry writes it ("0x00000001", "0x6b3343cf").
    public var quicVersion: String?
    public var httpMethod: String?
    public var httpTarget: String?
    public var httpUserAgent: String?
    public var httpStatus: UInt16?
    public var dnsType: UInt16?
    public var dnsRcode: UInt8?

    public init(_ r: FlowRecord, biflow: Bool = false, detail: ApplicationDetail? = nil) {
        (src, dst) = r.key.addresses
        sport = r.key.ipProtocol == 1 || r.key.ipProtocol == 58 ? 0 : r.key.sourcePort
        dport = r.key.destinationPort
        proto = r.key.ipProtocol
        packets = r.packets
        bytes = r.octets
        firstMs = r.firstNs / 1_000_000
        lastMs = r.lastNs / 1_000_000
        tcpFlags = r.tcpFlags
        rateBps = ControlJSON.rounded(Double(r.octets) * 8 / max(0.001, Double(r.lastNs &- r.firstNs) / 1e9))
        retransmitted = r.retransmittedPackets
        outOfOrder = r.outOfOrderPackets
        endReason = r.endReason.name
        if r.latency != TCPLatency() {
            clientDelayUs = r.latency.clientNs / 1000
            serverDelayUs = r.latency.serverNs / 1000
            appLatencyUs = r.latency.applicationNs / 1000
        }
        if biflow {
            reversePackets = r.reversePackets
            reverseBytes = r.reverseOctets
        }
        if r.application != 0, let id = ApplicationID(rawValue: r.application) { app = id.name }
        if let detail { describe(detail) }
    }

    mutating func describe(_ detail: ApplicationDetail) {
        let text = { (s: String) in s.isEmpty ? nil : s }
        name = text(detail.name)
        switch detail.facts {
        case .none: break
        case let .tls(t):
            alpn = text(t.alpn.string)
            tlsVersion = t.version
            ja4 = text(t.ja4.string)
            if t.quicVersion != 0 { quicVersion = "0x" + t.quicVersion.padded(8, radix: 16) }
        case let .http(h):
            httpMethod = text(h.method.string)
            httpTarget = text(h.target.string)
            httpUserAgent = text(h.userAgent.string)
            httpStatus = h.status == 0 ? nil : h.status
        case let .dns(d):
            dnsType = d.queryType
            dnsRcode = d.responseCode ?? 0
        }
    }
}

/// `show config`: the running configuration, timeouts as `flowtap set` left them.
public struct ConfigAnswer: Codable, Sendable, Equatable {
    public var tapA: String
    public var tapB: String
    public var collectors: [String]
    public var records: String
    public var idleTimeout: Int
    public var activeTimeout: Int
    public var tcpCloseTimeout: Int
    public var maxFlows: Int
    public var queues: Int
    public var mtu: Int
    public var sample: UInt32
    public var offload: Bool
    public var biflow: Bool
    public var ipfixNtop: Bool
    public var observationDomain: UInt32

    public init(
        tapA: String, tapB: String, collectors: [String], records: String, idleTimeout: Int, activeTimeout: Int,
        tcpCloseTimeout: Int, maxFlows: Int, queues: Int, mtu: Int, sample: UInt32, offload: Bool, biflow: Bool,
        ipfixNtop: Bool, observationDomain: UInt32
    ) {
        (self.tapA, self.tapB, self.collectors, self.records) = (tapA, tapB, collectors, records)
        (self.idleTimeout, self.activeTimeout, self.tcpCloseTimeout) = (idleTimeout, activeTimeout, tcpCloseTimeout)
        (self.maxFlows, self.queues, self.mtu, self.sample) = (maxFlows, queues, mtu, sample)
        (self.offload, self.biflow, self.ipfixNtop, self.observationDomain) = (
            offload, biflow, ipfixNtop, observationDomain
        )
    }
}

public struct ExpireAnswer: Codable, Sendable { public var expired: Bool }
public struct TemplatesAnswer: Codable, Sendable { public var templates: String }
/// The timeouts `set` applied; 0: unchanged.
public struct SetAnswer: Codable, Sendable {
    public var idleTimeout: Int
    public var activeTimeout: Int
}

/// The one JSON coding both ends use: snake-case keys.
public enum ControlJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        // Every answer is plain numbers, strings and booleans: encoding cannot fail.
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
            ?? #"{"error":"unencodable answer"}"#
    }

    /// The answer as `T`, or the server's error, or nil when the bytes are neither.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> Result<T, ControlError>? {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = Data(bytes)
        if let error = try? decoder.decode(ControlError.self, from: data) { return .failure(error) }
        return (try? decoder.decode(T.self, from: data)).map { .success($0) }
    }

    /// Rates with three decimals at most, as they are shown.
    public static func rounded(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

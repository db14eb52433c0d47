import ArgumentParser
import FlowTapBase
import FlowTapControl
import FlowTapDecode
import FlowTapEncode
import FlowTapMeter
import FlowTapSend
import FlowTapSetup
import Logging

/// The export options `run` and `read` share: collectors, formats, records, timeouts,
/// sampling, message size, and the log.
struct ExportArguments: ParsableArguments {
    static let defaults = ProbeConfiguration.defaults

    @Option(
        help: ArgumentHelp(
            "Collector, [FORMAT://]HOST[:PORT]; repeat for several. FORMAT is ipfix, v9 or v5; HOST an IPv4 address or [IPv6]; PORT 4739 for IPFIX, 2055 for NetFlow by default.",
            valueName: "host:port"))
    var collector: [String] = []

    @Option(help: ArgumentHelp("Format for collectors given without one.", valueName: "format"))
    var format: ExportFormat = .ipfix

    @Option(help: ArgumentHelp("Record sets, any of l2,l3,l4.", valueName: "sets"), transform: RecordSet.parse)
    var record: RecordSet = defaults.records

    @Option(
        name: .customLong("active-timeout"), parsing: .unconditional,
        help: ArgumentHelp("Report long flows every S seconds (as deltas).", valueName: "s"))
    var activeTimeout: Int = defaults.activeTimeout

    @Option(
        name: .customLong("idle-timeout"), parsing: .unconditional,
        help: ArgumentHelp("End a flow after S seconds without a packet.", valueName: "s"))
    var idleTimeout: Int = defaults.idleTimeout

    @Option(
        name: .customLong("tcp-close-timeout"), parsing: .unconditional,
        help: ArgumentHelp(
            "Keep a TCP flow S seconds after its FIN or RST, so that the closing ACKs join it; 0 ends it at the FIN.",
            valueName: "s"))
    var tcpCloseTimeout: Int = defaults.tcpCloseTimeout

    @Option(
        name: .customLong("max-flows"), parsing: .unconditional,
        help: ArgumentHelp("Flow cache slots per direction.", valueName: "n"))
    var maxFlows: Int = defaults.maxFlows

    @Option(
        name: .customLong("observation-domain"), parsing: .unconditional,
        help: ArgumentHelp("IPFIX observation domain ID.", valueName: "n"))
    var observationDomain: UInt32 = defaults.observationDomain

    @Option(
        name: .customLong("template-refresh"), parsing: .unconditional,
        help: ArgumentHelp("Resend templates every S seconds.", valueName: "s"))
    var templateRefresh: Int = defaults.templateRefresh

    @Option(
        name: .customLong("template-refresh-packets"), parsing: .unconditional,
        help: ArgumentHelp("Also resend templates after N export messages (0: by time only).", valueName: "n"))
    var templateRefreshPackets: Int = defaults.templateRefreshPackets

    @Option(
        help: ArgumentHelp(
            "IPFIX flow start/end: ms (152/153, read by every collector), us (154/155) or ns (156/157, NTP format).",
            valueName: "unit"))
    var timestamps: TimestampUnit = defaults.timestamps

    @Flag(
        help:
            "Export RFC 5103 biflow records (both directions in one record, reverse counters under enterprise 29305) to IPFIX collectors; v9/v5 collectors keep uniflow records."
    )
    var biflow = false

    @Flag(
        name: .customLong("ipfix-ntop"),
        help:
            "Add ntop's enterprise elements (PEN 35632; Wireshark decodes them) to IPFIX records: each TCP connection's client and server network delay and application latency (123-125), retransmitted and out-of-order packets (109-112). NetFlow v9 records always carry them (nProbe's 57554-57559, which nfdump prints with %cl %sl %al, and ntop's 57581-57584)."
    )
    var ipfixNtop = false

    @Option(
        name: .customLong("app-fields"),
        help: ArgumentHelp(
            "on: name each flow from its first bytes (TLS server name, ALPN, JA4, over TCP and from QUIC Initials; HTTP request and status; DNS question and response code; the application) and export that with IPFIX and NetFlow v9 records; off: none of it, for networks where server names and DNS questions are personal data.",
            valueName: "on|off"))
    var appFields: OnOff = .on

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Meter 1 packet in N (every frame is still forwarded).", valueName: "n"))
    var sample: UInt32 = defaults.sampling.interval

    @Option(
        name: .customLong("sample-mode"),
        help: ArgumentHelp("deterministic (every Nth packet) or random (one at random in each N).", valueName: "mode"))
    var sampleMode: Sampling.Mode = defaults.sampling.mode

    @Option(parsing: .unconditional, help: ArgumentHelp("Largest export IP datagram.", valueName: "bytes"))
    var mtu: Int = defaults.mtu

    @Option(
        name: .customLong("log-level"),
        help: ArgumentHelp(
            "Least severe log level written to stderr: trace, debug, info, notice, warning, error, critical.",
            valueName: "level"))
    var logLevel: Logger.Level = .info

    @Option(
        name: .customLong("log-format"),
        help: ArgumentHelp(
            "Log lines on stderr: text, or json (one object per line, for journald and log shippers).",
            valueName: "text|json"))
    var logFormat: LogFormat = .text

    /// The collectors, parsed; none is an error only where the caller says so.
    func collectors() throws(SetupError) -> [CollectorAddress] {
        var list: [CollectorAddress] = []
        for text in collector { list.append(try CollectorAddress(parsing: text, defaultFormat: format)) }
        return list
    }

    /// These options into `config`.
    func apply(to config: inout ProbeConfiguration) {
        config.records = record
        config.activeTimeout = activeTimeout
        config.idleTimeout = idleTimeout
        config.tcpCloseTimeout = tcpCloseTimeout
        config.maxFlows = maxFlows
        config.observationDomain = observationDomain
        config.templateRefresh = templateRefresh
        config.templateRefreshPackets = templateRefreshPackets
        config.timestamps = timestamps
        config.sampling = Sampling(interval: sample, mode: sampleMode)
        config.biflow = biflow
        config.appFields = appFields == .on
        config.ipfixNtop = ipfixNtop
        config.mtu = mtu
    }

    /// Log lines on stderr, as --log-level and --log-format say.
    func bootstrapLogging() {
        let (level, format) = (logLevel, logFormat)
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                return JSONLogHandler(label: label, level: level)
            }
        }
    }
}

/// A setting that is on or off (`--app-fields`).
enum OnOff: String, CaseIterable, ExpressibleByArgument {
    case on, off
}

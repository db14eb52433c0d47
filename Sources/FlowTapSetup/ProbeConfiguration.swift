import FlowTapBase
import FlowTapControl
import FlowTapDecode
import FlowTapDevice
import FlowTapEncode
import FlowTapMeter
import FlowTapSecurity
import FlowTapSend

/// Everything `flowtap run` was asked to do, already parsed. `validate()` holds every rule, so
/// the CLI and tests reject the same things with the same words.
public struct ProbeConfiguration: Sendable, Equatable {
    public var tapA: String
    public var tapB: String
    public var collectors: [CollectorAddress]
    public var records: RecordSet = [.l3, .l4]
    public var activeTimeout = 60
    public var idleTimeout = 15
    /// `--tcp-close-timeout`: seconds a TCP flow stays after its FIN or RST (0: none).
    public var tcpCloseTimeout = ExpiryPolicy.defaultCloseSeconds
    public var maxFlows = 262_144
    /// At most one per address family; the route's source is used for a family not given.
    public var sources: [IPAddress] = []
    public var observationDomain: UInt32 = 1
    public var templateRefresh = 20
    public var templateRefreshPackets = 20
    public var mtu = 1500
    /// How IPFIX records carry flow start and end.
    public var timestamps: TimestampUnit = .milliseconds
    public var sampling = Sampling()
    /// Open the TAPs with virtio_net_hdr and checksum/segmentation offloads.
    public var offload = false
    /// Export RFC 5103 biflow records to IPFIX collectors.
    public var biflow = false
    /// Name flows from their first bytes and export what that gives (`--app-fields`; on unless
    /// turned off).
    public var appFields = true
    /// IPFIX records carry the TCP latencies, retransmissions and out-of-order packets in ntop's
    /// enterprise elements (PEN 35632). Off by default: some collectors refuse enterprise
    /// elements they do not know. NetFlow v9 records always carry them (nProbe's and ntop's
    /// v9 fields).
    public var ipfixNtop = false
    /// Queues per TAP (IFF_MULTI_QUEUE), each with a forwarding thread per direction.
    public var queues = 1
    /// CPUs the forwarding threads are pinned to, in turn; empty: not pinned.
    public var cpus: [Int] = []
    public static let maxQueues = 16
    /// The account flowtap runs as once its descriptors are open; nil: `nobody` when started
    /// as root, else the current user. "root" keeps uid 0 (capabilities are still dropped).
    public var user: String?
    /// The seccomp allowlist installed after the privilege drop, and what it does with the rest.
    public var seccomp = SeccompMode.on
    /// `--takeover`: take the TAPs, the sockets and the flows over from the flowtap serving the
    /// control socket (`Takeover`), instead of attaching afresh.
    public var takeover = false
    /// The control socket's path (`--control`); nil: none.
    public var controlPath: String?
    /// Where `--metrics` serves Prometheus metrics; nil: nowhere.
    public var metrics: MetricsAddress?
    /// `--output`: IPFIX files of the run's records (`OutputFiles`); nil: none.
    public var output: String?
    /// `--output-rotate`: seconds a file covers; 0: one file for the run.
    public var outputRotate = 0

    /// Every option's default, for the CLI to show and start from: the one place they live.
    public static let defaults = ProbeConfiguration(tapA: "", tapB: "", collectors: [])

    /// Longest timeout or refresh accepted: softflowd's maxlife, 7 days.
    public static let longestInterval = 604_800
    public static let maxFlowsLimit = 1 << 26
    public static let maxCollectors = 16

    public init(tapA: String, tapB: String, collectors: [CollectorAddress]) {
        self.tapA = tapA
        self.tapB = tapB
        self.collectors = collectors
    }

    /// The source for a collector's family, if one was given.
    public func source(for collector: CollectorAddress) -> IPAddress? {
        sources.first { $0.isIPv6 == collector.host.isIPv6 }
    }

    /// The timeouts, as the flow cache takes them.
    package var expiryPolicy: ExpiryPolicy {
        ExpiryPolicy(
            idleTimeoutSeconds: idleTimeout, activeTimeoutSeconds: activeTimeout, closeTimeoutSeconds: tcpCloseTimeout)
    }

    /// Smallest IP datagram that carries one record of the largest layout, the templates, or
    /// the options message, to every collector.
    public var minimumMTU: Int {
        collectors.map { c in
            (c.host.isIPv6 ? 48 : 28)
                + c.format.largestRequiredMessage(records: records, biflow: biflow, ipfixNtop: ipfixNtop)
        }.max() ?? 0
    }

    public func validate() throws(SetupError) {
        try TapDevice.validateName(tapA)
        try TapDevice.validateName(tapB)
        if tapA == tapB {
            throw SetupError(
                "--tap-a and --tap-b are both '\(tapA)'", fix: "give two different TAPs, one for each side of the wire")
        }
        if collectors.isEmpty && output == nil {
            throw SetupError(
                "no collector given", fix: "add --collector HOST:PORT, e.g. --collector 10.0.0.2:4739, or --output FILE"
            )
        }
        if outputRotate < 0 || outputRotate > Self.longestInterval {
            throw SetupError(
                "--output-rotate is \(outputRotate) seconds",
                fix: "give from 1 to \(Self.longestInterval) seconds, or 0 for one file")
        }
        if outputRotate > 0 && output == nil {
            throw SetupError("--output-rotate without --output", fix: "add --output PATH, the files' name")
        }
        try validateExport()
    }

    /// The rules of the export options, which `flowtap read` shares.
    public func validateExport() throws(SetupError) {
        if collectors.count > Self.maxCollectors {
            throw SetupError("\(collectors.count) collectors given", fix: "give at most \(Self.maxCollectors)")
        }
        for (i, c) in collectors.enumerated()
        where collectors[..<i].contains(where: { $0.host == c.host && $0.port == c.port }) {
            throw SetupError(
                "collector \(c.host.withPort(c.port)) is given twice", fix: "give each collector address once")
        }
        for (flag, value) in [
            ("--idle-timeout", idleTimeout), ("--active-timeout", activeTimeout),
            ("--template-refresh", templateRefresh)
        ] {
            if value <= 0 {
                throw SetupError(
                    "\(flag) is \(value) seconds",
                    fix: "give a whole number of seconds from 1 to \(Self.longestInterval)")
            }
            if value > Self.longestInterval {
                throw SetupError(
                    "\(flag) of \(value) seconds is longer than 7 days",
                    fix: "give at most \(Self.longestInterval) seconds")
            }
        }
        if tcpCloseTimeout < 0 || tcpCloseTimeout > Self.longestInterval {
            throw SetupError(
                "--tcp-close-timeout is \(tcpCloseTimeout) seconds",
                fix: "give from 0 (end a TCP flow at its FIN or RST) to \(Self.longestInterval) seconds")
        }
        if templateRefreshPackets < 0 {
            throw SetupError(
                "--template-refresh-packets is \(templateRefreshPackets)",
                fix: "give a number of messages, or 0 to refresh by time only")
        }
        if maxFlows < FlowCache.ways || maxFlows > Self.maxFlowsLimit {
            throw SetupError(
                "--max-flows \(maxFlows) is out of range",
                fix: "give from \(FlowCache.ways) to \(Self.maxFlowsLimit) flows per direction")
        }
        if observationDomain == IPFIXEncoder.optionsObservationDomain
            && collectors.contains(where: { $0.format == .ipfix })
        {
            throw SetupError(
                "--observation-domain 0 is where flowtap sends its IPFIX options records (RFC 7011 §3.1)",
                fix: "give a domain from 1 to 4294967295")
        }
        for family in [false, true] where sources.filter({ $0.isIPv6 == family }).count > 1 {
            throw SetupError(
                "more than one --source for \(family ? "IPv6" : "IPv4")",
                fix: "give at most one source address per family")
        }
        if sampling.interval < 1 || sampling.interval > Sampling.largestInterval {
            throw SetupError(
                "--sample \(sampling.interval) is out of range",
                fix: "give 1 (every packet) to \(Sampling.largestInterval)")
        }
        if queues < 1 || queues > Self.maxQueues {
            throw SetupError("--queues \(queues) is out of range", fix: "give 1 to \(Self.maxQueues) queues per TAP")
        }
        if let bad = cpus.first(where: { $0 < 0 || $0 >= 1024 }) {
            throw SetupError(
                "--cpus names CPU \(bad)", fix: "give CPU numbers as 'nproc' counts them, from 0, e.g. --cpus 0,1")
        }
        if mtu < minimumMTU {
            throw SetupError(
                "--mtu \(mtu) cannot carry one \(records.names) record with its headers",
                fix: "give --mtu \(minimumMTU) or more (1500 suits Ethernet)")
        }
        if mtu > 65535 {
            throw SetupError(
                "--mtu \(mtu) is larger than an IP datagram can be",
                fix: "give at most 65535, and no more than the path to the collector carries")
        }
    }
}

/// Everything `flowtap run` was asked to do, already parsed. `validate()` holds every rule, so
/// the CLI and tests reject the same things with the same words.
public struct ProbeConfiguration: Sendable, Equatable {
    public var tapA: String
    public var tapB: String
    public var collector: CollectorAddress
    public var records: RecordSet = [.l3, .l4]
    public var activeTimeout = 60
    public var idleTimeout = 15
    public var maxFlows = 262_144
    public var source: IPv4Address?
    public var observationDomain: UInt32 = 1
    public var templateRefresh = 20
    public var mtu = 1500

    /// Longest timeout or refresh accepted: softflowd's maxlife, 7 days.
    public static let longestInterval = 604_800
    public static let maxFlowsLimit = 1 << 26

    public init(tapA: String, tapB: String, collector: CollectorAddress) {
        self.tapA = tapA
        self.tapB = tapB
        self.collector = collector
    }

    /// Smallest IP datagram that carries one record of the largest layout, or the templates.
    public var minimumMTU: Int {
        IPv4UDPSender.headerRoom + IPFIXEncoder.minimumMessageLength(layouts: RecordLayout.layouts(for: records))
    }

    public func validate() throws(SetupError) {
        try TapDevice.validateName(tapA)
        try TapDevice.validateName(tapB)
        if tapA == tapB {
            throw SetupError("--tap-a and --tap-b are both '\(tapA)'", fix: "give two different TAPs, one for each side of the wire")
        }
        for (flag, value) in [("--idle-timeout", idleTimeout), ("--active-timeout", activeTimeout),
                              ("--template-refresh", templateRefresh)] {
            if value <= 0 {
                throw SetupError("\(flag) is \(value) seconds", fix: "give a whole number of seconds from 1 to \(Self.longestInterval)")
            }
            if value > Self.longestInterval {
                throw SetupError("\(flag) of \(value) seconds is longer than 7 days", fix: "give at most \(Self.longestInterval) seconds")
            }
        }
        if maxFlows < FlowCache.ways || maxFlows > Self.maxFlowsLimit {
            throw SetupError("--max-flows \(maxFlows) is out of range", fix: "give from \(FlowCache.ways) to \(Self.maxFlowsLimit) flows per direction")
        }
        if mtu < minimumMTU {
            throw SetupError("--mtu \(mtu) cannot carry one \(records.names) record with its headers",
                             fix: "give --mtu \(minimumMTU) or more (1500 suits Ethernet)")
        }
        if mtu > 65535 {
            throw SetupError("--mtu \(mtu) is larger than an IPv4 datagram can be", fix: "give at most 65535, and no more than the path to the collector carries")
        }
    }
}

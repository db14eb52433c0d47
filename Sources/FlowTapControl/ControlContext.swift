import FlowTapMeter
import Glibc

/// What the control thread and the metrics read and ask, all of it safe from another thread:
/// the forwarders' published counters, the export side's published statistics, the requests
/// the forwarders obey, and the configuration as started. Nothing here is the probe's own
/// object: Probe fills it in.
public struct ControlContext: Sendable {
    public var directions: [(name: String, queue: Int, report: ForwarderReport, kernelDrops: KernelDropCounter?)]
    public var export: any ExportStatus
    public var requests: MeterRequests
    /// As started; `show config` replaces the timeouts with those `flowtap set` changed.
    public var config: ConfigAnswer
    /// The longest timeout `flowtap set` accepts, in seconds.
    public var longestTimeout: Int
    /// Who takes handover and reload asks (the main thread); nil: they are refused.
    public var handovers: (any HandoverDesk)?

    public init(
        directions: [(name: String, queue: Int, report: ForwarderReport, kernelDrops: KernelDropCounter?)],
        export: any ExportStatus, requests: MeterRequests, config: ConfigAnswer, longestTimeout: Int
    ) {
        self.directions = directions
        self.export = export
        self.requests = requests
        self.config = config
        self.longestTimeout = longestTimeout
    }
}

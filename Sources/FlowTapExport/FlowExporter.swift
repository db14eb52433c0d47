import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import Glibc

/// Probe-wide counts the options records state: frames not metered, records lost before the
/// export thread. Read at template-refresh time only.
public typealias ProbeTotals = @Sendable () -> (ignoredPackets: UInt64, lostRecords: UInt64)

/// What the export thread drives for each collector.
public protocol FlowExporter: AnyObject {
    var collector: CollectorAddress { get }
    var statistics: ExportStatistics { get }
    /// A record; a labelled flow's with the fields its first bytes gave (nil: none), read where
    /// they are for the time of the call.
    func export(_ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, now: UInt64)
    /// Timers: retry of queued messages, template refresh, flush of a message that has waited.
    func tick(now: UInt64)
    /// Shutdown: sends the open message and what the queue holds, counting what cannot leave.
    func finish(now: UInt64)
    /// Templates and options go out again with the next message (`flowtap templates resend`).
    func resendTemplates()
    /// Where this collector's stream stands (sequence numbers, counters), for the process that
    /// goes on with it; written to `checkpointSlot` after every message, so that it survives
    /// a crash too.
    var checkpoint: ExporterCheckpoint { get }
    var checkpointSlot: UnsafeMutablePointer<ExporterCheckpoint>? { get set }
    /// Goes on from a checkpoint of the same collector (before the first record).
    func resume(from checkpoint: ExporterCheckpoint)
}

extension FlowExporter {
    /// A record without application fields.
    public func export(_ record: borrowing FlowRecord, now: UInt64) { export(record, detail: nil, now: now) }
}

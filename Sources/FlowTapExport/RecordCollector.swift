import FlowTapInspect
import FlowTapMeter
import FlowTapSend

/// `flowtap read` with no collector and no file: an exporter that hands each record, in the
/// order an IPFIX collector would have received it (after the latency join and, with
/// `--biflow`, the pairing), to a function that prints it.
public final class RecordCollector: FlowExporter {
    public let collector = CollectorAddress(file: "standard output")
    public private(set) var statistics = ExportStatistics()
    public var checkpointSlot: UnsafeMutablePointer<ExporterCheckpoint>?
    let take: (FlowRecord, ApplicationDetail?) -> Void

    public init(_ take: @escaping (FlowRecord, ApplicationDetail?) -> Void) {
        self.take = take
    }

    public func export(_ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, now: UInt64) {
        statistics.records &+= 1
        take(copy record, detail?.pointee)
    }

    public func tick(now: UInt64) {}
    public func finish(now: UInt64) {}
    public func resendTemplates() {}
    public var checkpoint: ExporterCheckpoint { ExporterCheckpoint() }
    public func resume(from checkpoint: ExporterCheckpoint) {}
}

import FlowTapEncode
import FlowTapSend
import Glibc

/// One collector's stream as a handover or a restart carries it over: which collector (a
/// hash of its URL), its sequence numbers and its counters. Plain data, kept in shared memory.
public struct ExporterCheckpoint: Sendable, Equatable, BitwiseCopyable {
    public var collectorID: UInt64 = 0
    public var stream = StreamState()
    public var messages: UInt64 = 0
    public var records: UInt64 = 0
    public var bytes: UInt64 = 0
    public var sendErrors: UInt64 = 0
    public var recordsNotSent: UInt64 = 0
    public var recordsNotExportable: UInt64 = 0

    public init() {}

    /// The counters a checkpoint carries, and where each lives in `ExportStatistics`.
    static let counters:
        [(WritableKeyPath<ExporterCheckpoint, UInt64> & Sendable, WritableKeyPath<ExportStatistics, UInt64> & Sendable)] =
            [
                (\.messages, \.messages), (\.records, \.records), (\.bytes, \.bytes), (\.sendErrors, \.sendErrors),
                (\.recordsNotSent, \.recordsNotSent), (\.recordsNotExportable, \.recordsNotExportable)
            ]

    /// FNV-1a of the collector's URL (format, address, port): two collectors share a stream
    /// only when they are the same.
    public static func id(of collector: CollectorAddress) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in collector.description.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h == 0 ? 1 : h
    }
}

import FlowTapExport
import FlowTapSend
import Glibc

/// What the operator's side reads of the export thread, and the one thing it asks of it.
public protocol ExportStatus: AnyObject, Sendable {
    /// Each collector's statistics as of the last tick.
    var publishedStatistics: [(collector: CollectorAddress, statistics: ExportStatistics)] { get }
    /// Records sent with their label alone: the export thread's store of fields was full and
    /// the memory to grow it refused (as of the last tick).
    var detailsWithoutRoom: UInt64 { get }
    /// Every collector gets templates and options again at the next tick.
    func requestTemplates()
}

import FlowTapExport
import FlowTapSend
import Glibc

/// What the operator's side reads of the export thread, and the one thing it asks of it.
public protocol ExportStatus: AnyObject, Sendable {
    /// Each collector's statistics as of the last tick.
    var publishedStatistics: [(collector: CollectorAddress, statistics: ExportStatistics)] { get }
    /// Every collector gets templates and options again at the next tick.
    func requestTemplates()
}

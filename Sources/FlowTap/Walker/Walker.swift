/// The only thread that encodes and sends. Every tick (100 ms, or sooner when woken) it takes
/// the finished records out of each forwarding thread's ring, hands them to every collector,
/// and runs the collectors' timers. When `drain` rings (the forwarders have stopped and pushed
/// their last records), it empties the rings, flushes, and returns.
public final class Walker: @unchecked Sendable {
    public static let tickMs: CInt = 100

    let rings: [RecordRing]
    let exporters: [any FlowExporter]
    let drain: Doorbell

    public init(rings: [RecordRing], exporters: [any FlowExporter], drain: Doorbell) {
        self.rings = rings
        self.exporters = exporters
        self.drain = drain
    }

    public func run() {
        while true {
            let draining = drain.isRung
            if !draining { _ = SystemCall.pollReadable(drain.descriptor, -1, timeoutMs: Self.tickMs) }
            let now = WallClock.nowMs()
            for ring in rings {
                ring.drain { record in
                    for exporter in exporters { exporter.export(record, now: now) }
                }
            }
            for exporter in exporters { exporter.tick(now: now) }
            if draining && rings.allSatisfy(\.isDrained) {
                for exporter in exporters { exporter.finish(now: now) }
                return
            }
        }
    }

    public var statistics: [(collector: CollectorAddress, statistics: ExportStatistics)] {
        exporters.map { ($0.collector, $0.statistics) }
    }
}

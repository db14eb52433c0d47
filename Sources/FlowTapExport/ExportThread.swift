import FlowTapBase
import FlowTapDecode
import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import Synchronization

/// The only thread that encodes and sends. Every tick (100 ms, or sooner when woken) it takes
/// the finished records out of each forwarding thread's ring, hands them to every collector,
/// and runs the collectors' timers. Told to stop (the forwarders have stopped and pushed their
/// last records), it empties the rings, flushes, and returns. Told to park (the forwarders are
/// parked for a handover), it empties the rings, sends every record it holds, leaves each
/// collector's checkpoint, and waits: to run again, or to quit (the successor goes on).
public final class ExportThread: @unchecked Sendable {
    public static let tickMs: CInt = 100

    let rings: [RecordRing]
    /// Each ring's record details (`RecordDetail`), when the forwarders name flows.
    let detailRings: [DetailRing]
    /// The fields of records on their way through the joins, under the handle the record now
    /// carries in `detailSerial`; given back when the record goes to the collectors.
    public let details: DetailStore
    /// With `--biflow`: the handles of the fields of records waiting in the biflow assembler,
    /// by flow key, until their biflow record goes out with both directions' fields merged.
    /// Bounded by the assembler's waiting records: each entry leaves with its record.
    private var biflowDetails: [FlowKey: UInt32] = [:]
    /// The record being added to the biflow assembler and its fields' handle, while `add` runs:
    /// it may first send an earlier record of the same key alone, which takes the fields kept
    /// under the key, or pair the new one at once, which takes these.
    private var arriving: (key: FlowKey, handle: UInt32)?
    /// Collectors of uniflow records, and (with `--biflow`) of the assembled biflow records.
    let exporters: [any FlowExporter]
    let biflowExporters: [any FlowExporter]
    let biflow: BiflowAssembler?
    /// Joins TCP connections' two directions first, so that every record, uniflow or biflow,
    /// carries its connection's latency.
    let latency = LatencyJoin()
    let allExporters: [any FlowExporter]
    let command: ThreadCommand
    /// Where a park leaves the records that wait for a partner, for a successor; nil: they go
    /// out at the park, as at a stop.
    public var held: HeldRecords?
    /// `--output`: the files, rotated by the timers, and their exporter; the open file is
    /// completed when the thread returns (a stop, or a successor going on).
    public var output: (files: OutputFiles, exporter: any FlowExporter)?
    /// What a predecessor left there, added again before the first record of this process.
    public var carried: (latency: [HeldRecords.Held], biflow: [HeldRecords.Held]) = ([], [])
    private let beat = Atomic<UInt64>(0)
    /// Each collector's statistics as of the last tick, for readers on other threads.
    private let published: Mutex<[ExportStatistics]>
    /// `details.withoutRoom` as of the last tick, for readers on other threads.
    private let publishedWithoutRoom = Atomic<UInt64>(0)
    /// Bumped by `requestTemplates()`; the export thread acts on a change at its next tick.
    private let templateRequests = Atomic<UInt64>(0)
    private var templateRequestsSeen: UInt64 = 0
    /// Monotonic milliseconds of the last tick: the export thread's heartbeat for the service watchdog.
    public var heartbeatMs: UInt64 { beat.load(ordering: .acquiring) }

    public init(
        rings: [RecordRing], detailRings: [DetailRing] = [], exporters: [any FlowExporter],
        biflowExporters: [any FlowExporter] = [], biflow: BiflowAssembler? = nil, command: ThreadCommand,
        details: DetailStore = DetailStore()
    ) {
        self.details = details
        self.rings = rings
        self.detailRings = detailRings
        self.exporters = exporters
        self.biflowExporters = biflowExporters
        self.biflow = biflow
        allExporters = exporters + biflowExporters
        self.command = command
        published = Mutex(allExporters.map(\.statistics))
    }

    public func run() {
        while true {
            var c = command.current
            if c == .run {
                _ = SystemCall.pollReadable(command.descriptor, -1, timeoutMs: Self.tickMs)
                c = command.current
            }
            let draining = c == .stop
            // Monotonic: the exporters' timers and the biflow hold must not follow a step of the
            // wall clock (records carry their own wall-clock times).
            let now = MonotonicClock.nowMs()
            beat.store(now, ordering: .releasing)
            if !carried.latency.isEmpty || !carried.biflow.isEmpty {
                // Those that waited for their reverse wait again, here; a biflow record with no
                // --biflow here any more has no collector left to go to.
                if let biflow {
                    for h in carried.biflow { toAssembler(biflow, h.record, details.keep(h.detail), now: now) }
                }
                for h in carried.latency { deliver(h.record, detail: h.detail, nowMs: now) }
                carried = ([], [])
            }
            for (i, ring) in rings.enumerated() {
                let detailRing = i < detailRings.count ? detailRings[i] : nil
                ring.drain { record in deliver(copy record, details: detailRing, nowMs: now) }
            }
            timers(nowMs: now)
            if c == .park || c == .parkEmptied {
                // The forwarders are parked: their rings held all they had. What waits for a
                // partner stays for the successor where it can (a plain park: it adopts the
                // tables, and its forwarders report the partners); the rest goes now, as at a
                // stop. Then every message.
                if c == .park, let held {
                    let waiting = latency.takeWaiting()
                    let kept = min(waiting.count, held.capacity)
                    for r in waiting[kept...] { joined(r, now: now) }
                    // With their fields, given back here: the successor keeps them anew.
                    let latencyHeld = waiting.prefix(kept).map { r -> HeldRecords.Held in
                        (r, details.remove(r.detailSerial))
                    }
                    let biflowHeld = (biflow?.takeWaiting() ?? []).map { r -> HeldRecords.Held in
                        (r, details.remove(biflowDetails.removeValue(forKey: r.key) ?? 0))
                    }
                    let rest = held.keep(latency: latencyHeld, biflow: biflowHeld)
                    if let biflow {
                        for h in rest.biflow { toAssembler(biflow, h.record, details.keep(h.detail), now: now) }
                    }
                }
                finish(nowMs: now)
                publish(allExporters.map(\.statistics))
                command.acknowledge(c)
                switch command.waitWhileParked() {
                case .run:
                    // The handover failed: what was kept for the successor waits here again.
                    command.clearWake()
                    if let held { carried = held.take() }
                    command.acknowledge(.run)
                    continue
                case .quit:
                    output?.files.completeCurrent()
                    return
                default: continue
                }
            }
            if c == .quit {
                output?.files.completeCurrent()
                return
            }
            publish(allExporters.map(\.statistics))
            if draining && rings.allSatisfy(\.isDrained) {
                finish(nowMs: now)
                output?.files.completeCurrent()
                return
            }
        }
    }

    // The steps of a tick, which `flowtap read` also drives from its one thread on the
    // capture's clock (milliseconds; the joins' in nanoseconds of the same clock).

    /// A finished record, into the latency join (and from it to every collector).
    public func deliver(_ record: consuming FlowRecord, nowMs: UInt64) {
        latency.add(record, now: nowMs &* 1_000_000) { self.joined($0, now: nowMs) }
    }

    /// A finished record whose fields, if it names some, wait on `ring`: they move to
    /// `details` under a handle of this thread until the record goes to the collectors.
    public func deliver(_ record: consuming FlowRecord, details ring: DetailRing?, nowMs: UInt64) {
        var r = record
        if let ring, r.detailSerial != 0 {
            r.detailSerial = details.take(from: ring, serial: r.detailSerial)
        } else {
            r.detailSerial = 0
        }
        deliver(r, nowMs: nowMs)
    }

    /// A finished record and the fields it names (a record kept at a handover, the tests).
    public func deliver(_ record: consuming FlowRecord, detail: ApplicationDetail?, nowMs: UInt64) {
        var r = record
        r.detailSerial = details.keep(detail)
        deliver(r, nowMs: nowMs)
    }

    /// The joins' expiry, template requests, and each collector's timers.
    public func timers(nowMs: UInt64) {
        let nowNs = nowMs &* 1_000_000
        latency.expire(now: nowNs) { self.joined($0, now: nowMs) }
        biflow?.expire(now: nowNs) { self.toBiflow($0, now: nowMs) }
        let requests = templateRequests.load(ordering: .acquiring)
        if requests != templateRequestsSeen {
            templateRequestsSeen = requests
            for exporter in allExporters { exporter.resendTemplates() }
        }
        for exporter in allExporters { exporter.tick(now: nowMs) }
        // A file's time is up: its last message out, the file complete; the next message opens
        // the next file, with templates and options first.
        if let output, output.files.rotationDue(nowMs: WallClock.nowMs()) {
            output.exporter.finish(now: nowMs)
            output.files.completeCurrent()
            output.exporter.resendTemplates()
        }
    }

    /// Everything out: the records still waiting for a partner, then every message.
    public func finish(nowMs: UInt64) {
        latency.flush { self.joined($0, now: nowMs) }
        biflow?.flush(now: nowMs &* 1_000_000) { self.toBiflow($0, now: nowMs) }
        for exporter in allExporters { exporter.finish(now: nowMs) }
    }

    /// A biflow record (forward the initiator), with its directions' fields.
    private func toBiflow(_ r: FlowRecord, now: UInt64) {
        var detail: ApplicationDetail?
        if !biflowDetails.isEmpty || arriving != nil {
            let forward = fieldsWaiting(r.key)
            let reverse = fieldsWaiting(r.key.reverseKey)
            let reverseDetail = details.remove(reverse)
            detail = details.remove(forward).map { $0.merging(reverseDetail) } ?? reverseDetail
        }
        detail.withPointer { p in
            for exporter in biflowExporters { exporter.export(r, detail: p, now: now) }
        }
    }

    private func joined(_ record: FlowRecord, now: UInt64) {
        let handle = record.detailSerial
        // The fields read where they are kept: they are 816 bytes.
        if let slot = details.slot(handle) {
            for exporter in exporters { exporter.export(record, detail: slot, now: now) }
        } else {
            for exporter in exporters { exporter.export(record, detail: nil, now: now) }
        }
        guard let biflow else {
            details.release(handle)
            return
        }
        toAssembler(biflow, record, details.slot(handle) != nil ? handle : 0, now: now)
    }

    /// `record` into the biflow assembler, its fields under `handle` (0: none) until its biflow
    /// record goes out.
    private func toAssembler(_ biflow: BiflowAssembler, _ record: FlowRecord, _ handle: UInt32, now: UInt64) {
        var r = record
        r.detailSerial = 0
        arriving = handle != 0 ? (record.key, handle) : nil
        biflow.add(r, now: now &* 1_000_000) { self.toBiflow($0, now: now) }
        // Not paired at once: it waits, its fields under its key.
        if let waiting = arriving {
            if let older = biflowDetails.updateValue(waiting.handle, forKey: waiting.key) { details.release(older) }
            arriving = nil
        }
    }

    /// The handle of the fields of the record of `key` that goes out now (0: none): a waiting
    /// record's, else the arriving one's.
    private func fieldsWaiting(_ key: FlowKey) -> UInt32 {
        if let handle = biflowDetails.removeValue(forKey: key) { return handle }
        guard let a = arriving, a.key == key else { return 0 }
        arriving = nil
        return a.handle
    }

    /// After `run` returned: the final statistics of each collector.
    public var statistics: [(collector: CollectorAddress, statistics: ExportStatistics)] {
        allExporters.map { ($0.collector, $0.statistics) }
    }

    /// While running, from any thread: each collector's statistics as of the last tick.
    public var publishedStatistics: [(collector: CollectorAddress, statistics: ExportStatistics)] {
        let snapshot = published.withLock { $0 }
        return zip(allExporters.map(\.collector), snapshot).map { ($0, $1) }
    }

    /// While running, from any thread: records that went with their label alone, the store of
    /// fields full and the memory to grow it refused (`DetailStore.withoutRoom`), as of the last
    /// tick.
    public var detailsWithoutRoom: UInt64 { publishedWithoutRoom.load(ordering: .acquiring) }

    private func publish(_ snapshot: [ExportStatistics]) {
        published.withLock { $0 = snapshot }
        publishedWithoutRoom.store(details.withoutRoom, ordering: .releasing)
    }

    /// From any thread: every collector gets templates and options again at the next tick.
    public func requestTemplates() { templateRequests.add(1, ordering: .releasing) }
}

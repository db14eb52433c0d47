import FlowTapBase
import FlowTapDecode
import FlowTapExport
import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import Glibc

/// The probe's state that outlives its process, in one memfd (`SharedMemory`) kept by the
/// service manager's fd store or passed to the flowtap that takes over: every forwarder's flow
/// table, written in place as frames are metered (never copied), each forwarder's counters as of
/// its last housekeeping, and each collector's stream checkpoint as of its last message.
///
/// Layout (offsets in bytes): the header at 0; the counters at 4096, one `ForwarderCounters`
/// per forwarder; the checkpoints after them, `maxCollectors` of them; then, from the next page,
/// each forwarder's table (`FlowCache.storageBytes`), each page-aligned. A reader trusts none of
/// it before the header's magic, layout signature and sizes match its own
/// (`StateLayout.signature`): a table of another layout is never read.
package final class StateRegion: @unchecked Sendable {
    static let magic: UInt64 = 0x3150_4154_574F_4C46 // "FLOWTAP1", little-endian
    static let maxCollectors = 64
    static let countersOffset = 4096

    struct Header: BitwiseCopyable {
        var magic: UInt64
        var signature: UInt64
        var forwarders: UInt32
        var maxFlows: UInt32
        var records: UInt32
        /// 1 from a park (handover or reload: no frame in flight, every record sent) until a
        /// successor runs; 0 while a process forwards, so an adopter that finds 0 knows the last
        /// one died.
        var parked: UInt32
        var hashSeed: UInt64
        var systemInitMs: UInt64
        /// How many processes have adopted this state.
        var adoptions: UInt64
        /// The records a park left for the successor (`HeldRecords`): the latency join's, then
        /// the biflow pairing's.
        var heldLatency: UInt32
        var heldBiflow: UInt32
    }

    /// Records a park can leave for the successor; more go out at the park, as at a stop. The
    /// first `heldDetailCapacity` of them with application fields keep the fields too.
    static let heldCapacity = 65536
    static let heldDetailCapacity = 8192

    package let memory: SharedMemory
    package let forwarders: Int
    let maxFlows: Int
    /// True when the tables hold the flows of a previous process.
    package let adopted: Bool
    /// The checkpoints and counters as the previous process left them, and whether it parked
    /// (a handover) rather than died: read by `readPrevious`, once it has stopped writing.
    package private(set) var previousCheckpoints: [ExporterCheckpoint] = []
    package private(set) var previousCounters: [ForwarderCounters] = []
    package private(set) var previousParked = false
    /// The waiting records a park left for this process (`readPrevious`).
    private(set) var carried: (latency: [HeldRecords.Held], biflow: [HeldRecords.Held]) = ([], [])

    /// The area a park of this process leaves its waiting records in.
    var heldRecords: HeldRecords {
        // The counts' addresses in the mapping (the header lives there, not in Swift memory).
        let count = { (field: KeyPath<Header, UInt32>) in
            (self.memory.base + MemoryLayout<Header>.offset(of: field)!).bindMemory(to: UInt32.self, capacity: 1)
        }
        return HeldRecords(
            records: (memory.base + Self.heldOffset(forwarders: forwarders)).bindMemory(
                to: FlowRecord.self, capacity: Self.heldCapacity),
            capacity: Self.heldCapacity,
            details: (memory.base + Self.heldDetailsOffset(forwarders: forwarders)).bindMemory(
                to: ApplicationDetail.self, capacity: Self.heldDetailCapacity),
            detailCapacity: Self.heldDetailCapacity, latencyCount: count(\.heldLatency),
            biflowCount: count(\.heldBiflow))
    }

    var header: UnsafeMutablePointer<Header> { memory.base.bindMemory(to: Header.self, capacity: 1) }

    static func checkpointsOffset(forwarders: Int) -> Int {
        countersOffset + forwarders * MemoryLayout<ForwarderCounters>.stride
    }
    static func heldOffset(forwarders: Int) -> Int {
        page(checkpointsOffset(forwarders: forwarders) + maxCollectors * MemoryLayout<ExporterCheckpoint>.stride)
    }
    static func heldDetailsOffset(forwarders: Int) -> Int {
        page(heldOffset(forwarders: forwarders) + heldCapacity * MemoryLayout<FlowRecord>.stride)
    }
    static func tablesOffset(forwarders: Int) -> Int {
        page(heldDetailsOffset(forwarders: forwarders) + heldDetailCapacity * MemoryLayout<ApplicationDetail>.stride)
    }
    static func tableBytes(maxFlows: Int) -> Int { page(FlowCache.storageBytes(maxFlows: maxFlows)) }
    static func size(forwarders: Int, maxFlows: Int) -> Int {
        tablesOffset(forwarders: forwarders) + forwarders * tableBytes(maxFlows: maxFlows)
    }
    static func page(_ n: Int) -> Int { (n + 4095) & ~4095 }

    /// A fresh region for `forwarders` tables of `maxFlows`.
    package init(forwarders: Int, maxFlows: Int, records: RecordSet, systemInitMs: UInt64) throws(SetupError) {
        do {
            memory = try SharedMemory(
                creating: "flowtap-state", size: Self.size(forwarders: forwarders, maxFlows: maxFlows))
        } catch {
            throw SetupError(
                "cannot create the shared memory for the flow caches: \(error)",
                fix: "lower --max-flows, or raise the memory limits (ulimit -v, the unit's MemoryMax=)")
        }
        self.forwarders = forwarders
        self.maxFlows = maxFlows
        adopted = false
        header.pointee = Header(
            magic: Self.magic, signature: StateLayout.signature, forwarders: UInt32(forwarders),
            maxFlows: UInt32(maxFlows), records: UInt32(records.rawValue), parked: 0,
            hashSeed: UInt64.random(in: 1 ... .max), systemInitMs: systemInitMs, adoptions: 0,
            heldLatency: 0, heldBiflow: 0)
    }

    /// The region a previous process left, when it is one this version reads and it fits this
    /// configuration; otherwise the reason it is not taken.
    package static func adopt(_ memory: SharedMemory, forwarders: Int, maxFlows: Int, records: RecordSet) -> Result<
        StateRegion, Refusal
    > {
        guard memory.size >= 4096 else { return .failure(.layout) }
        let h = memory.base.load(as: Header.self)
        guard h.magic == magic, h.signature == StateLayout.signature else { return .failure(.layout) }
        guard Int(h.forwarders) == forwarders, Int(h.maxFlows) == maxFlows, h.records == UInt32(records.rawValue),
            memory.size >= size(forwarders: forwarders, maxFlows: maxFlows)
        else { return .failure(.configuration) }
        return .success(StateRegion(adopting: memory, forwarders: forwarders, maxFlows: maxFlows))
    }

    /// What a refused region's header says, for the log: its size, magic and layout signature
    /// against this version's.
    package static func describe(_ memory: SharedMemory) -> String {
        guard memory.size >= 4096 else { return "\(memory.size) bytes, too small for a header" }
        let h = memory.base.load(as: Header.self)
        return
            "\(memory.size) bytes, magic 0x\(String(h.magic, radix: 16)), layout 0x\(String(h.signature, radix: 16)); this version's: magic 0x\(String(magic, radix: 16)), layout 0x\(String(StateLayout.signature, radix: 16))"
    }

    package enum Refusal: Error {
        /// Another version's layout, or not flowtap's state at all.
        case layout
        /// Another number of queues, --max-flows or record set: the tables' shape or keys differ.
        case configuration
    }

    private init(adopting memory: SharedMemory, forwarders: Int, maxFlows: Int) {
        self.memory = memory
        self.forwarders = forwarders
        self.maxFlows = maxFlows
        adopted = true
    }

    /// Reads what the previous process left, once it no longer writes (it parked, or died), and
    /// counts this adoption. The counters start from zero when it had none.
    package func readPrevious() {
        guard adopted else { return }
        let base = memory.base
        previousCounters = (0 ..< forwarders).map {
            base.load(
                fromByteOffset: Self.countersOffset + $0 * MemoryLayout<ForwarderCounters>.stride,
                as: ForwarderCounters.self)
        }
        let checkpoints = Self.checkpointsOffset(forwarders: forwarders)
        previousCheckpoints = (0 ..< Self.maxCollectors).map {
            base.load(
                fromByteOffset: checkpoints + $0 * MemoryLayout<ExporterCheckpoint>.stride, as: ExporterCheckpoint.self)
        }.filter { $0.collectorID != 0 }
        previousParked = base.load(as: Header.self).parked == 1
        header.pointee.adoptions &+= 1
        // Kept at a park for us (read, not emptied: a predecessor whose handover fails takes
        // them back); after a crash, whatever is there is not what the export thread last held.
        if previousParked { carried = heldRecords.read() } else { heldRecords.clear() }
    }

    /// A fresh region's carry-over from a previous one it could not adopt (another --max-flows,
    /// --queues or record set, same layout): the collectors' checkpoints and the exporting
    /// process's start, so that the streams go on; the flows went out at the park.
    package func inheritStreams(from old: SharedMemory) {
        guard old.size >= 4096 else { return }
        let h = old.base.load(as: Header.self)
        guard h.magic == Self.magic, h.signature == StateLayout.signature, Int(h.forwarders) <= 4096 else { return }
        let offset = Self.checkpointsOffset(forwarders: Int(h.forwarders))
        guard old.size >= offset + Self.maxCollectors * MemoryLayout<ExporterCheckpoint>.stride else { return }
        previousCheckpoints = (0 ..< Self.maxCollectors).map {
            old.base.load(
                fromByteOffset: offset + $0 * MemoryLayout<ExporterCheckpoint>.stride, as: ExporterCheckpoint.self)
        }.filter { $0.collectorID != 0 }
        header.pointee.systemInitMs = h.systemInitMs
    }

    var hashSeed: UInt64 { header.pointee.hashSeed }
    package var systemInitMs: UInt64 { header.pointee.systemInitMs }

    /// Forwarder `i`'s table.
    func table(_ i: Int) -> UnsafeMutableRawPointer {
        memory.base + Self.tablesOffset(forwarders: forwarders) + i * Self.tableBytes(maxFlows: maxFlows)
    }

    func counters(_ i: Int) -> UnsafeMutablePointer<ForwarderCounters> {
        (memory.base + Self.countersOffset + i * MemoryLayout<ForwarderCounters>.stride).bindMemory(
            to: ForwarderCounters.self, capacity: 1)
    }

    /// The checkpoint slots, emptied: the exporters of this process take them in order.
    func checkpointSlots(_ count: Int) -> [UnsafeMutablePointer<ExporterCheckpoint>] {
        let base = (memory.base + Self.checkpointsOffset(forwarders: forwarders)).bindMemory(
            to: ExporterCheckpoint.self, capacity: Self.maxCollectors)
        base.update(repeating: ExporterCheckpoint(), count: Self.maxCollectors)
        return (0 ..< min(count, Self.maxCollectors)).map { base + $0 }
    }

    /// The previous process's checkpoint of this collector's stream, if it had one.
    func previousCheckpoint(of collector: CollectorAddress) -> ExporterCheckpoint? {
        let id = ExporterCheckpoint.id(of: collector)
        return previousCheckpoints.first { $0.collectorID == id }
    }

    package func markParked(_ parked: Bool) { header.pointee.parked = parked ? 1 : 0 }
}

/// What the shared state's layout depends on, folded into one number: a successor reads the
/// tables only when its number is the same. Field offsets and sizes are taken from the types,
/// so moving or resizing a field changes it on its own; `version` is for a change of meaning
/// with the same shape (bump it then). StateLayoutTests pins the number, so that a change is
/// seen in review.
package enum StateLayout {
    static let version: UInt64 = 1

    package static var signature: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: Int) {
            for i in 0 ..< 8 { h = (h ^ UInt64((v >> (i * 8)) & 0xFF)) &* 0x100_0000_01b3 }
        }
        mix(Int(version))
        mix(MemoryLayout<StateRegion.Header>.stride)
        mix(MemoryLayout<FlowKey>.stride)
        for v in FlowCache.entryLayout { mix(v) }
        mix(MemoryLayout<ForwarderCounters>.stride)
        mix(MemoryLayout<ExporterCheckpoint>.stride)
        mix(MemoryLayout<FlowRecord>.stride)
        mix(FlowCache.ways)
        // The records and fields a park leaves for the successor.
        mix(StateRegion.heldCapacity)
        mix(StateRegion.heldDetailCapacity)
        // The fields' packing: where each part of a label is.
        for v in ApplicationDetail.layout { mix(v) }
        // The labels and reassembly buffers (`ApplicationTable`) live in the same memory.
        for v in ApplicationTable.sharedLayout { mix(v) }
        return h
    }
}

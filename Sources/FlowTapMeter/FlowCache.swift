import FlowTapBase
import FlowTapDecode
import FlowTapInspect
import Synchronization

/// The state of one flow between two reports. Times are the meter's clock (monotonic
/// nanoseconds in the forwarder), so a step of the wall clock neither freezes nor flushes the
/// cache; `FlowCache.wallOffsetNs` turns them into wall-clock times when a record is made. A
/// packet of a live flow reads the key, `state` and `dueNs` (its timeouts, in one comparison)
/// and writes the four fields after the key (a TCP data segment also `highSequence`, in the
/// padding after `state`), so those come first: the 104 bytes it touches span two cache lines
/// for half the entries (entries are 144 bytes apart), three for the rest. With its tag, 148
/// bytes a flow.
struct FlowEntry {
    var key: FlowKey
    var packets: UInt64
    var octets: UInt64
    var lastNs: UInt64
    /// OR of the packets' flags (with `TCPFlags.payload`, masked off in records).
    var tcpFlags: UInt16
    /// `closing`, this direction's `TCPHandshake.Role` and what of the handshake it still
    /// watches for (while it does, every packet takes `FlowCache.tcpControl`): bits below.
    var state: UInt8
    /// What the flow's first bytes say it is (`FlowInspection`): while `inspecting`, every
    /// packet takes `FlowCache.inspect`; after, the `ApplicationID` found (0 for none) and
    /// whether `appSlot` holds its label. In the padding after `state`: no packet reads more.
    var app: UInt8
    /// `TCPSequence`'s high mark: the end of the highest data seen.
    var highSequence: UInt32
    /// No later than the report's deadline (`ExpiryPolicy.deadline`): a packet at or after it
    /// takes `FlowCache.timedOut`, which ends the report if its deadline has come, or else
    /// sets this to the deadline. A lower bound, so that a packet's path keeps it with one
    /// comparison and no update: whatever brings the deadline forward (a report's first
    /// packet starting its active timeout, a FIN) lowers it; after `flowtap set` shortened a
    /// timeout, the sweep does, within its second.
    var dueNs: UInt64
    /// Written when a report's first packet comes; its active timeout runs from here.
    var firstNs: UInt64
    /// The handshake's times (`TCPHandshake`): microseconds of the meter's clock, modulo 2^32,
    /// kept across active reports.
    var synUs: UInt32
    var ackUs: UInt32
    var dataUs: UInt32
    /// The rest of `TCPSequence`: the one gap below the mark that is tracked (empty when its
    /// ends are equal), and the counts since the last report.
    var holeStart: UInt32
    var holeEnd: UInt32
    var retransmitted: UInt32
    var outOfOrder: UInt32
    /// With ordered expiry (`FlowCache.queue`): which of the queue's items is this flow's.
    var serial: UInt32
    /// While inspecting a TCP flow whose SYN was seen (`startKnown`): the sequence number of its
    /// first data byte.
    var streamStart: UInt32
    /// With `holdsSlot`: the flow's reassembly buffer while inspecting, its label after
    /// (`ApplicationTable`).
    var appSlot: UInt32

    /// A flow's entry before its first packet is counted.
    @inline(__always)
    static func fresh(_ key: FlowKey, now: UInt64, dueNs: UInt64, serial: UInt32 = 0, app: UInt8 = 0) -> FlowEntry {
        FlowEntry(
            key: key, packets: 0, octets: 0, lastNs: now, tcpFlags: 0, state: 0, app: app, highSequence: 0,
            dueNs: dueNs, firstNs: now, synUs: 0, ackUs: 0, dataUs: 0, holeStart: 0, holeEnd: 0,
            retransmitted: 0, outOfOrder: 0, serial: serial, streamStart: 0, appSlot: 0)
    }

    /// `app`'s bits: the flow's first bytes are still looked at; the SYN gave `streamStart`;
    /// `appSlot` is held; the `ApplicationID` found.
    static let inspecting: UInt8 = 0x80
    static let startKnown: UInt8 = 0x40
    static let holdsSlot: UInt8 = 0x20
    static let applicationMask: UInt8 = 0x1F

    /// A TCP FIN or RST came: the flow ends once `ExpiryPolicy.closeNs` passes without a packet
    /// (kept across active reports).
    static let closingBit: UInt8 = 0x01
    /// This direction sent the SYN (client) or the SYN/ACK (server).
    static let clientBit: UInt8 = 0x02
    static let serverBit: UInt8 = 0x04
    /// Still to come: the client's handshake ACK; this direction's first data.
    static let watchACK: UInt8 = 0x08
    static let watchData: UInt8 = 0x10
    static let watching: UInt8 = watchACK | watchData
    /// `ackUs` and `dataUs` hold a time.
    static let sawACK: UInt8 = 0x20
    static let sawData: UInt8 = 0x40
    /// `highSequence` holds the end of a data segment (the flow's first data has come).
    static let sawSequence: UInt8 = 0x80

    var closing: Bool {
        get { state & Self.closingBit != 0 }
        set { state = newValue ? state | Self.closingBit : state & ~Self.closingBit }
    }
}

extension FlowCache {
    /// The shape of an entry, as the shared state's layout signature takes it (`StateLayout`):
    /// its stride, its alignment, and each field's offset.
    package static var entryLayout: [Int] {
        let fields: [PartialKeyPath<FlowEntry>] = [
            \.key, \.packets, \.octets, \.lastNs, \.tcpFlags, \.state, \.app, \.highSequence,
            \.dueNs, \.firstNs, \.synUs, \.ackUs, \.dataUs, \.holeStart,
            \.holeEnd, \.retransmitted, \.outOfOrder, \.serial, \.streamStart, \.appSlot
        ]
        return [MemoryLayout<FlowEntry>.stride, MemoryLayout<FlowEntry>.alignment]
            + fields.map { MemoryLayout<FlowEntry>.offset(of: $0) ?? -1 }
            + [MemoryLayout<ApplicationDetail>.stride, ApplicationTable.bufferBytes]
    }
}

/// A fixed-capacity flow table owned by one forwarding thread: no locks, no allocation after
/// init, one flat allocation of entries plus a parallel array of 32-bit hash tags.
///
/// The table is 8-way set associative: a key hashes to one set of eight slots and lives in any
/// of them. A lookup reads the set's tags (one cache line) and compares full keys only on a tag
/// match. When all eight slots of a set are taken, the least recently seen flow of the set is
/// reported with flowEndReason "lack of resources" and its slot reused, so a packet never waits
/// for room. Capacity is `--max-flows` rounded up to a multiple of eight.
public struct FlowCache: ~Copyable {
    public static let ways = 8

    public let capacity: Int
    /// Changed at run time by `flowtap set` (the forwarder applies it between frames).
    public var policy: ExpiryPolicy
    public let point: ObservationPoint
    let sets: Int
    /// 0 marks a free slot; a used slot holds the key hash's upper half with the low bit set.
    let tags: UnsafeMutablePointer<UInt32>
    let entries: UnsafeMutablePointer<FlowEntry>
    /// Records produced while metering, until the owner drains them. A frame makes at most
    /// four: held fragments counted (an eviction), an evicted fragment entry counted (an
    /// eviction), its own flow's insertion (an eviction) and its SYN, FIN or RST (a closed flow
    /// reopened, or ended with no close grace); the forwarder drains
    /// after every frame and after every expired fragment entry it meters. Full-outbox rule: a
    /// record that finds the outbox full is counted in `recordsDropped` and not kept, so no
    /// sequence of input can overrun it.
    let outbox: UnsafeMutablePointer<FlowRecord>
    static let outboxCapacity = 8
    /// The hash seed: random per process in the forwarder (see `FlowKey.hash(seed:)`).
    let seed: UInt64
    /// Added to an entry's times (the meter's clock) to make a record's wall-clock times. The
    /// forwarder sets it from CLOCK_REALTIME − CLOCK_MONOTONIC at every housekeeping; 0 when
    /// the meter is fed wall-clock times.
    public var wallOffsetNs: UInt64 = 0

    public private(set) var liveFlows = 0
    public private(set) var peakFlows = 0
    /// Records handed on, per `FlowEndReason.rawValue` (counted when delivered, not per packet).
    public internal(set) var recordsByReason = InlineArray<8, UInt64>(repeating: 0)
    public internal(set) var flowsCreated: UInt64 = 0
    public private(set) var evictions: UInt64 = 0
    public private(set) var pendingCount = 0
    /// Records that found the outbox full (see `outbox`); lost, and counted as such.
    public private(set) var recordsDropped: UInt64 = 0
    var scanCursor = 0
    /// `flowtap read`'s expiry (`ExpiryQueue`): every flow reported when the clock passes its
    /// deadline, in the order of the deadlines. nil in the forwarder, which sweeps (`expire`).
    @usableFromInline var queue: ExpiryQueue?
    /// `queue != nil`, as a plain flag for the insert path.
    let ordered: Bool
    var nextSerial: UInt32 = 0
    /// With ordered expiry, the flows inserted since `enqueueNew` last ran, which gives each
    /// its queue item: at most three a frame (held fragments, an evicted fragment entry, the
    /// frame's own flow), and `PacketMeter` calls it after each frame and each held fragment
    /// entry it meters. Noted by every insert, without a test, and never read in the
    /// forwarder: a branch or a call to `enqueue` there made the meter's common path too many
    /// blocks for the compiler to inline (Swift inlines an @inline(__always) function of more
    /// than 64 blocks only into a caller of fewer; +77 instructions a packet, callgrind).
    var newSlots = InlineArray<4, UInt32>(repeating: 0)
    var newCount = 0
    /// Where this direction tells the other direction's forwarder that it saw a connection
    /// reset: the reverse key of a flow at its first RST (`closeForPeerReset` there). The other
    /// direction never sees that RST, and without the notice its flow would wait for the idle
    /// timeout. nil when nobody listens (tests, the fuzzer, the microbenchmark).
    public var resetNotices: SPSCRing<FlowKey>?
    /// Notices the other direction's ring had no room for (that flow then ends by idle
    /// timeout); notices received that closed a flow, and those that found none here.
    public internal(set) var resetNoticesLost: UInt64 = 0
    public internal(set) var peerResetsClosed: UInt64 = 0
    public internal(set) var peerResetsUnmatched: UInt64 = 0

    /// Where the tags and entries live: allocated here (tests, the fuzzer, `flowtap read`), or
    /// in memory the caller owns (`storageBytes` long, 64-byte aligned), such as the shared
    /// memory that keeps the caches across a handover or a crash.
    let ownsStorage: Bool
    /// Naming flows from their first bytes (`FlowInspection`): the pools, and the `app` a new
    /// entry starts with (`FlowEntry.inspecting`, or 0 with `--app-fields off`, which then
    /// costs each packet the one test of that byte).
    public var apps: ApplicationTable
    let freshApp: UInt8
    /// Where records' application fields go to the export thread, each under the serial its
    /// record names (`FlowRecord.detailSerial`); nil where nobody reads them (tests, the fuzzer).
    public var details: DetailRing?
    var lastDetailSerial: UInt32 = 0
    /// Fields that found the detail ring full: their records go with the label alone.
    public internal(set) var detailsLost: UInt64 = 0
    /// Records made, per `ApplicationID.rawValue` of the flow (0: none recognised).
    public internal(set) var recordsByApplication = InlineArray<8, UInt64>(repeating: 0)

    /// `maxFlows` below one set is taken as one set (configuration refuses it before).
    /// With `storage`, the table lives there: with `adopting`, its flows are those a previous
    /// process left (checked by `recover`), otherwise it starts empty.
    /// With `orderedExpiry` (`flowtap read`) flows expire through `expireInOrder` instead of
    /// the sweep.
    public init(
        maxFlows: Int, policy: ExpiryPolicy, point: ObservationPoint, seed: UInt64 = 0,
        storage: UnsafeMutableRawPointer? = nil, adopting: Bool = false, orderedExpiry: Bool = false,
        inspect: Bool = false
    ) {
        sets = Self.sets(maxFlows: maxFlows)
        freshApp = inspect ? FlowEntry.inspecting : 0
        self.seed = seed
        capacity = sets * Self.ways
        self.policy = policy
        self.point = point
        if let storage {
            ownsStorage = false
            tags = storage.bindMemory(to: UInt32.self, capacity: capacity)
            entries = (storage + Self.entriesOffset(capacity: capacity)).bindMemory(
                to: FlowEntry.self, capacity: capacity)
            if !adopting { tags.update(repeating: 0, count: capacity) }
            apps = ApplicationTable(
                flows: capacity, storage: storage + Self.applicationsOffset(capacity: capacity))
        } else {
            ownsStorage = true
            tags = .allocate(capacity: capacity)
            tags.initialize(repeating: 0, count: capacity)
            // Entries are read only where the tag says the slot is used, so they start uninitialised
            // and the pages are touched only as flows arrive.
            entries = .allocate(capacity: capacity)
            apps = ApplicationTable(flows: capacity, storage: nil)
        }
        outbox = .allocate(capacity: Self.outboxCapacity)
        if orderedExpiry { queue = ExpiryQueue(capacity: capacity) }
        ordered = orderedExpiry
        if adopting { _ = recover() }
    }

    static func sets(maxFlows: Int) -> Int { max(1, (maxFlows + Self.ways - 1) / Self.ways) }

    /// Bytes of caller-owned storage a table of `maxFlows` needs: the tags, then the entries
    /// from the next 64-byte boundary.
    public static func storageBytes(maxFlows: Int) -> Int {
        let capacity = sets(maxFlows: maxFlows) * ways
        return applicationsOffset(capacity: capacity) + ApplicationTable.storageBytes(flows: capacity)
    }

    static func entriesOffset(capacity: Int) -> Int { (capacity * MemoryLayout<UInt32>.stride + 63) & ~63 }
    /// The application pools (`ApplicationTable`), from the 64-byte boundary after the entries.
    static func applicationsOffset(capacity: Int) -> Int {
        (entriesOffset(capacity: capacity) + capacity * MemoryLayout<FlowEntry>.stride + 63) & ~63
    }

    deinit {
        if ownsStorage {
            tags.deallocate()
            entries.deallocate()
        }
        outbox.deallocate()
    }

    /// Takes the table as another process (or this one, before a handover that failed) left it:
    /// a used slot is kept only when its tag is the one its key hashes to with this seed, in the
    /// set the key belongs to. A slot a process died writing cannot pass: `insert` writes the
    /// entry before its tag, so a half-written entry is behind a free tag, and a torn tag or key
    /// fails the check. Counts the live flows again; returns the slots cleared.
    public mutating func recover() -> Int {
        var cleared = 0
        liveFlows = 0
        for slot in 0 ..< capacity where tags[slot] != 0 {
            let (tag, base) = place(of: entries[slot].key)
            if tags[slot] == tag && slot >= base && slot < base + Self.ways
                && entries[slot].lastNs >= entries[slot].firstNs
            {
                liveFlows += 1
            } else {
                tags[slot] = 0
                cleared += 1
            }
        }
        peakFlows = max(peakFlows, liveFlows)
        scanCursor = 0
        // The pools' free stacks from the entries that hold a slot; a slot two entries claim
        // (which a torn write could leave) stays with the first, and an index out of range
        // with none.
        let (tags, entries, capacity) = (tags, entries, capacity)
        apps.rebuild { hold in
            for slot in 0 ..< capacity where tags[slot] != 0 && entries[slot].app & FlowEntry.holdsSlot != 0 {
                let e = entries + slot
                let buffer = e.pointee.app & FlowEntry.inspecting != 0
                if !hold(Int(e.pointee.appSlot), buffer) {
                    // Without its slot: a label stays a label, an inspection ends.
                    e.pointee.app = buffer ? 0 : e.pointee.app & ~FlowEntry.holdsSlot
                }
            }
        }
        return cleared
    }

    /// Counts one packet (or the `packets` segments of a GSO super-frame) of the flow `key` at
    /// time `now` (the meter's clock). `tcpFlags` are the packet's (0 for other protocols, and
    /// when l4 is not recorded): SYN, FIN and RST take `tcpControl`. Records this produces (a
    /// new flow evicted another, a SYN reopened a closed flow, a FIN with no close grace) wait
    /// in `pending`.
    /// `sequence` and `payload` are a data segment's (read only with `TCPFlags.payload`).
    ///
    /// A packet that comes when its flow has been idle for the idle timeout, or when the flow's
    /// report has reached the active timeout, ends that report first, as the sweep would have
    /// had it come first (`timedOut`): where a report ends never depends on when the sweep
    /// passes. A closing flow's packets all take `tcpControl`, which checks its close grace.
    @inline(__always)
    public mutating func meter(
        key: FlowKey, packets: UInt64 = 1, octets: UInt32, tcpFlags: UInt16,
        sequence: UInt32 = 0, payload: UInt32 = 0, now: UInt64
    ) {
        meterEntry(
            key: key, packets: packets, octets: octets, tcpFlags: tcpFlags, sequence: sequence, payload: payload,
            now: now)
    }

    /// `meter`, returning the flow's entry for `inspect` (valid until the next call).
    @inline(__always) @discardableResult
    mutating func meterEntry(
        key: FlowKey, packets: UInt64 = 1, octets: UInt32, tcpFlags: UInt16,
        sequence: UInt32 = 0, payload: UInt32 = 0, now: UInt64
    ) -> UnsafeMutablePointer<FlowEntry> {
        let slot = slot(for: key, now: now)
        let entry = entries + slot
        if now >= entry.pointee.dueNs { timedOut(slot, now: now) }
        // Everything but TCP (and TCP when l4 is not recorded) has no flags: one test.
        guard tcpFlags != 0 else {
            count(entry, packets: packets, octets: octets, tcpFlags: 0, now: now)
            return entry
        }
        let state = entry.pointee.state
        if tcpFlags & (TCPFlags.syn | TCPFlags.fin | TCPFlags.rst) == 0
            && state & (FlowEntry.watching | FlowEntry.closingBit) == 0
        {
            count(entry, packets: packets, octets: octets, tcpFlags: tcpFlags, now: now)
            guard tcpFlags & TCPFlags.payload != 0 else { return entry }
            // In order, the common case: the segment starts where the highest data ended.
            if state & FlowEntry.sawSequence != 0 && sequence == entry.pointee.highSequence {
                entry.pointee.highSequence = sequence &+ payload
            } else {
                TCPSequence.place(entry, sequence: sequence, length: payload)
            }
            return entry
        }
        tcpControl(slot, packets: packets, octets: octets, tcpFlags: tcpFlags, now: now)
        if tcpFlags & TCPFlags.payload != 0 { TCPSequence.place(entry, sequence: sequence, length: payload) }
        return entry
    }

    @inline(__always)
    func count(_ entry: UnsafeMutablePointer<FlowEntry>, packets: UInt64, octets: UInt32, tcpFlags: UInt16, now: UInt64)
    {
        if entry.pointee.packets == 0 {
            // A report's first packet starts its active timeout.
            entry.pointee.firstNs = now
            entry.pointee.dueNs = min(entry.pointee.dueNs, now &+ policy.activeNs)
        }
        entry.pointee.packets &+= packets
        entry.pointee.octets &+= UInt64(octets)
        entry.pointee.lastNs = now
        entry.pointee.tcpFlags |= tcpFlags
    }

    /// Counts packets seen earlier and held back (IP fragments that came before their first
    /// fragment) in the flow `key`, between `firstNs` and `lastNs`.
    public mutating func meterHeld(key: FlowKey, packets: UInt64, octets: UInt64, firstNs: UInt64, lastNs: UInt64) {
        let slot = slot(for: key, now: lastNs)
        timedOut(slot, now: lastNs)
        let entry = entries + slot
        if entry.pointee.packets == 0 || firstNs < entry.pointee.firstNs {
            entry.pointee.firstNs = firstNs
            entry.pointee.dueNs = min(entry.pointee.dueNs, ExpiryPolicy.adding(firstNs, policy.activeNs))
        }
        entry.pointee.packets &+= packets
        entry.pointee.octets &+= octets
        entry.pointee.lastNs = max(entry.pointee.lastNs, lastNs)
    }

    /// The slot holding `key`'s flow, inserted (evicting if its set is full) when absent.
    @inline(__always)
    mutating func slot(for key: FlowKey, now: UInt64) -> Int {
        let (tag, base) = place(of: key)
        // Most packets belong to a live flow: look for it alone, and for room only when it is new.
        for i in base ..< base &+ Self.ways where tags[i] == tag && entries[i].key == key {
            return i
        }
        return insert(key, tag: tag, base: base, now: now)
    }

    /// `key`'s tag and the first slot of its set.
    @inline(__always)
    func place(of key: FlowKey) -> (tag: UInt32, base: Int) {
        let hash = key.hash(seed: seed)
        return (
            UInt32(truncatingIfNeeded: hash >> 32) | 1, Int(((hash & 0xFFFF_FFFF) &* UInt64(sets)) >> 32) &* Self.ways
        )
    }

    /// Puts a new flow in the first free slot of its set, or in the slot of the set's least
    /// recent flow, reported first.
    @inline(__always)
    mutating func insert(_ key: FlowKey, tag: UInt32, base: Int, now: UInt64) -> Int {
        let slot = freeSlot(base: base, now: now)
        entries[slot] = FlowEntry.fresh(key, now: now, dueNs: freshDueNs(now), serial: nextSerial, app: freshApp)
        // The tag commits the entry: should the process die here, the slot is still free (see
        // `recover`). The fence keeps the compiler (and the CPU) from storing the tag first.
        atomicMemoryFence(ordering: .releasing)
        tags[slot] = tag
        liveFlows &+= 1
        peakFlows = max(peakFlows, liveFlows)
        flowsCreated &+= 1
        noteNew(slot)
        return slot
    }

    /// The set's first free slot, or the slot its least recent flow leaves. Out of line, and
    /// without the key (which would then be built in memory on every frame's path), so that
    /// the frame path stays small enough for the compiler to inline whole.
    @inline(never)
    mutating func freeSlot(base: Int, now: UInt64) -> Int {
        var slot = base
        while slot < base &+ Self.ways && tags[slot] != 0 { slot &+= 1 }
        return slot == base &+ Self.ways ? evictLeastRecent(base: base, now: now) : slot
    }

    /// Makes room in a full set: its least recent flow is reported, as "lack of resources"
    /// unless one of its timeouts has already come (then as that, as the sweep would have).
    @inline(never)
    mutating func evictLeastRecent(base: Int, now: UInt64) -> Int {
        var oldest = base
        for i in base + 1 ..< base + Self.ways where entries[i].lastNs < entries[oldest].lastNs {
            oldest = i
        }
        if let reason = due(oldest, now: now) {
            report(oldest, reason: reason)
        } else {
            report(oldest, reason: .lackOfResources)
            evictions &+= 1
        }
        release(oldest)
        return oldest
    }

    /// The flow in `slot`'s deadline and its reason (`ExpiryPolicy.deadline`).
    @inline(__always)
    func deadline(_ slot: Int) -> (reason: FlowEndReason, atNs: UInt64) {
        let e = entries + slot
        return policy.deadline(
            lastNs: e.pointee.lastNs, firstNs: e.pointee.firstNs, closing: e.pointee.closing,
            counted: e.pointee.packets > 0)
    }

    /// The reason the flow in `slot` is due at `now`, or nil.
    @inline(__always)
    func due(_ slot: Int, now: UInt64) -> FlowEndReason? {
        let d = deadline(slot)
        return d.atNs <= now ? d.reason : nil
    }

    /// A new entry's `dueNs`: its idle or active timeout, whichever is shorter, from now.
    /// Here and in `count`, on the frame path, the sum wraps instead of saturating (branches
    /// there cost the inlining of the whole path): a clock within a timeout of 2^64 ns (a
    /// forged capture's) only sends every packet through `timedOut`, which saturates.
    @inline(__always)
    func freshDueNs(_ now: UInt64) -> UInt64 { now &+ min(policy.idleNs, policy.activeNs) }

    /// A packet came for a flow that may be past its idle or active timeout (`meter`'s one
    /// test, or a closing flow's packet in `tcpControl`): if a deadline has come, the report
    /// it ends goes out first, and the packet starts the next: in the same entry after an
    /// active report (the connection's state kept), in a fresh one otherwise, as a new flow.
    @inline(never)
    mutating func timedOut(_ slot: Int, now: UInt64) {
        let entry = entries + slot
        let d = deadline(slot)
        guard d.atNs <= now else {
            // Early: the lower bound catches up with the deadline.
            entry.pointee.dueNs = d.atNs
            return
        }
        report(slot, reason: d.reason)
        if d.reason == .activeTimeout
            && policy.due(
                lastNs: entry.pointee.lastNs, firstNs: 0, closing: entry.pointee.closing, counted: false, now: now)
                == nil
        {
            restartReport(entry)
        } else {
            releaseApplication(entry)
            entry.pointee = FlowEntry.fresh(
                entry.pointee.key, now: now, dueNs: freshDueNs(now), serial: entry.pointee.serial, app: freshApp)
            flowsCreated &+= 1
        }
    }

    /// After an active report: the counts start again, the connection's state stays; its next
    /// active timeout runs from its next packet (`count`).
    @inline(__always)
    func restartReport(_ e: UnsafeMutablePointer<FlowEntry>) {
        e.pointee.packets = 0
        e.pointee.octets = 0
        e.pointee.tcpFlags = 0
        e.pointee.retransmitted = 0
        e.pointee.outOfOrder = 0
        e.pointee.dueNs =
            policy.deadline(lastNs: e.pointee.lastNs, firstNs: 0, closing: e.pointee.closing, counted: false).atNs
    }

    @inline(__always)
    mutating func report(_ slot: Int, reason: FlowEndReason) {
        guard let record = handedRecord(slot, reason: reason) else { return }
        guard pendingCount < Self.outboxCapacity else {
            recordsDropped &+= 1
            return
        }
        (outbox + pendingCount).initialize(to: record)
        pendingCount &+= 1
        counted(record, reason)
    }

    @inline(__always)
    mutating func release(_ slot: Int) {
        releaseApplication(entries + slot)
        tags[slot] = 0
        liveFlows &-= 1
    }

    /// The report of the entry in `slot`, or nil when it has counted nothing since the last one.
    @inline(__always)
    func record(_ slot: Int, reason: FlowEndReason) -> FlowRecord? {
        let e = entries[slot]
        guard e.packets > 0 else { return nil }
        var r = FlowRecord(
            key: e.key, packets: e.packets, octets: e.octets, firstNs: e.firstNs &+ wallOffsetNs,
            lastNs: e.lastNs &+ wallOffsetNs, ingressInterface: point.ingressInterface,
            egressInterface: point.egressInterface, tcpFlags: e.tcpFlags & TCPFlags.header,
            endReason: reason, direction: point.direction)
        if e.state & (FlowEntry.clientBit | FlowEntry.serverBit) != 0 { r.handshake = Self.handshake(e) }
        r.retransmittedPackets = e.retransmitted
        r.outOfOrderPackets = e.outOfOrder
        if e.app & FlowEntry.inspecting == 0 { r.application = e.app & FlowEntry.applicationMask }
        return r
    }

    /// A record handed on: counted by why it went and by its application (once, however many
    /// times a full receiver refused it before).
    @inline(__always)
    mutating func counted(_ r: borrowing FlowRecord, _ reason: FlowEndReason) {
        recordsByReason[Int(reason.rawValue)] &+= 1
        recordsByApplication[Int(r.application & 7)] &+= 1
    }

    /// The report of the entry in `slot` as it leaves the table: with its label's fields sent
    /// ahead on the detail ring, under the serial the record names. A record its receiver then
    /// refuses leaves its fields behind on the ring, where the receiver skips them by serial.
    @inline(__always)
    mutating func handedRecord(_ slot: Int, reason: FlowEndReason) -> FlowRecord? {
        guard var r = record(slot, reason: reason) else { return nil }
        if entries[slot].app & (FlowEntry.holdsSlot | FlowEntry.inspecting) == FlowEntry.holdsSlot {
            attachDetail(&r, entries + slot)
        }
        return r
    }

    @inline(never)
    mutating func attachDetail(_ r: inout FlowRecord, _ e: UnsafeMutablePointer<FlowEntry>) {
        // The ring reached by optional chaining: bound to a name (`guard let`), it was retained
        // and released for every labelled record.
        guard details != nil, let detail = label(of: e.pointee) else { return }
        lastDetailSerial = lastDetailSerial == .max ? 1 : lastDetailSerial &+ 1
        if details?.push(serial: lastDetailSerial, detail) == true {
            r.detailSerial = lastDetailSerial
        } else {
            detailsLost &+= 1
        }
    }

    /// The entry's handshake, as records and `show flows` carry it.
    static func handshake(_ e: FlowEntry) -> TCPHandshake {
        TCPHandshake(
            role: e.state & FlowEntry.clientBit != 0 ? .client : e.state & FlowEntry.serverBit != 0 ? .server : .none,
            synUs: e.synUs, ackUs: e.state & FlowEntry.sawACK != 0 ? e.ackUs : nil,
            dataUs: e.state & FlowEntry.sawData != 0 ? e.dataUs : nil)
    }

    /// Hands the records made while metering to `deliver`, in order, and empties the outbox.
    /// A record `deliver` refuses is lost; the return value counts them.
    @inline(__always)
    public mutating func drainPending(_ deliver: (borrowing FlowRecord) -> Bool) -> Int {
        var refused = 0
        for i in 0 ..< pendingCount where !deliver(outbox[i]) { refused += 1 }
        pendingCount = 0
        return refused
    }

    /// Looks at the next `slots` slots (wrapping) and reports those whose idle, active or close
    /// timeout has passed. Stops early, at the entry it could not hand over, when `deliver` refuses a
    /// record (the queue to the export thread is full): that entry stays and is retried next time.
    /// Returns the number of records delivered.
    @discardableResult
    public mutating func expire(now: UInt64, slots: Int, _ deliver: (borrowing FlowRecord) -> Bool) -> Int {
        var delivered = 0
        var remaining = min(slots, capacity)
        while remaining > 0 {
            let slot = scanCursor
            // A whole set at a time where it is empty (its eight tags, 32 bytes, all zero): most
            // of a large table is, and the sweep covers it once a second of the clock, which for
            // `flowtap read` is the capture's.
            if slot & (Self.ways - 1) == 0 && remaining >= Self.ways {
                let t = UnsafeRawPointer(tags + slot)
                if t.loadUnaligned(as: UInt64.self) | t.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | t.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                    | t.loadUnaligned(fromByteOffset: 24, as: UInt64.self) == 0
                {
                    scanCursor = slot + Self.ways == capacity ? 0 : slot + Self.ways
                    remaining -= Self.ways
                    continue
                }
            }
            remaining -= 1
            if tags[slot] != 0 {
                let d = deadline(slot)
                if d.atNs <= now {
                    if let r = handedRecord(slot, reason: d.reason) {
                        guard deliver(r) else { return delivered }
                        delivered += 1
                        counted(r, d.reason)
                    }
                    if d.reason != .activeTimeout { release(slot) } else { restartReport(entries + slot) }
                } else if d.atNs < entries[slot].dueNs {
                    // Timeouts made shorter (`flowtap set`) bring deadlines forward: the sweep
                    // takes each flow's lower bound down within a second of the change.
                    entries[slot].dueNs = d.atNs
                }
            }
            scanCursor = scanCursor + 1 == capacity ? 0 : scanCursor + 1
        }
        return delivered
    }

    /// Reports every flow with `reason` (shutdown: "forced end") and empties the table. Returns
    /// false when `deliver` refused a record; calling again resumes where it stopped. With
    /// ordered expiry, in the order of the flows' deadlines.
    public mutating func expireAll(reason: FlowEndReason, _ deliver: (borrowing FlowRecord) -> Bool) -> Bool {
        if ordered && newCount != 0 { enqueueNew(now: 0) }
        while let item = queue?.first {
            guard isCurrent(item) else {
                _ = queue?.popFirst()
                continue
            }
            let slot = Int(item.slot)
            if let r = handedRecord(slot, reason: reason) {
                guard deliver(r) else { return false }
                counted(r, reason)
            }
            _ = queue?.popFirst()
            release(slot)
        }
        for slot in 0 ..< capacity where tags[slot] != 0 {
            if let r = handedRecord(slot, reason: reason) {
                guard deliver(r) else { return false }
                counted(r, reason)
            }
            release(slot)
        }
        return true
    }
}

/// Ordered expiry (`ExpiryQueue`), for `flowtap read`.
extension FlowCache {
    @inline(__always)
    mutating func noteNew(_ slot: Int) {
        newSlots[newCount & 3] = UInt32(truncatingIfNeeded: slot)
        newCount = (newCount &+ 1) & 7
    }

    /// Gives the flows inserted since the last call their queue items (see `newSlots`). A slot
    /// whose flow has already ended is skipped.
    public mutating func enqueueNew(now: UInt64) {
        // No input reaches this: a frame inserts at most three flows (held fragments, an evicted
        // fragment entry, its own flow; inspection and expiry insert none), and with ordered
        // expiry (`flowtap read` only: the forwarder never calls this) every caller that inserts
        // (`meterCaptured`, `meterHeld`) calls this after its frame or entry; the count wraps
        // at 8 in `noteNew` rather than trap there.
        precondition(newCount <= 4, "more flows inserted between two calls than a frame can insert")
        for i in 0 ..< newCount where tags[Int(newSlots[i])] != 0 { enqueue(Int(newSlots[i]), now: now) }
        newCount = 0
    }

    /// Whether flows expire through `expireInOrder` (else through the sweep, `expire`).
    public var expiresInOrder: Bool { queue != nil }

    /// When the next flow may be due: a lower bound (`.max` without ordered expiry).
    @inlinable public var nextDeadlineNs: UInt64 { queue?.nextNs ?? .max }

    /// Gives the flow in `slot` a new serial and its item in the queue, at a lower bound of its
    /// deadline (a report with no packet yet may start its active timeout at its next packet,
    /// so no later than now + the active timeout).
    @inline(never)
    mutating func enqueue(_ slot: Int, now: UInt64) {
        let e = entries + slot
        nextSerial &+= 1
        e.pointee.serial = nextSerial
        let at = queueTime(e, now: now)
        queue?.push(ExpiryQueue.Item(atNs: at, serial: nextSerial, slot: UInt32(truncatingIfNeeded: slot)))
        if queue?.needsCompaction == true {
            let (tags, entries, capacity) = (tags, entries, capacity)
            queue?.compact { Self.isCurrent($0, tags: tags, entries: entries, capacity: capacity) }
        }
    }

    func queueTime(_ e: UnsafeMutablePointer<FlowEntry>, now: UInt64) -> UInt64 {
        let d = policy.deadline(
            lastNs: e.pointee.lastNs, firstNs: e.pointee.firstNs, closing: e.pointee.closing,
            counted: e.pointee.packets > 0)
        return e.pointee.packets > 0 ? d.atNs : min(d.atNs, ExpiryPolicy.adding(now, policy.activeNs))
    }

    /// Starts fetching what `isCurrent` and `due` read of `slot`: its tag and its entry's
    /// lines (an entry is 152 bytes, so three or four of them).
    @inline(__always)
    func prefetchEntry(_ slot: Int) {
        guard slot < capacity else { return }
        CacheHint.prefetch(tags + slot)
        let e = UnsafeRawPointer(entries + slot)
        CacheHint.prefetch(e)
        CacheHint.prefetch(e + 64)
        CacheHint.prefetch(e + 128)
        CacheHint.prefetch(e + MemoryLayout<FlowEntry>.size - 1)
    }

    /// Whether `item` is its flow's current one (see `ExpiryQueue`'s invariants).
    func isCurrent(_ item: ExpiryQueue.Item) -> Bool {
        Self.isCurrent(item, tags: tags, entries: entries, capacity: capacity)
    }

    static func isCurrent(
        _ item: ExpiryQueue.Item, tags: UnsafeMutablePointer<UInt32>, entries: UnsafeMutablePointer<FlowEntry>,
        capacity: Int
    ) -> Bool {
        let slot = Int(item.slot)
        return slot < capacity && tags[slot] != 0 && entries[slot].serial == item.serial
    }

    /// Reports, in the order of their deadlines, the flows whose deadline has come by `now`:
    /// ended (idle, close grace), or reported and kept (active timeout). A flow not yet due
    /// goes back in at its deadline. Stops, the flow kept, when `deliver` refuses a record.
    /// Returns the number of records delivered.
    @discardableResult
    public mutating func expireInOrder(now: UInt64, _ deliver: (borrowing FlowRecord) -> Bool) -> Int {
        if newCount != 0 { enqueueNew(now: now) }
        var delivered = 0
        while let item = queue?.first, item.atNs <= now {
            // The flows whose deadlines come next are out of the caches by now (written at their
            // last packet, seconds of capture ago): their tags and entries are fetched while
            // this one is reported, and this one's label while its record is made.
            queue?.forEachNext { prefetchEntry(Int($0)) }
            guard isCurrent(item) else {
                _ = queue?.popFirst()
                continue
            }
            let slot = Int(item.slot)
            let e = entries + slot
            if let label = label(of: e.pointee) {
                CacheHint.prefetch(label)
                CacheHint.prefetch(UnsafeRawPointer(label) + 64)
            }
            if let reason = due(slot, now: now) {
                if let r = handedRecord(slot, reason: reason) {
                    guard deliver(r) else { return delivered }
                    delivered += 1
                    counted(r, reason)
                }
                _ = queue?.popFirst()
                if reason != .activeTimeout {
                    release(slot)
                    continue
                }
                restartReport(e)
            } else {
                _ = queue?.popFirst()
            }
            let at = queueTime(e, now: now)
            queue?.push(ExpiryQueue.Item(atNs: at, serial: item.serial, slot: item.slot))
        }
        return delivered
    }
}

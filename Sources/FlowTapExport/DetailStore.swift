import FlowTapInspect
import FlowTapMeter
import Glibc

/// The application fields of records on their way through the export thread's joins, each
/// kept once, in a slot whose handle the record carries in `detailSerial` (the export thread's
/// own numbering, as records of several rings meet there). The fields are 816 bytes: a
/// dictionary of them copied them at every insert, lookup and removal, and with the copies on
/// the way to the collectors they were the largest part of what naming cost `read` (callgrind).
/// Here they are copied once off the ring and read in place until their record has gone.
///
/// One thread uses it (the export thread, or `read`'s one thread). Its state is behind one
/// pointer, so that a call costs no exclusivity check per field, as a class's stored variables
/// would. Invariants: `slots` holds `capacity` initialised values; `free` holds `freeCount`
/// handles; a handle h in 1...capacity is either among them or held by exactly one record
/// (`held[h - 1]`), and slot h - 1 then holds that record's fields.
public final class DetailStore: @unchecked Sendable {
    struct State {
        var slots: UnsafeMutablePointer<ApplicationDetail>
        var held: UnsafeMutablePointer<Bool>
        var free: UnsafeMutablePointer<UInt32>
        var capacity: Int
        var freeCount: Int
        /// The most slots the store may grow to (`Int.max` but in the tests, which reach the
        /// refusal of memory this way).
        var limit = Int.max
        /// Records that went on with their label alone: the store was full and the memory to
        /// double it was not there.
        var withoutRoom: UInt64 = 0
    }

    private let state: UnsafeMutablePointer<State>

    /// `limit`: the most slots the store may grow to; past it a record goes as when the memory
    /// is refused (the tests' way to that path: no test can make calloc fail alone).
    public init(capacity: Int = 1024, limit: Int = .max) {
        // At start, on the thread that sets the probe up, before the first frame is read: the
        // first slots' address space (1024 of them: 0.8 MB, mapped only as they are used). Its
        // two makers are `Pipeline` (an `ExportThread`'s default store, once per process, before
        // its forwarders start: in a handover's successor, while the predecessor still
        // forwards) and `CaptureRun` (before the capture's first packet). No frame, timing or
        // full table comes here; a store that fills grows in `allocate`, which does without the
        // memory rather than stop.
        guard let s = Self.make(max(1, capacity)) else {
            fatalError("out of memory at start for \(capacity) application field slots")
        }
        state = .allocate(capacity: 1)
        state.initialize(to: s)
        state.pointee.limit = limit
    }

    deinit {
        Self.release(state.pointee)
        state.deallocate()
    }

    /// Storage for `capacity` slots, every handle free (the lowest given first). The slots come
    /// zeroed from calloc, whose pages the kernel maps only when a slot is first written: all
    /// zeros is a value (no application, no fields; DetailStoreTests checks it). Initialising
    /// them wrote all 816 bytes of every slot at once: 13 MB at the 16 384 slots `read` of
    /// bench-read.sh's rich capture grew the store to (when the flows open at the end of the
    /// capture came all at once; `CaptureRun` hands them on a batch at a time now), a third of
    /// the memory writes that missed every cache with naming on (cachegrind), and its page
    /// faults. The flags come zeroed too (false). Nil when the memory is not there: every part
    /// from the C allocator, whose failure is an answer (Swift's `allocate` stops the process
    /// instead).
    private static func make(_ capacity: Int) -> State? {
        let slots = calloc(capacity, MemoryLayout<ApplicationDetail>.stride)
        let held = calloc(capacity, MemoryLayout<Bool>.stride)
        let handles = malloc(capacity * MemoryLayout<UInt32>.stride)
        guard let slots, let held, let handles else {
            Glibc.free(slots)
            Glibc.free(held)
            Glibc.free(handles)
            return nil
        }
        let s = State(
            slots: slots.bindMemory(to: ApplicationDetail.self, capacity: capacity),
            held: held.bindMemory(to: Bool.self, capacity: capacity),
            free: handles.bindMemory(to: UInt32.self, capacity: capacity), capacity: capacity, freeCount: capacity)
        for i in 0 ..< capacity { s.free[i] = UInt32(capacity - i) }
        return s
    }

    private static func release(_ s: State) {
        Glibc.free(s.slots)
        Glibc.free(s.held)
        Glibc.free(s.free)
    }

    /// Handles held: records with fields in the joins.
    public var count: Int { state.pointee.capacity - state.pointee.freeCount }

    /// Records whose fields found the store full and no memory to grow it: sent with their
    /// label alone.
    public var withoutRoom: UInt64 { state.pointee.withoutRoom }

    /// A free handle; the store doubles when none is left (records wait in the joins for at
    /// most their timeouts, so the count follows the flows that end in that time, and the
    /// joins' capacities bound it). 0 when it cannot double: a memory limit (ulimit -v, a
    /// unit's MemoryMax=) may refuse what the joins' capacities allow, and then the record goes
    /// on without its fields, counted, rather than the probe stop.
    private func allocate() -> UInt32 {
        if state.pointee.freeCount == 0 {
            let old = state.pointee
            guard old.capacity <= old.limit / 2, var grown = Self.make(old.capacity * 2) else {
                state.pointee.withoutRoom &+= 1
                return 0
            }
            grown.withoutRoom = old.withoutRoom
            grown.limit = old.limit
            // Every old slot is held: each one's bytes in use.
            for i in 0 ..< old.capacity { ApplicationDetail.copy(old.slots + i, to: grown.slots + i) }
            grown.held.update(from: old.held, count: old.capacity)
            // The old handles are all held: the new ones are those above them.
            grown.freeCount = old.capacity
            for i in 0 ..< old.capacity { grown.free[i] = UInt32(grown.capacity - i) }
            Self.release(old)
            state.pointee = grown
        }
        state.pointee.freeCount -= 1
        let handle = state.pointee.free[state.pointee.freeCount]
        state.pointee.held[Int(handle - 1)] = true
        return handle
    }

    /// The fields of the record that names `serial` on `ring`, moved here: their handle, or 0
    /// when they are not on the ring (it was full when the record left).
    public func take(from ring: DetailRing, serial: UInt32) -> UInt32 {
        let handle = allocate()
        guard handle != 0 else {
            // Off the ring all the same, so that it does not hold the ones after.
            _ = ring.take(serial: serial)
            return 0
        }
        if ring.take(serial: serial, into: state.pointee.slots + Int(handle - 1)) { return handle }
        release(handle)
        return 0
    }

    /// `detail` kept here: its handle.
    public func keep(_ detail: borrowing ApplicationDetail?) -> UInt32 {
        guard let detail = copy detail else { return 0 }
        let handle = allocate()
        guard handle != 0 else { return 0 }
        (state.pointee.slots + Int(handle - 1)).pointee = detail
        return handle
    }

    /// Where the fields of `handle` are, until it is released; nil for 0 or a handle this store
    /// did not give (a predecessor's).
    public func slot(_ handle: UInt32) -> UnsafeMutablePointer<ApplicationDetail>? {
        let s = state.pointee
        guard handle != 0, Int(handle) <= s.capacity, s.held[Int(handle - 1)] else { return nil }
        return s.slots + Int(handle - 1)
    }

    /// The fields of `handle` by value (a record leaving for a successor, the tests).
    public func value(_ handle: UInt32) -> ApplicationDetail? { slot(handle)?.pointee }

    /// The fields of `handle` by value, and its slot given back: a record that leaves the store's
    /// keeping (for a successor, or into a biflow record).
    public func remove(_ handle: UInt32) -> ApplicationDetail? {
        defer { release(handle) }
        return value(handle)
    }

    /// Gives the slot of `handle` back (its value stays until the slot is taken again).
    public func release(_ handle: UInt32) {
        let s = state.pointee
        guard handle != 0, Int(handle) <= s.capacity, s.held[Int(handle - 1)] else { return }
        s.held[Int(handle - 1)] = false
        s.free[s.freeCount] = handle
        state.pointee.freeCount += 1
    }
}

import FlowTapSend

/// Finished messages that wait to leave together, in one call of the transport's
/// `send(batch:lengths:count:)` (`MessageTransport.batchLimit`): copies, each in a slot of its
/// own with `UDPSender.headerRoom` bytes free before it, and the records each carries. One
/// `CollectorExporter`'s, touched only by its thread.
///
/// Invariants: `count <= capacity`; for i < `count`, message i is `lengths[i]` bytes (at most
/// the `messageBytes` given at init) at `bases[i]`, which is slot i's and never changes, and
/// carries `records[i]` records; `sinceNs` is when the first of them came.
struct MessageBatch: ~Copyable {
    let capacity: Int
    /// The largest message a slot holds.
    let messageBytes: Int
    private let storage: UnsafeMutableRawPointer
    let bases: UnsafeMutablePointer<UnsafeRawPointer>
    let lengths: UnsafeMutablePointer<Int>
    let records: UnsafeMutablePointer<Int>
    private(set) var count = 0
    /// Monotonic nanoseconds when the first message came.
    private(set) var sinceNs: UInt64 = 0

    /// Room for `capacity` messages of at most `messageBytes` each.
    init(capacity: Int, messageBytes: Int) {
        self.capacity = capacity
        self.messageBytes = messageBytes
        let slot = (UDPSender.headerRoom + messageBytes + 63) & ~63
        storage = .allocate(byteCount: max(1, slot * capacity), alignment: 64)
        bases = .allocate(capacity: capacity)
        lengths = .allocate(capacity: capacity)
        records = .allocate(capacity: capacity)
        for i in 0 ..< capacity {
            (bases + i).initialize(to: UnsafeRawPointer(storage + i * slot + UDPSender.headerRoom))
        }
        lengths.initialize(repeating: 0, count: capacity)
        records.initialize(repeating: 0, count: capacity)
    }

    deinit {
        storage.deallocate()
        bases.deallocate()
        lengths.deallocate()
        records.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == capacity }

    /// A copy of the `length` bytes at `message`, carrying `records`, in the next slot; false
    /// (nothing kept) when the batch is full or the message larger than a slot.
    mutating func append(_ message: UnsafeRawPointer, length: Int, records n: Int, nowNs: UInt64) -> Bool {
        guard count < capacity, length <= messageBytes else { return false }
        if count == 0 { sinceNs = nowNs }
        UnsafeMutableRawPointer(mutating: bases[count]).copyMemory(from: message, byteCount: length)
        lengths[count] = length
        records[count] = n
        count += 1
        return true
    }

    mutating func removeAll() { count = 0 }
}

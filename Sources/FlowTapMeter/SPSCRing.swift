import Synchronization

/// A hand-over from one thread (the only producer) to another (the only consumer): a bounded
/// single-producer single-consumer ring.
///
/// The producer never waits: `push` fails when the ring is full and the caller decides (retry
/// an expiry later, or count what it could not hand over as lost). Indices grow without
/// wrapping; their difference is the fill level.
public final class SPSCRing<Element>: @unchecked Sendable {
    public let capacity: Int
    fileprivate let mask: Int
    fileprivate let storage: UnsafeMutablePointer<Element>
    /// Next index the producer writes; published with release after the slot is written.
    fileprivate let head = Atomic<Int>(0)
    /// Next index the consumer reads; published with release after the slot is read.
    fileprivate let tail = Atomic<Int>(0)
    private let producerFinished = Atomic<Bool>(false)

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int) {
        var size = 1
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        storage = .allocate(capacity: size)
    }

    deinit { storage.deallocate() }

    /// Producer side. False when the ring is full.
    public func push(_ element: borrowing Element) -> Bool {
        let h = head.load(ordering: .relaxed)
        if h &- tail.load(ordering: .acquiring) == capacity { return false }
        (storage + (h & mask)).initialize(to: copy element)
        head.store(h &+ 1, ordering: .releasing)
        return true
    }

    /// Producer side: nothing will follow.
    public func finish() { producerFinished.store(true, ordering: .releasing) }

    /// Consumer side: true when the producer has finished and everything was taken.
    public var isDrained: Bool {
        producerFinished.load(ordering: .acquiring)
            && head.load(ordering: .acquiring) == tail.load(ordering: .relaxed)
    }

    public var count: Int { head.load(ordering: .acquiring) &- tail.load(ordering: .acquiring) }

    /// Consumer side: hands up to `limit` elements to `body`, oldest first. Returns how many.
    @discardableResult
    public func drain(limit: Int = .max, _ body: (borrowing Element) -> Void) -> Int {
        let t = tail.load(ordering: .relaxed)
        let available = head.load(ordering: .acquiring) &- t
        let n = min(available, limit)
        for i in 0 ..< n { body(storage[(t &+ i) & mask]) }
        tail.store(t &+ n, ordering: .releasing)
        return n
    }
}

extension SPSCRing where Element: BitwiseCopyable {
    /// Consumer side: where the oldest element is, valid until `dropFirst`; nil when there is
    /// none. For reading a large element in place rather than by copy.
    public func peekSlot() -> UnsafePointer<Element>? {
        let t = tail.load(ordering: .relaxed)
        guard head.load(ordering: .acquiring) != t else { return nil }
        return UnsafePointer(storage + (t & mask))
    }

    /// Producer side: `fill` writes the next element in place (it must set all of it). False,
    /// and `fill` not called, when the ring is full.
    public func push(filling fill: (UnsafeMutablePointer<Element>) -> Void) -> Bool {
        let h = head.load(ordering: .relaxed)
        if h &- tail.load(ordering: .acquiring) == capacity { return false }
        fill(storage + (h & mask))
        head.store(h &+ 1, ordering: .releasing)
        return true
    }

    /// Consumer side: drops the oldest element (there must be one: `peek` returned it).
    public func dropFirst() {
        tail.store(tail.load(ordering: .relaxed) &+ 1, ordering: .releasing)
    }
}

/// A forwarding thread's finished records, on their way to the export thread.
public typealias RecordRing = SPSCRing<FlowRecord>

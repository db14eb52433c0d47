/// `flowtap read`'s expiry: each live flow's next deadline in a binary min-heap, so that a flow
/// is reported as soon as the capture's clock passes its deadline, and flows due together are
/// reported in the order of their deadlines (then of their serials), never in the order the
/// hash seed gave their slots. The forwarder sweeps its table instead (`FlowCache.expire`):
/// it needs no order, and a sweep's cost per frame is fixed.
///
/// Invariants: every live flow has exactly one item whose serial is its entry's, and that item's
/// time is no later than the flow's deadline (a lower bound: a packet only moves a deadline
/// later; what moves it earlier, a FIN or RST, gives the flow a new serial and a new item).
/// Items of flows that ended, or whose serial changed, are stale: dropped when they come up,
/// or all at once when stale ones could make the heap more than twice the table
/// (`compact`), so it holds at most twice the table's slots plus a margin.
@usableFromInline
struct ExpiryQueue {
    struct Item {
        var atNs: UInt64
        var serial: UInt32
        var slot: UInt32
    }

    private var items: [Item] = []
    let compactAt: Int

    init(capacity: Int) {
        compactAt = 2 * capacity + 1024
        items.reserveCapacity(capacity)
    }

    var count: Int { items.count }

    /// The earliest item's time; `.max` when empty.
    @usableFromInline var nextNs: UInt64 { items.first?.atNs ?? .max }

    var first: Item? { items.first }

    /// The slots of the items that may come up after the first (the first's children in the
    /// heap: one of them takes its place when it is popped), 0, 1 or 2 of them.
    @inline(__always)
    func forEachNext(_ body: (UInt32) -> Void) {
        items.withUnsafeBufferPointer { heap in
            if heap.count > 1 { body(heap[1].slot) }
            if heap.count > 2 { body(heap[2].slot) }
        }
    }

    @inline(__always)
    static func before(_ a: Item, _ b: Item) -> Bool {
        a.atNs < b.atNs || (a.atNs == b.atNs && a.serial < b.serial)
    }

    /// Sifts with a hole rather than swaps: each level moves one item.
    mutating func push(_ item: Item) {
        items.append(item)
        items.withUnsafeMutableBufferPointer { heap in
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard Self.before(item, heap[parent]) else { break }
                heap[i] = heap[parent]
                i = parent
            }
            heap[i] = item
        }
    }

    mutating func popFirst() -> Item? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty { items.withUnsafeMutableBufferPointer { Self.siftDown(last, from: 0, in: $0) } }
        return top
    }

    /// Puts `item` at `start` or below it, moving smaller children up.
    private static func siftDown(_ item: Item, from start: Int, in heap: UnsafeMutableBufferPointer<Item>) {
        var i = start
        let n = heap.count
        while true {
            var child = 2 * i + 1
            guard child < n else { break }
            if child + 1 < n && before(heap[child + 1], heap[child]) { child += 1 }
            guard before(heap[child], item) else { break }
            heap[i] = heap[child]
            i = child
        }
        heap[i] = item
    }

    /// Whether stale items should be dropped now (see `compact`).
    var needsCompaction: Bool { items.count >= compactAt }

    /// Keeps the items `isLive` accepts and restores the heap order.
    mutating func compact(_ isLive: (Item) -> Bool) {
        items.removeAll { !isLive($0) }
        items.withUnsafeMutableBufferPointer { heap in
            var i = heap.count / 2
            while i > 0 {
                i -= 1
                Self.siftDown(heap[i], from: i, in: heap)
            }
        }
    }
}

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
    var nextNs: UInt64 { items.first?.atNs ?? .max }

    var first: Item? { items.first }

    @inline(__always)
    static func before(_ a: Item, _ b: Item) -> Bool {
        a.atNs < b.atNs || (a.atNs == b.atNs && a.serial < b.serial)
    }

    mutating func push(_ item: Item) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func popFirst() -> Item? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var least = i
            if l < n && Self.before(items[l], items[least]) { least = l }
            if r < n && Self.before(items[r], items[least]) { least = r }
            if least == i { return }
            items.swapAt(i, least)
            i = least
        }
    }

    /// Whether stale items should be dropped now (see `compact`).
    var needsCompaction: Bool { items.count >= compactAt }

    /// Keeps the items `isLive` accepts and restores the heap order.
    mutating func compact(_ isLive: (Item) -> Bool) {
        items.removeAll { !isLive($0) }
        var i = items.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }
}

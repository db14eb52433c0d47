import FlowTapDecode

/// The arrival order of records that wait in one of the export thread's joins (`BiflowAssembler`,
/// `LatencyJoin`) for their reverse: keys with their arrival times, oldest first. An entry whose
/// record has left its table already (paired, or replaced) stays until it is passed, and the
/// owner's `isWaiting` tells them apart, so leaving a table is O(1).
///
/// Bounded: once `compactAt` entries are held, those whose record left are dropped; the consumed
/// front is dropped once it is most of the array (amortised O(1) per record).
struct ArrivalQueue {
    private var order: [(key: FlowKey, arrived: UInt64)] = []
    private var head = 0
    let compactAt: Int

    init(compactAt: Int) { self.compactAt = max(2, compactAt) }

    /// Entries held, those of records that left included (until compacted).
    var count: Int { order.count - head }

    mutating func append(_ key: FlowKey, arrived: UInt64, isWaiting: (FlowKey, UInt64) -> Bool) {
        order.append((key, arrived))
        if order.count - head >= compactAt {
            order = order[head...].filter { isWaiting($0.key, $0.arrived) }
            head = 0
        }
    }

    /// Takes the entries that arrived `holdNs` or more before `now`, oldest first.
    mutating func expire(now: UInt64, holdNs: UInt64, _ body: (FlowKey, UInt64) -> Void) {
        while head < order.count {
            let (key, arrived) = order[head]
            guard now &- arrived >= holdNs && now >= arrived else { break }
            head += 1
            body(key, arrived)
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// Takes every entry, oldest first, and empties the queue.
    mutating func removeAll(_ body: (FlowKey, UInt64) -> Void) {
        for (key, arrived) in order[head...] { body(key, arrived) }
        order.removeAll()
        head = 0
    }
}

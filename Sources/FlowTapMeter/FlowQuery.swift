import FlowTapDecode

/// A question to a forwarder's cache: the top `limit` live flows by `order` among those
/// `matches` accepts. Answered a slice of the table at a time between frames (`FlowQueryScan`),
/// so a query never holds up forwarding for a whole table's scan.
public struct FlowQuery: Sendable {
    public var order: FlowOrder
    public var limit: Int
    public var matches: @Sendable (FlowKey) -> Bool

    public init(order: FlowOrder, limit: Int, matches: @escaping @Sendable (FlowKey) -> Bool) {
        self.order = order
        self.limit = max(1, min(limit, 10_000))
        self.matches = matches
    }
}

/// A query under way: where the scan is, and the best flows so far in a min-heap on the score.
public struct FlowQueryScan {
    let query: FlowQuery
    var cursor = 0
    var heap: [(score: Double, flow: FlowSnapshot)] = []
    /// Slots per housekeeping: 2048 entries took under a millisecond on a full table (8192 held
    /// a ping up to 4 ms).
    public static let slotsPerStep = 2048

    public init(_ query: FlowQuery) { self.query = query }

    /// Whether a flow of `score` would join the best so far.
    func admits(_ score: Double) -> Bool { heap.count < query.limit || score > heap[0].score }

    mutating func offer(_ flow: FlowSnapshot, score: Double) {
        if heap.count < query.limit {
            heap.append((score, flow))
            var i = heap.count - 1
            while i > 0 && heap[(i - 1) / 2].score > heap[i].score { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        } else if score > heap[0].score {
            heap[0] = (score, flow)
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < heap.count && heap[l].score < heap[smallest].score { smallest = l }
                if r < heap.count && heap[r].score < heap[smallest].score { smallest = r }
                if smallest == i { break }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
    }

    /// The answer, best first.
    public var result: [FlowSnapshot] { heap.sorted { $0.score > $1.score }.map(\.flow) }
}

extension FlowCache {
    /// Scans the next slice of the table for `scan`; true once the whole table is covered.
    public func step(_ scan: inout FlowQueryScan, nowNs: UInt64) -> Bool {
        let end = min(capacity, scan.cursor + FlowQueryScan.slotsPerStep)
        for slot in scan.cursor ..< end where tags[slot] != 0 && entries[slot].packets > 0 {
            let e = entries[slot]
            guard scan.query.matches(e.key) else { continue }
            var flow = FlowSnapshot(
                key: e.key, packets: e.packets, octets: e.octets, firstNs: e.firstNs &+ wallOffsetNs,
                lastNs: e.lastNs &+ wallOffsetNs, tcpFlags: e.tcpFlags & TCPFlags.header,
                handshake: Self.handshake(e), retransmitted: e.retransmitted, outOfOrder: e.outOfOrder)
            let score = scan.query.order.score(flow, nowNs: nowNs &+ wallOffsetNs)
            guard scan.admits(score) else { continue }
            // The name only for a flow that joins the answer: it is the one String made here.
            let (application, detail) = application(of: e)
            flow.application = application
            flow.name = detail?.name ?? ""
            scan.offer(flow, score: score)
        }
        scan.cursor = end
        return end == capacity
    }

    /// Reports every flow `matches` accepts ("forced end") and removes it: `flowtap expire
    /// --match`. False when `deliver` refused a record; calling again resumes.
    public mutating func expire(where matches: (FlowKey) -> Bool, _ deliver: (borrowing FlowRecord) -> Bool) -> Bool {
        for slot in 0 ..< capacity where tags[slot] != 0 && matches(entries[slot].key) {
            if let r = handedRecord(slot, reason: .forcedEnd) {
                guard deliver(r) else { return false }
                counted(r, .forcedEnd)
            }
            release(slot)
        }
        return true
    }
}

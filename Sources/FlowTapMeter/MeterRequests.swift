import FlowTapDecode
import Synchronization

/// What the control socket asks of the forwarders, read by each at its housekeeping (between
/// frames, at least every 50 ms): nothing on the frame path looks at it.
public final class MeterRequests: Sendable {
    /// Bumped by each `flowtap expire`: each forwarder exports the flows of every request once.
    private let expiries = Atomic<UInt64>(0)
    /// Seconds, set by `flowtap set`; 0 until then.
    private let idleTimeout = Atomic<Int>(0)
    private let activeTimeout = Atomic<Int>(0)

    public init() {}

    /// The latest expiries, by number, with the flows each asks for (nil: every flow): two
    /// requests between a forwarder's housekeepings are both carried out, not the second alone.
    private let expiryFilters = Mutex<[(number: UInt64, matches: (@Sendable (FlowKey) -> Bool)?)]>([])
    static let keptExpiries = 64
    /// Bumped by each `show flows`; the query itself waits beside it.
    private let queries = Atomic<UInt64>(0)
    private let query = Mutex<FlowQuery?>(nil)

    /// `flowtap expire`: every flow, or those `matches` accepts.
    public func requestExpiry(matching matches: (@Sendable (FlowKey) -> Bool)? = nil) {
        expiryFilters.withLock { list in
            // Numbered under the lock, so that the list and the count agree.
            let number = expiries.add(1, ordering: .releasing).newValue
            list.append((number, matches))
            if list.count > Self.keptExpiries { list.removeFirst(list.count - Self.keptExpiries) }
        }
    }
    public var expiryRequests: UInt64 { expiries.load(ordering: .acquiring) }

    /// The flows the requests after `done` up to `latest` ask for, together; nil: every flow
    /// (one of them asks for every flow, or a forwarder so far behind that some are no longer
    /// kept: more than it was asked, never less).
    public func expiryMatches(after done: UInt64, through latest: UInt64) -> (@Sendable (FlowKey) -> Bool)? {
        let pending = expiryFilters.withLock { list in list.filter { $0.number > done && $0.number <= latest } }
        guard UInt64(pending.count) == latest &- done else { return nil }
        var filters: [@Sendable (FlowKey) -> Bool] = []
        for request in pending {
            guard let matches = request.matches else { return nil }
            filters.append(matches)
        }
        let all = filters
        return { key in all.contains { $0(key) } }
    }

    /// `flowtap show flows`: returns the query's number, which the answers carry.
    public func ask(_ q: FlowQuery) -> UInt64 {
        query.withLock { $0 = q }
        return queries.add(1, ordering: .releasing).newValue
    }
    public var queryRequests: UInt64 { queries.load(ordering: .acquiring) }
    public var currentQuery: FlowQuery? { query.withLock { $0 } }

    public func setTimeouts(idle: Int?, active: Int?) {
        if let idle { idleTimeout.store(idle, ordering: .releasing) }
        if let active { activeTimeout.store(active, ordering: .releasing) }
    }

    /// `current` with the timeouts `flowtap set` changed.
    public func policy(from current: ExpiryPolicy) -> ExpiryPolicy {
        var p = current
        let idle = idleTimeout.load(ordering: .acquiring), active = activeTimeout.load(ordering: .acquiring)
        if idle > 0 { p.idleNs = UInt64(idle) * 1_000_000_000 }
        if active > 0 { p.activeNs = UInt64(active) * 1_000_000_000 }
        return p
    }
}

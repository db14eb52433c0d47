import FlowTapDecode
import Synchronization

/// What the control socket asks of the forwarders, read by each at its housekeeping (between
/// frames, at least every 50 ms): nothing on the frame path looks at it.
public final class MeterRequests: Sendable {
    /// Bumped by `flowtap expire --all`: each forwarder exports every flow once per bump.
    private let expiries = Atomic<UInt64>(0)
    /// Seconds, set by `flowtap set`; 0 until then.
    private let idleTimeout = Atomic<Int>(0)
    private let activeTimeout = Atomic<Int>(0)

    public init() {}

    /// The flows the latest expiry asks for; nil: every flow.
    private let expiryFilter = Mutex<(@Sendable (FlowKey) -> Bool)?>(nil)
    /// Bumped by each `show flows`; the query itself waits beside it.
    private let queries = Atomic<UInt64>(0)
    private let query = Mutex<FlowQuery?>(nil)

    /// `flowtap expire`: every flow, or those `matches` accepts.
    public func requestExpiry(matching matches: (@Sendable (FlowKey) -> Bool)? = nil) {
        expiryFilter.withLock { $0 = matches }
        expiries.add(1, ordering: .releasing)
    }
    public var expiryRequests: UInt64 { expiries.load(ordering: .acquiring) }
    public var expiryMatches: (@Sendable (FlowKey) -> Bool)? { expiryFilter.withLock { $0 } }

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

import Synchronization

/// What the control socket asks of the forwarders, read by each at its housekeeping (between
/// frames, at least every 50 ms): nothing on the frame path looks at it.
public final class ControlRequests: Sendable {
    /// Bumped by `flowtap expire --all`: each forwarder exports every flow once per bump.
    private let expiries = Atomic<UInt64>(0)
    /// Seconds, set by `flowtap set`; 0 until then.
    private let idleTimeout = Atomic<Int>(0)
    private let activeTimeout = Atomic<Int>(0)

    public init() {}

    public func requestExpiry() { expiries.add(1, ordering: .releasing) }
    public var expiryRequests: UInt64 { expiries.load(ordering: .acquiring) }

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

/// When a flow's report is due, other than by TCP FIN/RST or eviction (decided while metering).
public struct ExpiryPolicy: Sendable, Equatable {
    public var idleMs: UInt64
    public var activeMs: UInt64

    public init(idleTimeoutSeconds: Int, activeTimeoutSeconds: Int) {
        idleMs = UInt64(idleTimeoutSeconds) * 1000
        activeMs = UInt64(activeTimeoutSeconds) * 1000
    }

    /// The reason to report the entry now, or nil. Idle wins over active: a flow that went
    /// quiet is over, whereas an active report keeps the entry.
    @inline(__always)
    public func due(lastMs: UInt64, reportStartMs: UInt64, now: UInt64) -> FlowEndReason? {
        if now &- lastMs >= idleMs && now >= lastMs { return .idleTimeout }
        if now &- reportStartMs >= activeMs && now >= reportStartMs { return .activeTimeout }
        return nil
    }
}

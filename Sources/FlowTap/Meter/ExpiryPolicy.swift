/// When a flow's report is due, other than by TCP FIN/RST or eviction (decided while metering).
public struct ExpiryPolicy: Sendable, Equatable {
    public var idleNs: UInt64
    public var activeNs: UInt64

    public init(idleTimeoutSeconds: Int, activeTimeoutSeconds: Int) {
        idleNs = UInt64(idleTimeoutSeconds) * 1_000_000_000
        activeNs = UInt64(activeTimeoutSeconds) * 1_000_000_000
    }

    /// The reason to report the entry now, or nil. Idle wins over active: a flow that went
    /// quiet is over, whereas an active report keeps the entry.
    @inline(__always)
    public func due(lastNs: UInt64, reportStartNs: UInt64, now: UInt64) -> FlowEndReason? {
        if now &- lastNs >= idleNs && now >= lastNs { return .idleTimeout }
        if now &- reportStartNs >= activeNs && now >= reportStartNs { return .activeTimeout }
        return nil
    }
}

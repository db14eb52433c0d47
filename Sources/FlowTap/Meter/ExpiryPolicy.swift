/// When a flow's report is due, other than by eviction (decided while metering).
public struct ExpiryPolicy: Sendable, Equatable {
    public var idleNs: UInt64
    public var activeNs: UInt64
    /// `--tcp-close-timeout`: how long a TCP flow stays after its FIN or RST, counted from its
    /// last packet, so that the closing ACKs and a retransmitted FIN join it. 0: it is
    /// reported at the FIN or RST itself.
    public var closeNs: UInt64

    /// The default close grace: the ACK of the peer's FIN follows it by one round trip, a lost
    /// FIN is retransmitted after 0.2, 0.6, 1.4 and 3 s (Linux's RTO floor, doubling), and
    /// every packet after the FIN starts the grace again; 5 s covers all that on any path short
    /// of a satellite hop, and still hands the record on well before the 15 s idle timeout.
    public static let defaultCloseSeconds = 5

    public init(idleTimeoutSeconds: Int, activeTimeoutSeconds: Int, closeTimeoutSeconds: Int = ExpiryPolicy.defaultCloseSeconds) {
        idleNs = UInt64(idleTimeoutSeconds) * 1_000_000_000
        activeNs = UInt64(activeTimeoutSeconds) * 1_000_000_000
        closeNs = UInt64(max(0, closeTimeoutSeconds)) * 1_000_000_000
    }

    /// The reason to report the entry now, or nil. A closed TCP flow whose grace has passed
    /// ends ("end of flow detected"); idle wins over active: a flow that went quiet is over,
    /// whereas an active report keeps the entry.
    @inline(__always)
    public func due(lastNs: UInt64, reportStartNs: UInt64, closing: Bool, now: UInt64) -> FlowEndReason? {
        if closing && now &- lastNs >= min(closeNs, idleNs) && now >= lastNs { return .endOfFlowDetected }
        if now &- lastNs >= idleNs && now >= lastNs { return .idleTimeout }
        if now &- reportStartNs >= activeNs && now >= reportStartNs { return .activeTimeout }
        return nil
    }
}

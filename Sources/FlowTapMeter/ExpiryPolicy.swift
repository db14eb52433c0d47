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

    public init(
        idleTimeoutSeconds: Int, activeTimeoutSeconds: Int, closeTimeoutSeconds: Int = ExpiryPolicy.defaultCloseSeconds
    ) {
        idleNs = UInt64(idleTimeoutSeconds) * 1_000_000_000
        activeNs = UInt64(activeTimeoutSeconds) * 1_000_000_000
        closeNs = UInt64(max(0, closeTimeoutSeconds)) * 1_000_000_000
    }

    /// When the entry's report falls due and why: the earliest of its deadlines. A closed TCP
    /// flow ends its close grace after its last packet ("end of flow detected"), any flow its
    /// idle timeout after its last packet; a report that has counted packets is due its active
    /// timeout after its first. On a tie the flow is over (close, idle) rather than reported
    /// and kept (active). Saturating: a time near the clock's end never wraps.
    @inline(__always)
    public func deadline(lastNs: UInt64, firstNs: UInt64, closing: Bool, counted: Bool) -> (
        reason: FlowEndReason, atNs: UInt64
    ) {
        // A closed flow's grace never outlasts the idle timeout.
        let reason = closing ? FlowEndReason.endOfFlowDetected : .idleTimeout
        let at = Self.adding(lastNs, closing ? min(closeNs, idleNs) : idleNs)
        if counted {
            let active = Self.adding(firstNs, activeNs)
            if active < at { return (.activeTimeout, active) }
        }
        return (reason, at)
    }

    /// The reason to report the entry at `now`, or nil while none of its deadlines has come.
    @inline(__always)
    public func due(lastNs: UInt64, firstNs: UInt64, closing: Bool, counted: Bool, now: UInt64) -> FlowEndReason? {
        let d = deadline(lastNs: lastNs, firstNs: firstNs, closing: closing, counted: counted)
        return d.atNs <= now ? d.reason : nil
    }

    @inline(__always)
    public static func adding(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}

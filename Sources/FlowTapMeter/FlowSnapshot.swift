import FlowTapDecode
import FlowTapInspect

/// One live flow as `flowtap show flows` lists it: the cache entry's counts since its last
/// report, with wall-clock times.
public struct FlowSnapshot: Sendable {
    public var key: FlowKey
    public var packets: UInt64
    public var octets: UInt64
    public var firstNs: UInt64
    public var lastNs: UInt64
    public var tcpFlags: UInt16
    /// This direction's view of its TCP connection's start; the control server joins it with
    /// the reverse flow's to show the connection's latency.
    public var handshake = TCPHandshake()
    /// Retransmitted and out-of-order data segments since the last report (`TCPSequence`).
    public var retransmitted: UInt32 = 0
    public var outOfOrder: UInt32 = 0
    /// What the flow's first bytes named (`--app-fields on`), and its server name, HTTP host or
    /// DNS question ("" when it has none).
    public var application = ApplicationID.none
    public var name = ""
}

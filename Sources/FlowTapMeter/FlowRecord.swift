import FlowTapDecode

/// One finished report of a flow, as the meter hands it to the export thread: the counts since the
/// previous report of the same flow (delta counts), and why this report was made.
public struct FlowRecord: Sendable, Equatable {
    public var key: FlowKey
    public var packets: UInt64
    public var octets: UInt64
    /// Wall-clock nanoseconds since the Unix epoch of the first and last packet counted here.
    public var firstNs: UInt64
    public var lastNs: UInt64
    public var ingressInterface: UInt32
    public var egressInterface: UInt32
    /// OR of tcpControlBits over the packets counted here.
    public var tcpFlags: UInt16
    public var endReason: FlowEndReason
    /// flowDirection (IE 61): 0 ingress, 1 egress.
    public var direction: UInt8
    /// When the flow's first bytes gave fields: the serial they went ahead under on the detail
    /// ring (`RecordDetail`; 0: none), which the export thread turns into its own handle. In
    /// the padding after `direction`.
    public var detailSerial: UInt32 = 0
    /// With `--biflow`, the reverse direction's counts (RFC 5103); zero in uniflow records.
    public var reversePackets: UInt64 = 0
    public var reverseOctets: UInt64 = 0
    public var reverseFirstNs: UInt64 = 0
    public var reverseLastNs: UInt64 = 0
    public var reverseTCPFlags: UInt16 = 0
    /// The flow's application (`ApplicationID.rawValue`; 0 when none was recognised), in the
    /// padding after `reverseTCPFlags`.
    public var application: UInt8 = 0
    /// This direction's view of its TCP connection's start (role none for other flows).
    public var handshake = TCPHandshake()
    /// The connection's latency, once the export thread has joined both directions (`LatencyJoin`).
    public var latency = TCPLatency()
    /// Data segments counted here that were retransmissions or out of order (`TCPSequence`),
    /// and with `--biflow` the reverse direction's.
    public var retransmittedPackets: UInt32 = 0
    public var outOfOrderPackets: UInt32 = 0
    public var reverseRetransmittedPackets: UInt32 = 0
    public var reverseOutOfOrderPackets: UInt32 = 0

    public init(
        key: FlowKey, packets: UInt64, octets: UInt64, firstNs: UInt64, lastNs: UInt64,
        ingressInterface: UInt32, egressInterface: UInt32, tcpFlags: UInt16,
        endReason: FlowEndReason, direction: UInt8
    ) {
        self.key = key
        self.packets = packets
        self.octets = octets
        self.firstNs = firstNs
        self.lastNs = lastNs
        self.ingressInterface = ingressInterface
        self.egressInterface = egressInterface
        self.tcpFlags = tcpFlags
        self.endReason = endReason
        self.direction = direction
    }

    /// Takes `other`'s counts as this record's reverse counts.
    public mutating func setReverse(from other: FlowRecord) {
        reversePackets = other.packets
        reverseOctets = other.octets
        reverseFirstNs = other.firstNs
        reverseLastNs = other.lastNs
        reverseTCPFlags = other.tcpFlags
        reverseRetransmittedPackets = other.retransmittedPackets
        reverseOutOfOrderPackets = other.outOfOrderPackets
    }

    /// The record seen from the other side: reverse counts in the forward places, so that a
    /// reverse field encodes through its forward twin.
    public var reversed: FlowRecord {
        var r = self
        r.packets = reversePackets
        r.octets = reverseOctets
        r.firstNs = reverseFirstNs
        r.lastNs = reverseLastNs
        r.tcpFlags = reverseTCPFlags
        return r
    }
}

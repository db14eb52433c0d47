/// What the decoder learned from one frame: everything the meter needs, and nothing else.
public struct PacketFacts: Sendable {
    public var key = FlowKey()
    public var kind: FrameKind = .malformed
    /// Why the frame could not be metered, when `kind == .malformed`.
    public var issue: DecodeIssue = .none
    /// IP total length (IPv4 total length, or 40 + IPv6 payload length): what
    /// octetDeltaCount counts. For non-IP frames, the bytes after the Ethernet and VLAN headers.
    public var octets: UInt32 = 0
    /// TCP header bits 4–15 (flags, with NS), as tcpControlBits (RFC 9565) wants them, and
    /// `TCPFlags.payload` when the segment carries data.
    public var tcpFlags: UInt16 = 0
    /// What sets the packet apart from the common case (`Marks`): all zero for a whole,
    /// unfragmented packet, so that the meter tests one byte.
    public var marks: UInt8 = 0
    /// The IP identification of a fragment (IPv4: 16 bits; IPv6 fragment header: 32 bits).
    public var fragmentID: UInt32 = 0
    /// Offsets from the frame start of the IP header and of the end of the TCP/UDP header (0
    /// when there is none): what a GSO super-frame repeats in front of every segment.
    public var ipOffset: UInt16 = 0
    public var transportEnd: UInt16 = 0
    /// A TCP segment's sequence number and payload length (read only with `TCPFlags.payload`).
    public var tcpSequence: UInt32 = 0
    public var tcpPayload: UInt32 = 0

    @inlinable public init() {}

    public enum Marks {
        /// An IP fragment other than the first: it has no transport header, so no ports.
        public static let laterFragment: UInt8 = 0x01
        /// The first fragment of a fragmented packet (offset 0, more fragments follow).
        public static let firstFragment: UInt8 = 0x02
        /// A capture's packet cut by its snap length: its IP length is more than the bytes
        /// captured (counted by the header's length; flags only from what was captured).
        public static let snapped: UInt8 = 0x04
    }

    @inlinable public var isLaterFragment: Bool { marks & Marks.laterFragment != 0 }
    public var isFirstFragment: Bool { marks & Marks.firstFragment != 0 }
    @inlinable public var isSnapped: Bool { marks & Marks.snapped != 0 }

    /// TCP FIN or RST: the flow has ended (flowEndReason "end of Flow detected").
    @inline(__always) @inlinable
    public var endsFlow: Bool { tcpFlags & (TCPFlags.fin | TCPFlags.rst) != 0 }
}

import FlowTapDecode

/// What one direction of a TCP connection showed of its start, as its flow's entry keeps it:
/// the export thread joins the two directions' records (`LatencyJoin`) to make `TCPLatency`. Times are
/// microseconds of the meter's clock (CLOCK_MONOTONIC in the forwarders, one clock for both
/// directions) modulo 2^32: only differences mean anything, up to 35 minutes.
///
/// The client's direction is the one that carried a SYN without ACK, the server's the one that
/// carried the SYN/ACK. Retransmitted handshake segments move the times to the latest one, so a
/// lost SYN or SYN/ACK does not count its retransmission timeout as delay.
public struct TCPHandshake: Sendable, Equatable {
    public enum Role: UInt8, Sendable {
        case none = 0, client = 1, server = 2
    }

    public var role: Role = .none
    /// The client's latest SYN, or the server's latest SYN/ACK.
    public var synUs: UInt32 = 0
    /// The client's ACK that completed the handshake (its first ACK without SYN after the SYN).
    public var ackUs: UInt32?
    /// The direction's first segment with payload.
    public var dataUs: UInt32?

    public init() {}

    public init(role: Role, synUs: UInt32, ackUs: UInt32?, dataUs: UInt32?) {
        self.role = role
        self.synUs = synUs
        self.ackUs = ackUs
        self.dataUs = dataUs
    }
}

extension TCPHandshake {
    /// The handshake's times (`TCPHandshake`): a SYN makes this direction the client and a
    /// SYN/ACK the server (the latest of each counts); then the client's first ACK without SYN
    /// and each side's first payload. Watching ends once those came, or at FIN or RST.
    @inline(__always)
    static func time(_ entry: UnsafeMutablePointer<FlowEntry>, tcpFlags: UInt16, now: UInt64) {
        let synACK = tcpFlags & (TCPFlags.syn | TCPFlags.ack)
        let state = entry.pointee.state
        let us = UInt32(truncatingIfNeeded: now / 1000)
        if synACK == TCPFlags.syn && state & (FlowEntry.sawACK | FlowEntry.sawData) == 0 {
            entry.pointee.synUs = us
            entry.pointee.state = state & FlowEntry.closingBit | FlowEntry.clientBit | FlowEntry.watching
        } else if synACK == TCPFlags.syn | TCPFlags.ack && state & FlowEntry.sawData == 0 {
            entry.pointee.synUs = us
            entry.pointee.state = state & FlowEntry.closingBit | FlowEntry.serverBit | FlowEntry.watchData
        } else if state & FlowEntry.watching != 0 {
            if synACK == TCPFlags.ack && state & FlowEntry.watchACK != 0 {
                entry.pointee.ackUs = us
                entry.pointee.state = entry.pointee.state & ~FlowEntry.watchACK | FlowEntry.sawACK
            }
            if tcpFlags & TCPFlags.payload != 0 && state & FlowEntry.watchData != 0 {
                entry.pointee.dataUs = us
                entry.pointee.state = entry.pointee.state & ~FlowEntry.watchData | FlowEntry.sawData
            }
        }
        if tcpFlags & (TCPFlags.fin | TCPFlags.rst) != 0 { entry.pointee.state &= ~FlowEntry.watching }
    }
}

/// Per-connection latency as an inline probe sees it, in nanoseconds; 0 where the packets that
/// define it were not seen (mid-connection start, one direction routed elsewhere).
///
/// - server network delay: SYN to SYN/ACK, the probe to the server and back;
/// - client network delay: SYN/ACK to the client's ACK, the probe to the client and back;
/// - application latency: the client's first data to the server's first data after it (0 when
///   the server spoke first, as SMTP and SSH servers do).
public struct TCPLatency: Sendable, Equatable {
    public var clientNs: UInt64 = 0
    public var serverNs: UInt64 = 0
    public var applicationNs: UInt64 = 0

    public init() {}

    public init(clientNs: UInt64, serverNs: UInt64, applicationNs: UInt64) {
        self.clientNs = clientNs
        self.serverNs = serverNs
        self.applicationNs = applicationNs
    }

    /// From the two directions of one connection; all zero unless one is the client and the
    /// other the server. A difference that would be negative (clocks of two threads read in the
    /// other order, a reordered handshake) is left 0.
    public init(_ a: TCPHandshake, _ b: TCPHandshake) {
        let (client, server): (TCPHandshake, TCPHandshake)
        switch (a.role, b.role) {
        case (.client, .server): (client, server) = (a, b)
        case (.server, .client): (client, server) = (b, a)
        default: return
        }
        func between(_ start: UInt32?, _ end: UInt32?) -> UInt64 {
            guard let start, let end else { return 0 }
            let us = Int32(bitPattern: end &- start)
            return us > 0 ? UInt64(us) * 1000 : 0
        }
        serverNs = between(client.synUs, server.synUs)
        clientNs = between(server.synUs, client.ackUs)
        applicationNs = between(client.dataUs, server.dataUs)
    }

    public var isEmpty: Bool { clientNs == 0 && serverNs == 0 && applicationNs == 0 }
}

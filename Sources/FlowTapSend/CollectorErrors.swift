import FlowTapBase
import Glibc

/// ICMP errors the network sends back for our export datagrams ("port unreachable": nothing
/// listens on the collector's port). They are sent through a raw socket, which the kernel
/// gives no error for; but it matches the ICMP error's quoted UDP 4-tuple to a UDP socket with
/// the same addresses and ports, so one is bound to our source address and port, connected to
/// the collector, and set to IP_RECVERR: the errors wait on its error queue. Made at setup
/// (before the privilege drop); read with recvmsg(2) from the export thread.
public final class CollectorErrors: Sendable {
    let socket: Descriptor

    /// nil when the socket cannot be had (say, another process holds our source port): export
    /// works as before, without this report.
    public init?(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
        let v6 = destination.isIPv6
        do {
            socket = try Descriptor(socket: v6 ? AF_INET6 : AF_INET, type: SOCK_DGRAM, nonBlocking: true)
            try? socket.setOption(
                level: v6 ? CInt(IPPROTO_IPV6) : CInt(IPPROTO_IP), name: v6 ? IPV6_RECVERR : IP_RECVERR, 1)
            // Nothing is meant to arrive here: keep no room for it.
            try? socket.setOption(level: SOL_SOCKET, name: SO_RCVBUF, 4096)
            // Two collectors on one port share our source port: each connected socket still gets
            // only its own collector's errors.
            try? socket.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
            try socket.bind(SocketAddress(source, port: sourcePort))
            try socket.connect(SocketAddress(destination, port: destinationPort))
        } catch {
            return nil
        }
    }

    /// The socket a previous flowtap made for the same collector (a handover, a restart).
    public init(adopting fd: CInt) { socket = Descriptor(adopting: fd) }

    public var descriptor: CInt { socket.descriptor }

    /// The name a successor knows this collector's socket by: the 4-tuple, hashed.
    public static func name(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16)
        -> String
    {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(source.withPort(sourcePort))>\(destination.withPort(destinationPort))".utf8 {
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
        }
        return "icmp-" + String(h, radix: 16)
    }

    /// One ICMP error: a line of text, and the start of the export message it refused.
    public struct Report: Sendable {
        public var text: String
        public var quoted: [UInt8]
    }

    /// The next queued error, or nil when there is none.
    public func next() -> Report? {
        guard let error = socket.nextQueuedError() else { return nil }
        let offender = error.offender
        let from: String
        switch offender.count {
        case 4:
            from =
                IPv4Address(
                    UInt32(offender[0]) << 24 | UInt32(offender[1]) << 16 | UInt32(offender[2]) << 8
                        | UInt32(offender[3])
                ).description
        case 16: from = IPv6Address(bytes: offender).description
        default: from = "?"
        }
        let text =
            error.errno == ECONNREFUSED
            ? "ICMP port unreachable from \(from): nothing listens on the collector's port"
            : "ICMP type \(error.icmpType) code \(error.icmpCode) from \(from): \(SetupError.text(error.errno))"
        return Report(text: text, quoted: error.quoted)
    }
}

import FlowTapBase
import Glibc

/// Sends finished messages to one collector through an ordinary UDP socket: `flowtap read`'s
/// sender, which needs no privilege (the kernel writes the IP and UDP headers, from a port of
/// its choosing). Batched: the exporter hands it up to `batchLimit` messages at once, which
/// leave in one sendmmsg(2), so that the system call, and the wake-up of a collector on the
/// same host, is paid once for them rather than once each (docs/performance.md). Paced: a
/// collector on the same host reads from a socket buffer of a few hundred datagrams, and a
/// reader of a file outruns it; at most `messagesPerSecond` leave, the sender sleeping once it
/// is 1 ms ahead: bursts of at most two batches at the default rate, well within such a
/// buffer, and a sleep a batch rather than a message (0: unpaced). No pacing makes up for a
/// collector that is not scheduled: its socket buffer must hold what arrives meanwhile
/// (nfcapd -B).
public struct DatagramSender: MessageTransport {
    public let socket: Descriptor
    public let destination: IPAddress
    private let target: SocketAddress
    private let intervalNs: UInt64
    private var nextAt: UInt64 = 0
    static let leadNs: UInt64 = 1_000_000

    public init(destination: IPAddress, port: UInt16, messagesPerSecond: Int) throws(SetupError) {
        do {
            socket = try Descriptor(socket: destination.isIPv6 ? AF_INET6 : AF_INET, type: SOCK_DGRAM)
        } catch {
            throw SetupError(
                "cannot open a UDP socket toward \(destination.withPort(port)): \(error)", fix: "check the address")
        }
        self.destination = destination
        target = SocketAddress(destination, port: port)
        intervalNs = messagesPerSecond > 0 ? 1_000_000_000 / UInt64(messagesPerSecond) : 0
    }

    /// The IP and UDP headers the kernel adds, which the message size must leave room for.
    public var headerLength: Int { destination.isIPv6 ? 48 : 28 }

    /// 16 messages (24 KB at the default MTU) a system call: within the pacing's burst, and
    /// a small part of any collector's socket buffer.
    public var batchLimit: Int { 16 }

    public mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        pace(messages: 1)
        let n = SystemCall.sendTo(socket.descriptor, payload, length, target)
        return n < 0 ? n : 0
    }

    public mutating func send(
        batch bases: UnsafePointer<UnsafeRawPointer>, lengths: UnsafePointer<Int>, count: Int
    ) -> Int {
        pace(messages: count)
        return SystemCall.sendDatagrams(socket.descriptor, bases, lengths, count, target)
    }

    /// Sleeps while the sender is more than `leadNs` ahead of the rate, then books `messages`.
    private mutating func pace(messages: Int) {
        guard intervalNs > 0 else { return }
        let now = MonotonicClock.nowNs()
        if nextAt > now + Self.leadNs {
            var pause = timespec(
                tv_sec: Int(((nextAt - now) / 1_000_000_000)), tv_nsec: Int((nextAt - now) % 1_000_000_000))
            var left = timespec()
            while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
        }
        nextAt = max(nextAt, now) + intervalNs * UInt64(messages)
    }
}

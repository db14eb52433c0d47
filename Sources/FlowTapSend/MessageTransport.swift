import Glibc

/// Where an exporter hands finished messages: `send` gets a message with `UDPSender.headerRoom`
/// bytes free in front of it and returns 0 or -errno.
public protocol MessageTransport {
    /// IP + UDP header bytes this transport puts in front of a message (limits the message size).
    var headerLength: Int { get }
    mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int
    /// Messages this transport takes in one call of `send(batch:lengths:count:)`: the exporter
    /// holds finished messages until it has as many (or they have waited long enough), so that
    /// they leave in one system call. 1: every message is sent as it is finished.
    var batchLimit: Int { get }
    /// The `count` messages (at most `batchLimit`) at `bases`, each with `UDPSender.headerRoom`
    /// bytes free in front of it: how many were sent, from the first (fewer than `count` when
    /// the transport stopped at one), or -errno when none was.
    mutating func send(batch bases: UnsafePointer<UnsafeRawPointer>, lengths: UnsafePointer<Int>, count: Int) -> Int
}

extension MessageTransport {
    public var batchLimit: Int { 1 }

    /// One message at a time.
    public mutating func send(
        batch bases: UnsafePointer<UnsafeRawPointer>, lengths: UnsafePointer<Int>, count: Int
    ) -> Int {
        for i in 0 ..< count {
            let rc = send(payload: UnsafeMutableRawPointer(mutating: bases[i]), length: lengths[i])
            if rc != 0 { return i > 0 ? i : rc }
        }
        return count
    }
}

import Glibc

/// Where an exporter hands finished messages: `send` gets a message with `UDPSender.headerRoom`
/// bytes free in front of it and returns 0 or -errno.
public protocol MessageTransport {
    /// IP + UDP header bytes this transport puts in front of a message (limits the message size).
    var headerLength: Int { get }
    mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int
}

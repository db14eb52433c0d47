import Glibc
import SystemPackage

/// An owned socket: made at setup, closed when its owner goes. Every socket call but the data
/// path's sendto goes through it, with EINTR retried and a failure thrown as swift-system's
/// `Errno`, so that callers say what failed in their own words. `descriptor` is for the calls
/// that take it (poll, sendto, recvmsg) while the owner lives.
public final class Socket: Sendable {
    public let descriptor: CInt

    /// socket(2): CLOEXEC always; non-blocking when asked.
    public init(family: CInt, type: __socket_type, protocol proto: CInt = 0, nonBlocking: Bool = false) throws(Errno) {
        let flags = Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        descriptor = try SystemCall.setup { Glibc.socket(family, Int32(type.rawValue) | flags, proto) }
    }

    /// Takes ownership of a descriptor another call made (accept).
    public init(adopting descriptor: CInt) { self.descriptor = descriptor }

    deinit { SystemCall.close(descriptor) }

    /// setsockopt(2) of an int option.
    public func setOption(level: CInt, name: CInt, _ value: CInt) throws(Errno) {
        var v = value
        _ = try SystemCall.setup { setsockopt(descriptor, level, name, &v, socklen_t(MemoryLayout<CInt>.size)) }
    }

    public func bind(_ address: SocketAddress) throws(Errno) {
        _ = try SystemCall.setup { address.withSockaddr { Glibc.bind(descriptor, $0, $1) } }
    }

    public func connect(_ address: SocketAddress) throws(Errno) {
        _ = try SystemCall.setup { address.withSockaddr { Glibc.connect(descriptor, $0, $1) } }
    }

    public func listen(backlog: CInt) throws(Errno) {
        _ = try SystemCall.setup { Glibc.listen(descriptor, backlog) }
    }

    /// getsockname(2).
    public func localAddress() throws(Errno) -> SocketAddress {
        var address = SocketAddress()
        _ = try SystemCall.setup { address.withMutableSockaddr { getsockname(descriptor, $0, $1) } }
        return address
    }

    /// One datagram to `address`: the bytes sent, or the error.
    public func send(_ bytes: [UInt8], to address: SocketAddress, flags: CInt = 0) throws(Errno) -> Int {
        Int(try SystemCall.setup {
            CInt(bytes.withUnsafeBytes { b in address.withSockaddr { Glibc.sendto(descriptor, b.baseAddress, b.count, flags, $0, $1) } })
        })
    }

    /// write(2) until every byte is written.
    public func write(all bytes: [UInt8]) throws(Errno) {
        var sent = 0
        while sent < bytes.count {
            sent += Int(try SystemCall.setup { CInt(bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + sent, $0.count - sent) }) })
        }
    }

    /// read(2) until the peer closes.
    public func readToEnd() throws(Errno) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Int(try SystemCall.setup { CInt(buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }) })
            if n == 0 { return out }
            out += buffer.prefix(n)
        }
    }
}

import CFlowTapLinux
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

    /// One message with descriptors (SCM_RIGHTS), to `address` on an unconnected datagram
    /// socket or to the peer when nil. The descriptors stay open here: the receiver gets copies.
    public func send(_ bytes: [UInt8], descriptors: [CInt], to address: SocketAddress? = nil) throws(Errno) {
        let rc = bytes.withUnsafeBytes { b in
            descriptors.withUnsafeBufferPointer { fds in
                if let address {
                    return address.withSockaddr { sa, length in
                        cft_send_with_fds(descriptor, b.baseAddress, b.count, fds.baseAddress, CInt(fds.count), sa, length)
                    }
                }
                return cft_send_with_fds(descriptor, b.baseAddress, b.count, fds.baseAddress, CInt(fds.count), nil, 0)
            }
        }
        if rc < 0 { throw Errno(rawValue: -rc) }
        if Int(rc) != bytes.count { throw Errno.messageTooLong }
    }

    /// One message of at most `capacity` bytes and the descriptors it carried, now owned by the
    /// caller (close-on-exec). Empty bytes and no descriptor: the peer closed.
    public func receive(capacity: Int) throws(Errno) -> (bytes: [UInt8], descriptors: [CInt]) {
        var bytes = [UInt8](repeating: 0, count: capacity)
        var fds = [CInt](repeating: -1, count: Int(CFT_MAX_PASSED_FDS))
        var count: CInt = 0
        let rc = bytes.withUnsafeMutableBytes { b in
            fds.withUnsafeMutableBufferPointer { cft_receive_with_fds(descriptor, b.baseAddress, b.count, $0.baseAddress, &count) }
        }
        if rc < 0 { throw Errno(rawValue: -rc) }
        return (Array(bytes.prefix(Int(rc))), Array(fds.prefix(Int(count))))
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

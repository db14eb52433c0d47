import CFlowTapLinux
import Glibc
import SystemPackage

/// The socket calls of an owned descriptor, each through `SystemCall` with a failure thrown as
/// swift-system's `Errno`.
extension Descriptor {
    /// socket(2): CLOEXEC always; non-blocking when asked.
    public convenience init(
        socket family: CInt, type: __socket_type, protocol proto: CInt = 0, nonBlocking: Bool = false
    ) throws(Errno) {
        let flags = Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        self.init(adopting: try SystemCall.setup { Glibc.socket(family, Int32(type.rawValue) | flags, proto) })
    }

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
        Int(
            try SystemCall.setup {
                CInt(
                    bytes.withUnsafeBytes { b in
                        address.withSockaddr { Glibc.sendto(descriptor, b.baseAddress, b.count, flags, $0, $1) }
                    })
            })
    }

    /// One message with descriptors (SCM_RIGHTS), to `address` on an unconnected datagram
    /// socket or to the peer when nil. The descriptors stay open here: the receiver gets copies.
    public func send(_ bytes: [UInt8], descriptors: [CInt], to address: SocketAddress? = nil) throws(Errno) {
        let rc = bytes.withUnsafeBytes { b in
            descriptors.withUnsafeBufferPointer { fds in
                if let address {
                    return address.withSockaddr { sa, length in
                        cft_send_with_fds(
                            descriptor, b.baseAddress, b.count, fds.baseAddress, CInt(fds.count), sa, length)
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
            fds.withUnsafeMutableBufferPointer {
                cft_receive_with_fds(descriptor, b.baseAddress, b.count, $0.baseAddress, &count)
            }
        }
        if rc < 0 { throw Errno(rawValue: -rc) }
        return (Array(bytes.prefix(Int(rc))), Array(fds.prefix(Int(count))))
    }

    /// read(2) until the peer closes.
    public func readToEnd() throws(Errno) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Int(
                try SystemCall.setup {
                    CInt(buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) })
                })
            if n == 0 { return out }
            out += buffer.prefix(n)
        }
    }

    /// One error from the error queue of a socket with IP_RECVERR or IPV6_RECVERR
    /// (recvmsg(2) with MSG_ERRQUEUE, not waiting): nil when none is queued.
    public func nextQueuedError() -> QueuedError? {
        var e: CInt = 0, type: CInt = 0, code: CInt = 0, length: CInt = 0, quotedLength: CInt = 0
        var offender = [UInt8](repeating: 0, count: 16)
        var quoted = [UInt8](repeating: 0, count: 64)
        guard cft_read_icmp_error(descriptor, &e, &type, &code, &offender, &length, &quoted, &quotedLength) == 1 else {
            return nil
        }
        return QueuedError(
            errno: e, icmpType: type, icmpCode: code, offender: Array(offender.prefix(Int(max(0, length)))),
            quoted: Array(quoted.prefix(Int(max(0, quotedLength)))))
    }
}

/// What the kernel queued for an ICMP error (struct sock_extended_err): the errno it stands
/// for, the ICMP type and code, the address that sent it (4 or 16 bytes), and the start of the
/// datagram it quotes (the UDP payload, up to 64 bytes).
public struct QueuedError: Sendable {
    public var errno: CInt
    public var icmpType: CInt
    public var icmpCode: CInt
    public var offender: [UInt8]
    public var quoted: [UInt8]
}

import Glibc

/// A socket address of a family flowtap uses (IPv4, IPv6, a Unix path or abstract name), kept
/// as a sockaddr_storage and its length: the one place a sockaddr is built, rebound to the C
/// type a call takes, and read back.
public struct SocketAddress: @unchecked Sendable {
    private var storage = sockaddr_storage()
    public private(set) var length: socklen_t = 0

    /// An IP address and port (for a raw IPv6 socket the port names a protocol: give 0).
    public init(_ address: IPAddress, port: UInt16) {
        switch address {
        case .v4(let a):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr = in_addr(s_addr: a.value.bigEndian)
            set(sa)
        case .v6(let a):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: a.bytes) }
            set(sa)
        }
    }

    /// The wildcard address of a family (AF_INET or AF_INET6) and a port.
    public init(anyOf family: CInt, port: UInt16) {
        self.init(
            family == AF_INET6 ? .v6(IPv6Address(bytes: [UInt8](repeating: 0, count: 16))) : .v4(IPv4Address(0)),
            port: port)
    }

    /// A Unix socket: an absolute path, or an abstract name written with a leading "@" (as
    /// systemd's NOTIFY_SOCKET does); nil when it is neither or does not fit.
    public init?(unixPath path: String) {
        let bytes = Array(path.utf8)
        var sa = sockaddr_un()
        guard bytes.count < MemoryLayout.size(ofValue: sa.sun_path),
            bytes.first == UInt8(ascii: "/") || bytes.first == UInt8(ascii: "@")
        else { return nil }
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if bytes.first == UInt8(ascii: "@") { raw[0] = 0 } // abstract namespace
        }
        set(sa)
        // A path's length counts its terminating zero; an abstract name's does not.
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == UInt8(ascii: "@") ? 0 : 1))
    }

    /// A copy of an address the C library handed back (getaddrinfo's ai_addr).
    public init(copying address: UnsafePointer<sockaddr>, length: socklen_t) {
        let n = min(Int(length), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: n)) }
        self.length = socklen_t(n)
    }

    /// Room for any address, for getsockname(2) to fill.
    init() { length = socklen_t(MemoryLayout<sockaddr_storage>.size) }

    private mutating func set<T>(_ value: T) {
        withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: value) { dst.copyMemory(from: $0) } }
        length = socklen_t(MemoryLayout<T>.size)
    }

    public var family: CInt { CInt(storage.ss_family) }

    /// The IP address, for the IPv4 and IPv6 families.
    public var ipAddress: IPAddress? {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: .v4(IPv4Address(UInt32(bigEndian: raw.load(as: sockaddr_in.self).sin_addr.s_addr)))
            case AF_INET6: .v6(IPv6Address(raw: raw.load(as: sockaddr_in6.self).sin6_addr))
            default: nil
            }
        }
    }

    /// The port, for the IPv4 and IPv6 families (0 for others).
    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            case AF_INET6: UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            default: 0
            }
        }
    }

    /// What the socket `fd` is bound to (getsockname(2)), or nil.
    public static func local(of fd: CInt) -> SocketAddress? {
        var address = SocketAddress()
        let rc = address.withMutableSockaddr { getsockname(fd, $0, $1) }
        return rc == 0 ? address : nil
    }

    /// `body` with the address as the sockaddr pointer and length a socket call takes.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { try body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    /// `body` with room the kernel writes an address and its length into.
    mutating func withMutableSockaddr<R>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> R)
        -> R
    {
        var n = length
        let r = withUnsafeMutableBytes(of: &storage) {
            body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &n)
        }
        length = n
        return r
    }
}

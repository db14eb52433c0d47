import Glibc
import SystemPackage

/// socket(AF_INET, SOCK_RAW, IPPROTO_RAW) with IP_HDRINCL: flowtap writes the IPv4 and UDP
/// headers itself. Non-blocking, so a full socket buffer is an error to count, never a wait.
public struct RawSocket: ~Copyable {
    public let descriptor: FileDescriptor

    public static func openIPv4() throws(SetupError) -> RawSocket {
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                        CInt(IPPROTO_RAW))
        if fd < 0 {
            let e = errno
            if e == EPERM || e == EACCES { throw .permission("open a raw socket for export", capability: "CAP_NET_RAW") }
            throw SetupError("cannot open a raw IPv4 socket: \(SetupError.text(e))", fix: "check the kernel supports raw sockets")
        }
        var on: CInt = 1
        if setsockopt(fd, CInt(IPPROTO_IP), IP_HDRINCL, &on, socklen_t(MemoryLayout<CInt>.size)) < 0 {
            let e = errno
            close(fd)
            throw SetupError("cannot set IP_HDRINCL on the export socket: \(SetupError.text(e))", fix: "check the kernel supports raw sockets")
        }
        return RawSocket(descriptor: FileDescriptor(rawValue: fd))
    }

    deinit { try? descriptor.close() }

    /// The address the kernel would pick as source toward `destination`: connect(2) a UDP
    /// socket (no packet is sent) and read getsockname(2).
    public static func sourceAddress(toward destination: IPv4Address, port: UInt16) throws(SetupError) -> IPv4Address {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw SetupError("cannot open a UDP socket to find the source address: \(SetupError.text(errno))", fix: "give --source ADDR")
        }
        defer { close(fd) }
        var sa = destination.socketAddress(port: port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc < 0 {
            throw SetupError("no route to collector \(destination): \(SetupError.text(errno))",
                             fix: "add a route toward it in this namespace ('ip route'), or check the address")
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return IPv4Address(UInt32(bigEndian: local.sin_addr.s_addr))
    }
}

/// Sends finished messages to one collector through the raw socket, wrapped in the IPv4 and
/// UDP headers it builds in the room left in front of each message.
public struct IPv4UDPSender: Sendable {
    /// Bytes an encoder must leave free before a message: IPv4 (20) + UDP (8).
    public static let headerRoom = 28

    public let socket: CInt
    public let source: IPv4Address
    public let destination: IPv4Address
    public let sourcePort: UInt16
    public let destinationPort: UInt16
    private var nextID: UInt16

    public init(socket: CInt, source: IPv4Address, sourcePort: UInt16, destination: IPv4Address, destinationPort: UInt16) {
        self.socket = socket
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        nextID = UInt16(truncatingIfNeeded: getpid())
    }

    /// Writes the IPv4 header (DF set, TTL 64, with its checksum) and the UDP header (with its
    /// checksum over the pseudo-header) into the 28 bytes before `payload`.
    public static func writeHeaders(before payload: UnsafeMutableRawPointer, payloadLength: Int,
                                    source: IPv4Address, sourcePort: UInt16,
                                    destination: IPv4Address, destinationPort: UInt16, id: UInt16) {
        let ip = payload - headerRoom
        let udp = payload - 8
        let udpLength = 8 + payloadLength
        ip.put16(0x4500, at: 0)                  // version 4, IHL 5, TOS 0
        ip.put16(UInt16(20 + udpLength), at: 2)
        ip.put16(id, at: 4)
        ip.put16(0x4000, at: 6)                  // DF: a raw socket never fragments anyway
        ip.put16(0x4011, at: 8)                  // TTL 64, protocol UDP
        ip.put16(0, at: 10)
        ip.put32(source.value, at: 12)
        ip.put32(destination.value, at: 16)
        ip.put16(InternetChecksum.ipv4Header(UnsafeRawBufferPointer(start: ip, count: 20)), at: 10)
        udp.put16(sourcePort, at: 0)
        udp.put16(destinationPort, at: 2)
        udp.put16(UInt16(udpLength), at: 4)
        udp.put16(0, at: 6)
        let sum = InternetChecksum.udp(source: source, destination: destination,
                                       datagram: UnsafeRawBufferPointer(start: udp, count: udpLength))
        udp.put16(sum, at: 6)
    }

    /// sendto(2) of the message at `payload`; 0 or -errno.
    public mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        Self.writeHeaders(before: payload, payloadLength: length, source: source, sourcePort: sourcePort,
                          destination: destination, destinationPort: destinationPort, id: nextID)
        nextID &+= 1
        let total = Self.headerRoom + length
        let n = SystemCall.sendTo(socket, payload - Self.headerRoom, total, destination.socketAddress(port: destinationPort))
        return n < 0 ? n : 0
    }
}

import FlowTapBase
import Glibc
import SystemPackage

/// The export sockets: socket(AF_INET or AF_INET6, SOCK_RAW, IPPROTO_RAW), one per family in
/// use. With IPPROTO_RAW the kernel expects the IP header from us (IP_HDRINCL, implied for
/// IPv6), so flowtap writes the IP and UDP headers itself. Non-blocking, so a full socket
/// buffer is an error to count, never a wait. Closed when the owner goes.
public final class RawSockets: Sendable {
    /// nil where the family is not used.
    let ipv4: Socket?
    let ipv6: Socket?

    /// `inherited`: raw sockets a previous flowtap opened (with their privilege), taken
    /// instead of opening new ones.
    public init(ipv4: Bool, ipv6: Bool, inherited: (ipv4: CInt?, ipv6: CInt?) = (nil, nil)) throws(SetupError) {
        if ipv4 { self.ipv4 = if let fd = inherited.ipv4 { Socket(adopting: fd) } else { try Self.open(ipv6: false) } } else { self.ipv4 = nil }
        if ipv6 { self.ipv6 = if let fd = inherited.ipv6 { Socket(adopting: fd) } else { try Self.open(ipv6: true) } } else { self.ipv6 = nil }
        if !ipv4, let fd = inherited.ipv4 { SystemCall.close(fd) }
        if !ipv6, let fd = inherited.ipv6 { SystemCall.close(fd) }
    }

    /// The open sockets, by family, for a successor.
    public var descriptors: (ipv4: CInt?, ipv6: CInt?) { (ipv4?.descriptor, ipv6?.descriptor) }

    /// The descriptor for `address`'s family, -1 when that family is not used; valid while
    /// this object lives.
    public func descriptor(for address: IPAddress) -> CInt { (address.isIPv6 ? ipv6 : ipv4)?.descriptor ?? -1 }

    static func open(ipv6: Bool) throws(SetupError) -> Socket {
        let socket: Socket
        do {
            socket = try Socket(family: ipv6 ? AF_INET6 : AF_INET, type: SOCK_RAW, protocol: CInt(IPPROTO_RAW), nonBlocking: true)
        } catch {
            if error == .notPermitted || error == .permissionDenied { throw .permission("open a raw socket for export", capability: "CAP_NET_RAW") }
            throw SetupError("cannot open a raw \(ipv6 ? "IPv6" : "IPv4") socket: \(error)",
                             fix: ipv6 ? "check that IPv6 is enabled (sysctl net.ipv6.conf.all.disable_ipv6)" : "check the kernel supports raw sockets")
        }
        if !ipv6 {
            do { try socket.setOption(level: CInt(IPPROTO_IP), name: IP_HDRINCL, 1) } catch {
                throw SetupError("cannot set IP_HDRINCL on the export socket: \(error)", fix: "check the kernel supports raw sockets")
            }
        }
        return socket
    }

    /// Refuses a `--source` that is not an address of this host (in this namespace): bind(2) of
    /// a UDP socket to it fails with EADDRNOTAVAIL. A raw socket would send from any address,
    /// so without this check flowtap could be told to forge another host's export.
    public static func checkLocal(_ address: IPAddress) throws(SetupError) {
        guard let socket = try? Socket(family: address.isIPv6 ? AF_INET6 : AF_INET, type: SOCK_DGRAM) else { return }
        do { try socket.bind(SocketAddress(address, port: 0)) } catch where error == .addressNotAvailable {
            throw SetupError("--source \(address) is not an address of this host",
                             fix: "give one of the addresses 'ip addr' shows in flowtap's namespace, or leave --source out to use the route's")
        } catch {}
    }

    /// The address the kernel would pick as source toward `destination`: connect(2) a UDP
    /// socket (no packet is sent) and read getsockname(2).
    public static func sourceAddress(toward destination: IPAddress, port: UInt16) throws(SetupError) -> IPAddress {
        let socket: Socket
        do { socket = try Socket(family: destination.isIPv6 ? AF_INET6 : AF_INET, type: SOCK_DGRAM) } catch {
            throw SetupError("cannot open a UDP socket to find the source address toward \(destination): \(error)",
                             fix: "give --source ADDR")
        }
        do {
            try socket.connect(SocketAddress(destination, port: port))
            if let source = try socket.localAddress().ipAddress { return source }
            throw Errno.addressFamilyNotSupported
        } catch {
            throw SetupError("no route to collector \(destination): \(error)",
                             fix: "add a route toward it in this namespace ('ip route'), or check the address")
        }
    }
}

/// Where an exporter hands finished messages: `send` gets a message with `UDPSender.headerRoom`
/// bytes free in front of it and returns 0 or -errno.
public protocol MessageTransport {
    /// IP + UDP header bytes this transport puts in front of a message (limits the message size).
    var headerLength: Int { get }
    mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int
}

/// Sends finished messages to one collector through a raw socket, wrapped in the IP and UDP
/// headers it builds in the room left in front of each message.
public struct UDPSender: MessageTransport, Sendable {
    /// Bytes an encoder must leave free before a message: IPv6 (40) + UDP (8); IPv4 uses 28.
    public static let headerRoom = 48

    public let socket: CInt
    public let source: IPAddress
    public let destination: IPAddress
    public let sourcePort: UInt16
    public let destinationPort: UInt16
    private var nextID: UInt16
    /// Where sendto(2) sends: the collector (for a raw IPv6 socket sin6_port names a protocol,
    /// so it is left 0 there).
    private let target: SocketAddress

    /// `source` and `destination` must be of one family.
    public init(socket: CInt, source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
        // No input reaches this: ExportWiring takes the source of the collector's own family
        // (configured per family, or the route's toward that collector).
        precondition(source.isIPv6 == destination.isIPv6, "source and collector of different families")
        self.socket = socket
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        target = SocketAddress(destination, port: destination.isIPv6 ? 0 : destinationPort)
        nextID = UInt16(truncatingIfNeeded: getpid())
    }

    /// IP + UDP header bytes for this sender's family.
    public var headerLength: Int { destination.isIPv6 ? 48 : 28 }

    /// Writes the IPv4 header (DF set, TTL 64, with its checksum) and the UDP header (with its
    /// checksum over the pseudo-header) into the 28 bytes before `payload`.
    public static func writeIPv4Headers(before payload: UnsafeMutableRawPointer, payloadLength: Int,
                                        source: IPv4Address, sourcePort: UInt16,
                                        destination: IPv4Address, destinationPort: UInt16, id: UInt16) {
        let ip = payload - 28
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
        let udp = writeUDPHeader(before: payload, payloadLength: payloadLength, sourcePort: sourcePort, destinationPort: destinationPort)
        udp.put16(InternetChecksum.udp(source: source, destination: destination,
                                       datagram: UnsafeRawBufferPointer(start: udp, count: udpLength)), at: 6)
    }

    /// Writes the IPv6 header (hop limit 64) and the UDP header, whose checksum IPv6 makes
    /// mandatory, into the 48 bytes before `payload`.
    public static func writeIPv6Headers(before payload: UnsafeMutableRawPointer, payloadLength: Int,
                                        source: IPv6Address, sourcePort: UInt16,
                                        destination: IPv6Address, destinationPort: UInt16) {
        let ip = payload - 48
        let udpLength = 8 + payloadLength
        ip.put32(0x6000_0000, at: 0)             // version 6, traffic class 0, flow label 0
        ip.put16(UInt16(udpLength), at: 4)
        ip.storeBytes(of: UInt8(17), toByteOffset: 6, as: UInt8.self)
        ip.storeBytes(of: UInt8(64), toByteOffset: 7, as: UInt8.self)
        source.bytes.withUnsafeBytes { (ip + 8).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        destination.bytes.withUnsafeBytes { (ip + 24).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        let udp = writeUDPHeader(before: payload, payloadLength: payloadLength, sourcePort: sourcePort, destinationPort: destinationPort)
        udp.put16(InternetChecksum.udp(source: source, destination: destination,
                                       datagram: UnsafeRawBufferPointer(start: udp, count: udpLength)), at: 6)
    }

    private static func writeUDPHeader(before payload: UnsafeMutableRawPointer, payloadLength: Int,
                                       sourcePort: UInt16, destinationPort: UInt16) -> UnsafeMutableRawPointer {
        let udp = payload - 8
        udp.put16(sourcePort, at: 0)
        udp.put16(destinationPort, at: 2)
        udp.put16(UInt16(8 + payloadLength), at: 4)
        udp.put16(0, at: 6)
        return udp
    }

    /// sendto(2) of the message at `payload` (with `headerRoom` bytes free before it); 0 or -errno.
    public mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        let n: Int
        switch (source, destination) {
        case (.v4(let s), .v4(let d)):
            Self.writeIPv4Headers(before: payload, payloadLength: length, source: s, sourcePort: sourcePort,
                                  destination: d, destinationPort: destinationPort, id: nextID)
            nextID &+= 1
            n = SystemCall.sendTo(socket, payload - 28, 28 + length, target)
        case (.v6(let s), .v6(let d)):
            Self.writeIPv6Headers(before: payload, payloadLength: length, source: s, sourcePort: sourcePort,
                                  destination: d, destinationPort: destinationPort)
            n = SystemCall.sendTo(socket, payload - 48, 48 + length, target)
        default:
            preconditionFailure("source and collector of different families") // init refuses them
        }
        return n < 0 ? n : 0
    }
}

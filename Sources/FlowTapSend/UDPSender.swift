import FlowTapBase
import Glibc

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
    public static func writeIPv4Headers(
        before payload: UnsafeMutableRawPointer, payloadLength: Int,
        source: IPv4Address, sourcePort: UInt16,
        destination: IPv4Address, destinationPort: UInt16, id: UInt16
    ) {
        let ip = payload - 28
        let udpLength = 8 + payloadLength
        ip.put16(0x4500, at: 0) // version 4, IHL 5, TOS 0
        ip.put16(UInt16(20 + udpLength), at: 2)
        ip.put16(id, at: 4)
        ip.put16(0x4000, at: 6) // DF: a raw socket never fragments anyway
        ip.put16(0x4011, at: 8) // TTL 64, protocol UDP
        ip.put16(0, at: 10)
        ip.put32(source.value, at: 12)
        ip.put32(destination.value, at: 16)
        ip.put16(InternetChecksum.ipv4Header(UnsafeRawBufferPointer(start: ip, count: 20)), at: 10)
        let udp = writeUDPHeader(
            before: payload, payloadLength: payloadLength, sourcePort: sourcePort, destinationPort: destinationPort)
        udp.put16(
            InternetChecksum.udp(
                source: source, destination: destination,
                datagram: UnsafeRawBufferPointer(start: udp, count: udpLength)), at: 6)
    }

    /// Writes the IPv6 header (hop limit 64) and the UDP header, whose checksum IPv6 makes
    /// mandatory, into the 48 bytes before `payload`.
    public static func writeIPv6Headers(
        before payload: UnsafeMutableRawPointer, payloadLength: Int,
        source: IPv6Address, sourcePort: UInt16,
        destination: IPv6Address, destinationPort: UInt16
    ) {
        let ip = payload - 48
        let udpLength = 8 + payloadLength
        ip.put32(0x6000_0000, at: 0) // version 6, traffic class 0, flow label 0
        ip.put16(UInt16(udpLength), at: 4)
        ip.storeBytes(of: UInt8(17), toByteOffset: 6, as: UInt8.self)
        ip.storeBytes(of: UInt8(64), toByteOffset: 7, as: UInt8.self)
        source.bytes.withUnsafeBytes { (ip + 8).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        destination.bytes.withUnsafeBytes { (ip + 24).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        let udp = writeUDPHeader(
            before: payload, payloadLength: payloadLength, sourcePort: sourcePort, destinationPort: destinationPort)
        udp.put16(
            InternetChecksum.udp(
                source: source, destination: destination,
                datagram: UnsafeRawBufferPointer(start: udp, count: udpLength)), at: 6)
    }

    private static func writeUDPHeader(
        before payload: UnsafeMutableRawPointer, payloadLength: Int,
        sourcePort: UInt16, destinationPort: UInt16
    ) -> UnsafeMutableRawPointer {
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
            Self.writeIPv4Headers(
                before: payload, payloadLength: length, source: s, sourcePort: sourcePort,
                destination: d, destinationPort: destinationPort, id: nextID)
            nextID &+= 1
            n = SystemCall.sendTo(socket, payload - 28, 28 + length, target)
        case (.v6(let s), .v6(let d)):
            Self.writeIPv6Headers(
                before: payload, payloadLength: length, source: s, sourcePort: sourcePort,
                destination: d, destinationPort: destinationPort)
            n = SystemCall.sendTo(socket, payload - 48, 48 + length, target)
        default:
            // No input reaches this: `init` traps on a source and collector of different
            // families, and ExportWiring never builds one (see there); this runs on the export
            // thread, never on the forwarding path.
            preconditionFailure("source and collector of different families")
        }
        return n < 0 ? n : 0
    }
}

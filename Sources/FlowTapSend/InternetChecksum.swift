import FlowTapBase

/// The Internet checksum (RFC 1071): the one's complement of the one's-complement sum of
/// 16-bit big-endian words, accumulated wide and folded once at the end.
public struct InternetChecksum {
    private var sum: UInt64 = 0

    public init() {}

    public mutating func add(_ word: UInt16) { sum &+= UInt64(word) }

    public mutating func add(_ word: UInt32) {
        sum &+= UInt64(word >> 16) &+ UInt64(word & 0xFFFF)
    }

    /// Adds `bytes` as big-endian words; an odd last byte is padded with a zero byte.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let p = UnsafeRawPointer(base)
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            let w = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            sum &+= (w >> 48) &+ (w >> 32 & 0xFFFF) &+ (w >> 16 & 0xFFFF) &+ (w & 0xFFFF)
            i += 8
        }
        while i + 2 <= n {
            sum &+= UInt64(p.be16(i))
            i += 2
        }
        if i < n { sum &+= UInt64(p.u8(i)) << 8 }
    }

    /// The checksum to put on the wire.
    public var value: UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xFFFF) &+ (s >> 16) }
        return ~UInt16(s)
    }

    /// Checksum of an IPv4 header whose checksum field holds zero (RFC 791).
    public static func ipv4Header(_ header: UnsafeRawBufferPointer) -> UInt16 {
        var c = InternetChecksum()
        c.add(header)
        return c.value
    }

    /// UDP checksum over the IPv4 pseudo-header and `datagram` (UDP header with a zero checksum
    /// field, then the payload). A computed zero is sent as 0xFFFF: zero means "no checksum"
    /// (RFC 768), which RFC 7011 §10.3.2 forbids for IPFIX.
    public static func udp(
        source: IPv4Address, destination: IPv4Address,
        datagram: UnsafeRawBufferPointer
    ) -> UInt16 {
        var c = InternetChecksum()
        c.add(source.value)
        c.add(destination.value)
        c.add(UInt16(17))
        c.add(UInt16(datagram.count))
        c.add(datagram)
        let v = c.value
        return v == 0 ? 0xFFFF : v
    }

    /// UDP checksum over the IPv6 pseudo-header (RFC 8200 §8.1: source, destination, upper-layer
    /// length, next header 17) and `datagram`. Mandatory in IPv6; a computed zero goes as 0xFFFF.
    public static func udp(
        source: IPv6Address, destination: IPv6Address,
        datagram: UnsafeRawBufferPointer
    ) -> UInt16 {
        var c = InternetChecksum()
        source.bytes.withUnsafeBytes { c.add($0) }
        destination.bytes.withUnsafeBytes { c.add($0) }
        c.add(UInt32(datagram.count))
        c.add(UInt16(17))
        c.add(datagram)
        let v = c.value
        return v == 0 ? 0xFFFF : v
    }
}

import Glibc

/// An IPv4 address as a host-order number (10.0.0.1 is 0x0A000001).
public struct IPv4Address: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Dotted-quad text, as inet_pton(3) reads it; nil otherwise.
    public init?(_ text: String) {
        var addr = in_addr()
        guard inet_pton(AF_INET, text, &addr) == 1 else { return nil }
        value = UInt32(bigEndian: addr.s_addr)
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    var socketAddress: in_addr { in_addr(s_addr: value.bigEndian) }

    func socketAddress(port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr = socketAddress
        return sa
    }
}

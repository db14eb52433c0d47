import FlowTapBase
import Glibc
import SystemPackage

/// `--metrics`: the listening TCP socket the control thread serves scrapes on
/// (`ControlServer`, `HTTPResponder`). Opened at setup with the control socket, before the
/// privilege drop, so any port binds; passed to a successor at a handover and kept in the
/// service manager's fd store like the control socket, so that scrapes go on across both.
/// Non-blocking: an accept finds a connection or returns at once.
public final class MetricsListener {
    public let address: MetricsAddress
    let socket: Descriptor
    public var descriptor: CInt { socket.descriptor }

    /// Binds and listens on `address`: every address is IPv6's wildcard, which takes IPv4
    /// too, or IPv4's where IPv6 is off.
    public init(_ address: MetricsAddress) throws(SetupError) {
        self.address = address
        var lastError = Errno.addressNotAvailable
        let candidates: [SocketAddress] =
            address.host.map { [SocketAddress($0, port: address.port)] }
            ?? [SocketAddress(anyOf: AF_INET6, port: address.port), SocketAddress(anyOf: AF_INET, port: address.port)]
        for candidate in candidates {
            do {
                let socket = try Descriptor(socket: candidate.family, type: SOCK_STREAM, nonBlocking: true)
                try socket.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
                if candidate.family == AF_INET6 && address.host == nil {
                    try socket.setOption(level: CInt(IPPROTO_IPV6), name: IPV6_V6ONLY, 0)
                }
                try socket.bind(candidate)
                try socket.listen(backlog: 64)
                self.socket = socket
                return
            } catch {
                lastError = error
                if error != .addressFamilyNotSupported { break }
            }
        }
        switch lastError {
        case .addressNotAvailable:
            throw SetupError(
                "--metrics \(address): \(address.host.map(\.description) ?? "") is not an address of this host",
                fix:
                    "give one of the addresses 'ip addr' shows in flowtap's namespace, or --metrics PORT for every address"
            )
        case .permissionDenied:
            throw SetupError(
                "no permission to listen on --metrics \(address) (a port below 1024 needs CAP_NET_BIND_SERVICE)",
                fix: "give a port from 1024 (exporters use 9100-9999), or run flowtap with that capability")
        default:
            throw SetupError(
                "cannot serve --metrics on \(address): \(lastError)",
                fix: "give a port nothing else listens on ('ss -ltnp' shows what does)")
        }
    }

    /// The listening socket a previous flowtap made for the same address.
    public init(adopting fd: CInt, address: MetricsAddress) {
        self.address = address
        socket = Descriptor(adopting: fd)
    }

    /// Whether `fd` (a predecessor's listener) is bound to what `address` asks: the same port,
    /// and the same address or the wildcard as asked.
    public static func matches(_ fd: CInt, _ address: MetricsAddress) -> Bool {
        guard let bound = SocketAddress.local(of: fd), bound.port == address.port else { return false }
        if let host = address.host { return bound.ipAddress == host }
        return [AF_INET6, AF_INET].contains { bound.ipAddress == SocketAddress(anyOf: $0, port: 0).ipAddress }
    }
}

import FlowTapBase
import Glibc
import SystemPackage

/// The export sockets: socket(AF_INET or AF_INET6, SOCK_RAW, IPPROTO_RAW), one per family in
/// use. With IPPROTO_RAW the kernel expects the IP header from us (IP_HDRINCL, implied for
/// IPv6), so flowtap writes the IP and UDP headers itself. Non-blocking, so a full socket
/// buffer is an error to count, never a wait. Closed when the owner goes.
public final class RawSockets: Sendable {
    /// nil where the family is not used.
    let ipv4: Descriptor?
    let ipv6: Descriptor?

    /// `inherited`: raw sockets a previous flowtap opened (with their privilege), taken
    /// instead of opening new ones.
    public init(ipv4: Bool, ipv6: Bool, inherited: (ipv4: CInt?, ipv6: CInt?) = (nil, nil)) throws(SetupError) {
        if ipv4 {
            self.ipv4 = if let fd = inherited.ipv4 { Descriptor(adopting: fd) } else { try Self.open(ipv6: false) }
        } else {
            self.ipv4 = nil
        }
        if ipv6 {
            self.ipv6 = if let fd = inherited.ipv6 { Descriptor(adopting: fd) } else { try Self.open(ipv6: true) }
        } else {
            self.ipv6 = nil
        }
        if !ipv4, let fd = inherited.ipv4 { SystemCall.close(fd) }
        if !ipv6, let fd = inherited.ipv6 { SystemCall.close(fd) }
    }

    /// The open sockets, by family, for a successor.
    public var descriptors: (ipv4: CInt?, ipv6: CInt?) { (ipv4?.descriptor, ipv6?.descriptor) }

    /// The descriptor for `address`'s family, -1 when that family is not used; valid while
    /// this object lives.
    public func descriptor(for address: IPAddress) -> CInt { (address.isIPv6 ? ipv6 : ipv4)?.descriptor ?? -1 }

    static func open(ipv6: Bool) throws(SetupError) -> Descriptor {
        let socket: Descriptor
        do {
            socket = try Descriptor(
                socket: ipv6 ? AF_INET6 : AF_INET, type: SOCK_RAW, protocol: CInt(IPPROTO_RAW), nonBlocking: true)
        } catch {
            if error == .notPermitted || error == .permissionDenied {
                throw .permission("open a raw socket for export", capability: "CAP_NET_RAW")
            }
            throw SetupError(
                "cannot open a raw \(ipv6 ? "IPv6" : "IPv4") socket: \(error)",
                fix: ipv6
                    ? "check that IPv6 is enabled (sysctl net.ipv6.conf.all.disable_ipv6)"
                    : "check the kernel supports raw sockets")
        }
        if !ipv6 {
            do { try socket.setOption(level: CInt(IPPROTO_IP), name: IP_HDRINCL, 1) } catch {
                throw SetupError(
                    "cannot set IP_HDRINCL on the export socket: \(error)", fix: "check the kernel supports raw sockets"
                )
            }
        }
        return socket
    }

    /// Refuses a `--source` that is not an address of this host (in this namespace): bind(2) of
    /// a UDP socket to it fails with EADDRNOTAVAIL. A raw socket would send from any address,
    /// so without this check flowtap could be told to forge another host's export.
    public static func checkLocal(_ address: IPAddress) throws(SetupError) {
        guard let socket = try? Descriptor(socket: address.isIPv6 ? AF_INET6 : AF_INET, type: SOCK_DGRAM) else {
            return
        }
        do { try socket.bind(SocketAddress(address, port: 0)) } catch  where error == .addressNotAvailable {
            throw SetupError(
                "--source \(address) is not an address of this host",
                fix:
                    "give one of the addresses 'ip addr' shows in flowtap's namespace, or leave --source out to use the route's"
            )
        } catch {}
    }

    /// The address the kernel would pick as source toward `destination`: connect(2) a UDP
    /// socket (no packet is sent) and read getsockname(2).
    public static func sourceAddress(toward destination: IPAddress, port: UInt16) throws(SetupError) -> IPAddress {
        let socket: Descriptor
        do { socket = try Descriptor(socket: destination.isIPv6 ? AF_INET6 : AF_INET, type: SOCK_DGRAM) } catch {
            throw SetupError(
                "cannot open a UDP socket to find the source address toward \(destination): \(error)",
                fix: "give --source ADDR")
        }
        do {
            try socket.connect(SocketAddress(destination, port: port))
            if let source = try socket.localAddress().ipAddress { return source }
            throw Errno.addressFamilyNotSupported
        } catch {
            throw SetupError(
                "no route to collector \(destination): \(error)",
                fix: "add a route toward it in this namespace ('ip route'), or check the address")
        }
    }
}

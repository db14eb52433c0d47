import CFlowTapLinux
import FlowTapBase
import Glibc
import SystemPackage

/// One open queue of a Linux TAP device, read and written one Ethernet frame per call. Owns
/// its descriptor and closes it when the last reference goes; the forwarding threads use the
/// raw descriptor and never outlive the probe that holds these.
///
/// The descriptor is non-blocking: the forwarder reads until EAGAIN, then polls, so a busy TAP
/// costs one read and one write per frame and an idle one costs nothing.
public final class TapDevice: Sendable {
    public let name: String
    public let ifIndex: UInt32
    /// True when flowtap created the device (it vanishes when flowtap exits).
    public let created: Bool
    public let descriptor: FileDescriptor

    /// Opens /dev/net/tun and attaches to the TAP `name` with IFF_TAP | IFF_NO_PI (TUNSETIFF),
    /// creating it when absent, then resets its offloads (TUNSETOFFLOAD 0): a persistent TAP
    /// keeps whatever offloads its previous user set, and with offloads the kernel would hand
    /// us GSO super-frames with partial checksums.
    /// virtio_net_hdr size with `--offload` (the v1 / mergeable-buffers layout, 12 bytes).
    public static let vnetHeaderSize = 12
    /// TUNSETOFFLOAD with `--offload`: checksum, TSO4/6, TSO with ECN, and USO4/6 where the
    /// kernel has them (6.2 and later).
    static let offloads = CFT_TUN_F_CSUM | CFT_TUN_F_TSO4 | CFT_TUN_F_TSO6 | CFT_TUN_F_TSO_ECN
    static let udpOffloads = CFT_TUN_F_USO4 | CFT_TUN_F_USO6

    /// With `offload`, the TAP is opened with IFF_VNET_HDR: every frame carries a 12-byte
    /// virtio_net_hdr (TUNSETVNETHDRSZ) and may be a GSO super-frame with a partial checksum.
    /// With `multiQueue`, the TAP is opened with IFF_MULTI_QUEUE: each attach is one more queue
    /// of the same device, and the kernel spreads flows over the queues by their hash.
    public static func attach(name: String, offload: Bool = false, multiQueue: Bool = false) throws(SetupError) -> TapDevice {
        try validateName(name)
        let existed = if_nametoindex(name) != 0
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open("/dev/net/tun", .readWrite,
                                         options: [.closeOnExec, .nonBlocking])
        } catch {
            switch error {
            case .noSuchFileOrDirectory, .noSuchAddressOrDevice:
                throw SetupError("/dev/net/tun is missing", fix: "load the TUN/TAP driver with 'modprobe tun'")
            case .permissionDenied where geteuid() != 0:
                throw SetupError("cannot open /dev/net/tun as uid \(geteuid()): the device is not readable and writable by this user",
                                 fix: "run it as root (it drops to --user after setup), or make the device crw-rw-rw- (mode 0666, udev's default) and start flowtap under systemd with User= and AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW")
            case .permissionDenied, .notPermitted:
                throw .permission("open /dev/net/tun", capability: "CAP_NET_ADMIN")
            default:
                throw SetupError("cannot open /dev/net/tun: \(error)", fix: "check that the tun driver is loaded")
            }
        }
        var kernelName = [CChar](repeating: 0, count: Int(CFT_IFNAMSIZ))
        let flags = CFT_IFF_TAP | CFT_IFF_NO_PI | (offload ? CFT_IFF_VNET_HDR : 0) | (multiQueue ? CFT_IFF_MULTI_QUEUE : 0)
        var rc = cft_tun_attach(fd.rawValue, name, flags, &kernelName)
        if rc == -EINVAL && existed && !multiQueue {
            // A TAP made with multi_queue takes one queue too, but only when asked that way.
            rc = cft_tun_attach(fd.rawValue, name, flags | CFT_IFF_MULTI_QUEUE, &kernelName)
        }
        if rc < 0 {
            try? fd.close()
            throw attachError(name: name, errnoValue: -rc, existed: existed, multiQueue: multiQueue)
        }
        var offloadRC: CInt
        if offload {
            offloadRC = cft_tun_set_vnet_hdr_size(fd.rawValue, CInt(vnetHeaderSize))
            if offloadRC == 0 {
                offloadRC = cft_tun_set_offload(fd.rawValue, offloads | udpOffloads)
                if offloadRC == -EINVAL { offloadRC = cft_tun_set_offload(fd.rawValue, offloads) } // no USO before 6.2
            }
        } else {
            offloadRC = cft_tun_set_offload(fd.rawValue, 0)
        }
        if offloadRC < 0 {
            try? fd.close()
            throw SetupError("cannot set the offloads of TAP '\(name)' (\(SetupError.text(-offloadRC)))",
                             fix: "recreate it with 'ip tuntap del dev \(name) mode tap; ip tuntap add dev \(name) mode tap'")
        }
        if !existed {
            let up = cft_link_set_up(name)
            if up < 0 {
                try? fd.close()
                throw SetupError("created TAP '\(name)' but cannot bring it up: \(SetupError.text(-up))",
                                 fix: "bring it up with 'ip link set \(name) up'")
            }
        }
        let index = if_nametoindex(name)
        return TapDevice(name: String(decoding: kernelName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                         ifIndex: index, created: !existed, descriptor: fd)
    }

    /// Takes a TAP queue another process opened and passed on (a handover, the service
    /// manager's fd store): no TUNSETIFF, so no capability is needed. TUNGETIFF says which TAP
    /// it is and how it was opened; a queue of another TAP, or one opened with other offloads,
    /// is refused (and closed).
    public static func adopt(_ fd: CInt, name: String, offload: Bool) throws(SetupError) -> TapDevice {
        var kernelName = [CChar](repeating: 0, count: Int(CFT_IFNAMSIZ))
        var flags: CInt = 0
        let rc = cft_tun_get_iff(fd, &kernelName, &flags)
        guard rc == 0 else {
            SystemCall.close(fd)
            throw SetupError("the descriptor handed over for TAP '\(name)' is not an attached TAP queue (\(SetupError.text(-rc)))",
                             fix: "start without the inherited descriptors (stop the running flowtap, or clear the unit's fd store with 'systemctl clean --what=fdstore' on systemd 254 and later)")
        }
        let got = String(decoding: kernelName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard got == name else {
            SystemCall.close(fd)
            throw SetupError("the descriptor handed over for TAP '\(name)' is a queue of TAP '\(got)'",
                             fix: "give the same --tap-a and --tap-b as the running flowtap")
        }
        guard (flags & CFT_IFF_VNET_HDR != 0) == offload else {
            SystemCall.close(fd)
            throw SetupError("TAP '\(name)' was opened \(offload ? "without" : "with") --offload, and a handover cannot change that",
                             fix: "give the running flowtap's --offload setting, or stop it and start afresh")
        }
        return TapDevice(name: got, ifIndex: if_nametoindex(got), created: false, descriptor: FileDescriptor(rawValue: fd))
    }

    init(name: String, ifIndex: UInt32, created: Bool, descriptor: FileDescriptor) {
        self.name = name
        self.ifIndex = ifIndex
        self.created = created
        self.descriptor = descriptor
    }

    /// False when the link is administratively down: frames neither arrive nor leave.
    public var isUp: Bool { cft_link_is_up(name) == 1 }

    deinit { try? descriptor.close() }

    package static func validateName(_ name: String) throws(SetupError) {
        if name.isEmpty || name.utf8.count >= Int(CFT_IFNAMSIZ) {
            throw SetupError("TAP name '\(name)' is not a valid interface name",
                             fix: "use 1 to \(CFT_IFNAMSIZ - 1) characters, as 'ip link' does")
        }
        if name.contains("/") || name.contains(where: \.isWhitespace) || name == "." || name == ".." {
            throw SetupError("TAP name '\(name)' contains a character Linux does not allow in interface names",
                             fix: "pick a name without '/' or spaces")
        }
    }

    static func attachError(name: String, errnoValue e: CInt, existed: Bool, multiQueue: Bool = false) -> SetupError {
        switch e {
        case EPERM, EACCES:
            return .permission(existed ? "attach to TAP '\(name)'" : "create TAP '\(name)'", capability: "CAP_NET_ADMIN")
        case EBUSY:
            return SetupError("TAP '\(name)' is already attached to another process",
                              fix: "stop the other reader (another flowtap or tapfwd) or pick another TAP")
        case EINVAL where multiQueue:
            return SetupError("TAP '\(name)' was not created for several queues",
                              fix: "recreate it with 'ip tuntap del dev \(name) mode tap; ip tuntap add dev \(name) mode tap multi_queue', or drop --queues")
        case EINVAL:
            return SetupError("'\(name)' exists but is not a TAP device",
                              fix: "pick another name, or create the TAP with 'ip tuntap add dev NAME mode tap'")
        default:
            return SetupError("cannot attach to TAP '\(name)': \(SetupError.text(e))",
                              fix: "check it with 'ip -d link show \(name)'")
        }
    }
}

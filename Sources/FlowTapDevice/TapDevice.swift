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
    public let owned: Descriptor
    /// The queue's descriptor, for the forwarder's read, write and poll.
    public var descriptor: CInt { owned.descriptor }

    /// Opens /dev/net/tun and attaches to the TAP `name` with IFF_TAP | IFF_NO_PI (TUNSETIFF),
    /// creating it when absent, then resets its offloads (TUNSETOFFLOAD 0): a persistent TAP
    /// keeps whatever offloads its previous user set, and with offloads the kernel would hand
    /// us GSO super-frames with partial checksums.
    /// virtio_net_hdr size with `--offload` (the v1 / mergeable-buffers layout, 12 bytes).
    public static let vnetHeaderSize = 12
    /// TUNSETOFFLOAD with `--offload`: checksum, TSO4/6, TSO with ECN, and USO4/6 where the
    /// kernel has them (6.2 and later).
    static let offloads: TunnelDevice.Offloads = [.checksum, .tso4, .tso6, .tsoECN]
    static let udpOffloads: TunnelDevice.Offloads = [.uso4, .uso6]

    /// With `offload`, the TAP is opened with IFF_VNET_HDR: every frame carries a 12-byte
    /// virtio_net_hdr (TUNSETVNETHDRSZ) and may be a GSO super-frame with a partial checksum.
    /// With `multiQueue`, the TAP is opened with IFF_MULTI_QUEUE: each attach is one more queue
    /// of the same device, and the kernel spreads flows over the queues by their hash.
    public static func attach(name: String, offload: Bool = false, multiQueue: Bool = false) throws(SetupError)
        -> TapDevice
    {
        try validateName(name)
        let existed = if_nametoindex(name) != 0
        let fd: Descriptor
        do {
            fd = try Descriptor(opening: "/dev/net/tun", O_RDWR | O_NONBLOCK)
        } catch {
            switch error {
            case .noSuchFileOrDirectory, .noSuchAddressOrDevice:
                throw SetupError("/dev/net/tun is missing", fix: "load the TUN/TAP driver with 'modprobe tun'")
            case .permissionDenied where geteuid() != 0:
                throw SetupError(
                    "cannot open /dev/net/tun as uid \(geteuid()): the device is not readable and writable by this user",
                    fix:
                        "run it as root (it drops to --user after setup), or make the device crw-rw-rw- (mode 0666, udev's default) and start flowtap under systemd with User= and AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW"
                )
            case .permissionDenied, .notPermitted:
                throw .permission("open /dev/net/tun", capability: "CAP_NET_ADMIN")
            default:
                throw SetupError("cannot open /dev/net/tun: \(error)", fix: "check that the tun driver is loaded")
            }
        }
        var flags: TunnelDevice.Flags = [.tap, .noPacketInformation]
        if offload { flags.insert(.vnetHeader) }
        if multiQueue { flags.insert(.multiQueue) }
        let kernelName: String
        do throws(Errno) {
            do throws(Errno) {
                kernelName = try TunnelDevice.attach(fd.descriptor, name: name, flags: flags)
            } catch .invalidArgument where existed && !multiQueue {
                // A TAP made with multi_queue takes one queue too, but only when asked that way.
                kernelName = try TunnelDevice.attach(fd.descriptor, name: name, flags: flags.union(.multiQueue))
            }
        } catch {
            throw attachError(name: name, errnoValue: error.rawValue, existed: existed, multiQueue: multiQueue)
        }
        do throws(Errno) {
            if offload {
                try TunnelDevice.setVnetHeaderSize(fd.descriptor, vnetHeaderSize)
                do throws(Errno) {
                    try TunnelDevice.setOffloads(fd.descriptor, offloads.union(udpOffloads))
                } catch .invalidArgument {
                    try TunnelDevice.setOffloads(fd.descriptor, offloads) // no USO before 6.2
                }
            } else {
                try TunnelDevice.setOffloads(fd.descriptor, [])
            }
        } catch {
            throw SetupError(
                "cannot set the offloads of TAP '\(name)' (\(error))",
                fix: "recreate it with 'ip tuntap del dev \(name) mode tap; ip tuntap add dev \(name) mode tap'")
        }
        if !existed {
            do throws(Errno) {
                try TunnelDevice.setUp(name)
            } catch {
                throw SetupError(
                    "created TAP '\(name)' but cannot bring it up: \(error)",
                    fix: "bring it up with 'ip link set \(name) up'")
            }
        }
        let index = if_nametoindex(name)
        return TapDevice(name: kernelName, ifIndex: index, created: !existed, owned: fd)
    }

    /// Takes a TAP queue another process opened and passed on (a handover, the service
    /// manager's fd store): no TUNSETIFF, so no capability is needed. TUNGETIFF says which TAP
    /// it is and how it was opened; a queue of another TAP, or one opened with other offloads,
    /// is refused (and closed).
    public static func adopt(_ fd: CInt, name: String, offload: Bool) throws(SetupError) -> TapDevice {
        let owned = Descriptor(adopting: fd) // closed with it when refused
        let got: String, flags: TunnelDevice.Flags
        do throws(Errno) {
            (got, flags) = try TunnelDevice.interface(fd)
        } catch {
            throw SetupError(
                "the descriptor handed over for TAP '\(name)' is not an attached TAP queue (\(error))",
                fix:
                    "start without the inherited descriptors (stop the running flowtap, or clear the unit's fd store with 'systemctl clean --what=fdstore' on systemd 254 and later)"
            )
        }
        guard got == name else {
            throw SetupError(
                "the descriptor handed over for TAP '\(name)' is a queue of TAP '\(got)'",
                fix: "give the same --tap-a and --tap-b as the running flowtap")
        }
        guard flags.contains(.vnetHeader) == offload else {
            throw SetupError(
                "TAP '\(name)' was opened \(offload ? "without" : "with") --offload, and a handover cannot change that",
                fix: "give the running flowtap's --offload setting, or stop it and start afresh")
        }
        return TapDevice(name: got, ifIndex: if_nametoindex(got), created: false, owned: owned)
    }

    init(name: String, ifIndex: UInt32, created: Bool, owned: Descriptor) {
        self.name = name
        self.ifIndex = ifIndex
        self.created = created
        self.owned = owned
    }

    /// False when the link is administratively down: frames neither arrive nor leave.
    public var isUp: Bool { TunnelDevice.isUp(name) }

    package static func validateName(_ name: String) throws(SetupError) {
        if name.isEmpty || name.utf8.count >= TunnelDevice.nameSize {
            throw SetupError(
                "TAP name '\(name)' is not a valid interface name",
                fix: "use 1 to \(TunnelDevice.nameSize - 1) characters, as 'ip link' does")
        }
        if name.contains("/") || name.contains(where: \.isWhitespace) || name == "." || name == ".." {
            throw SetupError(
                "TAP name '\(name)' contains a character Linux does not allow in interface names",
                fix: "pick a name without '/' or spaces")
        }
    }

    static func attachError(name: String, errnoValue e: CInt, existed: Bool, multiQueue: Bool = false) -> SetupError {
        switch e {
        case EPERM, EACCES:
            return .permission(
                existed ? "attach to TAP '\(name)'" : "create TAP '\(name)'", capability: "CAP_NET_ADMIN")
        case EBUSY:
            return SetupError(
                "TAP '\(name)' is already attached to another process",
                fix: "stop the other reader (another flowtap or tapfwd) or pick another TAP")
        case EINVAL where multiQueue:
            return SetupError(
                "TAP '\(name)' was not created for several queues",
                fix:
                    "recreate it with 'ip tuntap del dev \(name) mode tap; ip tuntap add dev \(name) mode tap multi_queue', or drop --queues"
            )
        case EINVAL:
            return SetupError(
                "'\(name)' exists but is not a TAP device",
                fix: "pick another name, or create the TAP with 'ip tuntap add dev NAME mode tap'")
        default:
            return SetupError(
                "cannot attach to TAP '\(name)': \(SetupError.text(e))",
                fix: "check it with 'ip -d link show \(name)'")
        }
    }
}

import CFlowTapLinux
import SystemPackage

/// The TUN/TAP and link calls of <linux/if_tun.h> and SIOCGIFFLAGS, which Swift's Glibc cannot
/// reach (function-like macros, union members): the C shim makes them, this gives them types.
/// Each throws swift-system's `Errno`; the caller says what failed in its own words.
public enum TunnelDevice {
    /// IFNAMSIZ, the terminating NUL included.
    public static let nameSize = Int(CFT_IFNAMSIZ)

    /// TUNSETIFF flags.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }
        public static let tap = Flags(rawValue: CFT_IFF_TAP)
        public static let noPacketInformation = Flags(rawValue: CFT_IFF_NO_PI)
        public static let vnetHeader = Flags(rawValue: CFT_IFF_VNET_HDR)
        public static let multiQueue = Flags(rawValue: CFT_IFF_MULTI_QUEUE)
    }

    /// TUNSETOFFLOAD flags (USO4 and USO6 from Linux 6.2).
    public struct Offloads: OptionSet, Sendable {
        public let rawValue: CUnsignedInt
        public init(rawValue: CUnsignedInt) { self.rawValue = rawValue }
        public static let checksum = Offloads(rawValue: CFT_TUN_F_CSUM)
        public static let tso4 = Offloads(rawValue: CFT_TUN_F_TSO4)
        public static let tso6 = Offloads(rawValue: CFT_TUN_F_TSO6)
        public static let tsoECN = Offloads(rawValue: CFT_TUN_F_TSO_ECN)
        public static let uso4 = Offloads(rawValue: CFT_TUN_F_USO4)
        public static let uso6 = Offloads(rawValue: CFT_TUN_F_USO6)
    }

    /// ioctl(TUNSETIFF): attaches `fd` (an open /dev/net/tun) to the device `name`, creating it
    /// when absent; the kernel's name for it.
    public static func attach(_ fd: CInt, name: String, flags: Flags) throws(Errno) -> String {
        var kernelName = [CChar](repeating: 0, count: nameSize)
        try check(cft_tun_attach(fd, name, flags.rawValue, &kernelName))
        return string(kernelName)
    }

    /// ioctl(TUNGETIFF): which device `fd` is a queue of, and how it was opened.
    public static func interface(_ fd: CInt) throws(Errno) -> (name: String, flags: Flags) {
        var kernelName = [CChar](repeating: 0, count: nameSize)
        var flags: CInt = 0
        try check(cft_tun_get_iff(fd, &kernelName, &flags))
        return (string(kernelName), Flags(rawValue: flags))
    }

    /// ioctl(TUNSETOFFLOAD).
    public static func setOffloads(_ fd: CInt, _ offloads: Offloads) throws(Errno) {
        try check(cft_tun_set_offload(fd, offloads.rawValue))
    }

    /// ioctl(TUNSETVNETHDRSZ).
    public static func setVnetHeaderSize(_ fd: CInt, _ size: Int) throws(Errno) {
        try check(cft_tun_set_vnet_hdr_size(fd, CInt(size)))
    }

    /// SIOCGIFFLAGS: whether the link `name` is administratively up (false when it is missing).
    public static func isUp(_ name: String) -> Bool { cft_link_is_up(name) == 1 }

    /// SIOCGIFFLAGS then SIOCSIFFLAGS with IFF_UP: `ip link set NAME up`.
    public static func setUp(_ name: String) throws(Errno) { try check(cft_link_set_up(name)) }

    static func check(_ rc: CInt) throws(Errno) {
        if rc < 0 { throw Errno(rawValue: -rc) }
    }

    static func string(_ name: [CChar]) -> String {
        String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

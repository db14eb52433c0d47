import CFlowTapLinux
import Glibc
import SystemPackage

/// The calls that change what the process or a thread may do: credentials, capabilities,
/// no_new_privs, the seccomp filter, CPU affinity. The C shim makes the ones Glibc cannot
/// reach (prctl, capset, seccomp, the affinity masks); each throws swift-system's `Errno`.
public enum ProcessControl {
    /// initgroups(3), setgid(2) and setuid(2), in that order, for the account `name`. A
    /// process that is already that user and may not set groups (EPERM) keeps its groups.
    public static func become(user name: String, uid: uid_t, gid: gid_t) throws(ProcessControlError) {
        if initgroups(name, gid) != 0 && !(getuid() == uid && errno == EPERM) {
            throw ProcessControlError(step: "set the supplementary groups of \(name)", errno: Errno(rawValue: errno))
        }
        if setgid(gid) != 0 {
            throw ProcessControlError(step: "switch to the group of \(name)", errno: Errno(rawValue: errno))
        }
        if setuid(uid) != 0 { throw ProcessControlError(step: "switch to user \(name)", errno: Errno(rawValue: errno)) }
    }

    /// Whether setuid(0) succeeds: after leaving root it must not.
    public static func canRegainRoot() -> Bool { setuid(0) == 0 }

    /// prctl(PR_CAPBSET_DROP) for every capability (needs CAP_SETPCAP).
    public static func dropBoundingSet() throws(Errno) { try check(cft_drop_bounding_set()) }

    /// prctl(PR_CAP_AMBIENT_CLEAR_ALL) and capset(2) with every set empty.
    public static func clearCapabilities() throws(Errno) { try check(cft_clear_capabilities()) }

    /// prctl(PR_SET_NO_NEW_PRIVS, 1).
    public static func setNoNewPrivileges() throws(Errno) { try check(cft_set_no_new_privs()) }

    /// The seccomp filter on every thread (TSYNC): the calls numbered in `allowed` pass; the
    /// shim's rules for open, openat, socket, connect and ioctl apply (see CFlowTapLinux.h);
    /// with `trap` a refused call is logged once; with `output` the export thread may open its
    /// output files (`outputOpenFlags`).
    public static func installSeccomp(allowed: [CInt], trap: Bool, output: Bool) throws(Errno) {
        try check(
            allowed.withUnsafeBufferPointer {
                cft_install_seccomp($0.baseAddress, CInt($0.count), trap ? 1 : 0, output ? 1 : 0)
            })
    }

    /// The one write open the seccomp filter lets through with `--output`.
    public static var outputOpenFlags: CInt { cft_output_open_flags() }

    /// The system call number of `name` on this architecture; negative for a name the shim
    /// cannot number or a call this architecture lacks.
    public static func syscallNumber(_ name: String) -> CInt { cft_syscall_number(name) }

    /// The CPUs this process may run on (sched_getaffinity), counted.
    public static var usableCPUs: Int { Int(cft_usable_cpus()) }

    /// Pins the calling thread to `cpu`.
    public static func pinThread(to cpu: Int) throws(Errno) { try check(cft_pin_thread(CInt(cpu))) }

    static func check(_ rc: CInt) throws(Errno) {
        if rc < 0 { throw Errno(rawValue: -rc) }
    }
}

/// A credential call that failed, and which.
public struct ProcessControlError: Error {
    public var step: String
    public var errno: Errno
}

import FlowTapBase
import Glibc
import Logging
import SystemPackage

/// What flowtap gives up once every privileged descriptor (TAPs, raw sockets) is open, before
/// any thread reads a frame: the user and groups, every capability (the bounding set too),
/// the right to gain any back (PR_SET_NO_NEW_PRIVS), and every system call outside
/// `SeccompAllowlist`.
public struct PrivilegeDrop: Sendable, Equatable {
    /// The account to run as; nil keeps the current uid (`--user root`, or a process started
    /// without root, as systemd's `User=` starts it).
    public var account: Account?
    public var seccomp: SeccompMode

    public struct Account: Sendable, Equatable {
        public var name: String
        public var uid: uid_t
        public var gid: gid_t
    }

    /// Looks `user` up with getpwnam_r(3) (before the drop: /etc/passwd is not readable after
    /// seccomp). nil `user` means `nobody` when running as root and the current user otherwise.
    public static func resolve(user: String?, seccomp: SeccompMode) throws(SetupError) -> PrivilegeDrop {
        let name = user ?? (geteuid() == 0 ? "nobody" : nil)
        guard let name, name != "root" || geteuid() != 0 else { return PrivilegeDrop(account: nil, seccomp: seccomp) }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else {
            throw SetupError(
                "--user \(name) is not a user of this system",
                fix: "give an existing account (see 'getent passwd'), e.g. --user nobody")
        }
        if entry.pw_uid == 0 && name != "root" {
            throw SetupError(
                "--user \(name) has uid 0", fix: "give an unprivileged account, or --user root to keep root on purpose")
        }
        return PrivilegeDrop(account: Account(name: name, uid: entry.pw_uid, gid: entry.pw_gid), seccomp: seccomp)
    }

    /// Drops, in the order the kernel needs: the bounding set while CAP_SETPCAP is still held,
    /// groups, gid, uid (which empties the capability sets when it leaves 0), then every
    /// capability set explicitly (for `--user root` and for ambient capabilities), and no new
    /// privileges. Credentials are per thread: this runs while the main thread is the only one,
    /// and every thread started later inherits them.
    public func dropCredentials(logger: Logger) throws(SetupError) {
        var boundingError: Errno?
        do throws(Errno) { try ProcessControl.dropBoundingSet() } catch { boundingError = error }
        if let account {
            do throws(ProcessControlError) {
                try ProcessControl.become(user: account.name, uid: account.uid, gid: account.gid)
            } catch {
                throw Self.failed(error.step, error.errno)
            }
            // setuid away from root must be for good: a way back would undo all of this.
            if account.uid != 0 && ProcessControl.canRegainRoot() {
                throw SetupError(
                    "could switch back to root after dropping to \(account.name)", fix: "report this as a bug")
            }
        } else if getuid() == 0 {
            logger.warning(
                "running as root (--user root): uid 0 kept; capabilities, new privileges and system calls are still dropped"
            )
        }
        do throws(Errno) { try ProcessControl.clearCapabilities() } catch {
            throw Self.failed("clear the capability sets", error)
        }
        if let boundingError {
            logger.warning(
                "could not empty the capability bounding set (\(boundingError)): flowtap lacks CAP_SETPCAP; with no capability left and no new privileges it cannot regain any, but a service manager should set CapabilityBoundingSet= as well"
            )
        }
        do throws(Errno) { try ProcessControl.setNoNewPrivileges() } catch {
            throw Self.failed("set no_new_privs", error)
        }
    }

    /// The seccomp filter, last, so that it need not allow the calls above; installed on every
    /// thread of the process at once (SECCOMP_FILTER_FLAG_TSYNC), the metrics server's
    /// included, which start between the two steps.
    /// `output`: the export thread opens output files (`--output`) under the filter.
    public func installFilter(output: Bool = false, logger: Logger) throws(SetupError) {
        let count = SeccompAllowlist.numbers.count
        if seccomp != .off {
            do throws(Errno) {
                try ProcessControl.installSeccomp(
                    allowed: SeccompAllowlist.numbers, trap: seccomp == .trap, output: output)
            } catch {
                throw Self.failed("install the seccomp filter", error)
            }
        }
        let filter =
            switch seccomp {
            case .on: ", seccomp allowlist of \(count) system calls"
            case .trap:
                ", seccomp allowlist of \(count) system calls (--seccomp trap: a refused call is logged, and may end flowtap)"
            case .off: ", no seccomp filter (--seccomp off)"
            }
        logger.info("privileges dropped: uid \(getuid()) gid \(getgid()), no capabilities, no_new_privs\(filter)")
    }

    static func failed(_ what: String, _ error: Errno) -> SetupError {
        SetupError(
            "cannot \(what) while dropping privileges: \(error)",
            fix:
                "run flowtap as root (it drops privileges itself), or under systemd with User= and AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW"
        )
    }
}

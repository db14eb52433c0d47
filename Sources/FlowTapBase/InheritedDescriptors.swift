import Glibc

/// Descriptors this process was given open, each by name: by a service manager at start
/// (sd_listen_fds(3): $LISTEN_FDS from descriptor 3 on, $LISTEN_FDNAMES, for this process
/// when $LISTEN_PID is ours), or by the flowtap it takes over from. Whoever uses one takes it;
/// `closeUnused` closes what nobody took, so nothing leaks a TAP queue.
public final class InheritedDescriptors: @unchecked Sendable {
    private var byName: [String: [CInt]] = [:]
    /// Where they came from, for the log: "the service manager", "flowtap PID 123".
    public let origin: String

    /// The names as given, before any was taken.
    public let originalNames: [String]

    public init(_ pairs: [(name: String, descriptor: CInt)], origin: String) {
        for (name, fd) in pairs { byName[name, default: []].append(fd) }
        self.origin = origin
        originalNames = pairs.map(\.name)
    }

    /// sd_listen_fds(3) with unset_environment: nil when nothing was passed to this process.
    public static func fromEnvironment() -> InheritedDescriptors? {
        defer {
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pid = getenv("LISTEN_PID").flatMap({ pid_t(String(cString: $0)) }), pid == getpid(),
            let count = getenv("LISTEN_FDS").flatMap({ Int(String(cString: $0)) }), count > 0, count < 4096
        else { return nil }
        let names =
            getenv("LISTEN_FDNAMES").map {
                String(cString: $0).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            } ?? []
        let pairs = (0 ..< count).map { i in (name: i < names.count ? names[i] : "unknown", descriptor: CInt(3 + i)) }
        for (_, fd) in pairs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return InheritedDescriptors(pairs, origin: "the service manager")
    }

    public var names: [String] { byName.filter { !$0.value.isEmpty }.keys.sorted() }

    /// The first descriptor left under `name`, now the caller's.
    public func take(_ name: String) -> CInt? {
        guard var list = byName[name], !list.isEmpty else { return nil }
        let fd = list.removeFirst()
        byName[name] = list
        return fd
    }

    /// Closes every descriptor nobody took; returns their names.
    @discardableResult
    public func closeUnused() -> [String] {
        var closed: [String] = []
        for (name, list) in byName {
            for fd in list {
                SystemCall.close(fd)
                closed.append(name)
            }
        }
        byName = [:]
        return closed.sorted()
    }
}

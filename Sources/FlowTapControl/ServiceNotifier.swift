import FlowTapBase
import Glibc

/// systemd's notify protocol (sd_notify(3)) without libsystemd: datagrams such as "READY=1" or
/// "WATCHDOG=1" to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the
/// abstract namespace). The socket is made at setup, before the privilege drop; sending on it
/// afterwards is a sendto(2), which the seccomp allowlist has.
public final class ServiceNotifier {
    let socket: Descriptor
    let address: SocketAddress
    /// $WATCHDOG_USEC, when it is meant for this process ($WATCHDOG_PID absent or ours).
    public let watchdogUs: UInt64?

    /// nil when there is no $NOTIFY_SOCKET (not started by systemd with Type=notify).
    public static func fromEnvironment() throws(SetupError) -> ServiceNotifier? {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return nil }
        var watchdog: UInt64?
        if let usec = getenv("WATCHDOG_USEC").flatMap({ UInt64(String(cString: $0)) }), usec > 0 {
            let pid = getenv("WATCHDOG_PID").flatMap { pid_t(String(cString: $0)) }
            if pid == nil || pid == getpid() { watchdog = usec }
        }
        return try ServiceNotifier(path: path, watchdogUs: watchdog)
    }

    public init(path: String, watchdogUs: UInt64?) throws(SetupError) {
        guard let address = SocketAddress(unixPath: path) else {
            throw SetupError(
                "NOTIFY_SOCKET '\(path)' is neither an absolute path nor an abstract socket name",
                fix: "let systemd set it (Type=notify), or unset it")
        }
        do {
            socket = try Descriptor(socket: AF_UNIX, type: SOCK_DGRAM, nonBlocking: true)
        } catch {
            throw SetupError(
                "cannot open a socket for NOTIFY_SOCKET: \(error)", fix: "raise the open-file limit (ulimit -n)")
        }
        self.address = address
        self.watchdogUs = watchdogUs
    }

    /// Sends one state message ("READY=1\nSTATUS=…"); false when it could not be sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        let message = Array(state.utf8)
        return (try? socket.send(message, to: address, flags: CInt(MSG_NOSIGNAL))) == message.count
    }

    /// Leaves `fd` in the service manager's file descriptor store under `name` (FDSTORE=1,
    /// FDNAME=; sd_pid_notify_with_fds(3)); false when the message could not be sent. The
    /// manager keeps it across a crash-restart and passes it back in $LISTEN_FDS.
    @discardableResult
    public func store(_ fd: CInt, name: String) -> Bool {
        (try? socket.send(Array("FDSTORE=1\nFDNAME=\(name)".utf8), descriptors: [fd], to: address)) != nil
    }

    /// How often to send WATCHDOG=1: half the watchdog period, as sd_watchdog_enabled(3) advises.
    public var watchdogPingMs: CInt? { watchdogUs.map { CInt(clamping: max(1, $0 / 2000)) } }
}

/// The watchdog's rule: WATCHDOG=1 goes out only while every forwarding thread and the export thread
/// have shown a sign of life (a heartbeat, in monotonic milliseconds) within the watchdog
/// period, so that systemd restarts a probe whose thread hangs, not only one that dies.
public enum Liveness {
    public static func allAlive(_ heartbeatsMs: [UInt64], now: UInt64, withinMs: UInt64) -> Bool {
        heartbeatsMs.allSatisfy { $0 != 0 && now >= $0 && now - $0 <= withinMs }
    }
}

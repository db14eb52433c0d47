import FlowTapBase
import Glibc
import SystemPackage

/// The control socket's listening end: an AF_UNIX stream socket at `--control PATH` (default
/// /run/flowtap/TAPA-TAPB.sock), mode 0660, made at setup while flowtap still has its
/// privileges. A socket left by a flowtap that is gone (nobody accepts on it) is replaced; one
/// that answers belongs to a running probe, and flowtap refuses to start on it.
public final class ControlSocket {
    public let path: String
    let socket: Descriptor
    public var descriptor: CInt { socket.descriptor }

    public static func defaultPath(tapA: String, tapB: String) -> String { "/run/flowtap/\(tapA)-\(tapB).sock" }

    public init(path: String) throws(SetupError) {
        self.path = path
        guard let address = SocketAddress(unixPath: path), path.hasPrefix("/") else {
            throw SetupError(
                "--control \(path) is not an absolute path of at most 107 bytes",
                fix: "give a path such as /run/flowtap/probe.sock, or --control none")
        }
        let directory = String(path[..<path.lastIndex(of: "/")!])
        if !directory.isEmpty {
            do { try SystemCall.makeDirectory(directory, mode: 0o755) } catch {
                throw SetupError(
                    "cannot create \(directory) for the control socket: \(error)",
                    fix: "create it, or give --control PATH in a directory flowtap may write, or --control none")
            }
        }
        if (try? ControlSocket.connect(path)) != nil {
            throw SetupError(
                "another flowtap answers on the control socket \(path)",
                fix: "stop it, or give this one another --control PATH")
        }
        do {
            try SystemCall.removeFile(path) // a stale socket, or nothing
        } catch {
            throw SetupError(
                "cannot replace the stale control socket \(path): \(error)",
                fix: "check that flowtap may write \(directory), or give --control none")
        }
        do {
            socket = try Descriptor(socket: AF_UNIX, type: SOCK_STREAM, nonBlocking: true)
        } catch {
            throw SetupError("cannot open the control socket: \(error)", fix: "raise the open-file limit (ulimit -n)")
        }
        do {
            try socket.bind(address)
            try SystemCall.setMode(path, 0o660)
            try socket.listen(backlog: 16)
        } catch {
            throw SetupError(
                "cannot listen on the control socket \(path): \(error)",
                fix: "check that flowtap may write \(directory), or give --control none")
        }
    }

    /// The listening socket a previous flowtap made at `path` (a handover, a restart): its
    /// clients wait in its backlog meanwhile, and nothing is unlinked or bound again.
    public init(adopting fd: CInt, path: String) {
        self.path = path
        socket = Descriptor(adopting: fd)
    }

    /// A connected client (ENOENT: no socket; ECONNREFUSED: stale; EACCES: no permission).
    public static func connect(_ path: String) throws(Errno) -> Descriptor {
        guard let address = SocketAddress(unixPath: path) else { throw .invalidArgument }
        let socket = try Descriptor(socket: AF_UNIX, type: SOCK_STREAM)
        try socket.connect(address)
        return socket
    }
}

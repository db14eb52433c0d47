import Glibc

/// The control socket's listening end: an AF_UNIX stream socket at `--control PATH` (default
/// /run/flowtap/TAPA-TAPB.sock), mode 0660, made at setup while flowtap still has its
/// privileges. A socket left by a flowtap that is gone (nobody accepts on it) is replaced; one
/// that answers belongs to a running probe, and flowtap refuses to start on it.
public final class ControlSocket {
    public let path: String
    public let descriptor: CInt

    public static func defaultPath(tapA: String, tapB: String) -> String { "/run/flowtap/\(tapA)-\(tapB).sock" }

    public init(path: String) throws(SetupError) {
        self.path = path
        guard path.hasPrefix("/"), path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw SetupError("--control \(path) is not an absolute path of at most 107 bytes", fix: "give a path such as /run/flowtap/probe.sock, or --control none")
        }
        let directory = String(path[..<path.lastIndex(of: "/")!])
        if !directory.isEmpty && mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw SetupError("cannot create \(directory) for the control socket: \(SetupError.text(errno))",
                             fix: "create it, or give --control PATH in a directory flowtap may write, or --control none")
        }
        let probe = ControlSocket.connect(path)
        if probe >= 0 {
            close(probe)
            throw SetupError("another flowtap answers on the control socket \(path)", fix: "stop it, or give this one another --control PATH")
        }
        unlink(path)   // a stale socket, or nothing
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            throw SetupError("cannot open the control socket: \(SetupError.text(errno))", fix: "raise the open-file limit (ulimit -n)")
        }
        var address = Self.address(path)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, chmod(path, 0o660) == 0, listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw SetupError("cannot listen on the control socket \(path): \(SetupError.text(e))",
                             fix: "check that flowtap may write \(directory), or give --control none")
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    static func address(_ path: String) -> sockaddr_un {
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &a.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        return a
    }

    /// A connected client descriptor, or -errno (ENOENT: no socket; ECONNREFUSED: stale; EACCES).
    public static func connect(_ path: String) -> CInt {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -errno }
        var a = address(path)
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        if rc == 0 { return fd }
        let e = errno
        close(fd)
        return -e
    }
}

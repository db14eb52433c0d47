import Glibc

/// Everything a descriptor yields until end of file (a pipe whose writers have closed).
func readToEnd(_ fd: CInt) -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer.prefix(n)
    }
    return bytes
}

/// How a forked child ended: the signal that killed it (0: none) and its exit status.
struct ChildEnd: Equatable {
    var signal: CInt
    var status: CInt
}

/// Runs `body` in a forked child, for what cannot be undone in the test process (a seccomp
/// filter, the signal setup); the child exits 0 when `body` returns, or `_exit(N)` from it
/// names the step that failed.
func inForkedChild(_ body: () -> Void) -> ChildEnd {
    let pid = fork()
    if pid == 0 {
        body()
        _exit(0)
    }
    var status: CInt = 0
    waitpid(pid, &status, 0)
    return ChildEnd(signal: status & 0x7F, status: (status >> 8) & 0xFF)
}

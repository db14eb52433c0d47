import Glibc

/// The one place the data path makes system calls. Each wrapper retries EINTR and returns the
/// call's result, or `-errno` on failure, so the per-frame loop never throws or allocates.
/// Errno values that can only mean misuse of a descriptor (EBADF, EFAULT, ENOTSOCK) stop the
/// process: they are bugs, not conditions to handle.
public enum SystemCall {
    /// read(2) into `buffer`.
    @inline(__always)
    public static func read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        retryingInterrupts("read") { Glibc.read(fd, buffer, count) }
    }

    /// write(2) of `count` bytes from `buffer`.
    @inline(__always)
    public static func write(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        retryingInterrupts("write") { Glibc.write(fd, buffer, count) }
    }

    /// sendto(2) of one datagram to `address` (a sockaddr_in or sockaddr_in6).
    public static func sendTo<Address>(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int,
                                       _ address: Address) -> Int {
        withUnsafePointer(to: address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                retryingInterrupts("sendto") {
                    Glibc.sendto(fd, buffer, count, 0, sa, socklen_t(MemoryLayout<Address>.size))
                }
            }
        }
    }

    /// poll(2) on up to two descriptors (`b` < 0: one) for POLLIN; returns the number ready or
    /// -errno. EINTR counts as "nothing ready": the caller re-checks its state anyway.
    public static func pollReadable(_ a: CInt, _ b: CInt, timeoutMs: CInt) -> Int {
        var fds = (pollfd(fd: a, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: b, events: Int16(POLLIN), revents: 0))
        let n = withUnsafeMutableBytes(of: &fds) { raw in
            Glibc.poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), b < 0 ? 1 : 2, timeoutMs)
        }
        if n >= 0 { return Int(n) }
        let e = errno
        return e == EINTR ? 0 : -Int(e)
    }

    @inline(__always)
    static func retryingInterrupts(_ call: StaticString, _ body: () -> Int) -> Int {
        while true {
            let n = body()
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            checkNotMisuse(e, call)
            return -Int(e)
        }
    }

    /// No frame reaches the trap: a TAP that goes away mid-traffic fails reads and writes with
    /// EBADFD (77), handled as an error, not EBADF (9); EFAULT needs a wild buffer and ENOTSOCK
    /// a sendto on a TAP, both bugs.
    @inline(never)
    static func checkNotMisuse(_ e: CInt, _ call: StaticString) {
        if e == EBADF || e == EFAULT || e == ENOTSOCK {
            fatalError("\(call) failed with errno \(e): a descriptor was misused")
        }
    }
}

import CFlowTapLinux
import Glibc
import SystemPackage

/// The one place flowtap makes system calls. The data path's wrappers (read, write, sendto,
/// poll) retry EINTR and return the call's result, or `-errno` on failure, so the per-frame
/// loop never throws or allocates. Setup's (`setup`, `close`, the file calls below, and
/// `Socket`'s, built on `setup`) retry EINTR and throw swift-system's `Errno`.
/// Errno values that can only mean misuse of a descriptor (EBADF, EFAULT, ENOTSOCK) stop the
/// process: they are bugs, not conditions to handle.
public enum SystemCall {
    /// read(2) into `buffer`.
    @inline(__always) @inlinable
    public static func read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        retryingInterrupts("read") { Glibc.read(fd, buffer, count) }
    }

    /// write(2) of `count` bytes from `buffer`.
    @inline(__always) @inlinable
    public static func write(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        retryingInterrupts("write") { Glibc.write(fd, buffer, count) }
    }

    /// sendto(2) of one datagram to `address`.
    public static func sendTo(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int, _ address: SocketAddress) -> Int {
        address.withSockaddr { sa, length in
            retryingInterrupts("sendto") { Glibc.sendto(fd, buffer, count, 0, sa, length) }
        }
    }

    /// sendmmsg(2) of `count` datagrams (at most `maxDatagrams`), the i-th `lengths[i]` bytes at
    /// `bases[i]`, each to `address`: how many the kernel took, from the first (fewer than
    /// `count` when it stopped at one: sending the rest again tells why), or -errno when none.
    public static func sendDatagrams(
        _ fd: CInt, _ bases: UnsafePointer<UnsafeRawPointer>, _ lengths: UnsafePointer<Int>, _ count: Int,
        _ address: SocketAddress
    ) -> Int {
        let n = address.withSockaddr { sa, length in
            bases.withMemoryRebound(to: UnsafeRawPointer?.self, capacity: count) { b in
                lengths.withMemoryRebound(to: size_t.self, capacity: count) {
                    Int(cft_send_datagrams(fd, b, $0, UInt32(min(count, maxDatagrams)), sa, length))
                }
            }
        }
        if n < 0 { checkNotMisuse(CInt(-n), "sendmmsg") }
        return n
    }

    /// The most datagrams `sendDatagrams` takes at once.
    public static let maxDatagrams = Int(CFT_MAX_DATAGRAMS)

    /// A setup-time call that returns -1 and sets errno on failure: retried on EINTR, its
    /// result, or the error.
    @discardableResult
    public static func setup(_ body: () -> CInt) throws(Errno) -> CInt {
        while true {
            let rc = body()
            if rc >= 0 { return rc }
            let e = errno
            if e != EINTR { throw Errno(rawValue: e) }
        }
    }

    /// close(2) of a descriptor this process owns. Not retried on EINTR: Linux frees the
    /// descriptor whatever close returns, and a retry could close one another thread just got.
    public static func close(_ fd: CInt) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// mkdir(2); an existing directory is no error.
    public static func makeDirectory(_ path: String, mode: mode_t) throws(Errno) {
        do { try setup { mkdir(path, mode) } } catch  where error == .fileExists {}
    }

    /// unlink(2); a missing file is no error.
    public static func removeFile(_ path: String) throws(Errno) {
        do { try setup { unlink(path) } } catch  where error == .noSuchFileOrDirectory {}
    }

    /// chmod(2).
    public static func setMode(_ path: String, _ mode: mode_t) throws(Errno) {
        try setup { chmod(path, mode) }
    }

    /// poll(2) on up to two descriptors (`b` < 0: one) for POLLIN; returns the number ready or
    /// -errno. EINTR counts as "nothing ready": the caller re-checks its state anyway.
    public static func pollReadable(_ a: CInt, _ b: CInt, timeoutMs: CInt) -> Int {
        var fds = (
            pollfd(fd: a, events: Int16(POLLIN), revents: 0),
            pollfd(fd: b, events: Int16(POLLIN), revents: 0)
        )
        let n = withUnsafeMutableBytes(of: &fds) { raw in
            Glibc.poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), b < 0 ? 1 : 2, timeoutMs)
        }
        if n >= 0 { return Int(n) }
        let e = errno
        return e == EINTR ? 0 : -Int(e)
    }

    /// poll(2) on any number of descriptors for POLLIN (setup and control, not the data path):
    /// the indices of those ready; none on a timeout or EINTR.
    public static func pollReadable(_ descriptors: [CInt], timeoutMs: CInt) -> [Int] {
        var fds = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let n = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMs) }
        guard n > 0 else { return [] }
        return fds.indices.filter { fds[$0].revents != 0 }
    }

    /// poll(2) on `fds` as they are (their events set); the number ready, 0 on a timeout or
    /// EINTR, or -errno.
    public static func poll(_ fds: inout [pollfd], timeoutMs: CInt) -> Int {
        let n = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMs) }
        if n >= 0 { return Int(n) }
        let e = errno
        return e == EINTR ? 0 : -Int(e)
    }

    /// accept4(2) of one connection on a listening socket, close-on-exec (and blocking, whatever
    /// the listener is): the descriptor, or -errno (-EAGAIN: none waits on a non-blocking one).
    public static func accept(_ listener: CInt) -> CInt { cft_accept(listener) }

    /// send(2) of what fits now (MSG_DONTWAIT, and MSG_NOSIGNAL: a peer that went away is an
    /// EPIPE here, not a signal): the bytes sent, or -errno (-EAGAIN: none fit).
    public static func sendNow(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        retryingInterrupts("send") { Glibc.send(fd, buffer, count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
    }

    /// The uid of the process at the other end of a Unix socket (SO_PEERCRED), or -1.
    public static func peerUID(_ fd: CInt) -> CInt { cft_peer_uid(fd) }

    @inline(__always) @inlinable
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
    @usableFromInline static func checkNotMisuse(_ e: CInt, _ call: StaticString) {
        if e == EBADF || e == EFAULT || e == ENOTSOCK {
            fatalError("\(call) failed with errno \(e): a descriptor was misused")
        }
    }
}

import Glibc
import Synchronization
import SystemPackage

/// An owned descriptor: a socket, a file, a TAP, an eventfd, a signalfd or a memfd. The one
/// owning type: made at setup through `SystemCall` (EINTR retried, a failure thrown as
/// swift-system's `Errno` for the caller to put in its own words), closed exactly once, when
/// the owner says so (`close()`, which reports what close(2) says, as a file's writer must
/// hear) or else when the last reference goes. `descriptor` is for the calls that take the
/// number (poll, read and write on the data path, sendto) while the owner lives: -1 once closed.
/// Socket calls are in Descriptor+Socket.swift.
public final class Descriptor: Sendable {
    private let number: Atomic<CInt>

    public var descriptor: CInt { number.load(ordering: .relaxed) }

    /// Takes ownership of a descriptor another call made (accept, an inherited one, the C shim's).
    public init(adopting descriptor: CInt) { number = Atomic(descriptor) }

    /// open(2) of `path` with `flags` (O_CLOEXEC always added) and, when it creates, `mode`.
    public convenience init(opening path: String, _ flags: CInt, mode: mode_t = 0) throws(Errno) {
        let fd = try SystemCall.setup { Glibc.open(path, flags | O_CLOEXEC, mode) }
        self.init(adopting: fd)
    }

    /// A close-on-exec copy of `fd` (F_DUPFD_CLOEXEC), owned: for a descriptor that is not
    /// ours to close, such as standard input.
    public convenience init(duplicating fd: CInt) throws(Errno) {
        self.init(adopting: try SystemCall.setup { fcntl(fd, F_DUPFD_CLOEXEC, 0) })
    }

    deinit { SystemCall.close(number.load(ordering: .relaxed)) }

    /// close(2) now. Its error matters for a file (the last writes may fail there, on NFS or a
    /// full disk); the descriptor is gone whatever it says, and the owner's end does nothing more.
    public func close() throws(Errno) {
        let fd = number.exchange(-1, ordering: .relaxed)
        guard fd >= 0 else { return }
        if Glibc.close(fd) != 0 && errno != EINTR { throw Errno(rawValue: errno) }
    }

    /// read(2) once into `buffer`: the bytes read, 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let fd = descriptor
        return Int(try SystemCall.setup { CInt(Glibc.read(fd, buffer.baseAddress, buffer.count)) })
    }

    /// pread(2) once into `buffer` at `offset` (a sysfs file renders its value afresh at 0).
    public func read(into buffer: UnsafeMutableRawBufferPointer, atOffset offset: Int64) throws(Errno) -> Int {
        let fd = descriptor
        return Int(try SystemCall.setup { CInt(Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset))) })
    }

    /// write(2) until every byte is written.
    public func write(all bytes: UnsafeRawBufferPointer) throws(Errno) {
        let fd = descriptor
        var sent = 0
        while sent < bytes.count {
            sent += Int(try SystemCall.setup { CInt(Glibc.write(fd, bytes.baseAddress! + sent, bytes.count - sent)) })
        }
    }

    public func write(all bytes: [UInt8]) throws(Errno) {
        let fd = descriptor
        var sent = 0
        while sent < bytes.count {
            sent += Int(
                try SystemCall.setup {
                    CInt(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + sent, $0.count - sent) })
                })
        }
    }

    /// The size of a regular file; nil for anything else (a pipe, a terminal).
    public var fileSize: Int64? {
        var st = stat()
        guard fstat(descriptor, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(st.st_size)
    }
}

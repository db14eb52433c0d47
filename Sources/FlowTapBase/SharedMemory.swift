import CFlowTapLinux
import Glibc
import SystemPackage

/// A memfd mapped shared, read and written in place: the one owner of the mapping and of its
/// descriptor, which can be passed to another process (a handover) or left with a service
/// manager (systemd's file descriptor store), so that what is written here outlives this
/// process. Pages are touched only as they are used.
///
/// Invariants: `base` is page-aligned, `size` bytes long and valid until the owner goes; every
/// process that maps the same memfd sees the same bytes, so a reader of another process's data
/// checks its layout first (the caller's header), and trusts nothing else.
public final class SharedMemory: @unchecked Sendable {
    private let owned: Descriptor
    public var descriptor: CInt { owned.descriptor }
    public let base: UnsafeMutableRawPointer
    public let size: Int

    /// A new zero-filled memfd of `size` bytes, named `name` (shown in /proc/PID/fd).
    public init(creating name: String, size: Int) throws(Errno) {
        let fd = cft_memfd_create(name)
        guard fd >= 0 else { throw Errno(rawValue: -fd) }
        let owned = Descriptor(adopting: fd) // closed with it should the mapping fail
        try SystemCall.setup { ftruncate(fd, off_t(size)) }
        base = try Self.map(fd, size: size)
        self.owned = owned
        self.size = size
    }

    /// Maps a memfd another process made (its size read with fstat); takes the descriptor.
    public init(adopting fd: CInt) throws(Errno) {
        let owned = Descriptor(adopting: fd) // closed with it when refused
        guard let size = owned.fileSize, size > 0 else { throw Errno.invalidArgument }
        base = try Self.map(fd, size: Int(size))
        self.owned = owned
        self.size = Int(size)
    }

    static func map(_ fd: CInt, size: Int) throws(Errno) -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw Errno(rawValue: errno)
        }
        return p
    }

    deinit {
        munmap(base, size)
    }
}

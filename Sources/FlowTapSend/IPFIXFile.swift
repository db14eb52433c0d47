import FlowTapBase
import Glibc
import SystemPackage

/// An IPFIX file (RFC 5655): the messages a collector would get, one after another, as they
/// were sent. It is written under a temporary name (`PATH.partial`) and renamed to its path
/// when complete, so that a reader never sees half a file. A write error is counted by the
/// exporter as a send error, and the file is kept (renamed) with what it holds.
public final class IPFIXFile {
    public let path: String
    private let partial: String
    private var fd: Descriptor?
    public private(set) var writeError: Errno?

    public init(path: String) throws(SetupError) {
        self.path = path
        partial = path + ".partial"
        do {
            // Exactly the flags the seccomp filter lets through with --output.
            fd = try Descriptor(opening: partial, ProcessControl.outputOpenFlags, mode: 0o644)
        } catch {
            throw SetupError(
                "cannot write \(partial): \(error)", fix: "give --output a path in a directory you may write to")
        }
    }

    /// Appends one message; 0, or -errno.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let fd else { return -Int(EBADF) }
        do throws(Errno) {
            try fd.write(all: bytes)
            return 0
        } catch {
            writeError = error
            return -Int(error.rawValue)
        }
    }

    /// Closes the file and gives it its name. Idempotent.
    public func complete() throws(SetupError) {
        guard let open = fd else { return }
        fd = nil
        do throws(Errno) {
            try open.close()
            try SystemCall.setup { rename(partial, path) }
        } catch {
            throw SetupError("cannot complete \(path): \(error)", fix: "check the disk and the directory's permissions")
        }
    }
}

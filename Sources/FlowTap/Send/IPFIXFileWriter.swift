import Glibc
import SystemPackage

/// An IPFIX file (RFC 5655): the messages a collector would get, one after another, as they
/// were sent. It is written under a temporary name (`PATH.partial`) and renamed to its path
/// when complete, so that a reader never sees half a file. A write error is counted by the
/// exporter as a send error, and the file is kept (renamed) with what it holds.
public final class IPFIXFile {
    public let path: String
    private let partial: String
    private var fd: FileDescriptor?
    public private(set) var bytes: UInt64 = 0
    public private(set) var writeError: Errno?

    public init(path: String) throws(SetupError) {
        self.path = path
        partial = path + ".partial"
        do {
            fd = try FileDescriptor.open(FilePath(partial), .writeOnly, options: [.create, .truncate, .closeOnExec],
                                         permissions: [.ownerReadWrite, .groupRead, .otherRead], retryOnInterrupt: true)
        } catch {
            throw SetupError("cannot write \(partial): \(error)", fix: "give --output a path in a directory you may write to")
        }
    }

    /// Appends one message; 0, or -errno.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let fd else { return -Int(EBADF) }
        do {
            _ = try fd.writeAll(bytes)
            self.bytes += UInt64(bytes.count)
            return 0
        } catch {
            writeError = error as? Errno
            return -Int((error as? Errno)?.rawValue ?? EIO)
        }
    }

    /// Closes the file and gives it its name. Idempotent.
    public func complete() throws(SetupError) {
        guard let open = fd else { return }
        fd = nil
        do {
            try open.close()
            try SystemCall.setup { rename(partial, path) }
        } catch {
            throw SetupError("cannot complete \(path): \(error)", fix: "check the disk and the directory's permissions")
        }
    }

    deinit { try? fd?.close() }
}

/// The exporter's transport into an `IPFIXFile`: no headers in front of a message, and a
/// message as large as IPFIX allows (65535 bytes, RFC 7011 §3.1).
public struct FileTransport: MessageTransport {
    public let file: IPFIXFile
    public init(_ file: IPFIXFile) { self.file = file }
    public var headerLength: Int { 0 }
    public mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        file.write(UnsafeRawBufferPointer(start: payload, count: length))
    }
}

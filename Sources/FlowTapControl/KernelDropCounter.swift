import FlowTapBase
import Glibc
import SystemPackage

/// The tx_dropped counter of a TAP (/sys/class/net/TAP/statistics/tx_dropped): frames the
/// kernel dropped at the TAP's queue before flowtap read them. Opened at setup, read with
/// pread(2) at offset 0, which makes sysfs render the value afresh; no file is opened later.
public final class KernelDropCounter: Sendable {
    let file: Descriptor

    public init?(tap: String) {
        guard let file = try? Descriptor(opening: "/sys/class/net/\(tap)/statistics/tx_dropped", O_RDONLY) else {
            return nil
        }
        self.file = file
    }

    public var value: UInt64 {
        var buffer = [UInt8](repeating: 0, count: 32)
        guard let n = try? buffer.withUnsafeMutableBytes({ (b) throws(Errno) in try file.read(into: b, atOffset: 0) }),
            n > 0
        else { return 0 }
        return UInt64(String(decoding: buffer.prefix(n), as: UTF8.self).filter(\.isNumber)) ?? 0
    }
}

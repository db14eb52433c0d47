import CFlowTapLinux
import Glibc
import Synchronization

/// A one-way "it is time" between threads: a flag a busy loop can read for the cost of a load,
/// and an eventfd a sleeping thread can poll. Once rung it stays rung.
public final class Doorbell: Sendable {
    private let rung = Atomic<Bool>(false)
    /// Becomes readable, and stays so, when the bell rings.
    public let descriptor: CInt

    public init() throws(SetupError) {
        let fd = cft_eventfd_create()
        guard fd >= 0 else {
            throw SetupError("cannot create an eventfd: \(SetupError.text(-fd))", fix: "raise the open-file limit (ulimit -n)")
        }
        descriptor = fd
    }

    deinit { SystemCall.close(descriptor) }

    public func ring() {
        rung.store(true, ordering: .releasing)
        _ = cft_eventfd_signal(descriptor)
    }

    @inline(__always)
    public var isRung: Bool { rung.load(ordering: .acquiring) }
}

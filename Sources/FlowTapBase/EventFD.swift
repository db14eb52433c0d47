import CFlowTapLinux

/// An owned eventfd (non-blocking, close-on-exec): the one way a thread wakes another's poll.
/// `signal` makes it readable; `clear` reads the count back to zero.
public final class EventFD: Sendable {
    private let owned: Descriptor
    public var descriptor: CInt { owned.descriptor }

    public init() throws(SetupError) {
        let fd = cft_eventfd_create()
        guard fd >= 0 else {
            throw SetupError(
                "cannot create an eventfd: \(SetupError.text(-fd))", fix: "raise the open-file limit (ulimit -n)")
        }
        owned = Descriptor(adopting: fd)
    }

    public func signal() { _ = cft_eventfd_signal(descriptor) }

    public func clear() {
        var value: UInt64 = 0
        _ = SystemCall.read(descriptor, &value, 8)
    }
}

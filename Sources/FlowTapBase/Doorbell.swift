import Glibc
import Synchronization

/// A one-way "it is time" between threads: a flag a busy loop can read for the cost of a load,
/// and an eventfd a sleeping thread can poll. Once rung it stays rung.
public final class Doorbell: Sendable {
    private let rung = Atomic<Bool>(false)
    private let event: EventFD
    /// Becomes readable, and stays so, when the bell rings.
    public var descriptor: CInt { event.descriptor }

    public init() throws(SetupError) { event = try EventFD() }

    public func ring() {
        rung.store(true, ordering: .releasing)
        event.signal()
    }

    @inline(__always)
    public var isRung: Bool { rung.load(ordering: .acquiring) }
}

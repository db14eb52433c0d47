import FlowTapBase
import FlowTapControl
import Glibc
import Synchronization

/// The control thread's side of a handover: it leaves the ask and the asker's connection here,
/// and the main thread, woken through the eventfd, answers (`Handover.serve`). One at a time.
package final class HandoverInbox: HandoverDesk, @unchecked Sendable {
    private let waiting = Mutex<(request: ControlRequest, client: Descriptor)?>(nil)
    private let event: EventFD
    package var descriptor: CInt { event.descriptor }

    package init() throws(SetupError) { event = try EventFD() }

    package func take(_ request: ControlRequest, from client: Descriptor) -> Bool {
        let taken = waiting.withLock { w -> Bool in
            guard w == nil else { return false }
            w = (request, client)
            return true
        }
        if taken { event.signal() }
        return taken
    }

    /// From the main thread, once woken: the ask, and the connection (now the caller's).
    package func next() -> (request: ControlRequest, client: Descriptor)? {
        event.clear()
        return waiting.withLock { w in
            defer { w = nil }
            return w.map { ($0.request, $0.client) }
        }
    }
}

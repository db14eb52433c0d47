import FlowTapBase
import Glibc

/// Where the control thread leaves a handover or reload ask, with the asker's connection: the
/// main thread answers it (a handover parks every thread, which the control thread must not
/// wait on). Returns false when it cannot take one now (one is under way); true: the connection
/// is the desk's to answer and close.
public protocol HandoverDesk: AnyObject, Sendable {
    func take(_ request: ControlRequest, from client: Descriptor) -> Bool
}

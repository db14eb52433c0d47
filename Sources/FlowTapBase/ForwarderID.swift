/// One forwarding thread: a queue of the TAP pair and the direction it carries. Forwarders are
/// numbered queue by queue, a→b then b→a (index 2q and 2q + 1), so that arrays of per-forwarder
/// things (rings, reports, reset notices) line up; a queue's two directions are partners: the
/// TAP keeps a flow's two directions on one queue index.
public struct ForwarderID: Sendable, Hashable {
    public enum Direction: Int, Sendable {
        /// Reads tap-a, writes tap-b.
        case aToB = 0
        /// Reads tap-b, writes tap-a.
        case bToA = 1
    }

    public let queue: Int
    public let direction: Direction

    public init(queue: Int, direction: Direction) {
        self.queue = queue
        self.direction = direction
    }

    /// Every forwarder of `queues` queues, in index order.
    public static func all(queues: Int) -> [ForwarderID] {
        (0 ..< queues).flatMap { q in [ForwarderID(queue: q, direction: .aToB), ForwarderID(queue: q, direction: .bToA)]
        }
    }

    /// The position in per-forwarder arrays.
    public var index: Int { 2 * queue + direction.rawValue }

    /// The other direction of the same queue.
    public var partner: ForwarderID { ForwarderID(queue: queue, direction: direction == .aToB ? .bToA : .aToB) }
}

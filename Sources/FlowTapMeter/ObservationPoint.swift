/// Where a cache's flows were seen: the TAP they entered on, the TAP they left by, and the
/// flowDirection the records carry. One per forwarding direction.
public struct ObservationPoint: Sendable, Equatable {
    public var ingressInterface: UInt32
    public var egressInterface: UInt32
    public var direction: UInt8

    public init(ingressInterface: UInt32, egressInterface: UInt32, direction: UInt8) {
        self.ingressInterface = ingressInterface
        self.egressInterface = egressInterface
        self.direction = direction
    }
}

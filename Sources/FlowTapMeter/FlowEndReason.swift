/// flowEndReason (IANA IE 136).
public enum FlowEndReason: UInt8, Sendable, CaseIterable {
    case idleTimeout = 1
    case activeTimeout = 2
    case endOfFlowDetected = 3
    case forcedEnd = 4
    case lackOfResources = 5

    /// As `flowtap read` prints it.
    public var name: String {
        switch self {
        case .idleTimeout: "idle"
        case .activeTimeout: "active"
        case .endOfFlowDetected: "end-of-flow"
        case .forcedEnd: "forced-end"
        case .lackOfResources: "lack-of-resources"
        }
    }
}

import FlowTapMeter

/// What the options records state about the exporting process.
public struct ExportOptions: Sendable, Equatable {
    /// How packets are selected for metering (`--sample`).
    public var sampling = Sampling()
    /// Totals for this collector's stream, including the message being sent.
    public var exportedMessages: UInt64 = 0
    public var exportedRecords: UInt64 = 0
    public var exportedOctets: UInt64 = 0
    /// Frames forwarded but not metered (undecodable, non-IP without l2, own export).
    public var ignoredPackets: UInt64 = 0
    /// Flow records lost before reaching this collector.
    public var notSentRecords: UInt64 = 0

    public init() {}
}

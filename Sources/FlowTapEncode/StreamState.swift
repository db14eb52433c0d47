/// The sequence numbers of one collector's stream: the data stream's and, in IPFIX, the
/// options domain's. Plain data, kept in shared memory across a handover or a crash.
public struct StreamState: Sendable, Equatable, BitwiseCopyable {
    public var sequence: UInt32 = 0
    public var optionsSequence: UInt32 = 0
    public init(sequence: UInt32 = 0, optionsSequence: UInt32 = 0) {
        self.sequence = sequence
        self.optionsSequence = optionsSequence
    }
}

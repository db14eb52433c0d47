import FlowTapInspect

/// A record's application fields on their way to the export thread, ahead of the record that
/// names them by `serial` (`FlowRecord.detailSerial`): records stay small and of one size,
/// and only labelled flows' records pay for their fields.
public struct RecordDetail: Sendable, BitwiseCopyable {
    public var serial: UInt32
    public var detail: ApplicationDetail

    public init(serial: UInt32, detail: ApplicationDetail) {
        self.serial = serial
        self.detail = detail
    }
}

/// A forwarding thread's record details (`RecordDetail`), beside its `RecordRing`.
public typealias DetailRing = SPSCRing<RecordDetail>

extension SPSCRing where Element == RecordDetail {
    /// Consumer side: the fields of the record that names `serial`, taken off the ring with the
    /// ones before it (left by records that never came: a full ring or outbox). nil when they
    /// are not there (the detail ring was full when the record left).
    public func take(serial: UInt32) -> ApplicationDetail? {
        while let front = peek() {
            let ahead = Int32(bitPattern: serial &- front.serial)
            if ahead < 0 { return nil }
            dropFirst()
            if ahead == 0 { return front.detail }
        }
        return nil
    }
}

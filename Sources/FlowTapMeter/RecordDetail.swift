import FlowTapInspect

/// A record's application fields on their way to the export thread, ahead of the record that
/// names them by `serial` (`FlowRecord.detailSerial`): records stay small and of one size,
/// and only labelled flows' records pay for their fields.
public struct RecordDetail: Sendable, BitwiseCopyable {
    public var serial: UInt32
    public var detail: ApplicationDetail
}

/// A forwarding thread's record details (`RecordDetail`), beside its `RecordRing`.
public typealias DetailRing = SPSCRing<RecordDetail>

extension SPSCRing where Element == RecordDetail {
    /// Producer side: the fields at `detail` for the record that will carry `serial`, copied
    /// once, into the ring. False when the ring is full.
    public func push(serial: UInt32, _ detail: UnsafePointer<ApplicationDetail>) -> Bool {
        push { slot in
            slot.pointee.serial = serial
            ApplicationDetail.copy(detail, to: Self.detail(in: UnsafePointer(slot)))
        }
    }

    /// Consumer side: the fields of the record that names `serial`, taken off the ring with the
    /// ones before it (left by records that never came: a full ring or outbox), copied once,
    /// into `slot`. False when they are not there (the detail ring was full when the record
    /// left).
    public func take(serial: UInt32, into slot: UnsafeMutablePointer<ApplicationDetail>) -> Bool {
        while let front = peekSlot() {
            let ahead = Int32(bitPattern: serial &- front.pointee.serial)
            if ahead < 0 { return false }
            if ahead == 0 { ApplicationDetail.copy(Self.detail(in: front), to: slot) }
            dropFirst()
            if ahead == 0 { return true }
        }
        return false
    }

    /// The fields in a ring slot, by address, so that a copy stops where they do: `detail` is
    /// the slot's last stored property, so it ends the slot's size (a constant; RecordDetail's
    /// test checks it against the property's offset).
    @inline(__always)
    static func detail(in slot: UnsafePointer<RecordDetail>) -> UnsafeMutablePointer<ApplicationDetail> {
        (UnsafeMutableRawPointer(mutating: slot) + detailOffset).assumingMemoryBound(to: ApplicationDetail.self)
    }

    static var detailOffset: Int { MemoryLayout<RecordDetail>.size - MemoryLayout<ApplicationDetail>.size }

    /// The same, by value (the tests, the fuzzer, and a store without room for them).
    public func take(serial: UInt32) -> ApplicationDetail? {
        var detail = ApplicationDetail(.none)
        return take(serial: serial, into: &detail) ? detail : nil
    }
}

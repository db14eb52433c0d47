import FlowTapInspect
import FlowTapMeter

/// NetFlow v5 export packets: a 24-byte header and at most 30 fixed 48-byte records.
///
/// v5 carries IPv4 flows only: others are refused (`.notExportable`) and counted, never
/// dropped silently. Its counters are 32-bit: a record whose packets or octets exceed
/// 2^32 − 1 is split into as many records as needed, the counts shared out so that they add
/// up exactly, never wrapped. The sequence number counts the flow records sent before this
/// packet. engine_type and engine_id are the two low bytes of `--observation-domain`.
public struct NetFlowV5Encoder: MessageEncoder {
    public static let version: UInt16 = 5
    public static let headerLength = 24
    public static let recordLength = 48
    public static let maxRecords = 30
    public static let defaultPort: UInt16 = 2055
    public static let usesTemplates = false

    public let engineType: UInt8
    public let engineID: UInt8
    public let sampling: Sampling
    public let context: EncodingContext
    public private(set) var sequence: UInt32
    public var stream: StreamState {
        get { StreamState(sequence: sequence) }
        set { sequence = newValue.sequence }
    }
    public private(set) var recordsInMessage = 0

    public init(
        observationDomain: UInt32, context: EncodingContext, sampling: Sampling = Sampling(),
        initialSequence: UInt32 = 0
    ) {
        self.sampling = sampling
        engineType = UInt8(truncatingIfNeeded: observationDomain >> 8)
        engineID = UInt8(truncatingIfNeeded: observationDomain)
        self.context = context
        sequence = initialSequence
    }

    public var minimumMessageLength: Int { Self.headerLength + Self.recordLength }

    public mutating func begin(_ message: inout MessageWriter, withTemplates: Bool) {
        message.count = Self.headerLength
        recordsInMessage = 0
    }

    /// How many v5 records a flow record needs: enough that no part's counts pass 2^32 − 1.
    static func parts(_ record: borrowing FlowRecord) -> UInt64 {
        let limit = UInt64(UInt32.max)
        // ceil(x / limit) without the x + limit − 1 that would trap near 2^64.
        func ceil(_ x: UInt64) -> UInt64 { x == 0 ? 0 : (x - 1) / limit + 1 }
        return max(1, ceil(record.packets), ceil(record.octets))
    }

    /// v5's fixed record has no room for application fields: `detail` is not written.
    public mutating func append(
        _ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, to message: inout MessageWriter
    ) -> AppendResult {
        guard record.key.ipVersion == 4 else { return .notExportable }
        let n = Self.parts(record)
        guard recordsInMessage + Int(n) <= Self.maxRecords,
            message.count + Int(n) * Self.recordLength <= message.capacity
        else { return .full }
        for i in 0 ..< n {
            // Share the counts out: the first (total mod n) parts carry one more.
            let packets = record.packets / n + (i < record.packets % n ? 1 : 0)
            let octets = record.octets / n + (i < record.octets % n ? 1 : 0)
            writeRecord(record, packets: UInt32(packets), octets: UInt32(octets), into: &message)
        }
        recordsInMessage += Int(n)
        return .appended
    }

    private func writeRecord(
        _ record: borrowing FlowRecord, packets: UInt32, octets: UInt32, into message: inout MessageWriter
    ) {
        let k = record.key
        let isICMP = k.ipProtocol == 1
        message.appendRaw32(UInt32(truncatingIfNeeded: k.w0))
        message.appendRaw32(UInt32(truncatingIfNeeded: k.w2))
        message.append32(0) // nexthop
        message.append16(Self.ifIndex16(record.ingressInterface))
        message.append16(Self.ifIndex16(record.egressInterface))
        message.append32(packets)
        message.append32(octets)
        message.append32(context.uptime(at: record.firstNs / 1_000_000))
        message.append32(context.uptime(at: record.lastNs / 1_000_000))
        message.append16(isICMP ? 0 : k.sourcePort)
        message.append16(k.destinationPort) // ICMP: type << 8 | code, as v5 collectors expect
        message.append8(0) // pad1
        message.append8(UInt8(truncatingIfNeeded: record.tcpFlags))
        message.append8(k.ipProtocol)
        message.append8(k.tos)
        message.append32(0) // src_as, dst_as
        message.append16(0) // src_mask, dst_mask
        message.append16(0) // pad2
    }

    /// v5 has 16 bits for an ifIndex; a larger one is sent as 0 ("unknown") rather than cut.
    static func ifIndex16(_ index: UInt32) -> UInt16 { index <= UInt32(UInt16.max) ? UInt16(index) : 0 }

    public func isEmpty(_ message: borrowing MessageWriter) -> Bool {
        message.count <= Self.headerLength
    }

    public mutating func finish(_ message: inout MessageWriter, nowMs: UInt64) {
        message.set16(Self.version, at: 0)
        message.set16(UInt16(recordsInMessage), at: 2)
        message.set32(context.uptime(at: nowMs), at: 4)
        message.set32(UInt32(truncatingIfNeeded: nowMs / 1000), at: 8)
        message.set32(UInt32(nowMs % 1000) * 1_000_000, at: 12)
        message.set32(sequence, at: 16)
        message.set8(engineType, at: 20)
        message.set8(engineID, at: 21)
        message.set16(sampling.netflowV5Field, at: 22)
        sequence &+= UInt32(truncatingIfNeeded: recordsInMessage)
    }

    public mutating func writeOptions(_ options: ExportOptions, to message: inout MessageWriter, nowMs: UInt64) -> Bool
    {
        false
    }
}

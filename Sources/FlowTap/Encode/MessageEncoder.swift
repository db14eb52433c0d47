/// A window of bytes an encoder writes one export message into. The sender's IP and UDP
/// headers go in front of `base`, so a finished message is sent without a copy.
public struct MessageWriter {
    public let base: UnsafeMutableRawPointer
    /// The largest message: the MTU less the IP and UDP headers.
    public let capacity: Int
    public var count = 0

    public init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    public var remaining: Int { capacity - count }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always) public mutating func append8(_ v: UInt8) { base.storeBytes(of: v, toByteOffset: count, as: UInt8.self); count += 1 }
    @inline(__always) public mutating func append16(_ v: UInt16) { base.put16(v, at: count); count += 2 }
    @inline(__always) public mutating func append32(_ v: UInt32) { base.put32(v, at: count); count += 4 }
    @inline(__always) public mutating func append64(_ v: UInt64) { base.put64(v, at: count); count += 8 }
    @inline(__always) public mutating func appendZeros(_ n: Int) {
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        count += n
    }

    /// Writes `record` as `layout` says, at the end.
    @inline(__always)
    mutating func append(_ record: borrowing FlowRecord, as layout: RecordLayout, context: EncodingContext) {
        var p = base + count
        for field in layout.fields {
            field.write(record, to: p, context: context)
            p += field.length
        }
        count += layout.recordLength
    }
}

public enum AppendResult: Sendable, Equatable {
    case appended
    /// The record does not fit in what is left of the message; the message is unchanged.
    case full
    /// The format cannot carry this record at all (NetFlow v5 and a non-IPv4 flow).
    case notExportable
}

/// One export format: how a message starts, how records are packed into it, how it ends.
/// Encoders know nothing of sockets; per-collector state (templates, sequence numbers) lives
/// in the encoder value each collector owns. Adding a format means adding a conforming type.
public protocol MessageEncoder {
    /// The collector port used when a collector is given without one.
    static var defaultPort: UInt16 { get }

    /// Whether the format announces templates (IPFIX, v9) or has a fixed layout (v5).
    static var usesTemplates: Bool { get }

    /// Bytes of the largest message the configuration can need besides the IP and UDP headers:
    /// one record of the largest layout, or all templates. A smaller MTU is refused at start.
    var minimumMessageLength: Int { get }

    /// Starts a message: reserves the header; with `withTemplates`, writes every template first.
    mutating func begin(_ message: inout MessageWriter, withTemplates: Bool)

    /// Appends one record (or, in NetFlow v5, the records it must be split into).
    mutating func append(_ record: borrowing FlowRecord, to message: inout MessageWriter) -> AppendResult

    /// Data records carried by the message being built.
    var recordsInMessage: Int { get }

    /// True when the message holds nothing but its header.
    func isEmpty(_ message: borrowing MessageWriter) -> Bool

    /// Closes the open set and writes the header for an export at wall-clock `nowMs`. The
    /// message now belongs to the stream: sequence numbers advance past it, whether it leaves
    /// at once or waits in the send queue.
    mutating func finish(_ message: inout MessageWriter, nowMs: UInt64)

    /// Writes a whole message of options records (their templates, then their data) describing
    /// the exporting process; false when the format has no options (NetFlow v5).
    mutating func writeOptions(_ options: ExportOptions, to message: inout MessageWriter, nowMs: UInt64) -> Bool
}

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

/// Zero padding that brings a set of `length` bytes to a 4-byte boundary (IPFIX §3.3.1 allows
/// it; NetFlow v9 §5.3 asks for it).
@inline(__always)
func padding4(_ length: Int) -> Int { (4 - length % 4) % 4 }

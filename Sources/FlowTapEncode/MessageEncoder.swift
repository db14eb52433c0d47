import FlowTapBase
import FlowTapMeter

/// A window of bytes an encoder writes one export message into. The sender's IP and UDP
/// headers go in front of `base`, so a finished message is sent without a copy.
///
/// Every write is checked against `capacity` (the MTU less the IP and UDP headers): one that
/// would not fit writes nothing and marks the message `overflowed`, and the exporter never
/// sends an overflowed message, so no datagram exceeds `--mtu` and nothing is written past the
/// buffer. Encoders test `fits` first; the check is what holds when they miscount.
public struct MessageWriter {
    public let base: UnsafeMutableRawPointer
    /// The largest message: the MTU less the IP and UDP headers.
    public let capacity: Int
    /// Bytes written. Encoders may move it back (to rewrite a message) but not past `capacity`.
    public var count = 0 {
        didSet { if count > capacity || count < 0 { count = oldValue; overflowed = true } }
    }
    /// A write did not fit: the message must not be sent.
    public private(set) var overflowed = false

    public init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = max(0, capacity)
    }

    public var remaining: Int { capacity - count }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Whether `n` more bytes fit; marks the message overflowed when they do not.
    @inline(__always) public mutating func reserve(_ n: Int) -> Bool {
        if n >= 0 && n <= capacity - count { return true }
        overflowed = true
        return false
    }

    /// Whether `n` bytes at `offset` lie inside what has been written.
    @inline(__always) mutating func within(_ offset: Int, _ n: Int) -> Bool {
        if offset >= 0 && n <= count - offset { return true }
        overflowed = true
        return false
    }

    @inline(__always) public mutating func append8(_ v: UInt8) {
        guard reserve(1) else { return }
        base.storeBytes(of: v, toByteOffset: count, as: UInt8.self); count += 1
    }
    @inline(__always) public mutating func append16(_ v: UInt16) {
        guard reserve(2) else { return }; base.put16(v, at: count); count += 2
    }
    @inline(__always) public mutating func append32(_ v: UInt32) {
        guard reserve(4) else { return }; base.put32(v, at: count); count += 4
    }
    @inline(__always) public mutating func append64(_ v: UInt64) {
        guard reserve(8) else { return }; base.put64(v, at: count); count += 8
    }
    /// Four bytes in memory order (an IPv4 address as the key holds it).
    @inline(__always) public mutating func appendRaw32(_ v: UInt32) {
        guard reserve(4) else { return }
        base.storeBytes(of: v, toByteOffset: count, as: UInt32.self); count += 4
    }
    @inline(__always) public mutating func appendZeros(_ n: Int) {
        guard reserve(n) else { return }
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        count += n
    }

    /// Overwrites bytes already written: header fields and set lengths.
    @inline(__always) public mutating func set8(_ v: UInt8, at offset: Int) {
        guard within(offset, 1) else { return }
        base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
    }
    @inline(__always) public mutating func set16(_ v: UInt16, at offset: Int) {
        guard within(offset, 2) else { return }; base.put16(v, at: offset)
    }
    @inline(__always) public mutating func set32(_ v: UInt32, at offset: Int) {
        guard within(offset, 4) else { return }; base.put32(v, at: offset)
    }

    /// Writes `record` as `layout` says, at the end.
    @inline(__always)
    mutating func append(_ record: borrowing FlowRecord, as layout: RecordLayout, context: EncodingContext) {
        guard reserve(layout.recordLength) else { return }
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

    /// Where the stream's numbering stands: what a process that takes over the export must go
    /// on from, so that the collector sees one stream with no sequence gap.
    var stream: StreamState { get set }
}

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

extension MessageEncoder {
    /// Bytes of the options message this encoder writes (0 for a format without options): a
    /// smaller MTU could not carry it, so the configuration counts it in the minimum MTU.
    public var optionsMessageLength: Int {
        var scratch = self
        let capacity = 65536
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var writer = MessageWriter(base: buffer, capacity: capacity)
        return scratch.writeOptions(ExportOptions(), to: &writer, nowMs: 0) ? writer.count : 0
    }

    /// The largest message this configuration can need: one record of the largest layout,
    /// all templates, or the options message.
    public var largestRequiredMessage: Int { max(minimumMessageLength, optionsMessageLength) }
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

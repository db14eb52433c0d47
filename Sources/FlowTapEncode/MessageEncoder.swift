import FlowTapBase
import FlowTapInspect
import FlowTapMeter

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

    /// Appends one record (or, in NetFlow v5, the records it must be split into). A labelled
    /// flow's record goes with its application fields (`detail`: what its first bytes gave,
    /// nil for a label alone) in a template of its own, where the format has templates.
    mutating func append(
        _ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, to message: inout MessageWriter
    ) -> AppendResult

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

extension MessageEncoder {
    /// A record without application fields.
    public mutating func append(_ record: borrowing FlowRecord, to message: inout MessageWriter) -> AppendResult {
        append(record, detail: nil, to: &message)
    }

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

/// Zero padding that brings a set of `length` bytes to a 4-byte boundary (IPFIX §3.3.1 allows
/// it; NetFlow v9 §5.3 asks for it).
@inline(__always)
func padding4(_ length: Int) -> Int { (4 - length % 4) % 4 }

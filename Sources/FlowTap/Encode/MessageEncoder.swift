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

    @inline(__always) public mutating func append16(_ v: UInt16) { base.put16(v, at: count); count += 2 }
    @inline(__always) public mutating func append32(_ v: UInt32) { base.put32(v, at: count); count += 4 }
    @inline(__always) public mutating func appendZeros(_ n: Int) {
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        count += n
    }
}

/// One export format: how a message starts, how records are packed into it, how it ends.
/// Encoders know nothing of sockets; per-collector state (templates, sequence numbers) lives
/// in the encoder value each collector owns. Adding a format means adding a conforming type.
public protocol MessageEncoder {
    /// Bytes of the largest message a record set can need besides the headers: used to reject
    /// an MTU that could not carry one record, or the templates.
    static func minimumMessageLength(layouts: [RecordLayout?]) -> Int

    /// Starts a message: reserves the header; with `withTemplates`, writes every template first.
    mutating func begin(_ message: inout MessageWriter, withTemplates: Bool)

    /// Appends one record; false when it would not fit (the message is left unchanged).
    mutating func append(_ record: borrowing FlowRecord, to message: inout MessageWriter) -> Bool

    /// True when the message holds nothing but its header.
    func isEmpty(_ message: borrowing MessageWriter) -> Bool

    /// Closes the open set and writes the header for an export at `exportTimeSeconds` (Unix).
    mutating func finish(_ message: inout MessageWriter, exportTimeSeconds: UInt32)

    /// The finished message was sent: advance sequence numbers. Not called when sending failed.
    mutating func commit()

    /// Data records carried by the message being built.
    var recordsInMessage: Int { get }
}

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
    @inline(__always) public mutating func append(bytes: UnsafeRawBufferPointer) {
        guard reserve(bytes.count) else { return }
        if let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
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

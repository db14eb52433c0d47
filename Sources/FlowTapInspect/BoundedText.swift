/// Bytes of a field a parser copied out of a packet (a server name, an ALPN protocol, a
/// fingerprint), in place, at most `capacity` of them: no allocation, a fixed size in whatever
/// holds it. A longer value keeps its first `capacity` bytes and says it was cut.
public struct BoundedText<let capacity: Int>: Sendable, Equatable, BitwiseCopyable {
    public private(set) var bytes = InlineArray<capacity, UInt8>(repeating: 0)
    public private(set) var count = 0
    /// The value was longer than `capacity`: only its start is here.
    public private(set) var truncated = false

    /// Inlinable, as `withBytes`, so that a caller in another module gets them
    /// for its own capacity: a generic call there zeroes and reads the bytes one value-witness
    /// call at a time (perf on `read` of a capture rich in TLS: 4 % of the time in them).
    @inlinable public init() {}

    public init(_ text: String) {
        self.init()
        for byte in text.utf8 { append(byte) }
    }

    public var isEmpty: Bool { count == 0 }

    /// Empty again, without zeroing the bytes (past `count` they mean nothing).
    public mutating func clear() {
        count = 0
        truncated = false
    }

    /// Appends one byte, or marks the text cut when it is full.
    public mutating func append(_ byte: UInt8) {
        guard count < capacity else {
            truncated = true
            return
        }
        bytes[count] = byte
        count += 1
    }

    /// Appends `length` bytes at `start`, as many as there is room for (the text marked cut
    /// when some are left out): one copy, where a byte at a time checked the room for each.
    public mutating func append(_ start: UnsafeRawPointer, length: Int) {
        let n = max(0, min(length, capacity - count))
        let at = count
        var span = bytes.mutableSpan
        span.withUnsafeMutableBytes {
            if let base = $0.baseAddress { (base + at).copyMemory(from: start, byteCount: n) }
        }
        count += n
        if n < length { truncated = true }
    }

    /// Replaces the text with `length` bytes at `start` (its first `capacity`, marked cut).
    public mutating func set(_ start: UnsafeRawPointer, length: Int) {
        let n = max(0, min(length, capacity))
        var span = bytes.mutableSpan
        span.withUnsafeMutableBytes { if let base = $0.baseAddress { base.copyMemory(from: start, byteCount: n) } }
        count = n
        truncated = length > capacity
    }

    /// The same, with `truncated` as given (a text kept elsewhere, put back).
    public mutating func set(_ start: UnsafeRawPointer, length: Int, truncated cut: Bool) {
        set(start, length: length)
        truncated = cut || length > capacity
    }

    /// The text's bytes, in place.
    @inlinable public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.span.withUnsafeBytes { body(UnsafeRawBufferPointer(start: $0.baseAddress, count: count)) }
    }

    /// The bytes as a String, invalid UTF-8 replaced (for the operator's view and the tests).
    public var string: String {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for i in 0 ..< count { out.append(bytes[i]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func == (a: Self, b: Self) -> Bool {
        guard a.count == b.count, a.truncated == b.truncated else { return false }
        for i in 0 ..< a.count where a.bytes[i] != b.bytes[i] { return false }
        return true
    }
}

import FlowTapBase
import Glibc

/// The first HTTP/1.x request of a client's stream, or the status line of a server's (RFC 9112
/// §3, §4), on any port. A request is recognised by its request line (a method token, one
/// space, a target, one space, "HTTP/1." and a digit, CRLF or LF) and read up to the end of its
/// header section, which must come within `maxHead` bytes; Host and User-Agent are taken from
/// the header fields. A stream that does not start that way is not HTTP.
public enum HTTPMessage {
    /// The most bytes of a request head waited for.
    public static let maxHead = 4096

    public enum Outcome: Sendable, Equatable {
        case request(HTTPFacts)
        /// A response's status code.
        case response(UInt16)
        case incomplete(bytes: Int)
        case notHTTP
        case malformed(InspectIssue)
    }

    /// The request at the start of a client's stream.
    public static func request(_ stream: UnsafeRawBufferPointer) -> Outcome {
        var facts = HTTPFacts()
        switch request(stream, into: &facts) {
        case .found: return .request(facts)
        case let .incomplete(bytes): return .incomplete(bytes: bytes)
        case .notThis: return .notHTTP
        case let .malformed(issue): return .malformed(issue)
        }
    }

    /// The status code of the response at the start of a server's stream.
    public static func response(_ stream: UnsafeRawBufferPointer) -> Outcome {
        var facts = HTTPFacts()
        switch response(stream, into: &facts) {
        case .found: return .response(facts.status)
        case let .incomplete(bytes): return .incomplete(bytes: bytes)
        case .notThis: return .notHTTP
        case let .malformed(issue): return .malformed(issue)
        }
    }

    /// The request at the start of a client's stream, its facts into `facts` (cleared first).
    public static func request(_ stream: UnsafeRawBufferPointer, into facts: inout HTTPFacts) -> ParseStep {
        facts.clear()
        guard let p = stream.baseAddress, !stream.isEmpty else { return .incomplete(bytes: 1) }
        let n = min(stream.count, maxHead)
        // The method: a token of upper-case letters (every registered method is), then a space.
        var at = 0
        while at < n && at < 16, isMethodCharacter(p.u8(at)) { at += 1 }
        guard at < n else { return at < 16 && stream.count < maxHead ? .incomplete(bytes: n + 1) : .notThis }
        guard at > 0, p.u8(at) == UInt8(ascii: " ") else { return .notThis }
        facts.method.set(p, length: at)
        at += 1
        let targetStart = at
        while at < n, p.u8(at) > 0x20, p.u8(at) < 0x7F { at += 1 }
        guard at < n else { return stream.count < maxHead ? .incomplete(bytes: n + 1) : .malformed(.httpHeadTooLarge) }
        guard at > targetStart, p.u8(at) == UInt8(ascii: " ") else { return .notThis }
        facts.target.set(p + targetStart, length: at - targetStart)
        at += 1
        // "HTTP/1.x" and the line's end.
        guard at + 8 <= n else { return stream.count < maxHead ? .incomplete(bytes: at + 10) : .notThis }
        guard matches(p + at, "HTTP/1."), (0x30 ... 0x39).contains(p.u8(at + 7)) else { return .notThis }
        facts.version.set(p + at, length: 8)
        at += 8
        guard let lineEnd = endOfLine(p, from: at, to: n) else {
            return stream.count < maxHead ? .incomplete(bytes: n + 1) : .notThis
        }
        guard lineEnd.start == at else { return .notThis }
        at = lineEnd.next
        // Header fields, to the empty line.
        while true {
            guard let line = endOfLine(p, from: at, to: n) else {
                return stream.count < maxHead ? .incomplete(bytes: n + 1) : .malformed(.httpHeadTooLarge)
            }
            if line.start == at { return .found }
            field(p, from: at, to: line.start, into: &facts)
            at = line.next
        }
    }

    /// The status code of the response at the start of a server's stream, into `facts.status`
    /// (the facts cleared first).
    public static func response(_ stream: UnsafeRawBufferPointer, into facts: inout HTTPFacts) -> ParseStep {
        facts.clear()
        guard let p = stream.baseAddress else { return .incomplete(bytes: 12) }
        guard stream.count >= 12 else { return .incomplete(bytes: 12) }
        guard matches(p, "HTTP/1."), (0x30 ... 0x39).contains(p.u8(7)), p.u8(8) == UInt8(ascii: " ") else {
            return .notThis
        }
        var status: UInt16 = 0
        for i in 9 ..< 12 {
            let d = p.u8(i)
            guard (0x30 ... 0x39).contains(d) else { return .notThis }
            status = status * 10 + UInt16(d - 0x30)
        }
        facts.status = status
        return .found
    }

    static func isMethodCharacter(_ c: UInt8) -> Bool { (0x41 ... 0x5A).contains(c) || c == UInt8(ascii: "-") }

    static func matches(_ p: UnsafeRawPointer, _ text: StaticString) -> Bool {
        for i in 0 ..< text.utf8CodeUnitCount where p.u8(i) != text.utf8Start[i] { return false }
        return true
    }

    /// The next line end at or after `from`: where the line's text ends (before CR LF or LF)
    /// and where the next line starts; nil when no LF comes before `to`.
    static func endOfLine(_ p: UnsafeRawPointer, from: Int, to: Int) -> (start: Int, next: Int)? {
        guard let i = find(0x0A, p, from: from, to: to) else { return nil }
        return (i > from && p.u8(i - 1) == 0x0D ? i - 1 : i, i + 1)
    }

    /// Where `byte` first is in `p[from ..< to]`: memchr, whose vector loop takes a header
    /// line in a few steps where a byte a step took one each (callgrind).
    @inline(__always)
    static func find(_ byte: UInt8, _ p: UnsafeRawPointer, from: Int, to: Int) -> Int? {
        guard from < to, let hit = memchr(p + from, Int32(byte), to - from) else { return nil }
        return p.distance(to: UnsafeRawPointer(hit))
    }

    /// A header field line: Host and User-Agent, their names in any case, their values without
    /// the whitespace around them (RFC 9110 §5.5).
    static func field(_ p: UnsafeRawPointer, from: Int, to: Int, into facts: inout HTTPFacts) {
        guard let colon = find(UInt8(ascii: ":"), p, from: from, to: to) else { return }
        var start = colon + 1
        var end = to
        while start < end && (p.u8(start) == 0x20 || p.u8(start) == 0x09) { start += 1 }
        while end > start && (p.u8(end - 1) == 0x20 || p.u8(end - 1) == 0x09) { end -= 1 }
        if named(p, from: from, to: colon, "host") && facts.host.isEmpty {
            facts.host.set(p + start, length: end - start)
        } else if named(p, from: from, to: colon, "user-agent") && facts.userAgent.isEmpty {
            facts.userAgent.set(p + start, length: end - start)
        }
    }

    /// The field name in `p[from ..< to]` is `lower`, in any case.
    static func named(_ p: UnsafeRawPointer, from: Int, to: Int, _ lower: StaticString) -> Bool {
        guard to - from == lower.utf8CodeUnitCount else { return false }
        for i in 0 ..< lower.utf8CodeUnitCount where p.u8(from + i) | 0x20 != lower.utf8Start[i] { return false }
        return true
    }
}

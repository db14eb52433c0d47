/// The fields a flow's first bytes gave, for its records: a flow is one application, so one of
/// the parsers' facts. A plain value of fixed size (no reference inside), so that it can live in
/// the shared memory a handover keeps and cross a ring between threads by copy.
///
/// Packed: the numbers first, then the texts one after another in `text`, in the facts' order
/// (`text(_:_:)`), each with its length. The parsers' facts keep each text in a buffer of its own
/// bound (a server name 255 bytes, ALPN 32, ...); here a record's texts take what they use, so
/// that `copy(_:to:)` moves only those bytes: the label slots, the ring to the export thread and
/// its store copy a server name's few dozen bytes, not the 880 bytes the facts' buffers took
/// (callgrind and perf on `read` of a capture rich in named flows: the copies of those buffers,
/// mostly out of the caches, were the largest part of what naming cost). The bounds are the
/// facts' own, so nothing is cut that was not cut before.
///
/// Invariants: `lengths[i]` is 0 for a slot the kind does not have and at most its facts'
/// bound; `text` holds the slots' bytes from its start, without gaps, at most `textCapacity`
/// of them (HTTP's bounds add up to it). Bytes of `text` past the last slot's end mean nothing
/// (a copy leaves them as they were): `==` and every reader stop at the end. Readers clamp to
/// the value's size all the same, as labels are read from shared memory a predecessor wrote.
public struct ApplicationDetail: Sendable, BitwiseCopyable {
    public enum Facts: Sendable, Equatable, BitwiseCopyable {
        case none
        case tls(ClientHelloFacts)
        case http(HTTPFacts)
        case dns(DNSFacts)
    }

    public var application: ApplicationID
    /// Which facts: 0 none, 1 TLS, 2 HTTP, 3 DNS (`factsKind`).
    @usableFromInline var kind: UInt8 = 0
    /// Bit i: text slot i was cut at its bound.
    @usableFromInline var cut: UInt8 = 0
    /// DNS: a response's code is known (`DNSFacts.responseCode` non-nil), and the code.
    @usableFromInline var hasCode = false
    @usableFromInline var code: UInt8 = 0
    /// TLS: the version offered; HTTP: the status; DNS: the query type.
    @usableFromInline var number: UInt16 = 0
    /// DNS: the message ID.
    @usableFromInline var dnsID: UInt16 = 0
    /// TLS over QUIC: the QUIC version.
    @usableFromInline var quicVersion: UInt32 = 0
    @usableFromInline var lengths = InlineArray<5, UInt16>(repeating: 0)
    /// The texts, packed; the last stored property, so that a copy may stop where they do.
    @usableFromInline var text = InlineArray<789, UInt8>(repeating: 0)

    public init(_ application: ApplicationID, _ facts: Facts = .none) {
        self.application = application
        self.facts = facts
    }

    /// The texts' room: HTTP's bounds, the largest kind's (16 + 255 + 255 + 8 + 255;
    /// ApplicationDetailTests packs every kind's texts full).
    @usableFromInline static let textCapacity = 789

    /// Where the texts start in the value, and so the bytes of the value before them: `text` is
    /// the last stored property and a byte array, so the value's size ends with it (a constant
    /// the compiler folds; ApplicationDetailTests checks it against the property's offset).
    @inlinable static var textOffset: Int { MemoryLayout<ApplicationDetail>.size - textCapacity }

    /// The shape of the value, for the shared state's layout number: its stride, each stored
    /// property's offset, and the texts' room.
    public static var layout: [Int] {
        let fields: [PartialKeyPath<ApplicationDetail>] = [
            \.application, \.kind, \.cut, \.hasCode, \.code, \.number, \.dnsID, \.quicVersion, \.lengths, \.text
        ]
        return [MemoryLayout<Self>.stride] + fields.map { MemoryLayout<Self>.offset(of: $0) ?? -1 } + [textCapacity]
    }

    /// The bytes of the value that mean something: the numbers and the texts in use.
    @inlinable @inline(__always) public var usedBytes: Int { Self.textOffset + textBytes }

    /// The texts' bytes in use: every slot's length, within the texts' room (at least what
    /// `forEachText` hands out, whatever its count). Always inlined, as `usedBytes`: reached
    /// through `pointee` from another module, a call would copy all 816 bytes to ask.
    @inlinable @inline(__always) public var textBytes: Int {
        var n = 0
        for i in 0 ..< 5 { n += Int(lengths[i]) }
        return min(n, Self.textCapacity)
    }

    /// `source`'s value at `target`, its `usedBytes` copied (the rest of `target` keeps what it
    /// held, which means nothing).
    @inlinable public static func copy(_ source: UnsafePointer<Self>, to target: UnsafeMutablePointer<Self>) {
        UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: source.pointee.usedBytes)
    }

    /// Which of the parsers' facts these are: 0 none, 1 TLS, 2 HTTP, 3 DNS.
    @inlinable public var factsKind: Int { Int(kind) }

    /// The parsers' facts, unpacked (the operator's view, the tests) and packed.
    public var facts: Facts {
        get {
            switch kind {
            case 1:
                var t = ClientHelloFacts()
                unpack(0, into: &t.serverName)
                unpack(1, into: &t.alpn)
                unpack(2, into: &t.ja4)
                t.version = number
                t.quicVersion = quicVersion
                return .tls(t)
            case 2:
                var h = HTTPFacts()
                unpack(0, into: &h.method)
                unpack(1, into: &h.host)
                unpack(2, into: &h.target)
                unpack(3, into: &h.version)
                unpack(4, into: &h.userAgent)
                h.status = number
                return .http(h)
            case 3:
                var d = DNSFacts()
                unpack(0, into: &d.queryName)
                d.queryType = number
                d.responseCode = hasCode ? code : nil
                d.id = dnsID
                return .dns(d)
            default:
                return .none
            }
        }
        set {
            switch newValue {
            case .none: Self.clear(&self, kind: 0)
            case let .tls(t):
                withUnsafeMutablePointer(to: &self) { p in withUnsafePointer(to: t) { Self.pack(p, tls: $0) } }
            case let .http(h):
                withUnsafeMutablePointer(to: &self) { p in withUnsafePointer(to: h) { Self.pack(p, http: $0) } }
            case let .dns(d):
                withUnsafeMutablePointer(to: &self) { p in withUnsafePointer(to: d) { Self.pack(p, dns: $0) } }
            }
        }
    }

    // Packing is done at an address (the flow's `found` slot), never through a mutating call on
    // `pointee`: that copied the facts once more, and Swift 6.3.1's ThreadSanitizer build broke
    // on it (an invalid bitcast in LLVM's verifier) where the pointer was a noncopyable struct's
    // stored property.

    /// `application` without fields, at `target`.
    public static func set(_ target: UnsafeMutablePointer<Self>, _ application: ApplicationID) {
        target.pointee.application = application
        clear(&target.pointee, kind: 0)
    }

    /// `application` with TLS's facts, packed at `target`. The facts by address: passed as a
    /// value from where the parser left them, they were copied whole first.
    public static func set(
        _ target: UnsafeMutablePointer<Self>, _ application: ApplicationID, tls t: UnsafePointer<ClientHelloFacts>
    ) {
        target.pointee.application = application
        pack(target, tls: t)
    }

    public static func set(
        _ target: UnsafeMutablePointer<Self>, _ application: ApplicationID, http h: UnsafePointer<HTTPFacts>
    ) {
        target.pointee.application = application
        pack(target, http: h)
    }

    public static func set(
        _ target: UnsafeMutablePointer<Self>, _ application: ApplicationID, dns d: UnsafePointer<DNSFacts>
    ) {
        target.pointee.application = application
        pack(target, dns: d)
    }

    /// HTTP with only a response's status.
    public static func set(_ target: UnsafeMutablePointer<Self>, _ application: ApplicationID, status: UInt16) {
        target.pointee.application = application
        clear(&target.pointee, kind: 2)
        target.pointee.number = status
    }

    private static func clear(_ d: inout Self, kind: UInt8) {
        d.kind = kind
        d.cut = 0
        d.hasCode = false
        d.code = 0
        d.number = 0
        d.dnsID = 0
        d.quicVersion = 0
        d.lengths = .init(repeating: 0)
    }

    private static func pack(_ target: UnsafeMutablePointer<Self>, tls t: UnsafePointer<ClientHelloFacts>) {
        clear(&target.pointee, kind: 1)
        var at = 0
        pack(target, 0, t.pointee.serverName, &at)
        pack(target, 1, t.pointee.alpn, &at)
        pack(target, 2, t.pointee.ja4, &at)
        target.pointee.number = t.pointee.version
        target.pointee.quicVersion = t.pointee.quicVersion
    }

    private static func pack(_ target: UnsafeMutablePointer<Self>, http h: UnsafePointer<HTTPFacts>) {
        clear(&target.pointee, kind: 2)
        var at = 0
        pack(target, 0, h.pointee.method, &at)
        pack(target, 1, h.pointee.host, &at)
        pack(target, 2, h.pointee.target, &at)
        pack(target, 3, h.pointee.version, &at)
        pack(target, 4, h.pointee.userAgent, &at)
        target.pointee.number = h.pointee.status
    }

    private static func pack(_ target: UnsafeMutablePointer<Self>, dns d: UnsafePointer<DNSFacts>) {
        clear(&target.pointee, kind: 3)
        var at = 0
        pack(target, 0, d.pointee.queryName, &at)
        target.pointee.number = d.pointee.queryType
        target.pointee.hasCode = d.pointee.responseCode != nil
        target.pointee.code = d.pointee.responseCode ?? 0
        target.pointee.dnsID = d.pointee.id
    }

    /// Text `t` into slot `slot` at `at`. Each kind's bounds add up to no more than the room
    /// (ApplicationDetailTests packs every kind full).
    private static func pack<let n: Int>(
        _ target: UnsafeMutablePointer<Self>, _ slot: Int, _ text: borrowing BoundedText<n>, _ at: inout Int
    ) {
        let start = at
        let count = text.withBytes { bytes in
            if let from = bytes.baseAddress {
                (UnsafeMutableRawPointer(target) + textOffset + start).copyMemory(from: from, byteCount: bytes.count)
            }
            return bytes.count
        }
        target.pointee.lengths[slot] = UInt16(count)
        at += count
        if text.truncated { target.pointee.cut |= UInt8(1 << slot) }
    }

    private func unpack<let n: Int>(_ slot: Int, into t: inout BoundedText<n>) {
        let truncated = cut & UInt8(1 << slot) != 0
        withUnsafePointer(to: self) { p in
            let bytes = Self.text(p, slot)
            guard let base = bytes.baseAddress else { return t.set(p, length: 0, truncated: truncated) }
            t.set(base, length: bytes.count, truncated: truncated)
        }
    }

    /// A biflow record's fields: the initiator's (`self`), with what only the responder's
    /// direction says added (an HTTP status, a DNS response code); the responder's alone when
    /// the initiator's direction named nothing.
    public func merging(_ reverse: ApplicationDetail?) -> ApplicationDetail {
        guard let reverse else { return self }
        if kind == 0 { return reverse }
        var merged = self
        if kind == 2 && reverse.kind == 2 && number == 0 { merged.number = reverse.number }
        if kind == 3 && reverse.kind == 3 && !hasCode {
            merged.hasCode = reverse.hasCode
            merged.code = reverse.code
        }
        return merged
    }

    /// Text slot `slot` of the value at `detail` (the facts' order: TLS server name, ALPN, JA4;
    /// HTTP method, host, target, version, user agent; DNS the question), where it lies: read
    /// in place, valid while the value is. Empty for a slot the kind has not, or without a
    /// value. Inlinable, so that the encoder reads it without a call.
    @inlinable @inline(__always)
    public static func text(_ detail: UnsafePointer<Self>?, _ slot: Int) -> UnsafeRawBufferPointer {
        guard let detail, slot >= 0, slot < 5 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var at = 0
        for i in 0 ..< slot { at += Int(detail.pointee.lengths[i]) }
        // Within the room, whatever the lengths say.
        at = min(at, textCapacity)
        let count = min(Int(detail.pointee.lengths[slot]), textCapacity - at)
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(detail) + textOffset + at, count: count)
    }

    /// The texts of slots `0 ..< count` in order, each as `text(_:_:)` gives it, for an encoder
    /// that writes them one after another: `body` is called once a slot, with the slot's bytes.
    /// One pass over the lengths (`text(_:_:)` sums the ones before its slot each time).
    @inlinable @inline(__always)
    public static func forEachText(
        _ detail: UnsafePointer<Self>, count: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void
    ) {
        var from = UnsafeRawPointer(detail) + textOffset
        var room = textCapacity
        for slot in 0 ..< min(count, 5) {
            let n = min(Int(detail.pointee.lengths[slot]), room)
            body(slot, UnsafeRawBufferPointer(start: from, count: n))
            from += n
            room -= n
        }
    }

    /// The numbers, 0 for a kind that has not the field.
    @inlinable public var tlsVersion: UInt16 { kind == 1 ? number : 0 }
    @inlinable public var httpStatus: UInt16 { kind == 2 ? number : 0 }
    @inlinable public var dnsQueryType: UInt16 { kind == 3 ? number : 0 }
    @inlinable public var dnsResponseCode: UInt8 { kind == 3 ? code : 0 }

    /// The texts, in order (the tests and `==`).
    public var texts: [[UInt8]] {
        withUnsafePointer(to: self) { p in (0 ..< 5).map { Array(Self.text(p, $0)) } }
    }

    /// The name that says most of the flow: the server name, the HTTP host, the DNS question.
    public var name: String {
        let slot: Int
        switch kind {
        case 1, 3: slot = 0
        case 2: slot = 1
        default: return ""
        }
        return withUnsafePointer(to: self) { String(decoding: Self.text($0, slot), as: UTF8.self) }
    }
}

extension ApplicationDetail: Equatable {
    /// Equal in what they mean: the numbers and the texts in use (not the bytes past them).
    public static func == (a: Self, b: Self) -> Bool {
        guard a.application == b.application, a.kind == b.kind, a.cut == b.cut, a.hasCode == b.hasCode,
            a.code == b.code, a.number == b.number, a.dnsID == b.dnsID, a.quicVersion == b.quicVersion
        else { return false }
        for i in 0 ..< 5 where a.lengths[i] != b.lengths[i] { return false }
        return a.texts == b.texts
    }
}

extension Optional where Wrapped == ApplicationDetail {
    /// The fields' address for `body`, nil without fields: the export path passes them by
    /// address.
    @inlinable public func withPointer<R>(_ body: (UnsafePointer<ApplicationDetail>?) -> R) -> R {
        guard let detail = self else { return body(nil) }
        return withUnsafePointer(to: detail) { body($0) }
    }
}

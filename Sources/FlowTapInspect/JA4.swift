import Crypto

/// The JA4 TLS client fingerprint, as FoxIO's published JA4 specification defines it (JA4 is
/// BSD-3-licensed; the other JA4+ methods are not, and flowtap has none of them): the
/// transport, the highest version offered, whether a server name is given, the counts of
/// cipher suites and extensions, the first ALPN value's first and last characters; then a
/// SHA-256 (swift-crypto) of the sorted cipher suites, and one of the sorted extensions but
/// SNI and ALPN followed by the signature algorithms in their order, each cut to 12 hex
/// characters. GREASE values (RFC 8701) are left out everywhere.
public enum JA4 {
    /// RFC 8701's reserved values: 0x0A0A, 0x1A1A, … 0xFAFA.
    @inline(__always)
    public static func isGREASE(_ value: UInt16) -> Bool {
        value & 0x0F0F == 0x0A0A && value >> 8 == value & 0xFF
    }

    /// What the fingerprint is made of, gathered while a hello is read; bounded, so that a
    /// hostile hello costs at most these lists (a hello with more gets no fingerprint).
    public struct Ingredients {
        public static let maxCiphers = 256
        public static let maxExtensions = 96
        public static let maxSignatureAlgorithms = 64

        var transport: UInt8
        var version: UInt16 = 0
        var hasServerName = false
        var ciphers = InlineArray<256, UInt16>(repeating: 0)
        var cipherCount = 0
        var extensions = InlineArray<96, UInt16>(repeating: 0)
        var extensionCount = 0
        var signatureAlgorithms = InlineArray<64, UInt16>(repeating: 0)
        var signatureAlgorithmCount = 0
        /// The first ALPN value's first and last bytes; nil without one.
        var alpn: (first: UInt8, last: UInt8)?
        /// A list was longer than its bound: no fingerprint.
        var overflow = false

        public init(transport: UInt8) { self.transport = transport }

        /// Empty again for another hello: the counts and flags reset, the lists left as they
        /// are (past their counts they mean nothing).
        mutating func reset(transport: UInt8) {
            self.transport = transport
            version = 0
            hasServerName = false
            cipherCount = 0
            extensionCount = 0
            signatureAlgorithmCount = 0
            alpn = nil
            overflow = false
        }

        /// The cipher suites of a hello's list: `bytes` bytes of big-endian values at `p`.
        mutating func ciphers(_ p: UnsafeRawPointer, bytes: Int) {
            if !Self.gather(p, bytes: bytes, into: &ciphers, count: &cipherCount) { overflow = true }
        }

        /// The signature algorithms of a hello's list: `bytes` bytes of big-endian values at `p`.
        mutating func signatureAlgorithms(_ p: UnsafeRawPointer, bytes: Int) {
            if !Self.gather(p, bytes: bytes, into: &signatureAlgorithms, count: &signatureAlgorithmCount) {
                overflow = true
            }
        }

        /// A list's values but GREASE, after the `count` already in `list`, in a loop of loads
        /// and stores: a call a value, each checking the array's bounds, was a third of a hello's
        /// reading (callgrind). False when there were more than `list` holds (it keeps those that
        /// fit).
        @inline(__always)
        static func gather<let n: Int>(
            _ p: UnsafeRawPointer, bytes: Int, into list: inout InlineArray<n, UInt16>, count: inout Int
        ) -> Bool {
            var span = list.mutableSpan
            return span.withUnsafeMutableBufferPointer { list in
                guard let out = list.baseAddress else { return bytes < 2 }
                var kept = min(max(count, 0), list.count)
                defer { count = kept }
                var i = 0
                while i + 2 <= bytes {
                    let value = UInt16(bigEndian: p.loadUnaligned(fromByteOffset: i, as: UInt16.self))
                    i += 2
                    if JA4.isGREASE(value) { continue }
                    guard kept < list.count else { return false }
                    out[kept] = value
                    kept += 1
                }
                return true
            }
        }

        /// A non-GREASE extension's type, in the order of the hello.
        mutating func extensionType(_ value: UInt16) {
            guard extensionCount < Self.maxExtensions else {
                overflow = true
                return
            }
            extensions[extensionCount] = value
            extensionCount += 1
        }

        mutating func alpn(first: UInt8, last: UInt8) {
            if alpn == nil { alpn = (first, last) }
        }

        /// The fingerprint, 36 characters; nothing when a list overflowed. With a `memo`, its
        /// two hashes come from there when these lists gave them before.
        public mutating func write(into text: inout BoundedText<36>, memo: JA4Memo? = nil) {
            guard !overflow else {
                text = BoundedText()
                return
            }
            // Extensions sorted, without SNI (0x0000) and ALPN (0x0010); the signature
            // algorithms stay as they came.
            var kept = 0
            for i in 0 ..< extensionCount where extensions[i] != 0x0000 && extensions[i] != 0x0010 {
                extensions[kept] = extensions[i]
                kept += 1
            }
            JA4.sort(&extensions, count: kept)
            // The memo is keyed by the cipher suites as the hello lists them: a client sends its
            // list in its own order every time (browsers shuffle extensions, not suites), and
            // sorting them was most of what a hit still cost (callgrind). The same key gives the
            // same sorted list, so the same hash.
            var hashes = InlineArray<24, UInt8>(repeating: 0)
            let found = withLists(cipherCount, kept) { key in
                var span = hashes.mutableSpan
                return span.withUnsafeMutableBytes { out in
                    guard let out = out.baseAddress else { return false }
                    return memo?.find(key, into: out) == true
                }
            }
            if !found {
                var span = hashes.mutableSpan
                span.withUnsafeMutableBytes { out in
                    guard let out = out.baseAddress else { return }
                    // The cipher suites sorted, apart (the memo keeps them as they came), and the
                    // hex lists, five characters a value: at most 2 + 5 * 416 bytes. Only a miss
                    // writes them.
                    withUnsafeTemporaryAllocation(of: UInt16.self, capacity: Self.maxCiphers) { sorted in
                        for i in 0 ..< cipherCount { sorted[i] = ciphers[i] }
                        JA4.sort(UnsafeMutableBufferPointer(rebasing: sorted[..<cipherCount]))
                        withUnsafeTemporaryAllocation(byteCount: 2560, alignment: 1) { list in
                            var n = 0
                            for i in 0 ..< cipherCount { JA4.hex(sorted[i], comma: i > 0, into: list, at: &n) }
                            JA4.truncatedHash(
                                UnsafeRawBufferPointer(rebasing: list[..<n]), empty: cipherCount == 0, into: out)
                            n = 0
                            for i in 0 ..< kept { JA4.hex(extensions[i], comma: i > 0, into: list, at: &n) }
                            if signatureAlgorithmCount > 0 {
                                list[n] = UInt8(ascii: "_")
                                n += 1
                                for i in 0 ..< signatureAlgorithmCount {
                                    JA4.hex(signatureAlgorithms[i], comma: i > 0, into: list, at: &n)
                                }
                            }
                            JA4.truncatedHash(
                                UnsafeRawBufferPointer(rebasing: list[..<n]), empty: kept == 0, into: out + 12)
                        }
                    }
                    withLists(cipherCount, kept) { memo?.keep($0, hashes: out) }
                }
            }
            // The 36 characters put together here and set at once: a byte appended at a time,
            // each checked against the text's room, was a third of a hello's fingerprint.
            var out = InlineArray<36, UInt8>(repeating: UInt8(ascii: "_"))
            out[0] = transport
            (out[1], out[2]) = JA4.versionCode(version)
            out[3] = hasServerName ? UInt8(ascii: "d") : UInt8(ascii: "i")
            (out[4], out[5]) = JA4.twoDigits(cipherCount)
            (out[6], out[7]) = JA4.twoDigits(extensionCount)
            (out[8], out[9]) = JA4.alpnCode(alpn)
            for i in 0 ..< 12 {
                out[11 + i] = hashes[i]
                out[24 + i] = hashes[12 + i]
            }
            var span = out.mutableSpan
            span.withUnsafeMutableBytes { if let base = $0.baseAddress { text.set(base, length: 36) } }
        }

        /// `body` with the memo's key: the ciphers, `ciphers` of them, the sorted extensions
        /// (`kept`) and the signature algorithms, where they lie.
        mutating func withLists<R>(_ ciphers: Int, _ kept: Int, _ body: (JA4Memo.Key) -> R) -> R {
            self.ciphers.span.withUnsafeBufferPointer { c in
                extensions.span.withUnsafeBufferPointer { e in
                    signatureAlgorithms.span.withUnsafeBufferPointer { s in
                        body(
                            JA4Memo.Key(
                                ciphers: UnsafeBufferPointer(rebasing: c[..<ciphers]),
                                extensions: UnsafeBufferPointer(rebasing: e[..<kept]),
                                signatures: UnsafeBufferPointer(rebasing: s[..<signatureAlgorithmCount])))
                    }
                }
            }
        }
    }

    /// "13" for TLS 1.3 and so on; "00" for a version the specification does not name.
    static func versionCode(_ version: UInt16) -> (UInt8, UInt8) {
        let code: StaticString =
            switch version {
            case 0x0304: "13"
            case 0x0303: "12"
            case 0x0302: "11"
            case 0x0301: "10"
            case 0x0300: "s3"
            case 0x0002: "s2"
            case 0xFEFF: "d1"
            case 0xFEFD: "d2"
            case 0xFEFC: "d3"
            default: "00"
            }
        return (code.utf8Start[0], code.utf8Start[1])
    }

    /// The first ALPN value's first and last characters when both are ASCII letters or
    /// digits; else the first and last characters of its hex form; "00" without one.
    static func alpnCode(_ alpn: (first: UInt8, last: UInt8)?) -> (UInt8, UInt8) {
        guard let alpn else { return (UInt8(ascii: "0"), UInt8(ascii: "0")) }
        if isAlphanumeric(alpn.first) && isAlphanumeric(alpn.last) { return (alpn.first, alpn.last) }
        return (hexDigit(alpn.first >> 4), hexDigit(alpn.last & 0x0F))
    }

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (0x30 ... 0x39).contains(c) || (0x41 ... 0x5A).contains(c) || (0x61 ... 0x7A).contains(c)
    }

    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// A count as two digits, 99 at most.
    static func twoDigits(_ count: Int) -> (UInt8, UInt8) {
        let n = min(count, 99)
        return (UInt8(ascii: "0") + UInt8(n / 10), UInt8(ascii: "0") + UInt8(n % 10))
    }

    /// `value` as four lower-case hex digits, after a comma unless it is the first.
    static func hex(_ value: UInt16, comma: Bool, into list: UnsafeMutableRawBufferPointer, at n: inout Int) {
        if comma {
            list[n] = UInt8(ascii: ",")
            n += 1
        }
        for shift in stride(from: 12, through: 0, by: -4) {
            list[n] = hexDigit(UInt8(truncatingIfNeeded: value >> UInt16(shift)) & 0x0F)
            n += 1
        }
    }

    /// The first 12 hex characters of the SHA-256 of `list`, at `out`; twelve zeros for an
    /// empty list.
    static func truncatedHash(_ list: UnsafeRawBufferPointer, empty: Bool, into out: UnsafeMutableRawPointer) {
        guard !empty else {
            out.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "0"), count: 12)
            return
        }
        var hasher = SHA256()
        hasher.update(bufferPointer: list)
        hasher.finalize().withUnsafeBytes { bytes in
            for i in 0 ..< 6 {
                out.storeBytes(of: hexDigit(bytes[i] >> 4), toByteOffset: 2 * i, as: UInt8.self)
                out.storeBytes(of: hexDigit(bytes[i] & 0x0F), toByteOffset: 2 * i + 1, as: UInt8.self)
            }
        }
    }

    /// Insertion sort of the first `count` values: at most a few hundred, once per hello. On
    /// the buffer, not the InlineArray: a function generic over the array's size read and wrote
    /// each element through a value-witness call (a third of JA4's cost, callgrind).
    static func sort<let n: Int>(_ values: inout InlineArray<n, UInt16>, count: Int) {
        guard count > 1 else { return }
        var span = values.mutableSpan
        span.withUnsafeMutableBufferPointer { sort(UnsafeMutableBufferPointer(rebasing: $0[..<min(count, $0.count)])) }
    }

    static func sort(_ v: UnsafeMutableBufferPointer<UInt16>) {
        guard v.count > 1 else { return }
        for i in 1 ..< v.count {
            let x = v[i]
            var j = i
            while j > 0 && v[j - 1] > x {
                v[j] = v[j - 1]
                j -= 1
            }
            v[j] = x
        }
    }
}

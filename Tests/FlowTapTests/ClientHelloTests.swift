import XCTest

@testable import FlowTapInspect

/// The ClientHello parser and JA4, against the JA4 specification's own example and against
/// hellos split, cut and broken every way a wire can.
final class ClientHelloTests: XCTestCase {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    /// A ClientHello handshake message (with its 4-byte header).
    static func hello(
        version: UInt16 = 0x0303, sessionID: Int = 32, ciphers: [UInt16],
        extensions: [(UInt16, [UInt8])]?
    ) -> [UInt8] {
        var body = be16(version) + [UInt8](repeating: 0x11, count: 32) + [UInt8(sessionID)]
        body += [UInt8](repeating: 0x22, count: sessionID)
        body += be16(UInt16(ciphers.count * 2)) + ciphers.flatMap(be16) + [1, 0]
        if let extensions {
            let all = extensions.flatMap { be16($0.0) + be16(UInt16($0.1.count)) + $0.1 }
            body += be16(UInt16(all.count)) + all
        }
        return [1, 0] + be16(UInt16(body.count)) + body
    }

    /// `handshake` in TLS records of at most `size` bytes each.
    static func records(_ handshake: [UInt8], size: Int = 16_384) -> [UInt8] {
        var out: [UInt8] = []
        var at = 0
        while at < handshake.count {
            let n = min(size, handshake.count - at)
            out += [0x16, 0x03, 0x01] + be16(UInt16(n)) + handshake[at ..< at + n]
            at += n
        }
        return out
    }

    static func sni(_ name: String) -> (UInt16, [UInt8]) {
        let n = Array(name.utf8)
        return (0x0000, be16(UInt16(n.count + 3)) + [0] + be16(UInt16(n.count)) + n)
    }

    static func alpn(_ names: [String]) -> (UInt16, [UInt8]) {
        let list = names.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
        return (0x0010, be16(UInt16(list.count)) + list)
    }

    static func supportedVersions(_ versions: [UInt16]) -> (UInt16, [UInt8]) {
        (0x002B, [UInt8(versions.count * 2)] + versions.flatMap(be16))
    }

    static func signatureAlgorithms(_ algorithms: [UInt16]) -> (UInt16, [UInt8]) {
        (0x000D, be16(UInt16(algorithms.count * 2)) + algorithms.flatMap(be16))
    }

    func parse(_ stream: [UInt8]) -> ClientHello.Outcome {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: ClientHello.maxHandshake, alignment: 8)
        defer { scratch.deallocate() }
        return stream.withUnsafeBytes { ClientHello.parse($0, scratch: scratch) }
    }

    func facts(_ stream: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> ClientHelloFacts? {
        guard case let .complete(facts) = parse(stream) else {
            XCTFail("not complete: \(parse(stream))", file: file, line: line)
            return nil
        }
        return facts
    }

    /// The JA4 specification's example hello: its ciphers, its extensions in their order (with
    /// SNI and h2), its signature algorithms, TLS 1.3 in supported_versions.
    static let specCiphers: [UInt16] = [
        0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013,
        0xC014, 0x009C, 0x009D, 0x002F, 0x0035
    ]
    static let specExtensionOrder: [UInt16] = [
        0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005,
        0x0023, 0x0012, 0x002B, 0xFF01, 0x000B, 0x000A, 0x0015
    ]
    static let specSignatures: [UInt16] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]

    static func specExtensions(grease: Bool, signatures: Bool = true) -> [(UInt16, [UInt8])] {
        var out: [(UInt16, [UInt8])] = grease ? [(0x1A1A, [])] : []
        for type in specExtensionOrder {
            switch type {
            case 0x0000: out.append(sni("example.com"))
            case 0x0010: out.append(alpn(["h2", "http/1.1"]))
            case 0x002B: out.append(supportedVersions(grease ? [0x3A3A, 0x0304, 0x0303] : [0x0304, 0x0303]))
            case 0x000D:
                if signatures { out.append(signatureAlgorithms(specSignatures)) } else { out.append((0x000D, [0, 0])) }
            default: out.append((type, [0]))
            }
        }
        if grease { out.append((0xFAFA, [0])) }
        return out
    }

    func testTheSpecificationsExample() {
        let hello = Self.hello(ciphers: Self.specCiphers, extensions: Self.specExtensions(grease: false))
        guard let f = facts(Self.records(hello)) else { return }
        XCTAssertEqual(f.ja4.string, "t13d1516h2_8daaf6152771_e5627efa2ab1", "JA4.md's example")
        XCTAssertEqual(f.serverName.string, "example.com")
        XCTAssertEqual(f.alpn.string, "h2")
        XCTAssertEqual(f.version, 0x0304)
    }

    func testGREASEIsLeftOutEverywhere() {
        let hello = Self.hello(
            ciphers: [0x0A0A] + Self.specCiphers + [0xDADA], extensions: Self.specExtensions(grease: true))
        XCTAssertEqual(facts(Self.records(hello))?.ja4.string, "t13d1516h2_8daaf6152771_e5627efa2ab1")
        XCTAssertEqual(facts(Self.records(hello))?.version, 0x0304, "not the GREASE version")
    }

    func testWithoutSignatureAlgorithmsTheSecondHashIsTheExtensionsAlone() {
        // JA4.md: "0005,000a,…,ff01 = 6d807ffa2a79" (the list without signature algorithms).
        let hello = Self.hello(
            ciphers: Self.specCiphers, extensions: Self.specExtensions(grease: false, signatures: false))
        XCTAssertEqual(facts(Self.records(hello))?.ja4.string, "t13d1516h2_8daaf6152771_6d807ffa2a79")
    }

    func testAnOldHelloWithoutExtensions() {
        let hello = Self.hello(version: 0x0301, ciphers: [0x002F, 0x0035], extensions: nil)
        guard let f = facts(Self.records(hello)) else { return }
        XCTAssertTrue(f.serverName.isEmpty)
        XCTAssertEqual(f.version, 0x0301)
        XCTAssertEqual(f.ja4.string.prefix(11), "t10i020000_")
        XCTAssertTrue(f.ja4.string.hasSuffix("_000000000000"), f.ja4.string)
    }

    func testALPNCharactersAsTheSpecificationWritesThem() {
        let cases: [([UInt8], String)] = [
            ([0x68, 0x32], "h2"), (Array("http/1.1".utf8), "h1"), ([0xAB], "ab"),
            ([0x30, 0xAB], "3b"), ([0x61, 0x20], "60"), ([0x63], "cc")
        ]
        for (value, code) in cases {
            let list = [UInt8(value.count)] + value
            let hello = Self.hello(ciphers: [0x1301], extensions: [(0x0010, Self.be16(UInt16(list.count)) + list)])
            XCTAssertEqual(facts(Self.records(hello))?.ja4.string.dropFirst(8).prefix(2), Substring(code), "\(value)")
        }
    }

    func testAHelloOverSeveralRecordsAndSegments() {
        let hello = Self.hello(
            ciphers: Self.specCiphers,
            extensions: Self.specExtensions(grease: false) + [(0xFE0D, [UInt8](repeating: 7, count: 1400))])
        let stream = Self.records(hello, size: 500)
        XCTAssertGreaterThan(stream.count, 1500)
        // Every cut short of the whole says how much is needed; the whole is read.
        for cut in [0, 1, 4, 5, 300, 505, 1000, stream.count - 1] {
            guard case let .incomplete(bytes) = parse(Array(stream.prefix(cut))) else {
                return XCTFail("a stream cut at \(cut) is not complete")
            }
            XCTAssertGreaterThan(bytes, cut)
            XCTAssertLessThanOrEqual(bytes, stream.count)
        }
        XCTAssertEqual(facts(stream)?.ja4.string, "t13d1517h2_8daaf6152771_\(expectedWithECH())")
        XCTAssertEqual(facts(stream)?.serverName.string, "example.com")
    }

    /// The second hash with 0xfe0d (ECH) among the extensions, from the specification's rule.
    func expectedWithECH() -> String {
        let text =
            "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,fe0d,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        var h = [UInt8](repeating: 0, count: 12)
        Array(text.utf8).withUnsafeBytes { list in
            h.withUnsafeMutableBytes { JA4.truncatedHash(list, empty: false, into: $0.baseAddress!) }
        }
        return String(decoding: h, as: UTF8.self)
    }

    /// The memo gives each hello the hashes of its own lists: the same as without it, for hellos
    /// that share lists (hits) and for ones a single value apart, many more than its slots.
    func testTheMemoGivesEveryHelloItsOwnHashes() {
        let memo = JA4Memo.allocate()
        defer { memo.deallocate() }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: ClientHello.maxHandshake, alignment: 8)
        defer { scratch.deallocate() }
        func ja4(_ stream: [UInt8], memo: JA4Memo?) -> String? {
            guard
                case let .complete(f) = stream.withUnsafeBytes({ ClientHello.parse($0, scratch: scratch, memo: memo) })
            else { return nil }
            return f.ja4.string
        }
        var hellos: [[UInt8]] = []
        for i in 0 ..< 300 {
            // One cipher, one extension or one signature algorithm changed, or the ciphers in
            // another order (the memo's key, not the fingerprint's); every tenth the same.
            var ciphers = Self.specCiphers
            var signatures = Self.specSignatures
            var extensions = Self.specExtensions(grease: false)
            switch i % 10 {
            case 0: break
            case 1 ... 3: ciphers[i % 15] = UInt16(0x0100 + i)
            case 4 ... 6: signatures[i % 8] = UInt16(0x0700 + i)
            case 7: ciphers.swapAt(i % 15, (i / 10) % 15)
            default: extensions.append((UInt16(0x7000 + i), [0]))
            }
            extensions = extensions.map { $0.0 == 0x000D ? Self.signatureAlgorithms(signatures) : $0 }
            hellos.append(Self.records(Self.hello(ciphers: ciphers, extensions: extensions)))
        }
        for _ in 0 ..< 2 {
            for hello in hellos {
                let plain = ja4(hello, memo: nil)
                XCTAssertNotNil(plain)
                XCTAssertEqual(ja4(hello, memo: memo), plain)
            }
        }
        XCTAssertEqual(ja4(hellos[0], memo: memo), "t13d1516h2_8daaf6152771_e5627efa2ab1")
        // The same suites in another order: another key, the same fingerprint, twice.
        let reversed = Self.records(
            Self.hello(ciphers: Self.specCiphers.reversed(), extensions: Self.specExtensions(grease: false)))
        XCTAssertEqual(ja4(reversed, memo: memo), "t13d1516h2_8daaf6152771_e5627efa2ab1")
        XCTAssertEqual(ja4(reversed, memo: memo), "t13d1516h2_8daaf6152771_e5627efa2ab1")
        XCTAssertGreaterThan(memo.hits, 29, "the specification's hello, every tenth, is found again")
        XCTAssertGreaterThan(memo.misses, 300, "more distinct lists than slots")
    }

    func testWhatIsNotTLSAndWhatIsBroken() {
        XCTAssertEqual(parse(Array("GET / HTTP/1.1\r\n".utf8)), .notTLS)
        XCTAssertEqual(parse([0x16, 0x02, 0x00, 0x00, 0x10]), .notTLS, "not SSL 3 or TLS")
        XCTAssertEqual(parse([0x16, 0x03, 0x01, 0x00, 0x00]), .malformed(.badTLSRecord), "an empty record")
        XCTAssertEqual(parse([0x16, 0x03, 0x01, 0x40, 0x01]), .malformed(.badTLSRecord), "a record over 2^14")
        XCTAssertEqual(parse(Self.records([2, 0, 0, 40] + [UInt8](repeating: 0, count: 40))), .notTLS, "a ServerHello")
        XCTAssertEqual(
            parse(Self.records([1, 0, 0, 10] + [UInt8](repeating: 0, count: 10))), .malformed(.badClientHello))
        XCTAssertEqual(parse(Self.records([1, 0, 0x40, 0x00])), .malformed(.helloTooLarge), "a 16 KiB hello")
        var badSession = Self.hello(ciphers: [0x1301], extensions: [])
        badSession[4 + 2 + 32] = 33
        XCTAssertEqual(parse(Self.records(badSession)), .malformed(.badClientHello), "a session id over 32 bytes")
        var overrun = Self.hello(ciphers: [0x1301], extensions: [Self.sni("a.example")])
        overrun[overrun.count - 10] = 0xFF
        XCTAssertEqual(parse(Self.records(overrun)), .malformed(.badClientHello), "a name overrunning its list")
    }

    func testGarbageNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        let base = Self.records(Self.hello(ciphers: Self.specCiphers, extensions: Self.specExtensions(grease: true)))
        for i in 0 ..< 3000 {
            var bytes = base
            // Flip a few bytes of a real hello, or make one up.
            if i % 3 == 0 {
                bytes =
                    [0x16, 0x03, 0x01]
                    + (0 ..< Int.random(in: 0 ..< 600, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng)
                    }
            } else {
                for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                    bytes[Int.random(in: 5 ..< bytes.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
                }
            }
            _ = parse(bytes)
        }
    }
}

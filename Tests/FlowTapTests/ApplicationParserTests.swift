import XCTest

@testable import FlowTapInspect

/// The DNS, HTTP/1.x and SSH parsers on messages built byte by byte as the RFCs lay them out,
/// and on their hostile variants: pointer loops, forward pointers, overlong names, heads that
/// never end, text that only looks like a request.
final class ApplicationParserTests: XCTestCase {
    /// A DNS message with one question; `response` sets QR and `rcode`.
    static func dns(_ labels: [String], type: UInt16 = 1, response: Bool = false, rcode: UInt8 = 0, id: UInt16 = 0x1234)
        -> [UInt8]
    {
        let flags: UInt16 = (response ? 0x8180 : 0x0100) | UInt16(rcode)
        var m: [UInt8] = [
            UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 1, 0, 0, 0, 0, 0, 0
        ]
        for l in labels { m += [UInt8(l.utf8.count)] + Array(l.utf8) }
        m += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        return m
    }

    func dnsOutcome(_ bytes: [UInt8]) -> DNSMessage.Outcome { bytes.withUnsafeBytes { DNSMessage.parse($0) } }

    func testADNSQueryAndItsResponse() {
        XCTAssertEqual(
            dnsOutcome(Self.dns(["www", "example", "com"], type: 28)), .query(facts("www.example.com", 28, nil)))
        XCTAssertEqual(
            dnsOutcome(Self.dns(["nowhere", "example"], type: 1, response: true, rcode: 3)),
            .response(facts("nowhere.example", 1, 3)), "NXDOMAIN")
        XCTAssertEqual(dnsOutcome(Self.dns([], type: 2)), .query(facts(".", 2, nil)), "the root")
    }

    func facts(_ name: String, _ type: UInt16, _ rcode: UInt8?) -> DNSFacts {
        var f = DNSFacts()
        f.queryName = BoundedText(name)
        f.queryType = type
        f.responseCode = rcode
        f.id = 0x1234
        return f
    }

    func testDNSOverTCPWithItsLength() {
        let m = Self.dns(["a", "example"])
        let stream = [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m
        XCTAssertEqual(stream.withUnsafeBytes { DNSMessage.parseStream($0) }, .query(facts("a.example", 1, nil)))
        XCTAssertEqual(
            Array(stream.prefix(10)).withUnsafeBytes { DNSMessage.parseStream($0) }, .incomplete(bytes: 14),
            "not yet the header")
        XCTAssertEqual(
            Array(stream.prefix(16)).withUnsafeBytes { DNSMessage.parseStream($0) }, .incomplete(bytes: 17),
            "the question cut")
        XCTAssertEqual([UInt8(0)].withUnsafeBytes { DNSMessage.parseStream($0) }, .incomplete(bytes: 2))
    }

    /// The header and question lead a message: a response longer than any reassembly buffer is
    /// named from its first segment; a stream whose header is not a query's is not waited for.
    func testDNSOverTCPIsReadFromItsFirstBytes() {
        let m = Self.dns(["big", "example"], type: 48, response: true, rcode: 0)
        let length = 20_000
        let first = [UInt8(length >> 8), UInt8(length & 0xFF)] + m + [UInt8](repeating: 0xC0, count: 1400)
        XCTAssertEqual(first.withUnsafeBytes { DNSMessage.parseStream($0) }, .response(facts("big.example", 48, 0)))
        // A TLS ClientHello's record on port 53: read as DNS, its header has opcode 2.
        let tls: [UInt8] =
            [0x16, 0x03, 0x01, 0x02, 0x10, 0x01, 0x00, 0x02, 0x0C, 0x03, 0x03] + [UInt8](repeating: 7, count: 40)
        XCTAssertEqual(tls.withUnsafeBytes { DNSMessage.parseStream($0) }, .malformed(.badDNSMessage))
    }

    func testCompressionPointersAreBoundedAndPointBack() {
        // A pointer to itself, one pointing forward, and a name over 255 bytes.
        var loop = Array(Self.dns(["x"]).prefix(12)) + [0xC0, 12, 0, 1, 0, 1]
        XCTAssertEqual(dnsOutcome(loop), .malformed(.dnsPointerLoop))
        loop = Array(Self.dns(["x"]).prefix(12)) + [0xC0, 20, 0, 1, 0, 1, 0, 0, 1, 0x61, 0]
        XCTAssertEqual(dnsOutcome(loop), .malformed(.dnsPointerLoop), "a forward pointer")
        XCTAssertEqual(
            dnsOutcome(Self.dns([String](repeating: String(repeating: "a", count: 63), count: 5))),
            .malformed(.dnsNameTooLong))
        XCTAssertEqual(dnsOutcome(Self.dns(["a"]).prefix(14).map { $0 }), .malformed(.badDNSMessage), "cut in the name")
        XCTAssertEqual(dnsOutcome([0, 1, 2]), .malformed(.badDNSMessage))
        var noQuestion = Self.dns(["a"])
        noQuestion[5] = 0
        XCTAssertEqual(dnsOutcome(noQuestion), .malformed(.badDNSMessage))
    }

    func request(_ text: String) -> HTTPMessage.Outcome { Array(text.utf8).withUnsafeBytes { HTTPMessage.request($0) } }

    func testAnHTTPRequestAndResponse() {
        let head =
            "GET /index.html?q=1 HTTP/1.1\r\nhost:  www.example.com \r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
        guard case let .request(f) = request(head) else { return XCTFail("\(request(head))") }
        XCTAssertEqual(f.method.string, "GET")
        XCTAssertEqual(f.target.string, "/index.html?q=1")
        XCTAssertEqual(f.version.string, "HTTP/1.1")
        XCTAssertEqual(f.host.string, "www.example.com")
        XCTAssertEqual(f.userAgent.string, "curl/7.88.1")
        // Every cut short of the head's end waits for more.
        for cut in [1, 2, 4, 10, 30, head.utf8.count - 1] {
            let part = Array(head.utf8.prefix(cut)).withUnsafeBytes { HTTPMessage.request($0) }
            guard case let .incomplete(bytes) = part else { return XCTFail("cut at \(cut): \(part)") }
            XCTAssertGreaterThan(bytes, cut)
        }
        XCTAssertEqual(
            Array("HTTP/1.1 404 Not Found\r\n".utf8).withUnsafeBytes { HTTPMessage.response($0) }, .response(404))
        XCTAssertEqual(Array("HTTP/1.0 2".utf8).withUnsafeBytes { HTTPMessage.response($0) }, .incomplete(bytes: 12))
    }

    func testWhatOnlyLooksLikeHTTP() {
        XCTAssertEqual(request("\u{16}\u{3}\u{1}abc"), .notHTTP)
        XCTAssertEqual(request("get / HTTP/1.1\r\n\r\n"), .notHTTP, "methods are upper case")
        XCTAssertEqual(request("GET  / HTTP/1.1\r\n\r\n"), .notHTTP, "two spaces")
        XCTAssertEqual(request("GET / HTTP/2.0\r\n\r\n"), .notHTTP, "not HTTP/1.x")
        XCTAssertEqual(request("GET / HTTP/1.1 x\r\n\r\n"), .notHTTP)
        XCTAssertEqual(request("ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n"), .notHTTP, "a method of 26 letters")
        let endless = "GET / HTTP/1.1\r\n" + String(repeating: "X-Fill: aaaaaaaa\r\n", count: 300)
        XCTAssertEqual(request(endless), .malformed(.httpHeadTooLarge))
        let long = "GET /" + String(repeating: "a", count: 400) + " HTTP/1.1\r\n\r\n"
        guard case let .request(f) = request(long) else { return XCTFail("\(request(long))") }
        XCTAssertEqual(f.target.count, 255)
        XCTAssertTrue(f.target.truncated)
    }

    func testSSHBanners() {
        func banner(_ s: String) -> SSHBanner.Outcome { Array(s.utf8).withUnsafeBytes { SSHBanner.recognise($0) } }
        XCTAssertEqual(banner("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), .ssh)
        XCTAssertEqual(banner("SSH-1.99-x\r\n"), .ssh)
        XCTAssertEqual(banner("SSH-"), .incomplete(bytes: 8))
        XCTAssertEqual(banner("SSH-1.5-old\r\n"), .notSSH)
        XCTAssertEqual(banner("GET /"), .notSSH)
    }

    func testGarbageNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        let seeds = [Self.dns(["www", "example", "com"]), Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)]
        for i in 0 ..< 4000 {
            var bytes = seeds[i % 2]
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                bytes[Int.random(in: 0 ..< bytes.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
            }
            _ = dnsOutcome(bytes)
            _ = bytes.withUnsafeBytes { (HTTPMessage.request($0), HTTPMessage.response($0), SSHBanner.recognise($0)) }
        }
    }
}

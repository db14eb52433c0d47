import Glibc
import XCTest

@testable import FlowTapBase
@testable import FlowTapControl
@testable import FlowTapDecode
@testable import FlowTapExport
@testable import FlowTapMeter
@testable import FlowTapSetup

/// `--metrics`' HTTP, as `HTTPResponder` answers it, and the control thread serving scrapes and
/// control clients from one poll loop over real sockets: keep-alive, HEAD, 404, 405, a head too
/// large, and a client that sends a byte a second holding up nobody.
final class ControlServerTests: XCTestCase {
    let responder = HTTPResponder(scrape: { Array("flowtap_frames_total 1\n".utf8) })

    func answer(_ text: String) -> (status: Int, text: String, close: Bool) {
        let bytes = Array(text.utf8)
        let end = HTTPResponder.headEnd(bytes) ?? bytes.count
        let a = responder.answer(bytes[..<end])
        return (a.status, String(decoding: a.bytes, as: UTF8.self), a.close)
    }

    func testAScrapeAndTheRefusals() {
        let scrape = answer("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n")
        XCTAssertEqual(scrape.status, 200)
        XCTAssertTrue(scrape.text.hasPrefix("HTTP/1.1 200 OK\r\n"), scrape.text)
        XCTAssertTrue(scrape.text.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        XCTAssertTrue(scrape.text.hasSuffix("\r\n\r\nflowtap_frames_total 1\n"))
        XCTAssertTrue(scrape.text.contains("Content-Length: 23\r\n"))
        XCTAssertFalse(scrape.close, "HTTP/1.1 keeps the connection")
        let head = answer("HEAD /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(head.status, 200)
        XCTAssertTrue(head.text.hasSuffix("Content-Length: 23\r\n\r\n"), "the same head, no body: \(head.text)")
        XCTAssertEqual(answer("GET /metrics?x=1 HTTP/1.1\r\n\r\n").status, 200)
        XCTAssertEqual(answer("GET / HTTP/1.1\n\n").status, 200, "bare line feeds")
        XCTAssertEqual(answer("GET /nothing HTTP/1.1\r\n\r\n").status, 404)
        let post = answer("POST /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(post.status, 405)
        XCTAssertTrue(post.text.contains("Allow: GET, HEAD\r\n"))
        XCTAssertEqual(answer("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n").status, 413)
        XCTAssertEqual(answer("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status, 413)
        XCTAssertEqual(answer("GET /metrics HTTP/2.0\r\n\r\n").status, 505)
        XCTAssertEqual(answer("GET\r\n\r\n").status, 400)
        XCTAssertEqual(answer("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n").status, 400)
        XCTAssertTrue(answer("GET /metrics HTTP/1.0\r\n\r\n").close, "HTTP/1.0 closes by default")
        XCTAssertFalse(answer("GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").close)
        XCTAssertTrue(answer("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n").close)
        XCTAssertNil(HTTPResponder.headEnd(Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)), "not complete")
    }

    /// `show stats` of this version reads the answer of a probe started before it (an
    /// upgrade's handover): what that probe does not count is absent, not an error.
    func testStatsWithoutTheStoresCountStillDecode() throws {
        let old = Array(#"{"directions": [], "collectors": []}"#.utf8)
        guard case .success(let stats)? = ControlJSON.decode(StatsAnswer.self, from: old) else {
            return XCTFail("an answer without details_without_room did not decode")
        }
        XCTAssertNil(stats.detailsWithoutRoom)
        let now = Array(#"{"directions": [], "collectors": [], "details_without_room": 3}"#.utf8)
        guard case .success(let counted)? = ControlJSON.decode(StatsAnswer.self, from: now) else {
            return XCTFail("an answer with details_without_room did not decode")
        }
        XCTAssertEqual(counted.detailsWithoutRoom, 3)
    }

    func testGarbageNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 2000 {
            var bytes = (0 ..< Int.random(in: 0 ..< 300, using: &rng)).map { _ in
                UInt8.random(in: 0 ... 255, using: &rng)
            }
            bytes += [13, 10, 13, 10]
            let a = responder.answer(bytes[...])
            XCTAssertTrue([200, 400, 404, 405, 413, 505].contains(a.status), "\(a.status)")
        }
    }

    /// A server on real sockets: a metrics listener on loopback and a control socket, in its
    /// own thread, stopped by its doorbell at the end.
    func withServer(_ body: (UInt16, String, Doorbell) throws -> Void) throws {
        let listener = try MetricsListener(MetricsAddress(host: IPAddress("127.0.0.1"), port: 0))
        let port = SocketAddress.local(of: listener.descriptor)!.port
        let path = temporaryDirectoryPath() + "flowtap-control-\(getpid())-\(port).sock"
        let control = try ControlSocket(path: path)
        defer { unlink(path) }
        let exportThread = ExportThread(rings: [], exporters: [], command: try ThreadCommand())
        let context = ControlContext(
            directions: [(name: "a->b", queue: 0, report: ForwarderReport(), kernelDrops: nil)],
            export: exportThread, requests: MeterRequests(),
            config: ProbeConfiguration(tapA: "a", tapB: "b", collectors: []).answer,
            longestTimeout: ProbeConfiguration.longestInterval)
        let stop = try Doorbell()
        let server = ControlServer(
            socket: control, metrics: listener, scrape: { Array("flowtap_frames_total 1\n".utf8) },
            context: context, stop: stop)
        let threads = ThreadGroup()
        XCTAssertTrue(threads.start(name: "test-control") { server.run() })
        defer {
            stop.ring()
            threads.joinAll()
        }
        try body(port, path, stop)
    }

    func connectTCP(_ port: UInt16) throws -> Descriptor {
        let s = try Descriptor(socket: AF_INET, type: SOCK_STREAM)
        try s.connect(SocketAddress(IPAddress("127.0.0.1")!, port: port))
        return s
    }

    /// Reads until `count` bytes or `seconds` pass.
    func read(_ s: Descriptor, atLeast count: Int, seconds: Double = 3) -> [UInt8] {
        var out: [UInt8] = []
        let deadline = MonotonicClock.nowMs() + UInt64(seconds * 1000)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < count && MonotonicClock.nowMs() < deadline {
            guard SystemCall.pollReadable(s.descriptor, -1, timeoutMs: 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { SystemCall.read(s.descriptor, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            out += buffer.prefix(n)
        }
        return out
    }

    func testKeepAliveHeadAndATooLargeHead() throws {
        try withServer { port, _, _ in
            let s = try connectTCP(port)
            let request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            try s.write(all: Array((request + request + "HEAD /metrics HTTP/1.1\r\n\r\n").utf8))
            let one =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 23\r\n\r\n"
            let expected = one + "flowtap_frames_total 1\n" + one + "flowtap_frames_total 1\n" + one
            XCTAssertEqual(
                String(decoding: read(s, atLeast: expected.utf8.count), as: UTF8.self), expected,
                "two pipelined scrapes and a HEAD on one connection")
            let big = try connectTCP(port)
            try big.write(all: Array(("GET /metrics HTTP/1.1\r\nX-Fill: " + String(repeating: "a", count: 9000)).utf8))
            let refused = String(decoding: read(big, atLeast: 100), as: UTF8.self)
            XCTAssertTrue(refused.hasPrefix("HTTP/1.1 431 "), refused)
        }
    }

    /// A client that sends one byte a second holds up neither a scrape nor the control socket.
    func testASlowClientHoldsUpNobody() throws {
        try withServer { port, path, _ in
            let slow = try connectTCP(port)
            try slow.write(all: Array("GE".utf8))
            for _ in 0 ..< 3 {
                let started = MonotonicClock.nowMs()
                let s = try connectTCP(port)
                try s.write(all: Array("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n".utf8))
                XCTAssertTrue(String(decoding: read(s, atLeast: 100), as: UTF8.self).hasPrefix("HTTP/1.1 200 "))
                let c = try ControlSocket.connect(path)
                try c.write(all: Array("stats\n".utf8))
                let reply = try c.readToEnd()
                XCTAssertTrue(String(decoding: reply, as: UTF8.self).contains("directions"))
                XCTAssertLessThan(MonotonicClock.nowMs() - started, 500, "a scrape and a control request within 0.5 s")
                try slow.write(all: Array("T".utf8))
                usleep(1_000_000)
            }
        }
    }

    /// Stopping (a signal, a successor taking the listeners): a scrape already connected is
    /// answered, and a keep-alive connection with nothing asked is closed at once.
    func testAStoppingServerAnswersWhatItWasAsked() throws {
        try withServer { port, _, stop in
            let idle = try connectTCP(port)
            try idle.write(all: Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
            XCTAssertTrue(String(decoding: read(idle, atLeast: 100), as: UTF8.self).hasPrefix("HTTP/1.1 200 "))
            let inFlight = try connectTCP(port)
            usleep(100_000) // accepted by now
            let stopped = MonotonicClock.nowMs()
            stop.ring()
            usleep(50_000)
            try inFlight.write(all: Array("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n".utf8))
            let answer = String(decoding: read(inFlight, atLeast: 100), as: UTF8.self)
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 "), "the request in flight is answered: \(answer)")
            XCTAssertEqual(read(idle, atLeast: 1, seconds: 1), [], "the idle keep-alive connection is closed")
            XCTAssertLessThan(MonotonicClock.nowMs() - stopped, 1000)
        }
    }
}

/// The temporary directory, with its slash.
func temporaryDirectoryPath() -> String {
    let dir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return dir.hasSuffix("/") ? dir : dir + "/"
}

import XCTest

@testable import FlowTapInspect
@testable import FlowTapMeter

/// The packed fields: every kind's facts come back as they went in, texts at their bounds and
/// cut ones included; a copy moves only the bytes in use and still gives the same value; the
/// offsets the copies rely on are the properties' own.
final class ApplicationDetailTests: XCTestCase {
    static func text<let n: Int>(_ byte: UInt8, _ count: Int) -> BoundedText<n> {
        var t = BoundedText<n>()
        for _ in 0 ..< count { t.append(byte) }
        return t
    }

    /// A text at its own bound, or `over` past it (cut).
    static func full<let n: Int>(_ byte: UInt8, over: Int = 0) -> BoundedText<n> { text(byte, n + over) }

    /// Each kind, with every text full to its facts' bound, some past it (cut).
    static func fullFacts() -> [ApplicationDetail.Facts] {
        var t = ClientHelloFacts()
        t.serverName = full(UInt8(ascii: "s"), over: 1)
        t.alpn = full(UInt8(ascii: "a"))
        t.ja4 = full(UInt8(ascii: "j"))
        t.version = 0x0304
        t.quicVersion = 0x6b33_43cf
        var h = HTTPFacts()
        h.method = full(UInt8(ascii: "M"))
        h.host = full(UInt8(ascii: "h"), over: 45)
        h.target = full(UInt8(ascii: "/"))
        h.version = full(UInt8(ascii: "v"))
        h.userAgent = full(UInt8(ascii: "u"))
        h.status = 404
        var d = DNSFacts()
        d.queryName = full(UInt8(ascii: "q"))
        d.queryType = 257
        d.responseCode = 3
        d.id = 0xBEEF
        var short = DNSFacts()
        short.queryName = BoundedText("example.com")
        return [.none, .tls(t), .http(h), .dns(d), .dns(short)]
    }

    func testEveryKindsFactsComeBackAsTheyWentIn() {
        for facts in Self.fullFacts() {
            let detail = ApplicationDetail(.tls, facts)
            XCTAssertEqual(detail.facts, facts)
            XCTAssertEqual(detail.application, .tls)
        }
        let cut = ApplicationDetail(.http, Self.fullFacts()[2])
        guard case let .http(h) = cut.facts else { return XCTFail("HTTP") }
        XCTAssertTrue(h.host.truncated)
        XCTAssertFalse(h.target.truncated)
        XCTAssertEqual(h.host.count, 255)
        // A query's missing response code stays missing.
        guard case let .dns(q) = ApplicationDetail(.dns, Self.fullFacts()[4]).facts else { return XCTFail("DNS") }
        XCTAssertNil(q.responseCode)
    }

    func testACopyMovesOnlyTheBytesInUseAndGivesTheSameValue() {
        for facts in Self.fullFacts() {
            var source = ApplicationDetail(.dns, facts)
            // A target that held something longer: what lies past the copy means nothing.
            var target = ApplicationDetail(.http, Self.fullFacts()[2])
            withUnsafeMutablePointer(to: &target) { t in
                withUnsafePointer(to: &source) { ApplicationDetail.copy($0, to: t) }
            }
            XCTAssertEqual(target, source)
            XCTAssertEqual(target.facts, facts)
        }
        let dns = ApplicationDetail(.dns, Self.fullFacts()[4])
        XCTAssertEqual(dns.usedBytes, ApplicationDetail.textOffset + "example.com".utf8.count)
        XCTAssertLessThan(dns.usedBytes, 64, "a short question's fields fit one cache line")
    }

    func testTheOffsetsTheCopiesRelyOnAreThePropertiesOwn() {
        XCTAssertEqual(
            MemoryLayout<ApplicationDetail>.offset(of: \ApplicationDetail.text), ApplicationDetail.textOffset)
        // Every kind's texts, full, came back whole above; HTTP's fill the room.
        XCTAssertEqual(
            ApplicationDetail(.http, Self.fullFacts()[2]).usedBytes, MemoryLayout<ApplicationDetail>.size,
            "the texts' room is HTTP's bounds")
        XCTAssertEqual(
            MemoryLayout<RecordDetail>.offset(of: \RecordDetail.detail), DetailRing.detailOffset,
            "a ring slot's fields end the slot")
    }

    /// Lengths that say more than the room (memory a predecessor wrote, damaged): every reader
    /// stays within the value.
    func testLengthsPastTheRoomAreReadWithinIt() {
        var detail = ApplicationDetail(.http, Self.fullFacts()[2])
        for i in 0 ..< 5 { detail.lengths[i] = 60_000 }
        XCTAssertEqual(detail.usedBytes, MemoryLayout<ApplicationDetail>.size)
        withUnsafePointer(to: &detail) { p in
            let start = UnsafeRawPointer(p)
            for slot in 0 ..< 5 {
                let text = ApplicationDetail.text(p, slot)
                let end = (text.baseAddress ?? start) + text.count
                XCTAssertLessThanOrEqual(end, start + MemoryLayout<ApplicationDetail>.size, "slot \(slot)")
            }
        }
        guard case let .http(h) = detail.facts else { return XCTFail("HTTP") }
        XCTAssertEqual(h.method.count, 16, "cut at its bound")
        XCTAssertEqual(h.userAgent.count, 0, "nothing left of the room")
    }

    func testTheFieldsAreReadWhereTheyLie() {
        guard case let .http(h) = Self.fullFacts()[2] else { return XCTFail("HTTP") }
        let detail = ApplicationDetail(.http, .http(h))
        let texts = detail.texts
        XCTAssertEqual(texts[0], Array(repeating: UInt8(ascii: "M"), count: 16))
        XCTAssertEqual(texts[1].count, 255)
        XCTAssertEqual(texts[2], Array(repeating: UInt8(ascii: "/"), count: 255))
        XCTAssertEqual(texts[3], Array("vvvvvvvv".utf8))
        XCTAssertEqual(texts[4].count, 255)
        XCTAssertEqual(detail.httpStatus, 404)
        XCTAssertEqual(detail.tlsVersion, 0, "not the kind's number")
        XCTAssertEqual(detail.name, String(repeating: "h", count: 255))
    }

    func testABiflowTakesTheResponsesStatusAndCode() {
        var request = HTTPFacts()
        request.host = BoundedText("example.com")
        var response = HTTPFacts()
        response.status = 301
        let merged = ApplicationDetail(.http, .http(request)).merging(ApplicationDetail(.http, .http(response)))
        guard case let .http(h) = merged.facts else { return XCTFail("HTTP") }
        XCTAssertEqual(h.status, 301)
        XCTAssertEqual(h.host.string, "example.com")
        var query = DNSFacts()
        query.queryName = BoundedText("a.example")
        var answer = query
        answer.responseCode = 3
        guard
            case let .dns(d) = ApplicationDetail(.dns, .dns(query)).merging(ApplicationDetail(.dns, .dns(answer))).facts
        else { return XCTFail("DNS") }
        XCTAssertEqual(d.responseCode, 3)
        // The initiator named nothing: the responder's fields alone.
        XCTAssertEqual(ApplicationDetail(.tls).merging(ApplicationDetail(.dns, .dns(answer))).facts, .dns(answer))
    }
}

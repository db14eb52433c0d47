import XCTest

@testable import FlowTapEncode
@testable import FlowTapInspect
@testable import FlowTapMeter

/// IPFIX's application fields written in one pass (`ApplicationTemplate.ipfixFields`) are the
/// bytes `ApplicationField.write` puts field by field, for every kind: texts empty, short, at
/// 255 bytes and over (the three-byte length), lengths a predecessor's memory made absurd, and
/// no fields at all.
final class ApplicationTemplateTests: XCTestCase {
    static let layout = RecordLayout.layouts(for: [.l3, .l4], dialect: .ipfix(timestamps: .milliseconds))[0]!

    func details() -> [ApplicationDetail] {
        var all = ApplicationDetailTests.fullFacts().map { ApplicationDetail(.http, $0) }
        var t = ClientHelloFacts()
        t.serverName = BoundedText("www.example.com")
        t.alpn = BoundedText("h2")
        t.version = 0x0304
        all.append(ApplicationDetail(.quic, .tls(t)))
        var h = HTTPFacts()
        h.method = BoundedText("GET")
        h.status = 200
        all.append(ApplicationDetail(.http, .http(h)))
        // Lengths from shared memory that no packing wrote: read within the room.
        var absurd = ApplicationDetail(.tls, .tls(t))
        absurd.lengths[0] = 60_000
        absurd.lengths[2] = 700
        all.append(absurd)
        var dnsWide = DNSFacts()
        dnsWide.queryName = BoundedText("example.org")
        dnsWide.queryType = 257
        dnsWide.responseCode = 3
        all.append(ApplicationDetail(.dns, .dns(dnsWide)))
        return all
    }

    func testOnePassWritesWhatEachFieldWrites() {
        var checked = 0
        for kind in ApplicationField.Kind.allCases {
            let template = ApplicationTemplate(layout: Self.layout, kind: kind, variable: true, avoiding: [])
            var cases: [ApplicationDetail?] = [nil]
            cases += details().filter { ApplicationField.Kind(rawValue: $0.factsKind) == kind }.map { $0 }
            for detail in cases {
                for application: UInt8 in [0, 3, 9] {
                    let (onePass, eachField, length) = detail.withPointer { d in
                        (
                            withMessage {
                                // As the encoder writes them: within the bound, counted as written.
                                ApplicationTemplate.writeIPFIXFields(
                                    template.kind, texts: template.texts, application: application, d,
                                    ApplicationTemplate.ipfixBound(texts: template.texts, d), into: &$0)
                            },
                            withMessage { template.writeEachField(application: application, d, into: &$0) },
                            template.fieldsLength(d)
                        )
                    }
                    XCTAssertEqual(onePass, eachField, "\(kind), application \(application)")
                    XCTAssertEqual(onePass.count, length, "\(kind)")
                    let bound = detail.withPointer { ApplicationTemplate.ipfixBound(texts: template.texts, $0) }
                    XCTAssertGreaterThanOrEqual(bound, length, "\(kind): the bound the encoder checks room for")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 30)
    }

    func testFieldsThatDoNotFitWriteNothing() {
        let template = ApplicationTemplate(layout: Self.layout, kind: .http, variable: true, avoiding: [])
        var detail = ApplicationDetail(.http, ApplicationDetailTests.fullFacts()[2])
        withUnsafePointer(to: &detail) { d in
            let length = template.fieldsLength(d)
            XCTAssertGreaterThan(length, 255)
            var storage = [UInt8](repeating: 0xEE, count: length - 1)
            storage.withUnsafeMutableBytes { raw in
                var m = MessageWriter(base: raw.baseAddress!, capacity: length - 1)
                ApplicationTemplate.writeIPFIXFields(
                    template.kind, texts: template.texts, application: 3, d, length, into: &m)
                XCTAssertTrue(m.overflowed)
                XCTAssertEqual(m.count, 0)
            }
            XCTAssertEqual(Set(storage), [0xEE], "nothing written past a full message")
        }
    }
}

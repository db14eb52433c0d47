import XCTest

@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapInspect
@testable import FlowTapMeter

/// The options that name applicationIds, biflow records' merged fields, and the counters the
/// metrics read (docs/application-visibility.md).
final class ApplicationExportTests: XCTestCase {
    static let layout = NetFlowV9EncoderTests.layout
    static let context = NetFlowV9EncoderTests.context

    /// The sets of a message after its header: (set ID, bytes of the set after its header).
    func sets(_ m: [UInt8], headerLength: Int) -> [(id: UInt16, body: [UInt8])] {
        var out: [(UInt16, [UInt8])] = []
        var at = headerLength
        while at + 4 <= m.count {
            let id = UInt16(m[at]) << 8 | UInt16(m[at + 1])
            let length = Int(m[at + 2]) << 8 | Int(m[at + 3])
            guard length >= 4, at + length <= m.count else { break }
            out.append((id, Array(m[at + 4 ..< at + length])))
            at += length
        }
        XCTAssertEqual(at, m.count, "the sets fill the message")
        return out
    }

    /// One names record per label, fixed-size and zero-padded, as nfdump reads NBAR's: the
    /// applicationId (engine 6, selector), then the name and the description.
    func checkNames(_ body: [UInt8], recordPrefix: Int, file: StaticString = #filePath, line: UInt = #line) {
        let size = recordPrefix + 3 + ApplicationNames.nameLength + ApplicationNames.descriptionLength
        XCTAssertGreaterThanOrEqual(body.count, size * ApplicationID.labelled.count, file: file, line: line)
        for (i, app) in ApplicationID.labelled.enumerated() {
            let r = Array(body[i * size + recordPrefix ..< (i + 1) * size])
            XCTAssertEqual(Array(r[0 ..< 3]), [6, 0, app.rawValue], file: file, line: line)
            let name = r[3 ..< 3 + ApplicationNames.nameLength]
            XCTAssertEqual(String(decoding: name.prefix { $0 != 0 }, as: UTF8.self), app.name, file: file, line: line)
            XCTAssertEqual(name.last, 0, "nfdump ends the string at its last byte", file: file, line: line)
            let description = r[(3 + ApplicationNames.nameLength)...]
            XCTAssertEqual(
                String(decoding: description.prefix { $0 != 0 }, as: UTF8.self), app.description, file: file, line: line
            )
        }
    }

    func testIPFIXOptionsNameEveryApplicationWithoutPaddingTheTemplateSet() {
        let layouts = RecordLayout.layouts(for: [.l3, .l4], dialect: .ipfix(timestamps: .milliseconds))
        var encoder = IPFIXEncoder(
            observationDomain: 1, layouts: layouts, context: Self.context, applications: true)
        var bare = IPFIXEncoder(observationDomain: 1, layouts: layouts, context: Self.context)
        let m = withMessage { XCTAssertTrue(encoder.writeOptions(ExportOptions(), to: &$0, nowMs: 1_700_000_002_000)) }
        let plain = withMessage { XCTAssertTrue(bare.writeOptions(ExportOptions(), to: &$0, nowMs: 1_700_000_002_000)) }
        XCTAssertEqual(m.count - plain.count, ApplicationNames.ipfixLength, "the names take what they are said to")
        let all = sets(m, headerLength: IPFIXEncoder.headerLength)
        let templateSets = all.filter { $0.id == 3 }
        XCTAssertEqual(templateSets.count, 2, "the names' options template in a set of its own, after the others")
        // A template of 6 + 4n bytes: no padding, which python-ipfix would read as a template
        // with ID 0.
        XCTAssertEqual(templateSets.last?.body.count, 6 + 12)
        guard let names = all.first(where: { $0.id == encoder.applicationNames.id }) else {
            return XCTFail("no data set of application names")
        }
        checkNames(names.body, recordPrefix: 0)
    }

    /// At the smallest --mtu the configuration allows, the options message fits without the
    /// names (which the minimum does not count), in both formats.
    func testAtTheMinimumMTUTheNamesStayOut() {
        let ipfixLayouts = RecordLayout.layouts(for: [.l3, .l4], dialect: .ipfix(timestamps: .milliseconds))
        var ipfix = IPFIXEncoder(
            observationDomain: 1, layouts: ipfixLayouts, context: Self.context, applications: true)
        let ipfixMinimum = ExportFormat.ipfix.largestRequiredMessage(
            records: [.l3, .l4], biflow: false, ipfixNtop: false)
        var overflowed = true
        let m = withMessage(capacity: ipfixMinimum) { w in
            XCTAssertTrue(ipfix.writeOptions(ExportOptions(), to: &w, nowMs: 0))
            overflowed = w.overflowed
        }
        XCTAssertFalse(overflowed)
        XCTAssertFalse(sets(m, headerLength: IPFIXEncoder.headerLength).contains { $0.id == ipfix.applicationNames.id })

        var v9 = NetFlowV9Encoder(
            sourceID: 7, layouts: [Self.layout, nil, nil], context: Self.context, applications: true)
        let v9Minimum = ExportFormat.v9.largestRequiredMessage(records: [.l3, .l4], biflow: false, ipfixNtop: false)
        let p = withMessage(capacity: v9Minimum) { w in
            XCTAssertTrue(v9.writeOptions(ExportOptions(), to: &w, nowMs: 0))
            overflowed = w.overflowed
        }
        XCTAssertFalse(overflowed)
        XCTAssertEqual(Array(p[0 ..< 4]), [0, 9, 0, 4], "no names: two options templates and two records")
    }

    func testV9OptionsNameEveryApplicationScopedBySystem() {
        var encoder = NetFlowV9Encoder(
            sourceID: 7, layouts: [Self.layout, nil, nil], context: Self.context, applications: true)
        let m = withMessage { XCTAssertTrue(encoder.writeOptions(ExportOptions(), to: &$0, nowMs: 1_700_000_002_000)) }
        XCTAssertEqual(
            Int(m[2]) << 8 | Int(m[3]), 4 + 1 + ApplicationID.labelled.count,
            "the count: three options templates, two options records and one per label")
        var bare = NetFlowV9Encoder(sourceID: 7, layouts: [Self.layout, nil, nil], context: Self.context)
        let plain = withMessage { XCTAssertTrue(bare.writeOptions(ExportOptions(), to: &$0, nowMs: 1_700_000_002_000)) }
        XCTAssertEqual(m.count - plain.count, ApplicationNames.v9Length, "the names take what they are said to")
        let all = sets(m, headerLength: NetFlowV9Encoder.headerLength)
        let id = encoder.applicationNames.id
        let template = all.first { $0.id == 1 && Array($0.body[0 ..< 2]) == [UInt8(id >> 8), UInt8(id & 0xFF)] }
        XCTAssertEqual(
            template.map { Array($0.body[2 ..< 10]) }, [0, 4, 0, 12, 0, 1, 0, 4],
            "scope System (4 bytes), then three fields (12 bytes of specifiers)")
        guard let names = all.first(where: { $0.id == id }) else { return XCTFail("no names FlowSet") }
        checkNames(names.body, recordPrefix: 4)
        XCTAssertEqual(Array(names.body[0 ..< 4]), [0, 0, 0, 7], "each record scoped by the Source ID")
    }

    /// A template refresh at a small --mtu carries the application templates that fit and
    /// leaves the others to be announced again before their next record: never an overfilled
    /// message (FuzzMeter found one, v9 at --mtu 408).
    func testATemplateRefreshAtASmallMTUNeverOverfills() {
        // Room for each labelled record with its template (DNS, TLS, a label alone), not for
        // all the templates at once (v9, one layout: 20 + 4 + 76 + 4 + 80 + 96 + 92 = 372).
        let capacity = 345
        let minimum = NetFlowV9Encoder(sourceID: 7, layouts: [Self.layout, nil, nil], context: Self.context)
            .largestRequiredMessage
        XCTAssertLessThanOrEqual(minimum, capacity, "an --mtu the configuration allows")
        var encoder = NetFlowV9Encoder(
            sourceID: 7, layouts: [Self.layout, nil, nil], context: Self.context, applications: true)
        var hello = ClientHelloFacts()
        hello.serverName = BoundedText("www.example.test")
        var question = DNSFacts()
        question.queryName = BoundedText("example.test")
        let labelled: [(ApplicationID, ApplicationDetail)] = [
            (.tls, ApplicationDetail(.tls, .tls(hello))), (.dns, ApplicationDetail(.dns, .dns(question))),
            (.ssh, ApplicationDetail(.ssh))
        ]
        var record = IPFIXEncoderTests.tcpRecord()
        var overflowed = false
        func send(_ application: ApplicationID, _ detail: ApplicationDetail) -> AppendResult {
            record.application = application.rawValue
            var result = AppendResult.full
            _ = withMessage(capacity: capacity) { m in
                encoder.begin(&m, withTemplates: false)
                result = withUnsafePointer(to: detail) { encoder.append(record, detail: $0, to: &m) }
                encoder.finish(&m, nowMs: 0)
                overflowed = overflowed || m.overflowed
            }
            return result
        }
        for (application, detail) in labelled {
            XCTAssertEqual(send(application, detail), .appended, "\(application) with its template")
        }
        let refresh = withMessage(capacity: capacity) { m in
            encoder.begin(&m, withTemplates: true)
            encoder.finish(&m, nowMs: 0)
            overflowed = overflowed || m.overflowed
        }
        XCTAssertFalse(overflowed)
        XCTAssertLessThanOrEqual(refresh.count, capacity)
        // Every labelled record still goes out, its template announced again if it was left out.
        for (application, detail) in labelled {
            XCTAssertEqual(send(application, detail), .appended, "\(application) after the refresh")
        }
        XCTAssertFalse(overflowed)
    }

    func testWithoutApplicationFieldsNoNames() {
        var encoder = NetFlowV9Encoder(sourceID: 7, layouts: [Self.layout, nil, nil], context: Self.context)
        let m = withMessage { XCTAssertTrue(encoder.writeOptions(ExportOptions(), to: &$0, nowMs: 1_700_000_002_000)) }
        XCTAssertEqual(Array(m[0 ..< 4]), [0, 9, 0, 4])
    }

    func testABiflowRecordTakesItsResponsesStatusAndCode() {
        var request = HTTPFacts()
        request.method = BoundedText("GET")
        var response = HTTPFacts()
        response.status = 404
        let http = ApplicationDetail(.http, .http(request)).merging(ApplicationDetail(.http, .http(response)))
        guard case let .http(h) = http.facts else { return XCTFail("not HTTP") }
        XCTAssertEqual(h.method.string, "GET")
        XCTAssertEqual(h.status, 404)

        var query = DNSFacts()
        query.queryName = BoundedText("example.test")
        var answer = query
        answer.responseCode = 3
        guard
            case let .dns(d) = ApplicationDetail(.dns, .dns(query)).merging(ApplicationDetail(.dns, .dns(answer))).facts
        else { return XCTFail("not DNS") }
        XCTAssertEqual(d.responseCode, 3)
        XCTAssertEqual(d.queryName.string, "example.test")

        // The initiator named nothing: the responder's fields; nothing from the responder: as is.
        XCTAssertEqual(ApplicationDetail(.tls).merging(ApplicationDetail(.dns, .dns(answer))).application, .dns)
        XCTAssertEqual(ApplicationDetail(.dns, .dns(query)).merging(nil), ApplicationDetail(.dns, .dns(query)))
    }

    func testCountersAddUpAndThePoolsAreThisProcesss() {
        var a = ForwarderCounters()
        a.recordsByApplication[1] = 5
        a.inspectIssues[2] = 1
        a.labels = 64
        a.labelsInUse = 3
        a.reassemblyExhausted = 2
        var b = ForwarderCounters()
        b.recordsByApplication[1] = 7
        b.labels = 64
        b.labelsInUse = 10
        b.reassemblyExhausted = 1
        let sum = a + b
        XCTAssertEqual(sum.recordsByApplication[1], 12)
        XCTAssertEqual(sum.inspectIssues[2], 1)
        XCTAssertEqual(sum.labels, 128)
        let carried = a.carrying(b)
        XCTAssertEqual(carried.recordsByApplication[1], 12, "totals go on from the previous process")
        XCTAssertEqual(carried.reassemblyExhausted, 3)
        XCTAssertEqual(carried.labelsInUse, 3, "what is held now is this table's")
        XCTAssertEqual(carried.labels, 64)
    }
}

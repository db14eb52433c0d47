import XCTest

@testable import FlowTapBase
@testable import FlowTapControl
@testable import FlowTapExport
@testable import FlowTapMeter
@testable import FlowTapSetup

/// `--metrics`: the address forms, and the exposition a scrape returns as the published
/// counters move (read back from the text, as a scraper reads it).
final class MetricsTests: XCTestCase {
    func testMetricsAddressForms() throws {
        XCTAssertEqual(try MetricsAddress(parsing: "9750"), MetricsAddress(host: nil, port: 9750))
        XCTAssertEqual(try MetricsAddress(parsing: "*:9750"), MetricsAddress(host: nil, port: 9750))
        XCTAssertEqual(try MetricsAddress(parsing: ":9750"), MetricsAddress(host: nil, port: 9750))
        XCTAssertEqual(
            try MetricsAddress(parsing: "10.0.0.1:9750"), MetricsAddress(host: IPAddress("10.0.0.1"), port: 9750))
        XCTAssertEqual(
            try MetricsAddress(parsing: "[fd00::1]:9750"), MetricsAddress(host: IPAddress("fd00::1"), port: 9750))
        XCTAssertEqual(try MetricsAddress(parsing: "[fd00::1]:9750").description, "[fd00::1]:9750")
        XCTAssertEqual(try MetricsAddress(parsing: "9750").description, "*:9750")
        for bad in [
            "", "0", "70000", "x:9750", "10.0.0.1", "10.0.0.1:", "fd00::1:9750", "[10.0.0.1]:9750", "[fd00::1]9750",
            "[fd00::1", "10.0.0.300:9750"
        ] {
            XCTAssertThrowsError(try MetricsAddress(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("--metrics"), "\(bad): \(error)")
            }
        }
    }

    func testAScrapeFollowsThePublishedCounters() throws {
        let report = ForwarderReport()
        let exportThread = ExportThread(rings: [], exporters: [], command: try ThreadCommand())
        let context = ControlContext(
            directions: [(name: "a->b", queue: 0, report: report, kernelDrops: nil)], export: exportThread,
            requests: MeterRequests(), config: ProbeConfiguration(tapA: "a", tapB: "b", collectors: []).answer,
            longestTimeout: ProbeConfiguration.longestInterval)
        let metrics = ProbeMetrics(context: context)
        var c = ForwarderCounters()
        c.frames = 5
        c.liveFlows = 3
        c.recordsByReason[Int(FlowEndReason.lackOfResources.rawValue)] = 2
        report.publish(c, atMs: 1)
        var text = String(decoding: metrics.scrape(), as: UTF8.self)
        XCTAssertEqual(value(text, #"flowtap_frames_total{direction="a->b",queue="0"}"#), 5)
        XCTAssertEqual(value(text, #"flowtap_flows_active{direction="a->b",queue="0"}"#), 3)
        XCTAssertEqual(value(text, #"flowtap_records_total{direction="a->b",queue="0",reason="lack_of_resources"}"#), 2)
        XCTAssertTrue(text.contains("# TYPE flowtap_frames_total counter\n"), text)
        XCTAssertTrue(text.contains("# TYPE flowtap_flows_active gauge\n"), text)
        c.frames = 12
        c.liveFlows = 1
        report.publish(c, atMs: 2)
        text = String(decoding: metrics.scrape(), as: UTF8.self)
        XCTAssertEqual(
            value(text, #"flowtap_frames_total{direction="a->b",queue="0"}"#), 12, "a counter follows its source")
        XCTAssertEqual(value(text, #"flowtap_flows_active{direction="a->b",queue="0"}"#), 1, "a gauge goes down too")
        // Every line is a comment or NAME{LABELS} VALUE with a flowtap_ name.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            XCTAssertTrue(line.hasPrefix("flowtap_") && line.split(separator: " ").count == 2, String(line))
        }
    }

    func testCountersAndOnlyCountersEndInTotal() {
        for (name, kind) in ProbeMetrics.metrics {
            XCTAssertEqual(name.hasSuffix("_total"), kind.isCounter, name)
            XCTAssertFalse(kind.help.isEmpty, name)
        }
    }

    /// The value of the series `series` (name and labels as written) in the exposition.
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }
}

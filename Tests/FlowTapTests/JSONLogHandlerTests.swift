import Foundation
import Glibc
import Logging
import XCTest

@testable import FlowTapControl
@testable import FlowTapDecode

/// `--log-format json`: every line is one JSON object that an independent parser
/// (Foundation's JSONSerialization) reads back with the level, message and metadata intact.
final class JSONLogHandlerTests: XCTestCase {
    func testEachLineIsOneObjectWithItsFields() throws {
        var fds: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        var logger = Logger(label: "flowtap") { JSONLogHandler(label: $0, level: .info, descriptor: fds[1]) }
        logger[metadataKey: "tap"] = "tapa"
        logger.info("reading \"tapa\" failed:\n\tbad\u{1}state", metadata: ["errno": "77"])
        logger.debug("not written: below --log-level")
        logger.error("second")
        close(fds[1])
        let bytes = readToEnd(fds[0])
        close(fds[0])
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(first["level"] as? String, "info")
        XCTAssertEqual(first["label"] as? String, "flowtap")
        XCTAssertEqual(first["message"] as? String, "reading \"tapa\" failed:\n\tbad\u{1}state")
        XCTAssertEqual(first["tap"] as? String, "tapa")
        XCTAssertEqual(first["errno"] as? String, "77")
        let time = try XCTUnwrap(first["time"] as? String)
        XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression), time)
        let second = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        XCTAssertEqual(second["level"] as? String, "error")
    }
}

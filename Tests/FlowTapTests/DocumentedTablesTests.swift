import Foundation
import XCTest

@testable import FlowTapControl
@testable import FlowTapDecode
@testable import FlowTapSecurity

/// Tables in docs/ that mirror code: each must say exactly what the code says, so that they
/// cannot drift. On a mismatch the message holds the table as the code would print it.
final class DocumentedTablesTests: XCTestCase {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs")
        .standardized

    func document(_ name: String) throws -> String {
        try String(contentsOf: Self.docs.appendingPathComponent(name), encoding: .utf8)
    }

    /// The rows of the Markdown table whose header line is `header`.
    func rows(of text: String, header: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: header) else { return [] }
        return Array(lines[(start + 2)...].prefix { $0.hasPrefix("|") })
    }

    func testTheSeccompTableIsTheAllowlist() throws {
        let expected = SeccompAllowlist.calls.map { "| `\($0.name)` | \($0.why) |" }
        let documented = rows(of: try document("security.md"), header: "| system call | why |")
        XCTAssertEqual(
            documented, expected, "docs/security.md's table should read:\n" + expected.joined(separator: "\n"))
    }

    func testTheMetricsTableNamesEveryMetricWithItsType() throws {
        var documented: [String: String] = [:]
        for row in rows(of: try document("operating.md"), header: "| metric | type | labels | what |") {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            for name in cells[0].split(separator: ",") {
                documented[name.trimmingCharacters(in: CharacterSet(charactersIn: " `"))] = cells[1]
            }
        }
        let code = Dictionary(
            uniqueKeysWithValues: ProbeMetrics.metrics.map {
                ("flowtap_" + $0.key, $0.value.isCounter ? "counter" : "gauge")
            })
        XCTAssertEqual(documented, code, "docs/operating.md's metrics table and ProbeMetrics.metrics differ")
    }
}

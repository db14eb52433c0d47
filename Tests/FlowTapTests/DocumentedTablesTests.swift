import Foundation
import XCTest

@testable import FlowTapControl
@testable import FlowTapDecode
@testable import FlowTapEncode
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

    /// Every application field's IPFIX element (with its enterprise) is in a row of the table,
    /// and its NetFlow v9 number in the same row ("same numbers" where v9 uses the IPFIX one,
    /// "–" where v9 does not carry it).
    func testTheApplicationElementsTableIsTheEncoders() throws {
        let table = rows(
            of: try document("application-visibility.md"), header: "| field | IPFIX element | type | NetFlow v9 |")
        XCTAssertFalse(table.isEmpty, "no elements table in docs/application-visibility.md")
        func numbers(_ cell: Substring) -> Set<Int> {
            Set(cell.split { !$0.isNumber }.compactMap { Int($0) })
        }
        for field in ApplicationField.allCases {
            let element = field.enterprise.map { "\($0)/\(field.element)" } ?? "\(field.element)"
            let row = table.first { row in
                let cells = row.split(separator: "|")
                guard cells.count >= 4 else { return false }
                return field.enterprise == nil
                    ? numbers(cells[1]).contains(Int(field.element)) && !cells[1].contains("/")
                    : cells[1].contains(Substring(element))
                        || (cells[1].contains("\(field.enterprise!)/")
                            && numbers(cells[1]).contains(Int(field.element)))
            }
            guard let row else {
                XCTFail("docs/application-visibility.md's elements table has no row for \(field) (\(element))")
                continue
            }
            let v9 = row.split(separator: "|")[3]
            switch field.v9Element {
            case nil: XCTAssertTrue(v9.contains("–"), "\(field): v9 carries it not, the table says \(v9)")
            case let n? where n == field.element:
                XCTAssertTrue(
                    v9.contains("same numbers") || numbers(v9).contains(Int(n)),
                    "\(field): v9 \(n), the table says \(v9)")
            case let n?: XCTAssertTrue(numbers(v9).contains(Int(n)), "\(field): v9 \(n), the table says \(v9)")
            }
        }
    }
}

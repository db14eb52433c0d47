import Foundation
import XCTest

@testable import FlowTapProbe

/// `flowtap --version` and the package's version are the VERSION file's.
final class VersionTests: XCTestCase {
    func testTheVersionIsTheVersionFiles() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../VERSION")
        let text = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(FlowtapVersion.string, text, "set the version in VERSION and in FlowtapVersion.swift alike")
    }
}

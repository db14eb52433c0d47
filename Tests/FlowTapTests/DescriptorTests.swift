import Glibc
import SystemPackage
import XCTest

@testable import FlowTapBase

/// The one owning descriptor type: closed exactly once, whoever closes it.
final class DescriptorTests: XCTestCase {
    func path() -> String { "/tmp/flowtap-descriptor-\(getpid())-\(UInt32.random(in: 0 ... .max))" }

    func testAnExplicitCloseIsTheOnlyOne() throws {
        let file = path()
        defer { unlink(file) }
        var owned: Descriptor? = try Descriptor(opening: file, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        let number = owned!.descriptor
        try owned!.close()
        XCTAssertEqual(owned!.descriptor, -1)
        // The number is free again: the next open may take it, and the first owner's end must
        // leave that one alone.
        let next = try Descriptor(opening: file, O_RDONLY)
        guard next.descriptor == number else { throw XCTSkip("another thread took descriptor \(number) in between") }
        owned = nil
        XCTAssertEqual(fcntl(next.descriptor, F_GETFD), FD_CLOEXEC, "still open, close-on-exec")
    }

    func testTheLastReferenceCloses() throws {
        var owned: Descriptor? = try Descriptor(opening: "/dev/null", O_RDONLY)
        let number = owned!.descriptor
        XCTAssertGreaterThanOrEqual(number, 0)
        owned = nil
        XCTAssertEqual(fcntl(number, F_GETFD), -1)
        XCTAssertEqual(errno, EBADF)
    }

    func testWritesReadsAndSizesAFile() throws {
        let file = path()
        defer { unlink(file) }
        let out = try Descriptor(opening: file, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        try out.write(all: Array("12345\n".utf8))
        try out.close()
        let input = try Descriptor(opening: file, O_RDONLY)
        XCTAssertEqual(input.fileSize, 6)
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = try buffer.withUnsafeMutableBytes { (b) throws(Errno) in try input.read(into: b, atOffset: 2) }
        XCTAssertEqual(String(decoding: buffer.prefix(n), as: UTF8.self), "345\n")
        let copy = try Descriptor(duplicating: input.descriptor)
        XCTAssertNotEqual(copy.descriptor, input.descriptor)
        XCTAssertEqual(fcntl(copy.descriptor, F_GETFD), FD_CLOEXEC)
        XCTAssertNil(try Descriptor(opening: "/dev/null", O_RDONLY).fileSize, "not a regular file")
    }

    func testAnOpenThatFailsSaysWhy() {
        XCTAssertThrowsError(try Descriptor(opening: "/nonexistent/flowtap", O_RDONLY)) { error in
            XCTAssertEqual(error as? Errno, .noSuchFileOrDirectory)
        }
    }
}

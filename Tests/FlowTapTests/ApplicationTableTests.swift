import XCTest

@testable import FlowTapMeter

/// The reassembly buffers' placing of a stream's pieces (`ApplicationTable.place`).
final class ApplicationTableTests: XCTestCase {
    func testEarlyPiecesThatTouchAreOnePiece() {
        var s = ApplicationTable.emptyStream(base: 1000)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 8)
        defer { bytes.deallocate() }
        let data = [UInt8](0 ..< 100)
        func place(_ offset: Int, _ count: Int = 100) -> Bool? {
            data.withUnsafeBytes {
                ApplicationTable.place(
                    &s, bytes, capacity: 1024, sequence: 1000 + UInt32(offset), $0.baseAddress!, length: count)
            }
        }
        // Six pieces after a gap, one after another (a later QUIC packet's CRYPTO frames, or
        // TCP segments past a lost one): one early piece, not six (a fifth was given up).
        for offset in stride(from: 100, to: 700, by: 100) { XCTAssertEqual(place(offset), false) }
        XCTAssertEqual(s.pieceCount, 1)
        XCTAssertEqual(s.contiguous, 0)
        // The gap filled: the whole stream, at once.
        XCTAssertEqual(place(0), true)
        XCTAssertEqual(s.contiguous, 700)
        XCTAssertEqual(s.pieceCount, 0)
        XCTAssertEqual(bytes.load(fromByteOffset: 650, as: UInt8.self), 50)
        // Four pieces apart still fit; a fifth apart does not.
        for offset in [800, 850, 900, 950] { XCTAssertEqual(place(offset, 10), false) }
        XCTAssertEqual(s.pieceCount, 4)
        XCTAssertNil(place(1000, 10), "a fifth piece apart")
        XCTAssertNil(place(1030, 10), "past the buffer's end")
    }
}

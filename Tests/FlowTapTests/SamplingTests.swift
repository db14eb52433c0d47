import XCTest

@testable import FlowTapEncode
@testable import FlowTapMeter

final class SamplingTests: XCTestCase {
    func taken(_ sampling: Sampling, packets: Int) -> [Int] {
        var sampler = PacketSampler(sampling, seed: 12345)
        return (0 ..< packets).filter { _ in sampler.take() }
    }

    func testIntervalOneTakesEverything() {
        XCTAssertEqual(taken(Sampling(), packets: 50).count, 50)
    }

    func testDeterministicTakesEveryNth() {
        XCTAssertEqual(taken(Sampling(interval: 10), packets: 100), Array(stride(from: 0, to: 100, by: 10)))
    }

    func testRandomTakesOneAtARandomPlaceInEachWindow() {
        let picks = taken(Sampling(interval: 10, mode: .random), packets: 10_000)
        XCTAssertEqual(picks.count, 1000, "exactly one per window of ten")
        XCTAssertEqual(Set(picks.map { $0 / 10 }).count, 1000)
        let positions = Dictionary(grouping: picks.map { $0 % 10 }, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(positions.count, 10, "every position in the window gets picked sometimes")
        XCTAssertTrue(positions.values.allSatisfy { $0 > 50 && $0 < 150 }, "\(positions)")
    }

    func testHowTheFormatsStateIt() {
        XCTAssertEqual(Sampling(interval: 100).netflowV5Field, 0x4064)
        XCTAssertEqual(Sampling(interval: 100, mode: .random).netflowV5Field, 0x8064)
        XCTAssertEqual(Sampling().netflowV5Field, 0)
        XCTAssertEqual(Sampling(interval: 100_000).netflowV5Field & 0x3FFF, 0x3FFF, "v5 has 14 bits")
        XCTAssertEqual(Sampling(mode: .random).ipfixSelectorAlgorithm, 3)
        var options = ExportOptions()
        options.sampling = Sampling(interval: 64)
        var encoder = IPFIXEncoder(
            observationDomain: 1, layouts: RecordLayout.layouts(for: [.l3]), context: EncodingContext(systemInitMs: 0))
        let m = withMessage { XCTAssertTrue(encoder.writeOptions(options, to: &$0, nowMs: 0)) }
        // The process record follows the 16-byte header, the 60-byte options template set and a
        // 4-byte set header: domain (4), system init (8), selector (2), interval (4), space (4).
        let record = Array(m[80 ..< 102])
        XCTAssertEqual(Array(record[12 ..< 22]), [0, 1, 0, 0, 0, 1, 0, 0, 0, 63], "1-in-64: interval 1, space 63")
    }
}

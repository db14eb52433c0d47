import Foundation
import Logging
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapInspect
@testable import FlowTapMeter
@testable import FlowTapRead
@testable import FlowTapSetup

/// `flowtap read` end to end over captures written here: the idle and active boundaries on
/// the capture's clock, the same records whatever the hash seed, and every packet in one count.
final class CaptureRunTests: XCTestCase {
    /// A little-endian microsecond pcap of Ethernet frames: (time in ms, bytes captured, the
    /// frame's length on the wire).
    static func pcap(_ packets: [(ms: UInt64, bytes: [UInt8], wire: Int)]) -> [UInt8] {
        var b = CaptureReaderTests.Bytes(big: false)
        b.u32(0xA1B2_C3D4); b.u16(2); b.u16(4); b.u32(0); b.u32(0); b.u32(262_144); b.u32(1)
        for p in packets {
            let t = 1_700_000_000_000 + p.ms
            b.u32(UInt32(t / 1000)); b.u32(UInt32(t % 1000 * 1000)); b.u32(UInt32(p.bytes.count)); b.u32(UInt32(p.wire))
            b.data += p.bytes
        }
        return b.data
    }

    static func udp(sport: UInt16, dport: UInt16 = 53, payload: Int = 20) -> [UInt8] {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 17, payload: 8 + payload)
        f.udp(sport: sport, dport: dport, payload: payload)
        f.zeros(payload)
        return f.bytes
    }

    /// Reads `packets` as `flowtap read` would, the records printed (no destination).
    func read(
        _ packets: [(ms: UInt64, bytes: [UInt8], wire: Int)], idle: Int = 15, active: Int = 60, hashSeed: UInt64? = nil,
        output: String? = nil
    ) throws -> (records: [FlowRecord], summary: CaptureRun.Summary) {
        let path = NSTemporaryDirectory() + "flowtap-capture-\(UUID().uuidString).pcap"
        XCTAssertTrue(
            FileManager.default.createFile(atPath: path, contents: Data(Self.pcap(packets))), "cannot write \(path)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = ProbeConfiguration(tapA: "", tapB: "", collectors: [])
        config.idleTimeout = idle
        config.activeTimeout = active
        var options = CaptureRun.Options(export: config, inputs: [path])
        options.hashSeed = hashSeed
        options.output = output
        var records: [FlowRecord] = []
        let summary = try CaptureRun.run(
            options, logger: Logger(label: "test"), printing: output == nil ? { r, _ in records.append(r) } : nil)
        return (records, summary)
    }

    func testTheIdleBoundaryIsExactOnTheCapturesClock() throws {
        let frame = Self.udp(sport: 1000)
        for (gap, splits) in [(UInt64(1_999), false), (2_000, true), (2_001, true)] {
            let got = try read([(0, frame, frame.count), (gap, frame, frame.count)], idle: 2)
            XCTAssertEqual(got.records.map(\.packets), splits ? [1, 1] : [2], "gap \(gap) ms")
            XCTAssertEqual(
                got.records.map(\.endReason), splits ? [.idleTimeout, .forcedEnd] : [.forcedEnd], "gap \(gap) ms")
        }
    }

    func testTheActiveBoundaryIsExactOnTheCapturesClock() throws {
        let frame = Self.udp(sport: 1000)
        for (at, splits) in [(UInt64(2_999), false), (3_000, true), (3_001, true)] {
            let got = try read(
                [
                    (0, frame, frame.count), (1_000, frame, frame.count), (2_000, frame, frame.count),
                    (at, frame, frame.count)
                ],
                idle: 2, active: 3)
            XCTAssertEqual(got.records.map(\.packets), splits ? [3, 1] : [4], "last packet at \(at) ms")
            XCTAssertEqual(
                got.records.first?.endReason, splits ? .activeTimeout : .forcedEnd, "last packet at \(at) ms")
        }
    }

    /// Many flows, ending by idle timeout at many times and together: the same records in the
    /// same order, and the same IPFIX file byte for byte, with any hash seed.
    func testTheSameRecordsAndFileWhateverTheHashSeed() throws {
        var packets: [(ms: UInt64, bytes: [UInt8], wire: Int)] = []
        var t: UInt64 = 0
        for round in 0 ..< 40 {
            for flow in 0 ..< 50 where (flow * 7 + round) % 3 != 0 {
                let f = Self.udp(sport: UInt16(2000 + flow), payload: flow)
                packets.append((t, f, f.count))
                t += UInt64(1 + flow % 4)
            }
            t += 900
        }
        var outputs: [Data] = []
        var lists: [[FlowRecord]] = []
        for seed in [1, 2, 0xFEED_F00D, .max] as [UInt64] {
            let file = NSTemporaryDirectory() + "flowtap-seed-\(seed)-\(UUID().uuidString).ipfix"
            defer { try? FileManager.default.removeItem(atPath: file) }
            _ = try read(packets, idle: 1, active: 3, hashSeed: seed, output: file)
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: file)))
            lists.append(try read(packets, idle: 1, active: 3, hashSeed: seed).records)
        }
        XCTAssertGreaterThan(lists[0].count, 100)
        for l in lists.dropFirst() { XCTAssertEqual(l, lists[0]) }
        for o in outputs.dropFirst() { XCTAssertEqual(o, outputs[0]) }
        // Flows that end by their idle timeout are exported in the order of their deadlines.
        let idle = lists[0].filter { $0.endReason == .idleTimeout }.map(\.lastNs)
        XCTAssertEqual(idle, idle.sorted())
    }

    /// More flows open at the end of the input than the end hands on at a time
    /// (`Records.finishBatch`): every one is exported once, with its DNS question, none lost,
    /// in the order of their deadlines, and counted once.
    func testFlowsOpenAtTheEndGoOutWholeABatchAtATime() throws {
        let flows = 3 * CaptureRun.Records.finishBatch + 7
        var packets: [(ms: UInt64, bytes: [UInt8], wire: Int)] = []
        for i in 0 ..< flows {
            let query = ApplicationParserTests.dns(["h\(i)", "example"], id: UInt16(truncatingIfNeeded: i))
            var f = FrameBuilder()
            f.ethernet(type: 0x0800)
            f.ipv4(proto: 17, payload: 8 + query.count)
            f.udp(sport: UInt16(10_000 + i), dport: 53, payload: query.count)
            f.raw(query)
            packets.append((UInt64(i), f.bytes, f.bytes.count))
        }
        let path = NSTemporaryDirectory() + "flowtap-end-\(UUID().uuidString).pcap"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(Self.pcap(packets))))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = ProbeConfiguration(tapA: "", tapB: "", collectors: [])
        config.idleTimeout = 60
        var got: [(port: UInt16, name: String?)] = []
        let summary = try CaptureRun.run(
            CaptureRun.Options(export: config, inputs: [path]), logger: Logger(label: "test"),
            printing: { r, detail in
                var name: String?
                if case let .dns(d)? = detail?.facts { name = d.queryName.string }
                got.append((r.key.sourcePort, name))
            })
        XCTAssertEqual(got.count, flows)
        // Each once, by deadline, with its question: the first record that is not, if any.
        let wrong = got.indices.first { got[$0].port != UInt16(10_000 + $0) || got[$0].name != "h\($0).example" }
        XCTAssertNil(wrong.map { "record \($0): port \(got[$0].port), \(got[$0].name ?? "no question")" })
        XCTAssertEqual(summary.counters.recordsLost, 0)
        // Counted as they went, not again at each refusal of a full batch.
        XCTAssertEqual(summary.counters.recordsByApplication[Int(ApplicationID.dns.rawValue)], UInt64(flows))
        XCTAssertEqual(summary.counters.recordsByReason[Int(FlowEndReason.forcedEnd.rawValue)], UInt64(flows))
    }

    /// Every packet read is in exactly one count: metered whole, snapped, undecodable by reason
    /// or non-IP; a snapped packet counts its IP length.
    func testEveryPacketIsInOneCount() throws {
        let whole = FrameBuilder.tcpv4(sport: 3000, dport: 443, flags: TCPFlags.ack, payload: 1000).bytes
        var arp = FrameBuilder()
        arp.ethernet(type: 0x0806); arp.zeros(28)
        let got = try read([
            (0, whole, whole.count),
            (1, Array(whole.prefix(96)), whole.count), // snapped
            (2, Array(whole.prefix(30)), whole.count), // the IP header cut: undecodable
            (3, arp.bytes, arp.bytes.count), // non-IP
            (4, [], 60)
        ]) // an empty record
        let c = got.summary.counters
        XCTAssertEqual(got.summary.packets, 5)
        XCTAssertEqual(c.metered, 1)
        XCTAssertEqual(c.snapped, 1)
        XCTAssertEqual(c.issues[Int(DecodeIssue.truncatedIPv4.rawValue)], 1)
        XCTAssertEqual(c.issues[Int(DecodeIssue.truncatedEthernet.rawValue)], 1)
        XCTAssertEqual(c.nonIPUnmetered, 1)
        XCTAssertEqual(c.metered + c.snapped + c.malformed + c.nonIPUnmetered + c.sampledOut, got.summary.packets)
        XCTAssertEqual(got.records.map(\.packets), [2])
        XCTAssertEqual(
            got.records.first?.octets, 2 * UInt64(whole.count - 14), "the snapped packet counts its IP length")
    }
}

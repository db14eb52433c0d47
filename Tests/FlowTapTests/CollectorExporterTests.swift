import Glibc
import Logging
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapExport
@testable import FlowTapSend

/// A transport that keeps every message it is given, and refuses them while `refusing` is set
/// (as a full socket buffer or a lost route would).
struct RecordingTransport: MessageTransport {
    final class Log { var messages: [[UInt8]] = []; var refusing: CInt = 0 }
    let log = Log()
    var headerLength: Int { 28 }

    mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        if log.refusing != 0 { return -Int(log.refusing) }
        log.messages.append(Array(UnsafeRawBufferPointer(start: payload, count: length)))
        return 0
    }
}

final class CollectorExporterTests: XCTestCase {
    static let collector = CollectorAddress(host: IPAddress("10.0.0.2")!)

    func exporter(refreshSeconds: Int = 20, refreshPackets: Int = 0, mtu: Int = 1500)
        -> (CollectorExporter<IPFIXEncoder, RecordingTransport>, RecordingTransport.Log)
    {
        let transport = RecordingTransport()
        let encoder = IPFIXEncoder(
            observationDomain: 1, layouts: RecordLayout.layouts(for: [.l3, .l4]),
            context: EncodingContext(systemInitMs: 0))
        let e = CollectorExporter(
            collector: Self.collector, encoder: encoder, sender: transport, mtu: mtu,
            templateRefreshSeconds: refreshSeconds, templateRefreshPackets: refreshPackets,
            probeTotals: { (0, 0) }, logger: Logger(label: "test"))
        return (e, transport.log)
    }

    func domain(_ m: [UInt8]) -> UInt32 { m[12 ..< 16].reduce(0) { $0 << 8 | UInt32($1) } }
    func sequence(_ m: [UInt8]) -> UInt32 { m[8 ..< 12].reduce(0) { $0 << 8 | UInt32($1) } }
    func hasTemplates(_ m: [UInt8]) -> Bool { m.count > 17 && m[16] == 0 && m[17] == 2 }
    func isOptions(_ m: [UInt8]) -> Bool { domain(m) == 0 }

    func testTemplatesAndOptionsGoFirstThenByTime() {
        let (e, log) = exporter(refreshSeconds: 20)
        e.tick(now: 1_000)
        XCTAssertEqual(log.messages.count, 1, "options go out at once; the template message waits to be flushed")
        XCTAssertTrue(isOptions(log.messages[0]))
        e.export(IPFIXEncoderTests.tcpRecord(), now: 1_100)
        e.tick(now: 1_600) // 0.6 s: the partly filled message leaves
        XCTAssertEqual(log.messages.count, 2)
        XCTAssertTrue(hasTemplates(log.messages[1]), "templates before the first data record, in the same message")
        e.export(IPFIXEncoderTests.tcpRecord(), now: 2_000)
        e.tick(now: 2_600)
        XCTAssertFalse(hasTemplates(log.messages[2]), "no refresh due yet")
        e.tick(now: 21_000) // 20 s after the first: refresh by time
        e.tick(now: 21_600)
        XCTAssertTrue(log.messages.dropFirst(3).contains { isOptions($0) })
        XCTAssertTrue(log.messages.dropFirst(3).contains { hasTemplates($0) }, "templates again after 20 s")
    }

    /// A successor's exporter (a handover, a restart) goes on from the checkpoint its
    /// predecessor left after its last message: the collector sees one stream, no sequence gap.
    func testASuccessorGoesOnFromTheCheckpoint() {
        let (first, firstLog) = exporter()
        let slot = UnsafeMutablePointer<ExporterCheckpoint>.allocate(capacity: 1)
        defer { slot.deallocate() }
        slot.initialize(to: ExporterCheckpoint())
        first.checkpointSlot = slot
        for i in 0 ..< 5 {
            first.export(IPFIXEncoderTests.tcpRecord(), now: 1_000 + UInt64(i))
            first.finish(now: 1_100 + UInt64(i))
        }
        let data = firstLog.messages.filter { !isOptions($0) }
        XCTAssertEqual(slot.pointee, first.checkpoint, "written after every message")
        XCTAssertEqual(slot.pointee.stream.sequence, 5)
        XCTAssertEqual(slot.pointee.records, 5)
        let (second, secondLog) = exporter()
        second.resume(from: slot.pointee)
        second.export(IPFIXEncoderTests.tcpRecord(), now: 2_000)
        second.finish(now: 2_100)
        let next = secondLog.messages.filter { !isOptions($0) }
        XCTAssertEqual(sequence(next[0]), sequence(data.last!) + 1, "the data stream goes on")
        let options = (firstLog.messages + secondLog.messages).filter(isOptions).map(sequence)
        XCTAssertGreaterThan(options.count, 1)
        XCTAssertTrue(
            zip(options, options.dropFirst()).allSatisfy { $1 > $0 },
            "the options domain goes on too, never from 0 again: \(options)")
        XCTAssertEqual(second.statistics.records, 6)
        XCTAssertEqual(second.checkpoint.collectorID, ExporterCheckpoint.id(of: Self.collector))
    }

    func testRefreshByPacketCount() {
        let (e, log) = exporter(refreshSeconds: 3600, refreshPackets: 3)
        var now: UInt64 = 1_000
        for _ in 0 ..< 8 {
            e.export(IPFIXEncoderTests.tcpRecord(), now: now)
            now += 600
            e.tick(now: now)
        }
        let flows = log.messages.filter { !isOptions($0) }
        let withTemplates = flows.enumerated().filter { hasTemplates($0.element) }.map(\.offset)
        XCTAssertEqual(withTemplates, [0, 3, 6], "templates every third message, though an hour has not passed")
        XCTAssertEqual(log.messages.filter(isOptions).count, 3, "options with each refresh")
    }

    func testRefusedMessagesWaitAndKeepTheirOrder() {
        let (e, log) = exporter()
        e.tick(now: 1_000)
        e.export(IPFIXEncoderTests.tcpRecord(), now: 1_000)
        e.tick(now: 1_600)
        let before = log.messages.count
        log.refusing = ENETUNREACH
        for i in 0 ..< 3 {
            e.export(IPFIXEncoderTests.tcpRecord(), now: 2_000 + UInt64(i) * 1_000)
            e.tick(now: 2_600 + UInt64(i) * 1_000)
        }
        XCTAssertEqual(log.messages.count, before)
        XCTAssertEqual(e.statistics.queued, 3)
        XCTAssertGreaterThan(e.statistics.sendErrors, 0)
        log.refusing = 0
        e.tick(now: 6_000)
        XCTAssertEqual(e.statistics.queued, 0)
        let sent = log.messages.filter { !isOptions($0) }.map(sequence)
        XCTAssertEqual(sent, [0, 1, 2, 3], "every record's message arrives, in sequence order, without a gap")
        XCTAssertEqual(e.statistics.records, 4)
        XCTAssertEqual(e.statistics.recordsNotSent, 0)
    }

    func testOverflowIsCountedAndShowsAsAGap() {
        let (e, log) = exporter(refreshSeconds: 3600)
        log.refusing = ENOBUFS
        let limit = CollectorExporter<IPFIXEncoder, RecordingTransport>.queueLimit
        var now: UInt64 = 1_000
        for _ in 0 ..< limit + 5 {
            e.export(IPFIXEncoderTests.tcpRecord(), now: now)
            now += 600
            e.tick(now: now)
        }
        XCTAssertEqual(e.statistics.queued, UInt64(limit))
        log.refusing = 0
        e.finish(now: now)
        // Queued: the options message of the first refresh, then limit − 1 data messages; the
        // last 6 data messages found the queue full.
        XCTAssertEqual(e.statistics.recordsNotSent, 6, "messages beyond the queue are dropped and counted")
        XCTAssertEqual(e.statistics.records, UInt64(limit - 1))
        let sequences = log.messages.filter { !isOptions($0) }.map(sequence)
        XCTAssertEqual(sequences, (0 ..< UInt32(limit - 1)).map { $0 }, "what was queued arrives in order")
    }

    func testV5NeverAnnouncesTemplatesAndCountsWhatItCannotCarry() {
        let transport = RecordingTransport()
        let e = CollectorExporter(
            collector: Self.collector,
            encoder: NetFlowV5Encoder(observationDomain: 1, context: EncodingContext(systemInitMs: 0)),
            sender: transport, mtu: 1500, templateRefreshSeconds: 1, templateRefreshPackets: 1,
            probeTotals: { (0, 0) }, logger: Logger(label: "test"))
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 17, payload: 8)
        v6.udp(sport: 1, dport: 2, payload: 0)
        var record = IPFIXEncoderTests.tcpRecord()
        record.key = v6.decode().key
        e.export(record, now: 1_000)
        e.export(IPFIXEncoderTests.tcpRecord(), now: 1_000)
        e.tick(now: 5_000)
        XCTAssertEqual(transport.log.messages.count, 1)
        XCTAssertEqual(Array(transport.log.messages[0][0 ..< 4]), [0, 5, 0, 1])
        XCTAssertEqual(e.statistics.recordsNotExportable, 1)
    }
}

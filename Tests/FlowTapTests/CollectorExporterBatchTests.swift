import Glibc
import Logging
import XCTest

@testable import FlowTapBase
@testable import FlowTapEncode
@testable import FlowTapExport
@testable import FlowTapSend

/// A transport that takes messages four at a time, as `DatagramSender` takes them sixteen,
/// keeps every message it takes and each call's size, and refuses a message when `refuse`
/// (given how many it has taken, and the message) says with which errno.
struct BatchingTransport: MessageTransport {
    final class Log {
        var messages: [[UInt8]] = []
        var calls: [Int] = []
        var refuse: (Int, [UInt8]) -> CInt = { _, _ in 0 }
    }
    let log = Log()
    var headerLength: Int { 28 }
    var batchLimit: Int { 4 }

    mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        let m = Array(UnsafeRawBufferPointer(start: payload, count: length))
        let e = log.refuse(log.messages.count, m)
        if e != 0 { return -Int(e) }
        log.messages.append(m)
        return 0
    }

    mutating func send(batch bases: UnsafePointer<UnsafeRawPointer>, lengths: UnsafePointer<Int>, count: Int) -> Int {
        log.calls.append(count)
        for i in 0 ..< count {
            // As sendmmsg(2): a refusal after some were taken is seen when the rest go again.
            let m = Array(UnsafeRawBufferPointer(start: bases[i], count: lengths[i]))
            let e = log.refuse(log.messages.count, m)
            if e != 0 { return i > 0 ? i : -Int(e) }
            log.messages.append(m)
        }
        return count
    }
}

/// Finished messages held for a transport that takes several at once: they leave together,
/// counted only once sent, in sequence order whatever the network refuses.
final class CollectorExporterBatchTests: XCTestCase {
    final class Clock { var ns: UInt64 = 0 }

    func exporter() -> (CollectorExporter<IPFIXEncoder, BatchingTransport>, BatchingTransport.Log, Clock) {
        let transport = BatchingTransport()
        let clock = Clock()
        let encoder = IPFIXEncoder(
            observationDomain: 1, layouts: RecordLayout.layouts(for: [.l3, .l4]),
            context: EncodingContext(systemInitMs: 0))
        let e = CollectorExporter(
            collector: CollectorExporterTests.collector, encoder: encoder, sender: transport, mtu: 1500,
            templateRefreshSeconds: 3600, templateRefreshPackets: 0, probeTotals: { (0, 0) },
            logger: Logger(label: "test"), monotonicNs: { clock.ns })
        return (e, transport.log, clock)
    }

    func sequence(_ m: [UInt8]) -> UInt32 { m[8 ..< 12].reduce(0) { $0 << 8 | UInt32($1) } }
    func isOptions(_ m: [UInt8]) -> Bool { m[12 ..< 16].allSatisfy { $0 == 0 } }

    /// One record a message: each export then a tick 0.6 s later, which flushes it.
    func exportMessages(_ e: CollectorExporter<IPFIXEncoder, BatchingTransport>, _ count: Int, from start: UInt64)
        -> UInt64
    {
        var now = start
        for _ in 0 ..< count {
            e.export(IPFIXEncoderTests.tcpRecord(), now: now)
            now += 600
            e.tick(now: now)
        }
        return now
    }

    func testMessagesLeaveInOneCallOnceTheBatchIsFull() {
        let (e, log, _) = exporter()
        // The options message and two data messages wait; nothing is counted as sent yet.
        _ = exportMessages(e, 2, from: 1_000)
        XCTAssertEqual(log.calls, [])
        XCTAssertEqual(e.statistics.messages, 0)
        _ = exportMessages(e, 1, from: 3_000)
        XCTAssertEqual(log.calls, [4], "the fourth message fills the batch: one call for the four")
        XCTAssertTrue(isOptions(log.messages[0]))
        XCTAssertEqual(log.messages.dropFirst().map(sequence), [0, 1, 2])
        XCTAssertEqual(e.statistics.messages, 4)
        XCTAssertEqual(e.statistics.records, 3)
    }

    func testAHeldMessageLeavesOnceItHasWaitedTheHoldTime() {
        let (e, log, clock) = exporter()
        let now = exportMessages(e, 1, from: 1_000)
        let hold = CollectorExporter<IPFIXEncoder, BatchingTransport>.batchHoldMs * 1_000_000
        clock.ns = hold - 1
        e.tick(now: now + 100)
        XCTAssertEqual(log.calls, [], "not yet: the hold is counted from the first message held")
        clock.ns = hold
        e.tick(now: now + 200)
        XCTAssertEqual(log.calls, [2])
        XCTAssertEqual(e.statistics.records, 1)
    }

    func testFinishSendsWhatIsHeld() {
        let (e, log, _) = exporter()
        e.export(IPFIXEncoderTests.tcpRecord(), now: 1_000)
        e.finish(now: 1_000)
        XCTAssertEqual(log.calls, [2])
        XCTAssertEqual(e.statistics.records, 1)
        XCTAssertEqual(e.statistics.recordsNotSent, 0)
    }

    func testARefusalMidBatchQueuesTheRestInOrder() {
        let (e, log, _) = exporter()
        var refusing = true
        // The network takes the options message and the first data message, then refuses.
        log.refuse = { taken, _ in refusing && taken >= 2 ? ECONNREFUSED : 0 }
        var now = exportMessages(e, 3, from: 1_000)
        XCTAssertEqual(e.statistics.messages, 2)
        XCTAssertEqual(e.statistics.queued, 2, "the two refused wait, in order")
        XCTAssertEqual(e.statistics.sendErrors, 1)
        // Later messages go behind them, not before.
        now = exportMessages(e, 1, from: now)
        XCTAssertEqual(e.statistics.queued, 3)
        refusing = false
        e.finish(now: now)
        XCTAssertEqual(e.statistics.queued, 0)
        XCTAssertEqual(log.messages.filter { !isOptions($0) }.map(sequence), [0, 1, 2, 3])
        XCTAssertEqual(e.statistics.records, 4)
        XCTAssertEqual(e.statistics.recordsNotSent, 0)
    }

    func testAFullSocketBufferIsWaitedOutWithinTheBatch() {
        let (e, log, _) = exporter()
        var refusals = 2
        log.refuse = { taken, _ in
            guard taken == 1, refusals > 0 else { return 0 }
            refusals -= 1
            return ENOBUFS
        }
        _ = exportMessages(e, 3, from: 1_000)
        XCTAssertEqual(log.calls, [4, 3, 3], "the rest sent again, and again after a brief wait")
        XCTAssertEqual(e.statistics.messages, 4)
        XCTAssertEqual(e.statistics.sendErrors, 0)
        XCTAssertEqual(e.statistics.queued, 0)
    }

    func testAMessageTooLargeForThePathIsDroppedAloneAndCounted() {
        let (e, log, _) = exporter()
        log.refuse = { _, m in !self.isOptions(m) && self.sequence(m) == 1 ? EMSGSIZE : 0 }
        _ = exportMessages(e, 3, from: 1_000)
        XCTAssertEqual(log.messages.filter { !isOptions($0) }.map(sequence), [0, 2], "the one after it still goes")
        XCTAssertEqual(e.statistics.recordsNotSent, 1)
        XCTAssertEqual(e.statistics.sendErrors, 1)
        XCTAssertEqual(e.statistics.queued, 0)
    }

    /// `flowtap read`'s sender: one sendmmsg(2) delivers each message as its own datagram,
    /// whole and in order, to a socket on loopback.
    func testTheDatagramSenderDeliversABatchAsDatagramsInOrder() throws {
        let receiver = try Descriptor(socket: AF_INET, type: SOCK_DGRAM)
        try receiver.bind(SocketAddress(IPAddress("127.0.0.1")!, port: 0))
        let port = try receiver.localAddress().port
        var sender = try DatagramSender(destination: IPAddress("127.0.0.1")!, port: port, messagesPerSecond: 0)
        let messages: [[UInt8]] = [[1, 2, 3], Array(repeating: 7, count: 1400), [9]]
        let room = UDPSender.headerRoom
        let buffers = messages.map { m -> UnsafeMutableRawPointer in
            let b = UnsafeMutableRawPointer.allocate(byteCount: room + m.count, alignment: 16)
            (b + room).copyMemory(from: m, byteCount: m.count)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        let bases = buffers.map { UnsafeRawPointer($0 + room) }
        let lengths = messages.map(\.count)
        XCTAssertEqual(sender.send(batch: bases, lengths: lengths, count: 3), 3)
        for m in messages {
            XCTAssertEqual(try receiver.receive(capacity: 2048).bytes, m)
        }
    }
}

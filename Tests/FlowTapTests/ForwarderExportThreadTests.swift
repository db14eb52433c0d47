import Glibc
import Logging
import XCTest
@testable import FlowTap

/// A collector that only counts what the export thread hands it, from the export thread's thread.
final class CountingExporter: FlowExporter {
    let collector = CollectorAddress(host: IPAddress("10.0.0.2")!)
    var statistics = ExportStatistics()
    var packets: UInt64 = 0
    var finished = false
    func export(_ record: borrowing FlowRecord, now: UInt64) {
        statistics.records += 1
        packets += record.packets
    }
    func tick(now: UInt64) {}
    func finish(now: UInt64) { finished = true }
    func resendTemplates() {}
}

/// The forwarding thread and the export thread together under load, on SOCK_SEQPACKET socketpairs in
/// place of TAPs (a read returns one whole frame, as from a TAP): every frame comes out
/// unchanged and in order, and after the stop every packet is in a record the export thread exported.
/// Run under TSan and ASan by test-all.sh.
final class ForwarderExportThreadTests: XCTestCase {
    func socketPair() -> (CInt, CInt) {
        var fds: [CInt] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, CInt(SOCK_SEQPACKET.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0, &fds), 0)
        return (fds[0], fds[1])
    }

    func testForwarderAndExportThreadUnderLoad() throws {
        let (injectA, readA) = socketPair()      // the test writes frames into injectA; the forwarder reads readA
        let (writeB, drainB) = socketPair()      // the forwarder writes writeB; the test reads drainB
        defer { [injectA, readA, writeB, drainB].forEach { close($0) } }
        _ = fcntl(readA, F_SETFL, fcntl(readA, F_GETFL) | O_NONBLOCK)
        let ring = RecordRing(capacity: 1024)    // small: the export thread must keep up, full-ring rules run
        let stop = try Doorbell(), failed = try Doorbell(), drain = try Doorbell()
        let report = ForwarderReport()
        let exporter = CountingExporter()
        let exportThread = ExportThread(rings: [ring], exporters: [exporter], drain: drain)
        let setup = ForwarderSetup(name: "a->b", input: readA, output: writeB,
                                   point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0),
                                   records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 1, activeTimeoutSeconds: 2),
                                   maxFlows: 256, sampling: Sampling(), vnetHeader: 0, ownExport: OwnExportFilter(),
                                   hashSeed: 42, ring: ring, report: report, stop: stop, requests: ControlRequests(), failed: failed, logger: Logger(label: "test"))
        let threads = ThreadGroup()
        XCTAssertTrue(threads.start(name: "test-export") { exportThread.run() })
        let forwarding = ThreadGroup()
        XCTAssertTrue(forwarding.start(name: "test-fwd") { var f = Forwarder(setup); f.run() })

        let total = 60_000
        let frames = (0 ..< 512).map { i in FrameBuilder.tcpv4(sport: UInt16(1000 + i), dport: UInt16(i % 7), flags: i % 97 == 0 ? TCPFlags.fin : TCPFlags.ack, payload: i % 300).bytes }
        final class Received: @unchecked Sendable { var count = 0; var mismatches = 0 }
        let received = Received()
        let reader = ThreadGroup()
        XCTAssertTrue(reader.start(name: "test-reader") {
            var buffer = [UInt8](repeating: 0, count: 2048)
            while received.count < total {
                let n = read(drainB, &buffer, buffer.count)
                guard n > 0 else { break }
                if Array(buffer.prefix(n)) != frames[received.count % frames.count] { received.mismatches += 1 }
                received.count += 1
            }
        })
        for i in 0 ..< total {
            let f = frames[i % frames.count]
            XCTAssertEqual(f.withUnsafeBytes { write(injectA, $0.baseAddress!, $0.count) }, f.count)
        }
        reader.joinAll()
        XCTAssertEqual(received.count, total)
        XCTAssertEqual(received.mismatches, 0, "every frame unchanged and in order")
        stop.ring()
        forwarding.joinAll()
        drain.ring()
        threads.joinAll()
        let c = report.snapshot
        XCTAssertEqual(c.frames, UInt64(total))
        XCTAssertEqual(c.metered, UInt64(total))
        XCTAssertTrue(exporter.finished)
        XCTAssertEqual(exporter.packets + c.recordsLost, UInt64(total), "every packet in an exported record, or counted as lost")
        XCTAssertEqual(exporter.statistics.records, c.recordsQueued)
    }
}

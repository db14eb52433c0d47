import FlowTapMeter
import Glibc
import Logging
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapExport
@testable import FlowTapForward
@testable import FlowTapInspect
@testable import FlowTapSend

/// A collector that only counts what the export thread hands it, from the export thread's thread.
final class CountingExporter: FlowExporter {
    let collector = CollectorAddress(host: IPAddress("10.0.0.2")!)
    var statistics = ExportStatistics()
    var packets: UInt64 = 0
    var latencies: [TCPLatency] = []
    var finished = false
    func export(_ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, now: UInt64) {
        statistics.records += 1
        packets += record.packets
        if record.handshake.role != .none { latencies.append(record.latency) }
    }
    func tick(now: UInt64) {}
    func finish(now: UInt64) { finished = true }
    func resendTemplates() {}
    var checkpoint: ExporterCheckpoint { ExporterCheckpoint() }
    var checkpointSlot: UnsafeMutablePointer<ExporterCheckpoint>?
    func resume(from checkpoint: ExporterCheckpoint) {}
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
        let (injectA, readA) = socketPair() // the test writes frames into injectA; the forwarder reads readA
        let (writeB, drainB) = socketPair() // the forwarder writes writeB; the test reads drainB
        defer { [injectA, readA, writeB, drainB].forEach { close($0) } }
        _ = fcntl(readA, F_SETFL, fcntl(readA, F_GETFL) | O_NONBLOCK)
        let ring = RecordRing(capacity: 1024) // small: the export thread must keep up, full-ring rules run
        let stop = try ThreadCommand(), failed = try Doorbell(), drain = try ThreadCommand()
        let report = ForwarderReport()
        let exporter = CountingExporter()
        let exportThread = ExportThread(rings: [ring], exporters: [exporter], command: drain)
        let setup = ForwarderSetup(
            name: "a->b", input: readA, output: writeB,
            point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0),
            records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 1, activeTimeoutSeconds: 2),
            maxFlows: 256, sampling: Sampling(), vnetHeader: 0, ownExport: OwnExportFilter(),
            hashSeed: 42, ring: ring, report: report, command: stop, requests: MeterRequests(), failed: failed,
            logger: Logger(label: "test"))
        let threads = ThreadGroup()
        XCTAssertTrue(threads.start(name: "test-export") { exportThread.run() })
        let forwarding = ThreadGroup()
        XCTAssertTrue(
            forwarding.start(name: "test-fwd") {
                var f = Forwarder(setup); f.run()
            })

        let total = 60_000
        let frames = (0 ..< 512).map { i in
            FrameBuilder.tcpv4(
                sport: UInt16(1000 + i), dport: UInt16(i % 7), flags: i % 97 == 0 ? TCPFlags.fin : TCPFlags.ack,
                payload: i % 300
            ).bytes
        }
        final class Received: @unchecked Sendable { var count = 0; var mismatches = 0 }
        let received = Received()
        let reader = ThreadGroup()
        XCTAssertTrue(
            reader.start(name: "test-reader") {
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
        stop.send(.stop)
        forwarding.joinAll()
        drain.send(.stop)
        threads.joinAll()
        let c = report.snapshot
        XCTAssertEqual(c.frames, UInt64(total))
        XCTAssertEqual(c.metered, UInt64(total))
        XCTAssertTrue(exporter.finished)
        XCTAssertEqual(
            exporter.packets + c.recordsLost, UInt64(total), "every packet in an exported record, or counted as lost")
        XCTAssertEqual(exporter.statistics.records, c.recordsQueued)
    }

    /// One forwarder and its export thread, on a socketpair, with the flow table in `storage`.
    struct Rig {
        let inject: CInt, read: CInt, write: CInt, drain: CInt
        let ring = RecordRing(capacity: 4096)
        let forwarder: ThreadCommand, export: ThreadCommand
        let report = ForwarderReport()
        let exporter = CountingExporter()
        let threads = ThreadGroup()

        init(_ test: ForwarderExportThreadTests, storage: UnsafeMutableRawPointer?, adopting: Bool) throws {
            (inject, read) = test.socketPair()
            (write, drain) = test.socketPair()
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
            _ = fcntl(drain, F_SETFL, fcntl(drain, F_GETFL) | O_NONBLOCK)
            forwarder = try ThreadCommand()
            export = try ThreadCommand()
            var setup = ForwarderSetup(
                name: "a->b", input: read, output: write,
                point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0),
                records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 60, activeTimeoutSeconds: 120),
                maxFlows: 256, sampling: Sampling(), vnetHeader: 0, ownExport: OwnExportFilter(),
                hashSeed: 42, ring: ring, report: report, command: forwarder, requests: MeterRequests(),
                failed: try Doorbell(), logger: Logger(label: "test"))
            setup.storage = storage
            setup.adopting = adopting
            let exportThread = ExportThread(rings: [ring], exporters: [exporter], command: export)
            XCTAssertTrue(threads.start(name: "test-export") { exportThread.run() })
            let ready = setup
            XCTAssertTrue(
                threads.start(name: "test-fwd") {
                    var f = Forwarder(ready); f.run()
                })
        }

        func send(_ frames: [[UInt8]]) {
            for f in frames {
                XCTAssertEqual(f.withUnsafeBytes { Glibc.write(inject, $0.baseAddress!, $0.count) }, f.count)
            }
        }

        /// Frames that came out: read until `expected` came or 10 s passed (a sanitizer on a
        /// busy CI machine is slow to start a thread), then `ms` more for any beyond them.
        func received(_ expected: Int, quiet ms: Int = 100) -> Int {
            var buffer = [UInt8](repeating: 0, count: 2048)
            var n = 0
            let patience = MonotonicClock.nowMs() + 10_000
            var deadline = expected == 0 ? MonotonicClock.nowMs() + UInt64(ms) : patience
            while MonotonicClock.nowMs() < deadline {
                if Glibc.read(drain, &buffer, buffer.count) > 0 {
                    n += 1
                    if n == expected { deadline = MonotonicClock.nowMs() + UInt64(ms) }
                } else {
                    usleep(1000)
                }
            }
            return n
        }

        func park() {
            forwarder.send(.park)
            XCTAssertTrue(forwarder.wait(for: .park, timeoutMs: 10_000))
            export.send(.park)
            XCTAssertTrue(export.wait(for: .park, timeoutMs: 10_000))
        }

        func end(_ how: ThreadCommand.Command) {
            forwarder.send(how)
            export.send(how)
            threads.joinAll()
            [inject, read, write, drain].forEach { close($0) }
        }
    }

    static let flows = (0 ..< 40).map { i in
        FrameBuilder.tcpv4(sport: UInt16(2000 + i), dport: 80, flags: TCPFlags.ack, payload: 100).bytes
    }

    /// A parked forwarder leaves the wire alone (frames wait in the socket, as in a TAP's
    /// queue) and goes on where it stopped when told to run: nothing lost, nothing doubled.
    func testAParkedForwarderReadsNothingAndGoesOnAfter() throws {
        let rig = try Rig(self, storage: nil, adopting: false)
        rig.send(Self.flows)
        XCTAssertEqual(rig.received(Self.flows.count), Self.flows.count)
        rig.park()
        rig.send(Self.flows)
        XCTAssertEqual(rig.received(0, quiet: 200), 0, "parked: no frame read")
        rig.forwarder.send(.run)
        rig.export.send(.run)
        XCTAssertTrue(rig.forwarder.wait(for: .run, timeoutMs: 10_000))
        XCTAssertEqual(
            rig.received(Self.flows.count), Self.flows.count, "the frames that waited cross once running again")
        rig.end(.stop)
        XCTAssertEqual(rig.exporter.packets, UInt64(2 * Self.flows.count))
        XCTAssertEqual(
            rig.exporter.statistics.records, UInt64(Self.flows.count), "one record a flow: the park split none")
    }

    /// The handover's core: a forwarder that quits after a park reports nothing, and one that
    /// adopts its table (shared memory) goes on with the same flows: one record each, every
    /// packet of both processes in it.
    func testASuccessorAdoptsTheTableAndNoFlowSplits() throws {
        let memory = try SharedMemory(creating: "flowtap-test", size: FlowCache.storageBytes(maxFlows: 256))
        let first = try Rig(self, storage: memory.base, adopting: false)
        first.send(Self.flows)
        XCTAssertEqual(first.received(Self.flows.count), Self.flows.count)
        first.park()
        first.end(.quit)
        XCTAssertEqual(first.exporter.statistics.records, 0, "quit: the flows are the successor's")
        let second = try Rig(self, storage: memory.base, adopting: true)
        second.send(Self.flows)
        XCTAssertEqual(second.received(Self.flows.count), Self.flows.count)
        second.end(.stop)
        XCTAssertEqual(second.exporter.statistics.records, UInt64(Self.flows.count), "one record a flow")
        XCTAssertEqual(second.exporter.packets, UInt64(2 * Self.flows.count), "both processes' packets")
    }
}

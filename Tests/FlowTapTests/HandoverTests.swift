import Glibc
import XCTest

@testable import FlowTapBase
@testable import FlowTapControl
@testable import FlowTapDecode
@testable import FlowTapDevice
@testable import FlowTapExport
@testable import FlowTapInspect
@testable import FlowTapLifecycle
@testable import FlowTapMeter
@testable import FlowTapSetup

/// What a handover and a crash restart rest on, without TAPs: a table in shared memory that a
/// second owner adopts, the slot check that clears what a death left half-written, the layout
/// number that refuses another version's tables, the descriptors' bookkeeping, the options a
/// handover refuses.
final class HandoverTests: XCTestCase {
    let point = ObservationPoint(ingressInterface: 7, egressInterface: 8, direction: 0)
    let policy = ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60)

    func key(_ port: UInt16) -> FlowKey { FrameBuilder.tcpv4(sport: port).decode().key }

    func records(_ c: inout FlowCache) -> [FlowRecord] {
        var out: [FlowRecord] = []
        XCTAssertTrue(
            c.expireAll(reason: .forcedEnd) {
                out.append(copy $0); return true
            })
        return out
    }

    func testAnAdopterGoesOnWithTheSameFlows() throws {
        let memory = try SharedMemory(creating: "flowtap-test", size: FlowCache.storageBytes(maxFlows: 64))
        do {
            var first = FlowCache(maxFlows: 64, policy: policy, point: point, seed: 9, storage: memory.base)
            for p: UInt16 in 1 ... 5 { first.meter(key: key(p), octets: 100, tcpFlags: 0, now: 1000) }
            first.meter(key: key(1), octets: 100, tcpFlags: 0, now: 2000)
        }
        var second = FlowCache(
            maxFlows: 64, policy: policy, point: point, seed: 9, storage: memory.base, adopting: true)
        XCTAssertEqual(second.liveFlows, 5)
        second.meter(key: key(1), octets: 50, tcpFlags: 0, now: 3000)
        let out = records(&second).sorted { $0.key.sourcePort < $1.key.sourcePort }
        XCTAssertEqual(out.map(\.packets), [3, 1, 1, 1, 1])
        XCTAssertEqual(out[0].octets, 250)
    }

    /// A death while a flow was being inserted leaves either a free tag over a half-written
    /// entry (`insert` writes the tag last) or, were the tag torn, one that is not the key's:
    /// `recover` finds the second and clears it; nothing of either is ever exported.
    func testRecoverClearsWhatADeathLeftHalfWritten() throws {
        let memory = try SharedMemory(creating: "flowtap-test", size: FlowCache.storageBytes(maxFlows: 64))
        var first = FlowCache(maxFlows: 64, policy: policy, point: point, seed: 9, storage: memory.base)
        for p: UInt16 in 1 ... 4 { first.meter(key: key(p), octets: 100, tcpFlags: 0, now: 1000) }
        // WORKAROUND(swiftc 6.3.1, TSan IR): the table's pointers taken out of the noncopyable
        // cache first; writing through `first.tags[…]` and `first.entries[…]` in place made the
        // compiler emit an invalid bitcast under -sanitize=thread.
        let (tags, entries) = (first.tags, first.entries)
        // A torn tag: a used slot whose tag is not its key's.
        let used = (0 ..< first.capacity).filter { tags[$0] != 0 }
        tags[used[0]] = tags[used[0]] ^ 0x8000_0000
        // A half-written entry behind a tag written early: garbage key, a tag set.
        let free = (0 ..< first.capacity).first { tags[$0] == 0 }!
        var garbage = FlowKey()
        garbage.w0 = 0xDEAD_BEEF
        (entries + free).pointee.key = garbage
        tags[free] = 0x1234_5679
        var second = FlowCache(
            maxFlows: 64, policy: policy, point: point, seed: 9, storage: memory.base, adopting: true)
        XCTAssertEqual(second.liveFlows, 3)
        XCTAssertEqual(second.recover(), 0, "a second pass finds nothing more")
        let out = records(&second)
        XCTAssertEqual(out.count, 3)
        XCTAssertTrue(out.allSatisfy { $0.packets == 1 && $0.octets == 100 })
        // Another seed: every slot fails the check, as for tables of a process with another seed.
        var stranger = FlowCache(
            maxFlows: 64, policy: policy, point: point, seed: 10, storage: memory.base, adopting: true)
        XCTAssertEqual(stranger.liveFlows, 0)
        XCTAssertEqual(records(&stranger).count, 0)
    }

    /// The number a successor compares before it reads a table: any change of the shared
    /// layout must change it. When this fails after a change to FlowEntry, FlowKey,
    /// ForwarderCounters, ExporterCheckpoint, StateRegion.Header, ApplicationDetail or what ApplicationTable keeps, that is the point: bump
    /// `StateLayout.version` if the meaning changed with the same shape, and pin the new value.
    func testTheStateLayoutNumberIsPinned() {
        XCTAssertEqual(
            String(StateLayout.signature, radix: 16), Self.pinnedSignature,
            "the shared state's layout changed: a successor of the previous version will not read these tables")
    }
    static let pinnedSignature = "9c1c664d1338b488"

    func testARegionOfAnotherLayoutOrShapeIsNotAdopted() throws {
        let size = StateRegion.size(forwarders: 2, maxFlows: 64)
        let region = try StateRegion(forwarders: 2, maxFlows: 64, records: [.l3, .l4], systemInitMs: 5)
        let adopt = { (memory: SharedMemory, maxFlows: Int, records: RecordSet) in
            StateRegion.adopt(memory, forwarders: 2, maxFlows: maxFlows, records: records)
        }
        let copy = try SharedMemory(creating: "flowtap-test", size: size)
        copy.base.copyMemory(from: region.memory.base, byteCount: size)
        guard case .success(let same) = adopt(copy, 64, [.l3, .l4]) else { return XCTFail("the same layout and shape") }
        same.readPrevious()
        XCTAssertEqual(same.systemInitMs, 5)
        XCTAssertEqual(same.hashSeed, region.hashSeed)
        guard case .failure(.configuration) = adopt(copy, 128, [.l3, .l4]) else {
            return XCTFail("another --max-flows")
        }
        guard case .failure(.configuration) = adopt(copy, 64, [.l2, .l3, .l4]) else {
            return XCTFail("another record set")
        }
        copy.base.storeBytes(of: StateLayout.signature ^ 1, toByteOffset: 8, as: UInt64.self)
        guard case .failure(.layout) = adopt(copy, 64, [.l3, .l4]) else { return XCTFail("another layout") }
    }

    func testDescriptorsAreTakenByNameAndTheRestClosed() throws {
        var fds: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let d = InheritedDescriptors([("tap-a-0", fds[0]), ("raw4", fds[1])], origin: "test")
        XCTAssertEqual(d.take("tap-a-0"), fds[0])
        XCTAssertNil(d.take("tap-a-0"))
        XCTAssertEqual(d.closeUnused(), ["raw4"])
        XCTAssertEqual(fcntl(fds[1], F_GETFD), -1, "closed")
        close(fds[0])
        XCTAssertEqual(d.originalNames, ["tap-a-0", "raw4"])
    }

    func testListenFDsForAnotherProcessAreIgnoredAndCleared() {
        setenv("LISTEN_PID", "\(getpid() + 1)", 1)
        setenv("LISTEN_FDS", "2", 1)
        setenv("LISTEN_FDNAMES", "a:b", 1)
        XCTAssertNil(InheritedDescriptors.fromEnvironment())
        XCTAssertNil(getenv("LISTEN_FDS"))
        XCTAssertNil(getenv("LISTEN_PID"))
    }

    func testAHandoverAskCrossesTheControlSocketWhole() throws {
        let ask = HandoverAsk(
            pid: 42, tapA: "tapa", tapB: "tapb", offload: true, queues: 2, maxFlows: 1000, records: "l3,l4", layout: 7)
        XCTAssertEqual(
            try ControlRequest(parsing: ControlRequest.handover(ask).line, longestTimeout: 60), .handover(ask))
        XCTAssertEqual(try ControlRequest(parsing: ControlRequest.reload(ask).line, longestTimeout: 60), .reload(ask))
        XCTAssertThrowsError(try ControlRequest(parsing: "handover {", longestTimeout: 60))
    }

    func testOptionsTheTAPsHoldAreRefusedWithTheReason() {
        let config = ProbeConfiguration(tapA: "tapa", tapB: "tapb", collectors: [])
        let ask = { (a: String, off: Bool, q: Int) in
            HandoverAsk(pid: 1, tapA: a, tapB: "tapb", offload: off, queues: q, maxFlows: 99, records: "l2", layout: 0)
        }
        XCTAssertNil(
            Handover.unchangeable(ask("tapa", false, 1), config),
            "timeouts, collectors, --max-flows and records may change")
        XCTAssertTrue(Handover.unchangeable(ask("tapx", false, 1), config)?.contains("TAPs cannot change") == true)
        XCTAssertTrue(Handover.unchangeable(ask("tapa", true, 1), config)?.contains("--offload") == true)
        XCTAssertTrue(Handover.unchangeable(ask("tapa", false, 2), config)?.contains("--queues") == true)
    }

    func testADescriptorThatIsNoTAPIsRefused() {
        var fds: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[1]) }
        XCTAssertThrowsError(try TapDevice.adopt(fds[0], name: "tapa", offload: false)) { error in
            XCTAssertTrue("\(error)".contains("not an attached TAP queue"), "\(error)")
        }
        XCTAssertEqual(fcntl(fds[0], F_GETFD), -1, "closed once refused")
    }

    /// A TCP connection's two records, the second reported by the successor: the first waited
    /// in the latency join when the park came, and goes on waiting there, so both leave with
    /// the connection's latency, in the successor.
    func testARecordWaitingForItsPartnerCrossesAHandover() throws {
        var client = IPFIXEncoderTests.tcpRecord()
        client.handshake = TCPHandshake(role: .client, synUs: 1_000, ackUs: 3_000, dataUs: 3_100)
        var server = client
        server.key = client.key.reverseKey
        server.direction = 1
        server.handshake = TCPHandshake(role: .server, synUs: 1_500, ackUs: nil, dataUs: 9_000)
        let (memory, held) = try Self.heldRecords(16, details: 4)
        let counts = memory.base.bindMemory(to: UInt32.self, capacity: 2)

        func runThread(
            _ record: FlowRecord, carried: (latency: [HeldRecords.Held], biflow: [HeldRecords.Held]),
            then end: ThreadCommand.Command
        ) throws -> CountingExporter {
            let exporter = CountingExporter()
            try Self.runExportThread(held: held, record, carried: carried, then: end) {
                ExportThread(rings: [$0], detailRings: [$1], exporters: [exporter], command: $2)
            }
            return exporter
        }
        defer { withExtendedLifetime(memory) {} }
        let first = try runThread(client, carried: ([], []), then: .quit)
        XCTAssertEqual(first.statistics.records, 0, "the client's record waits for its partner, kept for the successor")
        XCTAssertEqual(counts[0], 1)
        let second = try runThread(server, carried: held.take(), then: .stop)
        XCTAssertEqual(second.statistics.records, 2, "both records leave in the successor")
        XCTAssertEqual(second.latencies.count, 2)
        XCTAssertTrue(second.latencies.allSatisfy { $0.clientNs > 0 }, "joined: each carries the connection's latency")
        XCTAssertEqual(held.take().latency.count, 0)
    }

    /// An export thread that `make` builds over its rings and command, with `carried`, given
    /// `record` (and `detail` on the detail ring): it runs two ticks, so that the record is in
    /// the joins, then parks and quits (`.quit`, a handover) or stops.
    static func runExportThread(
        held: HeldRecords, _ record: FlowRecord, detail: ApplicationDetail? = nil,
        carried: (latency: [HeldRecords.Held], biflow: [HeldRecords.Held]), then end: ThreadCommand.Command,
        _ make: (RecordRing, DetailRing, ThreadCommand) -> ExportThread
    ) throws {
        let ring = RecordRing(capacity: 16)
        let detailRing = DetailRing(capacity: 16)
        let command = try ThreadCommand()
        let thread = make(ring, detailRing, command)
        thread.held = held
        thread.carried = carried
        var r = record
        if let detail {
            XCTAssertTrue(withUnsafePointer(to: detail) { detailRing.push(serial: 5, $0) })
            r.detailSerial = 5
        }
        XCTAssertTrue(ring.push(r))
        let threads = ThreadGroup()
        XCTAssertTrue(threads.start(name: "test-export") { thread.run() })
        usleep(250_000) // two ticks: the record is in the joins
        if end == .quit {
            command.send(.park)
            XCTAssertTrue(command.wait(for: .park, timeoutMs: 10_000))
        }
        ring.finish()
        command.send(end)
        threads.joinAll()
        XCTAssertEqual(thread.details.count, 0, "every handle given back")
    }

    /// A HeldRecords over shared memory: the counts, `records` records, `details` fields.
    static func heldRecords(_ records: Int, details: Int) throws -> (SharedMemory, HeldRecords) {
        let recordBytes = (records * MemoryLayout<FlowRecord>.stride + 4095) & ~4095
        let memory = try SharedMemory(
            creating: "flowtap-test", size: 4096 + recordBytes + details * MemoryLayout<ApplicationDetail>.stride)
        let counts = memory.base.bindMemory(to: UInt32.self, capacity: 2)
        let held = HeldRecords(
            records: (memory.base + 4096).bindMemory(to: FlowRecord.self, capacity: records), capacity: records,
            details: (memory.base + 4096 + recordBytes).bindMemory(to: ApplicationDetail.self, capacity: details),
            detailCapacity: details, latencyCount: counts, biflowCount: counts + 1)
        return (memory, held)
    }

    func testHeldRecordsKeepWhatFitsAndRefuseInsaneCounts() throws {
        let (memory, held) = try Self.heldRecords(4, details: 4)
        defer { withExtendedLifetime(memory) {} }
        let counts = memory.base.bindMemory(to: UInt32.self, capacity: 2)
        let r: HeldRecords.Held = (IPFIXEncoderTests.tcpRecord(), nil)
        let rest = held.keep(latency: [r, r, r], biflow: [r, r])
        XCTAssertEqual(rest.latency.count, 0)
        XCTAssertEqual(rest.biflow.count, 1, "what does not fit goes back to the caller")
        XCTAssertEqual(held.read().latency.count, 3, "a successor reads them and leaves them")
        let back = held.take()
        XCTAssertEqual(back.latency.count, 3)
        XCTAssertEqual(back.biflow.count, 1)
        XCTAssertEqual(held.take().latency.count, 0, "taken once")
        counts[0] = 99
        XCTAssertEqual(held.take().latency.count, 0, "a count beyond the capacity is not believed")
    }

    /// Fields go with the records a park keeps, while there is room for them; a record past
    /// that room goes on without, and a nonsense index gives none.
    func testHeldRecordsKeepTheirFields() throws {
        let (memory, held) = try Self.heldRecords(8, details: 2)
        defer { withExtendedLifetime(memory) {} }
        var dns = DNSFacts()
        dns.queryName = BoundedText("kept.example")
        dns.responseCode = 3
        let named = ApplicationDetail(.dns, .dns(dns))
        let r = IPFIXEncoderTests.tcpRecord()
        _ = held.keep(latency: [(r, named), (r, nil)], biflow: [(r, ApplicationDetail(.tls)), (r, named)])
        let back = held.read()
        XCTAssertEqual(back.latency.map(\.detail), [named, nil])
        XCTAssertEqual(
            back.biflow.map(\.detail), [ApplicationDetail(.tls), nil], "two fields fit, the third goes without")
        XCTAssertTrue(back.latency.allSatisfy { $0.record.detailSerial == 0 }, "no index of this area leaves it")
        held.records[1].detailSerial = 77
        XCTAssertNil(held.read().latency[1].detail, "an index beyond the area names nothing")
    }

    /// With --biflow, a DNS response's record waiting for its query's at a park keeps its fields:
    /// the successor's biflow record has the question from the query and the response code
    /// from the response, as without a handover.
    func testABiflowRecordWaitingAtAHandoverKeepsItsFields() throws {
        let (memory, held) = try Self.heldRecords(16, details: 4)
        defer { withExtendedLifetime(memory) {} }
        var query = IPFIXEncoderTests.tcpRecord()
        query.tcpFlags = 0
        var response = query
        response.key = query.key.reverseKey
        response.direction = 1
        var asked = DNSFacts()
        asked.queryName = BoundedText("www.handover.test")
        asked.queryType = 28
        var answered = asked
        answered.responseCode = 3

        func runThread(
            _ record: FlowRecord, _ facts: DNSFacts, carried: (latency: [HeldRecords.Held], biflow: [HeldRecords.Held]),
            then end: ThreadCommand.Command
        ) throws -> [(FlowRecord, ApplicationDetail?)] {
            var got: [(FlowRecord, ApplicationDetail?)] = []
            let collector = RecordCollector { got.append(($0, $1)) }
            try Self.runExportThread(
                held: held, record, detail: ApplicationDetail(.dns, .dns(facts)), carried: carried, then: end
            ) {
                ExportThread(
                    rings: [$0], detailRings: [$1], exporters: [], biflowExporters: [collector],
                    biflow: BiflowAssembler(holdSeconds: 30, memorySeconds: 60), command: $2)
            }
            return got
        }
        let first = try runThread(response, answered, carried: ([], []), then: .quit)
        XCTAssertTrue(first.isEmpty, "the response's record waits, kept for the successor")
        let second = try runThread(query, asked, carried: held.take(), then: .stop)
        XCTAssertEqual(second.count, 1, "one biflow record")
        guard case let .dns(facts)? = second.first?.1?.facts else { return XCTFail("no DNS fields: \(second)") }
        XCTAssertEqual(facts.queryName.string, "www.handover.test")
        XCTAssertEqual(facts.responseCode, 3, "the response's code, carried over the handover")
    }
}

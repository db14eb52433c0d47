import Glibc
import Logging
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapExport
@testable import FlowTapMeter
@testable import FlowTapSend
@testable import FlowTapSetup

/// Sequences of input built to reach the full-buffer and timing rules that once trapped
/// (`FlowCache`'s outbox precondition, reached through fragment expiry into a full set), and
/// the bounds every table and message keeps whatever comes.
final class HostileInputTests: XCTestCase {
    static let point = ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0)

    func meter(maxFlows: Int = 8, seed: UInt64 = 0) -> PacketMeter {
        PacketMeter(
            records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60),
            maxFlows: maxFlows, point: Self.point, hashSeed: seed)
    }

    func feed(_ m: inout PacketMeter, _ frame: [UInt8], now: UInt64) {
        frame.withUnsafeBytes { m.meter($0.baseAddress!, length: $0.count, now: now) }
    }

    /// A later fragment (offset 8) of packet `id` from 10.66.x.y: no first fragment ever comes.
    static func orphanFragment(_ id: UInt16, source: UInt32) -> [UInt8] {
        var f = FrameBuilder()
        f.ethernet(type: 0x0800)
        f.ipv4(proto: 17, payload: 16, src: source, flagsOffset: 0x0001, identification: id)
        f.zeros(16)
        return f.bytes
    }

    /// A sink that keeps what it takes, refusing past `capacity` (as a full ring does).
    final class ArraySink: RecordSink {
        var records: [FlowRecord] = []
        var capacity = Int.max
        func push(_ record: borrowing FlowRecord) -> Bool {
            guard records.count < capacity else { return false }
            records.append(copy record)
            return true
        }
    }

    /// Held fragments that expire into a full cache: every expired entry evicts a flow. Before
    /// the fix, more than eight in one housekeeping overran the outbox and trapped; now the
    /// forwarder's metering (`DirectionMeter`) drains after each, and every packet is accounted
    /// for. (The fuzzer found the old trap from its seeds in seconds.)
    func testOrphanFragmentsExpiringIntoAFullCacheAreAllCounted() {
        var d = DirectionMeter(meter(), now: 0)
        let sink = ArraySink()
        for i in 0 ..< 40 {
            Self.orphanFragment(UInt16(i), source: 0x0A42_0000 + UInt32(i)).withUnsafeBytes {
                d.frame($0.baseAddress!, length: $0.count, now: 1_000, into: sink)
            }
        }
        for i in 0 ..< 8 {
            FrameBuilder.tcpv4(sport: UInt16(1000 + i)).bytes.withUnsafeBytes {
                d.frame($0.baseAddress!, length: $0.count, now: 2_000, into: sink)
            }
        }
        XCTAssertEqual(d.meter.cache.liveFlows, 8)
        d.housekeeping(now: 6_000_000_000, wallOffsetNs: 0, into: sink)
        XCTAssertTrue(d.finish(wallOffsetNs: 0, into: sink))
        XCTAssertEqual(sink.records.reduce(0) { $0 + $1.packets }, 48, "40 held fragments and 8 TCP packets, none lost")
        XCTAssertEqual(d.snapshot.recordsLost, 0)
        XCTAssertEqual(d.snapshot.fragmentsUnattributed, 40)
    }

    /// A full sink at shutdown: `finish` says so and resumes where it stopped once there is room.
    func testShutdownWaitsForRoomAndLosesNothing() {
        var d = DirectionMeter(meter(maxFlows: 64), now: 0)
        let sink = ArraySink()
        sink.capacity = 5
        for i in 0 ..< 40 {
            FrameBuilder.tcpv4(sport: UInt16(2000 + i)).bytes.withUnsafeBytes {
                d.frame($0.baseAddress!, length: $0.count, now: 10, into: sink)
            }
        }
        var taken: [FlowRecord] = []
        var rounds = 0
        while !d.finish(wallOffsetNs: 0, into: sink) {
            taken += sink.records
            sink.records.removeAll()
            rounds += 1
        }
        taken += sink.records
        XCTAssertGreaterThan(rounds, 5)
        XCTAssertEqual(taken.count, 40)
        XCTAssertEqual(d.meter.cache.liveFlows, 0)
    }

    /// The same sequence with nobody draining: the outbox's full rule counts, never traps.
    func testAFullOutboxCountsWhatItCannotKeep() {
        var m = meter()
        for i in 0 ..< 40 { feed(&m, Self.orphanFragment(UInt16(i), source: 0x0A42_0000 + UInt32(i)), now: 1_000) }
        for i in 0 ..< 8 { feed(&m, FrameBuilder.tcpv4(sport: UInt16(1000 + i)).bytes, now: 2_000) }
        var expired = 0
        while m.expireFragment(now: .max) { expired += 1 }
        XCTAssertEqual(expired, 40)
        XCTAssertEqual(m.cache.pendingCount, FlowCache.outboxCapacity)
        XCTAssertGreaterThan(m.cache.recordsDropped, 0)
        XCTAssertEqual(
            m.snapshot.recordsLost, m.cache.recordsDropped, "what the outbox could not keep is counted as lost")
    }

    /// A flood of new flows into an 8-slot cache: each evicts one, nothing traps, every packet
    /// is in a record.
    func testFloodOfNewFlowsIntoATinyCache() {
        var m = meter()
        var packets: UInt64 = 0
        for i in 0 ..< 10_000 {
            feed(
                &m,
                FrameBuilder.tcpv4(sport: UInt16(truncatingIfNeeded: i), dport: UInt16(truncatingIfNeeded: i >> 16))
                    .bytes, now: UInt64(i))
            _ = m.cache.drainPending {
                packets += $0.packets; return true
            }
        }
        _ = m.cache.expireAll(reason: .forcedEnd) {
            packets += $0.packets; return true
        }
        XCTAssertEqual(packets, 10_000)
        XCTAssertEqual(m.cache.evictions, 10_000 - 8)
    }

    /// Expiry runs on the meter's (monotonic) clock; a step of the wall clock only moves the
    /// times stamped on records.
    func testAWallClockStepNeitherFlushesNorFreezesTheCache() {
        var cache = FlowCache(
            maxFlows: 64, policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60), point: Self.point)
        let key = FrameBuilder.tcpv4().decode().key
        cache.wallOffsetNs = 1_700_000_000_000_000_000
        cache.meter(key: key, octets: 100, tcpFlags: 0, now: 5_000_000_000)
        // The wall clock jumps a day back, then a day forward: nothing is due at +1 s.
        for step: Int64 in [-86_400_000_000_000, 86_400_000_000_000] {
            cache.wallOffsetNs = UInt64(bitPattern: Int64(bitPattern: cache.wallOffsetNs) &+ step)
            XCTAssertEqual(cache.expire(now: 6_000_000_000, slots: 64) { _ in true }, 0)
        }
        var out: [FlowRecord] = []
        XCTAssertEqual(
            cache.expire(now: 20_000_000_000, slots: 64) {
                out.append(copy $0); return true
            }, 1, "idle after 15 s of the meter's clock")
        XCTAssertEqual(out.first?.firstNs, 1_700_000_000_000_000_000 + 5_000_000_000, "records carry wall-clock time")
        XCTAssertEqual(out.first?.endReason, .idleTimeout)
    }

    /// With a seed, where a key lands is not computable from outside.
    func testTheHashSeedMovesKeysBetweenSets() {
        let keys = (0 ..< 64).map { FrameBuilder.tcpv4(sport: UInt16($0)).decode().key }
        XCTAssertNotEqual(keys.map { $0.hash(seed: 1) }, keys.map { $0.hash(seed: 2) })
        XCTAssertEqual(keys.map(\.hashValue64), keys.map { $0.hash(seed: 0) })
        // Keys that collide in one set under one seed spread under another.
        let sets = 1024
        func set(_ k: FlowKey, _ seed: UInt64) -> UInt64 { ((k.hash(seed: seed) & 0xFFFF_FFFF) &* UInt64(sets)) >> 32 }
        let target = set(keys[0], 1)
        let aimed = (0 ..< 200_000).lazy.map {
            FrameBuilder.tcpv4(sport: UInt16($0 & 0xFFFF), dport: UInt16($0 >> 16)).decode().key
        }
        .filter { set($0, 1) == target }.prefix(32)
        XCTAssertEqual(aimed.count, 32)
        XCTAssertLessThan(Set(aimed.map { set($0, 2) }).count, 33)
        XCTAssertGreaterThan(
            Set(aimed.map { set($0, 2) }).count, 16, "aimed at one set under seed 1, spread under seed 2")
    }

    func testTheBiflowAssemblerStaysWithinItsCapacity() {
        let assembler = BiflowAssembler(memorySeconds: 20, capacity: 100)
        var emitted = 0
        for i in 0 ..< 1000 {
            var key = FrameBuilder.tcpv4(sport: UInt16(i)).decode().key
            key.apply(FlowKeyMask([.l3, .l4]))
            let r = FlowRecord(
                key: key, packets: 1, octets: 60, firstNs: 0, lastNs: 0, ingressInterface: 1,
                egressInterface: 2, tcpFlags: 0, endReason: .idleTimeout, direction: 0)
            assembler.add(r, now: UInt64(i)) { _ in emitted += 1 }
            XCTAssertLessThanOrEqual(assembler.waiting, 100)
            XCTAssertLessThanOrEqual(assembler.remembered, 200)
        }
        XCTAssertEqual(assembler.overflowed, 900)
        XCTAssertLessThanOrEqual(assembler.ordered, 200)
        assembler.expire(now: 10_000_000_000) { _ in emitted += 1 }
        XCTAssertEqual(emitted, 1000, "every record leaves, alone when its reverse never came")
        XCTAssertEqual(assembler.waiting, 0)
        var paired = 0
        // Pairs that meet at once leave no waiting record, and their order entries are compacted.
        for i in 0 ..< 5000 {
            var key = FrameBuilder.tcpv4(sport: UInt16(10_000 + i)).decode().key
            key.apply(FlowKeyMask([.l3, .l4]))
            let r = FlowRecord(
                key: key, packets: 1, octets: 60, firstNs: 0, lastNs: 0, ingressInterface: 1,
                egressInterface: 2, tcpFlags: 0, endReason: .idleTimeout, direction: 0)
            assembler.add(r, now: 1000) { _ in paired += 1 }
            var reverse = r
            reverse.key = key.reverseKey
            assembler.add(reverse, now: 1000) { _ in paired += 1 }
            XCTAssertLessThanOrEqual(assembler.ordered, 200)
        }
        XCTAssertEqual(paired, 5000, "each pair leaves as one biflow record")
        XCTAssertEqual(assembler.waiting, 0)
    }

    func testAMessageWriterNeverWritesPastItsCapacity() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        var w = MessageWriter(base: buffer, capacity: 10)
        w.append64(1)
        XCTAssertFalse(w.overflowed)
        w.append64(2)
        XCTAssertTrue(w.overflowed)
        XCTAssertEqual(w.count, 8)
        w.set32(0, at: 7)
        w.count = 11
        XCTAssertEqual(w.count, 8)
    }

    /// Every format, the largest layouts (l2,l3,l4, biflow), options included, across the
    /// accepted MTU range: no message is longer than the MTU allows, none overflowed, and every
    /// record the format can carry was sent.
    func testNoMessageExceedsTheMTUAcrossItsAcceptedRange() {
        let recordSets: RecordSet = [.l2, .l3, .l4]
        let input: [FlowRecord] = (0 ..< 300).map { i in
            let frame: FrameBuilder
            switch i % 3 {
            case 0: frame = FrameBuilder.tcpv4(sport: UInt16(i))
            case 1:
                var f = FrameBuilder()
                f.ethernet(type: 0x86DD, vlans: [(0x8100, 5)])
                f.ipv6(next: 17, payload: 8 + 4)
                f.udp(sport: UInt16(i), dport: 53, payload: 4)
                f.zeros(4)
                frame = f
            default:
                var f = FrameBuilder()
                f.ethernet(type: 0x0806)
                f.zeros(28)
                frame = f
            }
            var r = FlowRecord(
                key: frame.decode().key, packets: UInt64(i) << 33, octets: UInt64.max - UInt64(i),
                firstNs: 1_700_000_000_000_000_000,
                lastNs: 1_700_000_001_000_000_000, ingressInterface: 70_000, egressInterface: 8, tcpFlags: 0x1FF,
                endReason: .lackOfResources, direction: 1)
            r.reversePackets = 3
            return r
        }
        for format in [ExportFormat.ipfix, .v9, .v5] {
            var config = ProbeConfiguration(
                tapA: "a", tapB: "b", collectors: [CollectorAddress(format: format, host: IPAddress("10.0.0.2")!)])
            config.records = recordSets
            config.biflow = true
            let minimum = config.minimumMTU
            for mtu in Array(minimum ..< minimum + 64) + [300, 576, 1280, 1500, 9000, 65535] where mtu >= minimum {
                let transport = RecordingTransport()
                let context = EncodingContext(systemInitMs: 1_699_999_999_000)
                func run<E: MessageEncoder>(_ encoder: E) -> ExportStatistics {
                    let e = CollectorExporter(
                        collector: config.collectors[0], encoder: encoder, sender: transport, mtu: mtu,
                        templateRefreshSeconds: 1, templateRefreshPackets: 3,
                        probeTotals: { (0, 0) }, logger: Logger(label: "test"))
                    for (i, r) in records.enumerated() {
                        e.export(r, now: UInt64(i) * 10)
                        e.tick(now: UInt64(i) * 10)
                    }
                    e.finish(now: 10_000)
                    return e.statistics
                }
                // v5 counters are 32-bit (its splitting is tested on its own); IPFIX and v9 take
                // the largest counters.
                let records =
                    format == .v5
                    ? input.map { r in
                        var r = r; r.packets = 5; r.octets = 5_000; return r
                    } : input
                let stats: ExportStatistics
                switch format {
                case .ipfix:
                    stats = run(
                        IPFIXEncoder(
                            observationDomain: 1, layouts: RecordLayout.layouts(for: recordSets, biflow: true),
                            context: context))
                case .v9:
                    stats = run(
                        NetFlowV9Encoder(
                            sourceID: 1, layouts: RecordLayout.layouts(for: recordSets, dialect: .netflowV9),
                            context: context))
                case .v5: stats = run(NetFlowV5Encoder(observationDomain: 1, context: context))
                }
                XCTAssertEqual(stats.overflowedMessages, 0, "\(format) mtu \(mtu)")
                XCTAssertEqual(stats.recordsNotSent, 0, "\(format) mtu \(mtu)")
                let longest = transport.log.messages.map(\.count).max() ?? 0
                XCTAssertLessThanOrEqual(longest + transport.headerLength, mtu, "\(format) mtu \(mtu)")
                XCTAssertEqual(Int(stats.records), format == .v5 ? 100 : 300, "\(format) mtu \(mtu)")
                XCTAssertEqual(
                    stats.recordsNotExportable, format == .v5 ? 200 : 0, "\(format) mtu \(mtu): v5 carries IPv4 only")
            }
        }
    }

    /// Counts near 2^64 split for v5 without trapping.
    func testV5SplitsHugeCountersWithoutTrapping() {
        var r = IPFIXEncoderTests.tcpRecord()
        r.packets = .max
        r.octets = .max
        // 2^64 − 1 = (2^32 − 1)(2^32 + 1): exactly 2^32 + 1 parts.
        XCTAssertEqual(NetFlowV5Encoder.parts(r), 4_294_967_297)
    }
}

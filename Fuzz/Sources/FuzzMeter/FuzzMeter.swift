import FlowTapBase
import FlowTapDecode
import FlowTapEncode
import FlowTapExport
import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import Logging

/// One fuzz input is a probe configuration and a sequence of frames with time steps between
/// them, run through the forwarder's own metering code, `DirectionMeter` (decode, classify,
/// fragments, sampling, GSO counting, the flow cache with eviction on a small table, the
/// housekeeping slice and fragment expiry, the reset notices (looped back into the same cache,
/// which meters both directions here), shutdown with every flow forced out) into a small
/// sink that refuses when full, as the ring does; then the biflow assembler, and every encoder
/// behind a `CollectorExporter`, whose messages `ExportReader` reads back and checks against
/// the MTU.
///
/// Layout: byte 0 picks the configuration (`FuzzConfiguration`), byte 1 the MTU; then chunks of
/// [step, length (2 bytes, big-endian), frame]. A step's low 3 bits choose a time step (0, 1 ms,
/// 10 ms, 1 s, 5 s, 15 s, 61 s, 1 h); bit 3 runs housekeeping after the frame; bit 4 has the
/// "export thread" take the sink's records after the frame (else the sink fills and refuses).
/// libFuzzer calls this, through `LLVMFuzzerRunDriver` (Entry.swift); its own main, which
/// SwiftPM's alias replaces, names it too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMeter(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard input.count >= 2 else { return 0 }
    let config = FuzzConfiguration(input[0])
    var harness = Harness(config, mtuByte: input[1])
    var offset = 2
    let frame = UnsafeMutableRawPointer.allocate(byteCount: 65536 + 64, alignment: 64)
    defer { frame.deallocate() }
    var frames = 0
    while offset + 3 <= input.count {
        let step = input[offset]
        let length = min(Int(input[offset + 1]) << 8 | Int(input[offset + 2]), input.count - offset - 3)
        offset += 3
        frame.copyMemory(from: input.baseAddress! + offset, byteCount: length)
        offset += length
        harness.advance(step)
        harness.direction.frame(frame, length: length, now: harness.now, into: harness.sink)
        frames += 1
        if step & 0x08 != 0 { harness.housekeeping() }
        if step & 0x10 != 0 || frames % 64 == 0 { harness.walk() }
    }
    harness.shutdown()
    return 0
}

/// What byte 0 selects: record sets, table size, virtio_net_hdr, sampling, biflow.
struct FuzzConfiguration {
    let records: RecordSet
    let maxFlows: Int
    let vnetHeader: Int
    let sampling: Sampling
    let biflow: Bool

    init(_ b: UInt8) {
        let sets: [RecordSet] = [
            [.l3, .l4], [.l2, .l3, .l4], [.l2], [.l3], [.l4], [.l2, .l4], [.l3, .l4], [.l2, .l3, .l4]
        ]
        records = sets[Int(b & 7)]
        maxFlows = b & 0x08 != 0 ? 64 : 8
        vnetHeader = b & 0x10 != 0 ? 12 : 0
        sampling = b & 0x20 != 0 ? Sampling(interval: 3, mode: b & 0x40 != 0 ? .random : .deterministic) : Sampling()
        biflow = b & 0x80 != 0
    }
}

/// A transport that keeps what it is given for the reader, like a socket that always takes it.
struct KeepingTransport: MessageTransport {
    final class Box { var messages: [[UInt8]] = [] }
    let box = Box()
    let headerLength: Int
    mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        box.messages.append(Array(UnsafeRawBufferPointer(start: payload, count: length)))
        return 0
    }
}

/// The ring's stand-in: bounded, refuses when full.
final class BoundedSink: RecordSink {
    var records: [FlowRecord] = []
    let capacity = 48
    func push(_ record: borrowing FlowRecord) -> Bool {
        guard records.count < capacity else { return false }
        records.append(copy record)
        return true
    }
}

struct Harness: ~Copyable {
    var direction: DirectionMeter
    let sink = BoundedSink()
    var now: UInt64 = 1_000_000_000
    var records: [FlowRecord] = []
    /// Each record's application fields, taken off the detail ring as the export thread does.
    var details: [ApplicationDetail?] = []
    let detailRing = DetailRing(capacity: 16)
    let config: FuzzConfiguration
    let mtu: Int
    let assembler: BiflowAssembler
    /// Small, so that a run of RSTs finds it full.
    let resets = SPSCRing<FlowKey>(capacity: 4)

    init(_ config: FuzzConfiguration, mtuByte: UInt8) {
        self.config = config
        var meter = PacketMeter(
            records: config.records, policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60),
            maxFlows: config.maxFlows, point: ObservationPoint(ingressInterface: 7, egressInterface: 8, direction: 0),
            sampling: config.sampling, vnetHeader: config.vnetHeader, ownExport: Harness.ownExport,
            seed: 7, hashSeed: 0x5EED, inspect: true)
        meter.cache.resetNotices = resets
        // Small, so that records find it full and go with their label alone.
        meter.cache.details = detailRing
        direction = DirectionMeter(meter, now: now)
        let minimum = Harness.minimumMTU[Int(config.records.rawValue)]
        mtu = minimum + Int(mtuByte) * 6
        assembler = BiflowAssembler(memorySeconds: 20, capacity: 16)
    }

    static var ownExport: OwnExportFilter {
        var f = OwnExportFilter()
        f.add(
            source: IPAddress("10.77.9.1")!, sourcePort: 4739, destination: IPAddress("10.77.9.2")!,
            destinationPort: 4739)
        return f
    }

    /// The smallest MTU every format accepts with biflow records, per record-set value.
    static let minimumMTU: [Int] = (0 ..< 8).map { raw in
        let records = RecordSet(rawValue: UInt8(raw))
        guard !records.isEmpty else { return 0 }
        return ExportFormat.allCases.map { format in
            28 + format.largestRequiredMessage(records: records, biflow: true, ipfixNtop: false)
        }.max()!
    }

    mutating func advance(_ step: UInt8) {
        let steps: [UInt64] = [
            0, 1_000_000, 10_000_000, 1_000_000_000, 5_000_000_000, 15_000_000_000, 61_000_000_000, 3_600_000_000_000
        ]
        now &+= steps[Int(step & 7)]
    }

    static let wallOffsetNs: UInt64 = 1_700_000_000_000_000_000

    /// The export thread's side: take what the sink holds, and now and then export it.
    mutating func walk() {
        for r in sink.records {
            records.append(r)
            details.append(r.detailSerial != 0 ? detailRing.take(serial: r.detailSerial) : nil)
        }
        sink.records.removeAll(keepingCapacity: true)
        if records.count > 256 { export() }
    }

    mutating func housekeeping() {
        direction.closeForPeerResets(from: resets, into: sink)
        direction.housekeeping(now: now, wallOffsetNs: Self.wallOffsetNs, into: sink)
    }

    mutating func shutdown() {
        var rounds = 0
        while !direction.finish(wallOffsetNs: Self.wallOffsetNs, into: sink) {
            walk()
            rounds += 1
            precondition(rounds < 100_000, "shutdown makes progress while the export thread takes records")
        }
        walk()
        precondition(direction.meter.cache.liveFlows == 0, "every flow leaves at shutdown")
        export()
    }

    /// Every record through each format (and, with biflow, through the assembler into IPFIX),
    /// and every message read back.
    mutating func export() {
        let context = EncodingContext(systemInitMs: 1_699_999_999_000)
        var biflowRecords: [FlowRecord] = []
        if config.biflow {
            for r in records { assembler.add(r, now: now) { biflowRecords.append($0) } }
            assembler.expire(now: now &+ 10_000_000_000) { biflowRecords.append($0) }
            assembler.flush(now: now) { biflowRecords.append($0) }
        }
        run(
            IPFIXEncoder(
                observationDomain: 1, layouts: RecordLayout.layouts(for: config.records), context: context,
                applications: true),
            records, details, .ipfix)
        run(
            NetFlowV9Encoder(
                sourceID: 1, layouts: RecordLayout.layouts(for: config.records, dialect: .netflowV9), context: context,
                applications: true),
            records, details, .v9)
        run(NetFlowV5Encoder(observationDomain: 1, context: context), records, details, .v5)
        if config.biflow {
            run(
                IPFIXEncoder(
                    observationDomain: 1, layouts: RecordLayout.layouts(for: config.records, biflow: true),
                    context: context), biflowRecords, [], .ipfix)
        }
        records.removeAll(keepingCapacity: true)
        details.removeAll(keepingCapacity: true)
    }

    /// `fields`: each record's application fields, by index (none past its end).
    func run<E: MessageEncoder>(
        _ encoder: E, _ input: [FlowRecord], _ fields: [ApplicationDetail?], _ format: ExportFormat
    ) {
        let transport = KeepingTransport(headerLength: 28)
        let exporter = CollectorExporter(
            collector: CollectorAddress(format: format, host: IPAddress("10.77.9.2")!), encoder: encoder,
            sender: transport, mtu: mtu, templateRefreshSeconds: 1, templateRefreshPackets: 4,
            probeTotals: { (0, 0) }, logger: Logger(label: "fuzz"), wallClockMs: { 1_700_000_000_000 })
        for (i, r) in input.enumerated() {
            (i < fields.count ? fields[i] : nil).withPointer { exporter.export(r, detail: $0, now: UInt64(i) &* 7) }
            if i % 32 == 0 { exporter.tick(now: UInt64(i) &* 7 &+ 600) }
        }
        exporter.finish(now: 1_000_000)
        precondition(exporter.statistics.overflowedMessages == 0, "an encoder overfilled a message")
        for m in transport.box.messages {
            precondition(m.count + transport.headerLength <= mtu, "a message longer than the MTU")
            ExportReader.check(m, format: format)
        }
    }
}

import FlowTapBase
import FlowTapDecode
import FlowTapDevice
import FlowTapEncode
import FlowTapExport
import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import FlowTapSetup
import Glibc
import Logging
import SystemPackage

/// `flowtap read`: capture files through the same meter, TCP insight, joins and exporters as
/// `run`, in one thread, on the capture's clock. Flow times are the packets' timestamps, and
/// every timer (idle, active, TCP close, the joins' holds, the exporters' flush and template
/// refresh, the export time in message headers, NetFlow's uptime base) runs on that clock,
/// so that a capture gives the records a live run of the same traffic would have given.
///
/// There is no link to keep, so nothing is dropped for speed: records go from the meter to
/// the exporters in the same thread, and a full collector socket slows the reader
/// (`DatagramSender`'s pacing) instead of losing records.
public enum CaptureRun {
    public struct Options: Sendable {
        /// The export options, shared with `run` (the TAP fields unused).
        public var export: ProbeConfiguration
        /// Paths; "-" is standard input.
        public var inputs: [String]
        /// An IPFIX file (RFC 5655) to write, or nil.
        public var output: String?
        /// Messages a second to each collector; 0: unpaced.
        public var messagesPerSecond = 20_000
        /// A progress line on standard error (when it is a terminal).
        public var progress = false
        /// The flow table's hash seed; nil: `CaptureRun.hashSeed`. Only which flows share a
        /// set of slots depends on it (so, with a full table, which are evicted).
        public var hashSeed: UInt64?

        public init(export: ProbeConfiguration, inputs: [String]) {
            self.export = export
            self.inputs = inputs
        }

        public func validate() throws(SetupError) {
            if inputs.isEmpty {
                throw SetupError(
                    "no capture file given", fix: "name one or more pcap or pcapng files, or - for standard input")
            }
            if inputs.filter({ $0 == "-" }).count > 1 {
                throw SetupError("standard input (-) is named twice", fix: "name it once")
            }
            if messagesPerSecond < 0 {
                throw SetupError(
                    "--export-rate is \(messagesPerSecond)", fix: "give messages per second, or 0 for unpaced")
            }
            try export.validateExport()
        }
    }

    public struct Summary: Sendable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
        public var counters = ForwarderCounters()
        public var outOfOrder: UInt64 = 0
        public var firstNs: UInt64 = 0
        public var lastNs: UInt64 = 0
        public var wallSeconds = 0.0
        public var collectors: [(collector: String, statistics: ExportStatistics)] = []
        /// The damaged input's error line, if one ended the reading, and its fix.
        public var failure: String?
        public var failureFix = "the records of the packets before it were exported"
        public var stoppedBy: CInt?

        public var line: String {
            let span = lastNs > firstNs ? Double(lastNs - firstNs) / 1e9 : 0
            var s =
                "flowtap: read \(packets) packets, \(bytes) bytes, spanning \(span.fixed(3)) s of capture, in \(wallSeconds.fixed(3)) s"
            if let stoppedBy { s += " (stopped by \(SignalInbox.name(stoppedBy)))" }
            let records = collectors.first?.statistics.records ?? 0
            s +=
                "; \(counters.flowsCreated) flows, \(records) records; metered \(counters.metered), snapped \(counters.snapped); "
            s += "not metered: \(counters.malformed) undecodable, "
            s += "\(counters.nonIPUnmetered) non-IP, \(counters.sampledOut) sampled out; "
            s += "evicted \(counters.evictions); records lost \(counters.recordsLost); out of time order \(outOfOrder)"
            return s
        }

        public var collectorLines: [String] {
            collectors.map { c, st in
                "flowtap: \(c): \(st.records) records in \(st.messages) messages, \(st.bytes) bytes; send errors \(st.sendErrors), records not sent \(st.recordsNotSent), not exportable \(st.recordsNotExportable)"
            }
        }
    }

    /// Receives what the meter finishes, emptied into the export stage a batch at a time: each
    /// record with its fields, taken off the detail ring as it comes (the fields went there
    /// just before it) into the stage's store, so that the ring never fills, however many
    /// flows end at once.
    final class Records: RecordSink {
        var list: [FlowRecord] = []
        let ring: DetailRing?
        let store: DetailStore
        /// The most records the list takes before it refuses one (the meter keeps that flow and
        /// offers it again): `Int.max` while packets are read, where a refusal would lose it,
        /// and `finishBatch` at the end of the input, where every flow left in the table comes
        /// at once and is handed on a batch at a time.
        var room = Int.max
        static let finishBatch = 1024
        init(ring: DetailRing?, store: DetailStore) {
            self.ring = ring
            self.store = store
            list.reserveCapacity(1024)
        }
        func push(_ record: borrowing FlowRecord) -> Bool {
            guard list.count < room else { return false }
            var r = copy record
            if ring != nil, r.detailSerial != 0 {
                // Not bound to a name: that retained and released the ring for every record. The
                // unwrap is of the `let` tested on the line above.
                r.detailSerial = store.take(from: ring!, serial: r.detailSerial)
            } else {
                r.detailSerial = 0
            }
            list.append(r)
            return true
        }
    }

    /// The capture's clock in milliseconds, for the exporters' message headers.
    final class CaptureClock: @unchecked Sendable {
        var ms: UInt64 = 0
    }

    static let housekeepingNs: UInt64 = 10_000_000
    /// The export stage's timers (the joins' hold, a message's 500 ms, templates' refresh) run
    /// every second of the capture, and records wait in `Records` until then or until
    /// `handOnBatch` have ended, to go to the stage together. Handed on as they ended (about
    /// one per housekeeping in a capture rich in named flows) and timed every 10 ms, each took
    /// the export stage's code back into the instruction cache and the meter's out of it
    /// (docs/performance.md). Records reach the stage in the order they ended; one a join
    /// holds leaves at most a second later than before, so its place among the messages moves.
    static let timersNs: UInt64 = 1_000_000_000
    static let handOnBatch = 256
    /// Fields on their way from the meter to `Records`: each is taken off as its record reaches
    /// `Records`, just after the meter put it there, so a few slots do. The forwarders' 4096
    /// slots, 3.4 MB, went round here once every 4096 labelled records, each write out of the
    /// caches.
    static let detailRingCapacity = 64
    /// Fixed seeds (see `run`): "flowtap!" and 1.
    public static let hashSeed: UInt64 = 0x2170_6174_776F_6C66
    static let samplingSeed: UInt64 = 1

    /// `printing`: where records go when there is no collector and no file (`flowtap read`
    /// prints them), in the order they are exported.
    public static func run(
        _ options: Options, logger: Logger, printing: ((FlowRecord, ApplicationDetail?) -> Void)? = nil
    )
        throws(SetupError) -> Summary
    {
        let config = options.export
        let started = MonotonicClock.nowNs()
        let signals = try SignalInbox()
        var summary = Summary()
        let clock = CaptureClock()
        // Outputs first: a path that cannot be written is an error before any reading.
        let file = options.output.map { OutputFiles(path: $0, rotateSeconds: 0) }
        try file?.open()
        var senders: [DatagramSender] = []
        for c in config.collectors {
            senders.append(
                try DatagramSender(destination: c.host, port: c.port, messagesPerSecond: options.messagesPerSecond))
        }
        let inputs = try openInputs(options.inputs)

        // The same capture and options give the same records, in the same messages, on every
        // run: flows expire in the order of their deadlines, never of their slots, and the
        // seeds are fixed, so that a full table evicts the same flows and random sampling
        // takes the same packets (`Options.hashSeed` varies the hash for the tests of that).
        var meter = PacketMeter(
            records: config.records, policy: config.expiryPolicy, maxFlows: config.maxFlows,
            point: ObservationPoint(ingressInterface: 0, egressInterface: 0, direction: 0),
            sampling: config.sampling, seed: Self.samplingSeed, hashSeed: options.hashSeed ?? Self.hashSeed,
            orderedExpiry: true, inspect: config.appFields)
        // One meter sees both directions, so a RST's notice closes the reverse flow here.
        let resets = SPSCRing<FlowKey>(capacity: Pipeline.resetNoticeCapacity)
        meter.cache.resetNotices = resets
        let details = config.appFields ? DetailRing(capacity: detailRingCapacity) : nil
        meter.cache.details = details
        meter.cache.wallOffsetNs = 0
        var metering = DirectionMeter(meter, now: 0)
        let store = DetailStore()
        let records = Records(ring: details, store: store)
        var stage: ExportThread?

        /// The exporters, made at the first packet: NetFlow's uptime counts from it.
        func makeStage(firstMs: UInt64) throws(SetupError) -> ExportThread {
            var (uniflow, biflow, _) = ExportWiring.exporters(
                config, senders: senders.map { ($0, nil) }, output: file,
                context: EncodingContext(systemInitMs: firstMs), totals: { (0, 0) },
                logger: logger, wallClockMs: { clock.ms })
            if let printing {
                if config.biflow {
                    biflow.append(RecordCollector(printing))
                } else {
                    uniflow.append(RecordCollector(printing))
                }
            }
            return ExportThread(
                rings: [], exporters: uniflow, biflowExporters: biflow,
                biflow: ExportWiring.assembler(config, tables: 1),
                command: try ThreadCommand(), details: store)
        }

        func handOn(_ stage: ExportThread, nowMs: UInt64) {
            for r in records.list { stage.deliver(r, nowMs: nowMs) }
            records.list.removeAll(keepingCapacity: true)
        }

        var nowNs: UInt64 = 0
        var nextHousekeeping: UInt64 = 0
        var nextTimers: UInt64 = 0
        var progressAt = MonotonicClock.nowNs()
        var doneBytes: UInt64 = 0
        let totalBytes = inputs.allSatisfy { $0.size != nil } ? inputs.reduce(Int64(0)) { $0 + ($1.size ?? 0) } : nil
        /// A packet's time and size: the capture's clock moves (never backwards: a packet
        /// stamped before the one read last, as in merged captures, counts at that one's time),
        /// and the exporters start at the first packet.
        func arrive(timestampNs: UInt64, originalLength: Int) throws(SetupError) {
            summary.packets += 1
            summary.bytes &+= UInt64(originalLength)
            if timestampNs < nowNs { summary.outOfOrder += 1 } else { nowNs = timestampNs }
            if summary.packets == 1 {
                summary.firstNs = nowNs
                nextHousekeeping = nowNs
                nextTimers = nowNs
                stage = try makeStage(firstMs: nowNs / 1_000_000)
            }
            clock.ms = nowNs / 1_000_000
        }

        /// After each packet: housekeeping every 10 ms of the capture; the records handed on a
        /// batch at a time, and all of them before the stage's timers.
        func settle() {
            if nowNs >= nextHousekeeping {
                metering.housekeeping(now: nowNs, wallOffsetNs: 0, into: records)
                metering.closeForPeerResets(from: resets, into: records)
                nextHousekeeping = nowNs &+ housekeepingNs
                if nowNs >= nextTimers, let stage {
                    handOn(stage, nowMs: clock.ms)
                    stage.timers(nowMs: clock.ms)
                    nextTimers = nowNs &+ timersNs
                }
            }
            if resets.count != 0 { metering.closeForPeerResets(from: resets, into: records) }
            if records.list.count >= handOnBatch, let stage { handOn(stage, nowMs: clock.ms) }
        }

        reading: for input in inputs {
            // read(2) into a buffer that stays in the cache: mapping the file instead was slower
            // here (every packet's bytes cold, 1.9 against 1.1 CPU seconds for 5 million packets).
            var reader = CaptureReader(.descriptor(input.fd))
            while true {
                switch reader.next() {
                case let .frame(frame):
                    try arrive(timestampNs: frame.timestampNs, originalLength: frame.originalLength)
                    metering.capturedFrame(
                        frame.bytes, length: frame.length, wireLength: frame.originalLength, now: nowNs, into: records)
                    settle()
                case let .cutLinkHeader(originalLength, timestampNs):
                    try arrive(timestampNs: timestampNs, originalLength: originalLength)
                    metering.meter.counters.issues[Int(DecodeIssue.truncatedLinkHeader.rawValue)] &+= 1
                    settle()
                case let .otherLinkType(type):
                    // Nothing of it could be metered, and skipping it would leave the records
                    // short without a word: the reading ends here, as at damage.
                    summary.failure =
                        "\(input.name): packet \(reader.packets): link type \(type) is not one flowtap reads "
                        + "(\(CaptureParser.LinkType.described))"
                    summary.failureFix =
                        "capture on an Ethernet interface or with tcpdump -i any; the records of the packets before it were exported"
                    break reading
                case .end:
                    doneBytes += reader.consumedBytes
                    continue reading
                case let .failure(error):
                    summary.failure = "\(input.name): \(error)"
                    break reading
                }
                if summary.packets & 0xFFF == 0 {
                    if let s = signals.next(), SignalInbox.action(s) == .stop {
                        summary.stoppedBy = s
                        break reading
                    }
                    if options.progress, MonotonicClock.nowNs() &- progressAt > 500_000_000 {
                        progressAt = MonotonicClock.nowNs()
                        progress(summary, bytesRead: doneBytes + reader.consumedBytes, of: totalBytes)
                    }
                }
            }
        }
        if options.progress { writeError("\r\u{1B}[K") }

        // The end of the input: every flow still in the table, a batch at a time, then every
        // message. All at once, the thousands of flows still open at the end of a long capture
        // had their records and fields held together: the store of fields grew to 16 384 slots
        // (13 MB, each page faulted in) for bench-read.sh's rich capture.
        //
        // Held fragments first, all of them: their records leave the meter's outbox, which
        // cannot keep one that is refused (`finish` finds none left).
        metering.expireFragments(now: .max, into: records)
        records.room = Records.finishBatch
        while true {
            let done = metering.finish(wallOffsetNs: 0, into: records)
            if stage == nil, !records.list.isEmpty { stage = try makeStage(firstMs: nowNs / 1_000_000) }
            if let stage { handOn(stage, nowMs: clock.ms) }
            if done { break }
        }
        if let stage {
            stage.finish(nowMs: clock.ms)
            summary.collectors = stage.statistics.map { ($0.collector.description, $0.statistics) }
        }
        summary.counters = metering.snapshot
        summary.lastNs = nowNs
        summary.wallSeconds = Double(MonotonicClock.nowNs() - started) / 1e9
        if let file {
            file.completeCurrent()
            if let e = file.lastError {
                throw SetupError(
                    "writing \(file.path) failed: \(e)", fix: "check the disk; the file holds what was written before")
            }
        }
        return summary
    }

    /// Every input, opened before any is read: a path that cannot be read is an error at once.
    static func openInputs(_ paths: [String]) throws(SetupError) -> [(name: String, fd: Descriptor, size: Int64?)] {
        var inputs: [(name: String, fd: Descriptor, size: Int64?)] = []
        for path in paths {
            do throws(Errno) {
                if path == "-" {
                    // A copy: standard input is flowtap's to read, not to close.
                    inputs.append(("standard input", try Descriptor(duplicating: STDIN_FILENO), nil))
                } else {
                    let fd = try Descriptor(opening: path, O_RDONLY)
                    inputs.append((path, fd, fd.fileSize))
                }
            } catch {
                throw SetupError(
                    "cannot read \(path): \(error)", fix: "give the path of a pcap or pcapng file you may read")
            }
        }
        return inputs
    }

    static func writeError(_ text: String) {
        var t = text
        t.withUTF8 { b in if let p = b.baseAddress { _ = SystemCall.write(2, p, b.count) } }
    }

    static func progress(_ s: Summary, bytesRead: UInt64, of total: Int64?) {
        var line = "\rflowtap: \(s.packets) packets, \(bytesRead >> 20) MiB"
        if let total, total > 0 { line += " (\((Double(bytesRead) * 100 / Double(total)).fixed(0)) %)" }
        writeError(line + "\u{1B}[K")
    }
}

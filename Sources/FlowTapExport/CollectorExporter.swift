import FlowTapBase
import FlowTapDecode
import FlowTapEncode
import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import Glibc
import Logging

/// One collector: its encoder state (templates, sequence), the message being filled, the
/// finished messages waiting for a batch to fill (a transport that takes several at once), a
/// bounded queue of messages the network refused, and the sender. Only the export thread
/// touches it.
///
/// Its `now` is monotonic milliseconds (timers: flush, template refresh, retries), so a step
/// of the wall clock neither freezes nor hurries them; message headers take the wall clock
/// from `wallClockMs`.
public final class CollectorExporter<Encoder: MessageEncoder, Transport: MessageTransport>: FlowExporter {
    /// A partly filled message waits at most this long; with the export thread's 100 ms tick it
    /// leaves within 0.6 s.
    public static var flushAfterMs: UInt64 { 500 }
    /// Messages kept for a later try when the network refuses them (ENOBUFS, EHOSTUNREACH, …).
    public static var queueLimit: Int { 256 }
    /// A finished message waits at most this long (monotonic time, seen at a tick) for its
    /// batch to fill, when the transport takes batches: `read` fills one in microseconds, a
    /// capture streamed from tcpdump may not.
    public static var batchHoldMs: UInt64 { 100 }

    public let collector: CollectorAddress
    public private(set) var statistics = ExportStatistics()
    private var encoder: Encoder
    private var sender: Transport
    private let mtu: Int
    private let storage: UnsafeMutableRawPointer
    /// Options messages and retries of queued messages are built here.
    private let scratch: UnsafeMutableRawPointer
    private var message: MessageWriter
    private var isOpen = false
    private var carriesTemplates = false
    private var openedAt: UInt64 = 0
    private var templatesDueAt: UInt64 = 0
    private var messagesSinceTemplates = 0
    private let templateRefreshMs: UInt64
    private let templateRefreshPackets: Int
    private var queue: [(bytes: [UInt8], records: Int)] = []
    private let probeTotals: ProbeTotals
    private let sampling: Sampling
    private var errorLog = RateLimiter()
    private let logger: Logger
    private let wallClockMs: () -> UInt64
    private let icmp: CollectorErrors?
    private var ledger = SentLedger()
    /// Empty whenever `queue` is not, so that messages leave in sequence order.
    private var batch: MessageBatch
    private let monotonicNs: () -> UInt64
    public var checkpointSlot: UnsafeMutablePointer<ExporterCheckpoint>?

    /// `mtu` bounds the whole IP datagram. Templates go out again every
    /// `templateRefreshSeconds`, and after every `templateRefreshPackets` messages (0: never).
    public init(
        collector: CollectorAddress, encoder: Encoder, sender: Transport, mtu: Int,
        templateRefreshSeconds: Int, templateRefreshPackets: Int,
        sampling: Sampling = Sampling(), probeTotals: @escaping ProbeTotals, logger: Logger,
        wallClockMs: @escaping () -> UInt64 = WallClock.nowMs, errors: CollectorErrors? = nil,
        monotonicNs: @escaping () -> UInt64 = MonotonicClock.nowNs
    ) {
        self.wallClockMs = wallClockMs
        self.monotonicNs = monotonicNs
        icmp = errors
        self.sampling = sampling
        self.collector = collector
        self.encoder = encoder
        self.sender = sender
        self.mtu = mtu
        self.probeTotals = probeTotals
        self.logger = logger
        templateRefreshMs = UInt64(templateRefreshSeconds) * 1000
        self.templateRefreshPackets = templateRefreshPackets
        storage = .allocate(byteCount: UDPSender.headerRoom + mtu, alignment: 16)
        scratch = .allocate(byteCount: UDPSender.headerRoom + mtu, alignment: 16)
        message = MessageWriter(base: storage + UDPSender.headerRoom, capacity: mtu - sender.headerLength)
        batch = MessageBatch(capacity: sender.batchLimit > 1 ? sender.batchLimit : 0, messageBytes: mtu)
    }

    deinit {
        storage.deallocate()
        scratch.deallocate()
    }

    public func export(_ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, now: UInt64) {
        if !isOpen { begin(now: now) }
        switch encoder.append(record, detail: detail, to: &message) {
        case .appended:
            return
        case .notExportable:
            statistics.recordsNotExportable += 1
        case .full:
            flush(now: now)
            begin(now: now)
            if encoder.append(record, detail: detail, to: &message) == .appended { return }
            // A small MTU may carry the templates or a record, not both: the templates go alone.
            if carriesTemplates {
                flush(now: now)
                begin(now: now)
                if encoder.append(record, detail: detail, to: &message) == .appended { return }
            }
            statistics.recordsNotExportable += 1
        }
    }

    public func tick(now: UInt64) {
        while let error = icmp?.next() {
            statistics.icmpErrors += 1
            statistics.lastError = error.text
            statistics.lastErrorMs = wallClockMs()
            // The refused message's records did not reach the collector: count them as lost. It
            // missed templates too, or is restarting: they go again with the next message.
            statistics.recordsNotSent += UInt64(ledger.refused(quoting: error.quoted))
            templatesDueAt = 0
            if let silenced = errorLog.admit(now: now) {
                logger.warning(
                    "export to \(collector): \(error.text)\(silenced > 0 ? " (\(silenced) similar not shown)" : "")")
            }
        }
        if !queue.isEmpty {
            retryQueue(now: now)
            persist()
        }
        if Encoder.usesTemplates && templatesDue(now: now) {
            flush(now: now)
            begin(now: now)
        }
        if isOpen && now &- openedAt >= Self.flushAfterMs { flush(now: now) }
        if !batch.isEmpty && monotonicNs() &- batch.sinceNs >= Self.batchHoldMs * 1_000_000 { sendBatch(now: now) }
    }

    public func finish(now: UInt64) {
        flush(now: now)
        sendBatch(now: now)
        for _ in 0 ..< 20 where !queue.isEmpty {
            retryQueue(now: now)
            if !queue.isEmpty { usleep(5000) }
        }
        for entry in queue { statistics.recordsNotSent += UInt64(entry.records) }
        queue.removeAll()
        statistics.queued = 0
    }

    private func templatesDue(now: UInt64) -> Bool {
        now >= templatesDueAt || (templateRefreshPackets > 0 && messagesSinceTemplates >= templateRefreshPackets)
    }

    private func begin(now: UInt64) {
        carriesTemplates = Encoder.usesTemplates && templatesDue(now: now)
        if carriesTemplates {
            templatesDueAt = now + templateRefreshMs
            messagesSinceTemplates = 0
            sendOptions(now: now)
        }
        message = MessageWriter(base: message.base, capacity: message.capacity)
        encoder.begin(&message, withTemplates: carriesTemplates)
        isOpen = true
        openedAt = now
    }

    /// The options records go with every template refresh, so a collector that restarts
    /// learns the sampling interval and the exporter's start as soon as it learns templates.
    private func sendOptions(now: UInt64) {
        var options = ExportOptions()
        options.sampling = sampling
        let totals = probeTotals()
        options.exportedMessages = statistics.messages + 1
        options.exportedRecords = statistics.records
        options.exportedOctets = statistics.bytes
        options.ignoredPackets = totals.ignoredPackets
        options.notSentRecords = totals.lostRecords + statistics.recordsNotSent
        var writer = MessageWriter(base: scratch + UDPSender.headerRoom, capacity: mtu - sender.headerLength)
        guard encoder.writeOptions(options, to: &writer, nowMs: wallClockMs()) else { return }
        transmit(writer, records: 0, now: now)
    }

    private func flush(now: UInt64) {
        guard isOpen else { return }
        isOpen = false
        guard !encoder.isEmpty(message) else { return }
        encoder.finish(&message, nowMs: wallClockMs())
        messagesSinceTemplates += 1
        transmit(message, records: encoder.recordsInMessage, now: now)
    }

    /// Sends a finished message, or queues it behind earlier ones so that the collector sees
    /// messages in sequence order.
    private func transmit(_ m: MessageWriter, records: Int, now: UInt64) {
        defer { persist() }
        guard !m.overflowed else {
            statistics.overflowedMessages += 1
            statistics.recordsNotSent += UInt64(records)
            if let silenced = errorLog.admit(now: now) {
                logger.error(
                    "an export message to \(collector) did not fit --mtu \(mtu) and was dropped (\(records) records); this is a bug, please report it\(silenced > 0 ? " (\(silenced) similar not shown)" : "")"
                )
            }
            return
        }
        if queue.isEmpty && batch.capacity > 0 {
            if batch.append(m.base, length: m.count, records: records, nowNs: batch.isEmpty ? monotonicNs() : 0) {
                if batch.isFull { sendBatch(now: now) }
                return
            }
            sendBatch(now: now)
        }
        if queue.isEmpty {
            let rc = sendRetryingBriefly(m)
            if rc == 0 { return sent(bytes: m.count, records: records, header: m.base) }
            guard mayRetry(afterRefusal: rc, records: records, now: now) else { return }
        }
        enqueue(UnsafeRawBufferPointer(start: m.base, count: m.count), records: records)
    }

    /// A message the network refused, behind those already waiting; counted as not sent when
    /// the queue is full.
    private func enqueue(_ bytes: UnsafeRawBufferPointer, records: Int) {
        guard queue.count < Self.queueLimit else {
            statistics.recordsNotSent += UInt64(records)
            return
        }
        queue.append((Array(bytes), records))
        statistics.queued = UInt64(queue.count)
    }

    /// A message the network refused with `rc`, counted and logged: whether it may go again
    /// later (it joins the queue), or never can (EMSGSIZE: too large for the path; its records
    /// counted as not sent).
    private func mayRetry(afterRefusal rc: Int, records: Int, now: UInt64) -> Bool {
        failed(rc, records: records, now: now)
        guard rc != -Int(EMSGSIZE) else {
            statistics.recordsNotSent += UInt64(records)
            return false
        }
        return true
    }

    /// The messages the batch holds, in as few calls of the transport as it takes them in,
    /// each as one message would be (`transmit`): counted once sent, a full socket buffer
    /// waited out briefly, a refusal counted; one that may go again later joins the queue with
    /// those after it, in order.
    private func sendBatch(now: UInt64) {
        defer {
            batch.removeAll()
            persist()
        }
        var first = 0
        while first < batch.count {
            let n = retryingBriefly {
                sender.send(batch: batch.bases + first, lengths: batch.lengths + first, count: batch.count - first)
            }
            if n > 0 {
                for i in first ..< first + min(n, batch.count - first) {
                    sent(bytes: batch.lengths[i], records: batch.records[i], header: batch.bases[i])
                }
                first += n
                continue
            }
            guard mayRetry(afterRefusal: n < 0 ? n : -Int(EIO), records: batch.records[first], now: now) else {
                first += 1
                continue
            }
            for i in first ..< batch.count {
                let bytes = UnsafeRawBufferPointer(start: batch.bases[i], count: batch.lengths[i])
                enqueue(bytes, records: batch.records[i])
            }
            return
        }
    }

    private func retryQueue(now: UInt64) {
        while let head = queue.first {
            var writer = MessageWriter(base: scratch + UDPSender.headerRoom, capacity: head.bytes.count)
            head.bytes.withUnsafeBytes { writer.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            writer.count = head.bytes.count
            let rc = sendRetryingBriefly(writer)
            guard rc == 0 else {
                failed(rc, records: head.records, now: now)
                return
            }
            sent(bytes: head.bytes.count, records: head.records, header: writer.base)
            queue.removeFirst()
            statistics.queued = UInt64(queue.count)
        }
    }

    private func sent(bytes: Int, records: Int, header: UnsafeRawPointer) {
        ledger.note(header: header, length: bytes, records: records)
        statistics.messages += 1
        statistics.records += UInt64(records)
        statistics.bytes += UInt64(bytes)
    }

    public func resendTemplates() { templatesDueAt = 0 }

    public var checkpoint: ExporterCheckpoint {
        var c = ExporterCheckpoint()
        c.collectorID = ExporterCheckpoint.id(of: collector)
        c.stream = encoder.stream
        for (kept, counted) in ExporterCheckpoint.counters { c[keyPath: kept] = statistics[keyPath: counted] }
        return c
    }

    public func resume(from c: ExporterCheckpoint) {
        encoder.stream = c.stream
        for (kept, counted) in ExporterCheckpoint.counters { statistics[keyPath: counted] = c[keyPath: kept] }
    }

    private func persist() { checkpointSlot?.pointee = checkpoint }

    private func failed(_ rc: Int, records: Int, now: UInt64) {
        statistics.sendErrors += 1
        statistics.lastError = SetupError.text(CInt(-rc))
        statistics.lastErrorMs = wallClockMs()
        if let silenced = errorLog.admit(now: now) {
            logger.warning(
                "export to \(collector) failed: \(SetupError.text(CInt(-rc))); \(queue.count) messages waiting\(silenced > 0 ? " (\(silenced) similar failures not shown)" : "")"
            )
        }
    }

    /// `attempt` again while it finds the socket buffer full (EAGAIN, ENOBUFS), at most 10
    /// times: a full buffer clears within microseconds on a local path, and the export thread
    /// may wait a little (it is not the forwarding path) before it queues the message. Its
    /// last result: what was sent, or -errno.
    private func retryingBriefly(_ attempt: () -> Int) -> Int {
        var rc = 0
        for _ in 0 ..< 10 {
            rc = attempt()
            guard rc == -Int(EAGAIN) || rc == -Int(ENOBUFS) else { return rc }
            usleep(200)
        }
        return rc
    }

    private func sendRetryingBriefly(_ m: MessageWriter) -> Int {
        retryingBriefly { sender.send(payload: m.base, length: m.count) }
    }
}

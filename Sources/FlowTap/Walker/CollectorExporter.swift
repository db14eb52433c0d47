import Glibc
import Logging

/// Counters of one collector's export, read for the summary.
public struct ExportStatistics: Sendable, Equatable {
    public var messages: UInt64 = 0
    public var records: UInt64 = 0
    public var bytes: UInt64 = 0
    public var sendErrors: UInt64 = 0
    /// Records in messages the network refused.
    public var recordsNotSent: UInt64 = 0
    /// Records with no template in this format (cannot happen with a consistent configuration).
    public var recordsUnexportable: UInt64 = 0

    public init() {}

    public static func + (a: ExportStatistics, b: ExportStatistics) -> ExportStatistics {
        var s = a
        s.messages += b.messages
        s.records += b.records
        s.bytes += b.bytes
        s.sendErrors += b.sendErrors
        s.recordsNotSent += b.recordsNotSent
        s.recordsUnexportable += b.recordsUnexportable
        return s
    }
}

/// What the walker drives for each collector.
public protocol FlowExporter: AnyObject {
    var collector: String { get }
    var statistics: ExportStatistics { get }
    func export(_ record: borrowing FlowRecord, now: UInt64)
    /// Timers: template refresh, and the flush of a message that has waited long enough.
    func tick(now: UInt64)
    /// Sends the open message, if any.
    func flush(now: UInt64)
}

/// One collector: its encoder state (templates, sequence), the message being filled, and the
/// sender. Only the walker thread touches it.
public final class CollectorExporter<Encoder: MessageEncoder>: FlowExporter {
    /// A partly filled message waits at most this long; with the walker's 100 ms tick it
    /// leaves within 0.6 s.
    public static var flushAfterMs: UInt64 { 500 }

    public let collector: String
    public private(set) var statistics = ExportStatistics()
    private var encoder: Encoder
    private var sender: IPv4UDPSender
    private let storage: UnsafeMutableRawPointer
    private var message: MessageWriter
    private var isOpen = false
    private var carriesTemplates = false
    private var openedAt: UInt64 = 0
    private var templatesDueAt: UInt64 = 0
    private let templateRefreshMs: UInt64
    private var errorLog = RateLimiter()
    private let logger: Logger

    /// `mtu` bounds the whole IP datagram.
    public init(encoder: Encoder, sender: IPv4UDPSender, mtu: Int, templateRefreshSeconds: Int, logger: Logger) {
        self.encoder = encoder
        self.sender = sender
        self.logger = logger
        collector = "\(sender.destination):\(sender.destinationPort)"
        templateRefreshMs = UInt64(templateRefreshSeconds) * 1000
        storage = .allocate(byteCount: mtu, alignment: 16)
        message = MessageWriter(base: storage + IPv4UDPSender.headerRoom, capacity: mtu - IPv4UDPSender.headerRoom)
    }

    deinit { storage.deallocate() }

    public func export(_ record: borrowing FlowRecord, now: UInt64) {
        if !isOpen { begin(now: now) }
        if encoder.append(record, to: &message) { return }
        if encoder.recordsInMessage == 0 && !carriesTemplates {
            statistics.recordsUnexportable += 1
            return
        }
        flush(now: now)
        begin(now: now)
        if !encoder.append(record, to: &message) { statistics.recordsUnexportable += 1 }
    }

    public func tick(now: UInt64) {
        if now >= templatesDueAt {
            flush(now: now)
            begin(now: now)
        }
        if isOpen && now &- openedAt >= Self.flushAfterMs { flush(now: now) }
    }

    private func begin(now: UInt64) {
        carriesTemplates = now >= templatesDueAt
        encoder.begin(&message, withTemplates: carriesTemplates)
        if carriesTemplates { templatesDueAt = now + templateRefreshMs }
        isOpen = true
        openedAt = now
    }

    public func flush(now: UInt64) {
        guard isOpen else { return }
        isOpen = false
        guard !encoder.isEmpty(message) else { return }
        encoder.finish(&message, exportTimeSeconds: UInt32(truncatingIfNeeded: now / 1000))
        let rc = sendRetryingBriefly()
        let records = UInt64(encoder.recordsInMessage)
        if rc == 0 {
            encoder.commit()
            statistics.messages += 1
            statistics.records += records
            statistics.bytes += UInt64(message.count)
            return
        }
        statistics.sendErrors += 1
        statistics.recordsNotSent += records
        // Templates that never left must go with the next message.
        if carriesTemplates { templatesDueAt = 0 }
        if let silenced = errorLog.admit(now: now) {
            logger.warning("export to \(collector) failed: \(SetupError.text(CInt(-rc))); \(records) records lost\(silenced > 0 ? " (\(silenced) similar failures not shown)" : "")")
        }
    }

    /// A full socket buffer clears within microseconds on a local path; the walker may wait a
    /// little (it is not the forwarding path), then gives up and counts the loss.
    private func sendRetryingBriefly() -> Int {
        var rc = 0
        for _ in 0 ..< 20 {
            rc = sender.send(payload: message.base, length: message.count)
            guard rc == -Int(EAGAIN) || rc == -Int(ENOBUFS) else { return rc }
            usleep(500)
        }
        return rc
    }
}

import CFlowTapLinux
import Glibc
import SystemPackage

/// What the control thread and the metrics read and ask, all of it safe from another thread:
/// the forwarders' published counters, the export side's published statistics, the requests
/// the forwarders obey, and the configuration as started. Nothing here is the probe's own
/// object: Probe fills it in.
public struct ControlContext: Sendable {
    public var directions: [(name: String, queue: Int, report: ForwarderReport, kernelDrops: KernelDropCounter?)]
    public var export: any ExportStatus
    public var requests: ControlRequests
    /// As started; `show config` replaces the timeouts with those `flowtap set` changed.
    public var config: ConfigAnswer
    /// The longest timeout `flowtap set` accepts, in seconds.
    public var longestTimeout: Int
    /// Who takes handover and reload asks (the main thread); nil: they are refused.
    public var handovers: (any HandoverDesk)?

    public init(directions: [(name: String, queue: Int, report: ForwarderReport, kernelDrops: KernelDropCounter?)],
                export: any ExportStatus, requests: ControlRequests, config: ConfigAnswer, longestTimeout: Int) {
        self.directions = directions
        self.export = export
        self.requests = requests
        self.config = config
        self.longestTimeout = longestTimeout
    }
}

/// Where the control thread leaves a handover or reload ask, with the asker's connection: the
/// main thread answers it (a handover parks every thread, which the control thread must not
/// wait on). Returns false when it cannot take one now (one is under way); true: the connection
/// is the desk's to answer and close.
public protocol HandoverDesk: AnyObject, Sendable {
    func take(_ request: ControlRequest, from client: CInt) -> Bool
}

/// What the operator's side reads of the export thread, and the one thing it asks of it.
public protocol ExportStatus: AnyObject, Sendable {
    /// Each collector's statistics as of the last tick.
    var publishedStatistics: [(collector: CollectorAddress, statistics: ExportStatistics)] { get }
    /// Every collector gets templates and options again at the next tick.
    func requestTemplates()
}

/// The tx_dropped counter of a TAP (/sys/class/net/TAP/statistics/tx_dropped): frames the
/// kernel dropped at the TAP's queue before flowtap read them. Opened at setup, read with
/// pread(2) at offset 0, which makes sysfs render the value afresh; no file is opened later.
public final class KernelDropCounter: Sendable {
    let file: FileDescriptor

    public init?(tap: String) {
        guard let file = try? FileDescriptor.open("/sys/class/net/\(tap)/statistics/tx_dropped", .readOnly, options: [.closeOnExec])
        else { return nil }
        self.file = file
    }

    deinit { try? file.close() }

    public var value: UInt64 {
        var buffer = [UInt8](repeating: 0, count: 32)
        guard let n = try? buffer.withUnsafeMutableBytes({ try file.read(fromAbsoluteOffset: 0, into: $0) }), n > 0 else { return 0 }
        return UInt64(String(decoding: buffer.prefix(n), as: UTF8.self).filter(\.isNumber)) ?? 0
    }
}

/// The control socket's thread: accepts a connection, reads one request line, writes one JSON
/// document, closes. Once a second it samples the frame and byte counters for the rates over
/// 1, 10 and 60 s. It never touches a forwarder's memory: it reads what they publish, and asks
/// through `ControlRequests`, which they read between frames.
public final class ControlServer: @unchecked Sendable {
    let socket: ControlSocket
    let context: ControlContext
    let stop: Doorbell
    /// (monotonic ms, frames and bytes per direction), oldest first, at most 61.
    var samples: [(ms: UInt64, frames: [UInt64], bytes: [UInt64])] = []

    public init(socket: ControlSocket, context: ControlContext, stop: Doorbell) {
        self.socket = socket
        self.context = context
        self.stop = stop
    }

    public func run() {
        var nextSample: UInt64 = 0
        while !stop.isRung {
            let now = MonotonicClock.nowMs()
            if now >= nextSample {
                sample(now: now)
                nextSample = now + 1000
            }
            let wait = CInt(clamping: nextSample > now ? nextSample - now : 1)
            guard SystemCall.pollReadable(socket.descriptor, stop.descriptor, timeoutMs: wait) > 0 else { continue }
            let client = cft_accept(socket.descriptor)
            if client >= 0 && serve(client) { SystemCall.close(client) }
        }
    }

    func sample(now: UInt64) {
        let counters = context.directions.map { $0.report.snapshot }
        samples.append((now, counters.map(\.frames), counters.map(\.bytes)))
        if samples.count > 61 { samples.removeFirst(samples.count - 61) }
    }

    /// Reads one line (at most 4 KiB, within 2 s), answers it. False when a handover desk
    /// took the connection (and the duty to answer and close it).
    func serve(_ client: CInt) -> Bool {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        let deadline = MonotonicClock.nowMs() + 2000
        while request.count < 4096 && !request.contains(UInt8(ascii: "\n")) && MonotonicClock.nowMs() < deadline {
            guard SystemCall.pollReadable(client, -1, timeoutMs: 200) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { SystemCall.read(client, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            request += buffer.prefix(n)
        }
        let line = String(decoding: request.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        var reply: [UInt8]
        switch try? ControlRequest(parsing: line, longestTimeout: context.longestTimeout) {
        case let r? where r.isHandover:
            // The TAP queues and the raw sockets go with a handover: only to root, or to the
            // user this flowtap runs as.
            let peer = cft_peer_uid(client)
            if peer != 0 && peer != CInt(bitPattern: getuid()) {
                reply = Array(ControlJSON.encode(ControlError(error: "a handover or reload is taken only from root or uid \(getuid()), which this flowtap runs as; the asker is uid \(peer)"), pretty: true).utf8)
                break
            }
            if let desk = context.handovers, desk.take(r, from: client) { return false }
            reply = Array(ControlJSON.encode(ControlError(error: context.handovers == nil
                ? "this flowtap takes no handover"
                : "a handover is already under way; try again once it is over"), pretty: true).utf8)
        default:
            reply = Array(answer(line).utf8)
        }
        reply.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < reply.count {
            let n = reply.withUnsafeBytes { SystemCall.write(client, $0.baseAddress! + sent, $0.count - sent) }
            if n <= 0 { break }
            sent += n
        }
        return true
    }

    /// The JSON answer to one request line.
    public func answer(_ line: String) -> String {
        let request: ControlRequest
        do { request = try ControlRequest(parsing: line, longestTimeout: context.longestTimeout) } catch { return ControlJSON.encode(error, pretty: true) }
        switch answer(request) {
        case .success(let value): return ControlJSON.encode(value, pretty: true)
        case .failure(let error): return ControlJSON.encode(error, pretty: true)
        }
    }

    func answer(_ request: ControlRequest) -> Result<any Encodable, ControlError> {
        switch request {
        case .stats: return .success(stats())
        case .collectors: return .success(collectors())
        case .config: return .success(config())
        case .expire(let filterText):
            if let filterText {
                do {
                    let filter = try FlowFilter(parsing: filterText)
                    context.requests.requestExpiry(matching: { filter.matches($0) })
                } catch {
                    return .failure(ControlError(error: error.description))
                }
            } else {
                context.requests.requestExpiry()
            }
            return .success(ExpireAnswer(expired: true))
        case .flows(let top, let order, let filterText):
            return flows(top: top, order: order, filterText: filterText)
        case .templates:
            context.export.requestTemplates()
            return .success(TemplatesAnswer(templates: "resent at the next tick (within 0.1 s)"))
        case .set(let idle, let active):
            context.requests.setTimeouts(idle: idle, active: active)
            return .success(SetAnswer(idleTimeout: idle ?? 0, activeTimeout: active ?? 0))
        case .handover, .reload:
            return .failure(ControlError(error: "a handover is asked with 'flowtap run … --takeover' or 'flowtap reload'"))
        }
    }

    /// Frames and bytes per second of direction `i` over the last `seconds`, from the samples.
    func rate(_ i: Int, seconds: UInt64) -> RateAnswer {
        guard let last = samples.last, let first = samples.last(where: { $0.ms <= last.ms - min(last.ms, seconds * 1000) }) ?? samples.first,
              last.ms > first.ms else { return RateAnswer(frames: 0, bytes: 0) }
        let dt = Double(last.ms - first.ms) / 1000
        return RateAnswer(frames: ControlJSON.rounded(Double(last.frames[i] &- first.frames[i]) / dt),
                          bytes: ControlJSON.rounded(Double(last.bytes[i] &- first.bytes[i]) / dt))
    }

    func stats() -> StatsAnswer {
        let directions = context.directions.enumerated().map { i, d -> DirectionAnswer in
            let c = d.report.snapshot
            return DirectionAnswer(
                name: d.name, queue: d.queue, frames: c.frames, bytes: c.bytes,
                rates: Dictionary(uniqueKeysWithValues: [1, 10, 60].map { ("\($0)s", rate(i, seconds: UInt64($0))) }),
                flowsActive: c.liveFlows, flowsPeak: c.peakFlows, flowsCreated: c.flowsCreated,
                records: Dictionary(uniqueKeysWithValues: FlowEndReason.allCases.map { ("\($0)", c.recordsByReason[Int($0.rawValue)]) }),
                evictions: c.evictions, recordsLost: c.recordsLost, kernelDrops: d.kernelDrops?.value ?? 0,
                undecodable: Dictionary(uniqueKeysWithValues: DecodeIssue.allCases.dropFirst().map { ($0.name, c.issues[Int($0.rawValue)]) }),
                fragments: FragmentAnswer(held: c.fragmentsHeld, attributed: c.fragmentsAttributed, unattributed: c.fragmentsUnattributed),
                resetNotices: ResetNoticeAnswer(closed: c.peerResetsClosed, unmatched: c.peerResetsUnmatched, lost: c.resetNoticesLost))
        }
        return StatsAnswer(directions: directions, collectors: collectors())
    }

    /// "flows TOP ORDER [FIELD=VALUE…]": each forwarder scans its own cache between frames
    /// (a slice per housekeeping) and publishes its top flows; this waits up to 3 s for all.
    func flows(top: Int, order: FlowOrder, filterText: String) -> Result<any Encodable, ControlError> {
        let filter: FlowFilter
        do { filter = try FlowFilter(parsing: filterText) } catch { return .failure(ControlError(error: error.description)) }
        guard let answers = ask(FlowQuery(order: order, limit: top, matches: { filter.matches($0) })) else {
            return .failure(ControlError(error: "a forwarder did not answer within 3 s"))
        }
        // A connection's latency needs both directions' handshake times: the reverse flows
        // of the TCP flows listed, asked for by key where the answer lacks them. Keys meet
        // without the ToS, which each direction may set on its own (as in `LatencyJoin`).
        var byKey: [FlowKey: FlowSnapshot] = [:]
        for list in answers { for f in list { byKey[f.key.withoutTOS] = f } }
        let missing = Set(byKey.values.filter { $0.handshake.role != .none && byKey[$0.key.reverseKey.withoutTOS] == nil }
            .map(\.key.reverseKey.withoutTOS))
        if !missing.isEmpty,
           let reverse = ask(FlowQuery(order: order, limit: missing.count, matches: { missing.contains($0.withoutTOS) })) {
            for list in reverse { for f in list { byKey[f.key.withoutTOS] = f } }
        }
        let now = WallClock.nowNs()
        var all: [(score: Double, flow: FlowAnswer)] = []
        for (i, d) in context.directions.enumerated() {
            for f in answers[i] {
                let (src, dst) = f.key.addresses
                let seconds = max(0.001, Double(f.lastNs &- f.firstNs) / 1e9)
                var flow = FlowAnswer(
                    src: src, dst: dst, sport: f.key.ipProtocol == 1 || f.key.ipProtocol == 58 ? 0 : f.key.sourcePort,
                    dport: f.key.destinationPort, proto: f.key.ipProtocol, packets: f.packets, bytes: f.octets,
                    firstMs: f.firstNs / 1_000_000, lastMs: f.lastNs / 1_000_000, tcpFlags: f.tcpFlags,
                    rateBps: ControlJSON.rounded(Double(f.octets) * 8 / seconds),
                    retransmitted: f.retransmitted, outOfOrder: f.outOfOrder, direction: d.name, queue: d.queue)
                if let reverse = byKey[f.key.reverseKey.withoutTOS], f.handshake.role != .none {
                    let latency = TCPLatency(f.handshake, reverse.handshake)
                    flow.clientDelayUs = latency.clientNs / 1000
                    flow.serverDelayUs = latency.serverNs / 1000
                    flow.appLatencyUs = latency.applicationNs / 1000
                }
                all.append((order.score(f, nowNs: now), flow))
            }
        }
        return .success(all.sorted { $0.score > $1.score }.prefix(top).map(\.flow))
    }

    /// Asks every forwarder `query` (each answers between frames) and waits up to 3 s for all.
    func ask(_ query: FlowQuery) -> [[FlowSnapshot]]? {
        let generation = context.requests.ask(query)
        let deadline = MonotonicClock.nowMs() + 3000
        var answers: [[FlowSnapshot]?] = context.directions.map { _ in nil }
        while answers.contains(where: { $0 == nil }) && MonotonicClock.nowMs() < deadline {
            for (i, d) in context.directions.enumerated() where answers[i] == nil { answers[i] = d.report.answer(to: generation) }
            if answers.contains(where: { $0 == nil }) { usleep(5000) }
        }
        return answers.contains(where: { $0 == nil }) ? nil : answers.map { $0! }
    }

    func collectors() -> [CollectorAnswer] {
        context.export.publishedStatistics.map { collector, s in
            CollectorAnswer(url: collector.description, messages: s.messages, records: s.records, bytes: s.bytes,
                            sendErrors: s.sendErrors, queueDepth: s.queued, recordsLost: s.recordsNotSent,
                            notExportable: s.recordsNotExportable, icmpErrors: s.icmpErrors,
                            lastError: s.lastError, lastErrorTimeMs: s.lastErrorMs)
        }
    }

    func config() -> ConfigAnswer {
        var c = context.config
        let policy = context.requests.policy(from: ExpiryPolicy(idleTimeoutSeconds: c.idleTimeout, activeTimeoutSeconds: c.activeTimeout,
                                                                closeTimeoutSeconds: c.tcpCloseTimeout))
        c.idleTimeout = Int(policy.idleNs / 1_000_000_000)
        c.activeTimeout = Int(policy.activeNs / 1_000_000_000)
        return c
    }
}

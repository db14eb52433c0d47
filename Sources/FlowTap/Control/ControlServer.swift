import CFlowTapLinux
import Glibc

/// What the control thread reads and asks, all of it safe from another thread: the forwarders'
/// published counters, the walker's published statistics, the requests the forwarders obey.
public struct ControlContext: Sendable {
    public var directions: [(name: String, queue: Int, report: ForwarderReport, kernelDrops: KernelDropCounter?)]
    public var walker: Walker
    public var requests: ControlRequests
    public var config: ProbeConfiguration
}

/// The tx_dropped counter of a TAP (/sys/class/net/TAP/statistics/tx_dropped): frames the
/// kernel dropped at the TAP's queue before flowtap read them. Opened at setup, read with
/// pread(2) at offset 0, which makes sysfs render the value afresh; no file is opened later.
public final class KernelDropCounter: Sendable {
    let descriptor: CInt

    public init?(tap: String) {
        let fd = open("/sys/class/net/\(tap)/statistics/tx_dropped", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    deinit { close(descriptor) }

    public var value: UInt64 {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 31, 0) }
        guard n > 0 else { return 0 }
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
            if client >= 0 {
                serve(client)
                close(client)
            }
        }
    }

    func sample(now: UInt64) {
        let counters = context.directions.map { $0.report.snapshot }
        samples.append((now, counters.map(\.frames), counters.map(\.bytes)))
        if samples.count > 61 { samples.removeFirst(samples.count - 61) }
    }

    /// Reads one line (at most 4 KiB, within 2 s), answers it.
    func serve(_ client: CInt) {
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
        var reply = Array(answer(line).utf8)
        reply.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < reply.count {
            let n = reply.withUnsafeBytes { SystemCall.write(client, $0.baseAddress! + sent, $0.count - sent) }
            if n <= 0 { break }
            sent += n
        }
    }

    /// The JSON answer to one request.
    public func answer(_ request: String) -> String {
        let words = request.split(separator: " ").map(String.init)
        switch words.first ?? "" {
        case "stats": return stats()
        case "collectors": return JSONText.array(collectors())
        case "config": return config()
        case "expire":
            if words.count > 1 {
                do {
                    let filter = try FlowFilter(parsing: words.dropFirst().joined(separator: " "))
                    context.requests.requestExpiry(matching: { filter.matches($0) })
                } catch {
                    return self.error(error.description)
                }
            } else {
                context.requests.requestExpiry()
            }
            return JSONText.object([("expired", "true")])
        case "flows":
            return flows(Array(words.dropFirst()))
        case "templates":
            context.walker.requestTemplates()
            return JSONText.object([("templates", JSONText.string("resent at the next tick (within 0.1 s)"))])
        case "set":
            var idle: Int?, active: Int?
            for word in words.dropFirst() {
                let parts = word.split(separator: "=")
                guard parts.count == 2, let value = Int(parts[1]), value > 0, value <= ProbeConfiguration.longestInterval else {
                    return error("'\(word)' is not NAME=SECONDS with 1 to \(ProbeConfiguration.longestInterval) seconds")
                }
                switch parts[0] {
                case "idle-timeout": idle = value
                case "active-timeout": active = value
                default: return error("'\(parts[0])' cannot be set; set idle-timeout or active-timeout")
                }
            }
            context.requests.setTimeouts(idle: idle, active: active)
            return JSONText.object([("idle_timeout", String(idle ?? 0)), ("active_timeout", String(active ?? 0))])
        default:
            return error("unknown request '\(request)'; ask stats, flows, collectors, config, expire, templates or set")
        }
    }

    func error(_ text: String) -> String { JSONText.object([("error", JSONText.string(text))]) }

    /// Frames and bytes per second of direction `i` over the last `seconds`, from the samples.
    func rate(_ i: Int, seconds: UInt64) -> (frames: Double, bytes: Double) {
        guard let last = samples.last, let first = samples.last(where: { $0.ms <= last.ms - min(last.ms, seconds * 1000) }) ?? samples.first,
              last.ms > first.ms else { return (0, 0) }
        let dt = Double(last.ms - first.ms) / 1000
        return (Double(last.frames[i] &- first.frames[i]) / dt, Double(last.bytes[i] &- first.bytes[i]) / dt)
    }

    func stats() -> String {
        let directions = context.directions.enumerated().map { i, d -> String in
            let c = d.report.snapshot
            let rates = [1, 10, 60].map { s -> (String, String) in
                let r = rate(i, seconds: UInt64(s))
                return ("\(s)s", JSONText.object([("frames", JSONText.number(r.frames)), ("bytes", JSONText.number(r.bytes))]))
            }
            let reasons = FlowEndReason.allCases.map { ("\($0)", String(c.recordsByReason[Int($0.rawValue)])) }
            let issues = DecodeIssue.allCases.dropFirst().map { ($0.name, String(c.issues[Int($0.rawValue)])) }
            return JSONText.object([
                ("name", JSONText.string(d.name)), ("queue", String(d.queue)),
                ("frames", String(c.frames)), ("bytes", String(c.bytes)), ("rates", JSONText.object(rates)),
                ("flows_active", String(c.liveFlows)), ("flows_peak", String(c.peakFlows)), ("flows_created", String(c.flowsCreated)),
                ("records", JSONText.object(reasons)), ("evictions", String(c.evictions)),
                ("records_lost", String(c.recordsLost)), ("kernel_drops", String(d.kernelDrops?.value ?? 0)),
                ("undecodable", JSONText.object(issues)),
                ("fragments", JSONText.object([("held", String(c.fragmentsHeld)), ("attributed", String(c.fragmentsAttributed)),
                                               ("unattributed", String(c.fragmentsUnattributed))])),
                ("reset_notices", JSONText.object([("closed", String(c.peerResetsClosed)), ("unmatched", String(c.peerResetsUnmatched)),
                                                   ("lost", String(c.resetNoticesLost))])),
            ])
        }
        return JSONText.object([("directions", JSONText.array(directions)), ("collectors", JSONText.array(collectors()))])
    }

    /// "flows TOP ORDER [FIELD=VALUE…]": each forwarder scans its own cache between frames
    /// (a slice per housekeeping) and publishes its top flows; this waits up to 3 s for all.
    func flows(_ args: [String]) -> String {
        guard args.count >= 2, let top = Int(args[0]), top > 0, let order = FlowOrder(rawValue: args[1]) else {
            return error("ask 'flows TOP ORDER [FILTER]', ORDER one of \(FlowOrder.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let filter: FlowFilter
        do { filter = try FlowFilter(parsing: args.dropFirst(2).joined(separator: " ")) } catch { return self.error(error.description) }
        guard let answers = ask(FlowQuery(order: order, limit: top, matches: { filter.matches($0) })) else {
            return error("a forwarder did not answer within 3 s")
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
        var all: [(score: Double, text: String)] = []
        for (i, d) in context.directions.enumerated() {
            for f in answers[i] {
                let (src, dst) = f.key.addresses
                let seconds = max(0.001, Double(f.lastNs &- f.firstNs) / 1e9)
                var fields = [
                    ("src", JSONText.string(src)), ("dst", JSONText.string(dst)),
                    ("sport", String(f.key.ipProtocol == 1 || f.key.ipProtocol == 58 ? 0 : f.key.sourcePort)),
                    ("dport", String(f.key.destinationPort)), ("proto", String(f.key.ipProtocol)),
                    ("packets", String(f.packets)), ("bytes", String(f.octets)),
                    ("first_ms", String(f.firstNs / 1_000_000)), ("last_ms", String(f.lastNs / 1_000_000)),
                    ("tcp_flags", String(f.tcpFlags)), ("rate_bps", JSONText.number(Double(f.octets) * 8 / seconds)),
                    ("retransmitted", String(f.retransmitted)), ("out_of_order", String(f.outOfOrder)),
                    ("direction", JSONText.string(d.name)), ("queue", String(d.queue)),
                ]
                if let reverse = byKey[f.key.reverseKey.withoutTOS], f.handshake.role != .none {
                    let latency = TCPLatency(f.handshake, reverse.handshake)
                    fields += [("client_delay_us", String(latency.clientNs / 1000)), ("server_delay_us", String(latency.serverNs / 1000)),
                               ("app_latency_us", String(latency.applicationNs / 1000))]
                }
                all.append((order.score(f, nowNs: now), JSONText.object(fields)))
            }
        }
        return JSONText.array(all.sorted { $0.score > $1.score }.prefix(top).map(\.text))
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

    func collectors() -> [String] {
        context.walker.publishedStatistics.map { collector, s in
            JSONText.object([
                ("url", JSONText.string(collector.description)), ("messages", String(s.messages)), ("records", String(s.records)),
                ("bytes", String(s.bytes)), ("send_errors", String(s.sendErrors)), ("queue_depth", String(s.queued)),
                ("records_lost", String(s.recordsNotSent)), ("not_exportable", String(s.recordsNotExportable)),
                ("icmp_errors", String(s.icmpErrors)),
                ("last_error", JSONText.string(s.lastError)), ("last_error_time_ms", String(s.lastErrorMs)),
            ])
        }
    }

    func config() -> String {
        let c = context.config
        let policy = context.requests.policy(from: ExpiryPolicy(idleTimeoutSeconds: c.idleTimeout, activeTimeoutSeconds: c.activeTimeout,
                                                                closeTimeoutSeconds: c.tcpCloseTimeout))
        return JSONText.object([
            ("tap_a", JSONText.string(c.tapA)), ("tap_b", JSONText.string(c.tapB)),
            ("collectors", JSONText.array(c.collectors.map { JSONText.string($0.description) })),
            ("records", JSONText.string(c.records.names)), ("idle_timeout", String(policy.idleNs / 1_000_000_000)),
            ("active_timeout", String(policy.activeNs / 1_000_000_000)), ("tcp_close_timeout", String(policy.closeNs / 1_000_000_000)),
            ("max_flows", String(c.maxFlows)),
            ("queues", String(c.queues)), ("mtu", String(c.mtu)), ("sample", String(c.sampling.interval)),
            ("offload", String(c.offload)), ("biflow", String(c.biflow)), ("ipfix_ntop", String(c.ipfixNtop)), ("observation_domain", String(c.observationDomain)),
        ])
    }
}

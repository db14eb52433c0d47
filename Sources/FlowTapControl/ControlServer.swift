import FlowTapBase
import FlowTapDecode
import FlowTapExport
import FlowTapInspect
import FlowTapMeter
import FlowTapSend
import Glibc
import SystemPackage

/// The control thread: the control socket's clients and, with `--metrics`, Prometheus'
/// scrapes, all in one poll loop, so that no client holds up another: a control client sends one
/// request line (within 2 s) and gets one JSON document; a scrape is HTTP/1.1 (`HTTPResponder`),
/// its head within 10 s of its first byte, the connection kept between requests for 30 s. Each
/// reads only what poll says is there and writes only what fits (MSG_DONTWAIT), the rest when
/// poll says there is room; at most `maxClients` at once (more are closed at once). Once a
/// second it samples the frame and byte counters for the rates over 1, 10 and 60 s. It never
/// touches a forwarder's memory: it reads what they publish, and asks through
/// `MeterRequests`, which they read between frames.
public final class ControlServer: @unchecked Sendable {
    let socket: ControlSocket?
    let metrics: MetricsListener?
    let http: HTTPResponder?
    let context: ControlContext
    let stop: Doorbell
    /// (monotonic ms, frames and bytes per direction), oldest first, at most 61.
    var samples: [(ms: UInt64, frames: [UInt64], bytes: [UInt64])] = []
    var clients: [Client] = []

    public static let maxClients = 32
    static let controlLineMs: UInt64 = 2000
    static let httpHeadMs: UInt64 = 10_000
    static let httpIdleMs: UInt64 = 30_000
    static let writeMs: UInt64 = 10_000
    /// How long a stopping control thread goes on answering what it was asked (`finishClients`).
    static let drainMs: UInt64 = 500

    /// A connection: what it sent that is not answered yet, what is still to send, and when
    /// it is dropped if that does not move.
    struct Client {
        enum Kind { case control, http }
        /// Closed when the client is dropped from the list (unless a handover desk took it).
        let owned: Descriptor
        var fd: CInt { owned.descriptor }
        let kind: Kind
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        var deadlineMs: UInt64
        var closeAfterWrite = false
        /// Answers written whole: an HTTP client with none has a request on its way.
        var answered = 0
        var writing: Bool { sent < output.count }
    }

    public init(
        socket: ControlSocket?, metrics: MetricsListener? = nil, scrape: (() -> [UInt8])? = nil,
        context: ControlContext,
        stop: Doorbell
    ) {
        self.socket = socket
        self.metrics = metrics
        http = scrape.map { HTTPResponder(scrape: $0) }
        self.context = context
        self.stop = stop
    }

    public func run() {
        var nextSample: UInt64 = 0
        while !stop.isRung {
            var now = MonotonicClock.nowMs()
            if now >= nextSample {
                sample(now: now)
                nextSample = now + 1000
            }
            var fds = [
                pollfd(fd: stop.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: socket?.descriptor ?? -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: metrics?.descriptor ?? -1, events: Int16(POLLIN), revents: 0)
            ]
            var wake = nextSample
            for c in clients {
                fds.append(pollfd(fd: c.fd, events: Int16(c.writing ? POLLOUT : POLLIN), revents: 0))
                wake = min(wake, c.deadlineMs)
            }
            guard SystemCall.poll(&fds, timeoutMs: CInt(clamping: wake > now ? wake - now : 0)) >= 0 else { continue }
            if stop.isRung { break }
            now = MonotonicClock.nowMs()
            var i = clients.count
            while i > 0 { // from the last, so that a removal leaves the indices before it
                i -= 1
                let events = fds[3 + i].revents
                if events != 0 {
                    step(i, events: events, now: now)
                } else if now >= clients[i].deadlineMs {
                    expire(i, now: now)
                }
            }
            if let socket, fds[1].revents != 0 { take(from: socket.descriptor, kind: .control, now: now) }
            if let metrics, http != nil, fds[2].revents != 0 { take(from: metrics.descriptor, kind: .http, now: now) }
        }
        finishClients()
    }

    /// Stopping (a signal, or a successor that took over the listeners): no new connection is
    /// accepted (what waits in a listener's backlog is a successor's), and for at most
    /// `drainMs` the clients already here are answered, so that a scrape in flight when a
    /// handover comes is not cut; idle keep-alive connections close at once, as HTTP allows.
    func finishClients() {
        let until = MonotonicClock.nowMs() + Self.drainMs
        while true {
            clients.removeAll { !$0.writing && $0.input.isEmpty && $0.answered > 0 }
            let now = MonotonicClock.nowMs()
            guard !clients.isEmpty, now < until else { break }
            var fds = clients.map { pollfd(fd: $0.fd, events: Int16($0.writing ? POLLOUT : POLLIN), revents: 0) }
            guard SystemCall.poll(&fds, timeoutMs: CInt(clamping: until - now)) > 0 else { continue }
            var i = clients.count
            while i > 0 {
                i -= 1
                if fds[i].revents != 0 { step(i, events: fds[i].revents, now: MonotonicClock.nowMs()) }
            }
        }
        clients.removeAll()
    }

    /// Accepts what waits on a listener (a few a round, so that one listener cannot starve the
    /// other and the clients).
    func take(from listener: CInt, kind: Client.Kind, now: UInt64) {
        for _ in 0 ..< 8 {
            let fd = SystemCall.accept(listener)
            guard fd >= 0 else { return }
            let owned = Descriptor(adopting: fd)
            guard clients.count < Self.maxClients else { continue } // closed as it goes
            clients.append(
                Client(
                    owned: owned, kind: kind,
                    deadlineMs: now + (kind == .control ? Self.controlLineMs : Self.httpIdleMs)))
        }
    }

    /// The client at `i` is ready to read or to write.
    func step(_ i: Int, events: Int16, now: UInt64) {
        if clients[i].writing {
            guard events & Int16(POLLOUT) != 0 else { return drop(i) }
            return flush(i, now: now)
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { SystemCall.read(clients[i].fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return drop(i) } // the peer closed, or an error
        clients[i].input += buffer.prefix(n)
        switch clients[i].kind {
        case .control:
            guard
                let end = clients[i].input.firstIndex(of: UInt8(ascii: "\n"))
                    ?? (clients[i].input.count >= 4096 ? 4096 : nil)
            else { return }
            let line = String(decoding: clients[i].input.prefix(end), as: UTF8.self)
            guard let reply = answer(line, from: clients[i].owned) else {
                clients.remove(at: i) // a handover desk took the connection
                return
            }
            respond(i, reply + [UInt8(ascii: "\n")], close: true, now: now)
        case .http:
            if clients[i].input.count == n { clients[i].deadlineMs = now + Self.httpHeadMs } // a request begins
            serveHTTP(i, now: now)
        }
    }

    /// Answers the request heads the HTTP client at `i` has sent, one at a time.
    func serveHTTP(_ i: Int, now: UInt64) {
        guard let http, !clients[i].writing else { return }
        if let end = HTTPResponder.headEnd(clients[i].input), end <= HTTPResponder.maxHead {
            let answer = http.answer(clients[i].input[..<end])
            clients[i].input.removeFirst(end)
            respond(i, answer.bytes, close: answer.close, now: now)
        } else if clients[i].input.count > HTTPResponder.maxHead {
            respond(
                i,
                HTTPResponder.plain(
                    431, "Request Header Fields Too Large", "a request head is at most 8 KiB\n", close: true
                ).bytes,
                close: true, now: now)
        }
    }

    func respond(_ i: Int, _ bytes: [UInt8], close: Bool, now: UInt64) {
        clients[i].output = bytes
        clients[i].sent = 0
        clients[i].closeAfterWrite = close
        clients[i].deadlineMs = now + Self.writeMs
        flush(i, now: now)
    }

    /// Writes what fits of the client's answer; once it is all written, the client closes or
    /// waits for its next request.
    func flush(_ i: Int, now: UInt64) {
        let c = clients[i]
        let n = c.output.withUnsafeBytes { SystemCall.sendNow(c.fd, $0.baseAddress! + c.sent, $0.count - c.sent) }
        if n == -Int(EAGAIN) { return }
        guard n > 0 else { return drop(i) }
        clients[i].sent += n
        guard !clients[i].writing else { return }
        clients[i].answered += 1
        if clients[i].closeAfterWrite { return drop(i) }
        clients[i].output = []
        clients[i].sent = 0
        clients[i].deadlineMs = now + (clients[i].input.isEmpty ? Self.httpIdleMs : Self.httpHeadMs)
        serveHTTP(i, now: now) // a pipelined request already here
    }

    /// The client at `i` let its time pass: an HTTP request begun and not finished gets 408.
    func expire(_ i: Int, now: UInt64) {
        let c = clients[i]
        if c.kind == .http && !c.writing && !c.input.isEmpty {
            return respond(
                i,
                HTTPResponder.plain(408, "Request Timeout", "the request head took longer than 10 s\n", close: true)
                    .bytes,
                close: true, now: now)
        }
        drop(i)
    }

    func drop(_ i: Int) {
        clients.remove(at: i)
    }

    func sample(now: UInt64) {
        let counters = context.directions.map { $0.report.snapshot }
        samples.append((now, counters.map(\.frames), counters.map(\.bytes)))
        if samples.count > 61 { samples.removeFirst(samples.count - 61) }
    }

    /// The answer to one control line from `client`; nil when a handover desk took the
    /// connection (and the duty to answer and close it).
    func answer(_ line: String, from client: Descriptor) -> [UInt8]? {
        switch try? ControlRequest(parsing: line, longestTimeout: context.longestTimeout) {
        case let r? where r.isHandover:
            // The TAP queues and the raw sockets go with a handover: only to root, or to the
            // user this flowtap runs as.
            let peer = SystemCall.peerUID(client.descriptor)
            if peer != 0 && peer != CInt(bitPattern: getuid()) {
                return Array(
                    ControlJSON.encode(
                        ControlError(
                            error:
                                "a handover or reload is taken only from root or uid \(getuid()), which this flowtap runs as; the asker is uid \(peer)"
                        ), pretty: true
                    ).utf8)
            }
            if let desk = context.handovers, desk.take(r, from: client) { return nil }
            return Array(
                ControlJSON.encode(
                    ControlError(
                        error: context.handovers == nil
                            ? "this flowtap takes no handover"
                            : "a handover is already under way; try again once it is over"), pretty: true
                ).utf8)
        default:
            return Array(answer(line).utf8)
        }
    }

    /// The JSON answer to one request line.
    public func answer(_ line: String) -> String {
        let request: ControlRequest
        do { request = try ControlRequest(parsing: line, longestTimeout: context.longestTimeout) } catch {
            return ControlJSON.encode(error, pretty: true)
        }
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
            return .failure(
                ControlError(error: "a handover is asked with 'flowtap run … --takeover' or 'flowtap reload'"))
        }
    }

    /// Frames and bytes per second of direction `i` over the last `seconds`, from the samples.
    func rate(_ i: Int, seconds: UInt64) -> RateAnswer {
        guard let last = samples.last,
            let first = samples.last(where: { $0.ms <= last.ms - min(last.ms, seconds * 1000) }) ?? samples.first,
            last.ms > first.ms
        else { return RateAnswer(frames: 0, bytes: 0) }
        let dt = Double(last.ms - first.ms) / 1000
        return RateAnswer(
            frames: ControlJSON.rounded(Double(last.frames[i] &- first.frames[i]) / dt),
            bytes: ControlJSON.rounded(Double(last.bytes[i] &- first.bytes[i]) / dt))
    }

    func stats() -> StatsAnswer {
        let directions = context.directions.enumerated().map { i, d -> DirectionAnswer in
            let c = d.report.snapshot
            return DirectionAnswer(
                name: d.name, queue: d.queue, frames: c.frames, bytes: c.bytes,
                rates: Dictionary(uniqueKeysWithValues: [1, 10, 60].map { ("\($0)s", rate(i, seconds: UInt64($0))) }),
                flowsActive: c.liveFlows, flowsPeak: c.peakFlows, flowsCreated: c.flowsCreated,
                records: Dictionary(
                    uniqueKeysWithValues: FlowEndReason.allCases.map { ("\($0)", c.recordsByReason[Int($0.rawValue)]) }),
                evictions: c.evictions, recordsLost: c.recordsLost, kernelDrops: d.kernelDrops?.value ?? 0,
                undecodable: Dictionary(
                    uniqueKeysWithValues: DecodeIssue.allCases.dropFirst().map { ($0.name, c.issues[Int($0.rawValue)]) }
                ),
                fragments: FragmentAnswer(
                    held: c.fragmentsHeld, attributed: c.fragmentsAttributed, unattributed: c.fragmentsUnattributed),
                resetNotices: ResetNoticeAnswer(
                    closed: c.peerResetsClosed, unmatched: c.peerResetsUnmatched, lost: c.resetNoticesLost),
                applications: ApplicationsAnswer(
                    records: Dictionary(
                        uniqueKeysWithValues: ApplicationID.allCases.map {
                            ($0.name, c.recordsByApplication[Int($0.rawValue)])
                        }),
                    inspectFailures: Dictionary(
                        uniqueKeysWithValues: InspectIssue.allCases.dropFirst().map {
                            ($0.name, c.inspectIssues[Int($0.rawValue)])
                        }),
                    detailsLost: c.detailsLost,
                    labels: PoolAnswer(size: c.labels, inUse: c.labelsInUse, exhausted: c.labelsExhausted),
                    reassembly: PoolAnswer(
                        size: c.reassemblyBuffers, inUse: c.reassemblyInUse, exhausted: c.reassemblyExhausted),
                    quicDecryptions: c.quicDecryptions, quicDecryptionsSkipped: c.quicDecryptionsSkipped))
        }
        return StatsAnswer(
            directions: directions, collectors: collectors(), detailsWithoutRoom: context.export.detailsWithoutRoom)
    }

    /// "flows TOP ORDER [FIELD=VALUE…]": each forwarder scans its own cache between frames
    /// (a slice per housekeeping) and publishes its top flows; this waits up to 3 s for all.
    func flows(top: Int, order: FlowOrder, filterText: String) -> Result<any Encodable, ControlError> {
        let filter: FlowFilter
        do { filter = try FlowFilter(parsing: filterText) } catch {
            return .failure(ControlError(error: error.description))
        }
        guard let answers = ask(FlowQuery(order: order, limit: top, matches: { filter.matches($0) })) else {
            return .failure(ControlError(error: "a forwarder did not answer within 3 s"))
        }
        // A connection's latency needs both directions' handshake times: the reverse flows
        // of the TCP flows listed, asked for by key where the answer lacks them. Keys meet
        // without the ToS, which each direction may set on its own (as in `LatencyJoin`).
        var byKey: [FlowKey: FlowSnapshot] = [:]
        for list in answers { for f in list { byKey[f.key.withoutTOS] = f } }
        let missing = Set(
            byKey.values.filter { $0.handshake.role != .none && byKey[$0.key.reverseKey.withoutTOS] == nil }
                .map(\.key.reverseKey.withoutTOS))
        if !missing.isEmpty,
            let reverse = ask(
                FlowQuery(order: order, limit: missing.count, matches: { missing.contains($0.withoutTOS) }))
        {
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
                let reverse = byKey[f.key.reverseKey.withoutTOS]
                if f.application != .none { flow.app = f.application.name }
                if !f.name.isEmpty {
                    flow.name = f.name
                } else if let reverse, !reverse.name.isEmpty {
                    flow.name = reverse.name
                }
                if let reverse, f.handshake.role != .none {
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
            for (i, d) in context.directions.enumerated() where answers[i] == nil {
                answers[i] = d.report.answer(to: generation)
            }
            if answers.contains(where: { $0 == nil }) { usleep(5000) }
        }
        return answers.contains(where: { $0 == nil }) ? nil : answers.map { $0! }
    }

    func collectors() -> [CollectorAnswer] {
        context.export.publishedStatistics.map { collector, s in
            CollectorAnswer(
                url: collector.description, messages: s.messages, records: s.records, bytes: s.bytes,
                sendErrors: s.sendErrors, queueDepth: s.queued, recordsLost: s.recordsNotSent,
                notExportable: s.recordsNotExportable, icmpErrors: s.icmpErrors,
                lastError: s.lastError, lastErrorTimeMs: s.lastErrorMs)
        }
    }

    func config() -> ConfigAnswer {
        var c = context.config
        let policy = context.requests.policy(
            from: ExpiryPolicy(
                idleTimeoutSeconds: c.idleTimeout, activeTimeoutSeconds: c.activeTimeout,
                closeTimeoutSeconds: c.tcpCloseTimeout))
        c.idleTimeout = Int(policy.idleNs / 1_000_000_000)
        c.activeTimeout = Int(policy.activeNs / 1_000_000_000)
        return c
    }
}

import Logging

/// The operator's side: the control socket and its thread, and the `--metrics` endpoint. The
/// socket and the TAPs' drop counters are opened at setup, before the privilege drop; the
/// metrics endpoint listens once the credentials are dropped and before the seccomp filter
/// (which then covers its threads); the control thread starts after both. Both stop before
/// the forwarders do, so that neither reads a pipeline that is going away.
final class ControlPlane {
    let socket: ControlSocket?
    var context: ControlContext
    let thread = ThreadGroup()
    let stopping: Doorbell
    var metrics: MetricsEndpoint?
    let metricsAddress: MetricsAddress?

    /// `socket`: the control socket, made or inherited (`openSocket`).
    init(_ config: ProbeConfiguration, socket: ControlSocket?, taps: (a: [TapDevice], b: [TapDevice]), reports: [ForwarderReport],
         pipeline: Pipeline, handovers: HandoverInbox?) throws(SetupError) {
        self.socket = socket
        let drops = [taps.a[0].name, taps.b[0].name].map { KernelDropCounter(tap: $0) }
        // a->b reads tap-a, whose queue the kernel drops at; b->a reads tap-b.
        let aToB = "\(config.tapA)->\(config.tapB)", bToA = "\(config.tapB)->\(config.tapA)"
        let directions = ForwarderID.all(queues: config.queues).map { id in
            (name: id.direction == .aToB ? aToB : bToA, queue: id.queue, report: reports[id.index], kernelDrops: drops[id.direction.rawValue])
        }
        context = ControlContext(directions: directions, export: pipeline.exportThread, requests: pipeline.requests,
                                 config: config.answer, longestTimeout: ProbeConfiguration.longestInterval)
        context.handovers = handovers
        stopping = try Doorbell()
        metricsAddress = config.metrics
    }

    /// `--metrics`: listening before this returns, or a setup error.
    func startMetrics(logger: Logger) throws(SetupError) {
        guard let address = metricsAddress else { return }
        metrics = try MetricsEndpoint.start(address, metrics: ProbeMetrics(context: context))
        logger.info("Prometheus metrics on \(address): GET /metrics")
    }

    /// The control socket: the one a previous flowtap listened on (`inherited`), or a new one.
    static func openSocket(_ config: ProbeConfiguration, inherited: CInt?) throws(SetupError) -> ControlSocket? {
        guard let path = config.controlPath else {
            if let inherited { SystemCall.close(inherited) }
            return nil
        }
        if let inherited { return ControlSocket(adopting: inherited, path: path) }
        return try ControlSocket(path: path)
    }

    /// Before a handover's successor listens on the same address; true when it was running.
    @discardableResult
    func stopMetrics() -> Bool {
        guard let m = metrics else { return false }
        m.stop()
        metrics = nil
        return true
    }

    func start(logger: Logger) {
        guard let socket else { return }
        let server = ControlServer(socket: socket, context: context, stop: stopping)
        if thread.start(name: "flowtap-control", { server.run() }) {
            logger.info("control socket \(socket.path): flowtap show stats --control \(socket.path)")
        } else {
            logger.error("cannot start the control thread; flowtap runs without its control socket")
        }
    }

    func stop() {
        metrics?.stop()
        stopping.ring()
        thread.joinAll()
    }
}

/// The export thread as the control socket and the metrics see it.
extension ExportThread: ExportStatus {}

extension ProbeConfiguration {
    /// What `show config` reports of this configuration.
    var answer: ConfigAnswer {
        ConfigAnswer(tapA: tapA, tapB: tapB, collectors: collectors.map(\.description), records: records.names,
                     idleTimeout: idleTimeout, activeTimeout: activeTimeout, tcpCloseTimeout: tcpCloseTimeout,
                     maxFlows: maxFlows, queues: queues, mtu: mtu, sample: sampling.interval, offload: offload,
                     biflow: biflow, ipfixNtop: ipfixNtop, observationDomain: observationDomain)
    }
}

import Logging

/// The operator's side: the control socket and its thread, and the `--metrics` endpoint. The
/// socket and the TAPs' drop counters are opened at setup, before the privilege drop; the
/// metrics endpoint listens once the credentials are dropped and before the seccomp filter
/// (which then covers its threads); the control thread starts after both. Both stop before
/// the forwarders do, so that neither reads a pipeline that is going away.
final class ControlPlane {
    let socket: ControlSocket?
    let context: ControlContext
    let thread = ThreadGroup()
    let stopping: Doorbell
    var metrics: MetricsEndpoint?

    init(_ config: ProbeConfiguration, taps: (a: [TapDevice], b: [TapDevice]), reports: [ForwarderReport],
         pipeline: Pipeline) throws(SetupError) {
        socket = try config.controlPath.map { path throws(SetupError) in try ControlSocket(path: path) }
        let drops = [taps.a[0].name, taps.b[0].name].map { KernelDropCounter(tap: $0) }
        // Index 2q is a->b (it reads tap-a, whose queue the kernel drops at), 2q + 1 is b->a.
        let aToB = "\(config.tapA)->\(config.tapB)", bToA = "\(config.tapB)->\(config.tapA)"
        let directions = reports.enumerated().map { i, report in
            (name: i % 2 == 0 ? aToB : bToA, queue: i / 2, report: report, kernelDrops: drops[i % 2])
        }
        context = ControlContext(directions: directions, walker: pipeline.walker, requests: pipeline.requests, config: config)
        stopping = try Doorbell()
    }

    /// `--metrics`: listening before this returns, or a setup error.
    func startMetrics(logger: Logger) throws(SetupError) {
        guard let address = context.config.metrics else { return }
        metrics = try MetricsEndpoint.start(address, metrics: ProbeMetrics(context: context))
        logger.info("Prometheus metrics on \(address): GET /metrics")
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

import Logging

/// The control socket and its thread: the socket and the TAPs' drop counters are opened at
/// setup, before the privilege drop; the thread starts after it and stops before the
/// forwarders do, so that it never reads a pipeline that is going away.
final class ControlPlane {
    let socket: ControlSocket?
    let drops: [KernelDropCounter?]
    let thread = ThreadGroup()
    let stopping: Doorbell

    init(_ config: ProbeConfiguration, taps: (a: [TapDevice], b: [TapDevice])) throws(SetupError) {
        socket = try config.controlPath.map { path throws(SetupError) in try ControlSocket(path: path) }
        drops = [taps.a[0].name, taps.b[0].name].map { KernelDropCounter(tap: $0) }
        stopping = try Doorbell()
    }

    func start(reports: [ForwarderReport], pipeline: Pipeline, config: ProbeConfiguration, logger: Logger) {
        guard let socket else { return }
        // Index 2q is a->b (it reads tap-a, whose queue the kernel drops at), 2q + 1 is b->a.
        let aToB = "\(config.tapA)->\(config.tapB)", bToA = "\(config.tapB)->\(config.tapA)"
        var directions: [(name: String, queue: Int, report: ForwarderReport, kernelDrops: KernelDropCounter?)] = []
        for (i, report) in reports.enumerated() {
            directions.append((name: i % 2 == 0 ? aToB : bToA, queue: i / 2, report: report, kernelDrops: drops[i % 2]))
        }
        let context = ControlContext(directions: directions, walker: pipeline.walker, requests: pipeline.requests, config: config)
        let server = ControlServer(socket: socket, context: context, stop: stopping)
        if thread.start(name: "flowtap-control", { server.run() }) {
            logger.info("control socket \(socket.path): flowtap show stats --control \(socket.path)")
        } else {
            logger.error("cannot start the control thread; flowtap runs without its control socket")
        }
    }

    func stop() {
        stopping.ring()
        thread.joinAll()
    }
}

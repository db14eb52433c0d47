import FlowTapBase
import FlowTapControl
import FlowTapDevice
import FlowTapExport
import FlowTapMeter
import Logging

/// The operator's side: the control socket, the `--metrics` listener and the thread that serves
/// both (`ControlServer`). The sockets and the TAPs' drop counters are opened at setup, before
/// the privilege drop (so any port binds), or taken from a predecessor; the thread starts once
/// the pipeline runs, and stops before the forwarders do, so that it never reads a pipeline
/// that is going away.
package final class ControlPlane {
    package let socket: ControlSocket?
    package let metrics: MetricsListener?
    var context: ControlContext
    let thread = ThreadGroup()
    let stopping: Doorbell

    /// `socket`, `metrics`: made or inherited (`openSocket`, `openMetrics`).
    package init(
        _ config: ProbeConfiguration, socket: ControlSocket?, metrics: MetricsListener?,
        taps: (a: [TapDevice], b: [TapDevice]),
        reports: [ForwarderReport], pipeline: Pipeline, handovers: HandoverInbox?
    ) throws(SetupError) {
        self.socket = socket
        self.metrics = metrics
        let drops = [taps.a[0].name, taps.b[0].name].map { KernelDropCounter(tap: $0) }
        // a->b reads tap-a, whose queue the kernel drops at; b->a reads tap-b.
        let aToB = "\(config.tapA)->\(config.tapB)", bToA = "\(config.tapB)->\(config.tapA)"
        let directions = ForwarderID.all(queues: config.queues).map { id in
            (
                name: id.direction == .aToB ? aToB : bToA, queue: id.queue, report: reports[id.index],
                kernelDrops: drops[id.direction.rawValue]
            )
        }
        context = ControlContext(
            directions: directions, export: pipeline.exportThread, requests: pipeline.requests,
            config: config.answer, longestTimeout: ProbeConfiguration.longestInterval)
        context.handovers = handovers
        stopping = try Doorbell()
    }

    /// `--metrics`' listener: the one a previous flowtap listened on for the same address
    /// (`inherited`), or a new one.
    package static func openMetrics(_ config: ProbeConfiguration, inherited: CInt?) throws(SetupError)
        -> MetricsListener?
    {
        guard let address = config.metrics else {
            if let inherited { SystemCall.close(inherited) }
            return nil
        }
        if let inherited {
            if MetricsListener.matches(inherited, address) {
                return MetricsListener(adopting: inherited, address: address)
            }
            SystemCall.close(inherited)
        }
        return try MetricsListener(address)
    }

    /// The control socket: the one a previous flowtap listened on (`inherited`), or a new one.
    package static func openSocket(_ config: ProbeConfiguration, inherited: CInt?) throws(SetupError) -> ControlSocket?
    {
        guard let path = config.controlPath else {
            if let inherited { SystemCall.close(inherited) }
            return nil
        }
        if let inherited { return ControlSocket(adopting: inherited, path: path) }
        return try ControlSocket(path: path)
    }

    package func start(logger: Logger) {
        guard socket != nil || metrics != nil else { return }
        let probeMetrics = metrics.map { _ in ProbeMetrics(context: context) }
        let server = ControlServer(
            socket: socket, metrics: metrics, scrape: probeMetrics.map { m in { m.scrape() } }, context: context,
            stop: stopping)
        if thread.start(name: "flowtap-control", { server.run() }) {
            if let socket { logger.info("control socket \(socket.path): flowtap show stats --control \(socket.path)") }
            if let metrics { logger.info("Prometheus metrics on \(metrics.address): GET /metrics") }
        } else {
            logger.error("cannot start the control thread; flowtap runs without its control socket and metrics")
        }
    }

    package func stop() {
        stopping.ring()
        thread.joinAll()
    }
}

/// The export thread as the control socket and the metrics see it.
extension ExportThread: ExportStatus {}

extension ProbeConfiguration {
    /// What `show config` reports of this configuration.
    var answer: ConfigAnswer {
        ConfigAnswer(
            tapA: tapA, tapB: tapB, collectors: collectors.map(\.description), records: records.names,
            idleTimeout: idleTimeout, activeTimeout: activeTimeout, tcpCloseTimeout: tcpCloseTimeout,
            maxFlows: maxFlows, queues: queues, mtu: mtu, sample: sampling.interval, offload: offload,
            biflow: biflow, ipfixNtop: ipfixNtop, observationDomain: observationDomain)
    }
}

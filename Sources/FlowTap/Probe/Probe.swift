import CFlowTapLinux
import Glibc
import Logging

/// Wires the pipeline together and runs it until a stop signal (see `SignalInbox`):
/// TAP a ⇄ TAP b (one forwarding thread per direction, each with its flow cache) → rings →
/// the export thread (encode IPFIX, NetFlow v9 or v5 per collector, send through raw sockets).
///
/// Setup order: every privileged descriptor is opened (TAPs, raw sockets), then privileges are
/// dropped (`PrivilegeDrop`), and only then does a thread start reading the wire.
///
/// Shutdown order, so that no record is lost: the signal arrives through a signalfd; the
/// forwarders finish the frame in hand, push every remaining flow ("forced end") and stop; only
/// then is the export thread told to drain, and it flushes everything before it returns.
public enum Probe {
    public static let ringCapacity = 65536
    /// Reset notices one direction can have waiting for the other (drained every housekeeping,
    /// at least every 51 ms): 80 000 connection resets a second, 256 KiB a forwarder.
    public static let resetNoticeCapacity = 4096

    public static func run(_ config: ProbeConfiguration, logger: Logger) throws(SetupError) -> ProbeSummary {
        try config.validate()
        if let metrics = config.metrics { try MetricsEndpoint.preflight(metrics) }
        let drop = try PrivilegeDrop.resolve(user: config.user, seccomp: config.seccomp)
        let scheduling = schedulingNote()
        let signals = try SignalInbox()
        let notifier = try ServiceNotifier.fromEnvironment()
        let taps = try openTAPs(config, logger: logger)
        let reports = ForwarderID.all(queues: config.queues).map { _ in ForwarderReport() }
        let export = try ExportWiring(config, reports: reports, logger: logger)
        let pipeline = try Pipeline(config, taps: taps, export: export, reports: reports, logger: logger)
        let control = try ControlPlane(config, taps: taps, reports: reports, pipeline: pipeline)
        try drop.dropCredentials(logger: logger)
        try control.startMetrics(logger: logger)
        try drop.installFilter(logger: logger)
        try pipeline.start()
        control.start(logger: logger)
        logger.info("forwarding \(taps.a[0].name) (ifindex \(taps.a[0].ifIndex)) <-> \(taps.b[0].name) (ifindex \(taps.b[0].ifIndex)), \(config.queues) queue\(config.queues == 1 ? "" : "s"), observation domain \(config.observationDomain)\(scheduling)")
        // Both TAPs attached, the exporters open, every thread running.
        notifier?.notify("READY=1\nSTATUS=forwarding \(taps.a[0].name) <-> \(taps.b[0].name)")
        let signal = waitForStop(signals, pipeline: pipeline, reports: reports, notifier: notifier, logger: logger)
        notifier?.notify("STOPPING=1\nSTATUS=exporting every flow")
        logger.info("stopping: exporting every flow still in the caches")
        control.stop()
        let statistics = pipeline.stop()
        let perCollector = config.collectors.compactMap { c in statistics.first { $0.collector == c } }
        withExtendedLifetime((export, taps)) {}
        let forwarders = ForwarderID.all(queues: config.queues)
        func total(_ direction: ForwarderID.Direction) -> ForwarderCounters {
            forwarders.filter { $0.direction == direction }.map { reports[$0.index].snapshot }.reduce(ForwarderCounters(), +)
        }
        let (aToB, bToA) = (total(.aToB), total(.bToA))
        return ProbeSummary(tapA: taps.a[0].name, tapB: taps.b[0].name, aToB: aToB, bToA: bToA,
                            export: perCollector.reduce(ExportStatistics()) { $0 + $1.statistics },
                            collectors: perCollector, signal: signal)
    }

    /// The real-time policy every thread inherits from the process (`chrt -f`, systemd's
    /// CPUSchedulingPolicy=), for the start line; empty on the normal scheduler. Read before the
    /// seccomp filter, which does not allow sched_getscheduler(2).
    static func schedulingNote() -> String {
        let policy = sched_getscheduler(0)
        guard policy == SCHED_FIFO || policy == SCHED_RR else { return "" }
        var param = sched_param()
        _ = sched_getparam(0, &param)
        return ", threads \(policy == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_RR") priority \(param.sched_priority)"
    }

    /// Every queue of both TAPs, attached, with the checks that need privileges done now.
    static func openTAPs(_ config: ProbeConfiguration, logger: Logger) throws(SetupError) -> (a: [TapDevice], b: [TapDevice]) {
        var a: [TapDevice] = [], b: [TapDevice] = []
        for _ in 0 ..< config.queues {
            a.append(try TapDevice.attach(name: config.tapA, offload: config.offload, multiQueue: config.queues > 1))
            b.append(try TapDevice.attach(name: config.tapB, offload: config.offload, multiQueue: config.queues > 1))
        }
        if let cpu = config.cpus.first(where: { $0 >= Int(cft_usable_cpus()) }) {
            throw SetupError("--cpus names CPU \(cpu), and this process may use \(cft_usable_cpus()) CPUs",
                             fix: "give CPUs from 0 to \(cft_usable_cpus() - 1)")
        }
        for name in [a[0].name, b[0].name] where cft_link_is_up(name) != 1 {
            logger.warning("TAP \(name) is down: no frame crosses it until 'ip link set \(name) up'")
        }
        return (a, b)
    }

    /// Sleeps on the signalfd until a stop signal or a TAP failure; returns the signal, nil for
    /// a failure. SIGUSR1 logs the counters so far. Under a systemd watchdog it wakes every half
    /// period and sends WATCHDOG=1 while every forwarder and the export thread are alive.
    static func waitForStop(_ signals: SignalInbox, pipeline: Pipeline, reports: [ForwarderReport],
                            notifier: ServiceNotifier?, logger: Logger) -> CInt? {
        let ping = notifier?.watchdogPingMs
        var stalled = false
        while !pipeline.failed.isRung {
            _ = SystemCall.pollReadable(signals.descriptor, pipeline.failed.descriptor, timeoutMs: ping ?? -1)
            if let notifier, let ping {
                let beats = reports.map(\.heartbeatMs) + [pipeline.exportThread.heartbeatMs]
                if Liveness.allAlive(beats, now: MonotonicClock.nowMs(), withinMs: UInt64(ping) * 2) {
                    notifier.notify("WATCHDOG=1")
                    stalled = false
                } else if !stalled {
                    stalled = true
                    logger.error("a forwarding thread or the export thread has shown no sign of life for a watchdog period; WATCHDOG=1 withheld, so systemd restarts flowtap")
                }
            }
            while let s = signals.next() {
                switch SignalInbox.action(s) {
                case .stop:
                    return s
                case .report:
                    let c = reports.map(\.snapshot).reduce(ForwarderCounters(), +)
                    logger.info("SIGUSR1: \(c.frames) frames, \(c.flowsCreated) flows created, \(c.liveFlows) live, \(c.recordsQueued) records queued, \(c.recordsLost) lost, \(c.malformed) undecodable, \(c.evictions) evicted")
                case .ignore:
                    if s != SIGPIPE { logger.info("\(SignalInbox.name(s)) ignored") }
                }
            }
        }
        return nil
    }
}

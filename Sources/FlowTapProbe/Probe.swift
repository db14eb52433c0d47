import FlowTapBase
import FlowTapControl
import FlowTapDecode
import FlowTapDevice
import FlowTapExport
import FlowTapLifecycle
import FlowTapMeter
import FlowTapSecurity
import FlowTapSend
import FlowTapSetup
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
    /// What a successor's flow tables look like (`StateLayout`), for `flowtap reload`.
    public static var stateLayoutSignature: UInt64 { StateLayout.signature }
    /// The exit status of a reload's park, for the service manager to start the unit again.
    public static let reloadExitStatus = Handover.reloadExitStatus

    public static func run(_ config: ProbeConfiguration, logger: Logger) throws(SetupError) -> ProbeSummary {
        try config.validate()
        let drop = try PrivilegeDrop.resolve(user: config.user, seccomp: config.seccomp)
        let scheduling = schedulingNote()
        let signals = try SignalInbox()
        let notifier = try ServiceNotifier.fromEnvironment()
        // What a predecessor left open: passed by it (--takeover), or by the service manager.
        let takeover = config.takeover ? try Takeover.begin(config, logger: logger) : nil
        let inherited = takeover?.descriptors ?? InheritedDescriptors.fromEnvironment()
        if let inherited {
            logger.info("descriptors from \(inherited.origin): \(inherited.names.joined(separator: " "))")
        }
        let (state, oldState) = try openState(
            config, inherited: inherited, flowsKept: takeover?.offer.flowsKept ?? true, logger: logger)
        let taps = try openTAPs(config, inherited: inherited, logger: logger)
        // The operator's listeners before the export: a --metrics or --control that cannot be had
        // is the one line flowtap prints, before the export logs what it sends where.
        let controlSocket = try ControlPlane.openSocket(config, inherited: inherited?.take(DescriptorNames.control))
        let metricsListener = try ControlPlane.openMetrics(config, inherited: inherited?.take(DescriptorNames.metrics))
        let reports = ForwarderID.all(queues: config.queues).map { _ in ForwarderReport() }
        let export = try ExportWiring(
            config, reports: reports, inherited: inherited, systemInitMs: state.systemInitMs, logger: logger)
        let handovers = try HandoverInbox()
        if let unused = inherited?.closeUnused(), !unused.isEmpty {
            logger.info("descriptors not needed by this configuration, closed: \(unused.joined(separator: " "))")
        }
        let pipeline = try Pipeline(config, taps: taps, export: export, reports: reports, state: state, logger: logger)
        let control = try ControlPlane(
            config, socket: controlSocket, metrics: metricsListener, taps: taps, reports: reports,
            pipeline: pipeline, handovers: handovers)
        // Everything privileged is open (or was handed over): the credentials go now, and a
        // predecessor keeps forwarding meanwhile.
        try drop.dropCredentials(logger: logger)
        // The first output file, as the account flowtap now runs as; a successor's opens at
        // its first message, once the predecessor has completed its own.
        if let output = export.output, takeover != nil {
            output.files.stamped = true
        } else if let output = export.output {
            do { try output.files.open() } catch {
                throw SetupError(
                    "--output: \(error.problem) (flowtap runs as uid \(getuid()) from here)",
                    fix:
                        "give --output a path in a directory that account owns (--user; under systemd, /var/lib/flowtap)"
                )
            }
        }
        // The gap starts here: the predecessor parks, and nothing reads the TAPs until our
        // threads run.
        let parkStart = MonotonicClock.nowNs()
        if let takeover {
            try takeover.park()
            export.output?.files.notBeforeSecond = Int64(WallClock.nowMs() / 1000) + 1
        }
        state.readPrevious()
        if let oldState { state.inheritStreams(from: oldState) }
        state.markParked(false)
        let resumed = export.attach(state)
        try drop.installFilter(output: config.output != nil, logger: logger)
        try pipeline.start()
        if let takeover, !takeover.started() {
            logger.warning("flowtap PID \(takeover.offer.pid) went away before it heard that this one runs")
        }
        let gapMs = Double((MonotonicClock.nowNs() - parkStart) / 10_000) / 100
        control.start(logger: logger)
        logger.info(
            "forwarding \(taps.a[0].name) (ifindex \(taps.a[0].ifIndex)) <-> \(taps.b[0].name) (ifindex \(taps.b[0].ifIndex)), \(config.queues) queue\(config.queues == 1 ? "" : "s"), observation domain \(config.observationDomain)\(scheduling)"
        )
        logPredecessor(
            state, takeover: takeover, origin: inherited?.origin ?? "", gapMs: gapMs, resumed: resumed,
            biflow: config.biflow,
            logger: logger)
        let descriptors = passable(state: state, taps: taps, export: export, control: control)
        if let notifier {
            keepInStore(
                notifier, descriptors: descriptors, stored: takeover == nil ? inherited?.originalNames ?? [] : [],
                freshState: !state.adopted, logger: logger)
        }
        // Both TAPs attached, the exporters open, every thread running.
        notifier?.notify("READY=1\nSTATUS=forwarding \(taps.a[0].name) <-> \(taps.b[0].name)")
        let handover = Handover(
            config: config, pipeline: pipeline, state: state, control: control, descriptors: descriptors,
            underServiceManager: notifier != nil, logger: logger)
        var ending = Ending.failure
        waiting: while true {
            switch waitForStop(
                signals, pipeline: pipeline, reports: reports, handovers: handovers, notifier: notifier, logger: logger)
            {
            case .signal(let s): ending = .signal(s); break waiting
            case .failure: ending = .failure; break waiting
            case .handover(let request, let client):
                switch handover.serve(request, client: client) {
                case .goOn: continue
                case .handedOver(let pid): ending = .handedOver(pid); break waiting
                case .reloading: ending = .reloading; break waiting
                }
            }
        }
        let statistics: [(collector: CollectorAddress, statistics: ExportStatistics)]
        switch ending {
        case .signal, .failure:
            notifier?.notify("STOPPING=1\nSTATUS=exporting every flow")
            logger.info("stopping: exporting every flow still in the caches")
            control.stop()
            statistics = pipeline.stop()
        case .handedOver, .reloading:
            control.stop()
            statistics = pipeline.quit()
        }
        withExtendedLifetime((export, taps, state)) {}
        return summary(config, taps: taps, reports: reports, statistics: statistics, ending: ending)
    }

    /// What this run took on from a predecessor, if anything: its flow tables (after a
    /// handover, a reload or a crash: then with the records the crash lost) and its streams.
    static func logPredecessor(
        _ state: StateRegion, takeover: Takeover?, origin: String, gapMs: Double, resumed: Int, biflow: Bool,
        logger: Logger
    ) {
        if state.adopted {
            // As the predecessor last published them (within 10 ms of its end).
            let flows = state.previousCounters.reduce(0) { $0 + $1.liveFlows }
            let how =
                takeover != nil
                ? "took over in \(gapMs) ms from \(origin)"
                : state.previousParked
                    ? "restarted after a reload" : "restarted after the previous flowtap died (crash, kill or watchdog)"
            logger.info(
                "\(how): \(state.forwarders) flow tables adopted, about \(flows) flows go on; \(resumed) collector stream\(resumed == 1 ? "" : "s") go on from their sequence numbers"
            )
            if takeover == nil && !state.previousParked, let lost = crashLoss(state, biflow: biflow) {
                logger.warning(
                    "about \(lost) finished flow records were in the rings or the export thread when the previous flowtap died, and are lost (records its forwarders queued, less those its best-served collector was sent)"
                )
            }
        } else if let takeover {
            logger.info("took over in \(gapMs) ms from flowtap PID \(takeover.offer.pid), with empty flow tables")
        }
    }

    /// The run's totals: each direction's counters over its queues, and each collector's
    /// statistics in the order they were configured (the output file last).
    static func summary(
        _ config: ProbeConfiguration, taps: (a: [TapDevice], b: [TapDevice]), reports: [ForwarderReport],
        statistics: [(collector: CollectorAddress, statistics: ExportStatistics)], ending: Ending
    ) -> ProbeSummary {
        let perCollector = (config.collectors + (config.output.map { [CollectorAddress(file: $0)] } ?? [])).compactMap {
            c in
            statistics.first { $0.collector == c }
        }
        let forwarders = ForwarderID.all(queues: config.queues)
        func total(_ direction: ForwarderID.Direction) -> ForwarderCounters {
            forwarders.filter { $0.direction == direction }.map { reports[$0.index].snapshot }.reduce(
                ForwarderCounters(), +)
        }
        return ProbeSummary(
            tapA: taps.a[0].name, tapB: taps.b[0].name, aToB: total(.aToB), bToA: total(.bToA),
            export: perCollector.filter { $0.collector.file == nil }.reduce(ExportStatistics()) { $0 + $1.statistics },
            collectors: perCollector, ending: ending)
    }

    /// How a run ended.
    public enum Ending: Sendable, Equatable {
        case signal(CInt)
        /// A TAP failed.
        case failure
        /// A successor took the TAPs and the flows (`--takeover`).
        case handedOver(Int32)
        /// Parked for the service manager to start the unit again (`flowtap reload`).
        case reloading
    }

    /// Records a dead predecessor's forwarders had queued and its export thread never handed to
    /// a collector, as far as the counters it left tell (the forwarders publish every 10 ms,
    /// so this is a floor); nil with --biflow (a biflow record carries two) or no collector.
    static func crashLoss(_ state: StateRegion, biflow: Bool) -> UInt64? {
        guard !biflow, !state.previousCheckpoints.isEmpty else { return nil }
        let queued = state.previousCounters.reduce(0) { $0 &+ $1.recordsQueued }
        let handled =
            state.previousCheckpoints.map { $0.records &+ $0.recordsNotSent &+ $0.recordsNotExportable }.max() ?? 0
        return queued > handled ? queued - handled : 0
    }

    /// The flow tables: adopted from what the predecessor left when this version reads them and
    /// they fit this configuration, otherwise a fresh region (and the old one, for the
    /// collectors' stream checkpoints, read after the park).
    static func openState(
        _ config: ProbeConfiguration, inherited: InheritedDescriptors?, flowsKept: Bool,
        logger: Logger
    ) throws(SetupError) -> (StateRegion, SharedMemory?) {
        let forwarders = 2 * config.queues
        var old: SharedMemory?
        if let inherited, let fd = inherited.take(DescriptorNames.state) {
            do {
                let memory = try SharedMemory(adopting: fd)
                switch StateRegion.adopt(
                    memory, forwarders: forwarders, maxFlows: config.maxFlows, records: config.records)
                {
                case .success(let region) where flowsKept: return (region, nil)
                case .success: old = memory
                case .failure(.layout):
                    logger.warning(
                        "the flow tables from \(inherited.origin) have a layout this version cannot read (\(StateRegion.describe(memory))): starting with empty tables\(flowsKept ? "; their flows are lost" : "")"
                    )
                case .failure(.configuration):
                    old = memory
                    if flowsKept {
                        logger.warning(
                            "the flow tables from \(inherited.origin) were made for another --queues, --max-flows or record set: starting with empty tables; their flows are lost"
                        )
                    }
                }
            } catch {
                logger.warning(
                    "cannot map the flow tables from \(inherited.origin) (\(error)): starting with empty tables")
            }
        }
        let region = try StateRegion(
            forwarders: forwarders, maxFlows: config.maxFlows, records: config.records, systemInitMs: WallClock.nowMs())
        return (region, old)
    }

    /// Every descriptor a successor or the service manager keeps, with its name.
    static func passable(
        state: StateRegion, taps: (a: [TapDevice], b: [TapDevice]), export: ExportWiring,
        control: ControlPlane
    ) -> [(name: String, descriptor: CInt)] {
        var list: [(name: String, descriptor: CInt)] = [(DescriptorNames.state, state.memory.descriptor)]
        for (q, tap) in taps.a.enumerated() { list.append((DescriptorNames.tapA(q), tap.descriptor)) }
        for (q, tap) in taps.b.enumerated() { list.append((DescriptorNames.tapB(q), tap.descriptor)) }
        if let fd = export.sockets.descriptors.ipv4 { list.append((DescriptorNames.raw4, fd)) }
        if let fd = export.sockets.descriptors.ipv6 { list.append((DescriptorNames.raw6, fd)) }
        if let socket = control.socket { list.append((DescriptorNames.control, socket.descriptor)) }
        if let metrics = control.metrics { list.append((DescriptorNames.metrics, metrics.descriptor)) }
        for (name, socket) in export.errorSockets { list.append((name, socket.descriptor)) }
        return list
    }

    /// Under a service manager: every descriptor goes to its fd store (FDSTORE=1), so that a
    /// crash or a reload keeps the TAPs attached and the flow tables; those it handed us are
    /// there already. One it handed us that this configuration left unused is removed.
    /// `stored`: the names the service manager handed us (its store holds them); `freshState`:
    /// the stored tables were not adopted, so the new ones replace them.
    static func keepInStore(
        _ notifier: ServiceNotifier, descriptors: [(name: String, descriptor: CInt)],
        stored: [String], freshState: Bool, logger: Logger
    ) {
        var had = Set(stored)
        if freshState { had.remove(DescriptorNames.state) }
        for name in Set(stored) where !had.contains(name) || !descriptors.contains(where: { $0.name == name }) {
            notifier.notify("FDSTOREREMOVE=1\nFDNAME=\(name)")
        }
        var failed: [String] = []
        for (name, fd) in descriptors where !had.contains(name) {
            if !notifier.store(fd, name: name) { failed.append(name) }
        }
        if !failed.isEmpty {
            logger.warning(
                "the service manager did not take \(failed.joined(separator: " ")) into its fd store (set FileDescriptorStoreMax= in the unit): a crash or reload will cut the link"
            )
        }
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
    /// A queue a predecessor left open (`inherited`) is taken as it is; any other is attached.
    static func openTAPs(_ config: ProbeConfiguration, inherited: InheritedDescriptors?, logger: Logger)
        throws(SetupError) -> (a: [TapDevice], b: [TapDevice])
    {
        var a: [TapDevice] = [], b: [TapDevice] = []
        func open(_ name: String, _ passed: CInt?) throws(SetupError) -> TapDevice {
            if let passed { return try TapDevice.adopt(passed, name: name, offload: config.offload) }
            return try TapDevice.attach(name: name, offload: config.offload, multiQueue: config.queues > 1)
        }
        for q in 0 ..< config.queues {
            a.append(try open(config.tapA, inherited?.take(DescriptorNames.tapA(q))))
            b.append(try open(config.tapB, inherited?.take(DescriptorNames.tapB(q))))
        }
        let usable = ProcessControl.usableCPUs
        if let cpu = config.cpus.first(where: { $0 >= usable }) {
            throw SetupError(
                "--cpus names CPU \(cpu), and this process may use \(usable) CPUs",
                fix: "give CPUs from 0 to \(usable - 1)")
        }
        for name in [a[0].name, b[0].name] where !TunnelDevice.isUp(name) {
            logger.warning("TAP \(name) is down: no frame crosses it until 'ip link set \(name) up'")
        }
        return (a, b)
    }

    enum Wake { case signal(CInt), failure, handover(ControlRequest, Descriptor) }

    /// Sleeps on the signalfd until a stop signal, a TAP failure or a handover ask. SIGUSR1 logs
    /// the counters so far. Under a systemd watchdog it wakes every half period and sends
    /// WATCHDOG=1 while every forwarder and the export thread are alive.
    static func waitForStop(
        _ signals: SignalInbox, pipeline: Pipeline, reports: [ForwarderReport], handovers: HandoverInbox,
        notifier: ServiceNotifier?, logger: Logger
    ) -> Wake {
        let ping = notifier?.watchdogPingMs
        var stalled = false
        while !pipeline.failed.isRung {
            let ready = SystemCall.pollReadable(
                [signals.descriptor, pipeline.failed.descriptor, handovers.descriptor], timeoutMs: ping ?? -1)
            if let notifier, let ping {
                let beats = reports.map(\.heartbeatMs) + [pipeline.exportThread.heartbeatMs]
                if Liveness.allAlive(beats, now: MonotonicClock.nowMs(), withinMs: UInt64(ping) * 2) {
                    notifier.notify("WATCHDOG=1")
                    stalled = false
                } else if !stalled {
                    stalled = true
                    logger.error(
                        "a forwarding thread or the export thread has shown no sign of life for a watchdog period; WATCHDOG=1 withheld, so systemd restarts flowtap"
                    )
                }
            }
            while let s = signals.next() {
                switch SignalInbox.action(s) {
                case .stop:
                    return .signal(s)
                case .report:
                    let c = reports.map(\.snapshot).reduce(ForwarderCounters(), +)
                    logger.info(
                        "SIGUSR1: \(c.frames) frames, \(c.flowsCreated) flows created, \(c.liveFlows) live, \(c.recordsQueued) records queued, \(c.recordsLost) lost, \(c.malformed) undecodable, \(c.evictions) evicted"
                    )
                case .ignore:
                    if s != SIGPIPE { logger.info("\(SignalInbox.name(s)) ignored") }
                }
            }
            if ready.contains(2), let (request, client) = handovers.next() { return .handover(request, client) }
        }
        return .failure
    }
}

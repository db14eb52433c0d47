import CFlowTapLinux
import Logging

/// The running threads: one forwarder per direction and queue (`ForwarderID`), each with its
/// ring, and the export thread that drains the rings into the exporters.
final class Pipeline {
    let stopForwarding: Doorbell
    let drain: Doorbell
    /// Rung by a forwarder whose TAP failed for good, so the whole probe shuts down.
    let failed: Doorbell
    let exportThread: ExportThread
    /// What the control socket asks of the forwarders.
    let requests = ControlRequests()
    private let exportThreadGroup: ThreadGroup
    private let forwarding: ThreadGroup
    private let setups: [(id: ForwarderID, setup: ForwarderSetup)]
    private let cpus: [Int]
    private let rings: [RecordRing]

    init(_ config: ProbeConfiguration, taps: (a: [TapDevice], b: [TapDevice]), export: ExportWiring,
         reports: [ForwarderReport], logger: Logger) throws(SetupError) {
        // Everything that makes a descriptor is here, before the privilege drop: the seccomp
        // allowlist then needs no eventfd2.
        stopForwarding = try Doorbell()
        drain = try Doorbell()
        failed = try Doorbell()
        let forwarders = ForwarderID.all(queues: config.queues)
        let rings = forwarders.map { _ in RecordRing(capacity: Probe.ringCapacity) }
        // A forwarder reads its own reset notices, written by its partner.
        let resets = forwarders.map { _ in SPSCRing<FlowKey>(capacity: Probe.resetNoticeCapacity) }
        // Bounded by one direction's cache: more records than that cannot be waiting at once.
        let assembler = config.biflow
            ? BiflowAssembler(memorySeconds: max(config.idleTimeout, config.activeTimeout) + 5, capacity: config.maxFlows * config.queues)
            : nil
        exportThread = ExportThread(rings: rings, exporters: export.exporters, biflowExporters: export.biflowExporters,
                        biflow: assembler, drain: drain)
        let policy = ExpiryPolicy(idleTimeoutSeconds: config.idleTimeout, activeTimeoutSeconds: config.activeTimeout,
                                  closeTimeoutSeconds: config.tcpCloseTimeout)
        let hashSeed = UInt64.random(in: .min ... .max)
        let (stop, failed, requests) = (stopForwarding, self.failed, self.requests)
        let setups = forwarders.map { id in
            let (i, q) = (id.index, id.queue)
            let (from, to) = id.direction == .aToB ? (taps.a[q], taps.b[q]) : (taps.b[q], taps.a[q])
            return (id, ForwarderSetup(name: "\(from.name)->\(to.name)", input: from.descriptor.rawValue, output: to.descriptor.rawValue,
                                  // Observed as on tap-a: what enters from it is ingress, what leaves toward it egress.
                                  point: ObservationPoint(ingressInterface: from.ifIndex, egressInterface: to.ifIndex, direction: UInt8(id.direction.rawValue)),
                                  records: config.records, policy: policy, maxFlows: config.maxFlows, sampling: config.sampling,
                                  vnetHeader: config.offload ? TapDevice.vnetHeaderSize : 0,
                                  ownExport: export.ownExport, hashSeed: hashSeed,
                                  ring: rings[i], resetsOut: resets[id.partner.index], resetsIn: resets[i], report: reports[i], stop: stop, requests: requests, failed: failed, logger: logger))
        }
        self.setups = setups
        self.cpus = config.cpus
        self.rings = rings
        exportThreadGroup = ThreadGroup()
        forwarding = ThreadGroup()
    }

    /// Starts the export thread and the forwarders: the first thread that reads the wire starts here,
    /// so the privilege drop comes before this.
    func start() throws(SetupError) {
        let noThread = SetupError("cannot start a thread", fix: "raise the thread or memory limits (ulimit -u, ulimit -v)")
        guard exportThreadGroup.start(name: "flowtap-export", { [exportThread] in exportThread.run() }) else { throw noThread }
        for (i, (id, setup)) in setups.enumerated() {
            let cpu = cpus.isEmpty ? nil : cpus[i % cpus.count]
            let started = forwarding.start(name: "flowtap-\(id.direction == .aToB ? "a>b" : "b>a")\(id.queue)") {
                if let cpu { _ = cft_pin_thread(CInt(cpu)) }
                var f = Forwarder(setup)
                f.run()
            }
            if !started {
                rings[i...].forEach { $0.finish() }
                _ = stop()
                throw noThread
            }
        }
    }

    /// Stops the forwarders (each pushes its last flows), then lets the export thread drain and flush;
    /// returns what each collector's exporter counted.
    func stop() -> [(collector: CollectorAddress, statistics: ExportStatistics)] {
        stopForwarding.ring()
        forwarding.joinAll()
        drain.ring()
        exportThreadGroup.joinAll()
        return exportThread.statistics
    }
}

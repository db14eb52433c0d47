import CFlowTapLinux
import Logging

/// The running threads: one forwarder per direction and queue (index 2q is a->b, 2q + 1 is
/// b->a), each with its ring, and the walker that drains the rings into the exporters.
final class Pipeline {
    let stopForwarding: Doorbell
    let drain: Doorbell
    /// Rung by a forwarder whose TAP failed for good, so the whole probe shuts down.
    let failed: Doorbell
    let walker: Walker
    /// What the control socket asks of the forwarders.
    let requests = ControlRequests()
    private let walkerThread: ThreadGroup
    private let forwarding: ThreadGroup
    private let setups: [ForwarderSetup]
    private let cpus: [Int]
    private let rings: [RecordRing]

    init(_ config: ProbeConfiguration, taps: (a: [TapDevice], b: [TapDevice]), export: ExportWiring,
         reports: [ForwarderReport], logger: Logger) throws(SetupError) {
        // Everything that makes a descriptor is here, before the privilege drop: the seccomp
        // allowlist then needs no eventfd2.
        stopForwarding = try Doorbell()
        drain = try Doorbell()
        failed = try Doorbell()
        let forwarders = 2 * config.queues
        let rings = (0 ..< forwarders).map { _ in RecordRing(capacity: Probe.ringCapacity) }
        // Forwarder i reads resets[i], written by its partner i ^ 1 (the other direction of the queue).
        let resets = (0 ..< forwarders).map { _ in SPSCRing<FlowKey>(capacity: Probe.resetNoticeCapacity) }
        // Bounded by one direction's cache: more records than that cannot be waiting at once.
        let assembler = config.biflow
            ? BiflowAssembler(memorySeconds: max(config.idleTimeout, config.activeTimeout) + 5, capacity: config.maxFlows * config.queues)
            : nil
        walker = Walker(rings: rings, exporters: export.exporters, biflowExporters: export.biflowExporters,
                        biflow: assembler, drain: drain)
        let policy = ExpiryPolicy(idleTimeoutSeconds: config.idleTimeout, activeTimeoutSeconds: config.activeTimeout,
                                  closeTimeoutSeconds: config.tcpCloseTimeout)
        let hashSeed = UInt64.random(in: .min ... .max)
        let (stop, failed, requests) = (stopForwarding, self.failed, self.requests)
        let setups = (0 ..< forwarders).map { i in
            let (from, to) = i % 2 == 0 ? (taps.a[i / 2], taps.b[i / 2]) : (taps.b[i / 2], taps.a[i / 2])
            return ForwarderSetup(name: "\(from.name)->\(to.name)", input: from.descriptor.rawValue, output: to.descriptor.rawValue,
                                  // Observed as on tap-a: what enters from it is ingress, what leaves toward it egress.
                                  point: ObservationPoint(ingressInterface: from.ifIndex, egressInterface: to.ifIndex, direction: UInt8(i % 2)),
                                  records: config.records, policy: policy, maxFlows: config.maxFlows, sampling: config.sampling,
                                  vnetHeader: config.offload ? TapDevice.vnetHeaderSize : 0,
                                  ownExport: export.ownExport, hashSeed: hashSeed,
                                  ring: rings[i], resetsOut: resets[i ^ 1], resetsIn: resets[i], report: reports[i], stop: stop, requests: requests, failed: failed, logger: logger)
        }
        self.setups = setups
        self.cpus = config.cpus
        self.rings = rings
        walkerThread = ThreadGroup()
        forwarding = ThreadGroup()
    }

    /// Starts the walker and the forwarders: the first thread that reads the wire starts here,
    /// so the privilege drop comes before this.
    func start() throws(SetupError) {
        let noThread = SetupError("cannot start a thread", fix: "raise the thread or memory limits (ulimit -u, ulimit -v)")
        guard walkerThread.start(name: "flowtap-walker", { [walker] in walker.run() }) else { throw noThread }
        for (i, setup) in setups.enumerated() {
            let cpu = cpus.isEmpty ? nil : cpus[i % cpus.count]
            let started = forwarding.start(name: "flowtap-\(i % 2 == 0 ? "a>b" : "b>a")\(i / 2)") {
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

    /// Stops the forwarders (each pushes its last flows), then lets the walker drain and flush;
    /// returns what each collector's exporter counted.
    func stop() -> [(collector: CollectorAddress, statistics: ExportStatistics)] {
        stopForwarding.ring()
        forwarding.joinAll()
        drain.ring()
        walkerThread.joinAll()
        return walker.statistics
    }
}

import FlowTapBase
import FlowTapDecode
import FlowTapDevice
import FlowTapExport
import FlowTapForward
import FlowTapMeter
import FlowTapSend
import Logging

/// The running threads: one forwarder per direction and queue (`ForwarderID`), each with its
/// ring and its flow table in the `StateRegion`, and the export thread that drains the rings
/// into the exporters. Each thread obeys its own `ThreadCommand`: stop (every flow reported,
/// then end), park and run again (a handover), quit (a successor has the flows).
package final class Pipeline {
    /// Records each forwarder's ring to the export thread holds.
    public static let ringCapacity = 65536
    /// Reset notices one direction can have waiting for the other (drained every housekeeping,
    /// at least every 51 ms): 80 000 connection resets a second, 256 KiB a forwarder.
    public static let resetNoticeCapacity = 4096
    /// Labelled flows' fields a forwarder can have waiting for the export thread (drained with
    /// the records, every 100 ms): 40 000 labelled records a second; the fields of more go
    /// without, counted. About 3.4 MB a forwarder (820 bytes a slot).
    public static let detailCapacity = 4096
    /// Rung by a forwarder whose TAP failed for good, so the whole probe shuts down.
    package let failed: Doorbell
    package let exportThread: ExportThread
    /// What the control socket asks of the forwarders.
    let requests = MeterRequests()
    private let exportCommand: ThreadCommand
    private let forwarderCommands: [ThreadCommand]
    private let exportThreadGroup: ThreadGroup
    private let forwarding: ThreadGroup
    private var setups: [(id: ForwarderID, setup: ForwarderSetup)]
    private let state: StateRegion
    private let cpus: [Int]
    private let rings: [RecordRing]
    /// How long a park or a resume may take before it counts as failed.
    package static let commandTimeoutMs = 5000

    package init(
        _ config: ProbeConfiguration, taps: (a: [TapDevice], b: [TapDevice]), export: ExportWiring,
        reports: [ForwarderReport], state: StateRegion, logger: Logger
    ) throws(SetupError) {
        // Everything that makes a descriptor is here, before the privilege drop: the seccomp
        // allowlist then needs no eventfd2.
        failed = try Doorbell()
        exportCommand = try ThreadCommand()
        let forwarders = ForwarderID.all(queues: config.queues)
        var commands: [ThreadCommand] = []
        for _ in forwarders { commands.append(try ThreadCommand()) }
        forwarderCommands = commands
        let rings = forwarders.map { _ in RecordRing(capacity: Pipeline.ringCapacity) }
        let detailRings = config.appFields ? forwarders.map { _ in DetailRing(capacity: Pipeline.detailCapacity) } : []
        // A forwarder reads its own reset notices, written by its partner.
        let resets = forwarders.map { _ in SPSCRing<FlowKey>(capacity: Pipeline.resetNoticeCapacity) }
        let assembler = ExportWiring.assembler(config, tables: config.queues)
        exportThread = ExportThread(
            rings: rings, detailRings: detailRings, exporters: export.exporters,
            biflowExporters: export.biflowExporters,
            biflow: assembler, command: exportCommand)
        exportThread.held = state.heldRecords
        exportThread.output = export.output
        let policy = config.expiryPolicy
        let hashSeed = state.hashSeed
        let (failed, requests) = (self.failed, self.requests)
        let setups = forwarders.map { id in
            let (i, q) = (id.index, id.queue)
            let (from, to) = id.direction == .aToB ? (taps.a[q], taps.b[q]) : (taps.b[q], taps.a[q])
            var setup = ForwarderSetup(
                name: "\(from.name)->\(to.name)", input: from.descriptor, output: to.descriptor,
                // Observed as on tap-a: what enters from it is ingress, what leaves toward it egress.
                point: ObservationPoint(
                    ingressInterface: from.ifIndex, egressInterface: to.ifIndex, direction: UInt8(id.direction.rawValue)
                ),
                records: config.records, policy: policy, maxFlows: config.maxFlows, sampling: config.sampling,
                vnetHeader: config.offload ? TapDevice.vnetHeaderSize : 0,
                ownExport: export.ownExport, hashSeed: hashSeed,
                ring: rings[i], resetsOut: resets[id.partner.index], resetsIn: resets[i], report: reports[i],
                command: commands[i], requests: requests, failed: failed, logger: logger)
            setup.details = detailRings.isEmpty ? nil : detailRings[i]
            setup.storage = state.table(i)
            setup.adopting = state.adopted
            setup.countersSlot = state.counters(i)
            return (id, setup)
        }
        self.setups = setups
        self.state = state
        self.cpus = config.cpus
        self.rings = rings
        exportThreadGroup = ThreadGroup()
        forwarding = ThreadGroup()
    }

    /// Starts the export thread and the forwarders: the first thread that reads the wire starts here,
    /// so the privilege drop comes before this. The counters a predecessor left are read now
    /// (`StateRegion.readPrevious` has run: it no longer writes them).
    package func start() throws(SetupError) {
        for i in setups.indices where state.adopted && i < state.previousCounters.count {
            setups[i].setup.countersBase = state.previousCounters[i]
        }
        exportThread.carried = state.carried
        let noThread = SetupError(
            "cannot start a thread", fix: "raise the thread or memory limits (ulimit -u, ulimit -v)")
        guard exportThreadGroup.start(name: "flowtap-export", { [exportThread] in exportThread.run() }) else {
            throw noThread
        }
        for (i, (id, setup)) in setups.enumerated() {
            let cpu = cpus.isEmpty ? nil : cpus[i % cpus.count]
            let started = forwarding.start(name: "flowtap-\(id.direction == .aToB ? "a>b" : "b>a")\(id.queue)") {
                if let cpu { try? ProcessControl.pinThread(to: cpu) }
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
    package func stop() -> [(collector: CollectorAddress, statistics: ExportStatistics)] {
        for c in forwarderCommands { c.send(.stop) }
        forwarding.joinAll()
        exportCommand.send(.stop)
        exportThreadGroup.joinAll()
        return exportThread.statistics
    }

    /// Parks every thread for a handover: the forwarders leave the TAPs alone (frames queue in
    /// the kernel) with their flows settled in their tables (`emptied`: reported, for a
    /// successor that cannot read them); then the export thread sends every record and leaves
    /// the checkpoints. False, with everything running again, when a thread did not park in time.
    package func park(emptied: Bool) -> Bool {
        let command: ThreadCommand.Command = emptied ? .parkEmptied : .park
        for c in forwarderCommands { c.send(command) }
        guard forwarderCommands.allSatisfy({ $0.wait(for: command, timeoutMs: Self.commandTimeoutMs) }) else {
            resume()
            return false
        }
        exportCommand.send(command)
        guard exportCommand.wait(for: command, timeoutMs: Self.commandTimeoutMs) else {
            resume()
            return false
        }
        return true
    }

    /// After a park: everything runs again, the export thread first.
    package func resume() {
        exportCommand.send(.run)
        _ = exportCommand.wait(for: .run, timeoutMs: Self.commandTimeoutMs)
        for c in forwarderCommands { c.send(.run) }
        for c in forwarderCommands { _ = c.wait(for: .run, timeoutMs: Self.commandTimeoutMs) }
    }

    /// After a park and a successful handover: every thread ends without reporting a flow.
    package func quit() -> [(collector: CollectorAddress, statistics: ExportStatistics)] {
        for c in forwarderCommands { c.send(.quit) }
        forwarding.joinAll()
        exportCommand.send(.quit)
        exportThreadGroup.joinAll()
        return exportThread.statistics
    }
}

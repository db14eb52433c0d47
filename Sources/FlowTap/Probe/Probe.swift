import CFlowTapLinux
import Glibc
import Logging

/// What a run did, for the closing line.
public struct ProbeSummary: Sendable {
    public var tapA: String
    public var tapB: String
    public var aToB: ForwarderCounters
    public var bToA: ForwarderCounters
    public var export: ExportStatistics
    /// Per collector, in the order given.
    public var collectors: [(collector: CollectorAddress, statistics: ExportStatistics)] = []
    /// The signal that stopped the probe, or nil when a TAP failed.
    public var signal: CInt?

    public var flows: UInt64 { aToB.flowsCreated + bToA.flowsCreated }
    public var errors: UInt64 {
        aToB.writeErrors + bToA.writeErrors + aToB.readErrors + bToA.readErrors + export.sendErrors
            + aToB.recordsLost + bToA.recordsLost
    }

    /// One line: frames per direction, flows, records, messages, errors.
    public var line: String {
        let cause = signal.map { $0 == SIGINT ? "SIGINT" : $0 == SIGTERM ? "SIGTERM" : "signal \($0)" } ?? "a TAP failure"
        var s = "flowtap: stopped by \(cause): \(tapA)->\(tapB) \(aToB.frames) frames, \(tapB)->\(tapA) \(bToA.frames) frames; "
        s += "\(flows) flows, \(export.records) records in \(export.messages) messages to \(collectors.count) collector\(collectors.count == 1 ? "" : "s"); "
        s += "errors \(errors) (write \(aToB.writeErrors + bToA.writeErrors), send \(export.sendErrors), "
        s += "records lost \(aToB.recordsLost + bToA.recordsLost + export.recordsNotSent)); "
        s += "not metered: \(aToB.malformed + bToA.malformed) undecodable, \(aToB.nonIPUnmetered + bToA.nonIPUnmetered) non-IP, "
        s += "\(aToB.ownExport + bToA.ownExport) own export, \(aToB.sampledOut + bToA.sampledOut) sampled out; evicted \(aToB.evictions + bToA.evictions)"
        if aToB.gsoFrames + bToA.gsoFrames > 0 {
            s += "; GSO super-frames \(aToB.gsoFrames + bToA.gsoFrames) counted as \(aToB.gsoSegments + bToA.gsoSegments) segments"
        }
        if export.recordsNotExportable > 0 { s += "; not exportable in v5: \(export.recordsNotExportable)" }
        return s
    }

    /// One line per collector.
    public var collectorLines: [String] {
        collectors.map { c, st in
            "flowtap: \(c): \(st.records) records in \(st.messages) messages, \(st.bytes) bytes; send errors \(st.sendErrors), records not sent \(st.recordsNotSent), not exportable \(st.recordsNotExportable)"
        }
    }

    /// Counts per decode issue, for the log; empty when every frame decoded.
    public var issueLine: String {
        DecodeIssue.allCases.dropFirst().compactMap { issue in
            let n = aToB.issues[Int(issue.rawValue)] + bToA.issues[Int(issue.rawValue)]
            return n == 0 ? nil : "\(issue.name)=\(n)"
        }.joined(separator: " ")
    }
}

/// Wires the pipeline together and runs it until SIGINT/SIGTERM:
/// TAP a ⇄ TAP b (one forwarding thread per direction, each with its flow cache) → rings →
/// walker (encode IPFIX, NetFlow v9 or v5 per collector, send through raw sockets).
///
/// Shutdown order, so that no record is lost: the signal arrives through a signalfd; the
/// forwarders finish the frame in hand, push every remaining flow ("forced end") and stop; only
/// then is the walker told to drain, and it flushes everything before it returns.
public enum Probe {
    public static let ringCapacity = 65536

    public static func run(_ config: ProbeConfiguration, logger: Logger) throws(SetupError) -> ProbeSummary {
        try config.validate()
        // Threads inherit the mask: SIGINT/SIGTERM reach only the signalfd below.
        let blocked = cft_block_termination_signals()
        guard blocked == 0 else {
            throw SetupError("cannot block SIGINT/SIGTERM: \(SetupError.text(-blocked))", fix: "report this as a bug")
        }
        let signals = cft_termination_signalfd()
        guard signals >= 0 else {
            throw SetupError("cannot create a signalfd: \(SetupError.text(-signals))", fix: "raise the open-file limit (ulimit -n)")
        }
        defer { close(signals) }

        var queuesA: [TapDevice] = [], queuesB: [TapDevice] = []
        for _ in 0 ..< config.queues {
            queuesA.append(try TapDevice.attach(name: config.tapA, offload: config.offload, multiQueue: config.queues > 1))
            queuesB.append(try TapDevice.attach(name: config.tapB, offload: config.offload, multiQueue: config.queues > 1))
        }
        let tapA = queuesA[0], tapB = queuesB[0]
        if let cpu = config.cpus.first(where: { $0 >= Int(cft_usable_cpus()) }) {
            throw SetupError("--cpus names CPU \(cpu), and this process may use \(cft_usable_cpus()) CPUs",
                             fix: "give CPUs from 0 to \(cft_usable_cpus() - 1)")
        }
        for name in [tapA.name, tapB.name] where cft_link_is_up(name) != 1 {
            logger.warning("TAP \(name) is down: no frame crosses it until 'ip link set \(name) up'")
        }
        let systemInit = EncodingContext(systemInitMs: WallClock.nowMs())
        let sockets = try RawSockets(ipv4: config.collectors.contains { !$0.host.isIPv6 },
                                     ipv6: config.collectors.contains { $0.host.isIPv6 })
        // One forwarder per direction and queue: index 2q is a->b, 2q + 1 is b->a.
        let forwarders = 2 * config.queues
        let reports = (0 ..< forwarders).map { _ in ForwarderReport() }
        let totals: ProbeTotals = {
            let counters = reports.map(\.snapshot)
            return (counters.reduce(0) { $0 + $1.malformed + $1.nonIPUnmetered + $1.ownExport },
                    counters.reduce(0) { $0 + $1.recordsLost })
        }
        var ownExport = OwnExportFilter()
        var exporters: [any FlowExporter] = []
        var biflowExporters: [any FlowExporter] = []
        for collector in config.collectors {
            let source: IPAddress
            if let configured = config.source(for: collector) {
                source = configured
            } else {
                source = try RawSockets.sourceAddress(toward: collector.host, port: collector.port)
            }
            // The export source port is the collector's port, as VPP does.
            ownExport.add(source, port: collector.port)
            let sender = UDPSender(socket: sockets.descriptor(for: collector.host), source: source, sourcePort: collector.port,
                                   destination: collector.host, destinationPort: collector.port)
            func exporter<E: MessageEncoder>(_ encoder: E) -> any FlowExporter {
                CollectorExporter(collector: collector, encoder: encoder, sender: sender, mtu: config.mtu,
                                  templateRefreshSeconds: config.templateRefresh,
                                  templateRefreshPackets: config.templateRefreshPackets, sampling: config.sampling,
                                  probeTotals: totals, logger: logger)
            }
            switch collector.format {
            case .ipfix:
                let layouts = RecordLayout.layouts(for: config.records, dialect: .ipfix(timestamps: config.timestamps), biflow: config.biflow)
                let e = exporter(IPFIXEncoder(observationDomain: config.observationDomain, layouts: layouts, context: systemInit))
                if config.biflow { biflowExporters.append(e) } else { exporters.append(e) }
            case .v9:
                exporters.append(exporter(NetFlowV9Encoder(sourceID: config.observationDomain,
                                                           layouts: RecordLayout.layouts(for: config.records, dialect: .netflowV9),
                                                           context: systemInit)))
            case .v5:
                exporters.append(exporter(NetFlowV5Encoder(observationDomain: config.observationDomain, context: systemInit,
                                                           sampling: config.sampling)))
            }
            logger.info("exporting \(collector.format) \(config.records.names)\(config.biflow && collector.format == .ipfix ? " biflow" : "") records to \(collector.host.withPort(collector.port)) from \(source.withPort(collector.port))")
        }

        let stop = try Doorbell()
        let drain = try Doorbell()
        let failed = try Doorbell()
        let rings = (0 ..< forwarders).map { _ in RecordRing(capacity: ringCapacity) }
        let assembler = config.biflow
            ? BiflowAssembler(memorySeconds: max(config.idleTimeout, config.activeTimeout) + 5) : nil
        let walker = Walker(rings: rings, exporters: exporters, biflowExporters: biflowExporters, biflow: assembler, drain: drain)
        let policy = ExpiryPolicy(idleTimeoutSeconds: config.idleTimeout, activeTimeoutSeconds: config.activeTimeout)
        let exportFilter = ownExport
        func setup(_ i: Int, from a: TapDevice, to b: TapDevice) -> ForwarderSetup {
            ForwarderSetup(name: "\(a.name)->\(b.name)", input: a.descriptor.rawValue, output: b.descriptor.rawValue,
                           // Observed as on tap-a: what enters from it is ingress, what leaves toward it egress.
                           point: ObservationPoint(ingressInterface: a.ifIndex, egressInterface: b.ifIndex, direction: UInt8(i % 2)),
                           records: config.records, policy: policy, maxFlows: config.maxFlows, sampling: config.sampling,
                           vnetHeader: config.offload ? TapDevice.vnetHeaderSize : 0,
                           ownExport: exportFilter,
                           ring: rings[i], report: reports[i], stop: stop, failed: failed, logger: logger)
        }
        let setups = (0 ..< forwarders).map { i in
            i % 2 == 0 ? setup(i, from: queuesA[i / 2], to: queuesB[i / 2]) : setup(i, from: queuesB[i / 2], to: queuesA[i / 2])
        }

        let noThread = SetupError("cannot start a thread", fix: "raise the thread or memory limits (ulimit -u, ulimit -v)")
        guard let walkerThread = PosixThread(name: "flowtap-walker", { walker.run() }) else { throw noThread }
        let forwarding = ThreadGroup()
        for (i, setup) in setups.enumerated() {
            let cpu = config.cpus.isEmpty ? nil : config.cpus[i % config.cpus.count]
            let started = forwarding.start(name: "flowtap-\(i % 2 == 0 ? "a>b" : "b>a")\(i / 2)") {
                if let cpu { _ = cft_pin_thread(CInt(cpu)) }
                var f = Forwarder(setup)
                f.run()
            }
            if !started {
                stop.ring()
                forwarding.joinAll()
                rings[i...].forEach { $0.finish() }
                drain.ring()
                walkerThread.join()
                throw noThread
            }
        }
        logger.info("forwarding \(tapA.name) (ifindex \(tapA.ifIndex)) <-> \(tapB.name) (ifindex \(tapB.ifIndex)), \(config.queues) queue\(config.queues == 1 ? "" : "s"), observation domain \(config.observationDomain)")

        var signal: CInt?
        while signal == nil && !failed.isRung {
            _ = SystemCall.pollReadable(signals, failed.descriptor, timeoutMs: -1)
            let s = cft_signalfd_read(signals)
            if s > 0 { signal = CInt(s) }
        }
        logger.info("stopping: exporting every flow still in the caches")
        stop.ring()
        forwarding.joinAll()
        drain.ring()
        walkerThread.join()
        let perCollector = config.collectors.compactMap { c in walker.statistics.first { $0.collector == c } }
        withExtendedLifetime(sockets) {}
        let export = perCollector.reduce(ExportStatistics()) { $0 + $1.statistics }
        let snapshots = reports.map(\.snapshot)
        let aToB = stride(from: 0, to: forwarders, by: 2).map { snapshots[$0] }.reduce(ForwarderCounters(), +)
        let bToA = stride(from: 1, to: forwarders, by: 2).map { snapshots[$0] }.reduce(ForwarderCounters(), +)
        withExtendedLifetime((queuesA, queuesB)) {}
        return ProbeSummary(tapA: tapA.name, tapB: tapB.name, aToB: aToB, bToA: bToA,
                            export: export, collectors: perCollector, signal: signal)
    }
}

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
    /// The signal that stopped the probe, or nil when a TAP failed.
    public var signal: CInt?

    public var flows: UInt64 { aToB.flowsCreated + bToA.flowsCreated }
    public var errors: UInt64 {
        aToB.writeErrors + bToA.writeErrors + aToB.readErrors + bToA.readErrors + export.sendErrors
            + aToB.recordsLost + bToA.recordsLost + export.recordsUnexportable
    }

    /// One line: frames per direction, flows, records, messages, errors.
    public var line: String {
        let cause = signal.map { $0 == SIGINT ? "SIGINT" : $0 == SIGTERM ? "SIGTERM" : "signal \($0)" } ?? "a TAP failure"
        var s = "flowtap: stopped by \(cause): \(tapA)->\(tapB) \(aToB.frames) frames, \(tapB)->\(tapA) \(bToA.frames) frames; "
        s += "\(flows) flows, \(export.records) records in \(export.messages) messages; "
        s += "errors \(errors) (write \(aToB.writeErrors + bToA.writeErrors), send \(export.sendErrors), "
        s += "records lost \(aToB.recordsLost + bToA.recordsLost + export.recordsNotSent)); "
        s += "not metered: \(aToB.malformed + bToA.malformed) undecodable, \(aToB.nonIPUnmetered + bToA.nonIPUnmetered) non-IP, "
        s += "\(aToB.ownExport + bToA.ownExport) own export; evicted \(aToB.evictions + bToA.evictions)"
        return s
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
/// walker (encode IPFIX, send through the raw socket).
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

        let tapA = try TapDevice.attach(name: config.tapA)
        let tapB = try TapDevice.attach(name: config.tapB)
        for name in [tapA.name, tapB.name] where cft_link_is_up(name) != 1 {
            logger.warning("TAP \(name) is down: no frame crosses it until 'ip link set \(name) up'")
        }
        let socket = try RawSocket.openIPv4()
        let source: IPv4Address
        if let configured = config.source {
            source = configured
        } else {
            source = try RawSocket.sourceAddress(toward: config.collector.host, port: config.collector.port)
        }
        let sourcePort = config.collector.port
        let sender = IPv4UDPSender(socket: socket.descriptor.rawValue, source: source, sourcePort: sourcePort,
                                   destination: config.collector.host, destinationPort: config.collector.port)
        let encoder = IPFIXEncoder(observationDomain: config.observationDomain,
                                   layouts: RecordLayout.layouts(for: config.records))
        let exporter = CollectorExporter(encoder: encoder, sender: sender, mtu: config.mtu,
                                         templateRefreshSeconds: config.templateRefresh, logger: logger)

        let stop = try Doorbell()
        let drain = try Doorbell()
        let failed = try Doorbell()
        let rings = [RecordRing(capacity: ringCapacity), RecordRing(capacity: ringCapacity)]
        let reports = [ForwarderReport(), ForwarderReport()]
        let walker = Walker(rings: rings, exporters: [exporter], drain: drain)
        let policy = ExpiryPolicy(idleTimeoutSeconds: config.idleTimeout, activeTimeoutSeconds: config.activeTimeout)
        let ownExport = OwnExportFilter(source: source, sourcePort: sourcePort)
        func setup(_ i: Int, from a: borrowing TapDevice, to b: borrowing TapDevice) -> ForwarderSetup {
            ForwarderSetup(name: "\(a.name)->\(b.name)", input: a.descriptor.rawValue, output: b.descriptor.rawValue,
                           // Observed as on tap-a: what enters from it is ingress, what leaves toward it egress.
                           point: ObservationPoint(ingressInterface: a.ifIndex, egressInterface: b.ifIndex, direction: UInt8(i)),
                           records: config.records, policy: policy, maxFlows: config.maxFlows, ownExport: ownExport,
                           ring: rings[i], report: reports[i], stop: stop, failed: failed, logger: logger)
        }
        let setups = [setup(0, from: tapA, to: tapB), setup(1, from: tapB, to: tapA)]

        let noThread = SetupError("cannot start a thread", fix: "raise the thread or memory limits (ulimit -u, ulimit -v)")
        guard let walkerThread = PosixThread(name: "flowtap-walker", { walker.run() }) else { throw noThread }
        guard let forwardAB = PosixThread(name: "flowtap-a>b", { var f = Forwarder(setups[0]); f.run() }) else {
            rings.forEach { $0.finish() }
            drain.ring()
            walkerThread.join()
            throw noThread
        }
        guard let forwardBA = PosixThread(name: "flowtap-b>a", { var f = Forwarder(setups[1]); f.run() }) else {
            stop.ring()
            forwardAB.join()
            rings[1].finish()
            drain.ring()
            walkerThread.join()
            throw noThread
        }
        logger.info("forwarding \(tapA.name) (ifindex \(tapA.ifIndex)) <-> \(tapB.name) (ifindex \(tapB.ifIndex)); exporting IPFIX \(config.records.names) records to \(config.collector) from \(source):\(sourcePort), observation domain \(config.observationDomain)")

        var signal: CInt?
        while signal == nil && !failed.isRung {
            _ = SystemCall.pollReadable(signals, failed.descriptor, timeoutMs: -1)
            let s = cft_signalfd_read(signals)
            if s > 0 { signal = CInt(s) }
        }
        logger.info("stopping: exporting every flow still in the caches")
        stop.ring()
        forwardAB.join()
        forwardBA.join()
        drain.ring()
        walkerThread.join()
        let export = walker.statistics.reduce(ExportStatistics()) { $0 + $1.statistics }
        return ProbeSummary(tapA: tapA.name, tapB: tapB.name, aToB: reports[0].snapshot, bToA: reports[1].snapshot,
                            export: export, signal: signal)
    }
}

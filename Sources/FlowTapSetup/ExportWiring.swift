import FlowTapBase
import FlowTapDecode
import FlowTapEncode
import FlowTapExport
import FlowTapMeter
import FlowTapSend
import Logging

/// The export side, opened before privileges are dropped: the raw sockets, one exporter per
/// collector (with its encoder, sender and source address), and the filter that tells our own
/// export datagrams on the wire.
package final class ExportWiring {
    package let sockets: RawSockets
    /// Collectors of uniflow records, and (with `--biflow`) of assembled biflow records.
    var exporters: [any FlowExporter] = []
    var biflowExporters: [any FlowExporter] = []
    var ownExport = OwnExportFilter()
    /// Each collector's ICMP error socket, by the name a successor takes it by.
    package var errorSockets: [(name: String, socket: CollectorErrors)] = []

    /// `inherited`: the raw and ICMP sockets a previous flowtap made, taken where they fit.
    /// `systemInitMs`: the exporting process's start as the collectors know it (kept across a
    /// handover, so that NetFlow v9 uptimes go on).
    package init(
        _ config: ProbeConfiguration, reports: [ForwarderReport], inherited: InheritedDescriptors?,
        systemInitMs: UInt64,
        logger: Logger
    ) throws(SetupError) {
        for source in config.sources { try RawSockets.checkLocal(source) }
        sockets = try RawSockets(
            ipv4: config.collectors.contains { !$0.host.isIPv6 },
            ipv6: config.collectors.contains { $0.host.isIPv6 },
            inherited: (inherited?.take(DescriptorNames.raw4), inherited?.take(DescriptorNames.raw6)))
        let systemInit = EncodingContext(systemInitMs: systemInitMs)
        let totals: ProbeTotals = {
            let counters = reports.map(\.snapshot)
            return (
                counters.reduce(0) { $0 + $1.malformed + $1.nonIPUnmetered + $1.ownExport },
                counters.reduce(0) { $0 + $1.recordsLost }
            )
        }
        var senders: [(UDPSender, CollectorErrors?)] = []
        for collector in config.collectors {
            let source: IPAddress
            if let configured = config.source(for: collector) {
                source = configured
            } else {
                source = try RawSockets.sourceAddress(toward: collector.host, port: collector.port)
            }
            // The export source port is the collector's port, as VPP does.
            ownExport.add(
                source: source, sourcePort: collector.port, destination: collector.host, destinationPort: collector.port
            )
            let sender = UDPSender(
                socket: sockets.descriptor(for: collector.host), source: source, sourcePort: collector.port,
                destination: collector.host, destinationPort: collector.port)
            let errorsName = CollectorErrors.name(
                source: source, sourcePort: collector.port, destination: collector.host, destinationPort: collector.port
            )
            let errors =
                if let fd = inherited?.take(errorsName) {
                    CollectorErrors(adopting: fd)
                } else {
                    CollectorErrors(
                        source: source, sourcePort: collector.port, destination: collector.host,
                        destinationPort: collector.port)
                }
            if let errors, !errorSockets.contains(where: { $0.name == errorsName }) {
                errorSockets.append((errorsName, errors))
            }
            if errors == nil {
                logger.warning(
                    "cannot watch for ICMP errors from \(collector.host.withPort(collector.port)) (the source port \(collector.port) is taken on \(source)); export goes on without them"
                )
            }
            senders.append((sender, errors))
            logger.info(
                "exporting \(collector.format) \(config.records.names)\(config.biflow && collector.format == .ipfix ? " biflow" : "") records to \(collector.host.withPort(collector.port)) from \(source.withPort(collector.port))"
            )
        }
        let files = config.output.map { OutputFiles(path: $0, rotateSeconds: config.outputRotate) }
        let made = Self.exporters(
            config, senders: senders, output: files, context: systemInit, totals: totals, logger: logger)
        (exporters, biflowExporters) = (made.uniflow, made.biflow)
        if let files, let exporter = made.output {
            output = (files, exporter)
            logger.info(
                "writing IPFIX \(config.records.names) records to \(files.path)\(config.outputRotate > 0 ? ".YYYYmmddHHMMSS, a new file every \(config.outputRotate) s" : "")"
            )
        }
    }

    /// `--output`: the files and the exporter that writes them (IPFIX, messages up to 65535
    /// bytes), one of `exporters` (or `biflowExporters`).
    package var output: (files: OutputFiles, exporter: any FlowExporter)?

    var allExporters: [any FlowExporter] { exporters + biflowExporters }

    /// The exporters of `config`: one per collector over its sender (in `config.collectors`'
    /// order, with its ICMP error socket if any), and one for the output file; split into
    /// those of uniflow records and those of assembled biflow records. `run` and `read` both
    /// build theirs here, over their own senders (raw sockets; paced UDP sockets).
    package static func exporters<T: MessageTransport>(
        _ config: ProbeConfiguration, senders: [(T, CollectorErrors?)],
        output: OutputFiles?, context: EncodingContext, totals: @escaping ProbeTotals,
        logger: Logger, wallClockMs: @escaping () -> UInt64 = WallClock.nowMs
    )
        -> (uniflow: [any FlowExporter], biflow: [any FlowExporter], output: (any FlowExporter)?)
    {
        var uniflow: [any FlowExporter] = [], biflow: [any FlowExporter] = []
        func add(_ e: (exporter: any FlowExporter, biflow: Bool)) -> any FlowExporter {
            if e.biflow { biflow.append(e.exporter) } else { uniflow.append(e.exporter) }
            return e.exporter
        }
        for (collector, (sender, errors)) in zip(config.collectors, senders) {
            _ = add(
                exporter(
                    for: collector, sender: sender, mtu: config.mtu, config, context: context, totals: totals,
                    logger: logger,
                    errors: errors, wallClockMs: wallClockMs))
        }
        // A file takes IPFIX messages as large as IPFIX allows.
        let file = output.map { files in
            add(
                exporter(
                    for: CollectorAddress(file: files.path), sender: OutputTransport(files), mtu: 65535, config,
                    context: context,
                    totals: totals, logger: logger, wallClockMs: wallClockMs))
        }
        return (uniflow, biflow, file)
    }

    /// With `--biflow`, what pairs the two directions' records: it holds a record at most the
    /// longer timeout and 5 s more, and no more records than `tables` flow tables of
    /// `--max-flows` can have waiting at once.
    package static func assembler(_ config: ProbeConfiguration, tables: Int) -> BiflowAssembler? {
        config.biflow
            ? BiflowAssembler(
                memorySeconds: max(config.idleTimeout, config.activeTimeout) + 5, capacity: config.maxFlows * tables)
            : nil
    }

    /// One collector's exporter: its format's encoder with the configured records, over
    /// `sender`. `biflow`: it takes assembled biflow records (an IPFIX collector with
    /// `--biflow`). `run` and `read` both build theirs here.
    package static func exporter<T: MessageTransport>(
        for collector: CollectorAddress, sender: T, mtu: Int, _ config: ProbeConfiguration,
        context: EncodingContext, totals: @escaping ProbeTotals, logger: Logger,
        errors: CollectorErrors? = nil,
        wallClockMs: @escaping () -> UInt64 = WallClock.nowMs
    ) -> (exporter: any FlowExporter, biflow: Bool) {
        func exporter<E: MessageEncoder>(_ encoder: E) -> any FlowExporter {
            CollectorExporter(
                collector: collector, encoder: encoder, sender: sender, mtu: mtu,
                templateRefreshSeconds: config.templateRefresh,
                templateRefreshPackets: config.templateRefreshPackets, sampling: config.sampling,
                probeTotals: totals, logger: logger, wallClockMs: wallClockMs, errors: errors)
        }
        switch collector.format {
        case .ipfix:
            let layouts = RecordLayout.layouts(
                for: config.records, dialect: .ipfix(timestamps: config.timestamps), biflow: config.biflow,
                tcpInsight: config.ipfixNtop)
            return (
                exporter(
                    IPFIXEncoder(
                        observationDomain: config.observationDomain, layouts: layouts, context: context,
                        applications: config.appFields)),
                config.biflow
            )
        case .v9:
            return (
                exporter(
                    NetFlowV9Encoder(
                        sourceID: config.observationDomain,
                        layouts: RecordLayout.layouts(for: config.records, dialect: .netflowV9, tcpInsight: true),
                        context: context, applications: config.appFields)), false
            )
        case .v5:
            return (
                exporter(
                    NetFlowV5Encoder(
                        observationDomain: config.observationDomain, context: context, sampling: config.sampling)),
                false
            )
        }
    }

    /// Gives each exporter its checkpoint slot in `state`, going on from the previous
    /// process's checkpoint of the same collector where there is one. Returns how many went on.
    @discardableResult
    package func attach(_ state: StateRegion) -> Int {
        var resumed = 0
        let all = allExporters
        let previous = all.map { state.previousCheckpoint(of: $0.collector) }
        let slots = state.checkpointSlots(all.count)
        for (i, exporter) in all.enumerated() {
            if let p = previous[i] {
                exporter.resume(from: p)
                resumed += 1
            }
            if i < slots.count {
                exporter.checkpointSlot = slots[i]
                slots[i].pointee = exporter.checkpoint
            }
        }
        return resumed
    }
}

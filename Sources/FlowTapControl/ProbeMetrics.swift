import FlowTapDecode
import FlowTapInspect
import FlowTapMeter
import Prometheus
import Synchronization

/// `--metrics`: what `show stats` reports, as Prometheus metrics (text exposition by
/// swift-prometheus). Every scrape reads the counters the forwarders and the export thread publish
/// (the same snapshots the control socket reads; nothing touches a forwarder) and brings the
/// registry up to them. swift-prometheus counters only go up, which ours do too: each series
/// is raised by what its source counted since the previous scrape.
///
/// Names follow the Prometheus conventions: `flowtap_` prefix, base units (bytes, seconds),
/// `_total` on counters. Labels: `direction` ("tapa->tapb"), `queue`, `reason`, `collector`.
public final class ProbeMetrics: Sendable {
    let context: ControlContext
    let registry = PrometheusCollectorRegistry()
    /// Each counter series with the source value it was last raised to, by name and labels.
    let counters = Mutex<[String: (counter: Counter, value: UInt64)]>([:])
    let gauges = Mutex<[String: Gauge]>([:])

    public init(context: ControlContext) {
        self.context = context
    }

    /// One scrape: the registry brought up to date, in the text format (version 0.0.4).
    public func scrape() -> [UInt8] {
        for sample in samples() { record(sample) }
        return registry.emitToBuffer()
    }

    /// One series: a metric's name, help text, kind, labels and current value.
    public struct Sample: Sendable {
        public var name: String
        public var help: String
        public var isCounter: Bool
        public var labels: [(String, String)]
        public var value: UInt64
    }

    /// Each metric's kind and help text (swift-prometheus wants one text per name).
    public static let metrics: [String: (isCounter: Bool, help: String)] = [
        "frames_total": (
            true,
            "Frames read from the direction's input TAP and written to the other, GSO super-frames counted once per frame read."
        ),
        "bytes_total": (true, "Bytes of those frames, Ethernet header included."),
        "write_errors_total": (true, "Frames the output TAP refused (the link is down, or the TAP went away)."),
        "read_errors_total": (true, "Failed reads from the input TAP."),
        "frames_metered_total": (true, "Frames counted in a flow."),
        "frames_not_metered_total": (true, "Frames forwarded but not counted in any flow, by reason."),
        "gso_segments_total": (true, "With --offload: the wire segments GSO super-frames were counted as."),
        "frames_undecodable_total": (true, "Frames forwarded but not metered because they do not decode, by reason."),
        "flows_active": (false, "Flows in the cache now."),
        "flows_peak": (false, "The most flows the cache has held at once."),
        "flows_created_total": (true, "Flows created in the cache."),
        "flow_evictions_total": (
            true, "Flows ended early because the cache set was full (exported with reason lack_of_resources)."
        ),
        "records_total": (true, "Flow records handed to the export thread, by flowEndReason."),
        "application_records_total": (
            true,
            "Flow records made, by the application the flow's first bytes named (none: not recognised, or --app-fields off)."
        ),
        "application_inspect_failures_total": (
            true, "Flows whose first bytes a parser gave up on (no fields, no label), by reason."
        ),
        "application_details_lost_total": (
            true,
            "Records whose application fields found the ring to the export thread full (sent with the label alone)."
        ),
        "application_details_without_room_total": (
            true,
            "Records whose application fields found the export thread's store full and the memory to grow it refused (sent with the label alone)."
        ),
        "application_labels": (false, "Slots for the application fields of flows (the label pool)."),
        "application_labels_in_use": (false, "Label slots held by flows now."),
        "application_labels_exhausted_total": (
            true, "Flows recognised when every label slot was held (their records carry the label without fields)."
        ),
        "reassembly_buffers": (false, "Buffers for first messages that span several segments (8 KiB each)."),
        "reassembly_buffers_in_use": (false, "Reassembly buffers held by flows now."),
        "reassembly_exhausted_total": (
            true, "Flows whose first message needed a reassembly buffer when every one was held (left unnamed)."
        ),
        "quic_decryptions_total": (
            true,
            "QUIC Initial packets opened to read a ClientHello (done), and openings the per-second budget skipped (skipped; their flows go unnamed)."
        ),
        "records_lost_total": (true, "Flow records lost because the ring to the export thread was full."),
        "reset_notices_total": (
            true,
            "Notices of a connection reset from the other direction of the queue: that closed a flow here, that found none, and (lost) this direction's that found the other's ring full."
        ),
        "fragments_held": (false, "IP fragments held until their first fragment names the ports."),
        "fragments_total": (
            true, "IP fragments, by whether their first fragment came (attributed) or not (unattributed)."
        ),
        "kernel_drops_total": (
            true, "Frames the kernel dropped at the input TAP's queue before flowtap read them (tx_dropped)."
        ),
        "export_messages_total": (true, "Export messages sent, templates and options included."),
        "export_records_total": (true, "Flow records in the messages sent."),
        "export_bytes_total": (true, "Bytes of the messages sent, without IP and UDP headers."),
        "export_send_errors_total": (true, "Sends that failed."),
        "export_icmp_errors_total": (
            true,
            "ICMP errors the network returned for export datagrams (port unreachable: the collector is not listening)."
        ),
        "export_records_lost_total": (
            true, "Flow records in messages that were not sent or that the collector's side refused."
        ),
        "export_records_not_exportable_total": (
            true, "Flow records this collector's format cannot carry (IPv6 and non-IP in NetFlow v5)."
        ),
        "export_messages_overflowed_total": (true, "Messages an encoder overfilled, dropped and never sent."),
        "export_queue_messages": (false, "Messages waiting in the send queue."),
        "export_last_error_timestamp_seconds": (
            false, "When the last send error or ICMP error came, in seconds since the epoch; 0 if none."
        )
    ]

    /// Every series, from the published counters.
    public func samples() -> [Sample] {
        var out: [Sample] = []
        func add(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
            let (isCounter, help) = Self.metrics[name] ?? (false, "")
            out.append(Sample(name: "flowtap_" + name, help: help, isCounter: isCounter, labels: labels, value: value))
        }
        var dropsReported = Set<String>()
        for d in context.directions {
            let c = d.report.snapshot
            let l = [("direction", d.name), ("queue", String(d.queue))]
            add("frames_total", l, c.frames)
            add("bytes_total", l, c.bytes)
            add("write_errors_total", l, c.writeErrors)
            add("read_errors_total", l, c.readErrors)
            add("frames_metered_total", l, c.metered)
            add("frames_not_metered_total", l + [("reason", "non_ip")], c.nonIPUnmetered)
            add("frames_not_metered_total", l + [("reason", "own_export")], c.ownExport)
            add("frames_not_metered_total", l + [("reason", "sampled_out")], c.sampledOut)
            add("gso_segments_total", l, c.gsoSegments)
            for issue in DecodeIssue.allCases.dropFirst() {
                add("frames_undecodable_total", l + [("reason", issue.name)], c.issues[Int(issue.rawValue)])
            }
            add("flows_active", l, c.liveFlows)
            add("flows_peak", l, c.peakFlows)
            add("flows_created_total", l, c.flowsCreated)
            add("flow_evictions_total", l, c.evictions)
            for reason in FlowEndReason.allCases {
                add("records_total", l + [("reason", reason.label)], c.recordsByReason[Int(reason.rawValue)])
            }
            add("records_lost_total", l, c.recordsLost)
            for app in ApplicationID.allCases {
                add(
                    "application_records_total", l + [("application", app.name)],
                    c.recordsByApplication[Int(app.rawValue)])
            }
            for issue in InspectIssue.allCases.dropFirst() {
                add(
                    "application_inspect_failures_total", l + [("reason", issue.name)],
                    c.inspectIssues[Int(issue.rawValue)])
            }
            add("application_details_lost_total", l, c.detailsLost)
            add("application_labels", l, c.labels)
            add("application_labels_in_use", l, c.labelsInUse)
            add("application_labels_exhausted_total", l, c.labelsExhausted)
            add("reassembly_buffers", l, c.reassemblyBuffers)
            add("reassembly_buffers_in_use", l, c.reassemblyInUse)
            add("reassembly_exhausted_total", l, c.reassemblyExhausted)
            add("quic_decryptions_total", l + [("outcome", "done")], c.quicDecryptions)
            add("quic_decryptions_total", l + [("outcome", "skipped")], c.quicDecryptionsSkipped)
            add("fragments_held", l, c.fragmentsHeld)
            add("reset_notices_total", l + [("outcome", "closed")], c.peerResetsClosed)
            add("reset_notices_total", l + [("outcome", "unmatched")], c.peerResetsUnmatched)
            add("reset_notices_total", l + [("outcome", "lost")], c.resetNoticesLost)
            add("fragments_total", l + [("outcome", "attributed")], c.fragmentsAttributed)
            add("fragments_total", l + [("outcome", "unattributed")], c.fragmentsUnattributed)
            // One TAP queue's drops for the whole direction: the counter is the TAP's, not a queue's.
            if let drops = d.kernelDrops, dropsReported.insert(d.name).inserted {
                add("kernel_drops_total", [("direction", d.name)], drops.value)
            }
        }
        add("application_details_without_room_total", [], context.export.detailsWithoutRoom)
        for (collector, s) in context.export.publishedStatistics {
            let l = [("collector", collector.description)]
            add("export_messages_total", l, s.messages)
            add("export_records_total", l, s.records)
            add("export_bytes_total", l, s.bytes)
            add("export_send_errors_total", l, s.sendErrors)
            add("export_icmp_errors_total", l, s.icmpErrors)
            add("export_records_lost_total", l, s.recordsNotSent)
            add("export_records_not_exportable_total", l, s.recordsNotExportable)
            add("export_messages_overflowed_total", l, s.overflowedMessages)
            add("export_queue_messages", l, s.queued)
            add("export_last_error_timestamp_seconds", l, s.lastErrorMs / 1000)
        }
        return out
    }

    func record(_ s: Sample) {
        let id = s.name + "{" + s.labels.map { $0.0 + "=" + $0.1 }.joined(separator: ",") + "}"
        if s.isCounter {
            counters.withLock { all in
                let entry = all[id] ?? (registry.makeCounter(descriptor: descriptor(s), labels: s.labels), 0)
                if s.value > entry.value { entry.counter.increment(by: Int64(clamping: s.value - entry.value)) }
                all[id] = (entry.counter, max(s.value, entry.value))
            }
        } else {
            gauges.withLock { all in
                let gauge = all[id] ?? registry.makeGauge(descriptor: descriptor(s), labels: s.labels)
                all[id] = gauge
                gauge.set(Double(s.value))
            }
        }
    }

    func descriptor(_ s: Sample) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: s.name, unitName: "", helpText: s.help)
    }
}

extension FlowEndReason {
    /// The `reason` label: IPFIX's flowEndReason names (RFC 5102), in snake case.
    public var label: String {
        switch self {
        case .idleTimeout: "idle_timeout"
        case .activeTimeout: "active_timeout"
        case .endOfFlowDetected: "end_of_flow"
        case .forcedEnd: "forced_end"
        case .lackOfResources: "lack_of_resources"
        }
    }
}

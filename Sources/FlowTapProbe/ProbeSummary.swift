import FlowTapBase
import FlowTapDecode
import FlowTapExport
import FlowTapMeter
import FlowTapSend
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
    /// How the run ended: a signal, a TAP failure, a handover or a reload.
    public var ending: Probe.Ending
    /// The signal that stopped the probe, if one did.
    public var signal: CInt? { if case .signal(let s) = ending { s } else { nil } }

    public var flows: UInt64 { aToB.flowsCreated + bToA.flowsCreated }
    /// Collectors over the network; `--output` files have a line of their own.
    var networkCollectors: Int { collectors.filter { $0.collector.file == nil }.count }
    public var errors: UInt64 {
        aToB.writeErrors + bToA.writeErrors + aToB.readErrors + bToA.readErrors + export.sendErrors
            + aToB.recordsLost + bToA.recordsLost
    }

    /// One line: frames per direction, flows, records, messages, errors.
    public var line: String {
        var s: String
        switch ending {
        case .signal(let signal): s = "flowtap: stopped by \(SignalInbox.name(signal)): "
        case .failure: s = "flowtap: stopped by a TAP failure: "
        case .handedOver(let pid): s = "flowtap: handed over to PID \(pid), which goes on with the TAPs and the flows: "
        case .reloading: s = "flowtap: parked for a reload, the TAPs and the flows in the service manager's fd store: "
        }
        s += "\(tapA)->\(tapB) \(aToB.frames) frames, \(tapB)->\(tapA) \(bToA.frames) frames; "
        s +=
            "\(flows) flows, \(export.records) records in \(export.messages) messages to \(networkCollectors) collector\(networkCollectors == 1 ? "" : "s"); "
        s += "errors \(errors) (write \(aToB.writeErrors + bToA.writeErrors), send \(export.sendErrors), "
        s += "records lost \(aToB.recordsLost + bToA.recordsLost + export.recordsNotSent)); "
        s +=
            "not metered: \(aToB.malformed + bToA.malformed) undecodable, \(aToB.nonIPUnmetered + bToA.nonIPUnmetered) non-IP, "
        s +=
            "\(aToB.ownExport + bToA.ownExport) own export, \(aToB.sampledOut + bToA.sampledOut) sampled out; evicted \(aToB.evictions + bToA.evictions)"
        if aToB.gsoFrames + bToA.gsoFrames > 0 {
            s +=
                "; GSO super-frames \(aToB.gsoFrames + bToA.gsoFrames) counted as \(aToB.gsoSegments + bToA.gsoSegments) segments"
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
    public var issueLine: String { Self.issueLine(aToB + bToA) }

    /// `name=count` for each decode issue counted, as the exit line names them (`run` and `read`).
    public static func issueLine(_ counters: ForwarderCounters) -> String {
        DecodeIssue.allCases.dropFirst().compactMap { issue in
            let n = counters.issues[Int(issue.rawValue)]
            return n == 0 ? nil : "\(issue.name)=\(n)"
        }.joined(separator: " ")
    }
}

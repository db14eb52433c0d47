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
        let cause = signal.map(SignalInbox.name) ?? "a TAP failure"
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


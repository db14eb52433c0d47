import FlowTapDecode
import Synchronization

/// What one forwarding direction has done. The forwarder keeps these in its own memory and
/// publishes a copy every housekeeping tick (10 ms), so the per-frame path touches no shared
/// cache line.
public struct ForwarderCounters: Sendable {
    public var frames: UInt64 = 0
    public var bytes: UInt64 = 0
    public var writeErrors: UInt64 = 0
    public var readErrors: UInt64 = 0
    /// Frames that updated a flow, whole.
    public var metered: UInt64 = 0
    /// A capture's packets cut by its snap length that updated a flow by their IP length
    /// (`flowtap read`; a live frame is always whole).
    public var snapped: UInt64 = 0
    /// Non-IP frames, forwarded but not metered because L2 is not recorded.
    public var nonIPUnmetered: UInt64 = 0
    /// flowtap's own export packets seen on the wire, never metered.
    public var ownExport: UInt64 = 0
    /// Packets `--sample` left out of metering (forwarded all the same).
    public var sampledOut: UInt64 = 0
    /// With `--offload`: GSO super-frames read, and the wire segments they were counted as.
    public var gsoFrames: UInt64 = 0
    public var gsoSegments: UInt64 = 0
    /// Frames forwarded but not metered, per `DecodeIssue.rawValue`.
    public var issues = InlineArray<32, UInt64>(repeating: 0)
    public var flowsCreated: UInt64 = 0
    public var evictions: UInt64 = 0
    public var liveFlows: UInt64 = 0
    public var recordsQueued: UInt64 = 0
    /// Records lost because the ring to the export thread was full when a flow had to end at once.
    public var recordsLost: UInt64 = 0
    /// IP fragments counted in their packet's transport flow, and those whose first fragment
    /// never came (counted in a flow without ports).
    public var fragmentsAttributed: UInt64 = 0
    public var fragmentsUnattributed: UInt64 = 0
    /// Packets the fragment table holds now, the largest number of live flows so far, and the
    /// records handed on per `FlowEndReason.rawValue`.
    public var fragmentsHeld: UInt64 = 0
    public var peakFlows: UInt64 = 0
    public var recordsByReason = InlineArray<8, UInt64>(repeating: 0)
    /// Reset notices to the other direction lost at its full ring; those received that closed
    /// a flow, and those that found no flow (`FlowCache.resetNotices`).
    public var resetNoticesLost: UInt64 = 0
    public var peerResetsClosed: UInt64 = 0
    public var peerResetsUnmatched: UInt64 = 0
    /// Naming flows (`ApplicationTable`): records made per `ApplicationID.rawValue`, parsers
    /// that gave up per `InspectIssue.rawValue`, fields that found the detail ring full; the
    /// label and reassembly pools' size, use now, and the times a flow found one empty.
    public var recordsByApplication = InlineArray<8, UInt64>(repeating: 0)
    public var inspectIssues = InlineArray<16, UInt64>(repeating: 0)
    public var detailsLost: UInt64 = 0
    public var labels: UInt64 = 0
    public var labelsInUse: UInt64 = 0
    public var labelsExhausted: UInt64 = 0
    public var reassemblyBuffers: UInt64 = 0
    public var reassemblyInUse: UInt64 = 0
    public var reassemblyExhausted: UInt64 = 0
    /// QUIC Initials opened, and openings the per-second budget skipped (their flows go
    /// unnamed).
    public var quicDecryptions: UInt64 = 0
    public var quicDecryptionsSkipped: UInt64 = 0

    public init() {}

    /// The counts of several queues of one direction, added up.
    public static func + (a: ForwarderCounters, b: ForwarderCounters) -> ForwarderCounters {
        var s = ForwarderCounters()
        s.frames = a.frames &+ b.frames
        s.bytes = a.bytes &+ b.bytes
        s.writeErrors = a.writeErrors &+ b.writeErrors
        s.readErrors = a.readErrors &+ b.readErrors
        s.metered = a.metered &+ b.metered
        s.snapped = a.snapped &+ b.snapped
        s.nonIPUnmetered = a.nonIPUnmetered &+ b.nonIPUnmetered
        s.ownExport = a.ownExport &+ b.ownExport
        s.sampledOut = a.sampledOut &+ b.sampledOut
        s.gsoFrames = a.gsoFrames &+ b.gsoFrames
        s.gsoSegments = a.gsoSegments &+ b.gsoSegments
        for i in s.issues.indices { s.issues[i] = a.issues[i] &+ b.issues[i] }
        s.flowsCreated = a.flowsCreated &+ b.flowsCreated
        s.evictions = a.evictions &+ b.evictions
        s.liveFlows = a.liveFlows &+ b.liveFlows
        s.recordsQueued = a.recordsQueued &+ b.recordsQueued
        s.recordsLost = a.recordsLost &+ b.recordsLost
        s.fragmentsAttributed = a.fragmentsAttributed &+ b.fragmentsAttributed
        s.fragmentsUnattributed = a.fragmentsUnattributed &+ b.fragmentsUnattributed
        s.fragmentsHeld = a.fragmentsHeld &+ b.fragmentsHeld
        s.peakFlows = a.peakFlows &+ b.peakFlows
        for i in s.recordsByReason.indices { s.recordsByReason[i] = a.recordsByReason[i] &+ b.recordsByReason[i] }
        s.resetNoticesLost = a.resetNoticesLost &+ b.resetNoticesLost
        s.peerResetsClosed = a.peerResetsClosed &+ b.peerResetsClosed
        s.peerResetsUnmatched = a.peerResetsUnmatched &+ b.peerResetsUnmatched
        for i in s.recordsByApplication.indices {
            s.recordsByApplication[i] = a.recordsByApplication[i] &+ b.recordsByApplication[i]
        }
        for i in s.inspectIssues.indices { s.inspectIssues[i] = a.inspectIssues[i] &+ b.inspectIssues[i] }
        s.detailsLost = a.detailsLost &+ b.detailsLost
        s.labels = a.labels &+ b.labels
        s.labelsInUse = a.labelsInUse &+ b.labelsInUse
        s.labelsExhausted = a.labelsExhausted &+ b.labelsExhausted
        s.reassemblyBuffers = a.reassemblyBuffers &+ b.reassemblyBuffers
        s.reassemblyInUse = a.reassemblyInUse &+ b.reassemblyInUse
        s.reassemblyExhausted = a.reassemblyExhausted &+ b.reassemblyExhausted
        s.quicDecryptions = a.quicDecryptions &+ b.quicDecryptions
        s.quicDecryptionsSkipped = a.quicDecryptionsSkipped &+ b.quicDecryptionsSkipped
        return s
    }

    public var malformed: UInt64 {
        var total: UInt64 = 0
        for i in issues.indices { total &+= issues[i] }
        return total
    }
}

/// The published copy of a forwarder's counters, and when it was last published: the
/// forwarder publishes at every housekeeping (at least every 50 ms, busy or idle), so that time
/// is its heartbeat for the service watchdog.
extension ForwarderCounters {
    /// These counts on top of those a previous process left (`base`): totals add up; the live
    /// flows, the held fragments, the pools and the peak are this table's now.
    public func carrying(_ base: ForwarderCounters) -> ForwarderCounters {
        var s = self + base
        s.liveFlows = liveFlows
        s.fragmentsHeld = fragmentsHeld
        s.labels = labels
        s.labelsInUse = labelsInUse
        s.reassemblyBuffers = reassemblyBuffers
        s.reassemblyInUse = reassemblyInUse
        s.peakFlows = max(peakFlows, base.peakFlows)
        return s
    }
}

public final class ForwarderReport: Sendable {
    private let counters = Mutex(ForwarderCounters())
    private let published = Atomic<UInt64>(0)

    public init() {}

    public func publish(_ value: ForwarderCounters, atMs now: UInt64) {
        counters.withLock { $0 = value }
        published.store(now, ordering: .releasing)
    }

    /// Monotonic milliseconds of the last publication; 0 before the first.
    public var heartbeatMs: UInt64 { published.load(ordering: .acquiring) }

    /// The forwarder's answer to flow query number `generation` (`flowtap show flows`).
    private let answer = Mutex<(generation: UInt64, flows: [FlowSnapshot])>((0, []))

    public func publishAnswer(_ generation: UInt64, _ flows: [FlowSnapshot]) {
        answer.withLock { $0 = (generation, flows) }
    }

    /// The answer to query `generation`, once the forwarder has given it.
    public func answer(to generation: UInt64) -> [FlowSnapshot]? {
        answer.withLock { $0.generation == generation ? $0.flows : nil }
    }

    public var snapshot: ForwarderCounters { counters.withLock { $0 } }
}

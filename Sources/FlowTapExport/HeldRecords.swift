import FlowTapMeter

/// Where the export thread leaves, at a handover's park, the records that wait for a partner
/// (the latency join's and the biflow pairing's), so that the successor adds them again and
/// pairs them with what its forwarders report: no connection's two records are split by a
/// handover. Memory the caller owns (the state memfd): `capacity` records, then nothing else;
/// the counts live in the caller's header.
///
/// Invariants: `records` holds `capacity` FlowRecords; the first `latency` of them are the
/// latency join's, the next `biflow` the pairing's, and `latency + biflow <= capacity`.
public struct HeldRecords: @unchecked Sendable {
    public let records: UnsafeMutablePointer<FlowRecord>
    public let capacity: Int
    let latency: UnsafeMutablePointer<UInt32>
    let biflow: UnsafeMutablePointer<UInt32>

    public init(
        records: UnsafeMutablePointer<FlowRecord>, capacity: Int, latencyCount: UnsafeMutablePointer<UInt32>,
        biflowCount: UnsafeMutablePointer<UInt32>
    ) {
        self.records = records
        self.capacity = capacity
        latency = latencyCount
        biflow = biflowCount
    }

    /// Keeps as many as fit, the latency join's first; returns the rest, which the caller sends
    /// as they are.
    public func keep(latency l: [FlowRecord], biflow b: [FlowRecord]) -> (
        latency: ArraySlice<FlowRecord>, biflow: ArraySlice<FlowRecord>
    ) {
        let nl = min(l.count, capacity), nb = min(b.count, capacity - nl)
        for (i, r) in l.prefix(nl).enumerated() { (records + i).initialize(to: r) }
        for (i, r) in b.prefix(nb).enumerated() { (records + nl + i).initialize(to: r) }
        latency.pointee = UInt32(nl)
        biflow.pointee = UInt32(nb)
        return (l.dropFirst(nl), b.dropFirst(nb))
    }

    /// What was kept, left in place: a successor reads it so, and should it die before it
    /// runs, the flowtap it was taking over from `take`s it back. Nothing when the counts are
    /// not sane.
    public func read() -> (latency: [FlowRecord], biflow: [FlowRecord]) {
        let nl = Int(latency.pointee), nb = Int(biflow.pointee)
        guard nl <= capacity, nb <= capacity - nl else { return ([], []) }
        return (
            Array(UnsafeBufferPointer(start: records, count: nl)),
            Array(UnsafeBufferPointer(start: records + nl, count: nb))
        )
    }

    /// What was kept, emptied.
    public func take() -> (latency: [FlowRecord], biflow: [FlowRecord]) {
        defer { clear() }
        return read()
    }

    /// Forgets what is kept (a crash left it: it is not what the export thread last held).
    public func clear() {
        latency.pointee = 0
        biflow.pointee = 0
    }
}

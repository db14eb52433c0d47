import FlowTapInspect
import FlowTapMeter

/// Where the export thread leaves, at a handover's park, the records that wait for a partner
/// (the latency join's and the biflow pairing's), with their application fields, so that the
/// successor adds them again and pairs them with what its forwarders report: no connection's
/// two records are split by a handover, and none loses its fields. Memory the caller owns
/// (the state memfd): `capacity` records, then `detailCapacity` fields; the counts live in the
/// caller's header.
///
/// Invariants: `records` holds `capacity` FlowRecords; the first `latency` of them are the
/// latency join's, the next `biflow` the pairing's, and `latency + biflow <= capacity`. A kept
/// record's `detailSerial` is 0, or 1 + the index of its fields in `details`.
public struct HeldRecords: @unchecked Sendable {
    /// A record and its fields, as the export thread holds them.
    public typealias Held = (record: FlowRecord, detail: ApplicationDetail?)

    public let records: UnsafeMutablePointer<FlowRecord>
    public let capacity: Int
    let details: UnsafeMutablePointer<ApplicationDetail>
    let detailCapacity: Int
    let latency: UnsafeMutablePointer<UInt32>
    let biflow: UnsafeMutablePointer<UInt32>

    public init(
        records: UnsafeMutablePointer<FlowRecord>, capacity: Int, details: UnsafeMutablePointer<ApplicationDetail>,
        detailCapacity: Int, latencyCount: UnsafeMutablePointer<UInt32>, biflowCount: UnsafeMutablePointer<UInt32>
    ) {
        self.records = records
        self.capacity = capacity
        self.details = details
        self.detailCapacity = detailCapacity
        latency = latencyCount
        biflow = biflowCount
    }

    /// Keeps as many as fit, the latency join's first, with their fields while there is room
    /// for them (after that without: as a crash would leave them); returns the rest, which the
    /// caller sends as they are.
    public func keep(latency l: [Held], biflow b: [Held]) -> (latency: ArraySlice<Held>, biflow: ArraySlice<Held>) {
        let nl = min(l.count, capacity), nb = min(b.count, capacity - nl)
        var used = 0
        func put(_ h: Held, at i: Int) {
            var r = h.record
            r.detailSerial = 0
            if let d = h.detail, used < detailCapacity {
                (details + used).initialize(to: d)
                used += 1
                r.detailSerial = UInt32(used)
            }
            (records + i).initialize(to: r)
        }
        for (i, h) in l.prefix(nl).enumerated() { put(h, at: i) }
        for (i, h) in b.prefix(nb).enumerated() { put(h, at: nl + i) }
        latency.pointee = UInt32(nl)
        biflow.pointee = UInt32(nb)
        return (l.dropFirst(nl), b.dropFirst(nb))
    }

    /// What was kept, left in place: a successor reads it so, and should it die before it
    /// runs, the flowtap it was taking over from `take`s it back. Nothing when the counts are
    /// not sane; a record without its fields when its index is not.
    public func read() -> (latency: [Held], biflow: [Held]) {
        let nl = Int(latency.pointee), nb = Int(biflow.pointee)
        guard nl <= capacity, nb <= capacity - nl else { return ([], []) }
        func held(_ i: Int) -> Held {
            var r = records[i]
            let serial = Int(r.detailSerial)
            r.detailSerial = 0
            return (r, serial >= 1 && serial <= detailCapacity ? details[serial - 1] : nil)
        }
        return ((0 ..< nl).map(held), (nl ..< nl + nb).map(held))
    }

    /// What was kept, emptied.
    public func take() -> (latency: [Held], biflow: [Held]) {
        defer { clear() }
        return read()
    }

    /// Forgets what is kept (a crash left it: it is not what the export thread last held).
    public func clear() {
        latency.pointee = 0
        biflow.pointee = 0
    }
}

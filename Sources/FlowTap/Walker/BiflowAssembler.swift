/// `--biflow`: the two directions of a conversation become one record (RFC 5103), assembled in
/// the walker from the uniflow records both forwarding threads produce, so that neither thread
/// ever waits on the other or shares its cache.
///
/// A record waits up to `holdNs` for its reverse; the two directions of a connection end within
/// a sweep of each other (idle timeouts, FIN/RST, active reports, shutdown), and a record whose
/// reverse does not come in time goes out alone. The forward direction is the initiator, the
/// direction whose first packet came first (RFC 5103 §5.1), and is remembered for the
/// conversation's life so that active-timeout reports keep one orientation.
public final class BiflowAssembler {
    public let holdNs: UInt64
    public let memoryNs: UInt64
    private var pending: [FlowKey: (record: FlowRecord, arrived: UInt64)] = [:]
    /// Canonical key → the initiator's key, and when the conversation was last reported.
    private var initiators: [FlowKey: (key: FlowKey, lastNs: UInt64)] = [:]
    public private(set) var paired: UInt64 = 0
    public private(set) var single: UInt64 = 0

    public init(holdSeconds: Int = 3, memorySeconds: Int) {
        holdNs = UInt64(holdSeconds) * 1_000_000_000
        memoryNs = UInt64(memorySeconds) * 1_000_000_000
    }

    /// One key for both directions.
    static func canonical(_ key: FlowKey) -> FlowKey {
        let r = key.reverseKey
        return key.hashValue64 <= r.hashValue64 ? key : r
    }

    public func add(_ record: FlowRecord, now: UInt64, _ emit: (FlowRecord) -> Void) {
        if let other = pending.removeValue(forKey: record.key.reverseKey) {
            emit(combine(other.record, record, now: now))
            paired += 1
            return
        }
        if let earlier = pending.removeValue(forKey: record.key) { emit(alone(earlier.record, now: now)) }
        pending[record.key] = (record, now)
    }

    /// Sends records whose reverse did not come within the hold time, and forgets
    /// conversations not reported for `memoryNs`.
    public func expire(now: UInt64, _ emit: (FlowRecord) -> Void) {
        for (key, entry) in pending where now &- entry.arrived >= holdNs {
            pending.removeValue(forKey: key)
            emit(alone(entry.record, now: now))
        }
        for (key, entry) in initiators where now &- entry.lastNs >= memoryNs {
            initiators.removeValue(forKey: key)
        }
    }

    /// Shutdown: everything still waiting goes out.
    public func flush(now: UInt64, _ emit: (FlowRecord) -> Void) {
        for (_, entry) in pending { emit(alone(entry.record, now: now)) }
        pending.removeAll()
    }

    private func combine(_ a: FlowRecord, _ b: FlowRecord, now: UInt64) -> FlowRecord {
        let canonical = Self.canonical(a.key)
        let forwardIsA = initiators[canonical].map { $0.key == a.key } ?? (a.firstNs <= b.firstNs)
        let (forward, reverse) = forwardIsA ? (a, b) : (b, a)
        initiators[canonical] = (forward.key, now)
        var r = forward
        r.setReverse(from: reverse)
        return r
    }

    /// A record without its reverse. If its conversation is known and it is the responder's
    /// side, it goes out in the initiator's orientation: forward counts zero, its own as reverse.
    private func alone(_ record: FlowRecord, now: UInt64) -> FlowRecord {
        single += 1
        let canonical = Self.canonical(record.key)
        guard let known = initiators[canonical], known.key != record.key else {
            initiators[canonical] = (record.key, now)
            return record
        }
        initiators[canonical] = (known.key, now)
        var r = record
        r.key = known.key
        swap(&r.ingressInterface, &r.egressInterface)
        r.direction = 1 - record.direction
        r.packets = 0
        r.octets = 0
        r.tcpFlags = 0
        r.setReverse(from: record)
        // No forward packet: the forward start and end repeat the reverse ones, so that
        // collectors that read only flowStart/End place the record in time.
        return r
    }
}

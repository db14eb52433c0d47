import FlowTapDecode
import FlowTapMeter

/// `--biflow`: the two directions of a conversation become one record (RFC 5103), assembled in
/// the export thread from the uniflow records both forwarding threads produce, so that neither thread
/// ever waits on the other or shares its cache.
///
/// A record waits up to `holdNs` for its reverse; the two directions of a connection end within
/// a sweep of each other (idle timeouts, FIN/RST, active reports, shutdown), and a record whose
/// reverse does not come in time goes out alone. The forward direction is the initiator, the
/// direction whose first packet came first (RFC 5103 §5.1), and is remembered for the
/// conversation's life so that active-timeout reports keep one orientation.
///
/// Bounded, whatever the traffic: at most `capacity` records wait (a record that finds the
/// table full goes out alone at once, counted in `overflowed`), their arrival order takes at
/// most twice that many entries, and orientations are kept in
/// two generations of at most `capacity` conversations each. When the newer generation is full,
/// or older than `memoryNs`, the older one is forgotten: a conversation not reported for that
/// long may come back in the other orientation, nothing else changes.
public final class BiflowAssembler {
    public let holdNs: UInt64
    public let memoryNs: UInt64
    public let capacity: Int
    private var pending: [FlowKey: (record: FlowRecord, arrived: UInt64)] = [:]
    /// Keys of `pending` in arrival order (so also in expiry order).
    private var order: ArrivalQueue
    /// Canonical key → the initiator's key: the generation being filled, and the one before.
    private var initiators: [FlowKey: FlowKey] = [:]
    private var olderInitiators: [FlowKey: FlowKey] = [:]
    private var generationStart: UInt64 = 0
    public private(set) var paired: UInt64 = 0
    public private(set) var single: UInt64 = 0
    /// Records sent alone at once because `capacity` records were already waiting.
    public private(set) var overflowed: UInt64 = 0

    public init(holdSeconds: Int = 3, memorySeconds: Int, capacity: Int = 1 << 20) {
        holdNs = UInt64(holdSeconds) * 1_000_000_000
        memoryNs = UInt64(memorySeconds) * 1_000_000_000
        self.capacity = max(1, capacity)
        order = ArrivalQueue(compactAt: 2 * self.capacity)
    }

    /// Records waiting for their reverse, and conversations whose orientation is remembered.
    public var waiting: Int { pending.count }
    /// Entries of the arrival order still held (paired records' included, until compacted).
    public var ordered: Int { order.count }
    public var remembered: Int { initiators.count + olderInitiators.count }

    /// One key for both directions, the same in every process (unseeded hash, then the words).
    static func canonical(_ key: FlowKey) -> FlowKey {
        let r = key.reverseKey
        let (a, b) = (key.hashValue64, r.hashValue64)
        if a != b { return a < b ? key : r }
        return (key.w0, key.w1, key.w2, key.w3, key.w6) <= (r.w0, r.w1, r.w2, r.w3, r.w6) ? key : r
    }

    public func add(_ record: FlowRecord, now: UInt64, _ emit: (FlowRecord) -> Void) {
        if let other = pending.removeValue(forKey: record.key.reverseKey) {
            emit(combine(other.record, record, now: now))
            paired += 1
            return
        }
        if let earlier = pending.removeValue(forKey: record.key) { emit(alone(earlier.record, now: now)) }
        guard pending.count < capacity else {
            overflowed += 1
            emit(alone(record, now: now))
            return
        }
        pending[record.key] = (record, now)
        // Paired records leave `pending` at once but stay in `order` until the hold time passes
        // them; at twice the capacity those are dropped, so `order` too stays within a fixed size.
        order.append(record.key, arrived: now) { pending[$0]?.arrived == $1 }
    }

    /// Sends records whose reverse did not come within the hold time, oldest first.
    public func expire(now: UInt64, _ emit: (FlowRecord) -> Void) {
        order.expire(now: now, holdNs: holdNs) { key, arrived in
            if let entry = pending[key], entry.arrived == arrived {
                pending.removeValue(forKey: key)
                emit(alone(entry.record, now: now))
            }
        }
        if now &- generationStart >= memoryNs && now >= generationStart { rotate(now: now) }
    }

    /// Shutdown: everything still waiting goes out.
    /// A handover: the records still waiting for their reverse, in arrival order, taken out
    /// without going out, for the successor to add again (`HeldRecords`).
    public func takeWaiting() -> [FlowRecord] {
        var out: [FlowRecord] = []
        order.removeAll { key, arrived in
            if let entry = pending[key], entry.arrived == arrived {
                pending.removeValue(forKey: key)
                out.append(entry.record)
            }
        }
        return out
    }

    public func flush(now: UInt64, _ emit: (FlowRecord) -> Void) {
        order.removeAll { key, _ in
            if let entry = pending.removeValue(forKey: key) { emit(alone(entry.record, now: now)) }
        }
    }

    private func rotate(now: UInt64) {
        olderInitiators = initiators
        initiators = [:]
        generationStart = now
    }

    /// The remembered initiator of a conversation, moved into the newer generation.
    private func initiator(_ canonical: FlowKey) -> FlowKey? {
        if let key = initiators[canonical] { return key }
        guard let key = olderInitiators.removeValue(forKey: canonical) else { return nil }
        remember(canonical, key)
        return key
    }

    private func remember(_ canonical: FlowKey, _ key: FlowKey) {
        if initiators.count >= capacity && initiators[canonical] == nil { rotate(now: generationStart) }
        initiators[canonical] = key
    }

    private func combine(_ a: FlowRecord, _ b: FlowRecord, now: UInt64) -> FlowRecord {
        let canonical = Self.canonical(a.key)
        let forwardIsA = initiator(canonical).map { $0 == a.key } ?? (a.firstNs <= b.firstNs)
        let (forward, reverse) = forwardIsA ? (a, b) : (b, a)
        remember(canonical, forward.key)
        var r = forward
        r.setReverse(from: reverse)
        return r
    }

    /// A record without its reverse. If its conversation is known and it is the responder's
    /// side, it goes out in the initiator's orientation: forward counts zero, its own as reverse.
    private func alone(_ record: FlowRecord, now: UInt64) -> FlowRecord {
        single += 1
        let canonical = Self.canonical(record.key)
        guard let known = initiator(canonical), known != record.key else {
            remember(canonical, record.key)
            return record
        }
        var r = record
        r.key = known
        swap(&r.ingressInterface, &r.egressInterface)
        r.direction = 1 - record.direction
        r.packets = 0
        r.octets = 0
        r.tcpFlags = 0
        r.retransmittedPackets = 0
        r.outOfOrderPackets = 0
        r.handshake = TCPHandshake()
        r.setReverse(from: record)
        // No forward packet: the forward start and end repeat the reverse ones, so that
        // collectors that read only flowStart/End place the record in time.
        return r
    }
}

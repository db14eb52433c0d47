import FlowTapDecode
import FlowTapMeter

/// Joins the two directions of a TCP connection so that both records carry its `TCPLatency`:
/// each forwarding thread sees only its own direction's handshake packets, and neither waits on
/// or shares memory with the other, so the export thread pairs their records.
///
/// Records meet by their keys without the ToS: a connection's directions may carry different
/// ones (a DSCP one side sets), and its latency is the same.
///
/// Only a record with a handshake role waits, up to `holdNs`, for its reverse (the two
/// directions of a connection are reported within a sweep of each other: both end at the same
/// FIN or RST, idle or active timeout, or shutdown); every other record passes at once. A
/// record whose reverse does not come in time goes out without latency.
///
/// Bounded: at most `capacity` records wait; one that finds the table full goes out at once
/// (counted in `overflowed`).
public final class LatencyJoin {
    public let holdNs: UInt64
    public let capacity: Int
    private var waiting: [FlowKey: (record: FlowRecord, arrived: UInt64)] = [:]
    private var order: ArrivalQueue
    public private(set) var joined: UInt64 = 0
    public private(set) var unjoined: UInt64 = 0
    public private(set) var overflowed: UInt64 = 0

    public init(holdSeconds: Int = 3, capacity: Int = 1 << 18) {
        holdNs = UInt64(holdSeconds) * 1_000_000_000
        self.capacity = max(1, capacity)
        order = ArrivalQueue(compactAt: 2 * self.capacity)
    }

    public var count: Int { waiting.count }

    public func add(_ record: FlowRecord, now: UInt64, _ emit: (FlowRecord) -> Void) {
        guard record.handshake.role != .none else { return emit(record) }
        let key = record.key.withoutTOS
        if var other = waiting.removeValue(forKey: record.key.reverseKey.withoutTOS)?.record {
            var mine = record
            let latency = TCPLatency(other.handshake, mine.handshake)
            other.latency = latency
            mine.latency = latency
            joined += 1
            emit(other)
            emit(mine)
            return
        }
        if let earlier = waiting.removeValue(forKey: key) { alone(earlier.record, emit) }
        guard waiting.count < capacity else {
            overflowed += 1
            return alone(record, emit)
        }
        waiting[key] = (record, now)
        order.append(key, arrived: now) { waiting[$0]?.arrived == $1 }
    }

    /// Sends the records whose reverse did not come within the hold time, oldest first.
    public func expire(now: UInt64, _ emit: (FlowRecord) -> Void) {
        order.expire(now: now, holdNs: holdNs) { key, arrived in leave(key, arrived, emit) }
    }

    /// A handover: everything still waiting, in arrival order, taken out without going out, for
    /// the successor to add again (`HeldRecords`).
    public func takeWaiting() -> [FlowRecord] {
        var out: [FlowRecord] = []
        order.removeAll { key, arrived in
            guard let entry = waiting[key], entry.arrived == arrived else { return }
            waiting.removeValue(forKey: key)
            out.append(entry.record)
        }
        return out
    }

    /// Shutdown: everything still waiting goes out, in arrival order.
    public func flush(_ emit: (FlowRecord) -> Void) {
        order.removeAll { key, arrived in leave(key, arrived, emit) }
    }

    /// The record that arrived for `key` at `arrived`, if it still waits, goes out alone.
    private func leave(_ key: FlowKey, _ arrived: UInt64, _ emit: (FlowRecord) -> Void) {
        guard let entry = waiting[key], entry.arrived == arrived else { return }
        waiting.removeValue(forKey: key)
        alone(entry.record, emit)
    }

    private func alone(_ record: FlowRecord, _ emit: (FlowRecord) -> Void) {
        unjoined += 1
        emit(record)
    }
}

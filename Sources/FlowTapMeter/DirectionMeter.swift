import FlowTapDecode

/// Where a direction's finished records go: the ring to the export thread in the probe, an array in
/// tests and the fuzzer. `push` never waits: false means full.
public protocol RecordSink {
    func push(_ record: borrowing FlowRecord) -> Bool
}

/// One direction's metering, apart from its I/O: every frame's records handed on, the expiry
/// slice and fragment expiry between frames, and shutdown. The forwarder owns one and adds the
/// TAP reads and writes; the fuzzer drives the same code without TAPs.
///
/// Full-sink rules: a record a frame produced (FIN/RST, an eviction) that the sink refuses is
/// lost and counted (`recordsLost`), since the frame cannot wait; an expiry the sink refuses
/// stays in the table and is tried next time; at shutdown the caller waits for room.
public struct DirectionMeter: ~Copyable {
    public var meter: PacketMeter
    public private(set) var recordsQueued: UInt64 = 0
    public private(set) var recordsLost: UInt64 = 0
    @usableFromInline var lastScan: UInt64
    /// The expiry scan covers the whole table once per this period.
    public static let sweepNs: UInt64 = 1_000_000_000

    public init(_ meter: consuming PacketMeter, now: UInt64) {
        self.meter = meter
        lastScan = now
    }

    /// Meters the frame at `now` and hands on what that produced.
    /// Inlinable, so that the forwarder's module specializes it for its sink: a generic call
    /// through the protocol's witness table on every frame otherwise.
    @inline(__always) @inlinable
    public mutating func frame<Sink: RecordSink>(_ frame: UnsafeRawPointer, length: Int, now: UInt64, into sink: Sink) {
        meter.meter(frame, length: length, now: now)
        if meter.cache.pendingCount != 0 { deliverPending(into: sink) }
    }

    /// A capture's packet (`flowtap read`): `length` of its `wireLength` bytes were captured.
    @inlinable
    public mutating func capturedFrame<Sink: RecordSink>(
        _ frame: UnsafeRawPointer, length: Int, wireLength: Int, now: UInt64,
        into sink: Sink
    ) {
        meter.meterCaptured(frame, length: length, wireLength: wireLength, now: now)
        if meter.cache.pendingCount != 0 { deliverPending(into: sink) }
        if now >= meter.cache.nextDeadlineNs { expireInOrder(now: now, into: sink) }
    }

    @inline(never) @inlinable
    mutating func deliverPending<Sink: RecordSink>(into sink: Sink) {
        var queued: UInt64 = 0
        let lost = meter.cache.drainPending { record in
            let ok = sink.push(record)
            if ok { queued &+= 1 }
            return ok
        }
        noteDelivered(queued: queued, lost: UInt64(lost))
    }

    /// The counters' setters stay private: the inlinable paths count through this.
    @usableFromInline
    mutating func noteDelivered(queued: UInt64, lost: UInt64) {
        recordsQueued &+= queued
        recordsLost &+= lost
    }

    /// Between frames: the records are stamped with `wallOffsetNs` from now on, held fragments
    /// past their timeout go to their flows (the outbox drained after each entry, since each may
    /// evict a flow), and one slice of the expiry scan runs, sized so that the whole table is
    /// covered once per sweep period.
    /// With ordered expiry (`flowtap read`) every flow due by now is reported instead, in the
    /// order of the deadlines.
    @inlinable
    public mutating func housekeeping<Sink: RecordSink>(now: UInt64, wallOffsetNs: UInt64, into sink: Sink) {
        meter.cache.wallOffsetNs = wallOffsetNs
        expireFragments(now: now, into: sink)
        if meter.cache.expiresInOrder { return expireInOrder(now: now, into: sink) }
        let elapsed = now > lastScan ? min(now - lastScan, Self.sweepNs) : 0
        lastScan = now
        let slots = max(64, Int(elapsed / 1000) * meter.cache.capacity / Int(Self.sweepNs / 1000))
        noteDelivered(queued: UInt64(meter.cache.expire(now: now, slots: slots) { sink.push($0) }), lost: 0)
    }

    /// Ordered expiry: the flows whose deadline has come by `now`, in deadline order.
    @inlinable
    public mutating func expireInOrder<Sink: RecordSink>(now: UInt64, into sink: Sink) {
        noteDelivered(queued: UInt64(meter.cache.expireInOrder(now: now) { sink.push($0) }), lost: 0)
    }

    /// The other direction's reset notices (`FlowCache.resetNotices`), between frames: each
    /// closes its flow here, and a flow with no close grace ends at once. At most the ring's
    /// capacity a call, so a reset storm cannot hold forwarding up.
    @inlinable
    public mutating func closeForPeerResets<Sink: RecordSink>(from notices: SPSCRing<FlowKey>, into sink: Sink) {
        notices.drain(limit: notices.capacity) { key in
            meter.cache.closeForPeerReset(key)
            if meter.cache.pendingCount != 0 { deliverPending(into: sink) }
        }
    }

    @inlinable
    package mutating func expireFragments<Sink: RecordSink>(now: UInt64, into sink: Sink) {
        while meter.expireFragment(now: now) {
            if meter.cache.pendingCount != 0 { deliverPending(into: sink) }
        }
    }

    /// Every flow reported now ("forced end"), as `flowtap expire --all` asks. False while the
    /// sink is full: call again, the flows not yet reported are still in the table.
    public mutating func expireAll<Sink: RecordSink>(into sink: Sink) -> Bool {
        var queued: UInt64 = 0
        let done = meter.cache.expireAll(reason: .forcedEnd) { record in
            let ok = sink.push(record)
            if ok { queued &+= 1 }
            return ok
        }
        recordsQueued &+= queued
        return done
    }

    /// The flows `matches` accepts reported now ("forced end"), as `flowtap expire --match`
    /// asks. False while the sink is full: call again.
    public mutating func expire<Sink: RecordSink>(where matches: (FlowKey) -> Bool, into sink: Sink) -> Bool {
        var queued: UInt64 = 0
        let done = meter.cache.expire(where: matches) { record in
            let ok = sink.push(record)
            if ok { queued &+= 1 }
            return ok
        }
        recordsQueued &+= queued
        return done
    }

    /// Shutdown, step by step: every held fragment counted, then every flow reported
    /// ("forced end"). False while the sink is full: call again once it has room.
    public mutating func finish<Sink: RecordSink>(wallOffsetNs: UInt64, into sink: Sink) -> Bool {
        meter.cache.wallOffsetNs = wallOffsetNs
        expireFragments(now: .max, into: sink)
        return expireAll(into: sink)
    }

    /// The meter's counters with what this stage counted folded in.
    public var snapshot: ForwarderCounters {
        var c = meter.snapshot
        c.recordsQueued = recordsQueued
        c.recordsLost = recordsLost &+ c.recordsLost
        return c
    }
}

extension SPSCRing: RecordSink where Element == FlowRecord {}

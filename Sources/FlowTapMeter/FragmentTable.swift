import FlowTapDecode

/// Attributes IP fragments to the transport flow of their packet. Only the first fragment
/// carries ports; the table remembers them per (addresses, protocol, IP identification) so that
/// later fragments count in the same flow. Fragments that arrive before the first are held as
/// counts (the frames themselves are forwarded at once) until the first comes; if it never
/// does within the timeout, they are counted in a flow without ports, never lost.
///
/// Bounded: a fixed number of slots, 4-way set associative, keyed with the process's random
/// hash seed; a full set gives up its oldest entry, whose held counts then go to the flow
/// without ports. Times are the meter's clock (monotonic in the forwarder).
public struct FragmentTable: ~Copyable {
    public struct Held: Sendable, Equatable {
        public var key: FlowKey
        public var packets: UInt64
        public var octets: UInt64
        public var firstNs: UInt64
        public var lastNs: UInt64
    }

    struct Entry {
        /// Addresses, protocol and version of the packet (a FlowKey without ports).
        var key: FlowKey
        var id: UInt32
        var ports: UInt32
        var portsKnown: Bool
        var held: Held
        var expiresNs: UInt64
    }

    public static let ways = 4
    public let capacity: Int
    public let timeoutNs: UInt64
    let sets: Int
    let used: UnsafeMutablePointer<Bool>
    let entries: UnsafeMutablePointer<Entry>
    let seed: UInt64
    /// Where `nextExpired` goes on looking.
    var expiryCursor = 0
    /// Packets the table remembers now (with held counts or known ports).
    public private(set) var inUse = 0
    public private(set) var attributed: UInt64 = 0
    public private(set) var unattributed: UInt64 = 0

    public init(capacity: Int = 4096, timeoutSeconds: Int = 5, seed: UInt64 = 0) {
        self.seed = seed
        sets = max(1, capacity / Self.ways)
        self.capacity = sets * Self.ways
        timeoutNs = UInt64(timeoutSeconds) * 1_000_000_000
        used = .allocate(capacity: self.capacity)
        used.initialize(repeating: false, count: self.capacity)
        entries = .allocate(capacity: self.capacity)
    }

    deinit {
        used.deallocate()
        entries.deallocate()
    }

    /// The packet identity of a fragment: its key with the ports cleared.
    @inline(__always)
    static func packetKey(_ key: FlowKey) -> FlowKey {
        var k = key
        k.setL4(sourcePort: 0, destinationPort: 0)
        return k
    }

    @inline(__always)
    func find(_ key: FlowKey, id: UInt32) -> (slot: Int, found: Bool, base: Int) {
        let hash = key.hash(seed: seed) ^ UInt64(id) &* 0x9E37_79B9_7F4A_7C15
        let base = Int((hash >> 32) % UInt64(sets)) * Self.ways
        var free = -1
        for i in base ..< base + Self.ways {
            if used[i] {
                if entries[i].id == id && entries[i].key == key { return (i, true, base) }
            } else if free < 0 {
                free = i
            }
        }
        return (free, false, base)
    }

    /// The first fragment of a packet, with its ports in `key`. Returns counts held for the
    /// packet's later fragments that came first: they belong to `key`'s flow.
    public mutating func first(_ key: FlowKey, id: UInt32, now: UInt64, evicted: inout Held?) -> Held? {
        let packet = Self.packetKey(key)
        let ports = UInt32(key.sourcePort) | UInt32(key.destinationPort) << 16
        var (slot, found, base) = find(packet, id: id)
        var held: Held?
        if found {
            if entries[slot].held.packets > 0 { held = entries[slot].held }
            attributed &+= entries[slot].held.packets
        } else {
            if slot < 0 { slot = evictOldest(base: base, into: &evicted) }
            used[slot] = true
            inUse &+= 1
        }
        entries[slot] = Entry(
            key: packet, id: id, ports: ports, portsKnown: true,
            held: Held(key: packet, packets: 0, octets: 0, firstNs: 0, lastNs: 0),
            expiresNs: now &+ timeoutNs)
        held?.key = key
        return held
    }

    /// A later fragment. Returns its flow key with the ports of its packet, or nil when the
    /// first fragment has not been seen: the fragment is then held here as counts.
    public mutating func later(_ key: FlowKey, id: UInt32, octets: UInt32, now: UInt64, evicted: inout Held?)
        -> FlowKey?
    {
        let packet = Self.packetKey(key)
        var (slot, found, base) = find(packet, id: id)
        if found && entries[slot].portsKnown {
            var k = key
            let ports = entries[slot].ports
            k.setL4(
                sourcePort: UInt16(truncatingIfNeeded: ports), destinationPort: UInt16(truncatingIfNeeded: ports >> 16))
            entries[slot].expiresNs = now &+ timeoutNs
            attributed &+= 1
            return k
        }
        if !found {
            if slot < 0 { slot = evictOldest(base: base, into: &evicted) }
            used[slot] = true
            inUse &+= 1
            entries[slot] = Entry(
                key: packet, id: id, ports: 0, portsKnown: false,
                held: Held(key: packet, packets: 0, octets: 0, firstNs: now, lastNs: now),
                expiresNs: now &+ timeoutNs)
        }
        // WORKAROUND(swiftc 6.3.1, TSan IR): through `pointee`; the same updates written as `entries[slot].held.packets &+= 1` make
        // swiftc 6.3.1 emit invalid IR under -sanitize=thread with debug info.
        let e = entries + slot
        e.pointee.held.packets &+= 1
        e.pointee.held.octets &+= UInt64(octets)
        e.pointee.held.lastNs = now
        return nil
    }

    @inline(never)
    mutating func evictOldest(base: Int, into evicted: inout Held?) -> Int {
        var oldest = base
        for i in base + 1 ..< base + Self.ways where entries[i].expiresNs < entries[oldest].expiresNs { oldest = i }
        if entries[oldest].held.packets > 0 {
            evicted = entries[oldest].held
            unattributed &+= entries[oldest].held.packets
        }
        used[oldest] = false
        inUse &-= 1
        return oldest
    }

    /// Forgets the next packet not heard of within the timeout and returns its held counts,
    /// if it has any; nil once a pass over the table finds nothing more. One entry at a time,
    /// so that the owner can hand on what each one produces before the next (every expired
    /// entry may evict a flow).
    public mutating func nextExpired(now: UInt64) -> Held? {
        // Nearly always nothing is held: no pass over the table then (it was a fifth of a
        // `read`'s instructions, a pass every 10 ms of the capture).
        guard inUse > 0 else {
            expiryCursor = 0
            return nil
        }
        while expiryCursor < capacity {
            let i = expiryCursor
            expiryCursor += 1
            guard used[i] && now >= entries[i].expiresNs else { continue }
            used[i] = false
            inUse &-= 1
            if entries[i].held.packets > 0 {
                unattributed &+= entries[i].held.packets
                return entries[i].held
            }
        }
        expiryCursor = 0
        return nil
    }
}

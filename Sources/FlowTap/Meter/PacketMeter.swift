/// Everything the forwarding thread does to a frame after writing it out: decode, classify
/// (undecodable, non-IP, own export, sampled out), attribute fragments, count GSO segments, and
/// update the flow cache. No I/O, no shared state: one per forwarding thread, and the same code
/// the microbenchmark drives.
///
/// Records it produces (a flow ended by FIN/RST, an eviction) wait in `cache`'s outbox; the
/// owner hands them on after each frame (`cache.pendingCount`, `cache.drainPending`).
public struct PacketMeter: ~Copyable {
    public var cache: FlowCache
    var fragments = FragmentTable()
    var sampler: PacketSampler
    let mask: FlowKeyMask
    let meterNonIP: Bool
    let meterTCPEnd: Bool
    /// Bytes of virtio_net_hdr in front of every frame: 12 with `--offload`, else 0.
    let vnetHeader: Int
    let ownExport: OwnExportFilter
    public var counters = ForwarderCounters()

    public init(records: RecordSet, policy: ExpiryPolicy, maxFlows: Int, point: ObservationPoint,
                sampling: Sampling = Sampling(), vnetHeader: Int = 0, ownExport: OwnExportFilter = OwnExportFilter(),
                seed: UInt64 = 1) {
        cache = FlowCache(maxFlows: maxFlows, policy: policy, point: point)
        sampler = PacketSampler(sampling, seed: seed)
        mask = FlowKeyMask(records)
        meterNonIP = records.contains(.l2)
        meterTCPEnd = records.contains(.l4)
        self.vnetHeader = vnetHeader
        self.ownExport = ownExport
    }

    /// Meters the frame of `length` bytes at `frame` (as read from the TAP, virtio_net_hdr
    /// included) at `now` (nanoseconds since the epoch). `facts` is scratch space the caller
    /// keeps between frames.
    @inline(__always)
    public mutating func meter(_ frame: UnsafeRawPointer, length n: Int, now: UInt64, facts: inout PacketFacts) {
        let vnet = vnetHeader
        guard n > vnet else { return }
        PacketDecoder.decode(frame + vnet, length: n - vnet, into: &facts)
        switch facts.kind {
        case .ipv4, .ipv6:
            if ownExport.matches(facts.key) {
                counters.ownExport &+= 1
                return
            }
        case .nonIP:
            guard meterNonIP else {
                counters.nonIPUnmetered &+= 1
                return
            }
        case .malformed:
            counters.issues[Int(facts.issue.rawValue)] &+= 1
            return
        }
        guard sampler.take() else {
            counters.sampledOut &+= 1
            return
        }
        if meterTCPEnd && (facts.isLaterFragment || facts.isFirstFragment) {
            guard attributeFragment(&facts, now: now) else { return }
        }
        var packets: UInt64 = 1
        var octets = facts.octets
        if vnet != 0 {
            let header = VirtioNetHeader(frame)
            if header.isSegmented && facts.transportEnd != 0 {
                // Count what the wire carries: the segments the kernel would cut this into.
                let wire = VirtioNetHeader.segments(frameLength: Int(facts.ipOffset) + Int(facts.octets), ipOffset: Int(facts.ipOffset),
                                                    transportEnd: Int(facts.transportEnd), gsoSize: Int(header.gsoSize))
                packets = wire.packets
                octets = UInt32(truncatingIfNeeded: wire.octets)
                counters.gsoFrames &+= 1
                counters.gsoSegments &+= packets
            }
        }
        facts.key.apply(mask)
        cache.meter(key: facts.key, packets: packets, octets: octets, tcpFlags: meterTCPEnd ? facts.tcpFlags : 0,
                    endsFlow: meterTCPEnd && facts.endsFlow, now: now)
        counters.metered &+= 1
    }

    /// Gives a later fragment the ports of its packet's first fragment; false when that has
    /// not been seen yet and the fragment is held as counts instead of metered now.
    @inline(never)
    mutating func attributeFragment(_ facts: inout PacketFacts, now: UInt64) -> Bool {
        var evicted: FragmentTable.Held?
        defer { if let evicted { meterHeld(evicted) } }
        if facts.isFirstFragment {
            if var held = fragments.first(facts.key, id: facts.fragmentID, now: now, evicted: &evicted) {
                held.key.apply(mask)
                cache.meterHeld(key: held.key, packets: held.packets, octets: held.octets, firstNs: held.firstNs, lastNs: held.lastNs)
            }
            return true
        }
        guard let key = fragments.later(facts.key, id: facts.fragmentID, octets: facts.octets, now: now, evicted: &evicted) else {
            counters.metered &+= 1
            return false
        }
        facts.key = key
        return true
    }

    /// Held fragments whose first fragment never came: counted in the flow without ports.
    mutating func meterHeld(_ held: FragmentTable.Held) {
        var key = held.key
        key.apply(mask)
        cache.meterHeld(key: key, packets: held.packets, octets: held.octets, firstNs: held.firstNs, lastNs: held.lastNs)
    }

    /// Fragments held past their timeout go to flows without ports. (At shutdown pass `.max`.)
    public mutating func expireFragments(now: UInt64) {
        var expired: [FragmentTable.Held] = []
        fragments.expire(now: now) { expired.append($0) }
        for held in expired { meterHeld(held) }
    }

    /// The counters, with the cache's and the fragment table's folded in.
    public var snapshot: ForwarderCounters {
        var c = counters
        c.flowsCreated = cache.flowsCreated
        c.evictions = cache.evictions
        c.liveFlows = UInt64(cache.liveFlows)
        c.fragmentsAttributed = fragments.attributed
        c.fragmentsUnattributed = fragments.unattributed
        return c
    }
}

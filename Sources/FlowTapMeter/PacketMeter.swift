import FlowTapDecode

/// Everything the forwarding thread does to a frame after writing it out: decode, classify
/// (undecodable, non-IP, own export, sampled out), attribute fragments, count GSO segments, and
/// update the flow cache. No I/O, no shared state: one per forwarding thread, and the same code
/// the microbenchmark drives.
///
/// Records it produces (a flow ended by FIN/RST, an eviction) wait in `cache`'s outbox; the
/// owner hands them on after each frame (`cache.pendingCount`, `cache.drainPending`).
public struct PacketMeter: ~Copyable {
    public var cache: FlowCache
    var fragments: FragmentTable
    var sampler: PacketSampler
    let mask: FlowKeyMask
    let meterNonIP: Bool
    let meterTCPEnd: Bool
    /// Bytes of virtio_net_hdr in front of every frame: 12 with `--offload`, else 0.
    let vnetHeader: Int
    let ownExport: OwnExportFilter
    public var counters = ForwarderCounters()
    /// No sampling, and a key mask the decoder already applies: the frame path's first test.
    let isPlain: Bool

    public init(
        records: RecordSet, policy: ExpiryPolicy, maxFlows: Int, point: ObservationPoint,
        sampling: Sampling = Sampling(), vnetHeader: Int = 0, ownExport: OwnExportFilter = OwnExportFilter(),
        seed: UInt64 = 1, hashSeed: UInt64 = 0, storage: UnsafeMutableRawPointer? = nil, adopting: Bool = false,
        orderedExpiry: Bool = false, inspect: Bool = false
    ) {
        cache = FlowCache(
            maxFlows: maxFlows, policy: policy, point: point, seed: hashSeed, storage: storage, adopting: adopting,
            orderedExpiry: orderedExpiry, inspect: inspect)
        fragments = FragmentTable(seed: hashSeed)
        sampler = PacketSampler(sampling, seed: seed)
        mask = FlowKeyMask(records)
        meterNonIP = records.contains(.l2)
        meterTCPEnd = records.contains(.l4)
        self.vnetHeader = vnetHeader
        self.ownExport = ownExport
        isPlain = sampling.interval <= 1 && !mask.changesDecodedKey
    }

    /// Meters the frame of `length` bytes at `frame` (as read from the TAP, virtio_net_hdr
    /// included) at `now`, in nanoseconds of the meter's clock (monotonic in the forwarder; see
    /// `FlowCache.wallOffsetNs`). A live frame is whole; a capture's packet may have been cut
    /// short of its `wireLength` (see `meterCaptured`).
    @inline(__always)
    public mutating func meter(_ frame: UnsafeRawPointer, length n: Int, now: UInt64) {
        let vnet = vnetHeader
        guard n > vnet else { return countEmpty() }
        let start = frame + vnet
        let length = n - vnet
        // A local the optimiser can keep in registers: decoded fields go straight into the
        // hash. Kept in memory, the key was written piecewise and read back whole, which the CPU
        // cannot forward from its store buffer (measured: 20 % slower per packet).
        var facts = PacketFacts()
        guard let etherType = PacketDecoder.decodeLink(start, length: length, into: &facts, l2: mask.keepsL2) else {
            return meterOther(frame, facts, now: now)
        }
        let ip = Int(facts.ipOffset)
        if etherType == PacketDecoder.etherTypeIPv4 {
            // An IPv4 length outside the frame (0 from TSO, or malformed): the whole decoder.
            guard PacketDecoder.decodeIPv4(start + ip, available: length - ip, into: &facts) else {
                return meterCut(frame, length: n, wireLength: n, now: now)
            }
        } else if etherType == PacketDecoder.etherTypeIPv6 {
            // Out of line, so that on this path the key's IPv6-only words are constant zeros,
            // folded out of the hash and the lookup (measured: 15 instructions a packet).
            return meterIPv6(frame, length: n, now: now)
        } else {
            PacketDecoder.decodeNonIP(available: length - ip, into: &facts)
        }
        if isCommon(frame, facts) { return meterCommon(start, facts, now: now) }
        meterOther(frame, facts, now: now)
    }

    /// A frame that carries IPv6: decoded again from its start, and metered. Only the frame comes
    /// in (callgrind, clock, IPv6 workload against IPv4): passing the link layer's facts cost
    /// IPv6 44 instructions a packet, passing its L2 words cost IPv4 8 % by the clock; decoding
    /// the link layer again costs IPv6 11 over the shared path before the split (362 against 351).
    @inline(never)
    mutating func meterIPv6(_ frame: UnsafeRawPointer, length n: Int, now: UInt64) {
        var facts = PacketFacts()
        let start = frame + vnetHeader
        let length = n - vnetHeader
        _ = PacketDecoder.decodeLink(start, length: length, into: &facts, l2: mask.keepsL2)
        let ip = Int(facts.ipOffset)
        guard PacketDecoder.decodeIPv6(start + ip, available: length - ip, into: &facts) else {
            return meterCut(frame, length: n, wireLength: n, now: now)
        }
        if isCommon(frame, facts) { return meterCommon(start, facts, now: now) }
        meterOther(frame, facts, now: now)
    }

    /// A capture's packet (`flowtap read`): `length` bytes of its `wireLength` were captured.
    /// One call of the whole decoder, out of the forwarder's path: a packet cut by the snap
    /// length is metered by its IP length and counted as snapped. The forwarder's frames with
    /// an unusual IP length come here too, whole.
    public mutating func meterCaptured(_ frame: UnsafeRawPointer, length: Int, wireLength: Int, now: UInt64) {
        // A whole packet takes the forwarder's path (which sends an unusual length back here).
        if wireLength <= length {
            meter(frame, length: length, now: now)
        } else {
            meterCut(frame, length: length, wireLength: wireLength, now: now)
        }
        if cache.ordered && cache.newCount != 0 { cache.enqueueNew(now: now) }
    }

    /// A packet cut short of its wire length, or one whose IP length is unusual, through the
    /// whole decoder.
    @inline(never)
    mutating func meterCut(_ frame: UnsafeRawPointer, length: Int, wireLength: Int, now: UInt64) {
        guard length > vnetHeader else { return countEmpty() }
        var facts = PacketFacts()
        PacketDecoder.decode(
            frame + vnetHeader, length: length - vnetHeader, wireLength: wireLength - vnetHeader, into: &facts,
            l2: mask.keepsL2)
        if isCommon(frame, facts) {
            meterCommon(frame + vnetHeader, facts, now: now)
        } else {
            meterOther(frame, facts, now: now)
        }
    }

    /// A frame with no bytes past the virtio_net_hdr (a capture's empty record): undecodable.
    @inline(never)
    mutating func countEmpty() {
        counters.issues[Int(DecodeIssue.truncatedEthernet.rawValue)] &+= 1
    }

    /// The common case in one test: an IP packet, whole, not a fragment, not possibly ours, not
    /// a GSO super-frame, with no sampling or key mask configured.
    @inline(__always)
    func isCommon(_ frame: UnsafeRawPointer, _ facts: PacketFacts) -> Bool {
        isPlain && facts.kind.isIP && facts.marks == 0
            && !ownExport.mayMatch(facts.key) && (vnetHeader == 0 || !VirtioNetHeader(frame).isSegmented)
    }

    /// `start`: the frame from its link header (past any virtio_net_hdr).
    @inline(__always)
    mutating func meterCommon(_ start: UnsafeRawPointer, _ facts: PacketFacts, now: UInt64) {
        let entry = cache.meterEntry(
            key: facts.key, octets: facts.octets, tcpFlags: meterTCPEnd ? facts.tcpFlags : 0,
            sequence: facts.tcpSequence,
            payload: facts.tcpPayload, now: now)
        counters.metered &+= 1
        // A flow named, or given up, pays this one test.
        if entry.pointee.app & FlowEntry.inspecting != 0 {
            inspect(entry, start, ipOffset: facts.ipOffset, octets: facts.octets)
        }
    }

    /// A packet of a flow whose first bytes are still looked at (`FlowInspection`), whole and
    /// not a fragment: its IP packet, `octets` long, is `ipOffset` bytes into `start`. Out of
    /// line, and it reads the transport header again rather than take the facts: passing them
    /// (by reference, or as values) kept them alive across the meter, which cost every packet of
    /// every flow, inspected or not, 7 to 24 instructions (callgrind); reading again costs only
    /// the packets inspected, a flow's first few. The header is read where it is known to lie
    /// (`transportHeader`), else by the whole decoder. A direction that carries no data (a
    /// download's ACKs) is inspected until it does: its bare ACKs are let go here (testing the
    /// decoded flags in the meter cost every IPv4 packet 8 instructions).
    @inline(never)
    mutating func inspect(
        _ entry: UnsafeMutablePointer<FlowEntry>, _ start: UnsafeRawPointer, ipOffset: UInt16, octets: UInt32
    ) {
        let length = Int(ipOffset) + Int(octets)
        // Without L4 recorded there are no ports or flags to read a stream by.
        guard meterTCPEnd else { return cache.giveUp(entry, .none) }
        let proto = entry.pointee.key.ipProtocol
        var tcpFlags: UInt16 = 0
        var sequence: UInt32 = 0
        var payload: UInt32 = 0
        var transportEnd: Int
        if let t = Self.transportHeader(start + Int(ipOffset), octets: Int(octets), proto: proto) {
            (tcpFlags, sequence, payload) = (t.flags, t.sequence, t.payload)
            transportEnd = Int(ipOffset) + t.end
        } else {
            var facts = PacketFacts()
            PacketDecoder.decode(start, length: length, wireLength: length, into: &facts, l2: mask.keepsL2)
            guard facts.kind.isIP else { return cache.giveUp(entry, .none) }
            (tcpFlags, sequence, payload) = (facts.tcpFlags, facts.tcpSequence, facts.tcpPayload)
            transportEnd = Int(facts.transportEnd)
        }
        // A bare ACK tells the inspection nothing.
        let telling = TCPFlags.syn | TCPFlags.fin | TCPFlags.rst | TCPFlags.payload
        if proto == 6 && tcpFlags & telling == 0 { return }
        cache.inspect(
            entry, start, transportEnd: transportEnd, ipEnd: length, tcpFlags: tcpFlags, sequence: sequence,
            tcpPayload: payload)
    }

    /// The TCP or UDP header of the IP packet at `ip` (`octets` long, whole, not a fragment) as
    /// the decoder reads it: where it ends (from `ip`), and TCP's flags (with the payload bit),
    /// sequence number and payload length. Read where it is known to lie: IPv4, or IPv6 with
    /// the header right after its own. Nil when it cannot tell (the decoder then reads the
    /// packet whole): another protocol, an extension header, a header that overruns the packet.
    /// Inlined into `inspect`, its one caller: the call and its tuple cost every packet
    /// inspected a tenth of its path there (callgrind).
    @inline(__always)
    static func transportHeader(_ ip: UnsafeRawPointer, octets: Int, proto: UInt8)
        -> (end: Int, flags: UInt16, sequence: UInt32, payload: UInt32)?
    {
        guard octets >= 28 else { return nil }
        let l4: Int
        switch ip.u8(0) >> 4 {
        case 4:
            l4 = Int(ip.u8(0) & 0x0F) * 4
            guard l4 >= 20 else { return nil }
        case 6 where ip.u8(6) == proto:
            l4 = 40
        default:
            return nil
        }
        switch proto {
        case 6:
            guard octets >= l4 + 20 else { return nil }
            let word = ip.be16(l4 + 12)
            let header = Int(word >> 12) * 4
            guard header >= 20, octets >= l4 + header else { return nil }
            let payload = octets - l4 - header
            return (
                l4 + header, word & 0x0FFF | (payload > 0 ? TCPFlags.payload : 0), ip.be32(l4 + 4),
                UInt32(truncatingIfNeeded: payload)
            )
        case 17:
            guard octets >= l4 + 8 else { return nil }
            return (l4 + 8, 0, 0, 0)
        default:
            return nil
        }
    }

    /// Everything else: malformed and non-IP frames, own export, sampling, fragments, GSO
    /// super-frames, key masks.
    @inline(never)
    mutating func meterOther(_ frame: UnsafeRawPointer, _ decoded: PacketFacts, now: UInt64) {
        let vnet = vnetHeader
        var facts = decoded
        switch facts.kind {
        case .ipv4, .ipv6:
            if ownExport.mayMatch(facts.key) && isOwnExport(facts.key) {
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
            guard let key = attributeFragment(facts, now: now) else { return }
            facts.key = key
        }
        var packets: UInt64 = 1
        var octets = facts.octets
        if vnet != 0 {
            let header = VirtioNetHeader(frame)
            if header.isSegmented && facts.transportEnd != 0 {
                // Count what the wire carries: the segments the kernel would cut this into.
                let wire = VirtioNetHeader.segments(
                    frameLength: Int(facts.ipOffset) + Int(facts.octets), ipOffset: Int(facts.ipOffset),
                    transportEnd: Int(facts.transportEnd), gsoSize: Int(header.gsoSize))
                packets = wire.packets
                octets = UInt32(truncatingIfNeeded: wire.octets)
                counters.gsoFrames &+= 1
                counters.gsoSegments &+= packets
            }
        }
        if mask.changesDecodedKey { facts.key.apply(mask) }
        let entry = cache.meterEntry(
            key: facts.key, packets: packets, octets: octets, tcpFlags: meterTCPEnd ? facts.tcpFlags : 0,
            sequence: facts.tcpSequence, payload: facts.tcpPayload, now: now)
        countMetered(facts)
        // Sampled or masked flows are not whole streams (a mask may merge several); fragments
        // carry part of a segment, and a snapped packet less than its length.
        if entry.pointee.app & FlowEntry.inspecting != 0 {
            if isPlain && facts.marks == 0 && facts.kind.isIP {
                inspect(entry, frame + vnet, ipOffset: facts.ipOffset, octets: facts.octets)
            } else {
                cache.giveUp(entry, .none)
            }
        }
    }

    /// A frame metered: whole, or snapped (each frame in one count).
    mutating func countMetered(_ facts: PacketFacts) {
        if facts.isSnapped { counters.snapped &+= 1 } else { counters.metered &+= 1 }
    }

    /// Out of line, and `mutating` only so that self is passed by reference: as a plain
    /// method the call copied the whole meter (1 KiB) first.
    @inline(never)
    mutating func isOwnExport(_ key: FlowKey) -> Bool {
        ownExport.matches(key)
    }

    /// The key to meter a fragment under: a later fragment gets the ports of its packet's first
    /// fragment; nil when that has not been seen yet and the fragment is held as counts instead
    /// of metered now.
    @inline(never)
    mutating func attributeFragment(_ facts: PacketFacts, now: UInt64) -> FlowKey? {
        var evicted: FragmentTable.Held?
        defer { if let evicted { meterHeld(evicted) } }
        if facts.isFirstFragment {
            if var held = fragments.first(facts.key, id: facts.fragmentID, now: now, evicted: &evicted) {
                held.key.apply(mask)
                cache.meterHeld(
                    key: held.key, packets: held.packets, octets: held.octets, firstNs: held.firstNs,
                    lastNs: held.lastNs)
            }
            return facts.key
        }
        guard
            let key = fragments.later(
                facts.key, id: facts.fragmentID, octets: facts.octets, now: now, evicted: &evicted)
        else {
            countMetered(facts)
            return nil
        }
        return key
    }

    /// Held fragments whose first fragment never came: counted in the flow without ports.
    mutating func meterHeld(_ held: FragmentTable.Held) {
        var key = held.key
        key.apply(mask)
        cache.meterHeld(
            key: key, packets: held.packets, octets: held.octets, firstNs: held.firstNs, lastNs: held.lastNs)
        if cache.ordered && cache.newCount != 0 { cache.enqueueNew(now: held.lastNs) }
    }

    /// Meters the held counts of the next fragment entry past its timeout in its flow without
    /// ports (at shutdown pass `.max`). False when none is left. One entry per call: each may
    /// evict a flow, so the owner drains the outbox between calls.
    public mutating func expireFragment(now: UInt64) -> Bool {
        guard let held = fragments.nextExpired(now: now) else { return false }
        meterHeld(held)
        return true
    }

    /// The counters, with the cache's and the fragment table's folded in.
    public var snapshot: ForwarderCounters {
        var c = counters
        c.flowsCreated = cache.flowsCreated
        c.evictions = cache.evictions
        c.liveFlows = UInt64(cache.liveFlows)
        c.fragmentsAttributed = fragments.attributed
        c.fragmentsUnattributed = fragments.unattributed
        c.fragmentsHeld = UInt64(fragments.inUse)
        c.peakFlows = UInt64(cache.peakFlows)
        c.recordsByReason = cache.recordsByReason
        c.recordsLost &+= cache.recordsDropped
        c.resetNoticesLost = cache.resetNoticesLost
        c.peerResetsClosed = cache.peerResetsClosed
        c.peerResetsUnmatched = cache.peerResetsUnmatched
        c.recordsByApplication = cache.recordsByApplication
        for i in c.inspectIssues.indices { c.inspectIssues[i] = cache.apps.issues[i] }
        c.detailsLost = cache.detailsLost
        c.labels = UInt64(cache.apps.labelCapacity)
        c.labelsInUse = UInt64(cache.apps.labelsInUse)
        c.labelsExhausted = cache.apps.labelsExhausted
        c.reassemblyBuffers = UInt64(cache.apps.bufferCapacity)
        c.reassemblyInUse = UInt64(cache.apps.buffersInUse)
        c.reassemblyExhausted = cache.apps.buffersExhausted
        c.quicDecryptions = cache.apps.quicDecryptions
        c.quicDecryptionsSkipped = cache.apps.quicSkipped
        return c
    }
}

import FlowTapBase

/// Ethernet → 802.1Q/802.1ad → PPPoE session → MPLS → IPv4/IPv6 (+ extension headers) →
/// TCP/UDP/SCTP/ICMP, over the raw frame. Every load is preceded by a bounds check against the
/// frame or the IP length, whichever is shorter; nothing allocates. A frame that fails a check is
/// reported as `.malformed` with the reason: the caller forwards it anyway.
///
/// The wire length: what the frame was on the wire, from a capture's original length. A live
/// frame is whole (`wire == length`); a capture's packet may have been cut by its snap length,
/// and is then metered by its IP header's length as long as the headers its flow key needs were
/// captured (`PacketFacts.Marks.snapped`), with TCP flags only when they were captured. An IPv4
/// total length of 0 and an IPv6 payload length of 0 over anything but "no next header" (a
/// TSO or BIG TCP packet captured on its sender) count as their wire length; an IPv6 jumbogram
/// (RFC 2675) as its Jumbo Payload option says.
public enum PacketDecoder {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeIPv6: UInt16 = 0x86DD
    @usableFromInline static let etherTypeVLAN: UInt16 = 0x8100
    @usableFromInline static let etherTypeQinQ: UInt16 = 0x88A8
    @usableFromInline static let etherTypeMPLS: UInt16 = 0x8847
    @usableFromInline static let etherTypeMPLSMulticast: UInt16 = 0x8848
    @usableFromInline static let etherTypePPPoESession: UInt16 = 0x8864
    /// Label stack entries read before giving up: deeper stacks are hostile or exotic.
    @usableFromInline static let maxMPLSLabels = 8
    /// IPv6 extension headers walked before giving up; a chain longer than this is hostile.
    static let maxExtensionHeaders = 8

    /// Decodes `frame` into `facts`: the whole decoder in one call, which the meter's paths must
    /// agree with (PacketMeterTests). With `l2` false the L2 words of the key (MACs, ethertype,
    /// VLANs, MPLS labels) are left zero, as the `--record` mask would leave them: the meter then
    /// neither builds them nor clears them again.
    /// `wireLength`: the frame's length on the wire when it was captured cut short (nil: whole).
    @inline(__always) @inlinable
    public static func decode(
        _ frame: UnsafeRawPointer, length: Int, wireLength: Int? = nil, into facts: inout PacketFacts,
        l2: Bool = true
    ) {
        guard let etherType = decodeLink(frame, length: length, into: &facts, l2: l2) else { return }
        let offset = Int(facts.ipOffset)
        let available = length - offset
        let wire = max(wireLength ?? length, length) - offset
        switch etherType {
        case etherTypeIPv4:
            if !decodeIPv4(frame + offset, available: available, into: &facts) {
                facts = decodeIPv4Unusual(frame + offset, facts, available: available, wire: wire)
            }
        case etherTypeIPv6:
            if !decodeIPv6(frame + offset, available: available, into: &facts) {
                facts = decodeIPv6Unusual(frame + offset, facts, available: available, wire: wire)
            }
        default: decodeNonIP(available: available, into: &facts)
        }
    }

    /// The link layer: Ethernet, up to two VLAN tags, a PPPoE session, an MPLS label stack. Resets `facts`, fills
    /// its L2 words (when `l2`) and `ipOffset`, and returns the ethertype of what follows (an
    /// MPLS payload named by its version nibble); nil for a malformed frame, `facts` saying why.
    /// The meter calls this and the network-layer decoders itself, to keep IPv6 off the IPv4 path.
    @inline(__always) @inlinable
    package static func decodeLink(_ frame: UnsafeRawPointer, length: Int, into facts: inout PacketFacts, l2: Bool)
        -> UInt16?
    {
        facts.key = FlowKey()
        facts.tcpFlags = 0
        facts.marks = 0
        facts.transportEnd = 0
        facts.issue = .none
        guard length >= 14 else { fail(&facts, .truncatedEthernet); return nil }
        var etherType = frame.be16(12)
        var offset = 14
        var outer: UInt16 = 0, inner: UInt16 = 0
        var tags = 0
        while etherType == etherTypeVLAN || etherType == etherTypeQinQ {
            guard tags < 2 else { fail(&facts, .tooManyVLANTags); return nil }
            guard length >= offset + 4 else { fail(&facts, .truncatedVLAN); return nil }
            let vlan = frame.be16(offset) & 0x0FFF | FlowKey.vlanPresent
            if tags == 0 { outer = vlan } else { inner = vlan }
            etherType = frame.be16(offset + 2)
            offset += 4
            tags += 1
        }
        if l2 {
            facts.key.w4 = frame.mac(6) | UInt64(etherType) << 48
            facts.key.w5 = frame.mac(0) | UInt64(outer) << 48
            facts.key.w7 = UInt64(inner)
        }
        // MPLS (0x8847, 0x8848) and PPPoE sessions (0x8864) in one test: the range holds no
        // other ethertype the decoder reads, and none of IPv4's or IPv6's.
        if UInt16(truncatingIfNeeded: etherType &- etherTypeMPLS) <= etherTypePPPoESession - etherTypeMPLS {
            guard
                let inner = decodeShim(
                    frame, length: length, etherType: etherType, offset: &offset, into: &facts, l2: l2)
            else {
                return nil
            }
            etherType = inner
        }
        facts.ipOffset = UInt16(truncatingIfNeeded: offset)
        return etherType
    }

    /// What may sit between the Ethernet header and IP: a PPPoE session header (RFC 2516) with
    /// its PPP protocol, then an MPLS label stack (on Ethernet, or in PPP as protocol 0x0281),
    /// its top two entries in the key. Returns the ethertype of what follows (0 for a PPP
    /// protocol other than IP and MPLS: the meter counts the frame as non-IP), nil for a
    /// malformed frame. Inline: passed to a call, `facts` would live in memory on every frame's
    /// path, where its key is built in registers.
    @inline(__always) @inlinable
    static func decodeShim(
        _ frame: UnsafeRawPointer, length: Int, etherType type: UInt16, offset: inout Int,
        into facts: inout PacketFacts, l2: Bool
    ) -> UInt16? {
        var etherType = type
        if etherType == etherTypePPPoESession {
            let session = decodePPPoE(frame, length: length, offset: offset)
            guard session.issue == .none else { fail(&facts, session.issue); return nil }
            (etherType, offset) = (session.etherType, session.offset)
        }
        if etherType == etherTypeMPLS || etherType == etherTypeMPLSMulticast {
            // Walk to the bottom of the stack, keeping the top two entries; the packet under it
            // says what it is by its first nibble.
            var labels = 0
            while true {
                guard length >= offset + 4 else { fail(&facts, .truncatedMPLS); return nil }
                guard labels < maxMPLSLabels else { fail(&facts, .mplsStackTooDeep); return nil }
                let entry = frame.be32(offset)
                if l2 && labels < 2 { facts.key.w7 |= UInt64(entry >> 8) << (16 + 24 * UInt64(labels)) }
                labels += 1
                offset += 4
                if entry & 0x100 != 0 { break }
            }
            guard length > offset else { fail(&facts, .truncatedMPLS); return nil }
            switch frame.u8(offset) >> 4 {
            case 4: etherType = etherTypeIPv4
            case 6: etherType = etherTypeIPv6
            default: break
            }
        }
        return etherType
    }

    /// A PPPoE session header at `offset` (RFC 2516: version 1, type 1, code 0 for session
    /// data, the session id, a length) and the PPP protocol after it: two bytes, or one where
    /// protocol field compression was negotiated (RFC 1661 §6.5: an odd first byte; RFC 2516
    /// discourages it, scapy writes it). The ethertype of what follows and where it starts, or
    /// why the frame is malformed. Out of line and without `facts`, as `decodeLink` must stay
    /// small.
    @inline(never)
    @usableFromInline static func decodePPPoE(_ frame: UnsafeRawPointer, length: Int, offset: Int) -> (
        etherType: UInt16, offset: Int, issue: DecodeIssue
    ) {
        guard length >= offset + 8 else { return (0, 0, .truncatedPPPoE) }
        guard frame.u8(offset) == 0x11, frame.u8(offset + 1) == 0 else { return (0, 0, .badPPPoEHeader) }
        let compressed = frame.u8(offset + 6) & 1 == 1
        return (
            pppEtherType(compressed ? UInt16(frame.u8(offset + 6)) : frame.be16(offset + 6)),
            offset + (compressed ? 7 : 8), .none
        )
    }

    /// The ethertype that carries what a PPP protocol number (RFC 1661; IANA's PPP DLL
    /// protocol numbers) carries: IPv4, IPv6, MPLS; 0 for anything else (LCP, IPCP, ...).
    public static func pppEtherType(_ protocolNumber: UInt16) -> UInt16 {
        switch protocolNumber {
        case 0x0021: etherTypeIPv4
        case 0x0057: etherTypeIPv6
        case 0x0281: etherTypeMPLS
        case 0x0283: etherTypeMPLSMulticast
        default: 0
        }
    }

    @inline(__always) @inlinable
    package static func decodeNonIP(available: Int, into facts: inout PacketFacts) {
        facts.kind = .nonIP
        facts.octets = UInt32(available)
    }

    @inline(__always) @inlinable
    static func fail(_ facts: inout PacketFacts, _ issue: DecodeIssue) {
        facts.kind = .malformed
        facts.issue = issue
    }

    /// The IPv4 packet at `ip`, `available` bytes of it in the buffer. False, with nothing
    /// decoded past the link layer, when its length is not within those bytes: the caller takes
    /// `decodeIPv4Unusual` then, out of line, so that every frame's path stays as short as it
    /// was and its key words known (an IPv4 key's IPv6 words are constant zeros there).
    @inline(__always) @inlinable
    package static func decodeIPv4(_ ip: UnsafeRawPointer, available: Int, into facts: inout PacketFacts) -> Bool {
        guard available >= 20 else { fail(&facts, .truncatedIPv4); return true }
        let versionIHL = ip.u8(0)
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard versionIHL >> 4 == 4, headerLength >= 20 else { fail(&facts, .badIPv4Header); return true }
        guard available >= headerLength else { fail(&facts, .truncatedIPv4); return true }
        let totalLength = Int(ip.be16(2))
        // Below the header or beyond the bytes there, in one unsigned comparison: both are rare.
        guard UInt(bitPattern: totalLength &- headerLength) <= UInt(bitPattern: available &- headerLength) else {
            return false
        }
        guard let proto = decodeIPv4Header(ip, totalLength: totalLength, into: &facts) else { return true }
        decodeTransport(
            ip + headerLength, available: totalLength &- headerLength, proto: proto, icmp: 1,
            headerStart: facts.ipOffset &+ UInt16(headerLength), into: &facts)
        return true
    }

    /// An IPv4 length that is not within the bytes there: 0 (TSO, BIG TCP: the wire length
    /// counts), below the header (malformed), beyond the wire length (malformed), or beyond the
    /// bytes captured (snapped). Takes and returns `facts` by value: by reference, a call would
    /// keep them in memory on every frame's path (the key is built in registers).
    @inline(never)
    @usableFromInline static func decodeIPv4Unusual(
        _ ip: UnsafeRawPointer, _ decoded: PacketFacts, available: Int, wire: Int
    ) -> PacketFacts {
        var facts = decoded
        let headerLength = Int(ip.u8(0) & 0x0F) * 4
        let stated = Int(ip.be16(2))
        let totalLength = stated == 0 ? wire : stated
        guard totalLength >= headerLength else { fail(&facts, .ipv4LengthBelowHeader); return facts }
        guard totalLength <= wire else { fail(&facts, .ipv4LengthBeyondFrame); return facts }
        let captured = min(totalLength, available)
        if captured < totalLength { facts.marks |= PacketFacts.Marks.snapped }
        guard decodeIPv4Header(ip, totalLength: totalLength, into: &facts) != nil else { return facts }
        decodeCapturedTransport(
            ip + headerLength, captured: captured &- headerLength, length: totalLength &- headerLength,
            icmp: 1, headerStart: facts.ipOffset &+ UInt16(headerLength), into: &facts)
        return facts
    }

    /// The IPv4 header's flow key fields, length and fragment marks; its protocol, nil when no
    /// transport header follows (a later fragment).
    @inline(__always) @inlinable
    static func decodeIPv4Header(_ ip: UnsafeRawPointer, totalLength: Int, into facts: inout PacketFacts) -> UInt8? {
        let proto = ip.u8(9)
        facts.key.w0 = UInt64(ip.raw32(12))
        facts.key.w2 = UInt64(ip.raw32(16))
        facts.key.w6 = UInt64(proto) << 32 | UInt64(ip.u8(1)) << 40 | 4 << 48
        facts.octets = UInt32(truncatingIfNeeded: totalLength)
        facts.kind = .ipv4
        let flagsOffset = ip.be16(6)
        if flagsOffset & 0x3FFF != 0 { // more fragments, or an offset: a fragment
            facts.fragmentID = UInt32(ip.be16(4))
            if flagsOffset & 0x1FFF != 0 {
                facts.marks |= PacketFacts.Marks.laterFragment
                return nil
            }
            facts.marks |= PacketFacts.Marks.firstFragment
        }
        return proto
    }

    /// The IPv6 packet at `ip`, as `decodeIPv4`: false for a payload length of 0 (unless no
    /// header follows) or beyond the bytes there (`decodeIPv6Unusual`).
    @inline(__always) @inlinable
    package static func decodeIPv6(_ ip: UnsafeRawPointer, available: Int, into facts: inout PacketFacts) -> Bool {
        guard available >= 40 else { fail(&facts, .truncatedIPv6); return true }
        guard ip.u8(0) >> 4 == 6 else { fail(&facts, .badIPv6Header); return true }
        let payloadLength = Int(ip.be16(4))
        if payloadLength == 0 && ip.u8(6) != 59 { return false }
        let end = 40 + payloadLength
        guard end <= available else { return false }
        let offset = decodeIPv6Header(ip, end: end, captured: end, into: &facts)
        if offset == 0 { return true }
        decodeTransport(
            ip + offset, available: end &- offset, proto: facts.key.ipProtocol, icmp: 58,
            headerStart: facts.ipOffset &+ UInt16(truncatingIfNeeded: offset), into: &facts)
        return true
    }

    /// An IPv6 packet longer than the bytes there (snapped, within the wire length; beyond it,
    /// malformed), or of payload length 0: a jumbogram (RFC 2675: a hop-by-hop header first,
    /// with a Jumbo Payload option, else malformed), or a BIG TCP packet its sender's capture
    /// shows without that header (its wire length counts). By value, as `decodeIPv4Unusual`.
    @inline(never)
    @usableFromInline static func decodeIPv6Unusual(
        _ ip: UnsafeRawPointer, _ decoded: PacketFacts, available: Int, wire: Int
    ) -> PacketFacts {
        var facts = decoded
        var end = 40 + Int(ip.be16(4))
        if end == 40 {
            if ip.u8(6) == 0 {
                guard let jumbo = jumboPayloadLength(ip, available: available) else {
                    fail(&facts, .ipv6Jumbogram); return facts
                }
                end = 40 + jumbo
            } else {
                end = max(wire, 40)
            }
        }
        guard end <= wire else { fail(&facts, .ipv6LengthBeyondFrame); return facts }
        let captured = min(end, available)
        if captured < end { facts.marks |= PacketFacts.Marks.snapped }
        let offset = decodeIPv6Header(ip, end: end, captured: captured, into: &facts)
        if offset == 0 { return facts }
        decodeCapturedTransport(
            ip + offset, captured: captured &- offset, length: end &- offset, icmp: 58,
            headerStart: facts.ipOffset &+ UInt16(truncatingIfNeeded: offset), into: &facts)
        return facts
    }

    /// The Jumbo Payload option's length (RFC 2675 §2: option 0xC2 of 4 bytes in the hop-by-hop
    /// header that follows the IPv6 header, more than 65 535), or nil when the captured bytes
    /// hold no such option.
    static func jumboPayloadLength(_ ip: UnsafeRawPointer, available: Int) -> Int? {
        guard available >= 48 else { return nil }
        let end = min(40 + (Int(ip.u8(41)) + 1) * 8, available)
        var at = 42
        while at < end {
            let type = ip.u8(at)
            if type == 0 { at += 1; continue } // Pad1
            guard at + 2 <= end else { return nil }
            let length = Int(ip.u8(at + 1))
            if type == 0xC2 && length == 4 && at + 6 <= end {
                let jumbo = Int(ip.be32(at + 2))
                return jumbo > 65_535 ? jumbo : nil
            }
            at += 2 + length
        }
        return nil
    }

    /// The IPv6 header and its extension headers, walked within the `captured` bytes of the
    /// packet's `end`: the flow key fields, length and fragment marks. Returns where the
    /// transport header starts, 0 when none follows (a later fragment, a malformed chain).
    @inline(__always) @inlinable
    static func decodeIPv6Header(_ ip: UnsafeRawPointer, end: Int, captured: Int, into facts: inout PacketFacts) -> Int
    {
        var next = ip.u8(6)
        facts.key.w0 = ip.raw64(8)
        facts.key.w1 = ip.raw64(16)
        facts.key.w2 = ip.raw64(24)
        facts.key.w3 = ip.raw64(32)
        var offset = 40
        // Extension headers are rare (fragments, hop-by-hop options): walked out of line.
        if next == 0 || next == 43 || next == 60 || next == 51 || next == 44 {
            let chain = walkIPv6Extensions(ip, next: next, captured: captured)
            guard chain.issue == .none else {
                fail(&facts, chain.issue)
                return 0
            }
            (offset, next) = (chain.offset, chain.next)
            facts.marks |= chain.marks
            facts.fragmentID = chain.fragmentID
        }
        facts.key.w6 =
            UInt64(next) << 32 | UInt64(truncatingIfNeeded: ip.be32(0) >> 20) << 40 & 0xFF00_0000_0000 | 6 << 48
        facts.octets = UInt32(truncatingIfNeeded: end)
        facts.kind = .ipv6
        return facts.isLaterFragment ? 0 : offset
    }

    /// The extension headers from `next` on (hop-by-hop, routing, destination options, AH,
    /// fragment), at most `maxExtensionHeaders` of them and within the `captured` bytes: where
    /// the header that follows them starts and what it is, the fragment marks and id.
    @inline(never)
    @usableFromInline static func walkIPv6Extensions(_ ip: UnsafeRawPointer, next first: UInt8, captured: Int)
        -> (offset: Int, next: UInt8, marks: UInt8, fragmentID: UInt32, issue: DecodeIssue)
    {
        var next = first
        var offset = 40
        var marks: UInt8 = 0
        var fragmentID: UInt32 = 0
        var walked = 0
        walk: while true {
            switch next {
            case 0, 43, 60, 51: // hop-by-hop, routing, destination options, AH
                guard walked < maxExtensionHeaders, offset + 8 <= captured else {
                    return (0, 0, 0, 0, .ipv6ExtensionChain)
                }
                let length = next == 51 ? (Int(ip.u8(offset + 1)) + 2) * 4 : (Int(ip.u8(offset + 1)) + 1) * 8
                next = ip.u8(offset)
                offset += length
            case 44: // fragment
                guard walked < maxExtensionHeaders, offset + 8 <= captured else {
                    return (0, 0, 0, 0, .ipv6ExtensionChain)
                }
                let offsetMore = ip.be16(offset + 2)
                if offsetMore >> 3 != 0 {
                    marks |= PacketFacts.Marks.laterFragment
                } else if offsetMore & 1 != 0 {
                    marks |= PacketFacts.Marks.firstFragment
                }
                fragmentID = ip.be32(offset + 4)
                next = ip.u8(offset)
                offset += 8
            default:
                break walk
            }
            walked += 1
        }
        guard offset <= captured else { return (0, 0, 0, 0, .ipv6ExtensionChain) }
        return (offset, next, marks, fragmentID, .none)
    }

    /// The transport header at `l4`, `available` bytes of it there: ports, TCP flags, sequence
    /// and payload length.
    @inline(__always) @inlinable
    static func decodeTransport(
        _ l4: UnsafeRawPointer, available: Int, proto: UInt8, icmp: UInt8,
        headerStart: UInt16, into facts: inout PacketFacts
    ) {
        switch proto {
        case 6:
            guard available >= 20 else { return fail(&facts, .truncatedTCP) }
            let word = l4.be16(12)
            guard word >> 12 >= 5 else { return fail(&facts, .badTCPDataOffset) }
            // The payload bit is flowtap's own (bit 15, above the TCP header's 12): the meter's
            // handshake timing and sequence tracking want data segments; records never carry it.
            let payload = available &- Int(word >> 12) &* 4
            facts.tcpFlags = word & 0x0FFF | (payload > 0 ? TCPFlags.payload : 0)
            facts.tcpSequence = l4.be32(4)
            facts.tcpPayload = UInt32(truncatingIfNeeded: payload)
            facts.key.setL4(sourcePort: l4.be16(0), destinationPort: l4.be16(2))
            facts.transportEnd = headerStart &+ (word >> 12) * 4
        case 17, 132, 136: // UDP, SCTP, UDP-Lite: ports in the first four bytes
            guard available >= 8 else { return fail(&facts, .truncatedUDP) }
            facts.key.setL4(sourcePort: l4.be16(0), destinationPort: l4.be16(2))
            facts.transportEnd = headerStart &+ 8
        case icmp:
            guard available >= 2 else { return fail(&facts, .truncatedICMP) }
            facts.key.setL4(sourcePort: 0, destinationPort: l4.be16(0))
        default:
            break
        }
    }

    /// A transport segment of `length` bytes of which the capture kept `captured`: what the
    /// flow key needs must be there (the ports: 4 bytes); TCP flags and sequence only when the
    /// TCP header was captured (else 0), the payload length from the IP length.
    @inline(__always) @inlinable
    static func decodeCapturedTransport(
        _ l4: UnsafeRawPointer, captured: Int, length: Int, icmp: UInt8, headerStart: UInt16,
        into facts: inout PacketFacts
    ) {
        let proto = facts.key.ipProtocol
        let needed = proto == 6 ? 20 : 8
        if captured < length && captured < needed && (proto == 6 || proto == 17 || proto == 132 || proto == 136) {
            guard captured >= 4, length >= needed else {
                return fail(&facts, proto == 6 ? .truncatedTCP : .truncatedUDP)
            }
            facts.key.setL4(sourcePort: l4.be16(0), destinationPort: l4.be16(2))
            return
        }
        decodeTransport(l4, available: captured, proto: proto, icmp: icmp, headerStart: headerStart, into: &facts)
        if proto == 6 && facts.kind != .malformed {
            let payload = length &- Int(facts.transportEnd &- headerStart)
            facts.tcpPayload = UInt32(truncatingIfNeeded: payload)
            facts.tcpFlags = facts.tcpFlags & ~TCPFlags.payload | (payload > 0 ? TCPFlags.payload : 0)
        }
    }
}

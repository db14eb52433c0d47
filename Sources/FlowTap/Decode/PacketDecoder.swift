/// Ethernet → 802.1Q/802.1ad → IPv4/IPv6 (+ extension headers) → TCP/UDP/SCTP/ICMP, over the raw
/// frame. Every load is preceded by a bounds check against the frame or the IP length, whichever
/// is shorter; nothing allocates. A frame that fails a check is reported as `.malformed` with the
/// reason: the caller forwards it anyway.
public enum PacketDecoder {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeIPv6: UInt16 = 0x86DD
    static let etherTypeVLAN: UInt16 = 0x8100
    static let etherTypeQinQ: UInt16 = 0x88A8
    static let etherTypeMPLS: UInt16 = 0x8847
    static let etherTypeMPLSMulticast: UInt16 = 0x8848
    /// Label stack entries read before giving up: deeper stacks are hostile or exotic.
    static let maxMPLSLabels = 8
    /// IPv6 extension headers walked before giving up; a chain longer than this is hostile.
    static let maxExtensionHeaders = 8

    /// Decodes `frame` into `facts`: the whole decoder in one call, which the meter's paths must
    /// agree with (PacketMeterTests). With `l2` false the L2 words of the key (MACs, ethertype,
    /// VLANs, MPLS labels) are left zero, as the `--record` mask would leave them: the meter then
    /// neither builds them nor clears them again.
    @inline(__always)
    public static func decode(_ frame: UnsafeRawPointer, length: Int, into facts: inout PacketFacts, l2: Bool = true) {
        guard let etherType = decodeLink(frame, length: length, into: &facts, l2: l2) else { return }
        let offset = Int(facts.ipOffset)
        switch etherType {
        case etherTypeIPv4: decodeIPv4(frame + offset, available: length - offset, into: &facts)
        case etherTypeIPv6: decodeIPv6(frame + offset, available: length - offset, into: &facts)
        default: decodeNonIP(available: length - offset, into: &facts)
        }
    }

    /// The link layer: Ethernet, up to two VLAN tags, an MPLS label stack. Resets `facts`, fills
    /// its L2 words (when `l2`) and `ipOffset`, and returns the ethertype of what follows (an
    /// MPLS payload named by its version nibble); nil for a malformed frame, `facts` saying why.
    /// The meter calls this and the network-layer decoders itself, to keep IPv6 off the IPv4 path.
    @inline(__always)
    static func decodeLink(_ frame: UnsafeRawPointer, length: Int, into facts: inout PacketFacts, l2: Bool) -> UInt16? {
        facts.key = FlowKey()
        facts.tcpFlags = 0
        facts.isLaterFragment = false
        facts.isFirstFragment = false
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
        facts.ipOffset = UInt16(truncatingIfNeeded: offset)
        return etherType
    }

    @inline(__always)
    static func decodeNonIP(available: Int, into facts: inout PacketFacts) {
        facts.kind = .nonIP
        facts.octets = UInt32(available)
    }

    @inline(__always)
    static func fail(_ facts: inout PacketFacts, _ issue: DecodeIssue) {
        facts.kind = .malformed
        facts.issue = issue
    }

    @inline(__always)
    static func decodeIPv4(_ ip: UnsafeRawPointer, available: Int, into facts: inout PacketFacts) {
        guard available >= 20 else { return fail(&facts, .truncatedIPv4) }
        let versionIHL = ip.u8(0)
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard versionIHL >> 4 == 4, headerLength >= 20 else { return fail(&facts, .badIPv4Header) }
        guard available >= headerLength else { return fail(&facts, .truncatedIPv4) }
        let totalLength = Int(ip.be16(2))
        guard totalLength >= headerLength else { return fail(&facts, .ipv4LengthBelowHeader) }
        guard totalLength <= available else { return fail(&facts, .ipv4LengthBeyondFrame) }
        let proto = ip.u8(9)
        facts.key.w0 = UInt64(ip.raw32(12))
        facts.key.w2 = UInt64(ip.raw32(16))
        facts.key.w6 = UInt64(proto) << 32 | UInt64(ip.u8(1)) << 40 | 4 << 48
        facts.octets = UInt32(totalLength)
        facts.kind = .ipv4
        let flagsOffset = ip.be16(6)
        if flagsOffset & 0x3FFF != 0 { // more fragments, or an offset: a fragment
            facts.fragmentID = UInt32(ip.be16(4))
            if flagsOffset & 0x1FFF != 0 {
                facts.isLaterFragment = true
                return
            }
            facts.isFirstFragment = true
        }
        decodeTransport(ip + headerLength, available: totalLength - headerLength, proto: proto,
                        icmp: 1, headerStart: facts.ipOffset &+ UInt16(headerLength), into: &facts)
    }

    @inline(__always)
    static func decodeIPv6(_ ip: UnsafeRawPointer, available: Int, into facts: inout PacketFacts) {
        guard available >= 40 else { return fail(&facts, .truncatedIPv6) }
        let first = ip.be32(0)
        guard first >> 28 == 6 else { return fail(&facts, .badIPv6Header) }
        let payloadLength = Int(ip.be16(4))
        var next = ip.u8(6)
        if payloadLength == 0 && next == 0 { return fail(&facts, .ipv6Jumbogram) }
        let end = 40 + payloadLength
        guard end <= available else { return fail(&facts, .ipv6LengthBeyondFrame) }
        facts.key.w0 = ip.raw64(8)
        facts.key.w1 = ip.raw64(16)
        facts.key.w2 = ip.raw64(24)
        facts.key.w3 = ip.raw64(32)
        let trafficClass = UInt8(truncatingIfNeeded: first >> 20)
        var offset = 40
        var walked = 0
        walk: while true {
            switch next {
            case 0, 43, 60, 51: // hop-by-hop, routing, destination options, AH
                guard walked < maxExtensionHeaders, offset + 8 <= end else {
                    return fail(&facts, .ipv6ExtensionChain)
                }
                let length = next == 51 ? (Int(ip.u8(offset + 1)) + 2) * 4 : (Int(ip.u8(offset + 1)) + 1) * 8
                next = ip.u8(offset)
                offset += length
            case 44: // fragment
                guard walked < maxExtensionHeaders, offset + 8 <= end else {
                    return fail(&facts, .ipv6ExtensionChain)
                }
                let offsetMore = ip.be16(offset + 2)
                if offsetMore >> 3 != 0 {
                    facts.isLaterFragment = true
                } else if offsetMore & 1 != 0 {
                    facts.isFirstFragment = true
                }
                facts.fragmentID = ip.be32(offset + 4)
                next = ip.u8(offset)
                offset += 8
            default:
                break walk
            }
            walked += 1
        }
        guard offset <= end else { return fail(&facts, .ipv6ExtensionChain) }
        facts.key.w6 = UInt64(next) << 32 | UInt64(trafficClass) << 40 | 6 << 48
        facts.octets = UInt32(end)
        facts.kind = .ipv6
        if facts.isLaterFragment { return }
        decodeTransport(ip + offset, available: end - offset, proto: next, icmp: 58,
                        headerStart: facts.ipOffset &+ UInt16(truncatingIfNeeded: offset), into: &facts)
    }

    @inline(__always)
    static func decodeTransport(_ l4: UnsafeRawPointer, available: Int, proto: UInt8, icmp: UInt8,
                                headerStart: UInt16, into facts: inout PacketFacts) {
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
}

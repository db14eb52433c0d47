import FlowTapBase

/// The fields that tell one flow from another, packed in eight words so that hashing and
/// comparing are eight loads each.
///
/// Addresses and MACs are kept in memory (network) order and written back the same way; the
/// small fields are host-order numbers. Fields of record sets that are not exported are zeroed
/// by `RecordSet.keyMask`, so flows differing only in them merge.
public struct FlowKey: Hashable, Sendable {
    /// Source address: IPv4 in the low four bytes of `w0`, IPv6 in `w0`,`w1`.
    public var w0: UInt64 = 0, w1: UInt64 = 0
    /// Destination address, laid out like the source.
    public var w2: UInt64 = 0, w3: UInt64 = 0
    /// Source MAC (48 bits) | ethertype << 48.
    public var w4: UInt64 = 0
    /// Destination MAC (48 bits) | outer VLAN tag << 48.
    public var w5: UInt64 = 0
    /// Source port | destination port << 16 | protocol << 32 | ToS << 40 | IP version << 48.
    /// For ICMP the "destination port" holds type << 8 | code and the source port is 0.
    public var w6: UInt64 = 0
    /// Inner (customer) VLAN tag | top MPLS label stack entry << 16 | second entry << 40.
    /// A label stack entry is stored as its 24 upper bits (label, traffic class, bottom of
    /// stack), as mplsTopLabelStackSection carries it.
    public var w7: UInt64 = 0

    @inlinable public init() {}

    /// A VLAN field holds the 12-bit id with this bit set when the tag was present, so that
    /// "no tag" and "VLAN 0" (priority tagged) stay apart.
    public static let vlanPresent: UInt16 = 0x8000

    @inlinable public var sourceMAC: UInt64 { w4 & 0xFFFF_FFFF_FFFF }
    public var destinationMAC: UInt64 { w5 & 0xFFFF_FFFF_FFFF }
    @inlinable public var etherType: UInt16 { UInt16(truncatingIfNeeded: w4 >> 48) }
    public var outerVLAN: UInt16 { UInt16(truncatingIfNeeded: w5 >> 48) }
    @inlinable public var innerVLAN: UInt16 { UInt16(truncatingIfNeeded: w7) }
    /// The top two MPLS label stack entries (24 bits each), 0 when absent.
    @inlinable public var mplsTopLabel: UInt32 { UInt32(truncatingIfNeeded: w7 >> 16) & 0xFF_FFFF }
    public var mplsSecondLabel: UInt32 { UInt32(truncatingIfNeeded: w7 >> 40) & 0xFF_FFFF }
    @inlinable public var sourcePort: UInt16 { UInt16(truncatingIfNeeded: w6) }
    public var destinationPort: UInt16 { UInt16(truncatingIfNeeded: w6 >> 16) }
    @inlinable public var ipProtocol: UInt8 { UInt8(truncatingIfNeeded: w6 >> 32) }
    public var tos: UInt8 { UInt8(truncatingIfNeeded: w6 >> 40) }
    @inlinable public var ipVersion: UInt8 { UInt8(truncatingIfNeeded: w6 >> 48) }

    /// IPv4 addresses as host-order numbers (10.0.0.1 is 0x0A000001).
    @inlinable public var sourceIPv4: UInt32 { UInt32(bigEndian: UInt32(truncatingIfNeeded: w0)) }
    public var destinationIPv4: UInt32 { UInt32(bigEndian: UInt32(truncatingIfNeeded: w2)) }

    @inline(__always) @inlinable
    package mutating func setL4(sourcePort: UInt16, destinationPort: UInt16) {
        w6 = (w6 & ~0xFFFF_FFFF) | UInt64(sourcePort) | UInt64(destinationPort) << 16
    }

    /// The key of the other direction of the same conversation: addresses, ports and MACs
    /// swapped. ICMP has no ports; an echo request's reverse is the echo reply (8 ↔ 0 in
    /// ICMP, 128 ↔ 129 in ICMPv6), other ICMP messages keep their type.
    public var reverseKey: FlowKey {
        var r = self
        r.w0 = w2; r.w1 = w3; r.w2 = w0; r.w3 = w1
        let mac: UInt64 = 0xFFFF_FFFF_FFFF
        r.w4 = (w4 & ~mac) | (w5 & mac)
        r.w5 = (w5 & ~mac) | (w4 & mac)
        switch ipProtocol {
        case 1, 58:
            // An echo request's reverse is its reply and back (8 <-> 0, 128 <-> 129).
            let type = UInt8(truncatingIfNeeded: destinationPort >> 8)
            let reply: UInt8? =
                switch (ipProtocol, type) {
                case (1, 8): 0
                case (1, 0): 8
                case (58, 128): 129
                case (58, 129): 128
                default: nil
                }
            if let reply {
                r.setL4(sourcePort: 0, destinationPort: UInt16(reply) << 8 | destinationPort & 0xFF)
            }
        default:
            r.setL4(sourcePort: destinationPort, destinationPort: sourcePort)
        }
        return r
    }

    @inline(__always) @inlinable
    package mutating func apply(_ mask: FlowKeyMask) {
        w0 &= mask.w0; w1 &= mask.w0; w2 &= mask.w0; w3 &= mask.w0
        w4 &= mask.w4; w5 &= mask.w4; w6 &= mask.w6; w7 &= mask.w4
    }

    /// 64-bit mix of all eight words (multiply-xorshift): cheap, and good enough that sets fill
    /// evenly under sequential addresses and ports. Unseeded: the same in every process, for
    /// what must not depend on one (the biflow pairing's canonical orientation).
    @inline(__always) @inlinable
    public var hashValue64: UInt64 { hash(seed: 0) }

    /// The mix started from `seed`. The flow cache and the fragment table use a random seed per
    /// process, so that nobody on the wire can compute which set a key lands in and aim a
    /// stream of keys at one set (each new flow would evict a live one).
    @inline(__always) @inlinable
    public func hash(seed: UInt64) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ seed
        h = Self.mix(h, w0); h = Self.mix(h, w1); h = Self.mix(h, w2); h = Self.mix(h, w3)
        h = Self.mix(h, w4); h = Self.mix(h, w5); h = Self.mix(h, w6 & ~Self.tosBits); h = Self.mix(h, w7)
        return h
    }

    /// The ToS in `w6`, left out of the hash: the two directions of a connection may carry
    /// different ones (a DSCP one side sets), and the other direction's flow of a reset
    /// connection must be found whatever its ToS (`FlowCache.closeForPeerReset`).
    @usableFromInline static let tosBits: UInt64 = 0xFF << 40

    /// The key with its ToS zeroed: where the two directions of one connection must meet
    /// although each may carry its own ToS (`LatencyJoin`, `show flows`, the reset notices).
    public var withoutTOS: FlowKey {
        var k = self
        k.w6 &= ~Self.tosBits
        return k
    }

    /// The same key but perhaps for the ToS.
    @inline(__always) @inlinable
    package func equalsIgnoringTOS(_ other: FlowKey) -> Bool { withoutTOS == other.withoutTOS }

    /// The eight words compared without a branch between them: as many instructions as the
    /// synthesized comparison on the flow table's lookup, and one block instead of eight (the
    /// frame path must stay small enough for the compiler to inline whole).
    @inline(__always) @inlinable
    public static func == (a: FlowKey, b: FlowKey) -> Bool {
        (a.w0 ^ b.w0) | (a.w1 ^ b.w1) | (a.w2 ^ b.w2) | (a.w3 ^ b.w3) | (a.w4 ^ b.w4) | (a.w5 ^ b.w5) | (a.w6 ^ b.w6)
            | (a.w7 ^ b.w7) == 0
    }

    /// WORKAROUND(swiftc 6.3.1, TSan IR): one round as a pure function rather than a nested one
    /// capturing `h` (that form made
    /// swiftc 6.3.1 emit invalid IR under -sanitize=thread with debug info).
    @inline(__always) @inlinable
    static func mix(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let m = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
        return m ^ m >> 29
    }
}

/// Which key words survive for a record set (`--record`).
public struct FlowKeyMask: Sendable {
    /// Applied to the address words.
    @usableFromInline var w0: UInt64
    /// Applied to the L2 words (MACs, ethertype, VLANs).
    @usableFromInline var w4: UInt64
    /// Applied to ports, protocol, ToS; the IP version always survives because it picks the
    /// record layout.
    @usableFromInline var w6: UInt64
    /// Whether `apply` changes anything in a key decoded with `l2` = `keepsL2`: not for
    /// l3+l4 (the decoder already left the L2 words zero) nor for l2+l3+l4.
    package let changesDecodedKey: Bool
    package let keepsL2: Bool

    public init(_ records: RecordSet) {
        w0 = records.contains(.l3) ? ~0 : 0
        w4 = records.contains(.l2) ? ~0 : 0
        var w6: UInt64 = 0xF << 48
        if records.contains(.l3) { w6 |= 0xFFFF << 32 } // protocol, ToS
        if records.contains(.l4) { w6 |= 0xFF << 32 | 0xFFFF_FFFF } // protocol, ports
        self.w6 = w6
        keepsL2 = records.contains(.l2)
        changesDecodedKey = !records.isSuperset(of: [.l3, .l4])
    }
}

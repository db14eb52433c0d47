import FlowTapBase

/// The record structure of a capture file: classic pcap (either byte order, microsecond or
/// nanosecond timestamps) and pcapng (draft-ietf-opsawg-pcapng: section header, interface
/// description, enhanced, simple and obsolete packet blocks; every other block skipped). It
/// sees bytes only: `CaptureReader` does the I/O and hands it what is buffered.
///
/// Every length the file states is checked against what the format allows and against the
/// bytes that are there before anything is read through it: a damaged file ends in a
/// `CaptureError`, never in a read out of bounds or a trap.
public struct CaptureParser: Sendable {
    /// LINKTYPE_ values (tcpdump.org/linktypes.html) flowtap meters.
    public enum LinkType: UInt32, Sendable, CaseIterable {
        /// BSD loopback: a 4-byte address family in the capturing host's byte order.
        case null = 0
        case ethernet = 1
        /// PPP (RFC 1661), with or without the HDLC-like FF 03 (RFC 1662); libpcap also writes
        /// Cisco HDLC frames under this type.
        case ppp = 9
        /// Raw IP as some systems' DLT_RAW numbers it in files (OpenBSD 12, others 14).
        case rawOpenBSD = 12
        case rawBSD = 14
        /// PPP in HDLC-like framing (RFC 1662), or Cisco HDLC.
        case pppHDLC = 50
        case raw = 101
        /// Cisco HDLC: address, control, an ethertype.
        case ciscoHDLC = 104
        /// OpenBSD loopback: the address family in network byte order.
        case loop = 108
        case linuxSLL = 113
        case ipv4 = 228
        case ipv6 = 229
        case linuxSLL2 = 276

        /// The list the refusal of another link type names.
        public static var described: String {
            "Ethernet 1, Linux cooked 113 and 276, raw IP 101, 228, 229, 12 and 14, BSD loopback 0 and 108, PPP 9 and 50, Cisco HDLC 104"
        }
    }

    /// One packet: where its bytes are in the buffer handed in, and what the file says of it.
    public struct Packet: Sendable, Equatable {
        public var offset: Int
        public var capturedLength: Int
        public var originalLength: Int
        public var timestampNs: UInt64
        public var linkType: UInt32
    }

    public enum Step: Sendable, Equatable {
        /// A packet; `consumed` bytes of the buffer are done with once it is used.
        case packet(Packet, consumed: Int)
        /// A block or header with no packet (consumed).
        case skip(consumed: Int)
        /// At least this many bytes must be buffered to go on.
        case needMore(Int)
        case failure(String)
    }

    /// Largest packet record accepted: tcpdump's MAXIMUM_SNAPLEN.
    public static let maxPacket = 262_144
    /// Largest pcapng block of any other kind (options, name resolution, secrets).
    public static let maxBlock = 16 << 20

    enum Format: Sendable {
        case unknown
        case pcap(bigEndian: Bool, nanoseconds: Bool, linkType: UInt32)
        case pcapng(bigEndian: Bool)
    }

    struct Interface: Sendable {
        var linkType: UInt32
        var snapLength: UInt32
        /// Timestamp units per second as a power: 10^n (decimal) or 2^n.
        var resolution: UInt8 = 6
        var binary = false
        var offsetSeconds: Int64 = 0
    }

    var format = Format.unknown
    var interfaces: [Interface] = []
    /// The last packet's time, for simple packet blocks (which carry none).
    var lastTimestampNs: UInt64 = 0

    public init() {}

    /// The next step over `bytes`, the buffered data from the current position on; `atEnd`:
    /// no more will come (a short record is then a truncated file).
    public mutating func next(_ bytes: UnsafeRawBufferPointer, atEnd: Bool) -> Step {
        switch format {
        case .unknown: return header(bytes, atEnd: atEnd)
        case let .pcap(big, ns, link):
            return pcapRecord(bytes, bigEndian: big, nanoseconds: ns, linkType: link, atEnd: atEnd)
        case let .pcapng(big): return pcapngBlock(bytes, bigEndian: big, atEnd: atEnd)
        }
    }

    private mutating func header(_ b: UnsafeRawBufferPointer, atEnd: Bool) -> Step {
        guard b.count >= 24 else {
            return atEnd
                ? .failure(
                    b.isEmpty ? "the input is empty" : "the input ends within the file header (\(b.count) bytes)")
                : .needMore(24)
        }
        let magic = b.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        switch magic {
        case 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1:
            let big = magic == 0xD4C3_B2A1 || magic == 0x4D3C_B2A1
            let ns = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
            let major = Self.u16(b, 4, big)
            guard major == 2 else { return .failure("pcap version \(major) is not 2") }
            // The link type's low 16 bits; the upper ones carry FCS length flags.
            let link = Self.u32(b, 20, big) & 0xFFFF
            format = .pcap(bigEndian: big, nanoseconds: ns, linkType: link)
            return .skip(consumed: 24)
        case 0x0A0D_0D0A:
            return pcapngBlock(b, bigEndian: false, atEnd: atEnd)
        default:
            return .failure("not a pcap or pcapng file (it starts with \(Self.hex(b, 4)))")
        }
    }

    private mutating func pcapRecord(
        _ b: UnsafeRawBufferPointer, bigEndian big: Bool, nanoseconds: Bool, linkType: UInt32,
        atEnd: Bool
    ) -> Step {
        if b.isEmpty, atEnd { return .needMore(0) }
        guard b.count >= 16 else {
            return atEnd ? .failure("truncated: a record header of 16 bytes has \(b.count)") : .needMore(16)
        }
        let seconds = UInt64(Self.u32(b, 0, big))
        let fraction = UInt64(Self.u32(b, 4, big))
        let captured = Int(Self.u32(b, 8, big))
        let original = Int(Self.u32(b, 12, big))
        guard captured <= Self.maxPacket else {
            return .failure(
                "a record of \(captured) bytes is longer than any capture's (\(Self.maxPacket)): the file is damaged")
        }
        guard b.count >= 16 + captured else {
            return atEnd
                ? .failure("truncated: a packet of \(captured) bytes has \(b.count - 16)") : .needMore(16 + captured)
        }
        let ns = seconds &* 1_000_000_000 &+ (nanoseconds ? fraction : fraction &* 1000)
        let packet = Packet(
            offset: 16, capturedLength: captured, originalLength: max(original, captured), timestampNs: ns,
            linkType: linkType)
        return .packet(packet, consumed: 16 + captured)
    }

    private mutating func pcapngBlock(_ b: UnsafeRawBufferPointer, bigEndian current: Bool, atEnd: Bool) -> Step {
        if b.isEmpty, atEnd { return .needMore(0) }
        guard b.count >= 12 else {
            return atEnd ? .failure("truncated: a block header of 12 bytes has \(b.count)") : .needMore(12)
        }
        var big = current
        let rawType = b.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        if rawType == 0x0A0D_0D0A {
            // A section header: its byte-order magic says how to read it and its section.
            switch b.loadUnaligned(fromByteOffset: 8, as: UInt32.self) {
            case 0x1A2B_3C4D: big = false
            case 0x4D3C_2B1A: big = true
            default: return .failure("a pcapng section header with a bad byte-order magic (\(Self.hex(b, 12)))")
            }
        }
        let type = Self.u32(b, 0, big)
        let length = Int(Self.u32(b, 4, big))
        guard length >= 12, length % 4 == 0 else {
            return .failure("a pcapng block of length \(length) (not 12 or more, in 4-byte units)")
        }
        guard length <= Self.maxBlock else {
            return .failure("a pcapng block of \(length) bytes is larger than \(Self.maxBlock)")
        }
        guard b.count >= length else {
            return atEnd ? .failure("truncated: a pcapng block of \(length) bytes has \(b.count)") : .needMore(length)
        }
        guard Int(Self.u32(b, length - 4, big)) == length else {
            return .failure("a pcapng block whose two lengths differ")
        }
        switch type {
        case 0x0A0D_0D0A:
            guard length >= 28 else { return .failure("a pcapng section header of \(length) bytes") }
            let major = Self.u16(b, 12, big)
            guard major == 1 else { return .failure("pcapng version \(major) is not 1") }
            format = .pcapng(bigEndian: big)
            interfaces = []
            return .skip(consumed: length)
        case 1:
            guard length >= 20 else { return .failure("a pcapng interface block of \(length) bytes") }
            var interface = Interface(linkType: UInt32(Self.u16(b, 8, big)), snapLength: Self.u32(b, 12, big))
            var at = 16
            while at + 4 <= length - 4 {
                let code = Self.u16(b, at, big)
                let size = Int(Self.u16(b, at + 2, big))
                guard at + 4 + size <= length - 4 else {
                    return .failure("a pcapng interface option runs past its block")
                }
                if code == 0 { break }
                if code == 9, size >= 1 {
                    let r = b[at + 4]
                    interface.binary = r & 0x80 != 0
                    interface.resolution = r & 0x7F
                } else if code == 14, size >= 8 {
                    interface.offsetSeconds = Int64(bitPattern: Self.u64(b, at + 4, big))
                }
                at += 4 + (size + 3) & ~3
            }
            guard interfaces.count < 65_536 else { return .failure("more than 65536 pcapng interfaces") }
            interfaces.append(interface)
            return .skip(consumed: length)
        case 6, 2:
            guard length >= 32 else { return .failure("a pcapng packet block of \(length) bytes") }
            let id = type == 6 ? Int(Self.u32(b, 8, big)) : Int(Self.u16(b, 8, big))
            guard id < interfaces.count else {
                return .failure("a packet of pcapng interface \(id), which no interface block describes")
            }
            let captured = Int(Self.u32(b, 20, big))
            let original = Int(Self.u32(b, 24, big))
            guard captured <= length - 32, captured <= Self.maxPacket else {
                return .failure("a pcapng packet of \(captured) bytes in a block of \(length)")
            }
            let units = UInt64(Self.u32(b, 12, big)) << 32 | UInt64(Self.u32(b, 16, big))
            let ns = Self.nanoseconds(units, interfaces[id])
            lastTimestampNs = ns
            let packet = Packet(
                offset: 28, capturedLength: captured, originalLength: max(original, captured), timestampNs: ns,
                linkType: interfaces[id].linkType)
            return .packet(packet, consumed: length)
        case 3:
            guard length >= 16, let first = interfaces.first else {
                return .failure("a pcapng simple packet block with no interface, or of \(length) bytes")
            }
            let original = Int(Self.u32(b, 8, big))
            var captured = min(original, length - 16)
            if first.snapLength > 0 { captured = min(captured, Int(first.snapLength)) }
            guard captured <= Self.maxPacket else { return .failure("a pcapng packet of \(captured) bytes") }
            let packet = Packet(
                offset: 12, capturedLength: captured, originalLength: original, timestampNs: lastTimestampNs,
                linkType: first.linkType)
            return .packet(packet, consumed: length)
        default:
            guard case .pcapng = format else { return .failure("a pcapng block before the section header") }
            return .skip(consumed: length)
        }
    }

    /// A pcapng timestamp in the interface's units, as nanoseconds since the epoch
    /// (saturating: a nonsense resolution gives a nonsense time, never a trap).
    static func nanoseconds(_ units: UInt64, _ i: Interface) -> UInt64 {
        var ns: UInt64
        if i.binary {
            let shift = UInt64(min(i.resolution, 63))
            let whole = units >> shift
            let part = units & ((1 << shift) - 1)
            let (high, low) = part.multipliedFullWidth(by: 1_000_000_000)
            let fraction = shift == 0 ? 0 : (high << (64 - shift)) | (low >> shift)
            ns =
                whole.multipliedReportingOverflow(by: 1_000_000_000).overflow ? .max : whole * 1_000_000_000 &+ fraction
        } else if i.resolution <= 9 {
            var scale: UInt64 = 1
            for _ in 0 ..< (9 - Int(i.resolution)) { scale *= 10 }
            let (product, overflow) = units.multipliedReportingOverflow(by: scale)
            ns = overflow ? .max : product
        } else {
            var scale: UInt64 = 1
            for _ in 0 ..< min(Int(i.resolution) - 9, 19) { scale *= 10 }
            ns = units / scale
        }
        if i.offsetSeconds != 0 {
            let (offset, overflow) = i.offsetSeconds.multipliedReportingOverflow(by: 1_000_000_000)
            if !overflow {
                ns =
                    offset >= 0
                    ? ns.addingReportingOverflow(UInt64(offset)).partialValue
                    : ns >= offset.magnitude ? ns - offset.magnitude : 0
            }
        }
        return ns
    }

    static func u16(_ b: UnsafeRawBufferPointer, _ at: Int, _ big: Bool) -> UInt16 {
        let v = b.loadUnaligned(fromByteOffset: at, as: UInt16.self)
        return big ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }

    static func u32(_ b: UnsafeRawBufferPointer, _ at: Int, _ big: Bool) -> UInt32 {
        let v = b.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        return big ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    static func u64(_ b: UnsafeRawBufferPointer, _ at: Int, _ big: Bool) -> UInt64 {
        let v = b.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        return big ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
    }

    static func hex(_ b: UnsafeRawBufferPointer, _ n: Int) -> String {
        b.prefix(n).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined(separator: " ")
    }
}

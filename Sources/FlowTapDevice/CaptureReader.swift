import FlowTapBase
import FlowTapDecode
import SystemPackage

/// Frames of a capture file (or a pipe), one at a time, as Ethernet frames: the meter reads
/// them as it reads a TAP's. Packets of the other link types read (Linux cooked, raw IP, BSD
/// loopback, PPP, Cisco HDLC: `CaptureParser.LinkType`) get an Ethernet header of zero
/// addresses written over the bytes in front of their network-layer packet, in the buffer: no
/// copy.
///
/// Invariants of the buffer: `base` holds `capacity` bytes; the data not yet parsed is
/// `base[start ..< end]`; `start >= headroom` after every refill, and every packet starts at
/// least 12 bytes (a record or block header) after the data's start, so the 14 bytes before
/// a packet are always this buffer's and already parsed.
public struct CaptureReader: ~Copyable {
    /// Where the bytes come from: read(2) of a descriptor, or memory (the fuzzer, tests).
    public enum Source {
        case descriptor(Descriptor)
        case memory(UnsafeRawBufferPointer)
    }

    /// A frame's bytes are the reader's buffer: valid until the next call of `next()`.
    public struct Frame {
        public var bytes: UnsafeMutableRawPointer
        public var length: Int
        public var originalLength: Int
        public var timestampNs: UInt64
    }

    public enum Outcome {
        case frame(Frame)
        /// A packet of a link type flowtap cannot meter (`read` ends there).
        case otherLinkType(UInt32)
        /// A packet whose link-layer header was cut short (by the snap length): undecodable.
        case cutLinkHeader(originalLength: Int, timestampNs: UInt64)
        case end
        case failure(CaptureError)
    }

    static let headroom = 32
    static let minimumCapacity = 1 << 20

    private var source: Source
    private var memoryOffset = 0
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private var start: Int
    private var end: Int
    private var atEnd = false
    private var parser = CaptureParser()
    /// Bytes of the input before `base[start]`, for error messages and progress.
    public private(set) var consumedBytes: UInt64 = 0
    /// Packets handed out so far, frames or not.
    public private(set) var packets: UInt64 = 0

    public init(_ source: Source) {
        self.source = source
        capacity = Self.minimumCapacity
        base = .allocate(byteCount: capacity, alignment: 16)
        start = Self.headroom
        end = Self.headroom
    }

    deinit { base.deallocate() }

    public mutating func next() -> Outcome {
        while true {
            let step = parser.next(UnsafeRawBufferPointer(start: base + start, count: end - start), atEnd: atEnd)
            switch step {
            case let .skip(consumed):
                advance(consumed)
            case let .packet(p, consumed):
                packets += 1
                let at = start + p.offset
                advance(consumed)
                switch ethernet(at: at, p) {
                case let .frame(frame): return .frame(frame)
                case .cut: return .cutLinkHeader(originalLength: p.originalLength, timestampNs: p.timestampNs)
                case .unknown: return .otherLinkType(p.linkType)
                }
            case let .needMore(wanted):
                if wanted == 0 { return .end }
                if let error = refill(wanting: wanted) { return .failure(error) }
            case let .failure(text):
                return .failure(CaptureError(text, packet: packets + 1, offset: consumedBytes))
            }
        }
    }

    private mutating func advance(_ n: Int) {
        start += n
        consumedBytes &+= UInt64(n)
    }

    /// Reads until `wanted` bytes are buffered from `start`, or the input ends.
    private mutating func refill(wanting wanted: Int) -> CaptureError? {
        if Self.headroom + wanted > capacity {
            let grown = Self.headroom + max(wanted, capacity * 2)
            let next = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
            next.advanced(by: Self.headroom).copyMemory(from: base + start, byteCount: end - start)
            base.deallocate()
            base = next
            capacity = grown
            end = Self.headroom + (end - start)
            start = Self.headroom
        } else if start + wanted > capacity || start > capacity / 2 {
            (base + Self.headroom).copyMemory(from: base + start, byteCount: end - start)
            end = Self.headroom + (end - start)
            start = Self.headroom
        }
        while end - start < wanted && !atEnd {
            let room = capacity - end
            let got: Int
            switch source {
            case let .descriptor(fd):
                do throws(Errno) {
                    got = try fd.read(into: UnsafeMutableRawBufferPointer(start: base + end, count: room))
                } catch {
                    return CaptureError(
                        "cannot read the input: \(error)", packet: packets + 1,
                        offset: consumedBytes + UInt64(end - start))
                }
            case let .memory(bytes):
                got = min(room, bytes.count - memoryOffset)
                if got > 0 { (base + end).copyMemory(from: bytes.baseAddress! + memoryOffset, byteCount: got) }
                memoryOffset += got
            }
            if got == 0 { atEnd = true } else { end += got }
        }
        return nil
    }

    /// What the packet at `base[at]` is to the meter.
    private enum Conversion {
        case frame(Frame)
        /// Its link-layer header is cut short: undecodable.
        case cut
        /// A link type flowtap does not meter.
        case unknown
    }

    /// The packet at `base[at]` as an Ethernet frame, made in place: a zero-address Ethernet
    /// header with the ethertype of what the link header says follows (0 for what is not IP or
    /// MPLS: the meter counts it as non-IP) is written over the 14 bytes in front of the
    /// network-layer packet.
    private func ethernet(at: Int, _ p: CaptureParser.Packet) -> Conversion {
        let payload = base + at
        let captured = p.capturedLength
        func byte(_ i: Int) -> UInt8 { payload.load(fromByteOffset: i, as: UInt8.self) }
        func be16(_ i: Int) -> UInt16 { UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: i, as: UInt16.self)) }
        var type: UInt16
        var skip: Int
        switch CaptureParser.LinkType(rawValue: p.linkType) {
        case .ethernet?:
            return .frame(
                Frame(bytes: payload, length: captured, originalLength: p.originalLength, timestampNs: p.timestampNs))
        case .raw?, .ipv4?, .ipv6?, .rawOpenBSD?, .rawBSD?:
            // An empty packet has no IP version to read: undecodable.
            guard captured >= 1 else { return .cut }
            let version = byte(0) >> 4
            type = version == 4 ? PacketDecoder.etherTypeIPv4 : version == 6 ? PacketDecoder.etherTypeIPv6 : 0
            skip = 0
        case .linuxSLL?:
            guard captured >= 16 else { return .cut }
            type = be16(14)
            skip = 16
        case .linuxSLL2?:
            guard captured >= 20 else { return .cut }
            type = be16(0)
            skip = 20
        case .null?, .loop?:
            guard captured >= 4 else { return .cut }
            type = Self.etherType(addressFamily: payload.loadUnaligned(as: UInt32.self))
            skip = 4
        case .ppp?, .pppHDLC?, .ciscoHDLC?:
            guard captured >= 2 else { return .cut }
            if byte(0) == 0x0F || byte(0) == 0x8F {
                // Cisco HDLC: unicast or multicast address, control 0, then an ethertype.
                guard captured >= 4 else { return .cut }
                type = be16(2)
                skip = 4
            } else {
                // PPP: FF 03 (address, control) may lead; the protocol field is one byte when
                // compressed (RFC 1661 §6.5: an odd first byte), else two.
                skip = byte(0) == 0xFF && byte(1) == 0x03 ? 2 : 0
                guard captured > skip else { return .cut }
                if byte(skip) & 1 == 1 {
                    type = PacketDecoder.pppEtherType(UInt16(byte(skip)))
                    skip += 1
                } else {
                    guard captured >= skip + 2 else { return .cut }
                    type = PacketDecoder.pppEtherType(be16(skip))
                    skip += 2
                }
            }
        case nil:
            return .unknown
        }
        // 14 bytes in front of the network-layer packet: the link header's own (SLL's 16,
        // SLL2's 20), or the record's header (12 bytes or more) and the headroom (invariants
        // above).
        let header = payload + skip - 14
        header.initializeMemory(as: UInt8.self, repeating: 0, count: 12)
        header.storeBytes(of: type.bigEndian, toByteOffset: 12, as: UInt16.self)
        return .frame(
            Frame(
                bytes: header, length: captured - skip + 14,
                originalLength: max(p.originalLength - skip, captured - skip) + 14,
                timestampNs: p.timestampNs))
    }

    /// The ethertype of a BSD loopback header's address family, read in either byte order as
    /// libpcap does (the capturing host's order for NULL, network order for LOOP): AF_INET is
    /// 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD, DragonFly), 30 (Darwin)
    /// or 10 (Linux). Anything else is not IP (0).
    static func etherType(addressFamily raw: UInt32) -> UInt16 {
        let family = raw & 0xFFFF_0000 != 0 ? raw.byteSwapped : raw
        switch family {
        case 2: return PacketDecoder.etherTypeIPv4
        case 10, 24, 28, 30: return PacketDecoder.etherTypeIPv6
        default: return 0
        }
    }
}

/// A damaged or truncated capture: what is wrong, at which packet and byte.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public var problem: String
    public var packet: UInt64
    public var offset: UInt64

    public init(_ problem: String, packet: UInt64, offset: UInt64) {
        self.problem = problem
        self.packet = packet
        self.offset = offset
    }

    public var description: String { "packet \(packet) at byte \(offset): \(problem)" }
}

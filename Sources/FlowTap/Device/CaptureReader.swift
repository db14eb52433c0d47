import SystemPackage

/// Frames of a capture file (or a pipe), one at a time, as Ethernet frames: the meter reads
/// them as it reads a TAP's. Linux cooked (SLL, SLL2) and raw IP packets get an Ethernet
/// header of zero addresses written over the bytes in front of them, in the buffer: no copy.
///
/// Invariants of the buffer: `base` holds `capacity` bytes; the data not yet parsed is
/// `base[start ..< end]`; `start >= headroom` after every refill, and every packet starts at
/// least 12 bytes (a record or block header) after the data's start, so the 14 bytes before
/// a packet are always this buffer's and already parsed.
public struct CaptureReader: ~Copyable {
    /// Where the bytes come from: read(2) of a descriptor, or memory (the fuzzer, tests).
    public enum Source {
        case descriptor(FileDescriptor)
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
                guard let frame = ethernet(at: at, p) else { return .otherLinkType(p.linkType) }
                return .frame(frame)
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
                do {
                    got = try fd.read(into: UnsafeMutableRawBufferPointer(start: base + end, count: room), retryOnInterrupt: true)
                } catch {
                    return CaptureError("cannot read the input: \(error)", packet: packets + 1, offset: consumedBytes + UInt64(end - start))
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

    /// The packet at `base[at]` as an Ethernet frame, or nil for a link type not metered.
    private func ethernet(at: Int, _ p: CaptureParser.Packet) -> Frame? {
        let payload = base + at
        var frame = Frame(bytes: payload, length: p.capturedLength, originalLength: p.originalLength, timestampNs: p.timestampNs)
        let type: UInt16
        let skip: Int
        switch CaptureParser.LinkType(rawValue: p.linkType) {
        case .ethernet?:
            return frame
        case .raw?, .ipv4?, .ipv6?:
            // An empty packet gets EtherType 0: the meter counts it as undecodable.
            let version = p.capturedLength >= 1 ? payload.load(as: UInt8.self) >> 4 : 0
            type = version == 4 ? 0x0800 : version == 6 ? 0x86DD : 0
            skip = 0
        case .linuxSLL?:
            guard p.capturedLength >= 16 else { return nil }
            type = UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: 14, as: UInt16.self))
            skip = 16
        case .linuxSLL2?:
            guard p.capturedLength >= 20 else { return nil }
            type = UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
            skip = 20
        case nil:
            return nil
        }
        // 14 bytes in front of the IP header: the link header's own (SLL's 16, SLL2's 20), or
        // the record's header (12 bytes or more) and the headroom (invariants above).
        let header = payload + skip - 14
        header.initializeMemory(as: UInt8.self, repeating: 0, count: 12)
        header.storeBytes(of: type.bigEndian, toByteOffset: 12, as: UInt16.self)
        frame.bytes = header
        frame.length = p.capturedLength - skip + 14
        frame.originalLength = max(p.originalLength - skip + 14, frame.length)
        return frame
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

import FlowTapInspect

/// One direction's memory for naming flows (docs/application-visibility.md): the labels of
/// flows whose first bytes gave fields (server names, HTTP requests, DNS questions), and the
/// reassembly buffers of flows whose first message spans several segments. Both are pools of
/// fixed size, taken at start: an empty pool is counted and the flow goes without (a label
/// without its fields, or no label), never waits. A flow holds at most one of either
/// (`FlowEntry.appSlot`), and gives it back when its entry is released or starts again.
///
/// Invariants: a label or buffer index is either on its free stack or held by exactly one
/// entry whose `app` says so (`FlowEntry.holdsSlot`); `recover` rebuilds the stacks from the
/// entries after a handover. The labels and buffers live in the flow table's storage (the
/// shared memory a handover keeps), the free stacks and the parser's scratch in this
/// process's memory.
public struct ApplicationTable: ~Copyable {
    /// Bytes of a flow's first data kept while its first message is incomplete: larger than
    /// any ClientHello browsers send (about 1.8 KB with post-quantum key shares) and than
    /// `HTTPMessage.maxHead`. A message that needs more is given up (`helloTooLarge`).
    public static let bufferBytes = 8192
    /// Segments a flow may take to complete its first message before it is given up.
    static let maxSegments: UInt16 = 32
    /// Out-of-order pieces a buffer remembers beyond its contiguous start.
    static let maxPieces = 4

    /// What a buffer knows of the stream it holds: the sequence number of its first byte,
    /// the bytes present from there, and pieces that came early.
    struct Stream: BitwiseCopyable {
        var base: UInt32
        var contiguous: UInt32
        var segments: UInt16
        var pieceCount: UInt16
        var pieceStart: InlineArray<4, UInt32>
        var pieceEnd: InlineArray<4, UInt32>
    }

    public let labelCapacity: Int
    public let bufferCapacity: Int
    let labels: UnsafeMutablePointer<ApplicationDetail>
    let streams: UnsafeMutablePointer<Stream>
    let bytes: UnsafeMutableRawPointer
    let freeLabels: UnsafeMutablePointer<UInt32>
    let freeBuffers: UnsafeMutablePointer<UInt32>
    var freeLabelCount: Int
    var freeBufferCount: Int
    /// `ClientHello.parse`'s room to put a hello's records together, and where a decision
    /// leaves the fields it found until they go to a label slot.
    let scratch: UnsafeMutableRawBufferPointer
    let found: UnsafeMutablePointer<ApplicationDetail>
    let ownsStorage: Bool

    /// Parsers that gave up, per `InspectIssue.rawValue`; pools found empty.
    public internal(set) var issues = InlineArray<8, UInt64>(repeating: 0)
    public internal(set) var labelsExhausted: UInt64 = 0
    public internal(set) var buffersExhausted: UInt64 = 0

    public var labelsInUse: Int { labelCapacity - freeLabelCount }
    public var buffersInUse: Int { bufferCapacity - freeBufferCount }

    /// The pools for a flow table of `capacity` slots: a label for one flow in 16, a buffer
    /// for one in 1024 (at least 64 and 16).
    static func capacities(flows capacity: Int) -> (labels: Int, buffers: Int) {
        (max(64, capacity / 16), max(16, capacity / 1024))
    }

    /// Bytes of storage the pools of a table of `capacity` slots take (64-byte aligned parts).
    public static func storageBytes(flows capacity: Int) -> Int {
        let c = capacities(flows: capacity)
        return layout(labels: c.labels, buffers: c.buffers).total
    }

    static func layout(labels: Int, buffers: Int) -> (streams: Int, bytes: Int, total: Int) {
        let round = { (n: Int) in (n + 63) & ~63 }
        let streams = round(labels * MemoryLayout<ApplicationDetail>.stride)
        let bytes = streams + round(buffers * MemoryLayout<Stream>.stride)
        return (streams, bytes, bytes + buffers * bufferBytes)
    }

    /// The pools in `storage` (`storageBytes` long, 64-byte aligned), or allocated here.
    init(flows capacity: Int, storage: UnsafeMutableRawPointer?) {
        let c = Self.capacities(flows: capacity)
        labelCapacity = c.labels
        bufferCapacity = c.buffers
        let parts = Self.layout(labels: c.labels, buffers: c.buffers)
        let base: UnsafeMutableRawPointer
        if let storage {
            base = storage
            ownsStorage = false
        } else {
            base = .allocate(byteCount: parts.total, alignment: 64)
            ownsStorage = true
        }
        labels = base.bindMemory(to: ApplicationDetail.self, capacity: c.labels)
        streams = (base + parts.streams).bindMemory(to: Stream.self, capacity: c.buffers)
        bytes = base + parts.bytes
        freeLabels = .allocate(capacity: c.labels)
        freeBuffers = .allocate(capacity: c.buffers)
        freeLabelCount = 0
        freeBufferCount = 0
        scratch = .allocate(byteCount: ClientHello.maxHandshake, alignment: 8)
        found = .allocate(capacity: 1)
        found.initialize(to: ApplicationDetail(.none))
        rebuild { _ in }
    }

    deinit {
        if ownsStorage { UnsafeMutableRawPointer(labels).deallocate() }
        freeLabels.deallocate()
        freeBuffers.deallocate()
        scratch.deallocate()
        found.deallocate()
    }

    /// Every label and buffer free except those `held` reports (label index, or buffer index
    /// with `buffer` true): after a handover, from the table's entries. The report answers
    /// whether the slot is the entry's: false for an index out of range or one already held.
    mutating func rebuild(_ held: ((_ index: Int, _ buffer: Bool) -> Bool) -> Void) {
        var labelHeld = [Bool](repeating: false, count: labelCapacity)
        var bufferHeld = [Bool](repeating: false, count: bufferCapacity)
        held { index, buffer in
            if buffer {
                guard index < bufferHeld.count, !bufferHeld[index] else { return false }
                bufferHeld[index] = true
            } else {
                guard index < labelHeld.count, !labelHeld[index] else { return false }
                labelHeld[index] = true
            }
            return true
        }
        freeLabelCount = 0
        for i in (0 ..< labelCapacity).reversed() where !labelHeld[i] {
            freeLabels[freeLabelCount] = UInt32(i)
            freeLabelCount += 1
        }
        freeBufferCount = 0
        for i in (0 ..< bufferCapacity).reversed() where !bufferHeld[i] {
            freeBuffers[freeBufferCount] = UInt32(i)
            freeBufferCount += 1
        }
    }

    /// A free label, or nil (counted) when every one is held.
    mutating func takeLabel() -> Int? {
        guard freeLabelCount > 0 else {
            labelsExhausted &+= 1
            return nil
        }
        freeLabelCount -= 1
        return Int(freeLabels[freeLabelCount])
    }

    mutating func giveLabel(_ index: Int) {
        guard index < labelCapacity, freeLabelCount < labelCapacity else { return }
        freeLabels[freeLabelCount] = UInt32(index)
        freeLabelCount += 1
    }

    /// A free buffer, empty, for a stream starting at sequence `base`; nil (counted) when every
    /// one is held.
    mutating func takeBuffer(base: UInt32) -> Int? {
        guard freeBufferCount > 0 else {
            buffersExhausted &+= 1
            return nil
        }
        freeBufferCount -= 1
        let index = Int(freeBuffers[freeBufferCount])
        streams[index] = Stream(
            base: base, contiguous: 0, segments: 0, pieceCount: 0, pieceStart: .init(repeating: 0),
            pieceEnd: .init(repeating: 0))
        return index
    }

    mutating func giveBuffer(_ index: Int) {
        guard index < bufferCapacity, freeBufferCount < bufferCapacity else { return }
        freeBuffers[freeBufferCount] = UInt32(index)
        freeBufferCount += 1
    }

    func buffer(_ index: Int) -> UnsafeMutableRawPointer { bytes + index * Self.bufferBytes }

    /// Puts a segment of `length` bytes with sequence number `sequence` into buffer `index`:
    /// what falls inside the buffer is copied; the contiguous start grows through any pieces it
    /// now reaches. Returns whether the contiguous start grew, or nil when the stream needs
    /// more room than the buffer has (its data goes past the end with a gap before it, or a
    /// fifth early piece).
    mutating func place(_ index: Int, sequence: UInt32, _ payload: UnsafeRawPointer, length: Int) -> Bool? {
        let s = streams + index
        s.pointee.segments &+= 1
        let offset = Int(Int32(bitPattern: sequence &- s.pointee.base))
        var start = offset, from = 0
        if start < 0 {
            // Data before the stream's start (a retransmission reaching back): only its tail.
            from = -start
            start = 0
        }
        let end = min(offset + length, Self.bufferBytes)
        guard from < length, start < end else { return offset + length > Self.bufferBytes ? nil : false }
        (buffer(index) + start).copyMemory(from: payload + from, byteCount: end - start)
        let before = Int(s.pointee.contiguous)
        if start <= before {
            var reach = max(before, end)
            // Pieces that came early and are now reached.
            var merged = true
            while merged {
                merged = false
                var i = 0
                while i < Int(s.pointee.pieceCount) {
                    if Int(s.pointee.pieceStart[i]) <= reach {
                        reach = max(reach, Int(s.pointee.pieceEnd[i]))
                        let last = Int(s.pointee.pieceCount) - 1
                        s.pointee.pieceStart[i] = s.pointee.pieceStart[last]
                        s.pointee.pieceEnd[i] = s.pointee.pieceEnd[last]
                        s.pointee.pieceCount -= 1
                        merged = true
                    } else {
                        i += 1
                    }
                }
            }
            s.pointee.contiguous = UInt32(reach)
        } else {
            guard Int(s.pointee.pieceCount) < Self.maxPieces else { return nil }
            let n = Int(s.pointee.pieceCount)
            s.pointee.pieceStart[n] = UInt32(start)
            s.pointee.pieceEnd[n] = UInt32(end)
            s.pointee.pieceCount += 1
        }
        return Int(s.pointee.contiguous) > before
    }
}

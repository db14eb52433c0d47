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
    /// Where the parsers write their facts (`ParseStep`), before they are packed into `found`.
    /// Callers take a pointer into a local before passing `&facts.pointee`: Swift 6.3.1's
    /// ThreadSanitizer build broke on `&apps.tlsFacts.pointee` (an invalid bitcast in LLVM's
    /// verifier, as with `found`: `ApplicationDetail`'s packing).
    let tlsFacts: UnsafeMutablePointer<ClientHelloFacts>
    let httpFacts: UnsafeMutablePointer<HTTPFacts>
    let dnsFacts: UnsafeMutablePointer<DNSFacts>
    /// JA4's hashes by the lists they came from (process memory: a new process hashes again).
    public let ja4Memo = JA4Memo.allocate()
    let ownsStorage: Bool

    /// Parsers that gave up, per `InspectIssue.rawValue`; pools found empty.
    public internal(set) var issues = InlineArray<16, UInt64>(repeating: 0)
    public internal(set) var labelsExhausted: UInt64 = 0
    public internal(set) var buffersExhausted: UInt64 = 0
    /// QUIC Initials opened, and openings skipped for the budget; the budget's bucket.
    public internal(set) var quicDecryptions: UInt64 = 0
    public internal(set) var quicSkipped: UInt64 = 0
    var quicTokens = ApplicationTable.quicBurst
    var quicRefillNs: UInt64 = 0
    /// Where a QUIC flow's first datagram is put together when it has no buffer yet: most
    /// hellos fit one datagram, and need none from the pool.
    let quicStream: UnsafeMutablePointer<Stream>
    let quicBytes: UnsafeMutableRawPointer

    public var labelsInUse: Int { labelCapacity - freeLabelCount }
    public var buffersInUse: Int { bufferCapacity - freeBufferCount }

    /// The pools for a flow table of `capacity` slots: a label for one flow in 16, a buffer
    /// for one in 1024 (at least 64 and 16).
    static func capacities(flows capacity: Int) -> (labels: Int, buffers: Int) {
        (max(64, capacity / 16), max(16, capacity / 1024))
    }

    /// The shapes of what the pools keep in shared memory, for the state's layout number: a
    /// label's fields, a buffer's state and its bytes.
    package static var sharedLayout: [Int] {
        [MemoryLayout<ApplicationDetail>.stride, MemoryLayout<Stream>.stride, bufferBytes]
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
        tlsFacts = .allocate(capacity: 1)
        tlsFacts.initialize(to: ClientHelloFacts())
        httpFacts = .allocate(capacity: 1)
        httpFacts.initialize(to: HTTPFacts())
        dnsFacts = .allocate(capacity: 1)
        dnsFacts.initialize(to: DNSFacts())
        quicStream = .allocate(capacity: 1)
        quicStream.initialize(to: Self.emptyStream(base: 0))
        quicBytes = .allocate(byteCount: Self.bufferBytes, alignment: 8)
        rebuild { _ in }
    }

    deinit {
        if ownsStorage { UnsafeMutableRawPointer(labels).deallocate() }
        freeLabels.deallocate()
        freeBuffers.deallocate()
        scratch.deallocate()
        found.deallocate()
        tlsFacts.deallocate()
        httpFacts.deallocate()
        dnsFacts.deallocate()
        quicStream.deallocate()
        quicBytes.deallocate()
        ja4Memo.deallocate()
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
        streams[index] = Self.emptyStream(base: base)
        return index
    }

    mutating func giveBuffer(_ index: Int) {
        guard index < bufferCapacity, freeBufferCount < bufferCapacity else { return }
        freeBuffers[freeBufferCount] = UInt32(index)
        freeBufferCount += 1
    }

    func buffer(_ index: Int) -> UnsafeMutableRawPointer { bytes + index * Self.bufferBytes }

    /// Puts a segment of `length` bytes with sequence number `sequence` into buffer `index`.
    mutating func place(_ index: Int, sequence: UInt32, _ payload: UnsafeRawPointer, length: Int) -> Bool? {
        Self.place(
            streams + index, buffer(index), capacity: Self.bufferBytes, sequence: sequence, payload, length: length)
    }

    /// Puts `length` bytes with sequence number `sequence` into the stream `s` whose bytes are at
    /// `bytes` (`capacity` of them): what falls inside is copied; the contiguous start grows
    /// through any pieces it now reaches; a piece that comes early joins one it touches, or is
    /// remembered. Returns whether the contiguous start grew, or nil when the stream needs more
    /// room than there is (its data goes past the end with a gap before it, or a fifth early
    /// piece).
    static func place(
        _ s: UnsafeMutablePointer<Stream>, _ bytes: UnsafeMutableRawPointer, capacity: Int, sequence: UInt32,
        _ payload: UnsafeRawPointer, length: Int
    ) -> Bool? {
        s.pointee.segments &+= 1
        let offset = Int(Int32(bitPattern: sequence &- s.pointee.base))
        var start = offset, from = 0
        if start < 0 {
            // Data before the stream's start (a retransmission reaching back): only its tail.
            from = -start
            start = 0
        }
        let end = min(offset + length, capacity)
        guard from < length, start < end else { return offset + length > capacity ? nil : false }
        (bytes + start).copyMemory(from: payload + from, byteCount: end - start)
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
            // An early piece that touches one already held grows it (QUIC's CRYPTO frames of a
            // later packet come in several, one after another).
            for i in 0 ..< Int(s.pointee.pieceCount)
            where start <= Int(s.pointee.pieceEnd[i]) && end >= Int(s.pointee.pieceStart[i]) {
                s.pointee.pieceStart[i] = UInt32(min(start, Int(s.pointee.pieceStart[i])))
                s.pointee.pieceEnd[i] = UInt32(max(end, Int(s.pointee.pieceEnd[i])))
                return false
            }
            guard Int(s.pointee.pieceCount) < Self.maxPieces else { return nil }
            let n = Int(s.pointee.pieceCount)
            s.pointee.pieceStart[n] = UInt32(start)
            s.pointee.pieceEnd[n] = UInt32(end)
            s.pointee.pieceCount += 1
        }
        return Int(s.pointee.contiguous) > before
    }

    /// An empty stream starting at `base`.
    static func emptyStream(base: UInt32) -> Stream {
        Stream(
            base: base, contiguous: 0, segments: 0, pieceCount: 0, pieceStart: .init(repeating: 0),
            pieceEnd: .init(repeating: 0))
    }

    // MARK: QUIC

    /// Bytes of a buffer a QUIC flow's crypto stream may fill; the rest (`QUICTail`) keeps the
    /// version and the client's first Destination Connection ID, whose keys its later Initials
    /// keep, and the datagrams it took.
    static let quicStreamBytes = bufferBytes - 32

    /// Initial openings allowed per second (on the packet clock, so `read` is the same twice):
    /// each costs about `docs/performance.md`'s figure; a flood of Initials with random
    /// connection IDs costs at most this, and what it skips is counted (`quicSkipped`).
    public static let quicBudgetPerSecond = 2000
    /// Openings that may come at once: a token bucket, so that a flood's first burst stalls
    /// the forwarding thread for at most about half a millisecond (a budget given a second at a
    /// time let 2000 go at once: 30 ms without forwarding, and a ping lost at the TAP).
    public static let quicBurst = 32
    static let nsPerToken = UInt64(1_000_000_000 / quicBudgetPerSecond)

    /// Reserves up to `count` openings for a datagram: false, counted as skipped, when the
    /// bucket has fewer. `settleOpenings` then gives back what the datagram did not use.
    mutating func reserveOpenings(_ count: Int, now: UInt64) -> Bool {
        if spendDecryptions(count, now: now) { return true }
        quicSkipped &+= 1
        return false
    }

    /// After a datagram with `reserved` openings reserved: `used` of them counted, the rest back
    /// in the bucket.
    mutating func settleOpenings(reserved: Int, used: Int) {
        quicDecryptions &+= UInt64(used)
        quicTokens += max(0, reserved - used)
    }

    /// Takes `count` openings from the bucket; false (nothing taken) when it has fewer.
    mutating func spendDecryptions(_ count: Int, now: UInt64) -> Bool {
        if now < quicRefillNs {
            // The clock went back (a capture's packets out of time order): start again from it.
            quicRefillNs = now
        }
        let earned = (now - quicRefillNs) / Self.nsPerToken
        if earned > 0 {
            quicTokens = Int(min(UInt64(Self.quicBurst), UInt64(quicTokens) + earned))
            quicRefillNs = quicTokens == Self.quicBurst ? now : quicRefillNs + earned * Self.nsPerToken
        }
        guard quicTokens >= count else { return false }
        quicTokens -= count
        return true
    }
}

/// The last 32 bytes of a QUIC flow's buffer: the version (4 bytes), the first Destination
/// Connection ID's length and its bytes (up to 20), and the datagrams placed.
struct QUICTail {
    let p: UnsafeMutableRawPointer

    init(_ buffer: UnsafeMutableRawPointer) { p = buffer + ApplicationTable.quicStreamBytes }

    var dcid: UnsafeRawBufferPointer? {
        let n = Int(p.load(fromByteOffset: 4, as: UInt8.self))
        return n == 0 || n > 20 ? nil : UnsafeRawBufferPointer(start: p + 5, count: n)
    }

    func keep(version: UInt32, dcid: UnsafeRawBufferPointer) {
        guard self.dcid == nil, dcid.count > 0, dcid.count <= 20, let source = dcid.baseAddress else { return }
        p.storeBytes(of: version.bigEndian, as: UInt32.self)
        p.storeBytes(of: UInt8(dcid.count), toByteOffset: 4, as: UInt8.self)
        (p + 5).copyMemory(from: source, byteCount: dcid.count)
    }

    var datagrams: UInt8 {
        get { p.load(fromByteOffset: 25, as: UInt8.self) }
        nonmutating set { p.storeBytes(of: newValue, toByteOffset: 25, as: UInt8.self) }
    }

    func clear() { p.initializeMemory(as: UInt8.self, repeating: 0, count: 32) }
}

/// JA4's two hashes already computed, by the lists they were computed from. Every hello of one
/// client build has the same lists, and a network has few builds, while the hashes and their
/// hex lists were a quarter of what naming a TLS flow costs (callgrind, `read` of
/// bench-read.sh's `--apps` capture). A hit compares the lists whole, so a hostile hello can
/// only miss, never take another's hashes; a miss costs the hashes as before.
///
/// A handle to memory its owner allocates and deallocates (`ApplicationTable`, one per
/// forwarding thread). Invariants: `slots` points to `slotCount` initialised slots; a slot's
/// `values` hold `ciphers + extensions + signatures` lists in that order, and its `hashes` the
/// two 12-character hashes those lists give, when `filled`.
public struct JA4Memo {
    static let slotCount = 64
    /// Values a slot keeps: browsers send about 16 cipher suites, 16 extensions and 10
    /// signature algorithms. Hellos with longer lists are hashed every time.
    static let maxValues = 112

    struct Slot: BitwiseCopyable {
        var filled = false
        var ciphers: UInt8 = 0
        var extensions: UInt8 = 0
        var signatures: UInt8 = 0
        var hashes = InlineArray<24, UInt8>(repeating: 0)
        var values = InlineArray<112, UInt16>(repeating: 0)
    }

    let slots: UnsafeMutablePointer<Slot>

    /// Hits and misses, for the tests and the benchmark's account.
    public private(set) var hits: UInt64 {
        get { counters[0] }
        nonmutating set { counters[0] = newValue }
    }
    public private(set) var misses: UInt64 {
        get { counters[1] }
        nonmutating set { counters[1] = newValue }
    }
    let counters: UnsafeMutablePointer<UInt64>

    public static func allocate() -> JA4Memo {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: slotCount)
        slots.initialize(repeating: Slot(), count: slotCount)
        let counters = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        counters.initialize(repeating: 0, count: 2)
        return JA4Memo(slots: slots, counters: counters)
    }

    public func deallocate() {
        slots.deallocate()
        counters.deallocate()
    }

    /// The slot for lists `key` (`counts` long each): FNV-1a over the values and counts.
    func slot(_ key: UnsafeBufferPointer<UInt16>, _ counts: (Int, Int, Int)) -> UnsafeMutablePointer<Slot> {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in key { h = (h ^ UInt64(v)) &* 0x100_0000_01b3 }
        h = (h ^ UInt64(counts.0 << 16 | counts.1 << 8 | counts.2)) &* 0x100_0000_01b3
        return slots + Int(truncatingIfNeeded: (h ^ h >> 32) & UInt64(Self.slotCount - 1))
    }

    /// The 24 hash characters for lists `key` when this memo has them, into `out`.
    func find(_ key: UnsafeBufferPointer<UInt16>, _ counts: (Int, Int, Int), into out: UnsafeMutableRawPointer) -> Bool
    {
        guard key.count <= Self.maxValues else { return false }
        let s = slot(key, counts)
        guard s.pointee.filled, Int(s.pointee.ciphers) == counts.0, Int(s.pointee.extensions) == counts.1,
            Int(s.pointee.signatures) == counts.2
        else {
            misses &+= 1
            return false
        }
        for i in 0 ..< key.count where s.pointee.values[i] != key[i] {
            misses &+= 1
            return false
        }
        for i in 0 ..< 24 { out.storeBytes(of: s.pointee.hashes[i], toByteOffset: i, as: UInt8.self) }
        hits &+= 1
        return true
    }

    /// Keeps the 24 hash characters at `hashes` for lists `key`, in place of whatever the slot
    /// held.
    func keep(_ key: UnsafeBufferPointer<UInt16>, _ counts: (Int, Int, Int), hashes: UnsafeRawPointer) {
        guard key.count <= Self.maxValues else { return }
        let s = slot(key, counts)
        s.pointee.filled = true
        s.pointee.ciphers = UInt8(counts.0)
        s.pointee.extensions = UInt8(counts.1)
        s.pointee.signatures = UInt8(counts.2)
        for i in 0 ..< key.count { s.pointee.values[i] = key[i] }
        for i in 0 ..< 24 { s.pointee.hashes[i] = hashes.load(fromByteOffset: i, as: UInt8.self) }
    }
}

/// JA4's two hashes already computed, by the lists they were computed from (`Key`). Every hello
/// of one client build has the same lists, and a network has few builds, while the hashes and
/// their hex lists were a quarter of what naming a TLS flow costs (callgrind, `read` of
/// bench-read.sh's `--apps` capture). A hit compares the lists whole, so a hostile hello can
/// only miss, never take another's hashes; a miss costs the hashes as before.
///
/// A handle to memory its owner allocates and deallocates (`ApplicationTable`, one per
/// forwarding thread). Invariants: `slots` points to `slotCount` initialised slots; a slot's
/// `values` hold `ciphers + extensions + signatures` lists in that order, and its `hashes` the
/// two 12-character hashes those lists give, when `filled`; `ingredients` points to one
/// initialised value.
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
    /// Where `ClientHello` gathers a hello's lists while it has this memo: the memo's owner is
    /// the one thread that reads hellos with it.
    let ingredients: UnsafeMutablePointer<JA4.Ingredients>

    /// Hits and misses, for the tests.
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
        let ingredients = UnsafeMutablePointer<JA4.Ingredients>.allocate(capacity: 1)
        ingredients.initialize(to: JA4.Ingredients(transport: 0))
        return JA4Memo(slots: slots, ingredients: ingredients, counters: counters)
    }

    public func deallocate() {
        slots.deallocate()
        ingredients.deallocate()
        counters.deallocate()
    }

    /// The lists a fingerprint's hashes come from, as the memo is keyed: the cipher suites as
    /// the hello lists them, the extensions sorted (without SNI and ALPN), the signature
    /// algorithms as they came.
    public struct Key {
        var ciphers: UnsafeBufferPointer<UInt16>
        var extensions: UnsafeBufferPointer<UInt16>
        var signatures: UnsafeBufferPointer<UInt16>

        var count: Int { ciphers.count + extensions.count + signatures.count }

        /// The i-th value of the three lists one after another.
        subscript(i: Int) -> UInt16 {
            if i < ciphers.count { return ciphers[i] }
            if i < ciphers.count + extensions.count { return extensions[i - ciphers.count] }
            return signatures[i - ciphers.count - extensions.count]
        }
    }

    /// The slot for lists `key`: their counts and values, four values a step (a value a step
    /// was most of a hit's cost), each step multiplied and folded so that every value reaches
    /// the low bits that pick the slot.
    func slot(_ key: Key) -> UnsafeMutablePointer<Slot> {
        var h = UInt64(key.ciphers.count << 16 | key.extensions.count << 8 | key.signatures.count)
        Self.mix(&h, key.ciphers)
        Self.mix(&h, key.extensions)
        Self.mix(&h, key.signatures)
        return slots + Int(truncatingIfNeeded: (h ^ h >> 32) & UInt64(Self.slotCount - 1))
    }

    static func mix(_ h: inout UInt64, _ list: UnsafeBufferPointer<UInt16>) {
        guard let base = list.baseAddress else { return }
        let p = UnsafeRawPointer(base)
        let n = list.count
        var i = 0
        while i + 4 <= n {
            h = (h ^ p.loadUnaligned(fromByteOffset: 2 * i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 4
        }
        while i < n {
            h = (h ^ UInt64(list[i])) &* 0x9E37_79B9_7F4A_7C15
            i += 1
        }
        h ^= h >> 29
    }

    /// The 24 hash characters for lists `key` when this memo has them, into `out`.
    func find(_ key: Key, into out: UnsafeMutableRawPointer) -> Bool {
        guard key.count <= Self.maxValues else { return false }
        let s = slot(key)
        guard s.pointee.filled, Int(s.pointee.ciphers) == key.ciphers.count,
            Int(s.pointee.extensions) == key.extensions.count, Int(s.pointee.signatures) == key.signatures.count
        else {
            misses &+= 1
            return false
        }
        let same = s.pointee.values.span.withUnsafeBufferPointer { values in
            Self.equal(values, 0, key.ciphers) && Self.equal(values, key.ciphers.count, key.extensions)
                && Self.equal(values, key.ciphers.count + key.extensions.count, key.signatures)
        }
        guard same else {
            misses &+= 1
            return false
        }
        for i in 0 ..< 24 { out.storeBytes(of: s.pointee.hashes[i], toByteOffset: i, as: UInt8.self) }
        hits &+= 1
        return true
    }

    /// Whether `values` from `at` hold `list` (four values a step, as the lists are dozens long).
    static func equal(_ values: UnsafeBufferPointer<UInt16>, _ at: Int, _ list: UnsafeBufferPointer<UInt16>) -> Bool {
        guard at + list.count <= values.count else { return false }
        guard let a = values.baseAddress.map({ UnsafeRawPointer($0 + at) }),
            let b = list.baseAddress.map(UnsafeRawPointer.init)
        else { return list.isEmpty }
        let bytes = 2 * list.count
        var i = 0
        while i + 8 <= bytes {
            guard
                a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    == b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            else { return false }
            i += 8
        }
        while i < bytes {
            guard a.load(fromByteOffset: i, as: UInt8.self) == b.load(fromByteOffset: i, as: UInt8.self) else {
                return false
            }
            i += 1
        }
        return true
    }

    /// Keeps the 24 hash characters at `hashes` for lists `key`, in place of whatever the slot
    /// held.
    func keep(_ key: Key, hashes: UnsafeRawPointer) {
        guard key.count <= Self.maxValues else { return }
        let s = slot(key)
        s.pointee.filled = true
        s.pointee.ciphers = UInt8(key.ciphers.count)
        s.pointee.extensions = UInt8(key.extensions.count)
        s.pointee.signatures = UInt8(key.signatures.count)
        for i in 0 ..< key.count { s.pointee.values[i] = key[i] }
        for i in 0 ..< 24 { s.pointee.hashes[i] = hashes.load(fromByteOffset: i, as: UInt8.self) }
    }
}

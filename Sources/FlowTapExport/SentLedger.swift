import Glibc

/// The last messages sent to a collector, by the header bytes 8 to 20 (the sequence number and
/// domain or source ID in IPFIX and v9, unix_nsecs and the sequence in v5: different for every
/// message), with the records each carried, so that an ICMP error quoting a message's start
/// tells how many records it lost. Bounded: the oldest of 1024 entries is forgotten.
struct SentLedger {
    private var keys = [UInt64](repeating: 0, count: 2048)
    private var records = [Int](repeating: 0, count: 1024)
    private var next = 0
    static let size = 1024

    static func key(_ p: UnsafeRawPointer) -> (UInt64, UInt64) {
        (
            p.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            UInt64(p.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        )
    }

    mutating func note(header: UnsafeRawPointer, length: Int, records count: Int) {
        guard length >= 20 else { return }
        let (a, b) = Self.key(header)
        keys[2 * next] = a
        keys[2 * next + 1] = b
        records[next] = count
        next = (next + 1) % Self.size
    }

    /// The records of the message whose start `quoted` is (0 when unknown); forgotten after.
    mutating func refused(quoting quoted: [UInt8]) -> Int {
        guard quoted.count >= 20 else { return 0 }
        let (a, b) = quoted.withUnsafeBytes { Self.key($0.baseAddress!) }
        for i in 0 ..< Self.size where keys[2 * i] == a && keys[2 * i + 1] == b && records[i] > 0 {
            defer { records[i] = 0 }
            return records[i]
        }
        return 0
    }
}

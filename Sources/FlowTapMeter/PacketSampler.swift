/// `--sample N`: which packets are metered. Every frame is forwarded whatever it decides.
public struct Sampling: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Every Nth packet (RFC 5475 systematic count-based).
        case deterministic
        /// One packet at a random position in each window of N (RFC 5475 random n-out-of-N, n = 1).
        case random
    }

    public var interval: UInt32
    public var mode: Mode

    public init(interval: UInt32 = 1, mode: Mode = .deterministic) {
        self.interval = interval
        self.mode = mode
    }

    public static let largestInterval: UInt32 = 1 << 24

    /// selectorAlgorithm (IPFIX IE 304, RFC 5477): 1 systematic count-based, 3 random n-out-of-N.
    public var ipfixSelectorAlgorithm: UInt16 { mode == .deterministic ? 1 : 3 }
    /// SAMPLING_ALGORITHM (NetFlow v9 type 35): 1 deterministic, 2 random.
    public var netflowAlgorithm: UInt8 { mode == .deterministic ? 1 : 2 }
    /// The NetFlow v5 header's sampling field: mode in the top 2 bits (01 deterministic, 10
    /// random), interval in the low 14 (at most 16383); 0 when nothing is sampled.
    public var netflowV5Field: UInt16 {
        interval <= 1 ? 0 : UInt16(netflowAlgorithm) << 14 | UInt16(min(interval, 0x3FFF))
    }
}

/// Decides per packet, in the forwarding thread, with no shared state: a countdown for
/// deterministic sampling, a random pick per window (xorshift64*) for random sampling.
struct PacketSampler {
    let interval: UInt32
    let random: Bool
    /// Position in the current window of `interval` packets, and the one to take.
    private var position: UInt32 = 0
    private var pick: UInt32 = 0
    private var state: UInt64

    init(_ sampling: Sampling, seed: UInt64) {
        interval = max(1, sampling.interval)
        random = sampling.mode == .random
        state = seed | 1
        if random { pick = nextPick() }
    }

    @inline(__always)
    mutating func take() -> Bool {
        if interval == 1 { return true }
        let taken = position == pick
        position += 1
        if position == interval {
            position = 0
            if random { pick = nextPick() }
        }
        return taken
    }

    private mutating func nextPick() -> UInt32 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return UInt32(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 32) % interval
    }
}

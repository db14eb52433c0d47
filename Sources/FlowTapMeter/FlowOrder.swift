import FlowTapDecode

/// What `show flows` orders by, largest first (age: the oldest first).
public enum FlowOrder: String, Sendable, CaseIterable {
    case bytes, packets, rate, age

    package func score(_ s: FlowSnapshot, nowNs: UInt64) -> Double {
        switch self {
        case .bytes: Double(s.octets)
        case .packets: Double(s.packets)
        case .rate: Double(s.octets) / max(0.001, Double(s.lastNs &- s.firstNs) / 1e9)
        case .age: Double(nowNs &- s.firstNs)
        }
    }
}

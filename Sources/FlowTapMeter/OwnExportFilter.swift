import FlowTapBase
import FlowTapDecode

/// flowtap's own export datagrams, forwarded but never metered when the path to a collector
/// crosses the TAPs. A datagram is ours only when all four match one exporter: our source
/// address and port and the collector's address and port. A spoofed source alone does not
/// hide traffic from the probe.
public struct OwnExportFilter: Sendable {
    /// Addresses as they sit in `FlowKey.w0`/`w1` and `w2`/`w3` (network order), and ports.
    struct Exporter: Sendable {
        var source0: UInt64 = 0, source1: UInt64 = 0
        var destination0: UInt64 = 0, destination1: UInt64 = 0
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        var version: UInt8 = 0
    }

    public static let capacity = 16
    var exporters = InlineArray<16, Exporter>(repeating: Exporter())
    public private(set) var count = 0
    /// Bit `port % 64` set for each exporter's source port: a first test, one word, for every
    /// UDP frame.
    var portBits: UInt64 = 0

    public init() {}

    /// Adds one exporter: datagrams from `source`:`sourcePort` to `destination`:`destinationPort`.
    /// False when the filter already holds `capacity` (the configuration allows no more
    /// collectors than that) or the two addresses are of different families.
    @discardableResult
    public mutating func add(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16)
        -> Bool
    {
        guard count < Self.capacity, source.isIPv6 == destination.isIPv6 else { return false }
        var e = Exporter()
        (e.source0, e.source1) = Self.words(source)
        (e.destination0, e.destination1) = Self.words(destination)
        e.sourcePort = sourcePort
        e.destinationPort = destinationPort
        e.version = source.isIPv6 ? 6 : 4
        exporters[count] = e
        portBits |= 1 << (sourcePort % 64)
        count += 1
        return true
    }

    /// An address as the decoder stores it in a key's two address words.
    package static func words(_ address: IPAddress) -> (UInt64, UInt64) {
        switch address {
        case .v4(let a):
            return (UInt64(a.value.bigEndian), 0)
        case .v6(let a):
            return a.bytes.withUnsafeBytes { raw in
                (
                    raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                )
            }
        }
    }

    /// Whether the frame with this key may be one of our own export datagrams: UDP, and a
    /// source port that hashes like one of ours. Every frame asks, so this is one word's test;
    /// `matches` gives the answer.
    @inline(__always)
    func mayMatch(_ key: FlowKey) -> Bool {
        key.ipProtocol == 17 && portBits >> (key.sourcePort % 64) & 1 != 0
    }

    func matches(_ key: FlowKey) -> Bool {
        for i in 0 ..< count {
            let e = exporters[i]
            if key.w0 == e.source0 && key.w1 == e.source1 && key.w2 == e.destination0 && key.w3 == e.destination1
                && key.sourcePort == e.sourcePort && key.destinationPort == e.destinationPort
                && key.ipVersion == e.version
            {
                return true
            }
        }
        return false
    }
}

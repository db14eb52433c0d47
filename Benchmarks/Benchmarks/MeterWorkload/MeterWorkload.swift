import FlowTap

/// Decode + flow-cache update per packet, memory-bound: a table of 1 Mi slots holding 400 000
/// live flows, packets visiting them in a scrambled order. The same workload as c/meter_bench.c;
/// MeterBenchmark times it, MeterProfile runs it under callgrind.
public enum Workload {
    public static let flows = 400_000
    public static let slots = 1 << 20
    public static let frameLength = 64

    /// 400 000 UDP frames, each its own flow (source address and port vary), back to back, each
    /// on its own cache line as the forwarder's read buffer is (c/meter_bench.c does the same).
    nonisolated(unsafe) public static let frames: UnsafeRawPointer = {
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: flows * frameLength, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: flows * frameLength)
        for i in 0 ..< flows {
            let f = bytes + i * frameLength
            let header: [UInt8] = [0x02, 0x77, 0, 0, 0, 0x02, 0x02, 0x77, 0, 0, 0, 0x01, 0x08, 0x00]
            header.withUnsafeBytes { f.copyMemory(from: $0.baseAddress!, byteCount: 14) }
            let ip = f + 14
            ip.storeBytes(of: 0x45, as: UInt8.self)
            ip.storeBytes(of: 46, toByteOffset: 3, as: UInt8.self)   // total length 46: 20 + 8 + 18
            ip.storeBytes(of: 64, toByteOffset: 8, as: UInt8.self)
            ip.storeBytes(of: 17, toByteOffset: 9, as: UInt8.self)
            for (o, b) in [10, UInt8(truncatingIfNeeded: i >> 16), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i), 10, 77, 0, 2].enumerated() {
                ip.storeBytes(of: b, toByteOffset: 12 + o, as: UInt8.self)
            }
            let udp = ip + 20
            udp.storeBytes(of: UInt16(40000 + i % 20000).bigEndian, as: UInt16.self)
            udp.storeBytes(of: 9, toByteOffset: 3, as: UInt8.self)
            udp.storeBytes(of: 26, toByteOffset: 5, as: UInt8.self)
        }
        return UnsafeRawPointer(bytes)
    }()

    /// The visiting order: a multiplicative walk over the flows, so that consecutive packets hit
    /// unrelated cache lines as a busy link's would.
    @inline(__always)
    public static func flow(at n: Int) -> Int { (n &* 196_613) % flows }

    /// The forwarder's meter for this workload: l3+l4 records, timeouts that never fire.
    public static func makeMeter() -> PacketMeter {
        PacketMeter(records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 3600, activeTimeoutSeconds: 3600),
                    maxFlows: slots, point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0))
    }

    /// Meters every flow once, so that the measured packets update live flows.
    public static func fill(_ meter: inout PacketMeter) {
        let base = frames
        for i in 0 ..< flows {
            meter.meter(base + i * frameLength, length: 60, now: 1)
            if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
        }
    }

    /// The measured loop: `count` packets from position `start` of the visiting order.
    @inline(__always)
    public static func run(_ meter: inout PacketMeter, from start: Int, count: Int) {
        let base = frames
        var n = start
        for _ in 0 ..< count {
            meter.meter(base + flow(at: n) * frameLength, length: 60, now: 2)
            if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
            n &+= 1
        }
    }
}

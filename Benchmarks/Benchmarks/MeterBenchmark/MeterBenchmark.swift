import Benchmark
import FlowTap

/// Decode + flow-cache update per packet, memory-bound: a table of 1 Mi slots holding 400 000
/// live flows, packets visiting them in a scrambled order. The same workload as c/meter_bench.c.
enum Workload {
    static let flows = 400_000
    static let slots = 1 << 20
    static let frameLength = 64

    /// 400 000 UDP frames, each its own flow (source address and port vary), back to back.
    static let frames: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: flows * frameLength)
        for i in 0 ..< flows {
            let f = i * frameLength
            bytes[f + 0 ..< f + 12] = [0x02, 0x77, 0, 0, 0, 0x02, 0x02, 0x77, 0, 0, 0, 0x01]
            bytes[f + 12] = 0x08
            let ip = f + 14
            bytes[ip] = 0x45
            bytes[ip + 3] = 46                      // total length 46: 20 + 8 + 18
            bytes[ip + 8] = 64
            bytes[ip + 9] = 17
            bytes[ip + 12 ..< ip + 16] = [10, UInt8(truncatingIfNeeded: i >> 16), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i)]
            bytes[ip + 16 ..< ip + 20] = [10, 77, 0, 2]
            let udp = ip + 20
            bytes[udp] = UInt8(truncatingIfNeeded: (40000 + i % 20000) >> 8)
            bytes[udp + 1] = UInt8(truncatingIfNeeded: 40000 + i % 20000)
            bytes[udp + 3] = 9
            bytes[udp + 5] = 26
        }
        return bytes
    }()

    /// The visiting order: a multiplicative walk over the flows, so that consecutive packets hit
    /// unrelated cache lines as a busy link's would.
    @inline(__always)
    static func flow(at n: Int) -> Int { (n &* 196_613) % flows }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(10),
        maxIterations: 20
    )

    // The forwarder's per-frame work after the write: PacketMeter.meter (decode, classify,
    // cache update), through its public entry point (one call per frame from this module).
    Benchmark("decode + meter, 1 Mi slots, 400k flows (per packet)") { benchmark in
        var meter = PacketMeter(records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 3600, activeTimeoutSeconds: 3600),
                                maxFlows: Workload.slots, point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0))
        var facts = PacketFacts()
        Workload.frames.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            // Fill the table first: the measured packets update live flows.
            for i in 0 ..< Workload.flows {
                meter.meter(base + i * Workload.frameLength, length: 60, now: 1, facts: &facts)
                if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
            }
            var n = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                meter.meter(base + Workload.flow(at: n) * Workload.frameLength, length: 60, now: 2, facts: &facts)
                if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
                n &+= 1
            }
            benchmark.stopMeasurement()
        }
        blackHole(meter.cache.liveFlows)
    }
}

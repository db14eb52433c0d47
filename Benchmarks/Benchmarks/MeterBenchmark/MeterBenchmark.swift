import Benchmark
import FlowTapDecode
import FlowTapMeter
import MeterWorkload

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
    // cache update), through its public entry point: one call per frame across the module
    // boundary, which the forwarder, in the same module, does not pay.
    for (name, frames) in [("IPv4", Workload.ipv4), ("IPv6", Workload.ipv6)] {
        Benchmark("decode + meter, \(name), 1 Mi slots, 400k flows (per packet)") { benchmark in
            var meter = Workload.makeMeter()
            Workload.fill(&meter, frames)
            benchmark.startMeasurement()
            Workload.run(&meter, frames, from: 0, count: benchmark.scaledIterations.count)
            benchmark.stopMeasurement()
            blackHole(meter.cache.liveFlows)
        }
    }
}

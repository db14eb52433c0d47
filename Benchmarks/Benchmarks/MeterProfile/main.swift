// The microbenchmark's workload without package-benchmark around it, shaped like
// c/meter_bench.c so that the two compare line for line, under callgrind or a clock:
//   MeterProfile [PACKETS]   meters PACKETS five times, prints ns per packet (median of 5)
//   valgrind --tool=callgrind MeterProfile 200000   instructions (run.sh does this, with the C
//   twin's beside them, on a copy without debug info: valgrind 3.19 cannot read swiftc's DWARF 5)
import Foundation
import FlowTap
import MeterWorkload

let packets = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000_000 : 10_000_000
var meter = Workload.makeMeter()
Workload.fill(&meter)
let clock = ContinuousClock()
var runs: [Double] = []
for r in 0 ..< 5 {
    let elapsed = clock.measure {
        Workload.run(&meter, from: r * packets, count: packets)
    }
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    runs.append(ns / Double(max(packets, 1)))
}
print(String(format: "%.2f", runs.sorted()[2]))

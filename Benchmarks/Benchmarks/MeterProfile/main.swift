import FlowTapDecode
// The microbenchmark's workload without package-benchmark around it, shaped like
// c/meter_bench.c so that the two compare line for line, under callgrind or a clock:
//   MeterProfile [PACKETS] [ipv6|tcp|tcp-named]   meters PACKETS five times, prints ns per packet
//   (median of 5); with ipv6, over IPv6 frames instead of IPv4, with tcp over IPv4 TCP data
//   segments in order (no C twin for those); tcp-named is tcp with flows named from their first
//   bytes (`--app-fields on`): every flow decided by its first segment, so that the measured
//   packets pay what a decided flow pays
//   valgrind --tool=callgrind MeterProfile 200000   instructions (run.sh does this, with the C
//   twin's beside them, on a copy without debug info: valgrind 3.19 cannot read swiftc's DWARF 5)
import Foundation
import MeterWorkload

let packets = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000_000 : 10_000_000
let named = CommandLine.arguments.dropFirst(2).first == "tcp-named"
let kind = named ? "tcp" : CommandLine.arguments.dropFirst(2).first
let frames = kind == "ipv6" ? Workload.ipv6 : kind == "tcp" ? Workload.tcp : Workload.ipv4
var meter = Workload.makeMeter(inspect: named)
if kind == "tcp" { // every flow's first segment, so that the measured ones are in order
    Workload.runTCP(&meter, from: 0, count: Workload.flows)
} else {
    Workload.fill(&meter, frames)
}
let clock = ContinuousClock()
var runs: [Double] = []
for r in 0 ..< 5 {
    let elapsed = clock.measure {
        if kind == "tcp" {
            Workload.runTCP(&meter, from: r * packets, count: packets)
        } else {
            Workload.run(&meter, frames, from: r * packets, count: packets)
        }
    }
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    runs.append(ns / Double(max(packets, 1)))
}
print(String(format: "%.2f", runs.sorted()[2]))

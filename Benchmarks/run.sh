#!/usr/bin/env bash
# run.sh - the per-packet microbenchmark and its C equivalent, and their ratio.
#   Benchmarks/run.sh
# Runs package-benchmark on MeterBenchmark (ns per packet and mallocs per packet), builds and
# runs c/meter_bench.c (gcc -O2) on the same workload, and prints flowtap / C.
set -euo pipefail
cd "$(dirname "$0")"
gcc -O2 -o .build-c-meter-bench c/meter_bench.c
c_ns=$(./.build-c-meter-bench 10000000)
swift package --disable-sandbox benchmark --format markdown 2>&1 | tee /tmp/flowtap-benchmark.md | grep -vE "^(Building|Build|\[|Compiling)" || true
swift_ns=$(awk -F'|' '/Time \(wall clock\)/ {gsub(/ /, "", $5); print $5; exit}' /tmp/flowtap-benchmark.md)
echo
echo "C equivalent: ${c_ns} ns per packet (median of 5 × 10 M packets)"
echo "flowtap:      ${swift_ns:-see the table above} ns per packet (p50)"
[[ -n ${swift_ns:-} ]] && python3 -c "print(f'ratio flowtap / C: {float(\"$swift_ns\") / float(\"$c_ns\"):.2f}   (aim: <= 1.10)')"

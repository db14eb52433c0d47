#!/usr/bin/env bash
# run.sh - the per-packet microbenchmark, its C equivalents, and their ratios.
#   Benchmarks/run.sh [ROUNDS]
# 1. package-benchmark on MeterBenchmark: ns per packet (p50) and mallocs per packet.
# 2. Clock, interleaved: ROUNDS rounds (default 7) of MeterProfile (the same Swift workload
#    without the harness), c/meter_bench.c (the same work in C) and its -DMINIMAL build (a
#    bare meter), each the median of 5 × 2 M packets; medians of the rounds and the ratios.
#    MeterProfile over IPv6 frames and over in-order TCP segments runs beside them: flowtap's own
#    figures, no C twin.
# 3. Instructions per packet under callgrind (when valgrind is installed): repeatable where the
#    clock is not, on our noisy two-core machines; also over TCP with flows named from their
#    first bytes (every flow decided: what a named or given-up flow pays a packet).
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-7}
packets=2000000

gcc -O2 -o .build-c-meter-bench c/meter_bench.c
gcc -O2 -DMINIMAL -o .build-c-meter-bench-minimal c/meter_bench.c
swift build -c release --product MeterProfile 2>&1 | grep -E "error|warning" || true
profile=$(swift build -c release --show-bin-path)/MeterProfile

echo "== package-benchmark (MeterBenchmark)"
swift package --disable-sandbox benchmark --format markdown 2>&1 | tee /tmp/flowtap-benchmark.md | grep -vE "^(Building|Build|\[|Compiling)" || true
# p50 of each benchmark, in the order they ran: IPv4, then IPv6.
harness_ns=$(awk -F'|' '/Time \(wall clock\)/ {gsub(/ /, "", $5); printf "%s ", $5}' /tmp/flowtap-benchmark.md)

echo "== clock, $rounds interleaved rounds, ns per packet (each the median of 5 × $packets packets)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((r = 1; r <= rounds; r++)); do
    s=$("$profile" $packets); c=$(./.build-c-meter-bench $packets); m=$(./.build-c-meter-bench-minimal $packets)
    v6=$("$profile" $packets ipv6); tcp=$("$profile" $packets tcp)
    echo "round $r: flowtap $s   C same work $c   C bare meter $m   flowtap IPv6 $v6   flowtap TCP $tcp"
    echo "$s $c $m $v6 $tcp" >>"$results"
done

instructions=""
if command -v valgrind >/dev/null; then
    # valgrind 3.19 cannot read the DWARF 5 that swiftc writes: measure a copy without it.
    stripped=$(mktemp)
    cp "$profile" "$stripped" && strip --strip-debug "$stripped" && chmod +x "$stripped"
    per_packet() { # BINARY [ARG]: (instructions with 5 × 200 000 packets − with none) / 1 000 000
        local a b
        a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 200000 ${2:-} 2>&1 | awk '/Collected/ {print $NF}')
        b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 0 ${2:-} 2>&1 | awk '/Collected/ {print $NF}')
        echo $(((a - b) / 1000000))
    }
    instructions="$(per_packet "$stripped") $(per_packet ./.build-c-meter-bench) $(per_packet ./.build-c-meter-bench-minimal) $(per_packet "$stripped" ipv6) $(per_packet "$stripped" tcp) $(per_packet "$stripped" tcp-named)"
    rm -f "$stripped"
fi

python3 - "$results" "${harness_ns:-}" "$instructions" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
s, c, m, v6, tcp = (statistics.median(col) for col in zip(*rows))
print()
print(f"flowtap (MeterProfile)      {s:7.1f} ns per packet")
print(f"C, the same work            {c:7.1f} ns     flowtap / C: {s / c:.2f}   (aim: <= 1.10)")
print(f"C, a bare meter (-DMINIMAL) {m:7.1f} ns     flowtap / C: {s / m:.2f}")
print(f"flowtap over IPv6 frames    {v6:7.1f} ns     (no C twin)")
print(f"flowtap over TCP segments   {tcp:7.1f} ns     (in order; no C twin; the harness's sequence step included)")
if sys.argv[2].split():
    print("flowtap under package-benchmark, ns per packet (p50): " + ", ".join(f"{k} {v}" for k, v in zip(["IPv4", "IPv6"], sys.argv[2].split())))
if sys.argv[3]:
    i = list(map(int, sys.argv[3].split()))
    print(f"instructions per packet (callgrind): flowtap {i[0]}, C same work {i[1]} ({i[0] / i[1]:.2f}), C bare meter {i[2]} ({i[0] / i[2]:.2f}); flowtap over IPv6 {i[3]}, over TCP {i[4]}, over TCP with flows named (decided) {i[5]}")
EOF

#!/usr/bin/env bash
# test_bench_smoke.sh - bench.sh works: one short repetition of every mode prints a full table;
# bench-rtt.sh works: one short round, with a second flowtap binary, prints every mode;
# bench-quic-flood.sh works: one round of 2 s a phase prints both modes' figures.
# It checks that every mode was measured (no missing number), not how fast anything was: speed
# is for bench.sh runs on a quiet machine (README, Performance).
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
plan 13
require_root
needs python3 iperf3 trafgen ping gcc curl
# Operated (-O): every flowtap mode also serves the control socket and --metrics, polled and
# scraped every second, under the bench's floods (how libdispatch once took flowtap down).
out=$(bash "$HERE/bench.sh" -n 1 -d 1 -O -o "$FT_OUT/bench" 2>/dev/null)
echo "$out"
check "no flowtap mode ended before its stop signal" test ! -e "$FT_OUT/bench/early-exits.txt"
check "the polls and scrapes were answered" bash -c "grep -qE '^operated: [1-9][0-9]* polls of show flows answered, [1-9][0-9]* Prometheus scrapes' <<<'$out'"
for mode in "kernel bridge" "C reference (tapfwd)" "flowtap" "C reference -v (vnet_hdr + TSO)" "flowtap --offload" "flowtap, every frame a new flow"; do
  check "bench.sh measured: $mode" bash -c "grep -F '| $mode |' <<<'$out' | grep -qvE 'nan|\\| 0\\.00 \\|'"
done
check "bench.sh printed the ratios" bash -c "grep -q 'TCP, flowtap / C (plain) | [0-9]' <<<'$out'"
rtt=$(bash "$HERE/bench-rtt.sh" -n 1 -c 20 -b "$FT_BIN" 2>/dev/null)
echo "$rtt"
for mode in c-plain flowtap other; do
  check "bench-rtt.sh measured: $mode (20 pings)" bash -c "grep -qE '^\| $mode \| 20 \| [0-9]+ \| [0-9]+ \|' <<<'$rtt'"
done
flood=$(bash "$HERE/bench-quic-flood.sh" -n 1 -d 2 2>/dev/null)
echo "$flood"
check "bench-quic-flood.sh measured both modes and phases, the budget opening Initials with naming on" \
  bash -c "grep -qE '^round 1, naming on : mixed: TCP +[1-9][0-9.]* Mbit/s.*flood: +[1-9][0-9]* frames/s.* [1-9][0-9]* Initials opened' <<<'$flood' \
    && grep -qE '^round 1, naming off: mixed: TCP +[1-9][0-9.]* Mbit/s.*flood: +[1-9][0-9]* frames/s.* 0 Initials opened' <<<'$flood' \
    && grep -qE '^flood: flowtap µs/frame +on +[0-9.]+ +off +[0-9.]+ +on / off [0-9.]+' <<<'$flood'"
finish

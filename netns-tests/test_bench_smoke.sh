#!/usr/bin/env bash
# test_bench_smoke.sh - bench.sh works: one short repetition of every mode prints a full table,
# operated (-O: `show flows` polled and a real Prometheus scraping, both answered); bench-rtt.sh works: one short round, with a second flowtap binary, prints every mode.
# It checks that every mode was measured (no missing number), not how fast anything was: speed
# is for bench.sh runs on a quiet machine (README, Performance).
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
plan 11
require_root
out=$(bash "$HERE/bench.sh" -n 1 -d 1 -O 2>/dev/null)
echo "$out"
for mode in "kernel bridge" "C reference (tapfwd)" "flowtap" "C reference -v (vnet_hdr + TSO)" "flowtap --offload" "flowtap, every frame a new flow"; do
  check "bench.sh measured: $mode" bash -c "grep -F '| $mode |' <<<'$out' | grep -qvE 'nan|\\| 0\\.00 \\|'"
done
check "bench.sh printed the ratios" bash -c "grep -q 'TCP, flowtap / C (plain) | [0-9]' <<<'$out'"
printf '%s\n' "$out" >"$FT_OUT/bench.txt"
check "bench.sh -O: polls and Prometheus scrapes answered while flowtap ran" \
  grep -qE "^operated: [1-9][0-9]* polls of show flows answered, [1-9][0-9]* Prometheus scrapes" "$FT_OUT/bench.txt"
rtt=$(bash "$HERE/bench-rtt.sh" -n 1 -c 20 -b "$FT_BIN" 2>/dev/null)
echo "$rtt"
for mode in c-plain flowtap other; do
  check "bench-rtt.sh measured: $mode (20 pings)" bash -c "grep -qE '^\| $mode \| 20 \| [0-9]+ \| [0-9]+ \|' <<<'$rtt'"
done
finish

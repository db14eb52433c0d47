#!/usr/bin/env bash
# fuzz.sh SECONDS [libFuzzer options…]: builds the libFuzzer target of the per-frame path
# (Sources/FuzzMeter) with -sanitize=fuzzer,address and runs it for SECONDS, starting from the
# committed corpus (read only; new inputs go to a scratch directory). Crash inputs are kept in
# Fuzz/artifacts/. The last line is always "fuzz: N runs, C crashes"; the exit status is
# non-zero when C > 0 or the run did not happen.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz.sh SECONDS [libFuzzer options]}
shift
runs=0 crashes=0
report() { echo "fuzz: $runs runs, $crashes crashes"; }
trap report EXIT

echo "== fuzz: build (release, -sanitize=fuzzer,address)"
build() { swift build -c release --product FuzzMeter -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >/tmp/flowtap-fuzz-build.log 2>&1; }
# SwiftPM can keep a path dependency's old list of sources in an existing .build (files added
# to FlowTap since are then missing): one clean retry.
if ! build && ! { echo "== fuzz: clean rebuild"; rm -rf .build; build; }; then
  tail -20 /tmp/flowtap-fuzz-build.log
  crashes=1   # no run is a failure, never a pass
  exit 1
fi
bin=$(swift build -c release --product FuzzMeter --show-bin-path -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)/FuzzMeter
scratch=$(mktemp -d /tmp/flowtap-fuzz.XXXX)
mkdir -p artifacts
export SWIFT_BACKTRACE=enable=no
# A crash stops libFuzzer; run on from where it stopped so that one run counts every crash.
log=$scratch/fuzz.log
deadline=$((SECONDS + seconds))
while (( SECONDS < deadline )); do
  left=$((deadline - SECONDS))
  "$bin" -max_total_time="$left" -print_final_stats=1 -artifact_prefix=artifacts/ -max_len=4096 \
    -timeout=10 -rss_limit_mb=2048 "$@" "$scratch" corpus >"$log" 2>&1
  rc=$?
  n=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  runs=$((runs + ${n:-0}))
  if [[ $rc -ne 0 ]]; then
    crashes=$((crashes + 1))
    grep -E "ERROR|Fatal error|Precondition|SUMMARY|Test unit written" "$log" | head -8
    [[ -n $n ]] || break   # it did not even run: do not loop
  fi
done
[[ $runs -gt 0 && $crashes -eq 0 ]]

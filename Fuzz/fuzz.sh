#!/usr/bin/env bash
# fuzz.sh SECONDS [libFuzzer options…]: builds the libFuzzer targets with
# -sanitize=fuzzer,address and runs each for SECONDS, starting from its committed corpus (read
# only; new inputs go to a scratch directory): the per-frame path (Sources/FuzzMeter, corpus/)
# the capture file reader of `flowtap read` (Sources/FuzzCapture, corpus-capture/) and the
# application-visibility parsers (Sources/FuzzInspect, corpus-inspect/) and QUIC's Initials
# (Sources/FuzzQUIC, corpus-quic/). Crash
# inputs are kept in Fuzz/artifacts/. The last line is always "fuzz: N runs, C crashes"; the
# exit status is non-zero when C > 0 or a target did not run.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz.sh SECONDS [libFuzzer options]}
shift
runs=0 crashes=0
report() { echo "fuzz: $runs runs, $crashes crashes"; }
trap report EXIT

echo "== fuzz: build (release, -sanitize=fuzzer,address)"
# lld, the Swift toolchain's own linker: Debian's gold (2.40) stops with an internal error
# (dwarf_reader.cc:2713) linking a second executable of this package under the sanitizers.
FLAGS=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)
build() { swift build "${FLAGS[@]}" --product FuzzMeter >/tmp/flowtap-fuzz-build.log 2>&1 &&
          swift build "${FLAGS[@]}" --product FuzzCapture >>/tmp/flowtap-fuzz-build.log 2>&1 &&
          swift build "${FLAGS[@]}" --product FuzzInspect >>/tmp/flowtap-fuzz-build.log 2>&1 &&
          swift build "${FLAGS[@]}" --product FuzzQUIC >>/tmp/flowtap-fuzz-build.log 2>&1; }
# SwiftPM can keep a path dependency's old list of sources in an existing .build (files added
# to FlowTap since are then missing): one clean retry.
if ! build && ! { echo "== fuzz: clean rebuild"; rm -rf .build; build; }; then
  tail -20 /tmp/flowtap-fuzz-build.log
  crashes=1   # no run is a failure, never a pass
  exit 1
fi
bindir=$(swift build "${FLAGS[@]}" --show-bin-path)
scratch=$(mktemp -d /tmp/flowtap-fuzz.XXXX)
mkdir -p artifacts
export SWIFT_BACKTRACE=enable=no
# fuzz TARGET CORPUS: TARGET for SECONDS. A crash stops libFuzzer; run on from where it stopped
# so that one run counts every crash.
fuzz() {
  local target=$1 corpus=$2 log=$scratch/$1.log new=$scratch/$1 deadline=$((SECONDS + seconds)) ran=0 left rc n
  shift 2
  mkdir -p "$new"
  while (( SECONDS < deadline )); do
    left=$((deadline - SECONDS))
    "$bindir/$target" -max_total_time="$left" -print_final_stats=1 -artifact_prefix=artifacts/ -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 "$@" "$new" "$corpus" >"$log" 2>&1
    rc=$?
    n=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    runs=$((runs + ${n:-0})); ran=$((ran + ${n:-0}))
    if [[ $rc -ne 0 ]]; then
      crashes=$((crashes + 1))
      grep -E "ERROR|Fatal error|Precondition|SUMMARY|Test unit written" "$log" | head -8
      [[ -n $n ]] || break   # it did not even run: do not loop
    fi
  done
  echo "fuzz: $target: $ran runs"
  [[ $ran -gt 0 ]] || crashes=$((crashes + 1))
}
fuzz FuzzMeter corpus "$@"
fuzz FuzzCapture corpus-capture "$@"
fuzz FuzzInspect corpus-inspect "$@"
fuzz FuzzQUIC corpus-quic "$@"
[[ $runs -gt 0 && $crashes -eq 0 ]]

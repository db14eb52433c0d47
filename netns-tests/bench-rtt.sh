#!/usr/bin/env bash
# bench-rtt.sh - ping RTT alone, flowtap against the C reference, many rounds interleaved.
#
#   bench-rtt.sh [-n ROUNDS] [-c PINGS] [-b OTHER_FLOWTAP]
#
# bench.sh measures RTT once per repetition, after TCP and a flood; its RTT ratio moves by
# ±15 % between runs. This takes ROUNDS rounds (default 8) of PINGS pings (default 300, 10 ms
# apart) through each mode in turn, keeps every single RTT, and prints per mode the mean and
# the median over all of them, and the ratios to the C reference. Modes: the C reference, this
# flowtap, and with -b another flowtap binary (say, a build of an earlier commit), so that a
# change's effect on latency is measured in one run. A benchmark: it asserts nothing.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=8 PINGS=300 OTHER=""
while getopts "n:c:b:h" c; do
  case $c in
    n) ROUNDS=$OPTARG ;; c) PINGS=$OPTARG ;; b) OTHER=$OPTARG ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
source "$HERE/lib.sh"
set +e
require_root
[[ -x $FT_BIN ]] || { echo "bench-rtt.sh: build flowtap first (swift build -c release)" >&2; exit 1; }
[[ -z $OTHER || -x $OTHER ]] || { echo "bench-rtt.sh: -b $OTHER is not an executable flowtap" >&2; exit 2; }
build_c_reference || exit 1

topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
SAMPLES=$FT_OUT/rtt.tsv
: > "$SAMPLES"
MODES=(c-plain flowtap)
[[ -n $OTHER ]] && MODES+=(other)
# No control socket in the host's /run; a build older than --control has none to make.
OTHER_ARGS=()
# (The help is read whole first: grep -q stops reading early, and under pipefail the writer's
# EPIPE would make the test fail.)
if [[ -n $OTHER ]] && grep -q -- "--control" <<<"$("$OTHER" run --help 2>&1)"; then OTHER_ARGS=(--control none); fi
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in "${MODES[@]}"; do
    case $mode in
      c-plain) ip netns exec "$NS_P" "$FT_OUT/tapfwd" tapa tapb 2>/dev/null & ;;
      flowtap) ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --collector "$C_IP:4739" --control none >/dev/null 2>&1 & ;;
      other) ip netns exec "$NS_P" "$OTHER" run --tap-a tapa --tap-b tapb --collector "$C_IP:4739" "${OTHER_ARGS[@]}" >/dev/null 2>&1 & ;;
    esac
    fwd=$!
    wait_ping || { echo "bench-rtt.sh: no path h1 -> h2 through $mode" >&2; exit 1; }
    echo "== round $r/$ROUNDS: $mode" >&2
    ns "$NS_H1" ping -c "$PINGS" -i 0.01 "$H2_IP" | sed -n "s/.*time=\([0-9.]*\) ms/$mode\t\1/p" >> "$SAMPLES"
    stop_pid "$fwd" INT
    sleep 0.3
  done
done
python3 "$(dirname "$0")/tools/convert.py" rtt-table "$SAMPLES"

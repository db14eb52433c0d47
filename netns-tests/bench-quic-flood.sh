#!/usr/bin/env bash
# bench-quic-flood.sh - what a flood of QUIC Initials costs forwarding, naming on against off.
#
#   bench-quic-flood.sh [-n ROUNDS] [-d SECONDS]
#
# Each round runs flowtap twice, with --app-fields on and off (the order alternating), and each
# time, for SECONDS (default 5): an iperf3 TCP transfer h1 -> h2 as fast as the path carries,
# pings h1 -> h2 every 10 ms, and tools/quicflood.py sending client Initials with random DCIDs,
# each from a new source port, h1 -> h2 (every one a flow whose Initial flowtap would open; the
# budget opens 2000 a second). Prints per round the TCP throughput, the pings' median RTT and the
# flood's datagrams and flowtap's CPU time a forwarded frame, then the medians and the ratios
# on / off. A benchmark: it asserts nothing.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=5 SECS=5
while getopts "n:d:h" c; do
  case $c in
    n) ROUNDS=$OPTARG ;; d) SECS=$OPTARG ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
source "$HERE/lib.sh"
set +e
require_root
[[ -x $FT_BIN ]] || { echo "bench-quic-flood.sh: build flowtap first (swift build -c release)" >&2; exit 1; }
topology_up
hosts_without_offloads
iperf3_server
start_nfcapd 4739 "$FT_OUT/nfcap"
RESULTS=$FT_OUT/results.tsv
: >"$RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
  modes=(on off)
  ((r % 2 == 0)) && modes=(off on)
  for mode in "${modes[@]}"; do
    start_flowtap --collector "$C_IP:4739" --app-fields "$mode" --metrics "$P_IP:9464"
    wait_ping || { echo "bench-quic-flood.sh: no ping through flowtap: $(tail -1 "$FT_OUT/flowtap.log")" >&2; exit 1; }
    ns "$NS_H1" ping -i 0.01 -w "$SECS" "$H2_IP" >"$FT_OUT/ping-$r-$mode.log" 2>&1 &
    ping_pid=$!
    ns "$NS_H1" python3 "$HERE/tools/quicflood.py" send "$H2_IP" 8443 "$SECS" >"$FT_OUT/flood-$r-$mode.txt" &
    flood_pid=$!
    ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t "$SECS" -J >"$FT_OUT/iperf-$r-$mode.json" 2>/dev/null
    wait "$ping_pid" "$flood_pid"
    ns "$NS_C" curl -sf -m 3 "http://$P_IP:9464/metrics" >"$FT_OUT/metrics-$r-$mode.txt" 2>/dev/null
    # flowtap's own CPU time (utime + stime, clock ticks) for the frames it forwarded: its cost
    # apart from what the hosts' senders, sharing the two cores, take from each other.
    pid=$(pgrep -P "$PID_FLOWTAP" -x flowtap || echo "$PID_FLOWTAP")
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null)
    stop_flowtap
    frames=$(awk '/^flowtap_frames_total/ {s += $NF} END {print s + 0}' "$FT_OUT/metrics-$r-$mode.txt")
    cpu_us=$(python3 -c "import os,sys; t, f = int(sys.argv[1] or 0), int(sys.argv[2]); print(round(t * 1e6 / os.sysconf('SC_CLK_TCK') / f, 3) if f else 0)" "${ticks:-0}" "$frames")
    mbps=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second'] / 1e6, 1))" "$FT_OUT/iperf-$r-$mode.json" 2>/dev/null)
    rtt=$(grep -oE 'time=[0-9.]+' "$FT_OUT/ping-$r-$mode.log" | cut -d= -f2 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    opened=$(awk '/^flowtap_quic_decryptions_total/ && /done/ {s += $NF} END {print s + 0}' "$FT_OUT/metrics-$r-$mode.txt")
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$r" "$mode" "${mbps:-0}" "${rtt:-0}" "$(cat "$FT_OUT/flood-$r-$mode.txt")" "$cpu_us" "$opened" >>"$RESULTS"
    printf "round %d, naming %-3s: TCP %7s Mbit/s, ping median %6s ms, flood %6s datagrams, flowtap %6s µs CPU a frame, %5s Initials opened\n" \
      "$r" "$mode" "${mbps:-0}" "${rtt:-0}" "$(cat "$FT_OUT/flood-$r-$mode.txt")" "$cpu_us" "$opened"
  done
done
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
def med(mode, col):
    return statistics.median(float(r[col]) for r in rows if r[1] == mode)
for name, col in (("TCP Mbit/s", 2), ("ping median ms", 3), ("flood datagrams", 4), ("flowtap µs/frame", 5)):
    on, off = med("on", col), med("off", col)
    print(f"{name:16s} on {on:10.3f}   off {off:10.3f}   on / off {on / off if off else float('nan'):.2f}")
EOF

#!/usr/bin/env bash
# bench-quic-flood.sh - what a flood of QUIC Initials costs forwarding, naming on against off.
#
#   bench-quic-flood.sh [-n ROUNDS] [-d SECONDS]
#
# Each round runs flowtap with --app-fields on and off (the order alternating), each in two
# phases of SECONDS (default 5), with pings h1 -> h2 every 10 ms throughout:
#   mixed: an iperf3 TCP transfer h1 -> h2 as fast as the path carries, beside
#          tools/quicflood.py sending client Initials with random DCIDs, each from a new source
#          port (about 45 000 a second: what one Python process sends);
#   flood: trafgen (bench/quic-initials.trafgen) sending such Initials as fast as the testbed
#          carries, each a new flow whose Initial flowtap would open.
# The budget opens 2000 a second per direction and queue. Prints per round the TCP throughput,
# the flood's frames a second at h2, the pings' median RTT and flowtap's own CPU time a
# forwarded frame in each phase, and the Initials opened; then the medians and the ratios on /
# off. A benchmark: it asserts nothing. Needs iperf3 and trafgen (netsniff-ng).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=5 SECS=5
while getopts "n:d:h" c; do
  case $c in
    n) ROUNDS=$OPTARG ;; d) SECS=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
source "$HERE/lib.sh"
set +e
require_root
[[ -x $FT_BIN ]] || { echo "bench-quic-flood.sh: build flowtap first (swift build -c release)" >&2; exit 1; }
for t in iperf3 trafgen ping; do command -v "$t" >/dev/null || { echo "bench-quic-flood.sh: needs $t" >&2; exit 1; }; done
topology_up
hosts_without_offloads
iperf3_server
start_nfcapd 4739 "$FT_OUT/nfcap"
RESULTS=$FT_OUT/results.tsv
: >"$RESULTS"

# flowtap's CPU time so far (utime + stime, in µs) and frames forwarded (its metrics).
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1e6 / hz}' "/proc/$PID_FLOWTAP/stat" 2>/dev/null || echo 0; }
metric() { ns "$NS_C" curl -sf -m 3 "http://$P_IP:9464/metrics" | awk -v m="$1" -v w="${2:-}" '$1 ~ "^" m "({|$)" && index($1, w) {s += $NF} END {print s + 0}'; }
rx() { ns "$NS_H2" cat /sys/class/net/eth0/statistics/rx_packets; }
median_rtt() { grep -oE 'time=[0-9.]+' "$1" | cut -d= -f2 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)] + 0}'; }
# per_frame CPU0 FRAMES0: flowtap's µs of CPU a frame forwarded since.
per_frame() {
  python3 -c "import sys; c, f = float(sys.argv[1]) - float(sys.argv[2]), int(sys.argv[3]) - int(sys.argv[4]); print(round(c / f, 3) if f else 0)" \
    "$(cpu_us)" "$1" "$(metric flowtap_frames_total)" "$2"
}

for ((r = 1; r <= ROUNDS; r++)); do
  modes=(on off)
  ((r % 2 == 0)) && modes=(off on)
  for mode in "${modes[@]}"; do
    start_flowtap --collector "$C_IP:4739" --app-fields "$mode" --metrics "$P_IP:9464"
    wait_ping || { echo "bench-quic-flood.sh: no ping through flowtap: $(tail -1 "$FT_OUT/flowtap.log")" >&2; exit 1; }
    # Mixed: TCP beside a Python flood.
    c0=$(cpu_us) f0=$(metric flowtap_frames_total)
    ns "$NS_H1" ping -i 0.01 -w "$SECS" "$H2_IP" >"$FT_OUT/ping-mixed-$r-$mode.log" 2>&1 &
    ping_pid=$!
    ns "$NS_H1" python3 "$HERE/tools/quicflood.py" send "$H2_IP" 8443 "$SECS" >/dev/null &
    flood_pid=$!
    ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t "$SECS" -J >"$FT_OUT/iperf-$r-$mode.json" 2>/dev/null
    wait "$ping_pid" "$flood_pid"
    mixed_cpu=$(per_frame "$c0" "$f0")
    mbps=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second'] / 1e6, 1))" "$FT_OUT/iperf-$r-$mode.json" 2>/dev/null)
    # Flood: trafgen as fast as the testbed carries.
    sleep 1
    c0=$(cpu_us) f0=$(metric flowtap_frames_total) rx0=$(rx) t0=$(date +%s.%N)
    ns "$NS_H1" ping -i 0.01 -w "$SECS" "$H2_IP" >"$FT_OUT/ping-flood-$r-$mode.log" 2>&1 &
    ping_pid=$!
    timeout -s INT "$SECS" ip netns exec "$NS_H1" trafgen -o eth0 -i "$HERE/bench/quic-initials.trafgen" -P 1 --no-sock-mem -Q >/dev/null 2>&1
    rx1=$(rx) t1=$(date +%s.%N)
    wait "$ping_pid"
    flood_cpu=$(per_frame "$c0" "$f0")
    pps=$(python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) / (float(sys.argv[4]) - float(sys.argv[3]))))" "$rx0" "$rx1" "$t0" "$t1")
    opened=$(metric flowtap_quic_decryptions_total 'outcome="done"')
    skipped=$(metric flowtap_quic_decryptions_total 'outcome="skipped"')
    stop_flowtap
    rtt_mixed=$(median_rtt "$FT_OUT/ping-mixed-$r-$mode.log") rtt_flood=$(median_rtt "$FT_OUT/ping-flood-$r-$mode.log")
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$r" "$mode" "${mbps:-0}" "$rtt_mixed" "$mixed_cpu" "$pps" "$rtt_flood" "$flood_cpu" >>"$RESULTS"
    printf "round %d, naming %-3s: mixed: TCP %6s Mbit/s, ping %5s ms, flowtap %6s µs a frame; flood: %6s frames/s at h2, ping %5s ms, flowtap %6s µs a frame; %5s Initials opened, %6s skipped\n" \
      "$r" "$mode" "${mbps:-0}" "$rtt_mixed" "$mixed_cpu" "$pps" "$rtt_flood" "$flood_cpu" "$opened" "$skipped"
  done
done
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
def med(mode, col):
    return statistics.median(float(r[col]) for r in rows if r[1] == mode)
names = ["mixed: TCP Mbit/s", "mixed: ping ms", "mixed: flowtap µs/frame", "flood: frames/s at h2",
         "flood: ping ms", "flood: flowtap µs/frame"]
for col, name in enumerate(names, start=2):
    on, off = med("on", col), med("off", col)
    print(f"{name:24s} on {on:10.3f}   off {off:10.3f}   on / off {on / off if off else float('nan'):.2f}")
EOF

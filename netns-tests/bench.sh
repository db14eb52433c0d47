#!/usr/bin/env bash
# bench.sh - flowtap against the C reference forwarder and the kernel bridge, in one run.
#
#   bench.sh [-n REPS] [-d SECS] [-o OUTDIR] [-O]
#
# FT_EXTRA_ARGS: more flowtap options for every flowtap mode (e.g. "--seccomp off").
# -O (operated): every flowtap mode also serves --control and --metrics, while
# `flowtap show flows` polls it every second and a real Prometheus (in the collector
# namespace) scrapes it every second; the run ends with how many polls and scrapes succeeded.
#
# Modes, interleaved within each repetition so that drift on a noisy machine hits all alike:
#   bridge     h1 and h2 on one kernel bridge (the physical limit)
#   c-plain    the C reference (netns-tests/bench/tapfwd.c, built here), no offloads
#   ft-plain   flowtap, no offloads, metering every packet, exporting to nfcapd
#   c-vnet     the C reference with -v (vnet_hdr + TSO/CSUM)
#   ft-offload flowtap --offload
#   ft-churn   flowtap, no offloads, under a flood where every frame is a new flow (flood only)
# Per mode and repetition: iperf3 TCP h1->h2 (Gbit/s), a trafgen flood of 60-byte frames
# (frames h2 received per second), ping RTT (200 x 10 ms). Prints medians and the ratios the
# project aims at: flowtap/C >= 0.95 (TCP, pps), RTT <= 1.10 x C, offload >= 0.85 x bridge.
# A benchmark, not a test: it asserts nothing. Needs root, iperf3, trafgen (netsniff-ng).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=3 DUR=10 OUTDIR="" OPERATE=0
while getopts "n:d:o:Oh" c; do
  case $c in
    n) REPS=$OPTARG ;; d) DUR=$OPTARG ;; o) OUTDIR=$OPTARG ;; O) OPERATE=1 ;;
    *) sed -n '2,21p' "$0"; exit 2 ;;
  esac
done
source "$HERE/lib.sh"
set +e   # a benchmark goes on through a failed measurement; the checks that matter exit explicitly
require_root
[[ -n $OUTDIR ]] && mkdir -p "$OUTDIR"
RAW=${OUTDIR:-$FT_OUT}/raw.tsv
LOGS=${OUTDIR:-$FT_OUT}   # each flowtap run's stderr, MODE-REP.log, for a look after a failed mode
: > "$RAW"
build_c_reference || exit 1
for t in iperf3 trafgen ping; do command -v "$t" >/dev/null || { echo "bench.sh: needs $t" >&2; exit 1; }; done
[[ -x $FT_BIN ]] || { echo "bench.sh: build flowtap first (swift build -c release)" >&2; exit 1; }

topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
iperf3_server
nctr() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
rec() { printf '%s\t%s\t%s\t%s\n' "$MODE" "$REP" "$1" "$2" >> "$RAW"; }
FWD=""
# What every flowtap mode is run with: no control socket, or (-O) one plus --metrics.
OPERATED=(--control none ${FT_EXTRA_ARGS:-})
if [[ $OPERATE -eq 1 ]]; then
  OPERATED=(--control "$FT_OUT/bench.sock" --metrics "$P_IP:9750" ${FT_EXTRA_ARGS:-})
  printf 'global: {scrape_interval: 1s, scrape_timeout: 900ms}\nscrape_configs: [{job_name: flowtap, static_configs: [{targets: ["%s:9750"]}]}]\n' "$P_IP" >"$FT_OUT/prometheus.yml"
  spawn PROM "$NS_C" prometheus --config.file="$FT_OUT/prometheus.yml" --storage.tsdb.path="$FT_OUT/prom" \
    --web.listen-address=127.0.0.1:9090 --log.level=error 2>"$FT_OUT/prometheus.log"
  # Polls `show flows` every second; counts the answers (C modes have no socket: no answer).
  (while :; do "$FT_BIN" show flows --top 10 --control "$FT_OUT/bench.sock" >/dev/null 2>&1 && echo ok; sleep 1; done) >"$FT_OUT/polls.log" &
  FT_PIDS+=("$!")
fi
start_mode() {
  case $MODE in
    bridge) ip -n "$NS_P" link set vh2 master bra ;;   # vh1 and vh2 share one kernel bridge
    c-plain) ip netns exec "$NS_P" "$FT_OUT/tapfwd" tapa tapb 2>/dev/null & FWD=$! ;;
    c-vnet) ip netns exec "$NS_P" "$FT_OUT/tapfwd" -v tapa tapb 2>/dev/null & FWD=$! ;;
    ft-plain) ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --collector "$C_IP:4739" "${OPERATED[@]}" 2>"$LOGS/$MODE-$REP.log" >/dev/null & FWD=$! ;;
    ft-offload) ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --collector "$C_IP:4739" "${OPERATED[@]}" --offload 2>"$LOGS/$MODE-$REP.log" >/dev/null & FWD=$! ;;
    ft-churn) ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --collector "$C_IP:4739" "${OPERATED[@]}" 2>"$LOGS/$MODE-$REP.log" >/dev/null & FWD=$! ;;
  esac
  wait_ping || { echo "bench.sh: no path h1 -> h2 in $MODE" >&2; exit 1; }
  timeout 15 ip netns exec "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t 1 >/dev/null 2>&1 || true   # warm-up (bounded: a path lost mid-run would hang iperf3)
}
stop_mode() {
  # A flowtap that is gone before its stop signal: how it ended, beside its log.
  if [[ -n $FWD && $MODE == ft-* ]] && ! kill -0 "$FWD" 2>/dev/null; then
    wait "$FWD"; echo "$MODE rep $REP: flowtap ended early, status $?" | tee -a "$LOGS/early-exits.txt" >&2
  fi
  if [[ -n $FWD ]]; then stop_pid "$FWD" INT; FWD=""; fi
  [[ $MODE == bridge ]] && ip -n "$NS_P" link set vh2 master brb
  sleep 0.5
}
flood() {  # flood TRAFGEN_FILE: frames per second h2 received
  local rx0 rx1 t0 t1
  rx0=$(nctr "$NS_H2" eth0 rx_packets); t0=$(date +%s.%N)
  timeout -s INT "$DUR" ip netns exec "$NS_H1" trafgen -o eth0 -i "$1" -P 1 --no-sock-mem -Q >/dev/null 2>&1
  rx1=$(nctr "$NS_H2" eth0 rx_packets); t1=$(date +%s.%N)
  python3 "$HERE/tools/convert.py" rate "$rx0" "$rx1" "$t0" "$t1"
}
measure() {
  if [[ $MODE == ft-churn ]]; then
    rec pps60 "$(flood "$HERE/bench/churn60.trafgen")"
    return
  fi
  local f=$FT_OUT/$MODE-$REP.json
  timeout $((DUR + 30)) ip netns exec "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t "$DUR" -J > "$f" 2>/dev/null
  rec tcp_gbps "$(python3 "$HERE/tools/convert.py" iperf-gbps "$f" 2>/dev/null || echo 0)"
  rec pps60 "$(flood "$HERE/bench/udp60.trafgen")"
  sleep 1
  rec rtt_us "$(ns "$NS_H1" ping -c 200 -i 0.01 -q "$H2_IP" | awk -F'[/ ]' '/^rtt/{print $8 * 1000}')"
}

MODES=(bridge c-plain ft-plain c-vnet ft-offload ft-churn)
for ((REP = 1; REP <= REPS; REP++)); do
  for MODE in "${MODES[@]}"; do
    echo "== rep $REP/$REPS: $MODE" >&2
    start_mode
    measure
    stop_mode
  done
done
python3 "$HERE/bench/summarize.py" "$RAW"
if [[ $OPERATE -eq 1 ]]; then
  scrapes=$(ns "$NS_C" curl -sf http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=sum_over_time(up{job="flowtap"}[1d])' \
    | python3 "$HERE/tools/convert.py" prom-value)
  echo "operated: $(grep -c ok "$FT_OUT/polls.log") polls of show flows answered, $scrapes Prometheus scrapes with up == 1, while flowtap ran"
fi

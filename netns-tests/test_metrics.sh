#!/usr/bin/env bash
# test_metrics.sh - `--metrics`: a real Prometheus server (Debian's) in the collector namespace
# scrapes the probe every second while traffic crosses it. promtool finds the exposition clean;
# PromQL through Prometheus' HTTP API gives, once traffic has stopped, the frames and bytes per
# direction that a capture of each TAP holds and that the probe's own exit summary states; the
# series carry the documented labels; the HTTP side (flowtap's own, in the control thread) answers
# / and HEAD, keeps a connection between requests, refuses what is not a scrape and a head over
# 8 KiB, and a client sending a byte a second holds up neither a scrape nor the control socket;
# and bad --metrics values get one line that names the fix.
source "$(dirname "$0")/lib.sh"
plan 20
require_root
needs python3 tcpdump tshark nfcapd iperf3 prometheus promtool curl ss
topology_up
PORT=9750

start_nfcapd 4739 "$FT_OUT/nfcap"
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --metrics "$P_IP:$PORT"
check "h1 reaches h2 through flowtap" wait_ping
check "flowtap listens for scrapes on $P_IP:$PORT" wait_listening "$NS_P" "$PORT" t

cat >"$FT_OUT/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: flowtap
    static_configs:
      - targets: ["$P_IP:$PORT"]
EOF
promtool check config "$FT_OUT/prometheus.yml" >/dev/null
spawn PROM "$NS_C" prometheus --config.file="$FT_OUT/prometheus.yml" --storage.tsdb.path="$FT_OUT/prom" \
  --web.listen-address=127.0.0.1:9090 --log.level=warn 2>"$FT_OUT/prometheus.log"
# promql QUERY: the query's instant vector as "labels value" lines, sorted.
promql() {
  ns "$NS_C" curl -sf -m 5 http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1" | python3 "$(dirname "$0")/tools/convert.py" prom-series
}
ready() { ns "$NS_C" curl -sf -m 1 http://127.0.0.1:9090/-/ready >/dev/null; }
wait_for_prometheus() { local i; for i in $(seq 100); do ready && [[ "$(promql 'up{job="flowtap"}')" == "- 1" ]] && return 0; sleep 0.2; done; return 1; }
check "Prometheus scrapes the probe (up == 1)" wait_for_prometheus

iperf3_server
TCP_BYTES=2M traffic
ns "$NS_C" curl -sf -m 3 "http://$P_IP:$PORT/metrics" >"$FT_OUT/metrics.txt"
check "promtool check metrics finds nothing to fix" bash -c "promtool check metrics <'$FT_OUT/metrics.txt' >'$FT_OUT/promtool.txt' 2>&1 && ! test -s '$FT_OUT/promtool.txt'"
cat "$FT_OUT/promtool.txt"

# Traffic has stopped; three scrapes later the last one holds every frame.
sleep 3
promql 'flowtap_frames_total' >"$FT_OUT/frames.txt"
promql 'flowtap_bytes_total' >"$FT_OUT/bytes.txt"
promql 'count by (__name__) ({__name__=~"flowtap_.+"})' >"$FT_OUT/names.txt"
promql 'flowtap_records_total' >"$FT_OUT/records.txt"
promql 'flowtap_export_messages_total' >"$FT_OUT/export.txt"
promql 'flowtap_kernel_drops_total' >"$FT_OUT/drops.txt"
root=$(ns "$NS_C" curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$P_IP:$PORT/")
missing=$(ns "$NS_C" curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$P_IP:$PORT/nothing")
post=$(ns "$NS_C" curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST "http://$P_IP:$PORT/metrics")
# Keep-alive: curl asks twice over one connection; HEAD: the scrape's head, no body.
ns "$NS_C" curl -sv -m 3 -o /dev/null "http://$P_IP:$PORT/metrics" -o /dev/null "http://$P_IP:$PORT/metrics" 2>"$FT_OUT/keepalive.txt"
ns "$NS_C" curl -sI -m 3 "http://$P_IP:$PORT/metrics" >"$FT_OUT/head.txt"
big=$(ns "$NS_C" python3 "$(dirname "$0")/tools/sockets.py" big-head "$P_IP" "$PORT" 9000)
# A slowloris on the metrics port for 6 s; meanwhile scrapes and control requests, timed.
ns "$NS_C" python3 "$(dirname "$0")/tools/sockets.py" slow-request "$P_IP" "$PORT" 6 >"$FT_OUT/slow.txt" &
slow_pid=$!
sleep 1
worst=0
for i in 1 2 3 4; do
  t0=$(date +%s%N)
  ns "$NS_C" curl -sf -m 3 -o /dev/null "http://$P_IP:$PORT/metrics" || worst=9999
  ns "$NS_P" "$FT_BIN" show stats --control "$FT_CONTROL" --json >/dev/null || worst=9999
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  (( ms > worst )) && worst=$ms
  sleep 1
done
wait "$slow_pid"
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb
check "the TAP captures lost no frame" capture_complete tapa
cat "$FT_OUT/frames.txt" "$FT_OUT/bytes.txt"

summary_frames() { sed -n "s/.*stopped by SIGTERM:.* $1 \([0-9]*\) frames.*/\1/p" "$FT_OUT/flowtap.log"; }
series() { awk -v d="direction=$2,queue=0" '$1 == d {print $2}' "$FT_OUT/$1.txt"; }
captured() { tshark -r "$FT_OUT/$1.pcap" 2>/dev/null | wc -l; }
captured_bytes() { tshark -r "$FT_OUT/$1.pcap" -T fields -e frame.len 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
for d in tapa:tapb tapb:tapa; do
  in=${d%%:*} out=${d#*:}
  got=$(series frames "$in->$out") sum=$(summary_frames "$in->$out") cap=$(captured "$in")
  check "PromQL flowtap_frames_total{direction=\"$in->$out\"} ($got) = exit summary ($sum) = capture of $in ($cap)" \
    test "${got:-x}" = "$sum" -a "$sum" = "$cap"
  got=$(series bytes "$in->$out") cap=$(captured_bytes "$in")
  check "PromQL flowtap_bytes_total{direction=\"$in->$out\"} ($got) = bytes in the capture of $in ($cap)" test "${got:-x}" = "$cap"
done
check "records by reason: 5 flowEndReasons x 2 directions, labelled direction, queue, reason" \
  test "$(grep -c '^direction=tap[ab]->tap[ab],queue=0,reason=[a-z_]* ' "$FT_OUT/records.txt")" -eq 10
check "export series labelled by collector, with messages sent" \
  grep -Eq '^collector=ipfix://10\.77\.9\.2:4739 [1-9]' "$FT_OUT/export.txt"
check "the TAPs' kernel drop counters, one series per direction" test "$(wc -l <"$FT_OUT/drops.txt")" -eq 2
check "at least 25 metric names, every one flowtap_ ($(wc -l <"$FT_OUT/names.txt"))" test "$(wc -l <"$FT_OUT/names.txt")" -ge 25
check "GET / answers 200, /nothing 404, POST /metrics 405 (got $root $missing $post)" test "$root $missing $post" = "200 404 405"
check "two scrapes over one connection (keep-alive)" grep -q "Re-using existing connection" "$FT_OUT/keepalive.txt"
check "HEAD answers 200 with the scrape's Content-Length" bash -c \
  "head -1 '$FT_OUT/head.txt' | grep -q '^HTTP/1.1 200' && grep -qi '^content-length: [1-9]' '$FT_OUT/head.txt'"
check "a request head of 9000 bytes gets 431 ($big)" bash -c "[[ '$big' == 'HTTP/1.1 431 '* ]]"
check "a client sending a byte a second held up neither a scrape nor show stats (slowest pair ${worst} ms), and got 408 ($(cat "$FT_OUT/slow.txt"))" \
  bash -c "test $worst -lt 1000 && grep -q '^HTTP/1.1 408 ' '$FT_OUT/slow.txt'"

# Bad use: one line each, naming the fix, and a non-zero exit before forwarding.
bad() {  # bad VALUE EXPECTED-WORDS
  local out rc=0
  out=$(ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --collector "$C_IP:4739" --control none --metrics "$1" 2>&1) || rc=$?
  echo "    --metrics $1: rc $rc: $out"
  [[ $rc -ne 0 && $(wc -l <<<"$out") -eq 1 && "$out" == *"$2"* ]]
}
spawn HOLD "$NS_P" python3 "$(dirname "$0")/tools/sockets.py" hold-port "$P_IP" "$PORT" 60
wait_listening "$NS_P" "$PORT" t
check "a bad port, an address without brackets, one not of this host and a port in use get one line" \
  bash -c "$(declare -f bad); FT_BIN='$FT_BIN' NS_P='$NS_P' C_IP='$C_IP'; \
    bad 10.77.9.1:99999 'no port from 1 to 65535' && bad fd00::1:9750 'without brackets' && \
    bad 10.77.99.99:9750 'not an address of this host' && bad '$P_IP:$PORT' 'Address already in use'"
finish

#!/usr/bin/env bash
# test_multiqueue.sh - `--queues 2 --cpus 0,1` on multi_queue TAPs: four forwarding threads,
# each with its own flow cache; the kernel keeps a flow on one queue, so every flow must still be
# counted exactly (nfdump against a capture of the TAPs), and several parallel TCP streams cross.
# Connections the client resets: the server side's flow, which carries no RST, is closed by the
# notice of the other direction of its queue (the TAP keeps both directions on one queue index)
# and ends "end of flow detected" (tshark on the export), on both queues.
# Also: --queues on TAPs made without multi_queue is refused with the fix.
source "$(dirname "$0")/lib.sh"
plan 11
require_root
needs python3 tcpdump tshark nfcapd nfdump iperf3 ss
TOOLS=$(dirname "$0")/tools
MULTI_QUEUE=1 topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739
start_flowtap --collector "$C_IP:4739" --queues 2 --cpus 0,1 --tcp-close-timeout 1 --template-refresh-packets 0
check "h1 reaches h2 through flowtap with two queues" wait_ping
check "four forwarding threads run" test "$(ls /proc/$PID_FLOWTAP/task | wc -l)" -ge 5
grep -h . /proc/$PID_FLOWTAP/task/*/comm | sort | tr '\n' ' '; echo
iperf3_server
ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -P 4 -n 8M -b 400M > "$FT_OUT/iperf-p4.log"
check "four parallel TCP streams crossed" grep -q "SUM.*receiver" "$FT_OUT/iperf-p4.log"
TCP_BYTES=2M traffic
spawn WEB "$NS_H2" python3 -u "$TOOLS/short_connections.py" server 8080 >"$FT_OUT/web.log" 2>&1
wait_listening "$NS_H2" 8080 t
done=$(ns "$NS_H1" python3 "$TOOLS/short_connections.py" client "$H2_IP" 8080 100 30000 reset)
check "100 connections reset by the client ($done)" test "$done" = 100
# Past the 1 s close grace and a sweep of the table.
sleep 3
"$FT_BIN" show stats --json --control "$FT_CONTROL" >"$FT_OUT/stats.json"
check "reset notices closed flows on both queues" python3 "$TOOLS/controlcheck.py" resets-per-queue "$FT_OUT/stats.json" 2
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T fields -e cflow.srcport -e cflow.dstport -e cflow.protocol \
  -e cflow.flow_end_reason 2>/dev/null >"$FT_OUT/reasons.tsv"
check "the 100 server sides, which sent no RST, end with flowEndReason 3" \
  python3 "$TOOLS/recordcheck.py" server-side-reasons "$FT_OUT/reasons.tsv" 8080 30000 100
check "the TAP captures lost no frame" capture_complete tapa
sleep 0.5
stop_pid "$PID_NFCAPD"
grep "^flowtap: " "$FT_OUT/flowtap.log"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/nfdump.json"
check "every flow counted exactly across the queues" python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfdump.json" --min 14
a=$(tshark -r "$FT_OUT/tapa.pcap" 2>/dev/null | wc -l)
check "frames a->b summed over the queues equal the capture ($a)" grep -q "tapa->tapb $a frames" "$FT_OUT/flowtap.log"

ip -n "$NS_P" tuntap add dev tapx mode tap
ip -n "$NS_P" tuntap add dev tapy mode tap
err=$(ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapx --tap-b tapy --collector "$C_IP:4739" --queues 2 2>&1) || true
echo "    $err"
check "--queues on single-queue TAPs is refused with the fix" grep -q "multi_queue" <<<"$err"
finish

#!/usr/bin/env bash
# test_tcp_connections.sh - one TCP connection is one flow per direction. Thousands of short
# HTTP-like connections (each from its own source port), some of them reset by the client
# after the response, iperf3 both ways and the rest of the mixed traffic cross the probe; after
# the close grace every connection has exactly one record per direction at nfcapd (no
# one-packet flow of the closing ACK), each with flowEndReason 3, end of flow detected (tshark
# on the export capture), the direction that saw only its peer's RST included, and the packets
# and bytes of every flow equal the capture of the TAPs.
source "$(dirname "$0")/lib.sh"
plan 8
require_root
needs python3 tcpdump tshark nfcapd nfdump iperf3 ss
TOOLS=$(dirname "$0")/tools
topology_up
N=2000
GRACE=2

start_nfcapd 4739 "$FT_OUT/nfcap"
capture export "$NS_C" eth0 in udp port 4739
SNAPLEN=96 capture tapa "$NS_P" tapa out
SNAPLEN=96 capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --tcp-close-timeout "$GRACE" --template-refresh-packets 0
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
spawn WEB "$NS_H2" python3 -u "$TOOLS/short_connections.py" server 8080 >"$FT_OUT/web.log" 2>&1
wait_listening "$NS_H2" 8080 t
TCP_BYTES=2M traffic
done=$(ns "$NS_H1" python3 "$TOOLS/short_connections.py" client "$H2_IP" 8080 "$N" 20000)
check "$N short connections completed ($done)" test "$done" = "$N"
RESETS=200
done=$(ns "$NS_H1" python3 "$TOOLS/short_connections.py" client "$H2_IP" 8080 "$RESETS" 30000 reset)
check "$RESETS connections reset by the client after the response ($done)" test "$done" = "$RESETS"
# Past the close grace and a whole sweep of the table (1 s, later under load), so that every
# closed flow has ended.
sleep $((GRACE + 3))
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa
stop_pid "$PID_NFCAPD"

python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
nfdump -R "$FT_OUT/nfcap" -o csv 2>/dev/null >"$FT_OUT/records.csv"
python3 "$TOOLS/nfdump2json.py" <"$FT_OUT/records.csv" >"$FT_OUT/collected.json"
check "every flow's packets and bytes at nfcapd equal the capture" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/collected.json" --min "$((2 * N))"
check "one record per direction of every TCP connection in the capture, no more" \
  python3 "$(dirname "$0")/tools/recordcheck.py" one-record-per-direction "$FT_OUT/truth.json" "$FT_OUT/records.csv" 4000
# Each direction ends "end of flow detected" (3): one that carried its own FIN or RST, and one
# that saw only its peer's RST (the reset connections' server side; iperf3's server resets now
# and then), whose forwarder learns of that RST from the other direction's.
python3 "$TOOLS/pcapflows.py" --fields "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/fields.json"
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T fields -e cflow.srcaddr -e cflow.srcport -e cflow.dstaddr \
  -e cflow.dstport -e cflow.protocol -e cflow.flow_end_reason 2>/dev/null >"$FT_OUT/reasons.tsv"
check "every TCP direction ends with flowEndReason 3, end of flow detected, also those whose peer reset the connection" \
  python3 "$(dirname "$0")/tools/recordcheck.py" tcp-end-reasons "$FT_OUT/fields.json" "$FT_OUT/reasons.tsv" 4200 200
finish

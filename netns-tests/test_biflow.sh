#!/usr/bin/env bash
# test_biflow.sh - `--biflow`: IPFIX collectors get RFC 5103 biflow records while a v9
# collector gets uniflow records from the same run. For every conversation in a capture of the
# TAPs, nfdump (which reads the reverse counters, enterprise 29305, as its "out" counters) must
# hold the initiator's packets and bytes as "in" and the responder's as "out"; the initiator is
# the direction whose first packet the capture saw first. tshark must decode the biflow
# templates with their enterprise fields, and the v9 collector must still match the capture.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark nfcapd nfdump iperf3
TOOLS=$(dirname "$0")/tools
topology_up

start_nfcapd_named bi "$C_IP" 4739
start_nfcapd_named v9 "$C_IP" 2055
capture export "$NS_C" eth0 in udp
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --collector "v9://$C_IP:2055" --biflow
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
TCP_BYTES=2M traffic
sleep 0.5
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa
for c in bi v9; do v="PID_NFCAPD_$c"; stop_pid "${!v}"; done

python3 "$TOOLS/pcapflows.py" --first --icmp-types "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
nfdump -R "$FT_OUT/bi" -a -o csv 2>/dev/null > "$FT_OUT/bi.csv"
check "nfdump holds each conversation once: initiator's counts in, responder's out" \
  python3 "$(dirname "$0")/tools/recordcheck.py" biflow-conversations "$FT_OUT/truth.json" "$FT_OUT/bi.csv"
nfdump -R "$FT_OUT/v9" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/v9.json"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/uni-truth.json"
check "the v9 collector still gets uniflow records equal to the capture" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/uni-truth.json" "$FT_OUT/v9.json" --min 10
n=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.template_ipfix_field_pen == 29305" 2>/dev/null | wc -l)
bad=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==2055,cflow -o udp.check_checksum:TRUE \
  -Y "_ws.malformed || _ws.expert.severity >= warning || udp.checksum.status != 1" 2>/dev/null | wc -l)
check "tshark reads biflow templates with enterprise 29305 fields ($n packets)" test "$n" -gt 0
n=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.biflow_direction == 1" 2>/dev/null | wc -l)
check "and biflowDirection initiator in the records ($n packets)" test "$n" -gt 0
check "no malformed export packet or bad checksum ($bad)" test "$bad" -eq 0
seqfail=$(nfdump -R "$FT_OUT/bi" -I 2>/dev/null | awk -F': *' '/^Sequence failures/{print $2}')
check "nfdump counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
check "nfdump places biflow records in time (no 1970 start)" bash -c "! nfdump -R '$FT_OUT/bi' -o csv 2>/dev/null | grep -q '^1970'"
finish

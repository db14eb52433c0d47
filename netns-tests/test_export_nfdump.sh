#!/usr/bin/env bash
# test_export_nfdump.sh - the flows nfcapd receives are the flows that crossed the wire.
# Ground truth is a capture of the frames flowtap read from each TAP; the collector is real
# nfcapd/nfdump, and tshark dissects every export packet. After SIGTERM every flow must be in
# nfdump with exactly the captured packets and IP bytes, nfdump must count no sequence
# failure, and every export packet must decode cleanly with a correct UDP checksum.
source "$(dirname "$0")/lib.sh"
plan 13
require_root
needs python3 tcpdump tshark nfcapd nfdump iperf3 ping
TOOLS=$(dirname "$0")/tools
topology_up

start_nfcapd 4739 "$FT_OUT/nfcap"
capture export "$NS_C" eth0 in udp port 4739
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
# Short timeouts, so idle and active expiry both happen during the traffic (idle shorter: a
# report is due at the first of its deadlines, and with equal timeouts a flow of two packets or
# more always reaches its active one first); a short refresh so templates are resent mid-run.
start_flowtap --collector "$C_IP:4739" --idle-timeout 1 --active-timeout 2 --template-refresh 3
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
traffic
sleep 3   # let the first flows go idle, so idle-timeout records are in the mix
ns "$NS_H1" ping -c 30 -i 0.1 -q "$H2_IP" >/dev/null   # 3 s: longer than the active timeout

stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa
check "  (tapb too)" capture_complete tapb
sleep 0.5
stop_pid "$PID_NFCAPD"

grep "stopped by" "$FT_OUT/flowtap.log" || true
check "the closing line reports no error" grep -q "errors 0 (" "$FT_OUT/flowtap.log"
frames_ab=$(tshark -r "$FT_OUT/tapa.pcap" 2>/dev/null | wc -l)
frames_ba=$(tshark -r "$FT_OUT/tapb.pcap" 2>/dev/null | wc -l)
check "frames forwarded per direction equal the TAP captures ($frames_ab, $frames_ba)" \
  grep -q "tapa->tapb $frames_ab frames, tapb->tapa $frames_ba frames" "$FT_OUT/flowtap.log"

python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
nfdump -R "$FT_OUT/nfcap" -a -o csv | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/nfdump.json"
nfdump -R "$FT_OUT/nfcap" -o extended > "$FT_OUT/nfdump-extended.txt"
check "nfdump lists every flow with the captured packets and bytes" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfdump.json" -v --min 10
seqfail=$(nfdump -R "$FT_OUT/nfcap" -I | awk -F': *' '/^Sequence failures/{print $2}')
check "nfdump counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
check "records carry each end reason: idle, active, end of flow, forced end" bash -c \
  "nfdump -R '$FT_OUT/nfcap' -o raw | grep -o 'end reason *= *0x0[1234]' | sort -u | wc -l | grep -qx 4"

total=$(tshark -r "$FT_OUT/export.pcap" 2>/dev/null | wc -l)
decoded=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y cflow 2>/dev/null | wc -l)
good=$(tshark -r "$FT_OUT/export.pcap" -o udp.check_checksum:TRUE -Y "udp.checksum.status == 1" 2>/dev/null | wc -l)
bad=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -o udp.check_checksum:TRUE \
  -Y "_ws.malformed || _ws.expert.severity >= warning || udp.checksum.status != 1" 2>/dev/null | wc -l)
check "tshark decodes all $total export packets as IPFIX" test "$decoded" -eq "$total" -a "$total" -gt 2
check "every export packet has a correct UDP checksum ($good of $total)" test "$good" -eq "$total"
check "no malformed packet or expert warning ($bad)" test "$bad" -eq 0
check "templates were sent more than once (refresh)" bash -c \
  "test \$(tshark -r '$FT_OUT/export.pcap' -d udp.port==4739,cflow -Y 'cflow.flowset_id == 2' 2>/dev/null | wc -l) -ge 2"
finish

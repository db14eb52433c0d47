#!/usr/bin/env bash
# test_tcp_retransmissions.sh - retransmitted and out-of-order segments per flow, exactly.
#
# tools/played_handshakes.py plays three bulk connections (500 data segments each) in which
# about 2 % of the client's segments are lost after the probe (sent, and sent again three
# segments later) and about 1 % are swapped with the next, one clean connection, and iperf3
# sends real TCP. Ground truth is tools/tcpinsight.py's own parser of the TAP captures, by the
# definition the README gives (TCPSequence in the code). flowtap's counts must equal it for
# every flow direction, in `show flows --json`, in IPFIX (ntop's elements 109-112, as tshark
# decodes them) and in NetFlow v9 (57581-57584, tshark too); the clean connection counts 0. The
# retransmissions must also be within 10 % (at least 1) of tshark's tcp.analysis.retransmission
# on the same capture, which judges by its own heuristics.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark iperf3
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739 or udp port 2055
start_flowtap --collector "v9://$C_IP:2055" --collector "$C_IP:4739" --ipfix-ntop --tcp-close-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
PLAY=(python3 "$TOOLS/played_handshakes.py" --client-ns "$NS_H1" --server-ns "$NS_H2")
check "three lossy connections crossed the probe" \
  "${PLAY[@]}" --count 3 --bulk 500 --loss 0.02 --reorder 0.01 --seed 7 --first-port 43000 --out "$FT_OUT/lossy.json"
check "a clean one too" "${PLAY[@]}" --count 1 --bulk 500 --seed 8 --first-port 44000 --out "$FT_OUT/clean.json"
ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n 20M -b 300M --cport 45000 >"$FT_OUT/iperf.log" 2>&1
sleep 0.3
"$FT_BIN" show flows --json --top 100 --match "proto=tcp" --control "$FT_CONTROL" >"$FT_OUT/flows.json"
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa tapb
python3 "$TOOLS/tcpinsight.py" sequence "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
check "the capture's counts are the segments the player lost and swapped (about 2 % and 1 %), and 0 for the clean one" \
  python3 "$TOOLS/recordcheck.py" retransmission-plan "$FT_OUT/truth.json" "$FT_OUT/lossy.json" "$FT_OUT/clean.json"

# Each source as a list of {"flow", "retransmitted", "out_of_order"}; equal to the truth for
# every flow direction the truth has (a direction without data counts 0 in both).
python3 "$TOOLS/convert.py" live-retrans "$FT_OUT/flows.json" >"$FT_OUT/live.json"
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==2055,cflow -T json >"$FT_OUT/export.json" 2>"$FT_OUT/tshark.err"
python3 "$TOOLS/convert.py" tcp-insight "$FT_OUT/export.json" "$FT_OUT/ipfix.json" "$FT_OUT/v9.json"
compare() {  # compare MEASURED.json: per flow direction, the sums equal the truth
  python3 "$TOOLS/recordcheck.py" retransmission-counts "$FT_OUT/truth.json" "$1"
}
check "show flows --json: every flow direction's counts equal the capture's" compare "$FT_OUT/live.json"
check "IPFIX (tshark, ntop 109/111): every flow direction's counts equal the capture's" compare "$FT_OUT/ipfix.json"
check "NetFlow v9 (tshark, 57581/57583): every flow direction's counts equal the capture's" compare "$FT_OUT/v9.json"
tshark -r "$FT_OUT/tapa.pcap" -Y tcp.analysis.retransmission -T fields -e tcp.srcport 2>/dev/null | sort | uniq -c >"$FT_OUT/tshark-retrans.txt"
check "tshark's tcp.analysis.retransmission within 10 % (at least 1) of flowtap's, per lossy connection" \
  python3 "$TOOLS/recordcheck.py" retransmissions-as-tshark "$FT_OUT/tshark-retrans.txt" "$FT_OUT/live.json" "$FT_OUT/lossy.json"
finish

#!/usr/bin/env bash
# test_tcp_latency.sh - per-connection TCP latency against the probe's own capture.
#
# This kernel has no netem, so tools/played_handshakes.py plays both ends of 12 TCP connections
# (a packet socket in h1 and one in h2) with its own delays on each side, several milliseconds
# each and different per connection: the server's before its SYN/ACK and its response, the
# client's before its ACK. Ground truth is tools/tcpinsight.py on tcpdump's capture of the
# TAPs, the frames as flowtap reads them. For every connection, flowtap's client network
# delay, server network delay and application latency must be within 1 ms of the capture's,
# widened by what flowtap held the two packets of each figure (captures of what it wrote, -Q in;
# tools/held.py): a forwarder the CPU was taken from stamps late by exactly that:
# in NetFlow v9 as nfdump prints them (%cl %sl %al, nProbe's fields 57554-57559), in IPFIX as
# tshark decodes ntop's enterprise elements (--ipfix-ntop), and live in `show flows --json`.
# Flows without a handshake carry 0. The clients of four of the connections mark their packets
# (ToS 0x28) and their servers do not: one connection, two ToS, joined all the same.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark nfcapd nfdump ping ss
TOOLS=$(dirname "$0")/tools
topology_up
start_nfcapd 2055 "$FT_OUT/nfcap-v9"
mkdir -p "$FT_OUT/nfcap-ipfix"
ip netns exec "$NS_C" nfcapd -w "$FT_OUT/nfcap-ipfix" -p 4739 -b "$C_IP" -t 3600 -I ipfix >"$FT_OUT/nfcapd-ipfix.log" 2>&1 &
FT_PIDS+=("$!")
wait_listening "$NS_C" 2055 u && wait_listening "$NS_C" 4739 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture tapa_in "$NS_P" tapa in
capture tapb_in "$NS_P" tapb in
capture export "$NS_C" eth0 in udp port 4739
start_flowtap --collector "v9://$C_IP:2055" --collector "$C_IP:4739" --ipfix-ntop --tcp-close-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
ns "$NS_H1" ping -c 5 -i 0.02 -q "$H2_IP" >/dev/null
check "the played connections crossed the probe" \
  python3 "$TOOLS/played_handshakes.py" --client-ns "$NS_H1" --server-ns "$NS_H2" --count 12 --marked 3 --out "$FT_OUT/plan.json"
sleep 0.3
# Closed, but within the close grace: still in the caches, so show flows has both directions.
"$FT_BIN" show flows --json --top 100 --match "proto=tcp" --control "$FT_CONTROL" >"$FT_OUT/flows.json"
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture tapa_in; stop_capture tapb_in; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa tapb tapa_in tapb_in
stop_pid "$PID_NFCAPD"; stop_pid "${FT_PIDS[-1]}"
python3 "$TOOLS/tcpinsight.py" latency --held="$FT_OUT/tapa_in.pcap,$FT_OUT/tapb_in.pcap" \
  "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
marked=$(tshark -r "$FT_OUT/tapa.pcap" -Y "ip.src == 10.77.0.101 && ip.dsfield == 0x28 && tcp.flags.syn == 1" -T fields -e tcp.srcport 2>/dev/null | sort -u | wc -l)
unmarked=$(tshark -r "$FT_OUT/tapb.pcap" -Y "ip.src == 10.77.0.102 && ip.dsfield != 0" 2>/dev/null | wc -l)
check "the capture: 4 clients send ToS 0x28, no server marks ($marked, $unmarked)" test "$marked" -eq 4 -a "$unmarked" -eq 0
check "the capture shows 12 connections with delays of 2 ms or more, no two alike" \
  python3 "$TOOLS/recordcheck.py" latency-truth "$FT_OUT/truth.json" 12

# One line per record: both directions of each connection carry its latencies.
nfdump -R "$FT_OUT/nfcap-v9" -q -N -o "fmt:%sa,%sp,%da,%dp,%pr,%cl,%sl,%al" >"$FT_OUT/v9.txt" 2>&1
python3 "$TOOLS/convert.py" nfdump-latency "$FT_OUT/v9.txt" >"$FT_OUT/v9.json"
check "NetFlow v9 (nfdump %cl %sl %al): both records of every connection within 1 ms of the capture" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/truth.json" "$FT_OUT/v9.json" --per-connection 2
check "NetFlow v9: records without a handshake (ICMP) carry 0" python3 "$TOOLS/recordcheck.py" zero-latency-icmp "$FT_OUT/v9.json"
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T json >"$FT_OUT/ipfix-tshark.json" 2>"$FT_OUT/tshark.err"
python3 "$TOOLS/convert.py" ntop-latency "$FT_OUT/ipfix-tshark.json" >"$FT_OUT/ipfix.json"
# Whole milliseconds of half the round trip: doubled, up to 1 ms off by rounding alone.
check "IPFIX (tshark, ntop PEN 35632): both records of every connection within the elements' resolution (1 ms) + 0.2 ms of the capture" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --per-connection 2 --tolerance-us 1200
python3 "$TOOLS/convert.py" live-latency "$FT_OUT/flows.json" >"$FT_OUT/live.json"
check "show flows --json: both directions of every connection within 1 ms of the capture, live" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/truth.json" "$FT_OUT/live.json" --per-connection 2
finish

#!/usr/bin/env bash
# test_export_outage.sh - export trouble never touches forwarding, and loses nothing it can
# keep: the probe's route to the collector is removed while flows expire (sendto fails with
# ENETUNREACH), h1 keeps reaching h2 without loss meanwhile, the refused messages wait in the
# send queue, and once the route is back nfdump holds every flow of the capture with no
# sequence failure, while flowtap reports the send errors and no record lost.
source "$(dirname "$0")/lib.sh"
plan 9
require_root
needs python3 tcpdump nfcapd nfdump ping
TOOLS=$(dirname "$0")/tools
topology_up

start_nfcapd 4739 "$FT_OUT/nfcap"
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --idle-timeout 1 --active-timeout 1
check "h1 reaches h2 through flowtap" wait_ping
ns "$NS_H1" ping -c 5 -i 0.05 -q "$H2_IP" >/dev/null

ip -n "$NS_P" route del 10.77.9.0/24 dev vc
check "while the collector is unreachable, h1 reaches h2 without loss" \
  bash -c "ip netns exec $NS_H1 ping -c 40 -i 0.05 -q $H2_IP | grep -q ' 0% packet loss'"
sleep 2.5   # flows expire and their messages are refused
ip -n "$NS_P" route add 10.77.9.0/24 dev vc
sleep 1.5   # the export thread retries the queue every tick
ns "$NS_H1" ping -c 3 -i 0.05 -q "$H2_IP" >/dev/null
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb
check "the TAP captures lost no frame" capture_complete tapa
sleep 0.5
stop_pid "$PID_NFCAPD"
grep -E "^flowtap: |failed" "$FT_OUT/flowtap.log" || true

check "flowtap saw the outage (send errors counted)" grep -qE "send errors [1-9]" "$FT_OUT/flowtap.log"
check "and lost no record to it" grep -q "records not sent 0," "$FT_OUT/flowtap.log"
check "the failure was logged once, not per message" test "$(grep -c 'export to .* failed' "$FT_OUT/flowtap.log")" -le 2
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/nfdump.json"
check "nfdump holds every flow with the captured packets and bytes" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfdump.json" --min 2
seqfail=$(nfdump -R "$FT_OUT/nfcap" -I 2>/dev/null | awk -F': *' '/^Sequence failures/{print $2}')
check "nfdump counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
finish

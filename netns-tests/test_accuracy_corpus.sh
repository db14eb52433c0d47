#!/usr/bin/env bash
# test_accuracy_corpus.sh - what flowtap counts, against a corpus whose expected counts come from
# its own definition (netns-tests/corpus/make_corpus.py), not from flowtap: TCP ending in FIN
# and in RST, UDP, ICMP, IPv6 with extension headers, VLAN, QinQ, MPLS, IPv4 and IPv6 fragments
# in and out of order, IPv4 options, padded short frames, non-IP frames, and every hostile
# frame flowtap names. Every frame must reach h2 unchanged; every well-formed flow must be in
# nfdump with exactly its packets and IP bytes; every hostile frame must be counted under its
# reason and no other.
source "$(dirname "$0")/lib.sh"
plan 6
require_root
needs python3 tcpdump nfcapd nfdump
TOOLS=$(dirname "$0")/tools
topology_up
/usr/bin/python3 "$(dirname "$0")/corpus/make_corpus.py" "$FT_OUT" "$H1_MAC" "$H2_MAC"

start_nfcapd 4739 "$FT_OUT/nfcap"
start_flowtap --collector "$C_IP:4739"
check "h1 reaches h2 through flowtap" wait_ping
sleep 0.2   # the last reply of wait_ping is through before the captures start
capture h2in "$NS_H2" eth0 in
capture tapa "$NS_P" tapa out
ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/tools/inject.py" replay "$FT_OUT/corpus.pcap" 0.002 eth0
sleep 0.5
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture h2in; stop_capture tapa
sleep 0.5
stop_pid "$PID_NFCAPD"
grep -E "^flowtap: " "$FT_OUT/flowtap.log"

check "every corpus frame reached the probe" python3 "$TOOLS/pcapdiff.py" "$FT_OUT/corpus.pcap" "$FT_OUT/tapa.pcap" 50
check "every corpus frame, hostile ones included, reached h2 unchanged" \
  python3 "$TOOLS/pcapdiff.py" "$FT_OUT/corpus.pcap" "$FT_OUT/h2in.pcap" 50
nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" |
  python3 "$TOOLS/convert.py" rows-from 10.77.50. fd00:50: \
  > "$FT_OUT/nfdump.json"
python3 "$TOOLS/convert.py" key "$FT_OUT/expected.json" flows "$FT_OUT/expected-flows.json"
check "every well-formed flow is in nfdump with the corpus' packets and IP bytes" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/expected-flows.json" "$FT_OUT/nfdump.json" -v --min 13
check "every hostile frame is counted under its reason, and nothing else is" \
  python3 "$TOOLS/recordcheck.py" undecodable-reasons "$FT_OUT/expected.json" "$FT_OUT/flowtap.log"
finish

#!/usr/bin/env bash
# test_forwarding.sh - flowtap is the only path between h1 and h2, and it alters nothing:
# no reachability before it runs; ping, TCP both ways and UDP cross it; every frame h1 sends
# reaches h2 byte for byte (and back); SIGINT stops it cleanly.
source "$(dirname "$0")/lib.sh"
plan 8
require_root
needs python3 tcpdump iperf3
topology_up
hosts_without_offloads

check "h1 cannot reach h2 before flowtap runs" cannot_ping
start_flowtap --collector "$C_IP:4739"
check "h1 reaches h2 once flowtap runs" wait_ping
iperf3_server

capture h1out "$NS_H1" eth0 out
capture h2in "$NS_H2" eth0 in
capture h2out "$NS_H2" eth0 out
capture h1in "$NS_H1" eth0 in
traffic
check "a 1 MB UDP burst arrives whole" bash -c "ip netns exec $NS_H1 iperf3 -c $H2_IP -p 5201 -u -b 50M -l 1000 -n 1M --cport 40009 -J > $FT_OUT/udp-burst.json && python3 '$(dirname "$0")/tools/recordcheck.py' udp-burst-whole $FT_OUT/udp-burst.json"
for c in h1out h2in h2out h1in; do stop_capture "$c"; done

check "every frame h1 sent reached h2 unchanged" python3 "$(dirname "$0")/tools/pcapdiff.py" "$FT_OUT/h1out.pcap" "$FT_OUT/h2in.pcap" 3000
check "every frame h2 sent reached h1 unchanged" python3 "$(dirname "$0")/tools/pcapdiff.py" "$FT_OUT/h2out.pcap" "$FT_OUT/h1in.pcap" 3000

kill -INT "$PID_FLOWTAP"
FLOWTAP_RC=0; wait "$PID_FLOWTAP" || FLOWTAP_RC=$?
check "SIGINT stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
check "the closing line names the signal and both directions" grep -q "stopped by SIGINT: tapa->tapb [0-9]* frames, tapb->tapa [0-9]* frames" "$FT_OUT/flowtap.log"
check "h1 cannot reach h2 after flowtap stops" cannot_ping
finish

#!/usr/bin/env bash
# test_fault_cache_full.sh - a full cache: 10 000 new one-packet flows into --max-flows 64
# (8 sets of 8). Every frame is forwarded (h2's counter), every flow that crossed is a record at
# nfcapd, the flows pushed out early carry flowEndReason 5 "lack of resources" as nfdump
# decodes it, and flowtap's closing line counts exactly those evictions.
source "$(dirname "$0")/lib.sh"
plan 6
require_root
needs python3 nfcapd nfdump
FLOWS=10000
topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
start_flowtap --collector "$C_IP:4739" --max-flows 64 --idle-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
rx0=$(ns "$NS_H2" cat /sys/class/net/eth0/statistics/rx_packets)
ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/corpus/churn.py" eth0 "$H1_MAC" "$H2_MAC" "$FLOWS" 10000
sleep 0.5
rx1=$(ns "$NS_H2" cat /sys/class/net/eth0/statistics/rx_packets)
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
sleep 0.5
stop_pid "$PID_NFCAPD"
grep -E "^flowtap: " "$FT_OUT/flowtap.log" | sed 's/^/    /' | cut -c1-220
check "every frame was forwarded: h2 received $((rx1 - rx0)) of $FLOWS" test $((rx1 - rx0)) -eq "$FLOWS"
records=$(nfdump -R "$FT_OUT/nfcap" -q -o 'fmt:%sa' 'src net 10.77.1.0/28' 2>/dev/null | wc -l)
check "nfcapd holds a record for every flow ($records of $FLOWS)" test "$records" -eq "$FLOWS"
early=$(nfdump -R "$FT_OUT/nfcap" -o raw 2>/dev/null | grep -c 'end reason *= *0x05' || true)
evicted=$(grep -oE "evicted [0-9]+" "$FT_OUT/flowtap.log" | grep -oE "[0-9]+")
check "nfdump shows $early records ended for lack of resources, all but the last table's worth" \
  test "$early" -ge $((FLOWS - 64)) -a "$early" -lt "$FLOWS"
check "flowtap's closing line counts those evictions ($evicted = $early)" test "${evicted:-x}" = "$early"
finish

#!/usr/bin/env bash
# test_fault_collector_restart.sh - nfcapd stopped for 3 s under a steady stream of records,
# then started again: records resume, and what nfcapd holds (both of its runs) plus what
# flowtap counts as lost (the records of every message a collector's ICMP port unreachable
# quoted, through IP_RECVERR) equals every record flowtap sent. The collector host does not
# rate-limit its ICMP errors (net.ipv4.icmp_ratelimit=0 in its namespace), so each refused
# message is reported.
source "$(dirname "$0")/lib.sh"
plan 5
require_root
needs python3 nfcapd nfdump
topology_up
ns "$NS_C" sysctl -qw net.ipv4.icmp_ratelimit=0
start_nfcapd_named before "$C_IP" 4739
start_flowtap --collector "$C_IP:4739" --idle-timeout 1
check "h1 reaches h2 through flowtap" wait_ping
# 40 new flows a second for 9 s: records leave every flush (0.5 s) throughout.
ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/corpus/churn.py" eth0 "$H1_MAC" "$H2_MAC" 360 40 >/dev/null &
churn=$!
sleep 2.5
stop_pid "$PID_NFCAPD_before"
sleep 3
start_nfcapd_named after "$C_IP" 4739
wait "$churn" || true
sleep 3   # the last flows idle out and leave
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
sleep 0.5
stop_pid "$PID_NFCAPD_after"
grep -E "^flowtap: " "$FT_OUT/flowtap.log" | sed 's/^/    /' | cut -c1-200
sent=$(grep -oE "^flowtap: ipfix://[^:]+:4739: [0-9]+ records" "$FT_OUT/flowtap.log" | grep -oE "[0-9]+ records" | grep -oE "[0-9]+")
lost=$(grep -oE "records not sent [0-9]+" "$FT_OUT/flowtap.log" | grep -oE "[0-9]+$")
held=$(( $(nfdump -R "$FT_OUT/before" -q -o 'fmt:%sa' 2>/dev/null | wc -l) + $(nfdump -R "$FT_OUT/after" -q -o 'fmt:%sa' 2>/dev/null | wc -l) ))
after=$(nfdump -R "$FT_OUT/after" -q -o 'fmt:%sa' 2>/dev/null | wc -l)
check "records resumed after the restart ($after)" test "$after" -gt 20
check "some records were lost while nothing listened, and counted ($lost)" test "${lost:-0}" -gt 0
check "nfcapd's $held + $lost counted lost = $sent flowtap sent" test $((held + ${lost:-0})) -eq "${sent:-x}"
finish

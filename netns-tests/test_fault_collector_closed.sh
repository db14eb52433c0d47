#!/usr/bin/env bash
# test_fault_collector_closed.sh - a collector whose port is closed (nothing listens): the
# ICMP port unreachable it sends back is read through IP_RECVERR, and `flowtap show collectors`
# names it within 2 s, while forwarding goes on unaffected (no ping lost). Once nfcapd listens,
# records arrive there.
source "$(dirname "$0")/lib.sh"
plan 6
require_root
needs python3 nfcapd nfdump ping ss
topology_up
start_flowtap --collector "$C_IP:4739" --template-refresh 1
check "h1 reaches h2 through flowtap" wait_ping
started=$(date +%s%N)
named=""
for i in $(seq 40); do
  if "$FT_BIN" show collectors --json --control "$FT_CONTROL" 2>/dev/null | grep -q "port unreachable"; then
    named=$(( ($(date +%s%N) - started) / 1000000 )); break
  fi
  sleep 0.05
done
"$FT_BIN" show collectors --control "$FT_CONTROL" | sed 's/^/    /'
check "show collectors names the closed port within 2 s (${named:-never} ms)" test -n "$named" -a "${named:-9999}" -le 2000
check "it counts the ICMP errors" bash -c "'$FT_BIN' show collectors --json --control '$FT_CONTROL' | python3 '$(dirname "$0")/tools/controlcheck.py' icmp-errors -"
lost=$(ns "$NS_H1" ping -c 100 -i 0.01 -q "$H2_IP" | grep -oE "[0-9]+% packet loss" | grep -oE "^[0-9]+")
check "forwarding is unaffected: ${lost}% of 100 pings lost" test "$lost" -eq 0
start_nfcapd 4739 "$FT_OUT/nfcap"
wait_listening "$NS_C" 4739 u
ns "$NS_H1" ping -c 5 -i 0.05 -q "$H2_IP" >/dev/null
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
sleep 0.5
stop_pid "$PID_NFCAPD"
records=$(nfdump -R "$FT_OUT/nfcap" -q -o 'fmt:%sa' 2>/dev/null | wc -l)
check "once nfcapd listens, records arrive ($records)" test "$records" -ge 1
finish

#!/usr/bin/env bash
# test_restart_downtime.sh - how long the link is down across a restart, as `systemctl restart`
# does it (SIGTERM, wait for the exit, start again) with persistent TAPs, which keep their
# bridge ports and addresses across it: h1 pings h2 (ping -i 0.01, which paces itself to about
# one every 17 ms here) throughout and the lost
# replies are counted, over RESTARTS restarts (default 5). Each restart's time from SIGTERM to
# exit and from start to forwarding is read too. The figure is printed for the README; the
# check is a bound (every restart loses under 0.5 s of pings) and that each run exported.
source "$(dirname "$0")/lib.sh"
plan 4
require_root
needs python3 nfcapd nfdump ping
RESTARTS=${RESTARTS:-5}
topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
start_flowtap --collector "$C_IP:4739"
check "h1 reaches h2 through flowtap" wait_ping
losses=() gaps=() stops=() starts=()
for r in $(seq "$RESTARTS"); do
  ns "$NS_H1" ping -i 0.01 -w 3 -q "$H2_IP" >"$FT_OUT/ping$r.log" 2>&1 &
  ping_pid=$!
  sleep 1
  t0=$(date +%s%N)
  stop_flowtap
  t1=$(date +%s%N)
  start_flowtap --collector "$C_IP:4739"
  for i in $(seq 500); do grep -q "forwarding tapa" "$FT_OUT/flowtap.log" 2>/dev/null && break; sleep 0.002; done
  t2=$(date +%s%N)
  wait "$ping_pid" || true
  sent=$(grep -oE "[0-9]+ packets transmitted" "$FT_OUT/ping$r.log" | grep -oE "^[0-9]+")
  got=$(grep -oE "[0-9]+ received" "$FT_OUT/ping$r.log" | grep -oE "^[0-9]+")
  spacing=$((3000 / sent))
  losses+=($((sent - got))) gaps+=($(((sent - got) * spacing))) stops+=($(((t1 - t0) / 1000000))) starts+=($(((t2 - t1) / 1000000)))
  echo "    restart $r: $((sent - got)) of $sent pings lost ($((3000 / sent)) ms apart); SIGTERM to exit $(((t1 - t0) / 1000000)) ms, start to forwarding $(((t2 - t1) / 1000000)) ms"
done
stop_flowtap
check "flowtap stops with exit 0 after the restarts" test "$FLOWTAP_RC" -eq 0
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "    median over $RESTARTS restarts: $(median "${losses[@]}") pings lost (about $(median "${gaps[@]}") ms of link), SIGTERM to exit $(median "${stops[@]}") ms, start to forwarding $(median "${starts[@]}") ms"
worst=$(printf '%s\n' "${losses[@]}" | sort -n | tail -1)
check "every restart loses under 0.5 s of pings (worst: $worst pings)" test "$worst" -lt 50
sleep 0.5
stop_pid "$PID_NFCAPD"
runs=$(nfdump -R "$FT_OUT/nfcap" -q -o 'fmt:%pkt' "src host $H1_IP and proto icmp" 2>/dev/null | wc -l)
check "each of the $((RESTARTS + 1)) runs exported its echo flow ($runs records)" test "$runs" -ge $((RESTARTS + 1))
finish

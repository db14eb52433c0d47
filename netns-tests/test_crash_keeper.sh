#!/usr/bin/env bash
# test_crash_keeper.sh - flowtap under a service manager (tools/keeper.py, which does what
# systemd's documentation says: the notify socket, the fd store, LISTEN_FDS, Restart=on-failure
# with RestartForceExitStatus=75 and RestartSec=100ms), through CRASHES SIGKILLs (default 3)
# and RELOADS `flowtap reload`s (default 2) under the streams of test_handover.sh (at 1000
# datagrams a second each way, so that a restart's gap stays within the TAP queue).
# Checks: the TAPs' carrier never changed (the store holds the queues); the streams lost at
# most the frame each forwarder had in hand at each crash, reordered and duplicated nothing;
# every flow at nfcapd in one record (the tables survived), its packets those captured, less at
# most one per forwarder per crash; no sequence failure; each start adopted what the last left.
# And the flows' names (issue 26): a TLS connection named before the first crash is still
# named after the last (its ClientHello came once, before), and two hellos held half-written
# across a crash in their reassembly buffers are named once their rest arrives (`show flows`).
source "$(dirname "$0")/lib.sh"
plan 16
require_root
needs python3 nfcapd nfdump tcpdump tshark iperf3 ping openssl
TOOLS=$(dirname "$0")/tools
CRASHES=${CRASHES:-3}
RELOADS=${RELOADS:-2}
STREAM_RATE=1000
captured_link_up
opts=(--tap-a tapa --tap-b tapb --control "$FT_CONTROL" --collector "$C_IP:4739" --idle-timeout 120 --active-timeout 300)
chmod 755 "$FT_OUT"
KEEPER_SOCKET=$FT_OUT/notify.sock spawn KEEPER "$NS_P" python3 "$TOOLS/keeper.py" "$FT_OUT/keeper.log" -- \
  "$FT_BIN" run "${opts[@]}" --seccomp trap >"$FT_OUT/flowtap.log" 2>&1
# ready N: until the keeper has seen READY=1 N times.
ready() {
  local i
  for i in $(seq 100); do [[ $(grep -c "READY=1" "$FT_OUT/keeper.log" 2>/dev/null) -ge $1 ]] && return 0; sleep 0.05; done
  return 1
}
check "flowtap starts under the keeper and stores its descriptors" bash -c "$(declare -f ready); FT_OUT='$FT_OUT'; ready 1 && grep -q 'stored tap-a-0' '$FT_OUT/keeper.log'"
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
# shown FILE APP NAME: show flows --json lists a flow of APP named NAME.
shown() {
  python3 -c 'import json,sys; sys.exit(not any(f.get("app") == sys.argv[2] and f.get("name", "") == sys.argv[3] for f in json.load(open(sys.argv[1]))))' "$@"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=flowtap.test \
  -keyout "$FT_OUT/key.pem" -out "$FT_OUT/cert.pem" 2>/dev/null
spawn TLS "$NS_H2" openssl s_server -accept 4433 -cert "$FT_OUT/cert.pem" -key "$FT_OUT/key.pem" -alpn h2 -www -quiet >"$FT_OUT/s_server.log" 2>&1
spawn SINK "$NS_H2" python3 "$TOOLS/appclients.py" sink "$H2_IP" 4434
wait_listening "$NS_H2" 4433 t && wait_listening "$NS_H2" 4434 t || { echo "the TLS server or the sink did not start" >&2; exit 1; }
spawn LIVE "$NS_H1" bash -c "sleep 25 | openssl s_client -connect $H2_IP:4433 -servername crash.flowtap.test -alpn h2 >$FT_OUT/live.log 2>&1"
spawn HOLD "$NS_H1" python3 -u "$TOOLS/appclients.py" hold-hellos "$H2_IP" 4434 2 3 15 >"$FT_OUT/hold.log" 2>&1
for i in $(seq 50); do grep -q holding "$FT_OUT/hold.log" && break; sleep 0.1; done
sleep 0.3
ns "$NS_P" "$FT_BIN" show flows --control "$FT_CONTROL" --top 200 --json >"$FT_OUT/flows-before.json"
check "before the crashes, show flows names the TLS connection (crash.flowtap.test); the held hellos are not yet" \
  sh -c "$(declare -f shown); shown '$FT_OUT/flows-before.json' tls crash.flowtap.test && ! shown '$FT_OUT/flows-before.json' tls hold0.flowtap.test"
changes_a=$(carrier_changes tapa) changes_b=$(carrier_changes tapb)
streams_start $((2 * (CRASHES + RELOADS) + 3))
sleep 1.5
starts=1
for c in $(seq "$CRASHES"); do
  kill -USR1 "$PID_KEEPER"
  starts=$((starts + 1))
  ready "$starts" || true
  sleep 1.5
done
for r in $(seq "$RELOADS"); do
  ip netns exec "$NS_P" "$FT_BIN" reload "${opts[@]}" >>"$FT_OUT/reload.log" 2>&1 || echo "reload $r failed" >>"$FT_OUT/reload.log"
  starts=$((starts + 1))
  ready "$starts" || true
  sleep 1.5
done
streams_wait
ns "$NS_P" "$FT_BIN" show flows --control "$FT_CONTROL" --top 200 --json >"$FT_OUT/flows-after.json"
check "after $CRASHES SIGKILLs, show flows still names the TLS connection, and the hellos held across the first" \
  sh -c "$(declare -f shown); f='$FT_OUT/flows-after.json'; shown \$f tls crash.flowtap.test && shown \$f tls hold0.flowtap.test && shown \$f tls hold1.flowtap.test"
after_a=$(carrier_changes tapa) after_b=$(carrier_changes tapb)
kill -TERM "$PID_KEEPER"; rc=0; wait "$PID_KEEPER" || rc=$?
sed 's/^/    /' "$FT_OUT/reload.log"
grep -E " (start|exit|removed|refused|end)" "$FT_OUT/keeper.log" | sed 's/^/    keeper: /'
# Each restart's gap as the keeper saw it: from the exit to the next READY=1 (RestartSec=100ms
# included).
awk '/ exit [0-9]+ (signal 9|status 75)/ {t = $1; why = ($4 == "signal") ? "crash" : "reload"}
     / message READY=1/ && t {printf "    %s: %.0f ms from the exit to READY=1\n", why, ($1 - t) * 1000; t = 0}' "$FT_OUT/keeper.log"
check "$CRASHES SIGKILLs and $RELOADS reloads gave $((CRASHES + RELOADS + 1)) starts, each READY" \
  test "$(grep -c "READY=1" "$FT_OUT/keeper.log")" -eq $((CRASHES + RELOADS + 1))
check "the crashes ended by SIGKILL, the reloads with status 75, the stop with 0, and the keeper with 0" bash -c \
  "test \$(grep -c 'signal 9' '$FT_OUT/keeper.log') -eq $CRASHES && test \$(grep -c 'status 75' '$FT_OUT/keeper.log') -eq $RELOADS \
   && test \$(grep -c 'status 0' '$FT_OUT/keeper.log') -eq 1 && test $rc -eq 0"
check "every restart after a crash adopted the flow tables" \
  test "$(grep -c "restarted after the previous flowtap died" "$FT_OUT/flowtap.log")" -eq "$CRASHES"
check "every start after a reload adopted them" test "$(grep -c "restarted after a reload" "$FT_OUT/flowtap.log")" -eq "$RELOADS"
check "tapa's carrier never changed ($changes_a -> $after_a)" test "$after_a" -eq "$changes_a"
check "tapb's carrier never changed ($changes_b -> $after_b)" test "$after_b" -eq "$changes_b"
python3 "$TOOLS/streams.py" report "$FT_OUT/stream-ab.json" "$FT_OUT/stream-ba.json"
check "the streams lost at most one datagram a crash, reordered and duplicated none" bash -c \
  "python3 -c 'import json,sys; r=[json.load(open(p)) for p in sys.argv[1:]]; sys.exit(not all(x[\"lost\"] <= $CRASHES and x[\"reordered\"] == 0 and x[\"duplicated\"] == 0 for x in r))' '$FT_OUT/stream-ab.json' '$FT_OUT/stream-ba.json'"
check "no more pings lost than crashes ($(pings_lost))" test "$(pings_lost)" -le "$CRASHES"
collector_checks "every flow in one record, its packets those captured (less at most one per crash)" \
  --once --slack "$CRASHES" -v --min 6
finish

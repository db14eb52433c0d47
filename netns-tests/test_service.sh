#!/usr/bin/env bash
# test_service.sh - flowtap as a systemd service, with real parts where this machine has them:
# the notify protocol against a datagram listener standing in for systemd ($NOTIFY_SOCKET:
# READY=1 once the TAPs are attached, the exporters open and privileges dropped; WATCHDOG=1 every
# half $WATCHDOG_USEC while it runs, none while a thread is hung (the export thread, stopped alone by
# ptrace for 1.5 s: forwarding goes on, WATCHDOG=1 stops within a period, an error says why, and
# the pings come back once it runs again); STOPPING=1 at SIGTERM, then nothing), --log-format json
# (every stderr line an object Python's json reads), and contrib/systemd/flowtap@.service as
# systemd-analyze verify reads it (no warning at all; its manual page is checked where the
# package installs it, in test_package.sh).
source "$(dirname "$0")/lib.sh"
plan 15
require_root
needs python3 ping systemd-analyze
topology_up
chmod 755 "$FT_OUT"
sock=$FT_OUT/notify.sock
# The listener: every datagram with its arrival time (monotonic seconds) on one line.
ip netns exec "$NS_P" /usr/bin/python3 -u "$(dirname "$0")/tools/sockets.py" notify-listener "$sock" >"$FT_OUT/notify.log" 2>&1 &
FT_PIDS+=("$!")
for i in $(seq 50); do grep -q listening "$FT_OUT/notify.log" 2>/dev/null && break; sleep 0.1; done

ip netns exec "$NS_P" env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 "$FT_BIN" run --tap-a tapa --tap-b tapb \
  --collector "$C_IP:4739" --control "$FT_CONTROL" --log-format json --log-level info >"$FT_OUT/flowtap.log" 2>&1 &
PID_FLOWTAP=$!
FT_PIDS+=("$PID_FLOWTAP")
check "h1 reaches h2 through flowtap" wait_ping
sleep 2
# Hang the export thread alone: PTRACE_SEIZE + PTRACE_INTERRUPT stop one thread, not the process.
export_tid=$(grep -l '^flowtap-export$' /proc/"$PID_FLOWTAP"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5)
/usr/bin/python3 -u "$(dirname "$0")/tools/freeze_thread.py" "${export_tid:-0}" 1.5 >"$FT_OUT/freeze.log" 2>&1 &
freezer=$!
sleep 0.5
frozen_ping=0; ns "$NS_H1" ping -c 3 -i 0.2 -W 1 -q "$H2_IP" >/dev/null && frozen_ping=1
wait "$freezer" || true
sleep 1
stop_flowtap
sleep 0.3
sed 's/^/    /' "$FT_OUT/notify.log" | head -4
check "READY=1 with a STATUS naming the TAPs" grep -q "READY=1|STATUS=forwarding tapa <-> tapb" "$FT_OUT/notify.log"
check "READY=1 came once, first but for the fd store's messages" bash -c "test \$(grep -c READY=1 '$FT_OUT/notify.log') -eq 1 && grep -v FDSTORE '$FT_OUT/notify.log' | sed -n 2p | grep -q READY=1"
check "the TAPs, the flow tables and the sockets went to the fd store first (FDSTORE=1, FDNAME=)" bash -c \
  "for n in state tap-a-0 tap-b-0 raw4 control; do grep -q \"FDSTORE=1|FDNAME=\$n\$\" '$FT_OUT/notify.log' || exit 1; done"
pings=$(grep -c "WATCHDOG=1" "$FT_OUT/notify.log" || true)
check "WATCHDOG=1 every half period (200 ms) while running: $pings in about 5 s" test "$pings" -ge 12
check "WATCHDOG=1 no less often than the period, before the hang" \
  python3 "$(dirname "$0")/tools/servicecheck.py" watchdog-before-hang "$FT_OUT/notify.log" "$FT_OUT/freeze.log" 0.4
cat "$FT_OUT/freeze.log"
check "the export thread was found and hung for 1.5 s" grep -q thawed "$FT_OUT/freeze.log"
check "h1 still reaches h2 while the export thread is hung" test "$frozen_ping" -eq 1
check "no WATCHDOG=1 from one period after the hang to its end; pings again after it" \
  python3 "$(dirname "$0")/tools/servicecheck.py" watchdog-during-hang "$FT_OUT/notify.log" "$FT_OUT/freeze.log" 0.4
check "the log says a thread showed no sign of life" grep -q "shown no sign of life" "$FT_OUT/flowtap.log"
check "STOPPING=1 at SIGTERM, and no WATCHDOG=1 after it" bash -c "tail -1 '$FT_OUT/notify.log' | grep -q STOPPING=1"
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
check "every log line on stderr is a JSON object with time, level and message" \
  python3 "$(dirname "$0")/tools/servicecheck.py" json-log "$FT_OUT/flowtap.log"
check "the JSON log states the privilege drop" grep -q '"message":"privileges dropped: uid 65534' "$FT_OUT/flowtap.log"

unit=$FT_OUT/units/flowtap@wan.service
mkdir -p "$FT_OUT/units"
sed "s|/usr/sbin/flowtap|$FT_BIN|; s|/etc/flowtap/%i.conf|$FT_OUT/units/%i.conf|" "$FT_ROOT/contrib/systemd/flowtap@.service" >"$unit"
cp "$FT_ROOT/contrib/systemd/flowtap.conf.example" "$FT_OUT/units/wan.conf"
# --man=no: the unit names man:flowtap(8), which contrib/package.sh makes; test_package.sh
# verifies the installed unit with its page.
verify_rc=0
systemd-analyze verify --man=no "$unit" >"$FT_OUT/verify.log" 2>&1 || verify_rc=$?
sed 's/^/    /' "$FT_OUT/verify.log"
check "systemd-analyze verify accepts flowtap@.service without a warning" bash -c "test $verify_rc -eq 0 && ! test -s '$FT_OUT/verify.log'"
finish

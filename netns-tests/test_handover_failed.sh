#!/usr/bin/env bash
# test_handover_failed.sh - handovers that fail leave the running flowtap forwarding, with its
# flows, as before. Under the streams of test_handover.sh: successors with options a handover
# cannot change (--queues, a TAP, --offload), and one of another user, are refused with one
# line and exit 1; a successor killed once it holds the descriptors, and one that fails once
# the running flowtap has parked (it may start no thread: LimitNPROC= of 1 for the account it
# runs as, which applies once it has dropped root), leave the running one to go on; then a
# handover that succeeds. Checks: each exit status and line, the TAPs' carrier, the streams,
# every flow in one record with the captured counts, no sequence failure; and --metrics, whose
# listener goes with the descriptors, answers every scrape throughout, failed handovers included.
source "$(dirname "$0")/lib.sh"
plan 19
require_root
needs python3 nfcapd nfdump tcpdump tshark iperf3 ping setpriv prlimit curl
TOOLS=$(dirname "$0")/tools
captured_link_up
opts=(--collector "$C_IP:4739" --idle-timeout 120 --active-timeout 300 --metrics "$P_IP:9751")
start_flowtap "${opts[@]}"
check "h1 reaches h2 through flowtap" wait_ping
# A scrape every 0.2 s from the collector's side for the whole test: ok or fail, a line each.
(while :; do
  out=$(ns "$NS_C" curl -sS -m 5 -o "$FT_OUT/scrape.txt" -w '%{http_code}' "http://$P_IP:9751/metrics" 2>&1)
  if [[ $out == 200 ]] && grep -q '^flowtap_frames_total' "$FT_OUT/scrape.txt"; then echo ok; else echo "fail $(date +%T.%N) $out"; fi
  sleep 0.2; done) >"$FT_OUT/scrapes.log" 2>/dev/null &
SCRAPER=$!
FT_PIDS+=("$SCRAPER")
iperf3_server
first=$PID_FLOWTAP
changes_a=$(carrier_changes tapa) changes_b=$(carrier_changes tapb)
streams_start 12
sleep 1

# successor NAME ARGS...: a --takeover flowtap, its log $FT_OUT/NAME.log; sets SUCC.
successor() {
  local name=$1; shift
  ip netns exec "$NS_P" ${SUCC_LIMIT:-} "$FT_BIN" run --tap-a tapa --tap-b tapb --control "$FT_CONTROL" --seccomp trap --takeover "$@" \
    >"$FT_OUT/$name.log" 2>&1 &
  SUCC=$!
  FT_PIDS+=("$SUCC")
}
# refused NAME ARGS...: the successor exits 1 with one error line naming the reason.
refused() {
  local name=$1 rc=0; shift
  successor "$name" "$@"
  wait "$SUCC" || rc=$?
  [[ $rc -eq 1 && $(grep -c "error" "$FT_OUT/$name.log") -eq 1 ]] && grep -q "refused the handover" "$FT_OUT/$name.log"
}
check "a successor with --queues 2 is refused (exit 1, one line)" refused queues "${opts[@]}" --queues 2
sed 's/^/    /' "$FT_OUT/queues.log"
check "a successor with other TAPs is refused" bash -c "$(declare -f successor refused); FT_BIN='$FT_BIN' NS_P='$NS_P' FT_OUT='$FT_OUT' FT_CONTROL='$FT_CONTROL'; \
  ip netns exec '$NS_P' '$FT_BIN' run --tap-a tapa --tap-b tapc --control '$FT_CONTROL' --seccomp trap --takeover ${opts[*]} >'$FT_OUT/taps.log' 2>&1; \
  test \$? -eq 1 && grep -q 'TAPs cannot change' '$FT_OUT/taps.log'"
check "a successor with --offload is refused" refused offload "${opts[@]}" --offload
# Another user may reach the socket (made world-writable here) but not take the TAPs over.
chmod 0666 "$FT_CONTROL"
rc=0
ip netns exec "$NS_P" setpriv --reuid 1234 --regid 1234 --clear-groups --inh-caps=-all --bounding-set=-all \
  "$FT_BIN" run --tap-a tapa --tap-b tapb --control "$FT_CONTROL" --takeover "${opts[@]}" >"$FT_OUT/stranger.log" 2>&1 || rc=$?
check "a successor of another user (uid 1234) is refused (exit $rc)" bash -c \
  "test $rc -eq 1 && grep -q 'taken only from root or uid' '$FT_OUT/stranger.log'"
chmod 0660 "$FT_CONTROL"
sleep 0.5

# Killed as soon as it holds the descriptors (the running flowtap may or may not have parked
# by then: both must end the same way).
python3 "$TOOLS/procs.py" kill-on-line "$FT_OUT/flowtap.log" "handover to PID ([0-9]+): [0-9]+ descriptors passed" 20 >"$FT_OUT/killer.log" &
killer=$!
sleep 0.3
successor killed "${opts[@]}"
wait "$killer" || true
rc=0; wait "$SUCC" || rc=$?
for i in $(seq 150); do grep -q "handover to PID $SUCC failed" "$FT_OUT/flowtap.log" && break; sleep 0.1; done
grep "handover to PID $SUCC failed" "$FT_OUT/flowtap.log" | sed 's/^/    /' || true
check "killed halfway (exit $rc, by PID $(cat "$FT_OUT/killer.log")): the running flowtap says so and goes on" \
  grep -qE "handover to PID $SUCC failed.*(forwarding goes on|flows as they were)" "$FT_OUT/flowtap.log"
sleep 0.5

# Failing after the park: every listener and descriptor is had before it, so what is left to
# fail is starting the threads, here refused by a limit of one process for the account.
SUCC_LIMIT="prlimit --nproc=1:1" successor late "${opts[@]}"
rc=0; wait "$SUCC" || rc=$?
sed 's/^/    /' "$FT_OUT/late.log" | grep error || true
for i in $(seq 150); do grep -q "handover to PID $SUCC failed" "$FT_OUT/flowtap.log" && break; sleep 0.1; done
check "failing after the park (exit $rc, one line): the running flowtap forwards again with its flows" bash -c \
  "test $rc -eq 1 && grep -q 'cannot start a thread' '$FT_OUT/late.log' && grep -q 'handover to PID $SUCC failed after the park.*flows as they were' '$FT_OUT/flowtap.log'"
check "  and it is the same process, still answering on its control socket" \
  ip netns exec "$NS_P" "$FT_BIN" show stats --control "$FT_CONTROL"
sleep 1

# Then a handover that works.
successor good "${opts[@]}"
rc=0; wait "$first" || rc=$?
check "the first flowtap hands over to the good successor and exits 0 (exit $rc)" \
  bash -c "test $rc -eq 0 && grep -q 'handed over to PID $SUCC' '$FT_OUT/flowtap.log'"
PID_FLOWTAP=$SUCC
streams_wait
sleep 1
kill "$SCRAPER" 2>/dev/null; wait "$SCRAPER" 2>/dev/null || true
check "every scrape answered, across the failed handovers and the good one ($(grep -c ok "$FT_OUT/scrapes.log") ok, $(grep -c fail "$FT_OUT/scrapes.log") failed)" \
  bash -c "test \$(grep -c fail '$FT_OUT/scrapes.log') -eq 0 && test \$(grep -c ok '$FT_OUT/scrapes.log') -ge 10"
check "  the successor serves them, on the same listener" \
  bash -c "ns() { ip netns exec \"\$@\"; }; ns '$NS_C' curl -sf -m 3 'http://$P_IP:9751/metrics' | grep -q '^flowtap_frames_total' && grep -q 'descriptors from .*metrics' '$FT_OUT/good.log'"
after_a=$(carrier_changes tapa) after_b=$(carrier_changes tapb)
kill -TERM "$PID_FLOWTAP"; rc=0; wait "$PID_FLOWTAP" || rc=$?
check "the successor stops with exit 0" test "$rc" -eq 0
check "tapa's carrier never changed ($changes_a -> $after_a)" test "$after_a" -eq "$changes_a"
check "tapb's carrier never changed ($changes_b -> $after_b)" test "$after_b" -eq "$changes_b"
check "no stream datagram lost, reordered or duplicated, either way" \
  python3 "$TOOLS/streams.py" check "$FT_OUT/stream-ab.json" "$FT_OUT/stream-ba.json"
check "no ping lost ($(pings_lost))" test "$(pings_lost)" -eq 0
collector_checks "every flow at nfcapd in one record, with the captured packets and bytes" --once -v --min 6
finish

#!/usr/bin/env bash
# test_handover.sh - `flowtap run --takeover`, HANDOVERS times in a row (default 10) under
# traffic: paced UDP streams with sequence numbers each way, a TCP transfer and pings. Some
# handovers change the timeouts, some add a second collector. Ground truth is the capture of
# each TAP's frames and the stream receivers' own counts.
# Checks: no datagram lost, reordered or duplicated; the TAPs' carrier never changed; every
# flow at nfcapd in exactly one record with the captured packets and bytes; no sequence
# failure; each old flowtap exited 0 saying to which PID it handed over. The last successor
# starts as nobody with no capability at all: what it takes over needs none. The largest gap a
# stream receiver saw is printed (for the README).
source "$(dirname "$0")/lib.sh"
plan 13
require_root
needs python3 nfcapd nfdump tcpdump tshark iperf3 ping setpriv
TOOLS=$(dirname "$0")/tools
HANDOVERS=${HANDOVERS:-10}
captured_link_up
start_nfcapd_named second "$C_IP" 4740
common=(--collector "$C_IP:4739" --active-timeout 300 --template-refresh 600)
start_flowtap "${common[@]}" --idle-timeout 120
log=$FT_OUT/flowtap.log
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
changes_a=$(carrier_changes tapa) changes_b=$(carrier_changes tapb)
streams_start $((HANDOVERS + 3))
sleep 1.5
old_rc=() handed=() gaps=()
for i in $(seq "$HANDOVERS"); do
  opts=("${common[@]}" --idle-timeout $((120 + i)))
  # Handovers 4 to 7 also export to a second collector.
  ((i >= 4 && i <= 7)) && opts+=(--collector "$C_IP:4740")
  old=$PID_FLOWTAP old_log=$log
  log=$FT_OUT/flowtap-$i.log
  # The last one unprivileged: uid and gid 65534, no capability (the control socket opened to it).
  unprivileged=()
  if ((i == HANDOVERS)); then
    chmod 0666 "$FT_CONTROL"
    unprivileged=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs)
  fi
  ip netns exec "$NS_P" "${unprivileged[@]}" "$FT_BIN" run --tap-a tapa --tap-b tapb --control "$FT_CONTROL" --seccomp trap --takeover "${opts[@]}" \
    >"$log" 2>&1 &
  PID_FLOWTAP=$!
  FT_PIDS+=("$PID_FLOWTAP")
  rc=0
  wait "$old" || rc=$?
  old_rc+=("$rc")
  grep -q "handed over to PID $PID_FLOWTAP" "$old_log" && handed+=("$i")
  gaps+=("$(grep -oE "took over in [0-9.]+ ms" "$log" | grep -oE "[0-9.]+" || echo "?")")
  sleep 0.7
done
caps=$(awk '/^CapEff/ {print $2}' "/proc/$PID_FLOWTAP/status") uid=$(awk '/^Uid/ {print $2}' "/proc/$PID_FLOWTAP/status")
streams_wait
after_a=$(carrier_changes tapa) after_b=$(carrier_changes tapb)
echo "    takeover gaps as the successors measured them (ms, park to threads running): ${gaps[*]}"
sleep 0.5
kill -TERM "$PID_FLOWTAP"
FLOWTAP_RC=0
wait "$PID_FLOWTAP" || FLOWTAP_RC=$?
check "the last flowtap stops with exit 0" test "$FLOWTAP_RC" -eq 0
check "every old flowtap exited 0 (${old_rc[*]})" test "$(printf '%s\n' "${old_rc[@]}" | sort -u)" = 0
check "every old flowtap said which PID it handed over to (${#handed[@]} of $HANDOVERS)" test "${#handed[@]}" -eq "$HANDOVERS"
check "the last successor, started as uid 65534 with no capability, took over (uid $uid, CapEff $caps)" bash -c \
  "test '$uid' = 65534 -a '$caps' = 0000000000000000 && grep -q 'took over in' '$log'"
check "tapa's carrier never changed over the handovers ($changes_a -> $after_a)" test "$after_a" -eq "$changes_a"
check "tapb's carrier never changed over the handovers ($changes_b -> $after_b)" test "$after_b" -eq "$changes_b"
check "no stream datagram lost, reordered or duplicated, either way" \
  python3 "$TOOLS/streams.py" check "$FT_OUT/stream-ab.json" "$FT_OUT/stream-ba.json"
check "no ping lost ($(pings_lost))" test "$(pings_lost)" -eq 0
collector_checks "every flow at nfcapd in one record, with the captured packets and bytes" --once -v --min 6
stop_pid "$PID_NFCAPD_second"
second=$(nfdump -R "$FT_OUT/second" -q -o 'fmt:%pkt' 2>/dev/null | wc -l)
seqfail2=$(nfdump -R "$FT_OUT/second" -I | awk -F': *' '/^Sequence failures/{print $2}')
check "the collector added at handover 4 got records ($second), with no sequence failure (got '${seqfail2}')" \
  test "$second" -gt 0 -a "${seqfail2:-x}" = 0
finish

#!/usr/bin/env bash
# test_fault_tap_deleted.sh - a TAP deleted under traffic: flowtap says so in one line, exits
# non-zero within a second, and exports every flow it had, the surviving direction's included:
# nfdump holds the echo requests h1 sent through tapa (counted by a capture of tapa) up to the
# moment tapb vanished (and none that tapa did not see).
source "$(dirname "$0")/lib.sh"
plan 6
require_root
needs python3 tcpdump tshark nfcapd nfdump ping
topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
start_flowtap --collector "$C_IP:4739" --idle-timeout 60
capture tapa "$NS_P" tapa out icmp
check "h1 reaches h2 through flowtap" wait_ping
ns "$NS_H1" ping -c 300 -i 0.01 -q "$H2_IP" >/dev/null 2>&1 &
sleep 1
gone=$(date +%s%N)
ip -n "$NS_P" link del tapb
for i in $(seq 100); do kill -0 "$PID_FLOWTAP" 2>/dev/null || break; sleep 0.02; done
exited=$(date +%s%N)
FLOWTAP_RC=0
wait "$PID_FLOWTAP" || FLOWTAP_RC=$?
stop_capture tapa
sleep 0.5
stop_pid "$PID_NFCAPD"
grep -vE "^\{" "$FT_OUT/flowtap.log" | sed 's/^/    /' | cut -c1-200
ms=$(( (exited - gone) / 1000000 ))
check "flowtap exits within 1 s of the TAP's deletion ($ms ms)" test "$ms" -le 1000
check "with a non-zero status ($FLOWTAP_RC)" test "$FLOWTAP_RC" -ne 0
check "one error line names the TAP and the cause" \
  bash -c "test \$(grep -c ' error ' '$FT_OUT/flowtap.log') -eq 1 && grep -q 'error flowtap: .*reading tapb->tapa failed: File descriptor in bad state; stopping' '$FT_OUT/flowtap.log'"
check "the closing line says a TAP failed" grep -q "stopped by a TAP failure" "$FT_OUT/flowtap.log"
# The capture stamps a request when the kernel queues it to tapa. Those queued before tapb
# vanished flowtap has read (it reads tapa continuously) and must export; one queued in the
# few milliseconds until flowtap stopped reading may stay unread, and is not in nfdump.
times=$(tshark -r "$FT_OUT/tapa.pcap" -Y "icmp.type == 8" -T fields -e frame.time_epoch 2>/dev/null)
sent=$(grep -c . <<<"$times")
before=$(awk -v gone="$gone" '$1 * 1e9 < gone' <<<"$times" | wc -l)
got=$(nfdump -R "$FT_OUT/nfcap" -q -o 'fmt:%pkt' "src host $H1_IP and dst host $H2_IP and proto icmp" 2>/dev/null | awk '{s += $1} END {print s + 0}')
check "every echo request queued to tapa before tapb vanished is in nfdump, and no more than tapa saw ($before <= $got <= $sent)" \
  test "$got" -ge "$before" -a "$got" -le "$sent" -a "$before" -gt 50
finish

#!/usr/bin/env bash
# test_million_flows.sh - flow churn: a million one-packet flows, each packet a new flow, paced
# at 100 000 a second. Every frame flowtap reads must reach h2 (none lost because of the cache);
# every sent frame must be accounted for (at h2, or dropped by the kernel at the TAP's queue
# before flowtap could read it); every flow that crossed must be a record at nfcapd (a flow
# evicted from a full cache set is reported early, not lost); nfdump must count no sequence
# failure; flowtap's resident memory must stay within what its caches take (≤ 128 bytes a slot)
# plus a fixed allowance.
source "$(dirname "$0")/lib.sh"
plan 9
require_root
needs python3 nfcapd nfdump
FLOWS=${FLOWS:-1000000}
topology_up
ns "$NS_C" sysctl -qw net.core.rmem_max=134217728 2>/dev/null || true
start_nfcapd_named churn "$C_IP" 4739 -B 67108864
ip -n "$NS_P" link set tapa txqueuelen 10000
SLOTS=1048576
start_flowtap --collector "$C_IP:4739" --max-flows "$SLOTS" --idle-timeout 2 --active-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
rx0=$(ns "$NS_H2" cat /sys/class/net/eth0/statistics/rx_packets)
drop0=$(ns "$NS_P" cat /sys/class/net/tapa/statistics/tx_dropped)
ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/corpus/churn.py" eth0 "$H1_MAC" "$H2_MAC" "$FLOWS" 100000
rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$PID_FLOWTAP/status")
sleep 0.5
rx1=$(ns "$NS_H2" cat /sys/class/net/eth0/statistics/rx_packets)
drop1=$(ns "$NS_P" cat /sys/class/net/tapa/statistics/tx_dropped)
crossed=$((rx1 - rx0)) dropped=$((drop1 - drop0))
check "every sent frame accounted for: $crossed at h2 + $dropped dropped at the TAP queue = $FLOWS" \
  test $((crossed + dropped)) -eq "$FLOWS"
check "the TAP queue dropped under 1% ($dropped)" test "$dropped" -lt $((FLOWS / 100))
sleep 4   # idle timeout and a sweep: every flow is reported
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
grep -E "^flowtap: " "$FT_OUT/flowtap.log"
check "every frame flowtap read reached h2: none lost to the cache" \
  grep -qE "tapa->tapb $((crossed + 1)) frames" "$FT_OUT/flowtap.log"
check "no record lost before the export thread or at the collector's socket" \
  bash -c "grep -q 'records lost 0)' '$FT_OUT/flowtap.log' && grep -q 'records not sent 0,' '$FT_OUT/flowtap.log'"
sleep 0.5
stop_pid "$PID_NFCAPD_churn"
records=$(nfdump -R "$FT_OUT/churn" -q -o 'fmt:%sa' 'src net 10.77.1.0/28' 2>/dev/null | wc -l)
check "nfcapd holds a record for each of the $crossed flows that crossed ($records)" test "$records" -eq "$crossed"
seqfail=$(nfdump -R "$FT_OUT/churn" -I 2>/dev/null | awk -F': *' '/^Sequence failures/{print $2}')
check "nfdump counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
# Two caches of SLOTS slots at 128 bytes each, plus rings, buffers and the runtime.
limit_kb=$(( 2 * SLOTS * 128 / 1024 + 2 * 65536 * 160 / 1024 + 96 * 1024 ))
check "resident memory ${rss_kb} kB within ${limit_kb} kB" test "$rss_kb" -le "$limit_kb"
finish

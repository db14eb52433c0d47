#!/usr/bin/env bash
# test_offload_no_tso.sh - `--offload` where the far side cannot take super-frames: the bridge
# port toward h2 (vh2) has TSO, GSO and checksum offload off, as a NIC without them would, so
# the kernel must cut every super-frame flowtap writes to tapb into wire segments (and fill in
# their checksums) before vh2. A bulk TCP transfer h1 -> h2 must then arrive whole: h2's kernel
# counts no checksum error, h2 receives as many segments as h1 sent (less none lost), and
# flowtap's counts equal h1's segments. The throughput, against plain forwarding on the same
# path, is printed for the README's offload decision.
source "$(dirname "$0")/lib.sh"
plan 5
require_root
needs python3 nfcapd nfdump iperf3 ethtool nstat
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server
ip netns exec "$NS_P" ethtool -K vh2 tso off gso off tx off sg off >/dev/null 2>&1 || skip "ethtool cannot turn vh2's offloads off"
check "vh2 has no TSO and no checksum offload" bash -c \
  "ip netns exec '$NS_P' ethtool -k vh2 | grep -Eq '^tcp-segmentation-offload: off' && ip netns exec '$NS_P' ethtool -k vh2 | grep -Eq '^tx-checksumming: off'"
rates=()
for mode in plain offload; do
  rm -rf "${FT_OUT:?}/nfcap"
  start_nfcapd 4739 "$FT_OUT/nfcap"
  flag=(); [[ $mode == offload ]] && flag=(--offload)
  start_flowtap --collector "$C_IP:4739" "${flag[@]}"
  wait_ping || true
  e0=$(ns "$NS_H2" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ {print $2}')
  s0=$(ns "$NS_H1" nstat -asz TcpOutSegs TcpRetransSegs | awk '/TcpOutSegs|TcpRetransSegs/{s += $2} END{print s}')
  ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t 3 --cport 40001 -J >"$FT_OUT/bulk-$mode.json"
  # iperf3 exits before its connections' last ACKs leave h1: count h1's segments once every
  # connection toward h2 has reached TIME-WAIT (or gone), so that the last ACKs are in both sums.
  for _ in $(seq 40); do
    [[ -z $(ns "$NS_H1" ss -Htn exclude time-wait dst "$H2_IP") ]] && break
    sleep 0.05
  done
  s1=$(ns "$NS_H1" nstat -asz TcpOutSegs TcpRetransSegs | awk '/TcpOutSegs|TcpRetransSegs/{s += $2} END{print s}')
  e1=$(ns "$NS_H2" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ {print $2}')
  rates+=("$mode $(python3 "$TOOLS/convert.py" iperf-gbps "$FT_OUT/bulk-$mode.json") Gbit/s")
  sleep 0.5
  stop_flowtap
  sleep 0.3
  stop_pid "$PID_NFCAPD"
  if [[ $mode == offload ]]; then
    check "[offload] flowtap exits 0, having read super-frames whole" bash -c \
      "test $FLOWTAP_RC -eq 0 && grep -qE 'GSO super-frames [1-9]' '$FT_OUT/flowtap.log'"
    check "[offload] h2's kernel saw no TCP checksum error ($((e1 - e0)))" test $((e1 - e0)) -eq 0
    nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" >"$FT_OUT/all.json"
    counted=$(python3 "$TOOLS/convert.py" sum-packets "$FT_OUT/all.json" "$H1_IP" 6)
    check "[offload] flowtap's $counted packets from h1 = the $((s1 - s0)) segments h1's kernel sent" \
      test "$counted" -eq $((s1 - s0)) -a $((s1 - s0)) -gt 10000
    check "[offload] the transfer completed: h2 received what h1 sent" python3 -c "
import json, sys
end = json.load(open(sys.argv[1]))['end']
sent, received = end['sum_sent']['bytes'], end['sum_received']['bytes']
print(f'    sent {sent} B, received {received} B')
sys.exit(not (sent > 10**8 and received >= 0.99 * sent))" "$FT_OUT/bulk-$mode.json"
  fi
done
echo "    bulk TCP through a far side without TSO: ${rates[*]}"
finish

#!/usr/bin/env bash
# test_offload.sh - counts equal the segments a wire carries, with and without `--offload`.
#  1. GSO super-frames (TCPv4, TCPv6, UDP_L4) injected from h1 through a PACKET_VNET_HDR
#     socket: without offloads the kernel cuts them before the TAP, with `--offload` they reach
#     flowtap whole; both runs must give the counts the injected definition gives
#     (netns-tests/corpus/inject_gso.py), identical to each other.
#  2. A real bulk TCP transfer with `--offload`: flowtap's packets for h1's TCP flows equal what
#     h1's kernel reports as sent (nstat TcpOutSegs + TcpRetransSegs).
source "$(dirname "$0")/lib.sh"
plan 9
require_root
needs python3 nfcapd nfdump iperf3
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server

for mode in plain offload; do
  rm -rf "${FT_OUT:?}/nfcap"
  start_nfcapd 4739 "$FT_OUT/nfcap"
  flag=(); [[ $mode == offload ]] && flag=(--offload)
  start_flowtap --collector "$C_IP:4739" "${flag[@]}"
  check "[$mode] h1 reaches h2 through flowtap" wait_ping
  ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/corpus/inject_gso.py" eth0 "$H1_MAC" "$H2_MAC" "$FT_OUT/gso-expected.json"
  if [[ $mode == offload ]]; then
    s0=$(ns "$NS_H1" nstat -asz TcpOutSegs TcpRetransSegs | awk '/TcpOutSegs|TcpRetransSegs/{s += $2} END{print s}')
    ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t 2 --cport 40001 > "$FT_OUT/bulk.log"
    s1=$(ns "$NS_H1" nstat -asz TcpOutSegs TcpRetransSegs | awk '/TcpOutSegs|TcpRetransSegs/{s += $2} END{print s}')
  fi
  sleep 0.5
  stop_flowtap
  check "[$mode] flowtap exits 0" test "$FLOWTAP_RC" -eq 0
  grep "^flowtap: stopped" "$FT_OUT/flowtap.log"
  sleep 0.3
  stop_pid "$PID_NFCAPD"
  nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/all-$mode.json"
  python3 "$TOOLS/convert.py" rows-from 10.77.60. fd00:60: < "$FT_OUT/all-$mode.json" > "$FT_OUT/gso-$mode.json"
  check "[$mode] the injected super-frames count as the segments a wire carries" \
    python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/gso-expected.json" "$FT_OUT/gso-$mode.json" -v --min 3
done
check "the same counts with and without --offload" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/gso-plain.json" "$FT_OUT/gso-offload.json" --min 3
check "with --offload, super-frames did reach flowtap whole" grep -qE "GSO super-frames [1-9]" "$FT_OUT/flowtap.log"
sent=$((s1 - s0))
counted=$(python3 "$TOOLS/convert.py" sum-packets "$FT_OUT/all-offload.json" "$H1_IP" 6)
check "bulk TCP: flowtap's $counted packets from h1 = the $sent segments h1's kernel sent" test "$counted" -eq "$sent" -a "$sent" -gt 10000
grep -E "sender|receiver" "$FT_OUT/bulk.log" | tail -1
finish

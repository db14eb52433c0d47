#!/usr/bin/env bash
# test_sampling.sh - `--sample 10`: 200 UDP packets in one direction; every one reaches h2, the
# collectors get 1 in 10 (deterministic: exactly 20; random: one per window of ten, so 19 to 21
# for a burst that starts anywhere in a window), and every format states the interval: IPFIX
# options samplingPacketInterval/Space 1/9, v9 options SAMPLING_INTERVAL 10, the v5 header's
# sampling field, by which nfdump scales v5 records back to 200.
source "$(dirname "$0")/lib.sh"
plan 20
require_root
needs python3 tcpdump tshark nfcapd nfdump
topology_up

for mode in deterministic random; do
  for c in ipfix v9 v5; do rm -rf "${FT_OUT:?}/$c"; done
  start_nfcapd_named ipfix "$C_IP" 4739
  start_nfcapd_named v9 "$C_IP" 2055
  start_nfcapd_named v5 "$C_IP" 9995
  capture export "$NS_C" eth0 in udp
  capture h2in "$NS_H2" eth0 in udp port 7778
  start_flowtap --collector "$C_IP:4739" --collector "v9://$C_IP:2055" --collector "v5://$C_IP:9995" \
    --sample 10 --sample-mode "$mode"
  check "[$mode] h1 reaches h2 through flowtap" wait_ping
  ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/tools/inject.py" udp "$H1_MAC" "$H2_MAC" "$H1_IP" "$H2_IP" 7777 7778 100 200 eth0
  sleep 0.5
  stop_flowtap
  check "[$mode] flowtap exits 0" test "$FLOWTAP_RC" -eq 0
  check "[$mode] and reports what it sampled out" grep -qE "[1-9][0-9]* sampled out" "$FT_OUT/flowtap.log"
  stop_capture export; stop_capture h2in
  for c in ipfix v9 v5; do v="PID_NFCAPD_$c"; stop_pid "${!v}"; done
  check "[$mode] all 200 packets reached h2" test "$(tshark -r "$FT_OUT/h2in.pcap" 2>/dev/null | wc -l)" -eq 200
  packets() { nfdump -R "$FT_OUT/$1" -a -o csv 'port 7777' 2>/dev/null | awk -F, 'NR == 2 {print $12}'; }
  low=20 high=20; [[ $mode == random ]] && low=19 high=21
  for c in ipfix v9; do
    n=$(packets "$c")
    check "[$mode] $c carries 1 in 10: $n packets" test "${n:-0}" -ge $low -a "${n:-0}" -le $high
  done
  n=$(packets v5)
  check "[$mode] nfdump scales v5 by its header's interval: $n packets" test "${n:-0}" -ge $((low * 10)) -a "${n:-0}" -le $((high * 10))
  DEC=(-d udp.port==4739,cflow -d udp.port==2055,cflow -d udp.port==9995,cflow)
  algorithm=$([[ $mode == random ]] && echo 2 || echo 1)
  for f in "cflow.version == 10 && cflow.sampling_packet_interval == 1 && cflow.sampling_packet_space == 9" \
           "cflow.version == 9 && cflow.sampling_interval == 10 && cflow.sampling_algorithm == $algorithm" \
           "cflow.version == 5 && cflow.samplerate == 10 && cflow.samplingmode == $algorithm"; do
    check "[$mode] the interval is stated: $f" test "$(tshark -r "$FT_OUT/export.pcap" "${DEC[@]}" -Y "$f" 2>/dev/null | wc -l)" -gt 0
  done
done
finish

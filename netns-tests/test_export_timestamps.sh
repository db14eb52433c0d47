#!/usr/bin/env bash
# test_export_timestamps.sh - `--timestamps us` and `--timestamps ns`: flow starts in the NTP
# format (RFC 7011 §6.1.9–10: seconds since 1900, fraction in 2^-32 s), read back by tshark and
# by PyPI's `ipfix`, must equal the kernel's capture time of each flow's first packet on the
# TAP to within 1 ms (flowtap under chrt -f 10, as in test_export_fields.sh), late by at most
# what flowtap held that frame (captures of what it wrote, -Q in; tools/held.py). A fraction in raw
# nanoseconds (VPP's bug) would be off by up to 0.77 s.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark iperf3 ping ss chrt
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server
PY=(python3 "$(dirname "$0")/collectors/pycollect.py")

for unit in us ns; do
  spawn PY "$NS_C" "${PY[@]}" --lib ipfix --listen "$C_IP:4739" --out "$FT_OUT/py-$unit.json" >"$FT_OUT/py-$unit.log" 2>&1
  wait_listening "$NS_C" 4739 u
  capture export "$NS_C" eth0 in udp port 4739
  SNAPLEN=128 capture tapa "$NS_P" tapa out
  SNAPLEN=128 capture tapb "$NS_P" tapb out
  SNAPLEN=128 capture tapa_in "$NS_P" tapa in
  SNAPLEN=128 capture tapb_in "$NS_P" tapb in
  FT_SCHED="chrt -f 10" start_flowtap --collector "$C_IP:4739" --timestamps "$unit"
  check "[$unit] h1 reaches h2 through flowtap" wait_ping
  ns "$NS_H1" ping -c 5 -i 0.05 -q "$H2_IP" >/dev/null
  ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n 1M -b 100M --cport 40021 >/dev/null
  ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -u -b 10M -l 500 -n 200K --cport 40023 >/dev/null
  stop_flowtap
  check "[$unit] flowtap exits 0" test "$FLOWTAP_RC" -eq 0
  stop_capture tapa; stop_capture tapb; stop_capture tapa_in; stop_capture tapb_in; stop_capture export
  stop_pid "$PID_PY"
  python3 "$TOOLS/pcapflows.py" --first --held="$FT_OUT/tapa_in.pcap,$FT_OUT/tapb_in.pcap" \
    "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth-$unit.json"
  element=$([[ $unit == us ]] && echo flowStartMicroseconds || echo flowStartNanoseconds)
  # Wireshark decodes dateTimeMicro/Nanoseconds with the NTP epoch (1900), as RFC 7011 says.
  tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T fields -E occurrence=a -E aggregator=';' \
    -e cflow.abstimestart -e cflow.srcaddr -e cflow.dstaddr -e cflow.protocol -e cflow.srcport -e cflow.dstport 2>/dev/null |
    python3 "$TOOLS/convert.py" tshark-starts - > "$FT_OUT/tshark-starts-$unit.json"
  check "[$unit] tshark: each flow's start equals its first packet's capture time (±1 ms)" \
    python3 "$TOOLS/flowcheck.py" starts "$FT_OUT/truth-$unit.json" "$FT_OUT/tshark-starts-$unit.json"
  # python-ipfix 0.9.7 decodes NTP seconds as if they counted from 1970: take the 1900-1970
  # offset back out. Its records must carry the element asked for.
  python3 "$TOOLS/convert.py" py-starts "$FT_OUT/py-$unit.json" "$FT_OUT/py-starts-$unit.json" "$element" &&
  check "[$unit] python-ipfix: $element equals each flow's first capture time (±1 ms)" \
    python3 "$TOOLS/flowcheck.py" starts "$FT_OUT/truth-$unit.json" "$FT_OUT/py-starts-$unit.json" --epoch-offset 2208988800
  bad=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "_ws.malformed || _ws.expert.severity >= warning" 2>/dev/null | wc -l)
  n=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.timedelta" 2>/dev/null | wc -l)
  check "[$unit] tshark decodes the records and their durations, no malformed packet ($n, $bad)" test "$n" -gt 0 -a "$bad" -eq 0
done
finish

#!/usr/bin/env bash
# test_export_fields.sh - every field flowtap exports, against the wire, in all three formats,
# each read by a third-party parser (python-ipfix for IPFIX, the netflow package for v9 and
# v5), and all three by nfcapd/nfdump too, and IPFIX's and v9's times by nfacctd: per flow of a capture of the TAPs, packets and
# bytes, the OR of the TCP flags, the ToS / traffic class (traffic is sent with several), ICMP
# type and code (echo both ways, port unreachable, ICMPv6, which v9 carries in ICMP_TYPE, 32,
# as RFC 3954 has it), ingress and egress ifindex, flow direction, first and last packet, and
# (IPFIX) the end reason: 3 for TCP flows that had a FIN or RST or whose reverse had a RST,
# idle timeout or forced end for the rest (tools/flowcheck.py fields). Times must be within 1 ms of
# the capture: the formats carry milliseconds (cut, so up to 1 ms early), and flowtap stamps a
# frame when it reads it, so it runs SCHED_FIFO (chrt -f 10, as the README says to run it where
# times matter): on the normal scheduler a forwarder woken by its TAP waited for a CPU the
# hosts' TCP stacks held, up to 4.7 ms seen at the end of iperf3's flows on these 2-core VMs.
# Its threads must be SCHED_FIFO after the privilege drop (chrt -p). Even so, a shared CI VM
# can take the CPU from it for milliseconds, so a time may also be late by what flowtap held
# that very frame: captures of what it wrote (-Q in) show when each frame left (tools/held.py).
# The largest error of the run, and the longest a frame was held, are printed.
source "$(dirname "$0")/lib.sh"
plan 13
require_root
needs python3 tcpdump nfcapd nfdump nfacctd iperf3 ping ss chrt
TOOLS=$(dirname "$0")/tools
topology_up
ipv6_up
PY=(python3 "$(dirname "$0")/collectors/pycollect.py")
spawn PYIPFIX "$NS_C" "${PY[@]}" --lib ipfix --listen "$C_IP:4742" --out "$FT_OUT/ipfix.json" >"$FT_OUT/py-ipfix.log" 2>&1
spawn PYV9 "$NS_C" "${PY[@]}" --lib netflow --listen "$C_IP:2057" --out "$FT_OUT/v9.json" >"$FT_OUT/py-v9.log" 2>&1
spawn PYV5 "$NS_C" "${PY[@]}" --lib netflow --listen "$C_IP:9997" --out "$FT_OUT/v5.json" >"$FT_OUT/py-v5.log" 2>&1
start_nfcapd_named nfipfix "$C_IP" 4739
start_nfcapd_named nfv9 "$C_IP" 2055
start_nfcapd_named nfv5 "$C_IP" 9995
# nfacctd (pmacct) keeps each record's start and end, to the microsecond since the epoch.
for c in "acctipfix 4743" "acctv9 2058"; do
  set -- $c
  sed -e "s|@ADDR@|$C_IP|" -e "s|@PORT@|$2|" -e "s|@OUT@|$FT_OUT/$1.csv|" \
      -e "s|^aggregate\[flows\]: .*|&, timestamp_start, timestamp_end|" "$(dirname "$0")/collectors/nfacctd.conf.in" >"$FT_OUT/$1.conf"
  printf 'timestamps_since_epoch: true\ntimestamps_secs: false\n' >>"$FT_OUT/$1.conf"
  spawn "NFACCTD_$1" "$NS_C" nfacctd -f "$FT_OUT/$1.conf" >"$FT_OUT/$1.log" 2>&1
done
for p in 4742 2057 9997 4739 2055 9995 4743 2058; do wait_listening "$NS_C" "$p" u || echo "collector on $p did not start" >&2; done
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture tapa_in "$NS_P" tapa in
capture tapb_in "$NS_P" tapb in
FT_SCHED="chrt -f 10" start_flowtap --collector "$C_IP:4742" --collector "v9://$C_IP:2057" --collector "v5://$C_IP:9997" \
  --collector "$C_IP:4739" --collector "v9://$C_IP:2055" --collector "v5://$C_IP:9995" --collector "$C_IP:4743" --collector "v9://$C_IP:2058"
check "h1 reaches h2 through flowtap" wait_ping
policies() { for t in /proc/$PID_FLOWTAP/task/*; do printf '%s=%s ' "$(cat "$t/comm")" "$(chrt -p "${t##*/}" | sed -n 's/.*policy: //p' | head -1)"; done; }
echo "    $(policies)"
check "the forwarding threads run SCHED_FIFO, dropped to uid 65534, as the start line says" \
  bash -c '[[ "$1" == *"flowtap-a>b0=SCHED_FIFO "* && "$1" == *"flowtap-b>a0=SCHED_FIFO "* ]] && grep -q "^Uid:.65534" /proc/$2/status && grep -q "threads SCHED_FIFO priority 10" "$3"' \
  _ "$(policies)" "$PID_FLOWTAP" "$FT_OUT/flowtap.log"
iperf3_server
# ToS and traffic classes of their own, ICMP of several types, TCP closed by FIN and by RST.
ns "$NS_H1" ping -c 10 -i 0.02 -Q 0x28 -q "$H2_IP" >/dev/null
ns "$NS_H2" ping -c 5 -i 0.02 -Q 0xb8 -s 1200 -q "$H1_IP" >/dev/null
ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n 1M -b 100M -S 0x10 --cport 40001 >"$FT_OUT/iperf-tos.log"
ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -u -b 5M -l 800 -n 200K --cport 40003 >"$FT_OUT/iperf-udp.log"
ns "$NS_H1" python3 "$(dirname "$0")/tools/sockets.py" closed-port-probe "$H2_IP"
ns "$NS_H1" ping -6 -c 5 -i 0.02 -Q 0x48 -q "$H2_IP6" >/dev/null
ns "$NS_H1" iperf3 -6 -c "$H2_IP6" -p 5201 -n 500K -b 50M --cport 40011 >"$FT_OUT/iperf6.log"
sleep 7   # past the close grace (5 s) and a sweep: the closed TCP flows end with reason 3
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture tapa_in; stop_capture tapb_in
check "the TAP captures lost no frame" capture_complete tapa tapb tapa_in tapb_in
sleep 1.5   # nfacctd's print plugin writes every second
for p in NFACCTD_acctipfix NFACCTD_acctv9; do v="PID_$p"; stop_pid "${!v}" INT; done   # nfacctd ends on SIGINT
for p in PYIPFIX PYV9 PYV5 NFCAPD_nfipfix NFCAPD_nfv9 NFCAPD_nfv5; do v="PID_$p"; stop_pid "${!v}"; done
cat "$FT_OUT"/py-*.log
python3 "$TOOLS/pcapflows.py" --fields --icmp-types --held="$FT_OUT/tapa_in.pcap,$FT_OUT/tapb_in.pcap" \
  "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
check "the capture has the ToS values, ICMP types and TCP endings sent" python3 "$(dirname "$0")/tools/recordcheck.py" wire-variety "$FT_OUT/truth.json"
ifindex="tapa=$(ip -n "$NS_P" -o link show tapa | cut -d: -f1),tapb=$(ip -n "$NS_P" -o link show tapb | cut -d: -f1)"
check "IPFIX (python-ipfix): every field of every flow equals the capture" \
  python3 "$TOOLS/flowcheck.py" fields "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --ifindex "$ifindex" --format ipfix --min 12 --tolerance 0.001
check "NetFlow v9 (netflow): every field of every flow equals the capture" \
  python3 "$TOOLS/flowcheck.py" fields "$FT_OUT/truth.json" "$FT_OUT/v9.json" --ifindex "$ifindex" --format v9 --min 12 --tolerance 0.001
check "NetFlow v5 (netflow): every field v5 carries, for every IPv4 flow" \
  python3 "$TOOLS/flowcheck.py" fields "$FT_OUT/truth.json" "$FT_OUT/v5.json" --ifindex "$ifindex" --format v5 --min 8 --ipv4-only --tolerance 0.001
for c in nfipfix nfv9; do
  python3 "$TOOLS/nfdump2records.py" "$FT_OUT/$c" >"$FT_OUT/$c.json"
  check "$([[ $c == nfipfix ]] && echo IPFIX || echo "NetFlow v9") (nfcapd/nfdump): every field nfdump prints, of every flow" \
    python3 "$TOOLS/flowcheck.py" fields "$FT_OUT/truth.json" "$FT_OUT/$c.json" --ifindex "$ifindex" --format nfdump --min 12 --tolerance 0.001
done
python3 "$TOOLS/nfdump2records.py" "$FT_OUT/nfv5" >"$FT_OUT/nfv5.json"
check "NetFlow v5 (nfcapd/nfdump): every field v5 carries, for every IPv4 flow" \
  python3 "$TOOLS/flowcheck.py" fields "$FT_OUT/truth.json" "$FT_OUT/nfv5.json" --ifindex "$ifindex" --format v5 --min 8 --ipv4-only --tolerance 0.001
for c in acctipfix acctv9; do
  python3 "$TOOLS/nfacctd2json.py" --times <"$FT_OUT/$c.csv" >"$FT_OUT/$c.json"
  # nfacctd keeps v9 times in whole seconds (its FIRST/LAST_SWITCHED arithmetic drops the
  # milliseconds), so for v9 it is checked to its own resolution.
  if [[ $c == acctipfix ]]; then what="IPFIX (nfacctd): every flow's start and end within 1 ms of the capture" tolerance=0.001
  else what="NetFlow v9 (nfacctd): every flow's start and end within 1 s, nfacctd's resolution" tolerance=1.0; fi
  check "$what" python3 "$TOOLS/flowcheck.py" times "$FT_OUT/truth.json" "$FT_OUT/$c.json" --min 12 --tolerance "$tolerance"
done
finish

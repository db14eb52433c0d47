#!/usr/bin/env bash
# test_export_formats.sh - one traffic set (ping, TCP both ways, UDP, IPv6 ICMPv6/TCP/UDP)
# exported at once to nine collectors: nfcapd over IPFIX, NetFlow v9 and NetFlow v5, nfcapd over
# IPFIX to an IPv6 address, pmacct nfacctd (print plugin), a collector around the strict RFC 7011
# reader of PyPI's `ipfix`, and collectors around PyPI's `netflow` for IPFIX, v9 and v5.
# Every collector must hold exactly the flows a capture of the TAPs shows (v5: the IPv4 ones),
# no collector may see a sequence error under its format's rule (IPFIX data records, v9
# packets, v5 flows), and tshark must decode every export packet, options records included,
# with good UDP checksums over IPv4 and IPv6.
source "$(dirname "$0")/lib.sh"
plan 30
require_root
needs python3 tcpdump tshark nfcapd nfdump nfacctd iperf3 ss
TOOLS=$(dirname "$0")/tools
topology_up
ipv6_up
sleep 2   # the hosts' first MLD reports go out now, while no path exists

start_nfcapd_named ipfix "$C_IP" 4739
start_nfcapd_named v9 "$C_IP" 2055
start_nfcapd_named v5 "$C_IP" 9995
start_nfcapd_named ipfix6 "$C_IP6" 4740 -6
sed -e "s|@ADDR@|$C_IP|" -e "s|@PORT@|4741|" -e "s|@OUT@|$FT_OUT/nfacctd.csv|" \
  "$(dirname "$0")/collectors/nfacctd.conf.in" > "$FT_OUT/nfacctd.conf"
spawn NFACCTD "$NS_C" nfacctd -f "$FT_OUT/nfacctd.conf" >"$FT_OUT/nfacctd.log" 2>&1
PY=(python3 "$(dirname "$0")/collectors/pycollect.py")
spawn PYIPFIX "$NS_C" "${PY[@]}" --lib ipfix --listen "$C_IP:4742" --out "$FT_OUT/py-ipfix.json" >"$FT_OUT/py-ipfix.log" 2>&1
spawn PYNFIPFIX "$NS_C" "${PY[@]}" --lib netflow --listen "$C_IP:4743" --out "$FT_OUT/py-netflow-ipfix.json" >"$FT_OUT/py-netflow-ipfix.log" 2>&1
spawn PYNFV9 "$NS_C" "${PY[@]}" --lib netflow --listen "$C_IP:2057" --out "$FT_OUT/py-netflow-v9.json" >"$FT_OUT/py-netflow-v9.log" 2>&1
spawn PYNFV5 "$NS_C" "${PY[@]}" --lib netflow --listen "$C_IP:9997" --out "$FT_OUT/py-netflow-v5.json" >"$FT_OUT/py-netflow-v5.log" 2>&1
for p in 4741 4742 4743 2057 9997; do wait_listening "$NS_C" "$p" u || echo "collector on $p did not start" >&2; done
capture export "$NS_C" eth0 in udp
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --collector "v9://$C_IP:2055" --collector "v5://$C_IP:9995" \
  --collector "ipfix://[$C_IP6]:4740" --collector "$C_IP:4741" --collector "$C_IP:4742" --collector "$C_IP:4743" \
  --collector "v9://$C_IP:2057" --collector "v5://$C_IP:9997" --idle-timeout 2 --active-timeout 2 --template-refresh 3 --template-refresh-packets 5
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
traffic
traffic6
sleep 1
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa
check "  (tapb too)" capture_complete tapb
sleep 0.5
for c in ipfix v9 v5 ipfix6; do v="PID_NFCAPD_$c"; stop_pid "${!v}"; done
stop_pid "$PID_NFACCTD" INT   # nfacctd ends on SIGINT, not SIGTERM
for p in PYIPFIX PYNFIPFIX PYNFV9 PYNFV5; do v="PID_$p"; stop_pid "${!v}"; done
cat "$FT_OUT"/py-*.log
grep -E "^flowtap: " "$FT_OUT/flowtap.log"

python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
check "the capture holds IPv6 TCP and UDP flows" python3 "$(dirname "$0")/tools/recordcheck.py" ipv6-transports "$FT_OUT/truth.json"
for c in ipfix v9 v5 ipfix6; do
  nfdump -R "$FT_OUT/$c" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/$c.json"
  only=""; [[ $c == v5 ]] && only=--ipv4-only
  check "nfdump ($c) holds every flow with the captured packets and bytes" \
    python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/$c.json" $only --min 10
  seqfail=$(nfdump -R "$FT_OUT/$c" -I 2>/dev/null | awk -F': *' '/^Sequence failures/{print $2}')
  check "nfdump ($c) counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
done
python3 "$TOOLS/nfacctd2json.py" < "$FT_OUT/nfacctd.csv" > "$FT_OUT/nfacctd.json"
check "nfacctd holds every flow with the captured packets and bytes" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfacctd.json" --min 10
for c in ipfix netflow-ipfix netflow-v9 netflow-v5; do
  only=""; [[ $c == netflow-v5 ]] && only=--ipv4-only
  python3 "$(dirname "$0")/tools/convert.py" key "$FT_OUT/py-$c.json" flows "$FT_OUT/py-$c.flows.json"
  check "python $c collector holds every flow with the captured packets and bytes" \
    python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/py-$c.flows.json" $only --min 10
  # v5 has no templates or options: its 14 IPv4 flows may leave in as few as two messages.
  minimum=3; [[ $c == netflow-v5 ]] && minimum=2
  check "python $c collector: every packet parsed, no sequence error" python3 "$(dirname "$0")/tools/recordcheck.py" pycollect-clean "$FT_OUT/py-$c.json" "$minimum"
done
check "flowtap counts the IPv6 flows v5 cannot carry" grep -qE "not exportable in v5: [1-9]" "$FT_OUT/flowtap.log"

DEC=()
for p in 4739 4740 4741 4742 4743 2055 2057 9995 9997; do DEC+=(-d "udp.port==$p,cflow"); done
total=$(tshark -r "$FT_OUT/export.pcap" 2>/dev/null | wc -l)
decoded=$(tshark -r "$FT_OUT/export.pcap" "${DEC[@]}" -Y cflow 2>/dev/null | wc -l)
bad=$(tshark -r "$FT_OUT/export.pcap" "${DEC[@]}" -o udp.check_checksum:TRUE \
  -Y "_ws.malformed || _ws.expert.severity >= warning || udp.checksum.status != 1" 2>/dev/null | wc -l)
v6=$(tshark -r "$FT_OUT/export.pcap" "${DEC[@]}" -o udp.check_checksum:TRUE -Y "ipv6 && cflow && udp.checksum.status == 1" 2>/dev/null | wc -l)
check "tshark decodes all $total export packets as IPFIX/NetFlow" test "$decoded" -eq "$total" -a "$total" -gt 8
check "no malformed packet, expert warning or bad UDP checksum ($bad)" test "$bad" -eq 0
check "IPFIX over IPv6 arrives with good checksums ($v6 packets)" test "$v6" -gt 2
for f in "cflow.version == 10 && cflow.sampling_packet_interval == 1" "cflow.version == 9 && cflow.sampling_interval == 1" \
         "cflow.version == 10 && cflow.od_id == 0 && cflow.flowset_id == 3" "cflow.version == 9 && cflow.flowset_id == 1"; do
  n=$(tshark -r "$FT_OUT/export.pcap" "${DEC[@]}" -Y "$f" 2>/dev/null | wc -l)
  check "options records: $f ($n packets)" test "$n" -gt 0
done
finish

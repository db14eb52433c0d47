#!/usr/bin/env bash
# test_export_mtu.sh - no export datagram is longer than --mtu, across the accepted range, with
# the largest record layouts (--record l2,l3,l4 --biflow to IPFIX) and options records, in every
# format at once: IPFIX, NetFlow v9 and v5. The smallest MTU is the one flowtap itself names
# when given one byte less; the collector link carries 9000-byte frames so that the large MTUs
# are tried for real. The ground truth is tshark: the IP length of every captured export
# datagram, its decode (no malformed packet, no expert warning) and the count of flow records
# it finds, which must cover every flow of the accuracy corpus in every format.
source "$(dirname "$0")/lib.sh"
plan 21
require_root
needs python3 tcpdump tshark ss
topology_up
/usr/bin/python3 "$(dirname "$0")/corpus/make_corpus.py" "$FT_OUT" "$H1_MAC" "$H2_MAC" >/dev/null
ip -n "$NS_P" link set vc mtu 9000
ip -n "$NS_C" link set eth0 mtu 9000
COLLECTORS=(--collector "ipfix://$C_IP:4739" --collector "v9://$C_IP:2055" --collector "v5://$C_IP:9995")
# Something listens on each port (a sink that reads and drops), so that no ICMP port
# unreachable makes flowtap count records as not sent: tshark reads the capture.
ip netns exec "$NS_C" /usr/bin/python3 "$(dirname "$0")/tools/sockets.py" sink "$C_IP" 4739 2055 9995 &
FT_PIDS+=("$!")
for port in 4739 2055 9995; do wait_listening "$NS_C" "$port" u; done
ARGS=(--record l2,l3,l4 --biflow --template-refresh-packets 2)

# The smallest accepted MTU, as flowtap's own error states it for an MTU it refuses.
ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb "${COLLECTORS[@]}" "${ARGS[@]}" --mtu 100 2>"$FT_OUT/mtu.err" || true
minimum=$(grep -oE "give --mtu [0-9]+" "$FT_OUT/mtu.err" | grep -oE "[0-9]+")
echo "    smallest accepted MTU: ${minimum:-?} ($(cat "$FT_OUT/mtu.err"))"
check "flowtap names the smallest MTU for these layouts" test -n "$minimum"
minimum=${minimum:-1500}

for mtu in "$minimum" $((minimum + 1)) 576 1280 1500 9000; do
  capture "export$mtu" "$NS_C" eth0 in udp
  start_flowtap "${COLLECTORS[@]}" "${ARGS[@]}" --mtu "$mtu"
  wait_ping || true
  ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/tools/inject.py" replay "$FT_OUT/corpus.pcap" 0.001 eth0
  sleep 0.3
  stop_flowtap
  sleep 0.3
  stop_capture "export$mtu"
  pcap=$FT_OUT/export$mtu.pcap
  decode=(-r "$pcap" -d udp.port==4739,cflow -d udp.port==2055,cflow -d udp.port==9995,cflow)
  longest=$(tshark "${decode[@]}" -T fields -e ip.len 2>/dev/null | sort -n | tail -1)
  datagrams=$(tshark "${decode[@]}" -T fields -e ip.len 2>/dev/null | wc -l)
  check "[mtu $mtu] flowtap exits 0 and sent every record (nothing not sent)" \
    bash -c "test $FLOWTAP_RC -eq 0 && ! grep -qE 'records not sent [1-9]' '$FT_OUT/flowtap.log'"
  check "[mtu $mtu] the longest of $datagrams export datagrams is ${longest:-?} bytes, within the MTU" test "${longest:-99999}" -le "$mtu"
  check "[mtu $mtu] tshark decodes every datagram: no malformed packet, no expert warning" \
    bash -c "! tshark ${decode[*]} -Y '_ws.malformed || _ws.expert.severity >= warning' 2>/dev/null | grep -q ."
  # Flow records tshark finds per format (v9 and IPFIX data records, v5 records).
  ipfix=$(tshark "${decode[@]}" -Y "cflow.version == 10" -T fields -e cflow.srcmac 2>/dev/null | tr ',' '\n' | grep -c . || true)
  v9=$(tshark "${decode[@]}" -Y "cflow.version == 9" -T fields -e cflow.srcmac 2>/dev/null | tr ',' '\n' | grep -c . || true)
  echo "    records tshark decoded: IPFIX $ipfix, v9 $v9"
  if [[ $mtu -eq $minimum || $mtu -eq 1500 ]]; then
    check "[mtu $mtu] IPFIX and v9 carry a record for every corpus flow ($ipfix, $v9 >= 13)" bash -c "test $ipfix -ge 13 && test $v9 -ge 13"
  fi
done
finish

#!/usr/bin/env bash
# test_export_l2.sh - the l2 record set: MAC addresses, 802.1Q and QinQ VLAN ids, and non-IP
# (ARP) frames as flows of their own. Tagged frames and ARP are injected from h1 with scapy; the
# expected counts come from a capture of tapa, and the records are read back by tshark's IPFIX
# dissector and by nfdump.
source "$(dirname "$0")/lib.sh"
plan 9
require_root
needs python3 tcpdump tshark nfcapd nfdump
topology_up

start_nfcapd 4739 "$FT_OUT/nfcap"
capture export "$NS_C" eth0 in udp port 4739
capture tapa "$NS_P" tapa out
start_flowtap --collector "$C_IP:4739" --record l2,l3,l4
check "h1 reaches h2 through flowtap" wait_ping
ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/tools/inject.py" l2-corpus "$H1_MAC" "$H2_MAC" eth0
sleep 0.5
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture export
sleep 0.3
stop_pid "$PID_NFCAPD"

count() { tshark -r "$FT_OUT/tapa.pcap" -Y "$1" 2>/dev/null | wc -l; }
vlan100=$(count "vlan.id == 100 && udp.port == 2222")
qinq=$(count "vlan.id == 20 && udp.port == 4444")
arp=$(count "arp && eth.dst == ff:ff:ff:ff:ff:ff")
mpls=$(count "mpls.label == 1000 && udp.port == 6666")
# One line per record: source MAC, destination MAC, VLAN id, customer VLAN id, packets.
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T fields -E occurrence=a -E aggregator=, \
  -e cflow.srcmac -e cflow.dstmac -e cflow.vlanid -e cflow.dot1q_customer_vlan_id -e cflow.packets 2>/dev/null |
  python3 "$(dirname "$0")/tools/convert.py" tshark-records - > "$FT_OUT/records.txt"
cat "$FT_OUT/records.txt"
check "an 802.1Q flow: VLAN 100, the $vlan100 captured packets" grep -qx "$H1_MAC $H2_MAC 100 0 $vlan100" "$FT_OUT/records.txt"
check "a QinQ flow: VLAN 10 outside 20, the $qinq captured packets" grep -qx "$H1_MAC $H2_MAC 10 20 $qinq" "$FT_OUT/records.txt"
check "an ARP (non-IP) flow of the $arp captured frames" grep -qx "$H1_MAC ff:ff:ff:ff:ff:ff 0 0 $arp" "$FT_OUT/records.txt"
# Two label fields (70, 71) per record: pair them, then with the record's packets.
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T fields -e cflow.mpls_label -e cflow.packets \
  -E occurrence=a -E aggregator=, 2>/dev/null | python3 "$(dirname "$0")/tools/convert.py" tshark-label-pairs - > "$FT_OUT/labels.txt"
check "an MPLS flow: labels 1000 over 2000 read by tshark, the $mpls captured packets" grep -qx "1000 2000 $mpls" "$FT_OUT/labels.txt"
check "nfdump reads the VLAN id" bash -c "nfdump -R '$FT_OUT/nfcap' -o raw | grep -q 'src vlan *= *100'"
check "nfdump reads the MAC addresses" bash -c "nfdump -R '$FT_OUT/nfcap' -o raw | grep -q 'in src mac *= *$H1_MAC'"
bad=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -o udp.check_checksum:TRUE \
  -Y "_ws.malformed || _ws.expert.severity >= warning || udp.checksum.status != 1" 2>/dev/null | wc -l)
check "no malformed export packet or bad checksum ($bad)" test "$bad" -eq 0
finish

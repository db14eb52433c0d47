#!/usr/bin/env bash
# test_read_captures.sh - every capture a user has, read exactly, the same way twice, and shown.
#
# Mixed traffic (pings, TCP both ways and UDP over IPv4, IPv6 ping, TCP and UDP) crosses a live
# flowtap, with PPPoE sessions injected by scapy among it (no PPP in this kernel for pppd, so the
# frames are made, as an access link carries them: IPv4 UDP, TCP and ICMP, ICMP under QinQ, IPv6,
# LCP and discovery). Each TAP is captured twice at once: whole, and by tcpdump -s 96 as a flow
# capture is usually taken. Ground truth is the whole captures' own parser (tools/pcapflows.py,
# which walks PPPoE too) and tshark, never flowtap's opinion.
#   - live: the PPPoE sessions' flows at nfcapd equal the capture's (tshark agrees on the count);
#   - the -s 96 captures, read: every flow exact in packets and bytes (by IP length) against the
#     whole captures, the packets counted as snapped, every packet in one count;
#   - one capture read 5 times with different hash seeds (and short timeouts): the same IPFIX
#     file, byte for byte;
#   - read with no destination: the table and the JSON lines hold the records of the IPFIX file
#     of the same capture (the lines in its order, the table largest first, with its total);
#   - the capture rewritten byte for byte as BSD loopback (NULL both byte orders, LOOP), PPP
#     (with and without FF 03, compressed protocol), PPP in HDLC framing, Cisco HDLC (under its
#     own link type and under PPP's) and raw IP as 12 and 14 (tools/capconvert.py): the same flows.
source "$(dirname "$0")/lib.sh"
plan 22
require_root
needs python3 tcpdump tshark mergecap nfcapd nfdump iperf3 ping
TOOLS=$(dirname "$0")/tools
topology_up
ipv6_up
iperf3_server

start_nfcapd 4739 "$FT_OUT/nfcap"
for t in tapa tapb; do
  capture "$t" "$NS_P" "$t" out
  SNAPLEN=96 capture "${t}96" "$NS_P" "$t" out
done
start_flowtap --collector "$C_IP:4739"
check "h1 reaches h2 through flowtap" wait_ping
TCP_BYTES=2M traffic
traffic6
ns "$NS_H1" /usr/bin/python3 "$TOOLS/inject.py" pppoe "$H1_MAC" "$H2_MAC" eth0
sleep 0.5
stop_flowtap
check "the live flowtap exits 0" test "$FLOWTAP_RC" -eq 0
for t in tapa tapb tapa96 tapb96; do stop_capture "$t"; done
check "the four TAP captures lost no frame" capture_complete tapa tapb tapa96 tapb96
sleep 0.3
stop_pid "$PID_NFCAPD"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
mergecap -F pcap -w "$FT_OUT/both.pcap" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap"
mergecap -F pcap -w "$FT_OUT/both96.pcap" "$FT_OUT/tapa96.pcap" "$FT_OUT/tapb96.pcap"

# PPPoE, live: the sessions' IP flows as nfcapd stored them, against the capture.
python3 "$TOOLS/convert.py" rows-from 10.77.110. 10.77.111. fd00:112: <"$FT_OUT/truth.json" >"$FT_OUT/pppoe-truth.json"
nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" |
  python3 "$TOOLS/convert.py" rows-from 10.77.110. 10.77.111. fd00:112: >"$FT_OUT/pppoe-live.json"
check "PPPoE sessions, live: every IP flow inside them (IPv4 UDP, TCP, ICMP under QinQ, IPv6 UDP) at nfcapd equals the capture's" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/pppoe-truth.json" "$FT_OUT/pppoe-live.json" --min 4
ours=$(python3 "$TOOLS/convert.py" sum-packets "$FT_OUT/pppoe-truth.json" 10.77.110.1 17)
theirs=$(tshark -r "$FT_OUT/tapa.pcap" -Y "pppoes && udp.port == 7001" 2>/dev/null | wc -l)
check "tshark sees the PPPoE UDP flow's $ours packets too ($theirs)" test "$ours" -eq 10 -a "$theirs" -eq 10

chmod 777 "$FT_OUT"
READ=(ip netns exec "$NS_C" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$FT_BIN" read)
rows() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["rows"]))' <(python3 "$TOOLS/ipfixfile.py" "$1"); }

# Snap length: the -s 96 captures hold the packets' first 96 bytes and their original lengths.
snapped=$(python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read()
off, cut = 24, 0
while off + 16 <= len(data):
    incl, orig = struct.unpack("<II", data[off + 8:off + 16])
    cut += incl < orig
    off += 16 + incl
print(cut)' "$FT_OUT/both96.pcap")
check "tcpdump -s 96 cut $snapped packets short" test "$snapped" -gt 1000
"${READ[@]}" "$FT_OUT/both96.pcap" --output "$FT_OUT/s96.ipfix" >"$FT_OUT/s96.log" 2>&1
cat "$FT_OUT/s96.log"
rows "$FT_OUT/s96.ipfix" >"$FT_OUT/s96.json"
check "the -s 96 capture, read: every flow's packets and bytes (IP lengths) equal the whole captures'" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/s96.json" --min 20
packets=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from pcapfile import frames; print(sum(1 for _ in frames(sys.argv[2])))' "$TOOLS" "$FT_OUT/both96.pcap")
check "its closing line counts the snapped packets apart ($snapped cut), and every one of the $packets in one count" python3 -c '
import re, sys
line = open(sys.argv[1]).readline()
n = lambda what: int(re.search(r"(\d+) " + what if what[0] != "=" else what[1:] + r" (\d+)", line).group(1))
read, metered, snapped = n("packets"), n("=metered"), n("=snapped")
other = n("undecodable") + n("non-IP") + n("sampled out")
print(f"    read {read}: metered {metered}, snapped {snapped}, other {other}")
sys.exit(0 if read == int(sys.argv[2]) == metered + snapped + other and snapped == int(sys.argv[3]) else 1)' \
  "$FT_OUT/s96.log" "$packets" "$snapped"

# The same way twice: five hash seeds, one file.
for seed in 1 2 3 4 5; do
  "${READ[@]}" "$FT_OUT/both.pcap" --idle-timeout 1 --active-timeout 2 --hash-seed $((seed * 7919)) \
    --output "$FT_OUT/seed$seed.ipfix" >/dev/null 2>&1
done
sums=$(md5sum "$FT_OUT"/seed?.ipfix | awk '{print $1}' | sort -u | wc -l)
records=$(python3 "$TOOLS/convert.py" key <(python3 "$TOOLS/ipfixfile.py" "$FT_OUT/seed1.ipfix") records)
check "one capture read with 5 hash seeds gives the same IPFIX file, byte for byte ($records records; $sums distinct)" \
  test "$sums" -eq 1 -a "$records" -gt 25

# No destination: the records printed, as a table and as JSON lines, against the file.
"${READ[@]}" "$FT_OUT/both.pcap" --output "$FT_OUT/printed.ipfix" >/dev/null 2>&1
"${READ[@]}" "$FT_OUT/both.pcap" >"$FT_OUT/printed.txt" 2>"$FT_OUT/printed.err"
"${READ[@]}" "$FT_OUT/both.pcap" --json >"$FT_OUT/printed.jsonl" 2>/dev/null
head -3 "$FT_OUT/printed.txt"; tail -1 "$FT_OUT/printed.txt"
python3 "$TOOLS/ipfixfile.py" "$FT_OUT/printed.ipfix" >"$FT_OUT/printed-file.json"
check "read without a destination prints the file's records: JSON lines in its order, the table largest first with its total" \
  python3 "$TOOLS/recordcheck.py" printed "$FT_OUT/printed-file.json" "$FT_OUT/printed.jsonl" "$FT_OUT/printed.txt"
check "and its closing line goes to standard error" grep -q "^flowtap: read [0-9]* packets" "$FT_OUT/printed.err"
rows "$FT_OUT/printed.ipfix" | python3 "$TOOLS/convert.py" rows-from 10.77.110. 10.77.111. fd00:112: >"$FT_OUT/pppoe-read.json"
check "PPPoE sessions, read from the capture: every IP flow inside them equals the capture's" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/pppoe-truth.json" "$FT_OUT/pppoe-read.json" --min 4

# Link types: the capture (its IP frames: the others have no place in these links) rewritten.
tshark -r "$FT_OUT/both.pcap" -Y "(ip || ipv6) && !pppoes && !vlan" -F pcap -w "$FT_OUT/ip.pcap" 2>/dev/null
python3 "$TOOLS/pcapflows.py" "$FT_OUT/ip.pcap" >"$FT_OUT/ip-truth.json"
for link in null null-be loop ppp ppp-bare ppp-hdlc chdlc chdlc-as-ppp raw12 raw14; do
  python3 "$TOOLS/capconvert.py" "$FT_OUT/ip.pcap" "$FT_OUT/$link.cap" --link "$link"
  "${READ[@]}" "$FT_OUT/$link.cap" --output "$FT_OUT/$link.ipfix" >"$FT_OUT/$link.log" 2>&1
  rows "$FT_OUT/$link.ipfix" >"$FT_OUT/$link.json"
  check "[$link] every flow equals the capture's" python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/ip-truth.json" "$FT_OUT/$link.json" --min 20
done
finish

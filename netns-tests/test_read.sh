#!/usr/bin/env bash
# test_read.sh - `flowtap read`: a capture of real traffic through the probe, metered offline,
# must give the flows the capture holds, exactly, at real collectors and in an IPFIX file.
#
# The traffic crosses a live flowtap (run) between the TAPs: pings, TCP both ways and UDP
# (iperf3), connections played with known delays (tools/played_handshakes.py) and lossy bulk
# connections. The TAPs' captures, merged by mergecap, are the input. Ground truth is the
# captures' own parsers (tools/pcapflows.py, tools/tcpinsight.py), never flowtap's opinion.
#   - read into nfcapd (IPFIX, v9, v5) and an IPFIX file: every flow's packets and bytes equal
#     the capture's; nfdump counts no sequence failure;
#   - the TCP latencies (v9 as nfdump prints them) and retransmission counts (the IPFIX file as
#     tshark decodes ntop's elements) equal the capture's: the same figures the live run is
#     held to (test_tcp_latency.sh, test_tcp_retransmissions.sh), here without the forwarder's
#     scheduling in them, so within the formats' whole milliseconds alone;
#   - the IPFIX file is read by three independent readers, ipfixDump (libfixbuf), tshark and
#     python-ipfix: every record decodes, templates come first, sequence numbers run on, and
#     every flow's start and end are its packets' capture times;
#   - the same capture as pcapng, big-endian pcap, nanosecond pcap, Linux cooked v1 and v2 and
#     raw IP (tools/capconvert.py), and from a pipe (read -): the same flows;
#   - a truncated file, a file of garbage and one of another link type: exit 1 and one line
#     naming the packet (and byte); the records of the packets before a truncation are
#     exported, exactly;
#   - the accuracy corpus (corpus/make_corpus.py) into nfcapd in the three formats: every
#     well-formed flow as the corpus defines it, every hostile frame under its reason.
source "$(dirname "$0")/lib.sh"
plan 38
require_root
needs python3 tcpdump tshark mergecap editcap nfcapd nfdump iperf3 ipfixDump ping
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server

capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
start_flowtap --collector "v9://$C_IP:2055" --tcp-close-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
PLAY=(python3 "$TOOLS/played_handshakes.py" --client-ns "$NS_H1" --server-ns "$NS_H2")
check "connections with known delays crossed the probe" "${PLAY[@]}" --count 6 --seed 3 --out "$FT_OUT/plan.json"
check "lossy bulk connections too" \
  "${PLAY[@]}" --count 2 --bulk 300 --loss 0.02 --reorder 0.01 --seed 7 --first-port 43000 --out "$FT_OUT/lossy.json"
TCP_BYTES=2M traffic
stop_flowtap
check "the live flowtap exits 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb
check "the TAP captures lost no frame" capture_complete tapa tapb
mergecap -F pcap -w "$FT_OUT/both.pcap" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
python3 "$TOOLS/tcpinsight.py" latency "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/latency-truth.json"
python3 "$TOOLS/tcpinsight.py" sequence "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/sequence-truth.json"
packets=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from pcapfile import frames; print(sum(1 for _ in frames(sys.argv[2])))' "$TOOLS" "$FT_OUT/both.pcap")
echo "    the capture: $packets packets"

# Offline, in the collector's namespace, unprivileged: ordinary UDP to nfcapd, and a file.
for c in "rdipfix 4740" "rdv9 2056" "rdv5 9996"; do set -- $c; start_nfcapd_named "$1" "$C_IP" "$2"; done
for p in 4740 2056 9996; do wait_listening "$NS_C" "$p" u || echo "nfcapd on $p did not start" >&2; done
chmod 777 "$FT_OUT"
READ=(ip netns exec "$NS_C" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$FT_BIN" read
      --tcp-close-timeout 60 --ipfix-ntop)
check "flowtap read, as nobody, exports to three collectors and a file, exit 0" \
  "${READ[@]}" "$FT_OUT/both.pcap" --collector "$C_IP:4740" --collector "v9://$C_IP:2056" --collector "v5://$C_IP:9996" \
  --output "$FT_OUT/read.ipfix"
"${READ[@]}" "$FT_OUT/both.pcap" --output "$FT_OUT/again.ipfix" >"$FT_OUT/read.log" 2>&1 || true
cat "$FT_OUT/read.log"
check "its closing line counts every packet of the capture" grep -q "^flowtap: read $packets packets" "$FT_OUT/read.log"
sleep 1
for p in rdipfix rdv9 rdv5; do v="PID_NFCAPD_$p"; stop_pid "${!v}"; done
for c in rdipfix rdv9 rdv5; do
  nfdump -R "$FT_OUT/$c" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" >"$FT_OUT/$c.json"
  seqfail=$(nfdump -R "$FT_OUT/$c" -I 2>/dev/null | awk -F': *' '/^Sequence failures/{print $2}')
  only=(); [[ $c == rdv5 ]] && only=(--ipv4-only)
  check "[$c] nfdump: every flow's packets and bytes equal the capture's" \
    python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/$c.json" --min 20 "${only[@]}"
  check "[$c] nfdump counts no sequence failure (got '$seqfail')" test "$seqfail" = 0
done

# TCP insight, offline: latency in v9 as nfdump prints it, retransmissions in the file.
nfdump -R "$FT_OUT/rdv9" -q -N -o "fmt:%sa,%sp,%da,%dp,%pr,%cl,%sl,%al" >"$FT_OUT/v9-latency.txt" 2>&1
python3 "$TOOLS/convert.py" nfdump-latency "$FT_OUT/v9-latency.txt" >"$FT_OUT/v9-latency.json"
check "the capture shows 6 played connections with delays of 2 ms or more, no two alike" \
  python3 "$TOOLS/recordcheck.py" latency-truth <(python3 -c 'import json,sys; print(json.dumps([c for c in json.load(open(sys.argv[1])) if c["client"][0] == "10.77.0.101" and c["client"][1] < 43000]))' "$FT_OUT/latency-truth.json") 6
check "v9 (nfdump %cl %sl %al): every connection's latencies equal the capture's, to v9's whole milliseconds" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/latency-truth.json" "$FT_OUT/v9-latency.json" --per-connection 2
tshark -r "$FT_OUT/read.ipfix" -T json >"$FT_OUT/read-tshark.json" 2>"$FT_OUT/tshark.err"
python3 "$TOOLS/convert.py" tcp-insight "$FT_OUT/read-tshark.json" "$FT_OUT/retrans.json" "$FT_OUT/unused.json"
check "the IPFIX file (tshark, ntop 109/111): every flow direction's retransmitted and out-of-order counts equal the capture's" \
  python3 "$TOOLS/recordcheck.py" retransmission-counts "$FT_OUT/sequence-truth.json" "$FT_OUT/retrans.json"

# The file, by three readers.
python3 "$TOOLS/ipfixfile.py" "$FT_OUT/read.ipfix" >"$FT_OUT/read-file.json"
records=$(python3 "$TOOLS/convert.py" key "$FT_OUT/read-file.json" records)
flows=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$FT_OUT/read-file.json")
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["rows"]))' "$FT_OUT/read-file.json" >"$FT_OUT/read-rows.json"
check "python-ipfix: every flow in the file equals the capture's" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/read-rows.json" --min 20
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["times"]))' "$FT_OUT/read-file.json" >"$FT_OUT/read-times.json"
python3 "$TOOLS/pcapflows.py" --fields "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth-fields.json"
check "python-ipfix: every flow's start and end are its first and last packet's capture times (to the millisecond)" \
  python3 "$TOOLS/flowcheck.py" times "$FT_OUT/truth-fields.json" "$FT_OUT/read-times.json" --min 20 --tolerance 0.001
check "python-ipfix: templates before their data, sequence numbers without a gap" \
  python3 -c 'import json,sys; f = json.load(open(sys.argv[1])); sys.exit(0 if f["templates_before_data"] and f["sequence_errors"] == 0 and f["messages"] > 1 else 1)' "$FT_OUT/read-file.json"
dumped=$(ipfixDump --in "$FT_OUT/read.ipfix" 2>"$FT_OUT/ipfixdump.err" | grep -c "^--- data record")
check "ipfixDump decodes every record of the file ($dumped of $records) and reports no error" \
  test "$dumped" -eq "$records" -a ! -s "$FT_OUT/ipfixdump.err"
tflows=$(tshark -r "$FT_OUT/read.ipfix" -T fields -e cflow.packets 2>/dev/null | tr ',' '\n' | grep -c .)
tbad=$(tshark -r "$FT_OUT/read.ipfix" -Y "_ws.malformed || _ws.expert.severity >= warning" 2>/dev/null | wc -l)
check "tshark decodes every flow record of the file ($tflows of $flows), none malformed ($tbad)" \
  test "$tflows" -eq "$flows" -a "$tbad" -eq 0

# The same packets in every form a capture takes.
forms=("pcapng:editcap" "big-endian:--big-endian" "nanoseconds:--ns" "sll:--link sll" "sll2:--link sll2" "raw:--link raw"
       "big-endian-ns-sll2:--big-endian --ns --link sll2")
for form in "${forms[@]}"; do
  name=${form%%:*} how=${form#*:}
  if [[ $how == editcap ]]; then editcap -F pcapng "$FT_OUT/both.pcap" "$FT_OUT/$name.cap"
  else python3 "$TOOLS/capconvert.py" "$FT_OUT/both.pcap" "$FT_OUT/$name.cap" $how; fi
  "${READ[@]}" "$FT_OUT/$name.cap" --output "$FT_OUT/$name.ipfix" >"$FT_OUT/$name.log" 2>&1
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["rows"]))' <(python3 "$TOOLS/ipfixfile.py" "$FT_OUT/$name.ipfix") >"$FT_OUT/$name.json"
  check "[$name] every flow equals the capture's" python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/$name.json" --min 20
done
cat "$FT_OUT/both.pcap" | "${READ[@]}" - --output "$FT_OUT/pipe.ipfix" >"$FT_OUT/pipe.log" 2>&1
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["rows"]))' <(python3 "$TOOLS/ipfixfile.py" "$FT_OUT/pipe.ipfix") >"$FT_OUT/pipe.json"
check "[read -] from a pipe: every flow equals the capture's" python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/pipe.json" --min 20

# Damage: the first two thirds of the file, cut inside a packet, and bytes that are no capture.
# Cut halfway into the packet that holds the byte two thirds in (a cut between two records would
# be a whole file).
cut=$(python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read()
off, target = 24, len(data) * 2 // 3
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    if off + 16 + incl > target:
        print(off + 16 + max(1, incl // 2))
        break
    off += 16 + incl' "$FT_OUT/both.pcap")
head -c "$cut" "$FT_OUT/both.pcap" >"$FT_OUT/cut.pcap"
rc=0; "${READ[@]}" "$FT_OUT/cut.pcap" --output "$FT_OUT/cut.ipfix" >"$FT_OUT/cut.out" 2>"$FT_OUT/cut.err" || rc=$?
cat "$FT_OUT/cut.err"
check "a truncated file: exit 1 and one line naming the packet and byte" \
  bash -c '[[ $1 -eq 1 && $(wc -l <"$2") -eq 1 ]] && grep -qE "^flowtap: error: .*cut.pcap: packet [0-9]+ at byte [0-9]+: truncated" "$2"' _ "$rc" "$FT_OUT/cut.err"
whole=$(( $(sed -nE 's/.*packet ([0-9]+) at byte.*/\1/p' "$FT_OUT/cut.err") - 1 ))
python3 "$TOOLS/capconvert.py" "$FT_OUT/both.pcap" "$FT_OUT/whole.pcap" --first "$whole"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/whole.pcap" >"$FT_OUT/whole-truth.json"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["rows"]))' <(python3 "$TOOLS/ipfixfile.py" "$FT_OUT/cut.ipfix") >"$FT_OUT/cut.json"
check "the records of the $whole packets before the cut were exported, exactly" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/whole-truth.json" "$FT_OUT/cut.json" --min 5
head -c 100000 /dev/urandom >"$FT_OUT/garbage.pcap"
rc=0; "${READ[@]}" "$FT_OUT/garbage.pcap" --output "$FT_OUT/garbage.ipfix" >/dev/null 2>"$FT_OUT/garbage.err" || rc=$?
cat "$FT_OUT/garbage.err"
check "a file of garbage: exit 1 and one line saying it is no capture" \
  bash -c '[[ $1 -eq 1 && $(wc -l <"$2") -eq 1 ]] && grep -qE "^flowtap: error: .*garbage.pcap: packet 1 at byte 0: not a pcap or pcapng file" "$2"' _ "$rc" "$FT_OUT/garbage.err"
python3 -c 'import struct,sys; open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105) + struct.pack("<IIII", 1, 0, 24, 24) + bytes(24))' "$FT_OUT/wifi.pcap"
rc=0; "${READ[@]}" "$FT_OUT/wifi.pcap" --output "$FT_OUT/wifi.ipfix" >/dev/null 2>"$FT_OUT/wifi.err" || rc=$?
cat "$FT_OUT/wifi.err"
check "a link type flowtap does not read (802.11): exit 1 and one line naming it" \
  bash -c '[[ $1 -eq 1 && $(wc -l <"$2") -eq 1 ]] && grep -qE "^flowtap: error: .*wifi.pcap: packet 1: link type 105 is not one flowtap reads" "$2"' _ "$rc" "$FT_OUT/wifi.err"

# The accuracy corpus (netns-tests/corpus/make_corpus.py: fragments, VLAN and QinQ, IPv6
# extension headers, hostile frames), read into nfcapd in the three formats: every well-formed
# flow as the corpus defines it, every hostile frame counted under its reason.
mkdir -p "$FT_OUT/corpus"
/usr/bin/python3 "$(dirname "$0")/corpus/make_corpus.py" "$FT_OUT/corpus" "$H1_MAC" "$H2_MAC"
for c in "cipfix 4744" "cv9 2059" "cv5 9998"; do set -- $c; start_nfcapd_named "$1" "$C_IP" "$2"; done
for p in 4744 2059 9998; do wait_listening "$NS_C" "$p" u || echo "nfcapd on $p did not start" >&2; done
"${READ[@]}" "$FT_OUT/corpus/corpus.pcap" --collector "$C_IP:4744" --collector "v9://$C_IP:2059" --collector "v5://$C_IP:9998" \
  >"$FT_OUT/corpus.log" 2>&1 || true
cat "$FT_OUT/corpus.log"
sleep 1
for p in cipfix cv9 cv5; do v="PID_NFCAPD_$p"; stop_pid "${!v}"; done
python3 "$TOOLS/convert.py" key "$FT_OUT/corpus/expected.json" flows "$FT_OUT/corpus-flows.json"
for c in cipfix cv9 cv5; do
  nfdump -R "$FT_OUT/$c" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" |
    python3 "$TOOLS/convert.py" rows-from 10.77.50. fd00:50: >"$FT_OUT/$c.json"
  only=(); [[ $c == cv5 ]] && only=(--ipv4-only)
  check "[corpus, $c] every well-formed flow in nfdump with the corpus' packets and IP bytes" \
    python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/corpus-flows.json" "$FT_OUT/$c.json" --min 8 "${only[@]}"
done
check "[corpus] every hostile frame counted under its reason, and nothing else" \
  python3 "$TOOLS/recordcheck.py" undecodable-reasons "$FT_OUT/corpus/expected.json" "$FT_OUT/corpus.log"
finish

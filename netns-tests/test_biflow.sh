#!/usr/bin/env bash
# test_biflow.sh - `--biflow`: IPFIX collectors get RFC 5103 biflow records while a v9
# collector gets uniflow records from the same run. For every conversation in a capture of the
# TAPs, nfdump (which reads the reverse counters, enterprise 29305, as its "out" counters) must
# hold the initiator's packets and bytes as "in" and the responder's as "out"; the initiator is
# the direction whose first packet the capture saw first. tshark must decode the biflow
# templates with their enterprise fields, and the v9 collector must still match the capture.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark nfcapd nfdump iperf3
TOOLS=$(dirname "$0")/tools
topology_up

start_nfcapd_named bi "$C_IP" 4739
start_nfcapd_named v9 "$C_IP" 2055
capture export "$NS_C" eth0 in udp
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --collector "v9://$C_IP:2055" --biflow
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
TCP_BYTES=2M traffic
sleep 0.5
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa
for c in bi v9; do v="PID_NFCAPD_$c"; stop_pid "${!v}"; done

python3 "$TOOLS/pcapflows.py" --first --icmp-types "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
nfdump -R "$FT_OUT/bi" -a -o csv 2>/dev/null > "$FT_OUT/bi.csv"
check "nfdump holds each conversation once: initiator's counts in, responder's out" python3 - "$FT_OUT/truth.json" "$FT_OUT/bi.csv" <<'PY'
import csv, json, sys
PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1}
ECHO = {(1, 8): 0, (1, 0): 8, (58, 128): 129, (58, 129): 128}
def norm(k):
    return (k[0], k[1], int(k[2]), int(k[3]), int(k[4]))
def reverse(k):
    """The other side of a conversation: an echo request's is the echo reply."""
    if k[2] in (1, 58):
        reply = ECHO.get((k[2], k[4] >> 8))
        return (k[1], k[0], k[2], 0, reply << 8 | k[4] & 0xFF) if reply is not None else None
    return (k[1], k[0], k[2], k[4], k[3])
truth = {norm(k): (p, b, t) for k, p, b, t in json.load(open(sys.argv[1]))}
expected = {}
for k, (p, b, t) in truth.items():
    r = reverse(k)
    rp, rb, rt = truth.get(r, (0, 0, float("inf")))
    if t <= rt:  # this direction spoke first: it is the forward one
        expected[k] = [p, b, rp, rb]
got = {}
lines = []
for line in open(sys.argv[2]):
    if not line.strip() or line.startswith("Summary"):
        break  # nfdump's summary block follows the rows
    lines.append(line)
for r in csv.DictReader(lines):
    pr = r["pr"].strip()
    k = norm([r["sa"], r["da"], PROTO.get(pr, int(pr) if pr.isdigit() else -1), int(float(r["sp"])), int(float(r["dp"]))])
    g = got.setdefault(k, [0, 0, 0, 0])
    for i, col in enumerate(["ipkt", "ibyt", "opkt", "obyt"]):
        g[i] += int(r[col])
bad = 0
for k in sorted(set(expected) | set(got)):
    e, g = expected.get(k), got.get(k)
    if e != g:
        bad += 1
        print(f"    DIFF {k}: capture in/out {e}, nfdump {g}")
print(f"    {len(expected)} conversations in the capture, {len(got)} in nfdump, {bad} differ")
sys.exit(0 if bad == 0 and len(expected) >= 6 else 1)
PY
nfdump -R "$FT_OUT/v9" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/v9.json"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/uni-truth.json"
check "the v9 collector still gets uniflow records equal to the capture" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/uni-truth.json" "$FT_OUT/v9.json" --min 10
n=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.template_ipfix_field_pen == 29305" 2>/dev/null | wc -l)
bad=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==2055,cflow -o udp.check_checksum:TRUE \
  -Y "_ws.malformed || _ws.expert.severity >= warning || udp.checksum.status != 1" 2>/dev/null | wc -l)
check "tshark reads biflow templates with enterprise 29305 fields ($n packets)" test "$n" -gt 0
n=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.biflow_direction == 1" 2>/dev/null | wc -l)
check "and biflowDirection initiator in the records ($n packets)" test "$n" -gt 0
check "no malformed export packet or bad checksum ($bad)" test "$bad" -eq 0
seqfail=$(nfdump -R "$FT_OUT/bi" -I 2>/dev/null | awk -F': *' '/^Sequence failures/{print $2}')
check "nfdump counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
check "nfdump places biflow records in time (no 1970 start)" bash -c "! nfdump -R '$FT_OUT/bi' -o csv 2>/dev/null | grep -q '^1970'"
finish

#!/usr/bin/env bash
# test_tcp_retransmissions.sh - retransmitted and out-of-order segments per flow, exactly.
#
# tools/played_handshakes.py plays three bulk connections (500 data segments each) in which
# about 2 % of the client's segments are lost after the probe (sent, and sent again three
# segments later) and about 1 % are swapped with the next, one clean connection, and iperf3
# sends real TCP. Ground truth is tools/tcpinsight.py's own parser of the TAP captures, by the
# definition the README gives (TCPSequence in the code). flowtap's counts must equal it for
# every flow direction, in `show flows --json`, in IPFIX (ntop's elements 109-112, as tshark
# decodes them) and in NetFlow v9 (57581-57584, tshark too); the clean connection counts 0. The
# retransmissions must also be within 10 % (at least 1) of tshark's tcp.analysis.retransmission
# on the same capture, which judges by its own heuristics.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark iperf3
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739 or udp port 2055
start_flowtap --collector "v9://$C_IP:2055" --collector "$C_IP:4739" --ipfix-ntop --tcp-close-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
PLAY=(python3 "$TOOLS/played_handshakes.py" --client-ns "$NS_H1" --server-ns "$NS_H2")
check "three lossy connections crossed the probe" \
  "${PLAY[@]}" --count 3 --bulk 500 --loss 0.02 --reorder 0.01 --seed 7 --first-port 43000 --out "$FT_OUT/lossy.json"
check "a clean one too" "${PLAY[@]}" --count 1 --bulk 500 --seed 8 --first-port 44000 --out "$FT_OUT/clean.json"
ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n 20M -b 300M --cport 45000 >"$FT_OUT/iperf.log" 2>&1
sleep 0.3
"$FT_BIN" show flows --json --top 100 --match "proto=tcp" --control "$FT_CONTROL" >"$FT_OUT/flows.json"
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa tapb
python3 "$TOOLS/tcpinsight.py" sequence "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
check "the capture's counts are the segments the player lost and swapped (about 2 % and 1 %), and 0 for the clean one" \
  python3 - "$FT_OUT/truth.json" "$FT_OUT/lossy.json" "$FT_OUT/clean.json" <<'PY'
import json, sys
truth = {tuple(t["flow"]): t for t in json.load(open(sys.argv[1]))}
ok = True
for plan in json.load(open(sys.argv[2])) + json.load(open(sys.argv[3])):
    t = truth.get((plan["client"][0], plan["client"][1], plan["server"][0], plan["server"][1]))
    print(f"    {plan['client'][1]}: lost {len(plan['lost'])}, swapped {len(plan['swapped'])};"
          f" capture {t and t['retransmitted']} retransmitted, {t and t['out_of_order']} out of order of {t and t['segments']}")
    ok = ok and t is not None and (t["retransmitted"], t["out_of_order"]) == (len(plan["lost"]), len(plan["swapped"]))
lossy = json.load(open(sys.argv[2]))
ok = ok and all(len(p["lost"]) >= 4 and len(p["swapped"]) >= 1 for p in lossy)
sys.exit(0 if ok else 1)
PY

# Each source as a list of {"flow", "retransmitted", "out_of_order"}; equal to the truth for
# every flow direction the truth has (a direction without data counts 0 in both).
python3 - "$FT_OUT/flows.json" >"$FT_OUT/live.json" <<'PY'
import json, sys
json.dump([{"flow": [f["src"], f["sport"], f["dst"], f["dport"]], "retransmitted": f["retransmitted"],
            "out_of_order": f["out_of_order"]} for f in json.load(open(sys.argv[1]))], sys.stdout)
PY
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==2055,cflow -T json >"$FT_OUT/export.json" 2>"$FT_OUT/tshark.err"
python3 - "$FT_OUT/export.json" "$FT_OUT/ipfix.json" "$FT_OUT/v9.json" <<'PY'
import json, sys
out = {10: [], 9: []}
def walk(node, version):
    if isinstance(node, dict):
        version = int(node.get("cflow.version", version))
        if "cflow.srcaddr" in node and "cflow.protocol" in node and node["cflow.protocol"] == "6":
            r = [v for k, v in node.items() if k.endswith("retransmitted_in_pkts")]
            o = [v for k, v in node.items() if k.endswith("ooorder_in_pkts")]
            out[version].append({"flow": [node["cflow.srcaddr"], int(node["cflow.srcport"]), node["cflow.dstaddr"], int(node["cflow.dstport"])],
                                 "retransmitted": int(r[0]) if r else None, "out_of_order": int(o[0]) if o else None})
        for v in node.values(): walk(v, version)
    elif isinstance(node, list):
        for v in node: walk(v, version)
walk(json.load(open(sys.argv[1])), 0)
json.dump(out[10], open(sys.argv[2], "w"))
json.dump(out[9], open(sys.argv[3], "w"))
PY
compare() {  # compare MEASURED.json: per flow direction, the sums equal the truth
  python3 - "$FT_OUT/truth.json" "$1" <<'PY'
import json, sys
from collections import defaultdict
truth = {tuple(t["flow"]): t for t in json.load(open(sys.argv[1]))}
got = defaultdict(lambda: [0, 0])
for m in json.load(open(sys.argv[2])):
    if m["retransmitted"] is None or m["out_of_order"] is None:
        sys.exit(f"    a record without the counts: {m}")
    g = got[tuple(m["flow"])]
    g[0] += m["retransmitted"]; g[1] += m["out_of_order"]
bad = [f"{k}: {got[k]} against {[t['retransmitted'], t['out_of_order']]}" for k, t in truth.items()
       if got.get(k) != [t["retransmitted"], t["out_of_order"]]]
bad += [f"{k}: {v}, the capture has no data there" for k, v in got.items() if k not in truth and v != [0, 0]]
print(f"    {len(truth)} flow directions with data; {sum(t['retransmitted'] for t in truth.values())} retransmitted, "
      f"{sum(t['out_of_order'] for t in truth.values())} out of order; {len(bad)} differ")
for b in bad[:8]: print("    " + b)
sys.exit(0 if truth and not bad and all(k in got for k in truth) else 1)
PY
}
check "show flows --json: every flow direction's counts equal the capture's" compare "$FT_OUT/live.json"
check "IPFIX (tshark, ntop 109/111): every flow direction's counts equal the capture's" compare "$FT_OUT/ipfix.json"
check "NetFlow v9 (tshark, 57581/57583): every flow direction's counts equal the capture's" compare "$FT_OUT/v9.json"
tshark -r "$FT_OUT/tapa.pcap" -Y tcp.analysis.retransmission -T fields -e tcp.srcport 2>/dev/null | sort | uniq -c >"$FT_OUT/tshark-retrans.txt"
check "tshark's tcp.analysis.retransmission within 10 % (at least 1) of flowtap's, per lossy connection" \
  python3 - "$FT_OUT/tshark-retrans.txt" "$FT_OUT/live.json" "$FT_OUT/lossy.json" <<'PY'
import json, sys
tshark = {int(p): int(n) for n, p in (l.split() for l in open(sys.argv[1]) if l.strip())}
live = {(f["flow"][1]): f["retransmitted"] for f in json.load(open(sys.argv[2])) if f["flow"][3] == 80}
ok = True
for plan in json.load(open(sys.argv[3])):
    port = plan["client"][1]
    mine, theirs = live.get(port), tshark.get(port, 0)
    print(f"    {port}: flowtap {mine}, tshark {theirs}")
    ok = ok and mine is not None and abs(mine - theirs) <= max(1, mine // 10)
sys.exit(0 if ok else 1)
PY
finish

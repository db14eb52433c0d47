#!/usr/bin/env bash
# test_tcp_latency.sh - per-connection TCP latency against the probe's own capture.
#
# This kernel has no netem, so tools/played_handshakes.py plays both ends of 12 TCP connections
# (a packet socket in h1 and one in h2) with its own delays on each side, several milliseconds
# each and different per connection: the server's before its SYN/ACK and its response, the
# client's before its ACK. Ground truth is tools/tcpinsight.py on tcpdump's capture of the
# TAPs, the frames as flowtap reads them. For every connection, flowtap's client network
# delay, server network delay and application latency must be within 1 ms of the capture's:
# in NetFlow v9 as nfdump prints them (%cl %sl %al, nProbe's fields 57554-57559), in IPFIX as
# tshark decodes ntop's enterprise elements (--ipfix-ntop), and live in `show flows --json`.
# Flows without a handshake carry 0. The clients of four of the connections mark their packets
# (ToS 0x28) and their servers do not: one connection, two ToS, joined all the same.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 tcpdump tshark nfcapd nfdump ping ss
TOOLS=$(dirname "$0")/tools
topology_up
start_nfcapd 2055 "$FT_OUT/nfcap-v9"
mkdir -p "$FT_OUT/nfcap-ipfix"
ip netns exec "$NS_C" nfcapd -w "$FT_OUT/nfcap-ipfix" -p 4739 -b "$C_IP" -t 3600 -I ipfix >"$FT_OUT/nfcapd-ipfix.log" 2>&1 &
FT_PIDS+=("$!")
wait_listening "$NS_C" 2055 u && wait_listening "$NS_C" 4739 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739
start_flowtap --collector "v9://$C_IP:2055" --collector "$C_IP:4739" --ipfix-ntop --tcp-close-timeout 60
check "h1 reaches h2 through flowtap" wait_ping
ns "$NS_H1" ping -c 5 -i 0.02 -q "$H2_IP" >/dev/null
check "the played connections crossed the probe" \
  python3 "$TOOLS/played_handshakes.py" --client-ns "$NS_H1" --server-ns "$NS_H2" --count 12 --marked 3 --out "$FT_OUT/plan.json"
sleep 0.3
# Closed, but within the close grace: still in the caches, so show flows has both directions.
"$FT_BIN" show flows --json --top 100 --match "proto=tcp" --control "$FT_CONTROL" >"$FT_OUT/flows.json"
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa tapb
stop_pid "$PID_NFCAPD"; stop_pid "${FT_PIDS[-1]}"
python3 "$TOOLS/tcpinsight.py" latency "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
marked=$(tshark -r "$FT_OUT/tapa.pcap" -Y "ip.src == 10.77.0.101 && ip.dsfield == 0x28 && tcp.flags.syn == 1" -T fields -e tcp.srcport 2>/dev/null | sort -u | wc -l)
unmarked=$(tshark -r "$FT_OUT/tapb.pcap" -Y "ip.src == 10.77.0.102 && ip.dsfield != 0" 2>/dev/null | wc -l)
check "the capture: 4 clients send ToS 0x28, no server marks ($marked, $unmarked)" test "$marked" -eq 4 -a "$unmarked" -eq 0
check "the capture shows 12 connections with delays of 2 ms or more, each different" python3 - "$FT_OUT/truth.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
for c in t: print(f"    {c['client'][1]}: server {c['server_us'] / 1000:.3f} ms, client {c['client_us'] / 1000:.3f} ms, app {c['app_us'] / 1000:.3f} ms")
ok = len(t) == 12 and all(c["server_us"] >= 2000 and c["client_us"] >= 2000 and c["app_us"] >= 1000 for c in t)
sys.exit(0 if ok and len({c["server_us"] for c in t}) == 12 and len({c["client_us"] for c in t}) == 12 else 1)
PY

# One line per record: both directions of each connection carry its latencies.
nfdump -R "$FT_OUT/nfcap-v9" -q -N -o "fmt:%sa,%sp,%da,%dp,%pr,%cl,%sl,%al" >"$FT_OUT/v9.txt" 2>&1
python3 - "$FT_OUT/v9.txt" >"$FT_OUT/v9.json" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    f = [x.strip() for x in line.split(",")]
    if len(f) != 8: continue
    port = lambda v: int(v) if v.isdigit() else v   # ICMP shows type.code
    out.append({"flow": [f[0], port(f[1]), f[2], port(f[3])], "proto": f[4],
                "client_us": round(float(f[5]) * 1000), "server_us": round(float(f[6]) * 1000), "app_us": round(float(f[7]) * 1000)})
json.dump(out, sys.stdout)
PY
check "NetFlow v9 (nfdump %cl %sl %al): both records of every connection within 1 ms of the capture" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/truth.json" "$FT_OUT/v9.json" --per-connection 2
check "NetFlow v9: records without a handshake (ICMP) carry 0" python3 - "$FT_OUT/v9.json" <<'PY'
import json, sys
r = [x for x in json.load(open(sys.argv[1])) if x["proto"] in ("1", "ICMP")]
print(f"    {len(r)} ICMP records")
sys.exit(0 if r and all(x["client_us"] == x["server_us"] == x["app_us"] == 0 for x in r) else 1)
PY
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T json >"$FT_OUT/ipfix-tshark.json" 2>"$FT_OUT/tshark.err"
python3 - "$FT_OUT/ipfix-tshark.json" >"$FT_OUT/ipfix.json" <<'PY'
import json, sys
out = []
def walk(node):
    if isinstance(node, dict):
        keys = node.keys()
        if "cflow.srcaddr" in keys and any(k.startswith("cflow.pie.ntop") for k in keys):
            ms = lambda k: round(float(node[k]) * 1000) if k in node else None   # tshark shows whole ms
            # ntop's network delays are half the round trip (RTT/2): doubled here. Wireshark 4.0
            # names 124 without "ntop." (cflow.pie.server_nw_latency_ms).
            rtt = lambda k: None if ms(k) is None else 2 * ms(k)
            out.append({"flow": [node["cflow.srcaddr"], int(node["cflow.srcport"]), node["cflow.dstaddr"], int(node["cflow.dstport"])],
                        "client_us": rtt("cflow.pie.ntop.client_nw_latency_ms"), "server_us": rtt(next((k for k in ("cflow.pie.ntop.server_nw_latency_ms", "cflow.pie.server_nw_latency_ms") if k in node), "")),
                        "app_us": ms("cflow.pie.ntop.appl_latency_ms")})
        for v in node.values(): walk(v)
    elif isinstance(node, list):
        for v in node: walk(v)
walk(json.load(open(sys.argv[1])))
json.dump(out, sys.stdout)
PY
# Whole milliseconds of half the round trip: doubled, up to 1 ms off by rounding alone.
check "IPFIX (tshark, ntop PEN 35632): both records of every connection within the elements' resolution (1 ms) + 0.2 ms of the capture" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --per-connection 2 --tolerance-us 1200
python3 - "$FT_OUT/flows.json" >"$FT_OUT/live.json" <<'PY'
import json, sys
out = [{"flow": [f["src"], f["sport"], f["dst"], f["dport"]], "client_us": f.get("client_delay_us"),
        "server_us": f.get("server_delay_us"), "app_us": f.get("app_latency_us")} for f in json.load(open(sys.argv[1]))]
json.dump(out, sys.stdout)
PY
check "show flows --json: both directions of every connection within 1 ms of the capture, live" \
  python3 "$TOOLS/tcpinsight.py" compare "$FT_OUT/truth.json" "$FT_OUT/live.json" --per-connection 2
finish

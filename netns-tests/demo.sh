#!/usr/bin/env bash
# demo.sh - flowtap end to end in about half a minute, as root:
# builds the topology (h1 - bridge - tapa - flowtap - tapb - bridge - h2, collector nfcapd in
# its own namespace), runs flowtap, sends ping, TCP both ways and UDP from h1 to h2, stops
# flowtap with SIGTERM, and shows what nfdump received next to a capture of the TAPs.
# Everything it makes is removed on exit.
# Runs first on a fresh machine: it installs what it uses (install-deps.sh, as test-all.sh does)
# and builds flowtap when there is no build yet.
source "$(dirname "$0")/lib.sh"
if [[ $EUID -ne 0 ]]; then
  echo "demo.sh: run as root (it makes namespaces and TAPs, and installs packages); e.g. sudo $0" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/netns-tests/install-deps.sh" || exit 1
if [[ ! -x $FT_BIN ]]; then
  echo "== building flowtap"
  (cd "$ROOT" && swift build -c release 2>&1 | tail -1)
  [[ -x $FT_BIN ]] || { echo "demo.sh: the build failed; see 'swift build -c release'" >&2; exit 1; }
fi

say() { echo; echo "== $*"; }
topology_up
say "topology: h1 $H1_IP -- bra[vh1,tapa] -- flowtap -- brb[tapb,vh2] -- h2 $H2_IP; collector $C_IP:4739"
echo -n "h1 -> h2 before flowtap: "; can_ping && echo "reachable (unexpected)" || echo "unreachable (no path yet)"

start_nfcapd 4739 "$FT_OUT/nfcap"
SNAPLEN=128 capture tapa "$NS_P" tapa out
SNAPLEN=128 capture tapb "$NS_P" tapb out
say "ip netns exec $NS_P flowtap run --tap-a tapa --tap-b tapb --collector $C_IP:4739 --idle-timeout 5 --active-timeout 10"
start_flowtap --collector "$C_IP:4739" --idle-timeout 5 --active-timeout 10
wait_ping && echo "h1 -> h2 with flowtap: reachable"
iperf3_server

say "traffic: ping, 5 MB TCP each way, 2 MB UDP, large ICMP"
traffic

say "SIGTERM: flowtap exports every flow left, then exits"
stop_flowtap
cat "$FT_OUT/flowtap.log"
stop_capture tapa; stop_capture tapb
sleep 0.5
stop_pid "$PID_NFCAPD"

say "nfdump -R nfcap -o extended"
nfdump -R "$FT_OUT/nfcap" -o extended | sed '/^Summary/,$d'
nfdump -R "$FT_OUT/nfcap" -I | grep -E "^(Flows|Packets|Bytes|Sequence failures):"

say "collector (nfdump -a) against a capture of the TAPs"
TOOLS=$(dirname "$0")/tools
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" > "$FT_OUT/truth.json"
nfdump -R "$FT_OUT/nfcap" -a -o csv | python3 "$TOOLS/nfdump2json.py" > "$FT_OUT/nfdump.json"
python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfdump.json" -v

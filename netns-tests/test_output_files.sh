#!/usr/bin/env bash
# test_output_files.sh - `run --output PATH --output-rotate 2`: IPFIX files (RFC 5655) of a live
# run, written by flowtap as the account it dropped to, under its seccomp filter (--seccomp
# trap: a refused call fails the test), while traffic crosses for about 7 s.
#   - every file is complete: none is left as .partial after the stop, each is named by its
#     start (PATH.YYYYmmddHHMMSS) and at least 3 were written;
#   - each file stands alone: python-ipfix reads it with no template from another file
#     (templates before data), sequence numbers run on within it, and ipfixDump and tshark
#     decode every record with no error;
#   - together the files hold every flow of the TAPs' capture, packets and bytes exactly, as
#     the collector that got the same records does (nfcapd, the stream's twin), across a
#     handover to a successor halfway (whose files are named after the park).
# And a path the dropped account cannot write is refused at the start with one line.
source "$(dirname "$0")/lib.sh"
plan 13
require_root
needs python3 tcpdump tshark nfcapd nfdump iperf3 ipfixDump ping
TOOLS=$(dirname "$0")/tools
topology_up
iperf3_server
start_nfcapd 4739 "$FT_OUT/nfcap"
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
mkdir -p "$FT_OUT/files"
chown nobody "$FT_OUT/files"
start_flowtap --collector "$C_IP:4739" --output "$FT_OUT/files/flows.ipfix" --output-rotate 2 --idle-timeout 1 --active-timeout 2
check "h1 reaches h2 through flowtap" wait_ping
# Traffic for about 7 s: flows begin and end in every file's time. Halfway, a successor takes
# over (--takeover) with the same options: the old flowtap completes its file, the new one
# names its own after the park, and no flow is lost or counted twice between them.
traffic_for() {
  local i
  for i; do
    ns "$NS_H1" ping -c 4 -i 0.1 -q "$H2_IP" >/dev/null
    ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n 300K -b 50M --cport $((40100 + i)) >/dev/null 2>&1 || true
    ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -u -b 2M -l 500 -n 50K --cport $((40200 + i)) >/dev/null 2>&1 || true
    sleep 0.3
  done
}
traffic_for 1 2 3 4
old=$PID_FLOWTAP
ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --control "$FT_CONTROL" --seccomp trap --takeover \
  --collector "$C_IP:4739" --output "$FT_OUT/files/flows.ipfix" --output-rotate 2 --idle-timeout 1 --active-timeout 2 \
  >"$FT_OUT/successor.log" 2>&1 &
PID_FLOWTAP=$!
FT_PIDS+=("$PID_FLOWTAP")
rc=0; wait "$old" || rc=$?
check "the old flowtap hands over and exits 0 (exit $rc)" grep -q "handed over to PID $PID_FLOWTAP" "$FT_OUT/flowtap.log"
traffic_for 5 6 7
mv "$FT_OUT/flowtap.log" "$FT_OUT/predecessor.log"; mv "$FT_OUT/successor.log" "$FT_OUT/flowtap.log"
stop_flowtap
check "SIGTERM stops the successor with exit 0" test "$FLOWTAP_RC" -eq 0
grep -E "^flowtap: (file|ipfix)://" "$FT_OUT/flowtap.log" || true
check "the closing lines give the files a line of their own, with no send error" \
  grep -qE "^flowtap: file://$FT_OUT/files/flows.ipfix: [1-9][0-9]* records .*send errors 0," "$FT_OUT/flowtap.log"
stop_capture tapa; stop_capture tapb
check "the TAP captures lost no frame" capture_complete tapa tapb
sleep 0.5
stop_pid "$PID_NFCAPD"
ls -la "$FT_OUT/files"
files=("$FT_OUT"/files/flows.ipfix.*)
check "at least 3 files, each named by its start, none left .partial (${#files[@]})" \
  bash -c '[[ $# -ge 3 ]] && for f; do [[ $f =~ \.ipfix\.[0-9]{14}$ ]] || exit 1; done' _ "${files[@]}"
check "the files belong to the account flowtap dropped to (nobody)" \
  bash -c 'for f; do [[ $(stat -c %U "$f") == nobody ]] || exit 1; done' _ "${files[@]}"
all_ok=1 dump_ok=1 tshark_ok=1
echo "[]" >"$FT_OUT/rows.json"
for f in "${files[@]}"; do
  python3 "$TOOLS/ipfixfile.py" "$f" >"$f.json"
  python3 -c 'import json,sys; f = json.load(open(sys.argv[1])); sys.exit(0 if f["templates_before_data"] and f["sequence_errors"] == 0 and f["messages"] >= 1 else 1)' "$f.json" || all_ok=0
  records=$(python3 "$TOOLS/convert.py" key "$f.json" records)
  dumped=$(ipfixDump --in "$f" 2>"$f.err" | grep -c "^--- data record")
  [[ $dumped -eq $records && ! -s $f.err ]] || dump_ok=0
  flows=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$f.json")
  tflows=$(tshark -r "$f" -T fields -e cflow.packets 2>/dev/null | tr ',' '\n' | grep -c . || true)
  [[ $tflows -eq $flows ]] || tshark_ok=0
  echo "    $(basename "$f"): $records records ($flows flows), ipfixDump $dumped, tshark $tflows"
  python3 -c 'import json,sys; a = json.load(open(sys.argv[1])); a += json.load(open(sys.argv[2]))["rows"]; json.dump(a, open(sys.argv[1], "w"))' "$FT_OUT/rows.json" "$f.json"
done
check "python-ipfix reads each file on its own: templates before data, no sequence gap" test "$all_ok" -eq 1
check "ipfixDump decodes every record of every file, with no error" test "$dump_ok" -eq 1
check "tshark decodes every flow record of every file" test "$tshark_ok" -eq 1
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
check "together the files hold every flow of the capture, packets and bytes exactly" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/rows.json" --min 10
nfdump -R "$FT_OUT/nfcap" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" >"$FT_OUT/nfcapd.json"
check "so does nfcapd, which got the same records over the wire" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfcapd.json" --min 10
# A directory the dropped account may not write: refused at the start, with one line.
mkdir -p "$FT_OUT/rootonly"; chmod 700 "$FT_OUT/rootonly"
rc=0; ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --control none --collector "$C_IP:4739" \
  --output "$FT_OUT/rootonly/x.ipfix" >"$FT_OUT/refused.out" 2>"$FT_OUT/refused.err" || rc=$?
cat "$FT_OUT/refused.err"
check "an output path the account cannot write: exit 1 and one line that says so" \
  bash -c '[[ $1 -eq 1 ]] && [[ $(grep -c "flowtap: error:" "$2") -eq 1 ]] && grep -q "x.ipfix.partial.*as uid 65534" "$2"' _ "$rc" "$FT_OUT/refused.err"
finish

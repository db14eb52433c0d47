#!/usr/bin/env bash
# test_app_quic.sh - QUIC flows named (issue 27): aioquic's client and server (PyPI) through
# flowtap, QUIC v1 and v2, and hellos made large enough (40 more ALPN values) to span three
# Initial packets, v1 and v2; then a flood of Initials with random connection IDs.
#
# Ground truth is tshark, which opens the Initials itself, on the captures of what flowtap
# wrote to the TAPs; JA4 ("q") is computed from tshark's fields by tools/appcheck.py after
# FoxIO's specification. flowtap's side: its IPFIX records as tshark decodes them, the
# applicationId as nfdump reads it, `flowtap read --json` of the captures (also with each large
# hello's three Initials in reverse order, and with its later Initials under another DCID) and
# its IPFIX file read by python-ipfix and by ipfixDump; beside
# ndpiReader on the same captures. The flood: every frame forwarded, no ping lost, and the
# metrics show the openings the per-second budget skipped.
source "$(dirname "$0")/lib.sh"
plan 16
require_root
needs python3 tcpdump tshark mergecap nfcapd nfdump openssl curl ndpiReader ipfixDump
python3 -c "import aioquic, scapy" 2>/dev/null || skip "aioquic or scapy (PyPI) is not installed (install-deps.sh installs them)"
TOOLS=$(dirname "$0")/tools
METRICS=$P_IP:9464
topology_up
hosts_without_offloads

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=flowtap.test \
  -keyout "$FT_OUT/key.pem" -out "$FT_OUT/cert.pem" 2>/dev/null
spawn QUIC "$NS_H2" python3 "$TOOLS/quicpeer.py" server "$H2_IP" 4443 "$FT_OUT/cert.pem" "$FT_OUT/key.pem" >"$FT_OUT/server.log" 2>&1
spawn QUIC443 "$NS_H2" python3 "$TOOLS/quicpeer.py" server "$H2_IP" 443 "$FT_OUT/cert.pem" "$FT_OUT/key.pem" >"$FT_OUT/server443.log" 2>&1
wait_listening "$NS_H2" 4443 u && wait_listening "$NS_H2" 443 u || { echo "the QUIC servers did not start" >&2; exit 1; }

mkdir -p "$FT_OUT/nfcap"
spawn NFCAPD "$NS_C" nfcapd -w "$FT_OUT/nfcap" -p 4739 -b "$C_IP" -t 3600 -I ipfix >"$FT_OUT/nfcapd.log" 2>&1
wait_listening "$NS_C" 4739 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739
start_flowtap --collector "$C_IP:4739" --metrics "$METRICS" --idle-timeout 2
check "h1 reaches h2 through flowtap" wait_ping

# The flood: a new flow with a new random DCID each datagram, for 3 s, pings meanwhile.
ns "$NS_H1" ping -c 30 -i 0.1 -W 1 "$H2_IP" >"$FT_OUT/ping.log" 2>&1 &
PID_PING=$!
flood=$(ns "$NS_H1" python3 "$TOOLS/quicflood.py" send "$H2_IP" 8443 3)
wait "$PID_PING" || true
lost=$(grep -oE '[0-9]+% packet loss' "$FT_OUT/ping.log" | grep -oE '^[0-9]+')
check "during a flood of $flood Initials with random DCIDs no ping is lost (${lost:-?} %)" test "${lost:-100}" -eq 0
# Its flows idle out (2 s) and go to the collector now, not with the clients' records.
sleep 4
ns "$NS_C" curl -sf -m 3 "http://$METRICS/metrics" >"$FT_OUT/metrics.txt" || true
total() {
  awk -v name="$1" -v want="${2:-}" '$1 ~ "^" name "({|$)" && (want == "" || index($1, want)) {s += $NF} END {print s + 0}' "$FT_OUT/metrics.txt"
}
opened=$(total flowtap_quic_decryptions_total 'outcome="done"')
skipped=$(total flowtap_quic_decryptions_total 'outcome="skipped"')
badtag=$(total flowtap_application_inspect_failures_total 'reason="quic-bad-tag"')
# Budget: 2000 openings a second per direction and queue, 32 at once; the flood lasts 3 s
# (4 allowed for its start and end).
check "the flood is bounded: $opened Initials opened, $skipped skipped by the budget, $badtag bad tags counted" \
  test "$skipped" -gt 0 -a "$opened" -le 8032 -a "$badtag" -gt 0 -a "$((badtag + skipped))" -le "$flood"

done=0
client() { ns "$NS_H1" python3 "$TOOLS/quicpeer.py" client "$H2_IP" "$@" 2>>"$FT_OUT/clients.log" && done=$((done + 1)); }
client 443 one.quic.test --alpn h3
client 4443 two.quic.test --v2 --alpn hq-interop
client 4443 big.quic.test --large 40
client 4443 bigv2.quic.test --v2 --large 40 --alpn doq
client 443 three.quic.test --alpn flowtap-test
check "aioquic: every handshake completed through flowtap ($done of 5)" test "$done" -eq 5

stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame, the flood's included" capture_complete tapa tapb
sleep 0.5
stop_pid "$PID_NFCAPD"

# The truth, without the flood (tshark would try every one of its datagrams).
mergecap -w "$FT_OUT/all.pcap" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap"
tshark -r "$FT_OUT/all.pcap" -Y "not udp.port == 8443" -w "$FT_OUT/both.pcap" 2>>"$FT_OUT/tshark.err"
python3 "$TOOLS/appcheck.py" truth "$FT_OUT/both.pcap" >"$FT_OUT/truth.json"
named=$(python3 -c "import json; print(sum(1 for t in json.load(open('$FT_OUT/truth.json')) if t.get('app') == 'quic' and t.get('name')))")
servers=$(python3 -c "import json; print(sum(1 for t in json.load(open('$FT_OUT/truth.json')) if t.get('app') == 'quic' and not t.get('name')))")
check "tshark opens the Initials and names the 5 client flows ($named) and sees 5 servers' ($servers)" \
  test "$named" -eq 5 -a "$servers" -eq 5

tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T json >"$FT_OUT/export.json" 2>>"$FT_OUT/tshark.err"
python3 "$TOOLS/appcheck.py" ipfix "$FT_OUT/export.json" >"$FT_OUT/ipfix.json"
check "IPFIX (tshark): every QUIC flow's application and server name equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --min 10 --fields app,name
nfdump -R "$FT_OUT/nfcap" -q -N -o "fmt:%sa,%sp,%da,%dp,%nbid" >"$FT_OUT/nfdump.txt" 2>&1 || true
ids=$(grep -cE ', *5\.\.6 *$' "$FT_OUT/nfdump.txt" || true)
check "nfdump reads the QUIC flows' applicationId (IE 95, engine 6, selector 5: $ids records)" test "$ids" -ge 10

"$FT_BIN" read "$FT_OUT/both.pcap" --json >"$FT_OUT/read.jsonl" 2>"$FT_OUT/read.err"
python3 "$TOOLS/appcheck.py" flowtap "$FT_OUT/read.jsonl" >"$FT_OUT/read.json"
check "read: every QUIC flow's name, ALPN, JA4 and QUIC version equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/read.json" --min 10 --fields app,name,alpn,ja4,quicVersion
"$FT_BIN" read "$FT_OUT/both.pcap" --output "$FT_OUT/quic.ipfix" 2>>"$FT_OUT/read.err"
python3 "$TOOLS/ipfixapp.py" "$FT_OUT/quic.ipfix" >"$FT_OUT/quic-ipfix.json"
check "IPFIX file (python-ipfix): name, ALPN, TLS version and JA4 equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/quic-ipfix.json" --min 10 --fields app,name,alpn,tlsVersion,ja4
python3 "$TOOLS/ipfixdumpapp.py" "$FT_OUT/quic.ipfix" >"$FT_OUT/quic-ipfixdump.json" 2>"$FT_OUT/ipfixdump.err"
check "IPFIX file (libfixbuf's ipfixDump): name, ALPN, TLS version and JA4 equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/quic-ipfixdump.json" --min 10 --fields app,name,alpn,tlsVersion,ja4
python3 "$TOOLS/quicpeer.py" reverse "$FT_OUT/both.pcap" "$FT_OUT/reversed.pcap" 4443 2>"$FT_OUT/reverse.err" || true
python3 "$TOOLS/appcheck.py" truth "$FT_OUT/reversed.pcap" >"$FT_OUT/truth-reversed.json" 2>>"$FT_OUT/reverse.err" || true
"$FT_BIN" read "$FT_OUT/reversed.pcap" --json >"$FT_OUT/read-reversed.jsonl" 2>>"$FT_OUT/read.err"
python3 "$TOOLS/appcheck.py" flowtap "$FT_OUT/read-reversed.jsonl" >"$FT_OUT/read-reversed.json"
check "read: hellos over three Initials that came in reverse order are named as tshark names them" \
  sh -c "grep -q bigv2.quic.test '$FT_OUT/truth-reversed.json' && python3 '$TOOLS/appcheck.py' compare '$FT_OUT/truth-reversed.json' '$FT_OUT/read-reversed.json' --min 10 --fields app,name,alpn,ja4"
# The same hellos with their 2nd and 3rd Initials protected again (by aioquic's crypto) under
# another DCID, the first one's keys kept, as a client writes them once it has the server's
# connection ID: tshark no longer opens them; flowtap, keeping the first DCID, names them as
# tshark named the originals.
python3 "$TOOLS/quicpeer.py" rekey "$FT_OUT/both.pcap" "$FT_OUT/rekeyed.pcap" 4443 2>"$FT_OUT/rekey.err" || true
"$FT_BIN" read "$FT_OUT/rekeyed.pcap" --json >"$FT_OUT/read-rekeyed.jsonl" 2>>"$FT_OUT/read.err"
python3 "$TOOLS/appcheck.py" flowtap "$FT_OUT/read-rekeyed.jsonl" >"$FT_OUT/read-rekeyed.json"
python3 "$TOOLS/appcheck.py" truth "$FT_OUT/rekeyed.pcap" >"$FT_OUT/truth-rekeyed.json" 2>>"$FT_OUT/rekey.err" || true
unopened=$(python3 -c "import json; print(sum(1 for t in json.load(open('$FT_OUT/truth-rekeyed.json')) if t.get('name', '').startswith('big')))")
check "read: hellos whose later Initials carry another DCID are named as tshark named them before (tshark now names $unopened of 2)" \
  sh -c "test -s '$FT_OUT/rekeyed.pcap' && python3 '$TOOLS/appcheck.py' compare '$FT_OUT/truth.json' '$FT_OUT/read-rekeyed.json' --min 10 --fields app,name,alpn,ja4"

ndpiReader -i "$FT_OUT/both.pcap" -C "$FT_OUT/ndpi.csv" -q >"$FT_OUT/ndpi.log" 2>&1 || true
python3 "$TOOLS/appcheck.py" ndpi "$FT_OUT/ndpi.csv" >"$FT_OUT/ndpi.json" 2>>"$FT_OUT/ndpi.log" || echo "[]" >"$FT_OUT/ndpi.json"
read -r ft_right ft_all < <(python3 "$TOOLS/appcheck.py" named "$FT_OUT/truth.json" "$FT_OUT/read.json" 2>>"$FT_OUT/ndpi.log")
read -r nd_right nd_all < <(python3 "$TOOLS/appcheck.py" named "$FT_OUT/truth.json" "$FT_OUT/ndpi.json" 2>>"$FT_OUT/ndpi.log")
check "beside ndpiReader: flowtap names $ft_right of the $ft_all QUIC flows tshark names (ndpiReader $nd_right)" \
  test "${ft_right:-0}" -eq "${ft_all:--1}" -a "${ft_all:-0}" -eq 5
finish

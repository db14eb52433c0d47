#!/usr/bin/env bash
# test_app_fields.sh - what each flow is (issue 26): TLS server names, ALPN and JA4, HTTP
# requests and statuses, DNS questions and response codes, and the application label, from
# real servers and clients through flowtap: openssl s_server with s_client and curl (several
# server names, ALPN h2 and http/1.1), a ClientHello written in 120-byte segments, Python's
# http.server on a non-standard port with curl and a request line cut across segments, dnsmasq
# queried by dig over UDP and TCP, NXDOMAIN included.
#
# Ground truth is tshark on the captures of what flowtap wrote to the TAPs
# (-o tcp.reassemble_out_of_order:TRUE), and JA4 computed from tshark's fields of each hello
# by tools/appcheck.py after FoxIO's specification. flowtap's side: its IPFIX records as tshark
# decodes them (ntop's and IANA's elements), the applicationId as nfdump reads it (%nbid), and
# `flowtap read --json` of the same captures, also with two segments of the split hello
# swapped, and its IPFIX files (uniflow and biflow) read by python-ipfix, and by libfixbuf's
# ipfixDump, with ALPN, TLS version and JA4; beside ndpiReader on the same captures. With
# --app-fields off, no record carries any.
source "$(dirname "$0")/lib.sh"
plan 16
require_root
needs python3 tcpdump tshark mergecap nfcapd nfdump openssl curl dig dnsmasq ndpiReader ipfixDump
TOOLS=$(dirname "$0")/tools
topology_up
hosts_without_offloads

# The servers, in h2.
tls_server -alpn h2,http/1.1 -www
mkdir -p "$FT_OUT/www/split/path"
echo hello >"$FT_OUT/www/index.html"
spawn WEB "$NS_H2" python3 -m http.server 8081 --bind "$H2_IP" --directory "$FT_OUT/www" >"$FT_OUT/http.log" 2>&1
dns_server --address=/a.flowtap.test/10.77.0.9 --address=/b.flowtap.test/10.77.0.10
wait_listening "$NS_H2" 4433 t && wait_listening "$NS_H2" 8081 t && wait_listening "$NS_H2" 53 u \
  || { echo "a server did not start" >&2; cat "$FT_OUT"/s_server.log "$FT_OUT"/http.log >&2; exit 1; }

mkdir -p "$FT_OUT/nfcap"
ip netns exec "$NS_C" nfcapd -w "$FT_OUT/nfcap" -p 4739 -b "$C_IP" -t 3600 -I ipfix >"$FT_OUT/nfcapd.log" 2>&1 &
FT_PIDS+=("$!")
PID_NFCAPD=$!
wait_listening "$NS_C" 4739 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739
start_flowtap --collector "$C_IP:4739" --app-fields on
check "h1 reaches h2 through flowtap" wait_ping

clients() {
  local c=$NS_H1
  ns "$c" openssl s_client -connect "$H2_IP:4433" -servername one.flowtap.test -alpn h2 </dev/null >/dev/null 2>&1 || true
  ns "$c" openssl s_client -connect "$H2_IP:4433" -servername two.flowtap.test -alpn http/1.1 </dev/null >/dev/null 2>&1 || true
  ns "$c" curl -sk --http1.1 --max-time 5 --resolve "three.flowtap.test:4433:$H2_IP" https://three.flowtap.test:4433/ >/dev/null || true
  ns "$c" python3 "$TOOLS/appclients.py" split-hello "$H2_IP" 4433 split.flowtap.test || true
  ns "$c" curl -s --max-time 5 -A "ft-test/1.0" -H "Host: web.flowtap.test" "http://$H2_IP:8081/index.html?x=1" >/dev/null || true
  ns "$c" python3 "$TOOLS/appclients.py" split-request "$H2_IP" 8081 split-web.flowtap.test || true
  ns "$c" dig +tries=1 +time=2 @"$H2_IP" a.flowtap.test A >/dev/null || true
  ns "$c" dig +tries=1 +time=2 +tcp @"$H2_IP" b.flowtap.test A >/dev/null || true
  ns "$c" dig +tries=1 +time=2 @"$H2_IP" nx.flowtap.test A >/dev/null || true
  ns "$c" dig +tries=1 +time=2 +tcp @"$H2_IP" nx-tcp.flowtap.test MX >/dev/null || true
}
clients
sleep 0.5
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa tapb
sleep 0.5
stop_pid "$PID_NFCAPD"

python3 "$TOOLS/appcheck.py" truth "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
tls=$(grep -c '"app": "tls"' "$FT_OUT/truth.json" || true)
http=$(grep -c '"app": "http"' "$FT_OUT/truth.json" || true)
dns=$(grep -c '"app": "dns"' "$FT_OUT/truth.json" || true)
check "tshark names TLS, HTTP and DNS flows in the captures (tls $tls, http $http, dns $dns)" \
  test "$tls" -ge 8 -a "$http" -ge 3 -a "$dns" -ge 8

tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T json >"$FT_OUT/export.json" 2>"$FT_OUT/tshark.err"
python3 "$TOOLS/appcheck.py" ipfix "$FT_OUT/export.json" >"$FT_OUT/ipfix.json"
check "IPFIX (tshark): every flow's application, server name, host, DNS question equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --min 18 --fields app,name
check "IPFIX (tshark): HTTP method, target, user agent and status equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --min 18 \
  --fields httpMethod,httpTarget,httpUserAgent,httpStatus
check "IPFIX (tshark): DNS query type and response code equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" --min 18 --fields dnsType,dnsRcode
nx=$(python3 -c "import json; print(sum(1 for r in json.load(open('$FT_OUT/ipfix.json')) if r.get('dnsRcode') == 3))")
check "two NXDOMAIN responses (UDP and TCP) carry response code 3 ($nx)" test "$nx" -eq 2

# nfdump 1.7.1 prints flowtap's applicationId (engine 6; selector 1 tls, 2 http, 3 dns) as
# 1..6, 2..6, 3..6.
nfdump -R "$FT_OUT/nfcap" -q -N -o "fmt:%sa,%sp,%da,%dp,%nbid" >"$FT_OUT/nfdump.txt" 2>&1 || true
ids=$(grep -cE ', *[123]\.\.6 *$' "$FT_OUT/nfdump.txt" || true)
check "nfdump reads the labelled flows' applicationId (IE 95, engine 6: $ids records)" test "$ids" -ge 18

# read: the same captures, with ALPN and JA4, and the split hello's segments reordered.
mergecap -w "$FT_OUT/both.pcap" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap"
"$FT_BIN" read "$FT_OUT/both.pcap" --json --app-fields on >"$FT_OUT/read.jsonl" 2>"$FT_OUT/read.err"
python3 "$TOOLS/appcheck.py" flowtap "$FT_OUT/read.jsonl" >"$FT_OUT/read.json"
check "read: every field of every flow equal to the truth, ALPN and JA4 too" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/read.json" --min 18 \
  --fields app,name,alpn,ja4,httpMethod,httpTarget,httpUserAgent,httpStatus,dnsType,dnsRcode
# The same records in IPFIX files, read by python-ipfix told the elements' definitions (ALPN,
# TLS version and JA4 too, which tshark 4.0 does not decode); and as biflow records, each with
# its initiator's fields and its responder's HTTP status and DNS response code.
"$FT_BIN" read "$FT_OUT/both.pcap" --output "$FT_OUT/app.ipfix" 2>>"$FT_OUT/read.err"
python3 "$TOOLS/ipfixapp.py" "$FT_OUT/app.ipfix" >"$FT_OUT/app-ipfix.json"
check "IPFIX file (python-ipfix): every field of every flow equal to the truth, ALPN, TLS version and JA4 too" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/app-ipfix.json" --min 18 \
  --fields app,name,alpn,tlsVersion,ja4,httpMethod,httpTarget,httpUserAgent,httpStatus,dnsType,dnsRcode
python3 "$TOOLS/ipfixdumpapp.py" "$FT_OUT/app.ipfix" >"$FT_OUT/app-ipfixdump.json" 2>"$FT_OUT/ipfixdump.err"
check "IPFIX file (libfixbuf's ipfixDump): every field of every flow equal to the truth, ALPN, TLS version and JA4 too" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/app-ipfixdump.json" --min 18 \
  --fields app,name,alpn,tlsVersion,ja4,httpMethod,httpTarget,httpUserAgent,httpStatus,dnsType,dnsRcode
"$FT_BIN" read "$FT_OUT/both.pcap" --biflow --output "$FT_OUT/biflow.ipfix" 2>>"$FT_OUT/read.err"
python3 "$TOOLS/ipfixapp.py" "$FT_OUT/biflow.ipfix" >"$FT_OUT/biflow-ipfix.json"
check "biflow (python-ipfix): each labelled connection's record with its client's fields and its server's status and rcode" \
  python3 "$TOOLS/appcheck.py" biflow "$FT_OUT/truth.json" "$FT_OUT/biflow-ipfix.json" --min 9
python3 "$TOOLS/appclients.py" reorder "$FT_OUT/tapa.pcap" "$FT_OUT/reordered.pcap" 4433 2>"$FT_OUT/reorder.err" || true
python3 "$TOOLS/appcheck.py" truth "$FT_OUT/reordered.pcap" >"$FT_OUT/truth-reordered.json" 2>>"$FT_OUT/reorder.err" || true
"$FT_BIN" read "$FT_OUT/reordered.pcap" --json --app-fields on >"$FT_OUT/read-reordered.jsonl" 2>>"$FT_OUT/read.err"
python3 "$TOOLS/appcheck.py" flowtap "$FT_OUT/read-reordered.jsonl" >"$FT_OUT/read-reordered.json"
check "read: a hello whose segments came out of order is named as tshark names it" \
  sh -c "grep -q split.flowtap.test '$FT_OUT/truth-reordered.json' && python3 '$TOOLS/appcheck.py' compare '$FT_OUT/truth-reordered.json' '$FT_OUT/read-reordered.json' --min 4 --fields app,name,alpn,ja4"
# Side by side with nDPI (ndpiReader 4.2) on the same captures: of the flows tshark names, how
# many each names the same (application and name). flowtap must name them all.
ndpiReader -i "$FT_OUT/both.pcap" -C "$FT_OUT/ndpi.csv" -q >"$FT_OUT/ndpi.log" 2>&1 || true
ndpiReader -i "$FT_OUT/reordered.pcap" -C "$FT_OUT/ndpi-reordered.csv" -q >>"$FT_OUT/ndpi.log" 2>&1 || true
python3 "$TOOLS/appcheck.py" ndpi "$FT_OUT/ndpi.csv" >"$FT_OUT/ndpi.json" 2>>"$FT_OUT/ndpi.log" || echo "[]" >"$FT_OUT/ndpi.json"
python3 "$TOOLS/appcheck.py" ndpi "$FT_OUT/ndpi-reordered.csv" >"$FT_OUT/ndpi-reordered.json" 2>>"$FT_OUT/ndpi.log" \
  || echo "[]" >"$FT_OUT/ndpi-reordered.json"
read -r ft_right ft_all < <(python3 "$TOOLS/appcheck.py" named "$FT_OUT/truth.json" "$FT_OUT/read.json" 2>>"$FT_OUT/ndpi.log")
read -r nd_right nd_all < <(python3 "$TOOLS/appcheck.py" named "$FT_OUT/truth.json" "$FT_OUT/ndpi.json" 2>>"$FT_OUT/ndpi.log")
read -r ftr_right ftr_all < <(python3 "$TOOLS/appcheck.py" named "$FT_OUT/truth-reordered.json" "$FT_OUT/read-reordered.json" 2>>"$FT_OUT/ndpi.log")
read -r ndr_right ndr_all < <(python3 "$TOOLS/appcheck.py" named "$FT_OUT/truth-reordered.json" "$FT_OUT/ndpi-reordered.json" 2>>"$FT_OUT/ndpi.log")
check "beside ndpiReader: flowtap names $ft_right of the $ft_all flows tshark names (ndpiReader $nd_right), with the hello reordered $ftr_right of $ftr_all (ndpiReader $ndr_right)" \
  test "${ft_right:-0}" -eq "${ft_all:--1}" -a "${ftr_right:-0}" -eq "${ftr_all:--1}" -a "${ft_all:-0}" -ge 12 -a "${nd_all:-0}" -eq "${ft_all:-0}"
"$FT_BIN" read "$FT_OUT/both.pcap" --json --app-fields off >"$FT_OUT/read-off.jsonl" 2>>"$FT_OUT/read.err"
off=$(grep -c '"app"' "$FT_OUT/read-off.jsonl" || true)
all=$(wc -l <"$FT_OUT/read-off.jsonl")
check "--app-fields off: $all records, none with an application ($off)" test "$off" -eq 0 -a "$all" -ge 20
finish

#!/usr/bin/env bash
# test_app_nfdump.sh - nfdump names each flow's application from flowtap's records (issue 26):
# the applicationId (IE 95) of every labelled flow, and the name its options records give that
# id (IE 96, 94), in IPFIX and in NetFlow v9, with no configuration of nfdump's.
#
# The collector is Debian 13's nfcapd and nfdump (1.7.5, netns-tests/install-deps.sh unpacks
# its package from Debian's archive): Debian 12's 1.7.1 stores an IPFIX applicationId
# byte-swapped and so never finds its name, whoever exports (nfdump fixed it in 1.7.2; 1.7.1
# reading NetFlow v9 is checked by test_app_operate.sh). Real clients and servers through
# flowtap: openssl s_client and curl against openssl s_server, curl against Python's
# http.server, dig over UDP and TCP against dnsmasq. Ground truth: tshark on the TAP captures.
# Checks: every flow direction tshark reads as TLS, HTTP or DNS has, in nfdump's reading of
# each format, the applicationId of that application and its name from the options; nfdump
# names no other flow.
source "$(dirname "$0")/lib.sh"
plan 6
require_root
needs python3 tcpdump tshark openssl curl dig dnsmasq
NFDUMP13=${FT_NFDUMP13:-/var/cache/flowtap-tests/nfdump-debian13}
[[ -x $NFDUMP13/usr/bin/nfcapd && -x $NFDUMP13/usr/bin/nfdump ]] \
  || skip "needs Debian 13's nfdump in $NFDUMP13 (netns-tests/install-deps.sh fetches it)"
TOOLS=$(dirname "$0")/tools
topology_up
hosts_without_offloads

tls_server -alpn h2,http/1.1 -www
echo hello >"$FT_OUT/index.html"
spawn WEB "$NS_H2" python3 -m http.server 8081 --bind "$H2_IP" --directory "$FT_OUT" >"$FT_OUT/http.log" 2>&1
dns_server --address=/a.flowtap.test/10.77.0.9
for port in 4433t 8081t 53u; do
  wait_listening "$NS_H2" "${port%?}" "${port: -1}" || { echo "nothing listens on $port in h2" >&2; exit 1; }
done

mkdir -p "$FT_OUT/ipfix" "$FT_OUT/v9"
spawn NFCAPD "$NS_C" "$NFDUMP13/usr/bin/nfcapd" -w "$FT_OUT/ipfix" -p 4739 -b "$C_IP" -t 3600 -I ipfix >"$FT_OUT/nfcapd.log" 2>&1
spawn NFCAPD9 "$NS_C" "$NFDUMP13/usr/bin/nfcapd" -w "$FT_OUT/v9" -p 9995 -b "$C_IP" -t 3600 -I v9 >"$FT_OUT/nfcapd9.log" 2>&1
wait_listening "$NS_C" 4739 u && wait_listening "$NS_C" 9995 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
start_flowtap --collector "$C_IP:4739" --collector "v9://$C_IP:9995"
check "h1 reaches h2 through flowtap" wait_ping

c=$NS_H1
for name in one two; do
  ns "$c" openssl s_client -connect "$H2_IP:4433" -servername $name.flowtap.test -alpn h2 </dev/null >/dev/null 2>&1 || true
done
ns "$c" curl -sk --http1.1 --max-time 5 --resolve "three.flowtap.test:4433:$H2_IP" https://three.flowtap.test:4433/ >/dev/null || true
for i in 1 2; do
  ns "$c" curl -s --max-time 5 -H "Host: web$i.flowtap.test" "http://$H2_IP:8081/index.html" >/dev/null || true
done
ns "$c" dig +tries=1 +time=2 @"$H2_IP" a.flowtap.test A >/dev/null || true
ns "$c" dig +tries=1 +time=2 +tcp @"$H2_IP" a.flowtap.test AAAA >/dev/null || true
ns "$c" dig +tries=1 +time=2 @"$H2_IP" nx.flowtap.test A >/dev/null || true
sleep 0.5
stop_flowtap
stop_capture tapa; stop_capture tapb
check "the TAP captures lost no frame" capture_complete tapa tapb
sleep 0.5
stop_pid "$PID_NFCAPD"; stop_pid "$PID_NFCAPD9"

python3 "$TOOLS/appcheck.py" truth "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
counts=$(python3 -c 'import collections,json,sys; c=collections.Counter(t.get("app") for t in json.load(open(sys.argv[1]))); print(c["tls"], c["http"], c["dns"])' "$FT_OUT/truth.json")
read -r tls http dns <<<"$counts"
check "tshark reads TLS, HTTP and DNS flow directions in the captures (tls $tls, http $http, dns $dns)" \
  test "$tls" -ge 6 -a "$http" -ge 4 -a "$dns" -ge 6

# nfdump FORMAT: Debian 13's nfdump over that collector's files, as appcheck.py records; checks
# that every flow the truth names has its application from the options, that nfdump names no
# flow the truth does not, and that each name's applicationId is flowtap's (engine 6, selector
# 1 tls, 2 http, 3 dns, printed engine first).
nfdump_names() {
  "$NFDUMP13/usr/bin/nfdump" -R "$FT_OUT/$1" -q -N -o "fmt:%sa|%sp|%da|%dp|%pr|%nbid|%nbnam" >"$FT_OUT/$1.txt" 2>&1 || true
  python3 "$TOOLS/appcheck.py" nfdump "$FT_OUT/$1.txt" >"$FT_OUT/$1.json"
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth.json" "$FT_OUT/$1.json" --min 16 --fields app >"$FT_OUT/$1.compare" \
    || { cat "$FT_OUT/$1.compare"; return 1; }
  python3 - "$FT_OUT/truth.json" "$FT_OUT/$1.json" <<'EOF'
import json, sys
truth = {t["key"] for t in json.load(open(sys.argv[1])) if t.get("app")}
ids = {"tls": "6..1", "http": "6..2", "dns": "6..3"}
bad = [r for r in json.load(open(sys.argv[2])) if r.get("app") and (r["key"] not in truth or ids.get(r["app"]) != r["appId"])]
for r in bad:
    print("named where tshark names nothing, or with another id:", r)
sys.exit(1 if bad else 0)
EOF
}
check "IPFIX: nfdump names every flow tshark names, as tshark does (%nbnam from the options), with flowtap's applicationId (%nbid)" \
  nfdump_names ipfix
check "NetFlow v9: the same" nfdump_names v9
finish

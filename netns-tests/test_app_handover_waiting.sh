#!/usr/bin/env bash
# test_app_handover_waiting.sh - records that wait for their partner at a handover keep their
# application fields (issue 26): a DNS response's record waiting in the --biflow pairing for its
# query's, a TLS client's record waiting in the latency join for its server's.
#
# flowtap runs with --biflow, an IPFIX collector (which gets biflow records) and a NetFlow v9
# one (uniflow records, after the latency join), both captured with tcpdump. dig asks dnsmasq
# over UDP for a name it does not have (NXDOMAIN); openssl s_client holds a TLS connection to
# s_server open. Then `flowtap expire --match sport=53` ends the response's direction alone,
# whose record waits for the query's, and `--match dport=4433` ends the TLS client's, whose
# record waits for the server's. A takeover hands the probe to a new flowtap while both wait;
# the new one then ends the other two directions, and each record meets its partner there.
#
# Ground truth: tshark on the TAP captures (the question, the response code, the server name),
# tshark on what the collectors got. Checks: the handover; the IPFIX biflow record of the DNS
# exchange carries the question (from the query) and NXDOMAIN (from the response that waited
# across the handover), as tshark reads them; the v9 record of the TLS client's direction, which
# waited, carries its server name.
source "$(dirname "$0")/lib.sh"
plan 6
require_root
needs python3 tcpdump tshark nfcapd openssl dig dnsmasq
TOOLS=$(dirname "$0")/tools
topology_up
hosts_without_offloads

tls_server
dns_server
wait_listening "$NS_H2" 4433 t && wait_listening "$NS_H2" 53 u || { echo "the servers did not start" >&2; exit 1; }

# Collectors that listen, so that no ICMP error stops a stream; tshark reads what they got.
start_nfcapd_named ipfix "$C_IP" 4739
start_nfcapd_named v9 "$C_IP" 9995
wait_listening "$NS_C" 4739 u && wait_listening "$NS_C" 9995 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739 or udp port 9995
opts=(--collector "$C_IP:4739" --collector "v9://$C_IP:9995" --biflow --idle-timeout 60)
start_flowtap "${opts[@]}"
check "h1 reaches h2 through flowtap" wait_ping

# The connection stays open to the end: no later segment of it makes a record of its own.
spawn LIVE "$NS_H1" bash -c "sleep 30 | openssl s_client -connect $H2_IP:4433 -servername waiting.flowtap.test >$FT_OUT/live.log 2>&1"
ns "$NS_H1" dig +tries=1 +time=2 @"$H2_IP" nowhere.flowtap.test A >"$FT_OUT/dig.log" 2>&1 || true
for _ in $(seq 50); do grep -q 'BEGIN CERTIFICATE' "$FT_OUT/live.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.3

# One direction of each ends; its record waits for the other's. The takeover at once: both
# joins hold a record 3 s.
ns "$NS_P" "$FT_BIN" expire --match sport=53 --control "$FT_CONTROL" >"$FT_OUT/expire-1.txt"
ns "$NS_P" "$FT_BIN" expire --match dport=4433 --control "$FT_CONTROL" >>"$FT_OUT/expire-1.txt"
take_over "$FT_OUT/flowtap-2.log" "${opts[@]}"
# What the old one sent: to v9 the DNS response's record alone (it waits only in the pairing), to
# IPFIX nothing: the other records waited.
sent=$(grep -oE '(ipfix|v9)://[^ ]*: [0-9]+ records' "$FT_OUT/flowtap.log" | sed -E 's/:\/\/.*: / /' | tr '\n' ' ')
check "the old flowtap handed over with the records waiting (sent: $sent) and exited 0 ($OLD_RC)" \
  sh -c "test $OLD_RC -eq 0 && grep -q 'handed over to PID $PID_FLOWTAP' '$FT_OUT/flowtap.log' && test '$sent' = 'ipfix 0 records v9 1 records '"
# The partners, in the new flowtap.
ns "$NS_P" "$FT_BIN" expire --match dport=53 --control "$FT_CONTROL" >"$FT_OUT/expire-2.txt"
ns "$NS_P" "$FT_BIN" expire --match sport=4433 --control "$FT_CONTROL" >>"$FT_OUT/expire-2.txt"
sleep 1
stop_flowtap
check "SIGTERM stops the new flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
stop_pid "$PID_NFCAPD_ipfix"; stop_pid "$PID_NFCAPD_v9"

python3 "$TOOLS/appcheck.py" truth "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
for port in 4739 9995; do
  tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==9995,cflow -Y "udp.dstport == $port" -T json \
    >"$FT_OUT/tshark-$port.json" 2>/dev/null
  python3 "$TOOLS/appcheck.py" ipfix "$FT_OUT/tshark-$port.json" >"$FT_OUT/records-$port.json"
done
# waited TRUTH RECORDS APP H1: the records of the truth's APP flow from H1 (whose partner
# waited), and whether there is one and it carries that flow's name and its response's code
# (DNS: the reverse direction's, which a biflow record carries).
waited() {
  python3 - "$@" <<'EOF'
import json, sys
truth = json.load(open(sys.argv[1]))
flows = [t for t in truth if t.get("app") == sys.argv[3] and t["key"].startswith(sys.argv[4] + ":")]
if not flows:
    print("no truth")
    sys.exit(1)
t = flows[0]
a, b = t["key"].rsplit("/", 1)[0].split(">")
back = next((r for r in truth if r["key"] == f"{b}>{a}/{t['key'].rsplit('/', 1)[1]}"), {})
want = (t.get("name"), back.get("dnsRcode", "-"))
got = [(r.get("name"), r.get("dnsRcode", "-")) for r in json.load(open(sys.argv[2])) if r["key"] == t["key"]]
print(f"truth {want[0]} rcode {want[1]}; records {got}")
sys.exit(not (len(got) == 1 and got[0] == want))
EOF
}
dns=$(waited "$FT_OUT/truth.json" "$FT_OUT/records-4739.json" dns "$H1_IP") && dns_ok=0 || dns_ok=1
check "IPFIX biflow (tshark): the DNS exchange's record has the question and the response code that waited ($dns)" \
  test "$dns_ok" -eq 0 -a -n "$(grep -o 'rcode 3' <<<"$dns")"
tls=$(waited "$FT_OUT/truth.json" "$FT_OUT/records-9995.json" tls "$H1_IP") && tls_ok=0 || tls_ok=1
check "NetFlow v9 (tshark): the TLS client's record, which waited, has its server name ($tls)" \
  test "$tls_ok" -eq 0 -a -n "$(grep -o 'truth waiting.flowtap.test' <<<"$tls")"
check "the TAP captures lost no frame" capture_complete tapa tapb
finish

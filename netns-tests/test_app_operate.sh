#!/usr/bin/env bash
# test_app_operate.sh - naming flows as an operator runs it (issue 26): on by default, seen in
# `show flows` and the metrics, kept across a handover, in NetFlow v9 too, with the reassembly
# pool full.
#
# flowtap runs with its defaults (no --app-fields), --max-flows 4096 (16 reassembly buffers a
# direction), an IPFIX and a NetFlow v9 collector (nfcapd each) and --metrics. Real clients and
# servers: a TLS connection that stays open (openssl s_client and s_server), an SSH client
# (OpenSSH's ssh) against a server that sends its banner, curl against Python's http.server,
# dig against dnsmasq; and 40 connections that each write the first 200 bytes of a ClientHello
# and hold the rest for 8 s (tools/appclients.py hold-hellos), so that 16 take the buffers and
# 24 find none. While they hold, a takeover hands the probe to a new flowtap.
#
# Ground truth: tshark on the TAP captures (the server names, the SSH banners), tshark and
# nfdump on what the collectors got, ping for forwarding. Checks: show flows names the open
# connections before and after the handover; the metrics show the pool full and 24 flows that
# found it so, and no ping is lost meanwhile; the 16 held hellos that had a buffer are named
# after the handover, with the name tshark reads, the other 24 are not; the open connection's
# record carries its name; SSH flows carry their label; the v9 records carry the names (tshark)
# and the applicationId (nfdump); the metrics count as many records per application as the
# IPFIX collector received; every flow's packets are those captured.
source "$(dirname "$0")/lib.sh"
plan 18
require_root
needs python3 tcpdump tshark nfcapd nfdump openssl curl dig dnsmasq ssh
TOOLS=$(dirname "$0")/tools
topology_up
hosts_without_offloads
HOLD=40
BUFFERS=16
METRICS=$P_IP:9464

tls_server -alpn h2,http/1.1 -www
spawn SINK "$NS_H2" python3 "$TOOLS/appclients.py" sink "$H2_IP" 4434
spawn SSHD "$NS_H2" python3 "$TOOLS/appclients.py" ssh-server "$H2_IP" 2222 14
echo hello >"$FT_OUT/index.html"
spawn WEB "$NS_H2" python3 -m http.server 8081 --bind "$H2_IP" --directory "$FT_OUT" >"$FT_OUT/http.log" 2>&1
dns_server --address=/a.flowtap.test/10.77.0.9
for port in 4433t 4434t 2222t 8081t 53u; do
  wait_listening "$NS_H2" "${port%?}" "${port: -1}" || { echo "nothing listens on $port in h2" >&2; exit 1; }
done

mkdir -p "$FT_OUT/nfcap" "$FT_OUT/nfcap9"
spawn NFCAPD "$NS_C" nfcapd -w "$FT_OUT/nfcap" -p 4739 -b "$C_IP" -t 3600 -I ipfix >"$FT_OUT/nfcapd.log" 2>&1
spawn NFCAPD9 "$NS_C" nfcapd -w "$FT_OUT/nfcap9" -p 9995 -b "$C_IP" -t 3600 -I v9 >"$FT_OUT/nfcapd9.log" 2>&1
wait_listening "$NS_C" 4739 u && wait_listening "$NS_C" 9995 u || { echo "nfcapd did not start" >&2; exit 1; }
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739 or udp port 9995
opts=(--collector "$C_IP:4739" --collector "v9://$C_IP:9995" --metrics "$METRICS" --max-flows 4096 --idle-timeout 60)
start_flowtap "${opts[@]}"
check "h1 reaches h2 through flowtap" wait_ping

metrics() { ns "$NS_C" curl -sf -m 3 "http://$METRICS/metrics"; }
# total NAME [LABEL=VALUE]: the sum of a metric's series (with that label) in the last scrape.
total() {
  awk -v name="$1" -v want="${2:-}" '$1 ~ "^" name "({|$)" && (want == "" || index($1, want)) {s += $NF} END {print s + 0}' "$FT_OUT/metrics.txt"
}
# shown FILE APP NAME: show flows --json lists a flow of APP named NAME.
shown() {
  python3 -c 'import json,sys; sys.exit(not any(f.get("app") == sys.argv[2] and f.get("name", "") == sys.argv[3] for f in json.load(open(sys.argv[1]))))' "$@"
}

# The connections that stay open, then the short ones, then the held hellos.
spawn LIVE "$NS_H1" bash -c "sleep 13 | openssl s_client -connect $H2_IP:4433 -servername live.flowtap.test -alpn h2 >$FT_OUT/live.log 2>&1"
spawn SSH "$NS_H1" ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o ConnectTimeout=5 probe@"$H2_IP" true >"$FT_OUT/ssh.log" 2>&1
ns "$NS_H1" curl -s --max-time 5 -A "ft-operate/1.0" "http://$H2_IP:8081/index.html" >/dev/null || true
ns "$NS_H1" dig +tries=1 +time=2 @"$H2_IP" a.flowtap.test A >/dev/null || true
ns "$NS_H1" dig +tries=1 +time=2 +tcp @"$H2_IP" a.flowtap.test AAAA >/dev/null || true
ns "$NS_H1" openssl s_client -connect "$H2_IP:4433" -servername short.flowtap.test </dev/null >/dev/null 2>&1 || true
spawn HOLD "$NS_H1" python3 -u "$TOOLS/appclients.py" hold-hellos "$H2_IP" 4434 "$HOLD" 8 >"$FT_OUT/hold.log" 2>&1
for i in $(seq 50); do grep -q holding "$FT_OUT/hold.log" && break; sleep 0.1; done
sleep 0.5

ns "$NS_P" "$FT_BIN" show flows --control "$FT_CONTROL" --top 200 --json >"$FT_OUT/flows-before.json"
check "show flows names the open TLS connection (tls, live.flowtap.test) and the SSH one" \
  sh -c "$(declare -f shown); shown '$FT_OUT/flows-before.json' tls live.flowtap.test && shown '$FT_OUT/flows-before.json' ssh ''"
"$FT_BIN" show flows --control "$FT_CONTROL" --top 200 >"$FT_OUT/flows-before.txt" 2>&1 || true
metrics >"$FT_OUT/metrics.txt"
size=$(total flowtap_reassembly_buffers) used=$(total flowtap_reassembly_buffers_in_use)
exhausted=$(total flowtap_reassembly_exhausted_total)
check "$HOLD held hellos: the reassembly buffers all in use ($used of $size, $BUFFERS a direction), $((HOLD - BUFFERS)) flows found none ($exhausted)" \
  test "$used" -eq "$BUFFERS" -a "$size" -eq $((2 * BUFFERS)) -a "$exhausted" -eq $((HOLD - BUFFERS))
lost=$(ns "$NS_H1" ping -c 20 -i 0.05 -W 1 "$H2_IP" | awk '/packets transmitted/ {print $1 - $4}')
check "with the pool full, no ping lost (${lost:-?} of 20)" test "${lost:-1}" -eq 0

# The takeover, while the hellos wait in their buffers and the TLS connection is open.
take_over "$FT_OUT/flowtap-2.log" "${opts[@]}"
check "the old flowtap handed over and exited 0 ($OLD_RC)" \
  sh -c "test $OLD_RC -eq 0 && grep -q 'handed over to PID $PID_FLOWTAP' '$FT_OUT/flowtap.log'"
sleep 0.5
ns "$NS_P" "$FT_BIN" show flows --control "$FT_CONTROL" --top 200 --json >"$FT_OUT/flows-after.json"
check "after the handover, show flows still names the open TLS connection" \
  sh -c "$(declare -f shown); shown '$FT_OUT/flows-after.json' tls live.flowtap.test"
metrics >"$FT_OUT/metrics.txt"
check "after the handover, the held hellos still hold their buffers ($(total flowtap_reassembly_buffers_in_use))" \
  test "$(total flowtap_reassembly_buffers_in_use)" -eq "$BUFFERS"

# Everything ends; every flow goes out; the metrics once the records are made.
wait "$PID_HOLD" "$PID_LIVE" "$PID_SSH" 2>/dev/null || true
sleep 1
ns "$NS_P" "$FT_BIN" expire --all --control "$FT_CONTROL" >/dev/null
sleep 1.5
metrics >"$FT_OUT/metrics.txt"
stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
stop_capture tapa; stop_capture tapb; stop_capture export
check "the TAP captures lost no frame" capture_complete tapa tapb
sleep 0.5
stop_pid "$PID_NFCAPD"; stop_pid "$PID_NFCAPD9"

python3 "$TOOLS/appcheck.py" truth "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==9995,cflow -Y "udp.dstport == 4739" -T json \
  >"$FT_OUT/ipfix-tshark.json" 2>/dev/null
tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -d udp.port==9995,cflow -Y "udp.dstport == 9995" -T json \
  >"$FT_OUT/v9-tshark.json" 2>/dev/null
python3 "$TOOLS/appcheck.py" ipfix "$FT_OUT/ipfix-tshark.json" >"$FT_OUT/ipfix.json"
python3 "$TOOLS/appcheck.py" ipfix "$FT_OUT/v9-tshark.json" >"$FT_OUT/v9.json"

# The held hellos: tshark names all of them; flowtap those that had a buffer, as tshark does.
python3 - "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" >"$FT_OUT/held.txt" <<'EOF'
import json, sys
truth = {t["key"]: t.get("name") for t in json.load(open(sys.argv[1])) if t.get("name", "").startswith("hold")}
ipfix = json.load(open(sys.argv[2]))
got = {}
for r in ipfix:
    if r["key"] in truth and r.get("name"):
        got[r["key"]] = r["name"]
wrong = [k for k in got if got[k] != truth[k]]
print(len(truth), len(got), len(wrong))
# What a failure needs to be read: the held connections tshark did not name, the names that differ.
clients = {k.split(">")[0] for k in truth}
records = {r["key"].split(">")[0]: r.get("name") for r in ipfix if r["key"].endswith(":4434/tcp")}
for client in sorted(set(records) - clients):
    print(f"    tshark named no hello from {client} (flowtap: {records[client] or 'no name'})")
for k in wrong:
    print(f"    {k}: tshark {truth[k]}, flowtap {got[k]}")
EOF
read -r held_truth held_named held_wrong <"$FT_OUT/held.txt"
tail -n +2 "$FT_OUT/held.txt"
check "tshark names the $HOLD held hellos ($held_truth); flowtap's IPFIX names the $BUFFERS that had a buffer ($held_named), each as tshark ($held_wrong differ)" \
  test "$held_truth" -eq "$HOLD" -a "$held_named" -eq "$BUFFERS" -a "$held_wrong" -eq 0
check "IPFIX: the connection open over the handover carries its server name" \
  grep -q '"name": "live.flowtap.test"' "$FT_OUT/ipfix.json"
ssh_truth=$(for p in tapa tapb; do tshark -r "$FT_OUT/$p.pcap" -d tcp.port==2222,ssh -Y ssh.protocol -T fields -e tcp.srcport 2>/dev/null; done | sort -u | wc -l)
nfdump -R "$FT_OUT/nfcap" -q -N -o "fmt:%sp,%dp,%nbid,%nbnam" >"$FT_OUT/nfdump.txt" 2>&1 || true
ssh_ids=$(grep -E '^ *(2222 *,|[0-9]+ *, *2222 *,)' "$FT_OUT/nfdump.txt" | grep -c '4\.\.6' || true)
check "SSH: tshark reads both banners ($ssh_truth); both directions' records carry the ssh label ($ssh_ids, nfdump)" \
  test "$ssh_truth" -eq 2 -a "$ssh_ids" -ge 2
# The truth less the held hellos flowtap could not name (no buffer: checked above).
python3 - "$FT_OUT/truth.json" "$FT_OUT/ipfix.json" >"$FT_OUT/truth-named.json" <<'EOF'
import json, sys
named = {r["key"] for r in json.load(open(sys.argv[2])) if r.get("name")}
json.dump([t for t in json.load(open(sys.argv[1])) if not t.get("name", "").startswith("hold") or t["key"] in named], sys.stdout)
EOF
# The names of the applicationIds, from flowtap's options records (nfdump prints name/description).
# Debian 12's nfdump 1.7.1 reads them in NetFlow v9; in IPFIX it stores a record's
# applicationId as a number (byte-swapped) and so never finds the name (%nbnam "<no info>"),
# whoever exports: test_app_nfdump.sh reads IPFIX names with Debian 13's nfdump.
nfdump -R "$FT_OUT/nfcap9" -q -N -o "fmt:%sp,%dp,%nbid,%nbnam" >"$FT_OUT/nfdump9-names.txt" 2>&1 || true
named=$(grep -cE '6\.\.1 *, *tls/TLS ' "$FT_OUT/nfdump9-names.txt" || true)
unnamed=$(grep -cE '6\.\.[1-5] *, *<' "$FT_OUT/nfdump9-names.txt" || true)
check "NetFlow v9: nfdump names the TLS flows' application from the options (%nbnam: $named tls, $unnamed without a name)" \
  test "$named" -ge 20 -a "$unnamed" -eq 0
names=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "udp.dstport == 4739 && cflow.appl_name" \
  -T fields -e cflow.appl_id.selector_id -e cflow.appl_name 2>/dev/null | head -1)
check "IPFIX (tshark): the options record names the applicationIds ($names)" \
  sh -c "echo '$names' | grep -qE '^0001,0002,0003,0004,0005\s+tls,http,dns,ssh,quic$'"
check "NetFlow v9 (tshark): every flow's application, server name, host, HTTP and DNS fields equal to the truth" \
  python3 "$TOOLS/appcheck.py" compare "$FT_OUT/truth-named.json" "$FT_OUT/v9.json" --min 20 \
  --fields app,name,httpMethod,httpTarget,httpUserAgent,httpStatus,dnsType,dnsRcode
nfdump -R "$FT_OUT/nfcap9" -q -N -o "fmt:%sa,%sp,%da,%dp,%nbid" >"$FT_OUT/nfdump9.txt" 2>&1 || true
# nfdump 1.7.1 prints a v9 applicationId engine first (6..1), an IPFIX one selector first (1..6).
v9ids=$(grep -cE ', *6\.\.[1234] *$' "$FT_OUT/nfdump9.txt" || true)
check "NetFlow v9 (nfdump): the labelled flows' applicationId ($v9ids records)" test "$v9ids" -ge 12

# The metrics against the collector: records per application.
python3 - "$FT_OUT/ipfix.json" "$FT_OUT/metrics.txt" >"$FT_OUT/by-app.txt" <<'EOF'
import json, re, sys
apps = ["tls", "http", "dns", "ssh"]
got = {a: sum(1 for r in json.load(open(sys.argv[1])) if r.get("app") == a) for a in apps}
metric = {a: 0 for a in apps}
for line in open(sys.argv[2]):
    m = re.match(r'flowtap_application_records_total\{.*application="(\w+)".*\} (\d+)', line)
    if m and m.group(1) in metric:
        metric[m.group(1)] += int(m.group(2))
print(" ".join(f"{a} {metric[a]}/{got[a]}" for a in apps), "same" if metric == got and got["tls"] > 0 else "differ")
EOF
check "metrics: records by application as the IPFIX collector got them (metric/collector: $(cat "$FT_OUT/by-app.txt"))" \
  grep -q " same$" "$FT_OUT/by-app.txt"
# Without a memory limit the export thread's store of fields always grows: none went without.
check "metrics: no record went without its fields for want of room in the export thread's store ($(grep -c '^flowtap_application_details_without_room_total 0$' "$FT_OUT/metrics.txt") series at 0)" \
  grep -q '^flowtap_application_details_without_room_total 0$' "$FT_OUT/metrics.txt"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/flows-truth.json"
nfdump -R "$FT_OUT/nfcap" -a -o csv | python3 "$TOOLS/nfdump2json.py" >"$FT_OUT/nfdump.json"
check "every flow's packets and bytes at the IPFIX collector are those captured" \
  python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/flows-truth.json" "$FT_OUT/nfdump.json" --min 50
finish

#!/usr/bin/env bash
# test_hostile_sequences.sh - a frame sequence built to trip the probe's full-buffer and
# timing rules (netns-tests/corpus/hostile_sequence.py): orphan fragments that expire into a
# full cache, floods of new flows, FIN/RST storms, late first fragments, hostile frames; then
# more of it after the fragment timeout, and again just before SIGTERM, so that shutdown finds
# every table full. On a tiny table (--max-flows 8) and on the default one: every frame reaches
# h2 byte-identical, the probe is alive after each phase, it exits 0, and every IP packet of the
# sequence is in nfcapd (none lost, however often the cache evicted), counted against the
# generator's own tally.
source "$(dirname "$0")/lib.sh"
plan 18
require_root
needs python3 tcpdump nfcapd nfdump
TOOLS=$(dirname "$0")/tools
topology_up
# The shutdown flush sends every record at once: room for it at the collector's socket.
ns "$NS_C" sysctl -qw net.core.rmem_max=134217728
for phase in fill churn last; do
  /usr/bin/python3 "$(dirname "$0")/corpus/hostile_sequence.py" "$FT_OUT" "$H1_MAC" "$H2_MAC" "$phase"
done
expected=$(python3 "$(dirname "$0")/tools/convert.py" sum packets "$FT_OUT/fill.json" "$FT_OUT/churn.json" "$FT_OUT/last.json")
/usr/bin/python3 "$(dirname "$0")/tools/inject.py" merge "$FT_OUT/all.pcap" "$FT_OUT/fill.pcap" "$FT_OUT/churn.pcap" "$FT_OUT/last.pcap"

send() {
  ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/tools/inject.py" replay "$FT_OUT/$1.pcap" 0.0002 eth0
}
running() { kill -0 "$PID_FLOWTAP" 2>/dev/null; }
# UDP datagrams the collector namespace's sockets had no room for.
rcvbuf_errors() { ns "$NS_C" awk '/^Udp:/ {if (!h) {for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1} else print $c}' /proc/net/snmp; }

for flows in 8 262144; do
  dir=$FT_OUT/nfcap$flows
  start_nfcapd_named "nfcap$flows" "$C_IP" 4739 -B 67108864
  pid_var=PID_NFCAPD_nfcap$flows
  PID_NFCAPD=${!pid_var}
  start_flowtap --collector "$C_IP:4739" --max-flows "$flows" --idle-timeout 2
  wait_ping || true
  sleep 0.2
  capture "h2in$flows" "$NS_H2" eth0 in src net 10.66.0.0/16 or not ip
  send fill
  check "[$flows flows] alive after the fill phase" running
  sleep 6     # fragment timeout (5 s): the orphans expire into full sets, the flows idle out
  send churn
  check "[$flows flows] alive after expiry on full tables" running
  send last
  stop_flowtap   # at once: shutdown with the cache and the fragment table full
  check "[$flows flows] SIGTERM with every table full: exit 0" test "$FLOWTAP_RC" -eq 0
  stop_capture "h2in$flows"
  sleep 0.5
  stop_pid "$PID_NFCAPD"
  grep -E "^flowtap: " "$FT_OUT/flowtap.log" | sed 's/^/    /'
  check "[$flows flows] every frame reached h2 byte-identical" \
    python3 "$TOOLS/pcapdiff.py" "$FT_OUT/all.pcap" "$FT_OUT/h2in$flows.pcap" 8000
  got=$(nfdump -R "$dir" -q -o 'fmt:%pkt' 'src net 10.66.0.0/16' 2>/dev/null | awk '{s += $1} END {print s + 0}')
  check "[$flows flows] the collector's socket dropped nothing ($(rcvbuf_errors) receive-buffer errors)" test "$(rcvbuf_errors)" -eq 0
  check "[$flows flows] every IP packet of the sequence is in nfcapd: $got of $expected" test "$got" -eq "$expected"
  check "[$flows flows] no record lost" grep -q "records lost 0)" "$FT_OUT/flowtap.log"
  check "[$flows flows] the hostile frames are counted as undecodable (80)" grep -q " 80 undecodable" "$FT_OUT/flowtap.log"
  if [[ $flows -eq 8 ]]; then
    check "[8 flows] the tiny table evicted (lack of resources)" bash -c "grep -oE 'evicted [0-9]+' '$FT_OUT/flowtap.log' | awk '{exit !(\$2 > 1000)}'"
  else
    check "[default] the default table evicted nothing" grep -q "evicted 0" "$FT_OUT/flowtap.log"
  fi
done
finish

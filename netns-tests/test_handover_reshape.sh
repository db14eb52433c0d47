#!/usr/bin/env bash
# test_handover_reshape.sh - a handover to a successor that cannot take the flow tables over
# (another --max-flows: the tables' shape differs): the running flowtap exports every flow
# ("forced end") at the park and says so, the successor starts with empty tables and says so,
# the link never drops, and every collector stream goes on from its sequence number. Each flow
# then has two records, which together hold the captured packets and bytes.
source "$(dirname "$0")/lib.sh"
plan 10
require_root
needs python3 nfcapd nfdump tcpdump tshark iperf3 ping
TOOLS=$(dirname "$0")/tools
captured_link_up
opts=(--collector "$C_IP:4739" --idle-timeout 120 --active-timeout 300)
start_flowtap "${opts[@]}"
check "h1 reaches h2 through flowtap" wait_ping
iperf3_server
changes_a=$(carrier_changes tapa)
streams_start 5
sleep 2
take_over "$FT_OUT/successor.log" "${opts[@]}" --max-flows 65536
check "the old flowtap hands over and exits 0 (exit $OLD_RC)" bash -c "test $OLD_RC -eq 0 && grep -q 'handed over to PID $PID_FLOWTAP' '$FT_OUT/flowtap.log'"
check "it says it exports every flow first" grep -q "so every flow is exported first (forced end)" "$FT_OUT/flowtap.log"
check "the successor says it starts with empty tables" grep -q "with empty flow tables" "$FT_OUT/successor.log"
streams_wait
after_a=$(carrier_changes tapa)
kill -TERM "$PID_FLOWTAP"; rc=0; wait "$PID_FLOWTAP" || rc=$?
check "the successor stops with exit 0, and tapa's carrier never changed ($changes_a -> $after_a)" \
  test "$rc" -eq 0 -a "$after_a" -eq "$changes_a"
check "no stream datagram lost, reordered or duplicated" \
  python3 "$TOOLS/streams.py" check "$FT_OUT/stream-ab.json" "$FT_OUT/stream-ba.json"
collector_checks "every flow's records hold the captured packets and bytes" --min 6
streams=$(nfdump -R "$FT_OUT/nfcap" -q -o 'fmt:%pkt' "dst port 7001" | wc -l)
check "the stream h1 -> h2 has two records, one each side of the handover ($streams)" test "$streams" -eq 2
finish

#!/usr/bin/env bash
# test_control.sh - the control socket (flowtap show / expire / templates / set) of a running
# probe, checked against real parts: `show stats --json` has the documented keys, and its frame
# counts equal a capture of the TAPs; `show flows` lists the live flows with the capture's
# packet counts, filtered by `--match`; `expire --match` and `expire --all` put the flows they
# name at the collector at once with flowEndReason 4 (forced end, read by tshark from a capture
# at the collector while the probe runs); `set --idle-timeout` makes the next flow idle out
# within the new timeout; `templates resend` makes templates appear in that capture; and bad
# use gets one line: no socket, a stale one, no permission, an unknown filter field.
source "$(dirname "$0")/lib.sh"
plan 23
require_root
needs python3 tcpdump tshark nfcapd setpriv ping
CC=$(dirname "$0")/tools/controlcheck.py
topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
capture tapa "$NS_P" tapa out
capture tapb "$NS_P" tapb out
capture export "$NS_C" eth0 in udp port 4739
start_flowtap --collector "$C_IP:4739" --idle-timeout 60 --template-refresh 3600 --template-refresh-packets 0
check "h1 reaches h2 through flowtap" wait_ping
ns "$NS_H1" ping -c 20 -i 0.05 -q "$H2_IP" >/dev/null
sleep 1.2
show() { "$FT_BIN" "$@" --control "$FT_CONTROL"; }
show show stats --json >"$FT_OUT/stats.json"
check "show stats --json has every documented key" python3 "$CC" stats-keys "$FT_OUT/stats.json"
stop_capture tapa; stop_capture tapb
frames() { python3 "$CC" frames "$FT_OUT/stats.json" "$1"; }
captured() { tshark -r "$FT_OUT/$1.pcap" 2>/dev/null | wc -l; }
check "frames tapa->tapb ($(frames tapa-\>tapb)) equal the capture of tapa ($(captured tapa))" test "$(frames tapa-\>tapb)" -eq "$(captured tapa)"
check "frames tapb->tapa ($(frames tapb-\>tapa)) equal the capture of tapb ($(captured tapb))" test "$(frames tapb-\>tapa)" -eq "$(captured tapb)"
check "the echo flows are live (flows_active 1 per direction)" python3 "$CC" flows-active "$FT_OUT/stats.json" 1
check "show stats prints a table with a header" bash -c "'$FT_BIN' show stats --control '$FT_CONTROL' | head -1 | grep -q '^direction  *queue  *frames'"

# reasons N: flow records with flowEndReason N that the collector-side capture holds so far.
reasons() { tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -T fields -e cflow.flow_end_reason 2>/dev/null | tr ',' '\n' | grep -cx "$1" || true; }
show show flows --json >"$FT_OUT/flows.json"
requests=$(tshark -r "$FT_OUT/tapa.pcap" -Y "icmp.type == 8" 2>/dev/null | wc -l)
check "show flows lists the echo request flow with the capture's packets ($requests)" \
  python3 "$CC" flow-listed "$FT_OUT/flows.json" "$H1_IP" "$H2_IP" "$requests"
check "show flows --match src=$H2_IP proto=icmp lists only the replies" bash -c \
  "'$FT_BIN' show flows --json --match 'src=$H2_IP proto=icmp' --control '$FT_CONTROL' | python3 '$CC' flows-only - '$H2_IP' 'tapb->tapa'"
check "show flows --top 1 --sort packets gives one flow" bash -c \
  "'$FT_BIN' show flows --json --top 1 --sort packets --control '$FT_CONTROL' | python3 '$CC' flows-count - 1"
check "show flows prints a table with a header" bash -c "'$FT_BIN' show flows --control '$FT_CONTROL' | head -1 | grep -q '^src  *dst  *sport'"

show expire --match "src=$H1_IP" >/dev/null
sleep 1   # the export thread flushes a partly filled message within 0.6 s
check "expire --match src=$H1_IP: one flow at the collector with reason forced end ($(reasons 4))" test "$(reasons 4)" -eq 1
check "expire --match left the other direction's flow live" bash -c "'$FT_BIN' show stats --json --control '$FT_CONTROL' | python3 '$CC' flows-active-by-name - 'tapa->tapb=0,tapb->tapa=1'"
show expire --all >/dev/null
sleep 1
records=$(reasons 4)
check "expire --all: both echo flows are at the collector with reason forced end, flowtap still running ($records)" \
  bash -c "test $records -eq 2 && kill -0 $PID_FLOWTAP"
check "expire --all left no live flow" bash -c "'$FT_BIN' show stats --json --control '$FT_CONTROL' | python3 '$CC' flows-active - 0"

show set --idle-timeout 1 >/dev/null
check "show config reports the new idle timeout" bash -c "'$FT_BIN' show config --json --control '$FT_CONTROL' | grep -q '\"idle_timeout\" : 1'"
ns "$NS_H1" ping -c 1 -q "$H2_IP" >/dev/null
sleep 3   # idle 1 s, then a sweep (1 s) and the flush (0.6 s)
idle=$(reasons 1)
check "set --idle-timeout 1: the next flow idled out within 3 s, not 60 ($idle records with reason idle)" test "$idle" -ge 1

before=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.flowset_id == 2" 2>/dev/null | wc -l)
show templates resend >/dev/null
ns "$NS_H1" ping -c 1 -q "$H2_IP" >/dev/null
sleep 1
show expire --all >/dev/null
sleep 1
stop_capture export
after=$(tshark -r "$FT_OUT/export.pcap" -d udp.port==4739,cflow -Y "cflow.flowset_id == 2" 2>/dev/null | wc -l)
check "templates resend: a template set reached the collector again ($before, then $after)" test "$after" -gt "$before"

stop_flowtap
check "SIGTERM stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
# rejects_control WORD ARGS...: a control command fails with one line naming WORD.
rejects_control() {
  local word=$1; shift
  local err rc=0
  "$@" >/dev/null 2>"$FT_OUT/err" || rc=$?
  err=$(cat "$FT_OUT/err")
  echo "    $err"
  [[ $rc -ne 0 && $(wc -l <"$FT_OUT/err") -eq 1 && $err == "flowtap: error: "*"$word"* ]]
}
check "a stale socket is named as such" rejects_control "stale" "$FT_BIN" show stats --control "$FT_CONTROL"
check "no socket is named as such" rejects_control "no control socket at" "$FT_BIN" show stats --control "$FT_OUT/none.sock"
check "an unknown filter field is named" rejects_control "unknown filter field 'bogus'" "$FT_BIN" show flows --match bogus=1 --control "$FT_OUT/none.sock"
start_flowtap --collector "$C_IP:4739"
wait_ping || true
check "the socket is mode 0660" test "$(stat -c %a "$FT_CONTROL")" = 660
check "no permission is named as such" rejects_control "no permission" \
  setpriv --reuid=65534 --regid=65534 --clear-groups "$FT_BIN" show stats --control "$FT_CONTROL"
stop_flowtap
finish

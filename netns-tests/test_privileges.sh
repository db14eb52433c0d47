#!/usr/bin/env bash
# test_privileges.sh - once its TAPs and raw sockets are open, flowtap holds no privilege while
# it reads the wire: /proc/PID/status of a probe that is forwarding and exporting shows a uid
# and gid other than 0, no capability (effective, permitted, bounding), no_new_privs and a
# seccomp filter. Forwarding, export and the SIGTERM flush keep working after the drop (the
# ping flows' packets in nfdump equal what ping sent), and so does every signal a terminal or
# a service manager sends: USR1 logs, USR2 and PIPE are ignored, INT, TERM, HUP and QUIT stop
# with every flow exported. --user root keeps uid 0 and still drops the rest. A datagram that
# only claims flowtap's export source is metered.
source "$(dirname "$0")/lib.sh"
plan 39
require_root
needs python3 nfcapd nfdump setpriv unshare ping
topology_up

# status_is FIELD VALUE: the field of the running probe's /proc/PID/status, first column.
status_is() { [[ $(awk -v f="$1:" '$1 == f {print $2}' "/proc/$PID_FLOWTAP/status") == "$2" ]]; }
status_not() { [[ $(awk -v f="$1:" '$1 == f {print $2}' "/proc/$PID_FLOWTAP/status") != "$2" ]]; }
running() { kill -0 "$PID_FLOWTAP" 2>/dev/null; }
# icmp_packets DIR: packets of the echo flow h1 -> h2 in nfdump.
icmp_packets() { nfdump -R "$1" -q -A srcip,dstip,proto -o 'fmt:%pkt' "src host $H1_IP and dst host $H2_IP and proto icmp" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

start_nfcapd 4739 "$FT_OUT/nfcap"
FT_SECCOMP= start_flowtap --collector "$C_IP:4739" --idle-timeout 60
check "h1 reaches h2 through the probe" wait_ping
ns "$NS_H1" ping -c 20 -i 0.02 -q "$H2_IP" >/dev/null &
ping_pid=$!
sleep 0.2
head -12 "/proc/$PID_FLOWTAP/status" >/dev/null
grep -E "^(Uid|Gid|CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" "/proc/$PID_FLOWTAP/status" | sed 's/^/    /'
check "Uid is not 0 (default --user nobody: 65534)" status_is Uid 65534
check "Gid is not 0" status_not Gid 0
check "CapEff is 0" status_is CapEff 0000000000000000
check "CapPrm is 0" status_is CapPrm 0000000000000000
check "CapBnd is 0" status_is CapBnd 0000000000000000
check "NoNewPrivs is 1" status_is NoNewPrivs 1
check "Seccomp is 2 (filter)" status_is Seccomp 2
check "every thread dropped: the forwarders and the export thread too" \
  bash -c "for t in /proc/$PID_FLOWTAP/task/*; do grep -q '^CapEff:.*0000000000000000' \$t/status && grep -q '^Seccomp:.*2' \$t/status && grep -q '^Uid:.*65534' \$t/status || exit 1; done"
wait "$ping_pid"
check "the log says what was dropped (the default filter: refused calls fail with EPERM)" grep -qE "privileges dropped: uid 65534 gid 65534, no capabilities, no_new_privs, seccomp allowlist of [0-9]+ system calls$" "$FT_OUT/flowtap.log"

kill -USR1 "$PID_FLOWTAP"; sleep 0.3
check "SIGUSR1 logs the counters and flowtap keeps running" bash -c "grep -q 'SIGUSR1: .* frames' '$FT_OUT/flowtap.log' && kill -0 $PID_FLOWTAP"
kill -USR2 "$PID_FLOWTAP"; sleep 0.3
check "SIGUSR2 is logged and ignored" bash -c "grep -q 'SIGUSR2 ignored' '$FT_OUT/flowtap.log' && kill -0 $PID_FLOWTAP"
kill -PIPE "$PID_FLOWTAP"; sleep 0.3
check "SIGPIPE is ignored" running
check "still forwarding after the signals" can_ping
stop_flowtap HUP
check "SIGHUP stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
check "the closing line names SIGHUP" grep -q "stopped by SIGHUP" "$FT_OUT/flowtap.log"
sleep 0.5
stop_pid "$PID_NFCAPD"
# wait_ping's pings, 20 of the paced run, can_ping's 1: what nfdump holds must add up exactly.
sent=$(grep -oE "tapa->tapb [0-9]+ frames" "$FT_OUT/flowtap.log" | grep -oE "[0-9]+ frames" | grep -oE "[0-9]+")
check "the flush after the drop exported every echo request: nfdump $(icmp_packets "$FT_OUT/nfcap") = frames a->b $sent" \
  test "$(icmp_packets "$FT_OUT/nfcap")" -eq "$sent"

# Each stop signal exports every flow.
for sig in INT TERM QUIT; do
  dir=$FT_OUT/nfcap-$sig
  start_nfcapd 4739 "$dir"
  start_flowtap --collector "$C_IP:4739" --idle-timeout 60
  wait_ping || true
  ns "$NS_H1" ping -c 5 -i 0.02 -q "$H2_IP" >/dev/null
  stop_flowtap "$sig"
  check "SIG$sig stops flowtap with exit 0" test "$FLOWTAP_RC" -eq 0
  sleep 0.5
  stop_pid "$PID_NFCAPD"
  sent=$(grep -oE "tapa->tapb [0-9]+ frames" "$FT_OUT/flowtap.log" | grep -oE "^tapa->tapb [0-9]+" | grep -oE "[0-9]+$")
  check "SIG$sig: every echo request is in nfdump ($(icmp_packets "$dir") of $sent)" test "$(icmp_packets "$dir")" -eq "$sent"
done

# --user root: uid 0 kept, said so, and everything else dropped all the same.
start_flowtap --collector "$C_IP:4739" --user root
check "with --user root the probe forwards" wait_ping
check "--user root keeps Uid 0" status_is Uid 0
check "--user root still has CapEff 0" status_is CapEff 0000000000000000
check "--user root still has CapBnd 0" status_is CapBnd 0000000000000000
check "--user root still has NoNewPrivs 1 and Seccomp 2" bash -c "grep -q '^NoNewPrivs:.1' /proc/$PID_FLOWTAP/status && grep -q '^Seccomp:.2' /proc/$PID_FLOWTAP/status"
check "--user root says so in the log" grep -q "running as root (--user root)" "$FT_OUT/flowtap.log"
stop_flowtap
check "--user root stops with exit 0" test "$FLOWTAP_RC" -eq 0

# Started as systemd's User= and AmbientCapabilities= would start it (setpriv): unprivileged,
# with just CAP_NET_ADMIN, CAP_NET_RAW and CAP_SETPCAP, which it drops after setup. udev makes
# /dev/net/tun 0666; where it is 0600 (as on these machines) the probe gets a 0666 node bound
# over it in a mount namespace of its own, and the host's node stays as it is.
mkdir -p "$FT_OUT/bin" "$FT_OUT/dev" && chmod 755 "$FT_OUT" "$FT_OUT/bin"
cp "$FT_BIN" "$FT_OUT/bin/flowtap" && chmod 755 "$FT_OUT/bin/flowtap"
mknod -m 0666 "$FT_OUT/dev/tun" c 10 200
# systemd's RuntimeDirectory=flowtap: a directory of its own for the control socket.
mkdir -p "$FT_OUT/run" && chown 65534:65534 "$FT_OUT/run"
ip netns exec "$NS_P" unshare --mount --propagation private sh -c "mount --bind '$FT_OUT/dev/tun' /dev/net/tun && exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin,+net_raw,+setpcap --ambient-caps=+net_admin,+net_raw,+setpcap '$FT_OUT/bin/flowtap' run --tap-a tapa --tap-b tapb --collector '$C_IP:4739' --control '$FT_OUT/run/flowtap.sock'" >"$FT_OUT/flowtap.log" 2>&1 &
PID_FLOWTAP=$!
FT_PIDS+=("$PID_FLOWTAP")
check "started unprivileged with ambient capabilities, the probe forwards" wait_ping
check "[ambient] Uid 65534" status_is Uid 65534
check "[ambient] CapEff and CapAmb 0: the setup capabilities are gone" bash -c "grep -q '^CapEff:.0000000000000000' /proc/$PID_FLOWTAP/status && grep -q '^CapAmb:.0000000000000000' /proc/$PID_FLOWTAP/status"
check "[ambient] CapBnd 0: CAP_SETPCAP let it empty the bounding set" status_is CapBnd 0000000000000000
check "[ambient] NoNewPrivs 1 and Seccomp 2" bash -c "grep -q '^NoNewPrivs:.1' /proc/$PID_FLOWTAP/status && grep -q '^Seccomp:.2' /proc/$PID_FLOWTAP/status"
check "[ambient] its control socket answers" bash -c "'$FT_BIN' show stats --json --control '$FT_OUT/run/flowtap.sock' | grep -q '\"directions\"'"
stop_flowtap
check "[ambient] stops with exit 0" test "$FLOWTAP_RC" -eq 0

# A datagram from h1 that claims the export source (10.77.9.1:4739) but goes to h2, not to the
# collector, is not flowtap's own and is metered.
start_nfcapd 4739 "$FT_OUT/nfcap-spoof"
start_flowtap --collector "$C_IP:4739"
wait_ping || true
ns "$NS_H1" /usr/bin/python3 "$(dirname "$0")/tools/inject.py" udp "$H1_MAC" "$H2_MAC" "$P_IP" "$H2_IP" 4739 4739 40 3 eth0
sleep 0.3
stop_flowtap
sleep 0.5
stop_pid "$PID_NFCAPD"
spoofed=$(nfdump -R "$FT_OUT/nfcap-spoof" -q -o 'fmt:%pkt' "src host $P_IP and dst host $H2_IP and src port 4739" 2>/dev/null | awk '{s += $1} END {print s + 0}')
check "a spoofed export source is metered: 3 packets in nfdump ($spoofed)" test "$spoofed" -eq 3
check "and not counted as own export" grep -q " 0 own export" "$FT_OUT/flowtap.log"
finish

#!/usr/bin/env bash
# lib.sh - shared topology and helpers for flowtap's namespace tests. Source it.
#
#   h1 (10.77.0.1) -- veth -- bra[vh1, tapa]  flowtap  brb[tapb, vh2] -- veth -- h2 (10.77.0.2)
#                                  probe namespace P, routed link vc 10.77.9.1
#                                                          |
#                                  collector namespace C, eth0 10.77.9.2
#
# Every run makes its own namespaces, named ft<pid>-{h1,h2,p,c}, so tests never collide with
# each other or with anything else, and deletes them on exit (trap), even after a failure.
# Nothing in the root namespace is created or changed. IPv6 is off in every namespace so that
# neighbour discovery chatter does not add flows the test did not send.
set -euo pipefail

FT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FT_BIN=${FT_BIN:-$FT_ROOT/.build/release/flowtap}
FT_ID=${FT_ID:-ft$$}
NS_H1=$FT_ID-h1
NS_H2=$FT_ID-h2
NS_P=$FT_ID-p
NS_C=$FT_ID-c
H1_IP=10.77.0.1
H2_IP=10.77.0.2
H1_MAC=02:77:00:00:00:01
H2_MAC=02:77:00:00:00:02
P_IP=10.77.9.1
C_IP=10.77.9.2
FT_OUT=${FT_OUT:-$(mktemp -d /tmp/"$FT_ID".XXXX)}
FT_PIDS=()
FT_FAILS=0
FT_CHECKS=0
# kselftest's skip status: a prerequisite this machine lacks. test-all.sh reports skips apart
# and never counts them as passes.
FT_SKIP=4

ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
log() { echo "[$(date +%T)] $*" >&2; }

# check DESCRIPTION COMMAND...: runs the command, records pass or fail, never exits.
check() {
  local what=$1; shift
  FT_CHECKS=$((FT_CHECKS + 1))
  if "$@"; then echo "  ok   - $what"; else echo "  FAIL - $what"; FT_FAILS=$((FT_FAILS + 1)); fi
}

# plan N: this test runs at least N checks. finish fails a run that ran fewer (a step that
# was skipped, or a script that ended early), so no test passes without running its checks.
FT_PLANNED=0
plan() { FT_PLANNED=$1; }

# skip REASON: this test cannot run here (a missing tool or privilege); exits with FT_SKIP.
skip() {
  echo "$(basename "$0"): SKIP - $*"
  exit "$FT_SKIP"
}

# needs COMMAND...: skips the test unless every command is on the PATH (test-all.sh installs
# them all; a test run alone may find one missing).
needs() {
  local c missing=()
  for c; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  [[ ${#missing[@]} -eq 0 ]] || skip "needs ${missing[*]} (netns-tests/install-deps.sh installs it)"
}

# seccomp_refusals: the system calls flowtap's filter refused, as every flowtap this test
# started logged them (--seccomp trap names each). Every log under $FT_OUT counts, those of
# earlier runs too (start_flowtap keeps them), so no way of starting or waiting on flowtap
# escapes the check.
seccomp_refusals() { grep -rhs "seccomp refused" "$FT_OUT" 2>/dev/null || true; }
FT_REFUSALS_SEEN=-1

# finish: prints the tally and exits non-zero on any failure, or when fewer checks ran than
# the test planned (or it planned none), or when flowtap's seccomp filter refused a call.
finish() {
  local refused
  refused=$(seccomp_refusals)
  FT_REFUSALS_SEEN=$(grep -c . <<<"$refused" || true)
  FT_CHECKS=$((FT_CHECKS + 1))
  if [[ -n $refused ]]; then
    echo "$refused" | sort | uniq -c | sed 's/^/    /'
    echo "  FAIL - flowtap's seccomp filter refused a system call"; FT_FAILS=$((FT_FAILS + 1))
  else
    echo "  ok   - flowtap's seccomp filter refused no system call"
  fi
  if [[ $FT_PLANNED -eq 0 ]]; then
    echo "  FAIL - the test declares no plan (plan N)"; FT_FAILS=$((FT_FAILS + 1))
  elif [[ $FT_CHECKS -lt $FT_PLANNED ]]; then
    echo "  FAIL - ran $FT_CHECKS of the $FT_PLANNED checks planned"; FT_FAILS=$((FT_FAILS + 1))
  fi
  echo "$(basename "$0"): $((FT_CHECKS - FT_FAILS)) passed, $FT_FAILS failed"
  [[ $FT_FAILS -eq 0 ]]
}

require_root() {
  [[ $EUID -eq 0 ]] || skip "needs root (ip netns, TAP devices)"
}

# spawn NAME NS CMD...: CMD in namespace NS as a background job whose pid (the command's own,
# since ip netns exec execs it) is kept in PID_NAME and stopped at cleanup.
spawn() { local name=$1 n=$2; shift 2; ip netns exec "$n" "$@" & FT_PIDS+=("$!"); eval "PID_$name=$!"; }

# tls_server [OPTION...]: openssl s_server in namespace h2 on port 4433, job TLS, with a fresh
# self-signed certificate for flowtap.test ($FT_OUT/cert.pem, key.pem) and s_server's OPTIONs
# (-alpn h2,http/1.1 -www, say).
tls_server() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=flowtap.test \
    -keyout "$FT_OUT/key.pem" -out "$FT_OUT/cert.pem" 2>/dev/null
  spawn TLS "$NS_H2" openssl s_server -accept 4433 -cert "$FT_OUT/cert.pem" -key "$FT_OUT/key.pem" "$@" -quiet \
    >"$FT_OUT/s_server.log" 2>&1
}

# dns_server [OPTION...]: dnsmasq in namespace h2 on port 53, job DNS, the resolver of
# flowtap.test alone (no upstream, no hosts file: NXDOMAIN for any name its OPTIONs,
# --address=/NAME/IP, do not give), logging to $FT_OUT/dnsmasq.log.
dns_server() {
  spawn DNS "$NS_H2" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --listen-address="$H2_IP" \
    --port 53 "$@" --local=/flowtap.test/ --pid-file="$FT_OUT/dnsmasq.pid" --user=root --log-facility="$FT_OUT/dnsmasq.log"
}

cleanup() {
  local rc=$? i n pid refused
  # A test's own undoing first (test_package.sh purges what it installed).
  if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
  for ((i = ${#FT_PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${FT_PIDS[i]}" 2>/dev/null || true; done
  for ((i = ${#FT_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${FT_PIDS[i]}"; done
  # Refusals finish did not see (a test that ended early, or a flowtap stopped only here)
  # fail the test all the same.
  refused=$(seccomp_refusals)
  if [[ -n $refused && $(grep -c . <<<"$refused") -gt $FT_REFUSALS_SEEN ]]; then
    echo "$refused" | sort | uniq -c | sed 's/^/    /'
    echo "  FAIL - flowtap's seccomp filter refused a system call"
    [[ $rc -ne 0 && $rc -ne $FT_SKIP ]] || rc=1
  fi
  for n in "$NS_H1" "$NS_H2" "$NS_P" "$NS_C"; do
    [[ -e /run/netns/$n ]] || continue
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$n" 2>/dev/null || true
  done
  [[ -n ${FT_KEEP:-} ]] || rm -rf "$FT_OUT"
  exit "$rc"
}

# Ephemeral ports of h1 and h2 (ip_local_port_range): see topology_up.
CLIENT_PORTS="50000 54000"

ns_quiet() {
  ns "$1" ip link set lo up
  ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ns "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
}

# topology_up: the picture above, with tapa/tapb as persistent TAPs nobody reads yet.
topology_up() {
  needs ip
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  local n
  for n in "$NS_H1" "$NS_H2" "$NS_P" "$NS_C"; do ip netns add "$n"; ns_quiet "$n"; done
  # The hosts' own ends of their connections take ports that tshark gives to no protocol
  # (CLIENT_PORTS; tools/tests checks it against tshark -G decodes): tshark reads a connection
  # by its server's port and, when that names nothing, by the client's, so that a client port
  # of 44818 (EtherNet/IP) or 57000 (IRC) would hide a TLS hello from the ground truth.
  for n in "$NS_H1" "$NS_H2"; do ns "$n" sysctl -qw net.ipv4.ip_local_port_range="$CLIENT_PORTS"; done
  for k in iptables ip6tables arptables; do ns "$NS_P" sysctl -qw "net.bridge.bridge-nf-call-$k=0" 2>/dev/null || true; done
  ip -n "$NS_P" link add vh1 type veth peer name eth0 netns "$NS_H1"
  ip -n "$NS_P" link add vh2 type veth peer name eth0 netns "$NS_H2"
  ip -n "$NS_H1" link set eth0 address "$H1_MAC"
  ip -n "$NS_H2" link set eth0 address "$H2_MAC"
  ip -n "$NS_H1" addr add "$H1_IP/24" dev eth0
  ip -n "$NS_H2" addr add "$H2_IP/24" dev eth0
  ip -n "$NS_H1" link set eth0 up
  ip -n "$NS_H2" link set eth0 up
  ip -n "$NS_P" link add vc type veth peer name eth0 netns "$NS_C"
  ip -n "$NS_P" addr add "$P_IP/24" dev vc
  ip -n "$NS_C" addr add "$C_IP/24" dev eth0
  ip -n "$NS_P" link set vc up
  ip -n "$NS_C" link set eth0 up
  for n in bra brb; do
    ip -n "$NS_P" link add "$n" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    ip -n "$NS_P" link set "$n" up
  done
  # MULTI_QUEUE=1 makes TAPs that take several queues (flowtap --queues).
  ip -n "$NS_P" tuntap add dev tapa mode tap ${MULTI_QUEUE:+multi_queue}
  ip -n "$NS_P" tuntap add dev tapb mode tap ${MULTI_QUEUE:+multi_queue}
  ip -n "$NS_P" link set vh1 master bra
  ip -n "$NS_P" link set tapa master bra
  ip -n "$NS_P" link set vh2 master brb
  ip -n "$NS_P" link set tapb master brb
  for n in vh1 vh2 tapa tapb; do ip -n "$NS_P" link set "$n" up; done
  # Static neighbours: no ARP exchange is needed (or counted) once traffic starts.
  ns "$NS_H1" ip neigh replace "$H2_IP" lladdr "$H2_MAC" dev eth0 nud permanent
  ns "$NS_H2" ip neigh replace "$H1_IP" lladdr "$H1_MAC" dev eth0 nud permanent
}

# hosts_without_offloads: h1 and h2 put finished frames on the wire (no TSO/GSO super-frames,
# no partial checksums), so a capture at h1 shows exactly the bytes h2 must receive.
hosts_without_offloads() {
  local n
  for n in "$NS_H1" "$NS_H2"; do
    ns "$n" ethtool -K eth0 tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
}

can_ping() { ns "$NS_H1" ping -c1 -W1 "$H2_IP" >/dev/null 2>&1; }
cannot_ping() { ! ns "$NS_H1" ping -c2 -W1 "$H2_IP" >/dev/null 2>&1; }

wait_ping() {
  local i
  for i in $(seq 50); do can_ping && return 0; sleep 0.1; done
  return 1
}

# build_c_reference: the C reference forwarder (netns-tests/bench/tapfwd.c) as $FT_OUT/tapfwd,
# for the benchmarks.
build_c_reference() {
  gcc -O2 -Wall -pthread -o "$FT_OUT/tapfwd" "$FT_ROOT/netns-tests/bench/tapfwd.c"
}

# start_flowtap ARGS...: runs flowtap in the probe namespace; its output goes to $FT_OUT/flowtap.log.
# Its control socket is $FT_OUT/control.sock (FT_CONTROL) unless ARGS name one, so that tests
# never share one, nor leave one in the host's /run.
FT_CONTROL=$FT_OUT/control.sock
start_flowtap() {
  local control=(--control "$FT_CONTROL") seccomp=()
  [[ " $* " == *" --control "* ]] && control=()
  # --seccomp trap, so that a call the allowlist lacks is named in the log (and fails the test,
  # see stop_flowtap); FT_SECCOMP= runs flowtap's default instead.
  [[ -n ${FT_SECCOMP-trap} && " $* " != *" --seccomp "* ]] && seccomp=(--seccomp "${FT_SECCOMP-trap}")
  chmod 755 "$FT_OUT"
  # The log of an earlier run is kept for seccomp_refusals.
  [[ ! -f $FT_OUT/flowtap.log ]] || cat "$FT_OUT/flowtap.log" >>"$FT_OUT/flowtap-earlier.log"
  # FT_SCHED: a scheduling command flowtap runs under, e.g. "chrt -f 10".
  local sched=()
  read -r -a sched <<<"${FT_SCHED:-}"
  ip netns exec "$NS_P" "${sched[@]}" "$FT_BIN" run --tap-a tapa --tap-b tapb "${control[@]}" "${seccomp[@]}" "$@" >"$FT_OUT/flowtap.log" 2>&1 &
  PID_FLOWTAP=$!
  FT_PIDS+=("$PID_FLOWTAP")
}

# take_over LOG ARGS...: a new flowtap takes the TAPs and the flows over from the running one
# (--takeover, ARGS its options; its log LOG), which is waited for: PID_FLOWTAP is the new one,
# OLD_PID and OLD_RC the old one's.
take_over() {
  local log=$1; shift
  OLD_PID=$PID_FLOWTAP
  ip netns exec "$NS_P" "$FT_BIN" run --tap-a tapa --tap-b tapb --control "$FT_CONTROL" --seccomp trap --takeover "$@" \
    >"$log" 2>&1 &
  PID_FLOWTAP=$!
  FT_PIDS+=("$PID_FLOWTAP")
  OLD_RC=0
  wait "$OLD_PID" || OLD_RC=$?
}

# stop_flowtap [SIGNAL]: SIGTERM (or SIGNAL), then waits; sets FLOWTAP_RC. (A system call the
# seccomp allowlist refused fails the test in finish or cleanup, whoever stopped flowtap.)
stop_flowtap() {
  kill -"${1:-TERM}" "$PID_FLOWTAP" 2>/dev/null || true
  FLOWTAP_RC=0
  wait "$PID_FLOWTAP" || FLOWTAP_RC=$?
}

# start_nfcapd PORT DIR: nfcapd in the collector namespace.
start_nfcapd() {
  mkdir -p "$2"
  ip netns exec "$NS_C" nfcapd -w "$2" -p "$1" -b "$C_IP" -t 3600 -I flowtap >"$FT_OUT/nfcapd.log" 2>&1 &
  PID_NFCAPD=$!
  FT_PIDS+=("$PID_NFCAPD")
}

# stop_pid PID [SIGNAL]: SIGNAL (TERM by default), up to 5 s to exit, then KILL; waits for it.
stop_pid() {
  local i
  kill -"${2:-TERM}" "$1" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# wait_for_file FILE: until a background writer has created it (tcpdump, servers).
wait_listening() {  # wait_listening NS PORT PROTO(t|u)
  local i
  for i in $(seq 50); do
    ns "$1" ss -"$3"lnH "sport = :$2" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

# capture NAME NS IFACE DIRECTION [FILTER...]: tcpdump into $FT_OUT/NAME.pcap, full frames,
# only frames going DIRECTION (in|out) on IFACE; returns once tcpdump is listening. Immediate
# mode: with TPACKET_V3 block buffering, the frames of a partly filled block are lost when
# tcpdump is stopped within a second of them.
capture() {
  local name=$1 n=$2 dev=$3 dir=$4; shift 4
  ip netns exec "$n" tcpdump -i "$dev" -Q "$dir" -n -U --immediate-mode -s "${SNAPLEN:-0}" -B 65536 -w "$FT_OUT/$name.pcap" "$@" 2>"$FT_OUT/$name.tcpdump.log" &
  FT_PIDS+=("$!")
  eval "PID_CAP_$name=$!"
  local i
  for i in $(seq 50); do grep -q "listening on" "$FT_OUT/$name.tcpdump.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "tcpdump on $dev did not start: $(cat "$FT_OUT/$name.tcpdump.log")" >&2
  return 1
}

stop_capture() { local v="PID_CAP_$1"; sleep 0.3; stop_pid "${!v}"; }

# capture_complete NAME...: tcpdump lost no frame in any of them (a lost frame would make the
# ground truth wrong).
capture_complete() {
  local name
  for name; do grep -q "^0 packets dropped by kernel" "$FT_OUT/$name.tcpdump.log" || return 1; done
}

# iperf3_server: in h2, answering until cleanup.
iperf3_server() {
  spawn IPERF "$NS_H2" iperf3 -s -p 5201 >"$FT_OUT/iperf3-server.log" 2>&1
  wait_listening "$NS_H2" 5201 t
}

# traffic: the mixed set every export test sends through the probe: ICMP echo, TCP both ways
# (several MB each), UDP, and large ICMP.
traffic() {
  ns "$NS_H1" ping -c 20 -i 0.02 -q "$H2_IP" >/dev/null
  # Paced so that the captures that serve as ground truth keep up on two cores.
  ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n "${TCP_BYTES:-5M}" -b "${TCP_RATE:-300M}" --cport 40001 >"$FT_OUT/iperf-tcp-up.log"
  ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -n "${TCP_BYTES:-5M}" -b "${TCP_RATE:-300M}" --cport 40002 -R >"$FT_OUT/iperf-tcp-down.log"
  ns "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -u -b 20M -l 1200 -n 2M --cport 40003 >"$FT_OUT/iperf-udp.log"
  ns "$NS_H2" ping -c 5 -i 0.05 -s 1400 -q "$H1_IP" >/dev/null
}

H1_IP6=fd00:77::1
H2_IP6=fd00:77::2
P_IP6=fd00:9::1
C_IP6=fd00:9::2

# ipv6_up: IPv6 on the hosts' links (fd00:77::/64) and on the collector link (fd00:9::/64),
# with static neighbours and no router solicitations. Call it before flowtap starts: the
# hosts' MLD reports then go out while there is no path, and do not land in the flows.
ipv6_up() {
  local n dev
  for n in "$NS_H1:eth0" "$NS_H2:eth0" "$NS_P:vc" "$NS_C:eth0"; do
    dev=${n#*:}; n=${n%%:*}
    ns "$n" sysctl -qw "net.ipv6.conf.$dev.router_solicitations=0"
    ns "$n" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=0"
  done
  ip -n "$NS_H1" addr add "$H1_IP6/64" dev eth0 nodad
  ip -n "$NS_H2" addr add "$H2_IP6/64" dev eth0 nodad
  ip -n "$NS_P" addr add "$P_IP6/64" dev vc nodad
  ip -n "$NS_C" addr add "$C_IP6/64" dev eth0 nodad
  ns "$NS_H1" ip -6 neigh replace "$H2_IP6" lladdr "$H2_MAC" dev eth0 nud permanent
  ns "$NS_H2" ip -6 neigh replace "$H1_IP6" lladdr "$H1_MAC" dev eth0 nud permanent
}

# traffic6: IPv6 ICMP echo, TCP and UDP through the probe.
traffic6() {
  ns "$NS_H1" ping -6 -c 10 -i 0.02 -q "$H2_IP6" >/dev/null
  ns "$NS_H1" iperf3 -6 -c "$H2_IP6" -p 5201 -n "${TCP6_BYTES:-2M}" -b "${TCP_RATE:-300M}" --cport 40011 >"$FT_OUT/iperf6-tcp.log"
  ns "$NS_H1" iperf3 -6 -c "$H2_IP6" -p 5201 -u -b 10M -l 1000 -n 1M --cport 40013 >"$FT_OUT/iperf6-udp.log"
}

# start_nfcapd_named NAME ADDR PORT [nfcapd options]: another nfcapd in the collector namespace,
# storing in $FT_OUT/NAME.
start_nfcapd_named() {
  local name=$1 addr=$2 port=$3; shift 3
  mkdir -p "$FT_OUT/$name"
  ip netns exec "$NS_C" nfcapd -w "$FT_OUT/$name" -p "$port" -b "$addr" -t 3600 -I "$name" "$@" >"$FT_OUT/$name.log" 2>&1 &
  FT_PIDS+=("$!")
  eval "PID_NFCAPD_$name=$!"
}

# The link as the hosts see it across a handover, a crash or a restart (tools/streams.py):
# paced UDP streams with sequence numbers each way (STREAM_RATE datagrams a second, default
# 2000), a paced TCP transfer (iperf3, needs iperf3_server) for SECONDS, and pings for 2 s more.
STREAM_RATE=${STREAM_RATE:-2000}
streams_start() {
  local secs=$1 tools="$FT_ROOT/netns-tests/tools" i
  spawn SRX_AB "$NS_H2" python3 -u "$tools/streams.py" receive 7001 "$FT_OUT/stream-ab.json" >"$FT_OUT/srx-ab.log" 2>&1
  spawn SRX_BA "$NS_H1" python3 -u "$tools/streams.py" receive 7002 "$FT_OUT/stream-ba.json" >"$FT_OUT/srx-ba.log" 2>&1
  for i in $(seq 50); do grep -q listening "$FT_OUT/srx-ab.log" "$FT_OUT/srx-ba.log" 2>/dev/null && \
    [[ $(cat "$FT_OUT/srx-ab.log" "$FT_OUT/srx-ba.log" | grep -c listening) -eq 2 ]] && break; sleep 0.1; done
  spawn STX_AB "$NS_H1" python3 "$tools/streams.py" send "$H2_IP" 7001 "$STREAM_RATE" "$secs" 7101
  spawn STX_BA "$NS_H2" python3 "$tools/streams.py" send "$H1_IP" 7002 "$STREAM_RATE" "$secs" 7102
  # Each reply logged with its time (-D), so that pings_lost can tell the last one apart. Two
  # seconds past the others: ping stops at its deadline without waiting for the replies to what
  # it has just sent, so a deadline inside a handover's or a restart's gap (a reload that came
  # late, at 13 s of 13, in one CI run of test_crash_keeper.sh: 4 pings, the last before the
  # deadline, while the streams lost nothing and the TAPs forwarded every frame) counted the
  # gap's pings as lost.
  spawn PINGS "$NS_H1" ping -i 0.01 -w "$((secs + 2))" -D "$H2_IP" >"$FT_OUT/pings.log" 2>&1
  spawn TCP "$NS_H1" iperf3 -c "$H2_IP" -p 5201 -t "$secs" -b 20M --cport 40001 >"$FT_OUT/iperf-tcp.log" 2>&1
}

# streams_wait: until the senders, the pings and the transfer are done and the receivers wrote.
streams_wait() {
  wait "$PID_STX_AB" "$PID_STX_BA" 2>/dev/null || true
  wait "$PID_PINGS" 2>/dev/null || true
  wait "$PID_TCP" 2>/dev/null || true
  wait "$PID_SRX_AB" "$PID_SRX_BA" 2>/dev/null || true
}

# pings_lost: the pings streams_start sent that got no reply, but the last: ping stops at its
# deadline (-w) without waiting for the reply to the request it sent just before, which then
# counted as lost (a ping of 726 in one CI run of test_handover_failed.sh; about one run in
# fifty at a 0.3 ms round trip and a 15 ms interval). Their sequence numbers, with the time of
# the reply before the first, on stderr.
pings_lost() {
  awk 'match($0, /icmp_seq=[0-9]+ /) { at[substr($0, RSTART + 9, RLENGTH - 10)] = $1 }
    / packets transmitted/ { sent = $1 }
    END { for (i = 1; i < sent; i++) if (!(i in at)) { n++; m = m " " i; if (!first) first = i }
          if (n) printf "    pings without a reply:%s (the reply before the first at %s)\n", m, at[first - 1] > "/dev/stderr"
          print n + 0 }' "$FT_OUT/pings.log"
}

# carrier_changes TAP: the kernel's count of the TAP's carrier going up or down.
carrier_changes() { ip netns exec "$NS_P" cat "/sys/class/net/$1/carrier_changes"; }

# captured_link_up: the topology with hosts that put finished frames on the wire, nfcapd on
# C_IP:4739 into $FT_OUT/nfcap, and a capture of the frames each TAP gives flowtap
# ($FT_OUT/tapa.pcap, tapb.pcap): the ground truth of the life-cycle tests.
captured_link_up() {
  topology_up
  hosts_without_offloads
  start_nfcapd 4739 "$FT_OUT/nfcap"
  SNAPLEN=128 capture tapa "$NS_P" tapa out
  SNAPLEN=128 capture tapb "$NS_P" tapb out
}

# collector_checks LABEL FLOWCHECK-ARGS...: once flowtap has stopped, the captures lost no
# frame, every flow at nfcapd holds the captured packets and bytes as `flowcheck.py counts
# FLOWCHECK-ARGS` says (LABEL names what that checks), and nfcapd counts no sequence failure.
collector_checks() {
  local label=$1 tools="$FT_ROOT/netns-tests/tools" seqfail; shift
  stop_capture tapa; stop_capture tapb
  check "the TAP captures lost no frame" capture_complete tapa tapb
  sleep 0.5
  stop_pid "$PID_NFCAPD"
  python3 "$tools/pcapflows.py" "$FT_OUT/tapa.pcap" "$FT_OUT/tapb.pcap" >"$FT_OUT/truth.json"
  nfdump -R "$FT_OUT/nfcap" -a -o csv | python3 "$tools/nfdump2json.py" >"$FT_OUT/nfdump.json"
  check "$label" python3 "$tools/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/nfdump.json" "$@"
  seqfail=$(nfdump -R "$FT_OUT/nfcap" -I | awk -F': *' '/^Sequence failures/{print $2}')
  check "nfcapd counts no sequence failure (got '${seqfail}')" test "${seqfail:-x}" = 0
}

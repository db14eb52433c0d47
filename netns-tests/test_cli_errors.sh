#!/usr/bin/env bash
# test_cli_errors.sh - bad input gets one line that names the problem and the fix, and a
# non-zero exit; never a stack trace. Runs flowtap in the probe namespace of a real topology.
source "$(dirname "$0")/lib.sh"
plan 29
require_root
needs python3 setpriv
topology_up

# rejects WORD ARGS...: flowtap run ARGS fails with one line on stderr, starting with
# "flowtap: error:" and containing WORD, nothing on stdout, and no trace.
rejects() {
  local word=$1; shift
  local out err rc=0
  out=$(ip netns exec "$NS_P" ${RUNAS:-} "${BIN:-$FT_BIN}" run "$@" 2>"$FT_OUT/err") || rc=$?
  err=$(cat "$FT_OUT/err")
  if [[ $rc -eq 0 ]]; then echo "    exit 0 for: $*"; return 1; fi
  if [[ $(printf '%s\n' "$err" | wc -l) -ne 1 ]]; then echo "    not one line: $err"; return 1; fi
  if [[ $err != "flowtap: error: "* ]]; then echo "    unexpected form: $err"; return 1; fi
  if [[ $err != *"$word"* ]]; then echo "    does not say '$word': $err"; return 1; fi
  if [[ -n $out ]]; then echo "    stdout not empty: $out"; return 1; fi
  if grep -qiE "stack|backtrace|fatal error|#[0-9]+ 0x" <<<"$err"; then echo "    trace: $err"; return 1; fi
  echo "    $err"
}

TAPS=(--tap-a tapa --tap-b tapb)
C=(--collector "$C_IP:4739")
check "unknown flag" rejects "--bogus" "${TAPS[@]}" "${C[@]}" --bogus
check "missing collector" rejects "collector" "${TAPS[@]}"
check "collector port out of range" rejects "port" "${TAPS[@]}" --collector "$C_IP:99999"
check "collector that does not parse" rejects "neither an IP address" "${TAPS[@]}" --collector "not a host:4739"
check "IPv6 collector without brackets" rejects "brackets" "${TAPS[@]}" --collector "fd00::2:4739"
check "unknown collector format" rejects "unknown format" "${TAPS[@]}" --collector "sflow://$C_IP:6343"
check "unknown --format" rejects "--format" "${TAPS[@]}" "${C[@]}" --format sflow
check "observation domain 0 with IPFIX" rejects "observation-domain 0" "${TAPS[@]}" "${C[@]}" --observation-domain 0
check "the same collector twice" rejects "twice" "${TAPS[@]}" "${C[@]}" --collector "ipfix://$C_IP:4739"
check "zero idle timeout" rejects "--idle-timeout is 0" "${TAPS[@]}" "${C[@]}" --idle-timeout 0
check "negative active timeout" rejects "--active-timeout is -3" "${TAPS[@]}" "${C[@]}" --active-timeout -3
check "timeout that is not a number" rejects "idle-timeout" "${TAPS[@]}" "${C[@]}" --idle-timeout soon
check "MTU too small for one record" rejects "--mtu" "${TAPS[@]}" "${C[@]}" --mtu 100
check "unknown record set" rejects "--record" "${TAPS[@]}" "${C[@]}" --record l2,l9
check "same TAP twice" rejects "both" --tap-a tapa --tap-b tapa "${C[@]}"
check "TAP name too long" rejects "not a valid interface name" --tap-a tap-name-far-too-long --tap-b tapb "${C[@]}"
check "interface that is not a TAP" rejects "not a TAP" --tap-a vc --tap-b tapb "${C[@]}"
check "no route to the collector" rejects "no route" "${TAPS[@]}" --collector 10.200.0.1:4739
check "source that is not an address" rejects "--source" "${TAPS[@]}" "${C[@]}" --source 10.1
check "two sources of one family" rejects "more than one --source" "${TAPS[@]}" "${C[@]}" --source 10.77.9.1 --source 10.77.9.3
check "a source that is not an address of this host" rejects "not an address of this host" "${TAPS[@]}" "${C[@]}" --source 10.77.9.99
check "a user that does not exist" rejects "--user flowtap-nosuchuser is not a user" "${TAPS[@]}" "${C[@]}" --user flowtap-nosuchuser
check "an unknown --seccomp value" rejects "seccomp" "${TAPS[@]}" "${C[@]}" --seccomp maybe

# hints WORDS...: flowtap WORDS --bogus points at the help of the subcommand it was given.
hints() {
  local err
  err=$("${FT_BIN}" "$@" --bogus 2>&1 >/dev/null)
  echo "    $err"
  [[ $err == "flowtap: error: Unknown option '--bogus'; see 'flowtap $* --help'" ]]
}
check "an unknown option of read points at 'flowtap read --help'" hints read
check "an unknown option of show flows points at 'flowtap show flows --help'" hints show flows

start_flowtap "${C[@]}"
check "the first flowtap runs" wait_ping
check "TAP already in use" rejects "already attached" "${TAPS[@]}" "${C[@]}"
stop_flowtap

# Without root: a copy of the binary anyone may run, started as nobody with no capabilities.
mkdir -p "$FT_OUT/bin" && chmod 755 "$FT_OUT" "$FT_OUT/bin"
cp "$FT_BIN" "$FT_OUT/bin/flowtap" && chmod 755 "$FT_OUT/bin/flowtap"
check "no permission names the missing capability" env BIN="$FT_OUT/bin/flowtap" \
  RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all" \
  bash -c "$(declare -f rejects); NS_P=$NS_P FT_OUT=$FT_OUT rejects CAP_NET_ADMIN ${TAPS[*]} ${C[*]}"
check "the fix is root or systemd, never file capabilities on the binary" \
  bash -c "grep -q 'run it as root' '$FT_OUT/err' && grep -q 'AmbientCapabilities=' '$FT_OUT/err' && ! grep -q \"setcap cap_\" '$FT_OUT/err'"
finish

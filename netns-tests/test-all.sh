#!/usr/bin/env bash
# test-all.sh - everything CI runs, from a clean clone, as root:
#   1. installs the Debian packages the tests use (only those missing),
#   2. builds flowtap (release),
#   3. runs the unit tests (swift test, XCTest), plain, under ThreadSanitizer and under
#      AddressSanitizer,
#   4. runs the libFuzzer target of the per-frame path for 60 s (Fuzz/fuzz.sh),
#   5. runs every netns-tests/test_*.sh against real TAPs, a real bridge and real collectors.
# Every step runs under a time limit.
# Exits non-zero on any failure. The last line is the netns tally.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [[ $EUID -ne 0 ]]; then
  echo "test-all.sh: run as root (the netns tests create namespaces and TAPs)" >&2
  exit 1
fi

# Debian packages used by the tests: iproute2 (ip, ss), iputils-ping, ethtool, tcpdump, tshark,
# nfdump (nfcapd), pmacct (nfacctd), iperf3, python3 and python3-scapy (frame injection, run as
# /usr/bin/python3), netsniff-ng (trafgen) and gcc (bench.sh and its C reference), util-linux
# (setpriv, unshare), linux-libc-dev (for the build), systemd (systemd-analyze verify of the unit),
# prometheus (the server and promtool that scrape and lint --metrics) and curl.
PACKAGES=(iproute2 iputils-ping ethtool tcpdump tshark nfdump pmacct iperf3 netsniff-ng gcc python3 python3-scapy util-linux linux-libc-dev systemd prometheus curl)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq || { echo "apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { echo "apt-get install failed" >&2; exit 1; }
fi
modprobe tun 2>/dev/null || true
# PyPI parsers the python collectors wrap (netns-tests/collectors/pycollect.py): python-ipfix
# (strict RFC 7011 reader) and netflow (v5/v9/IPFIX).
if ! python3 -c "import ipfix, netflow" 2>/dev/null; then
  echo "== installing from PyPI: ipfix netflow"
  python3 -m pip install -q ipfix netflow 2>/dev/null || python3 -m pip install -q --break-system-packages ipfix netflow \
    || { echo "pip install ipfix netflow failed" >&2; exit 1; }
fi

# Every step runs under a time limit, so that a hang fails instead of stalling CI (90 min in
# all). Seconds; the longest steps are the sanitizer builds.
limit() { local seconds=$1; shift; timeout --kill-after=15 "$seconds" "$@"; }
timed_out() { [[ $1 -eq 124 || $1 -eq 137 ]]; }

echo "== build (release)"
limit 900 swift build -c release 2>&1 | tail -3
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build failed" >&2; exit 1; }
export FT_BIN=$ROOT/.build/release/flowtap

# unit NAME ARGS...: swift test (XCTest) with ARGS, its log in /tmp/flowtap-NAME.log.
unit_failures=()
unit() {
  local name=$1; shift
  echo "== unit tests ($name)"
  limit 1800 swift test --disable-swift-testing "$@" 2>&1 | tee "/tmp/flowtap-$name.log" \
    | grep -E "error:|failed|Executed .* tests|WARNING: ThreadSanitizer|ERROR: AddressSanitizer" | tail -20
  local rc=${PIPESTATUS[0]}
  if timed_out "$rc"; then echo "unit tests ($name) timed out"; fi
  # A sanitizer report fails the run even where the test that raised it passed.
  if grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer" "/tmp/flowtap-$name.log"; then rc=1; fi
  [[ $rc -eq 0 ]] || unit_failures+=("$name")
}
unit plain
unit tsan --sanitize=thread --scratch-path .build-tsan
# LeakSanitizer reports XCTest's own objects at exit (its test registry, a weak reference in its
# runner; no frame of FlowTap's), and a suppression cannot tell them from a leak of ours, since
# every test runs under XCTest's frames. So this run reports address errors only; the fuzzer
# below runs LeakSanitizer over the whole per-frame path and the encoders.
ASAN_OPTIONS=detect_leaks=0 unit asan --sanitize=address --scratch-path .build-asan

echo "== fuzz (60 s)"
limit 1200 bash Fuzz/fuzz.sh 60 | tail -3
fuzz_rc=${PIPESTATUS[0]}

echo "== netns tests"
passed=0 failed=0 failures=()
for t in "$ROOT"/netns-tests/test_*.sh; do
  name=$(basename "$t")
  echo "-- $name"
  limit "${FT_TEST_LIMIT:-600}" bash "$t"
  rc=$?
  if timed_out "$rc"; then echo "  FAIL - $name timed out after ${FT_TEST_LIMIT:-600} s"; fi
  if [[ $rc -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
done
[[ ${#unit_failures[@]} -eq 0 ]] || echo "unit tests FAILED: ${unit_failures[*]} (see /tmp/flowtap-*.log)"
[[ $fuzz_rc -eq 0 ]] || echo "fuzz FAILED (see Fuzz/artifacts)"
[[ $failed -eq 0 ]] || echo "netns tests failed: ${failures[*]}"
echo "netns-tests: $passed passed, $failed failed"
[[ ${#unit_failures[@]} -eq 0 && $fuzz_rc -eq 0 && $failed -eq 0 ]]

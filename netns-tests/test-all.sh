#!/usr/bin/env bash
# test-all.sh - everything CI runs, from a clean clone, as root:
#   1. installs the Debian packages the tests use (only those missing),
#   2. builds flowtap (release),
#   3. runs the unit tests (swift test, XCTest),
#   4. runs every netns-tests/test_*.sh against real TAPs, a real bridge and real collectors.
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
# (setpriv), linux-libc-dev (for the build).
PACKAGES=(iproute2 iputils-ping ethtool tcpdump tshark nfdump pmacct iperf3 netsniff-ng gcc python3 python3-scapy util-linux linux-libc-dev)
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

echo "== build (release)"
swift build -c release 2>&1 | tail -3
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build failed" >&2; exit 1; }
export FT_BIN=$ROOT/.build/release/flowtap

echo "== unit tests"
swift test --disable-swift-testing 2>&1 | tee /tmp/flowtap-unit.log | grep -E "error:|failed|Executed .* tests" | tail -20
unit_rc=${PIPESTATUS[0]}

echo "== netns tests"
passed=0 failed=0 failures=()
for t in "$ROOT"/netns-tests/test_*.sh; do
  name=$(basename "$t")
  echo "-- $name"
  if bash "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
done
[[ $unit_rc -eq 0 ]] || echo "unit tests FAILED (see /tmp/flowtap-unit.log)"
[[ $failed -eq 0 ]] || echo "netns tests failed: ${failures[*]}"
echo "netns-tests: $passed passed, $failed failed"
[[ $unit_rc -eq 0 && $failed -eq 0 ]]

#!/usr/bin/env bash
# install-deps.sh - installs what flowtap's demo and tests use, only what is missing: Debian
# packages with apt-get, the PyPI parsers and pytest with pip. test-all.sh and demo.sh both run
# it first, so either works first on a fresh Debian machine. Needs root.
set -uo pipefail

if [[ $EUID -ne 0 ]]; then
  echo "install-deps.sh: run as root (apt-get install); e.g. sudo $0" >&2
  exit 1
fi

# iproute2 (ip, ss), iputils-ping, ethtool, tcpdump, tshark, nfdump (nfcapd), pmacct (nfacctd),
# iperf3, python3 and python3-scapy (frame injection, run as /usr/bin/python3), netsniff-ng
# (trafgen) and gcc (bench.sh and its C reference), util-linux (setpriv, unshare),
# linux-libc-dev (for the build), systemd (systemd-analyze verify of the unit), prometheus (the
# server and promtool that scrape and lint --metrics) and curl; for the Debian package
# (contrib/package.sh, test_package.sh): dpkg-dev (dpkg-shlibdeps), binutils (strip),
# lintian, man-db (man -w) and adduser (the package's postinst); libfixbuf-tools (ipfixDump, CERT's reader of
# the IPFIX files `flowtap read --output` writes) and softflowd (bench-read.sh's peer); openssl,
# dnsmasq-base and bind9-dnsutils (dig): the TLS server and client, the resolver and its
# client of test_app_fields.sh; openssh-client (ssh, test_app_operate.sh) and libndpi-bin
# (ndpiReader, nDPI's reader: test_app_fields.sh and bench-read.sh compare with it).
PACKAGES=(iproute2 iputils-ping ethtool tcpdump tshark nfdump pmacct iperf3 netsniff-ng gcc python3 python3-scapy util-linux linux-libc-dev systemd prometheus curl dpkg-dev binutils lintian man-db adduser libfixbuf-tools softflowd openssl dnsmasq-base bind9-dnsutils openssh-client libndpi-bin)
missing=()
# Installed means "install ok installed": dpkg -s also succeeds for a package that was removed
# but not purged (its configuration files left), whose programs are gone.
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq || { echo "install-deps.sh: apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "install-deps.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
modprobe tun 2>/dev/null || true

# PyPI: the parsers the python collectors wrap (collectors/pycollect.py): python-ipfix (strict
# RFC 7011 reader) and netflow (v5/v9/IPFIX); pytest and scapy for the test tools' own tests
# (inject.py's frames; the tests send them with Debian's python3-scapy); aioquic, the QUIC
# client and server of test_app_quic.sh (tools/quicpeer.py) and of Fuzz/seed_quic.py. Installed
# for the python3 on the PATH, which runs them.
if ! python3 -c "import ipfix, netflow, pytest, scapy, aioquic" 2>/dev/null; then
  echo "== installing from PyPI: ipfix netflow pytest scapy aioquic"
  python3 -m pip install -q ipfix netflow pytest scapy aioquic 2>/dev/null \
    || python3 -m pip install -q --break-system-packages ipfix netflow pytest scapy aioquic \
    || { echo "install-deps.sh: pip install ipfix netflow pytest scapy aioquic failed" >&2; exit 1; }
fi

# Debian 13's nfdump, unpacked into /var/cache/flowtap-tests/nfdump-debian13 and not installed
# (Debian 12's stays the system's): nfdump 1.7.1, Debian 12's, stores an IPFIX record's
# applicationId byte-swapped, so it never finds the name the options records give it (fixed in
# nfdump 1.7.2); test_app_nfdump.sh reads flowtap's IPFIX names with this one. Its package from
# Debian's archive (apt-get download, signed by the keys of debian-archive-keyring, which Debian
# 12 ships), through a sources list of its own; it runs on Debian 12's libraries. Without the
# archive's trixie suite it is left out and that test skips.
NFDUMP13=${FT_NFDUMP13:-/var/cache/flowtap-tests/nfdump-debian13}
if [[ ! -x $NFDUMP13/usr/bin/nfdump ]]; then
  echo "== fetching Debian 13's nfdump into $NFDUMP13"
  apt13=$(mktemp -d)
  mkdir -p "$apt13/lists/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$apt13/sources.list"
  aptopts=(-o Dir::Etc::sourcelist="$apt13/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$apt13/lists"
    -o APT::Sandbox::User=root)
  if apt-get "${aptopts[@]}" update -qq >"$apt13/log" 2>&1 \
    && (cd "$apt13" && apt-get "${aptopts[@]}" download nfdump >>"$apt13/log" 2>&1) \
    && mkdir -p "$NFDUMP13" && dpkg-deb -x "$apt13"/nfdump_*.deb "$NFDUMP13" \
    && "$NFDUMP13/usr/bin/nfdump" -V >/dev/null 2>&1; then
    echo "   $("$NFDUMP13/usr/bin/nfdump" -V)"
  else
    echo "install-deps.sh: could not fetch Debian 13's nfdump (test_app_nfdump.sh will skip):" >&2
    tail -3 "$apt13/log" >&2
    rm -rf "$NFDUMP13"
  fi
  rm -rf "$apt13"
fi

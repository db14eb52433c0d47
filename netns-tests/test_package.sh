#!/usr/bin/env bash
# test_package.sh - the Debian package as a user gets it: contrib/package.sh builds the .deb
# from this checkout, lintian reports no error, its Installed-Size is at most 25 MiB and it
# depends on libc6, libgcc-s1 and libstdc++6 alone (no libcurl4), dpkg -i installs it, and
# then: --version is VERSION's; ldd shows the C and C++ libraries alone (no Swift runtime,
# Foundation, libdispatch or libcurl), nm and strings find no ICU in it, and the binary runs with an
# empty environment and the toolchain's folder hidden; man -w finds the page; the unit passes
# systemd-analyze verify; the flowtap account exists; the installed binary, as that account,
# forwards pings between two namespaces and exports them to nfcapd. dpkg --purge then leaves
# none of the package's files, /etc/flowtap or the account. It changes the host's /usr, /lib
# and /etc (and undoes it on any exit), so it refuses to run where a flowtap package is
# already installed. The static build takes a few minutes: FT_SKIP_PACKAGE=1 skips it
# (a skip fails CI).
source "$(dirname "$0")/lib.sh"
plan 17
require_root
[[ -z ${FT_SKIP_PACKAGE:-} ]] || skip "FT_SKIP_PACKAGE is set"
needs dpkg-deb dpkg-shlibdeps lintian man systemd-analyze python3 nfcapd nfdump ldd unshare
if dpkg-query -W -f='${Status}' flowtap 2>/dev/null | grep -q "installed"; then
  skip "a flowtap package is installed on this host; this test installs and purges its own"
fi
version=$(tr -d '[:space:]' <"$FT_ROOT/VERSION")
cleanup_extra() { dpkg-query -W flowtap >/dev/null 2>&1 && dpkg --purge flowtap >/dev/null 2>&1; }
trap cleanup EXIT

mkdir -p "$FT_OUT/deb"
bash "$FT_ROOT/contrib/package.sh" "$FT_OUT/deb" >"$FT_OUT/package.log" 2>&1 || true
tail -3 "$FT_OUT/package.log" | sed 's/^/    /'
deb=$FT_OUT/deb/flowtap_${version}_$(dpkg --print-architecture).deb
check "contrib/package.sh builds $(basename "$deb")" test -s "$deb"
[[ -s $deb ]] || { cat "$FT_OUT/package.log"; finish; }
lintian --fail-on error --info "$deb" >"$FT_OUT/lintian.log" 2>&1; lintian_rc=$?
sed 's/^/    lintian: /' "$FT_OUT/lintian.log"
check "lintian reports no error" test "$lintian_rc" -eq 0
dpkg -i "$deb" >"$FT_OUT/dpkg.log" 2>&1; dpkg_rc=$?
installed=$(dpkg-deb -f "$deb" Installed-Size)
depends=$(dpkg-deb -f "$deb" Depends)
echo "    Installed-Size: $installed KiB; Depends: $depends"
check "Installed-Size at most 25 MiB ($installed KiB)" test "$installed" -le 25600
# The libraries the binary links (from dpkg-shlibdeps), and adduser for the account the
# maintainer scripts make: nothing else, and no libcurl.
check "Depends names libc6, libgcc-s1, libstdc++6 and adduser alone ($depends)" python3 -c '
import re, sys
names = {re.split(r"[ (]", d.strip())[0] for d in sys.argv[1].split(",")}
sys.exit(0 if names == {"libc6", "libgcc-s1", "libstdc++6", "adduser"} else 1)' "$depends"
check "dpkg -i installs it" test "$dpkg_rc" -eq 0
dpkg -L flowtap >"$FT_OUT/files.txt"
check "flowtap --version is VERSION's ($version)" bash -c "test \"\$(/usr/sbin/flowtap --version)\" = '$version'"
ldd /usr/sbin/flowtap >"$FT_OUT/ldd.txt" 2>&1 || true
sed 's/^/    ldd: /' "$FT_OUT/ldd.txt"
check "ldd shows libc, libm, libstdc++ and libgcc_s alone" bash -c \
  "! grep -v -E '^\s*(linux-vdso|/lib64/ld-linux|(libc|libm|libstdc\+\+|libgcc_s)\.so)' '$FT_OUT/ldd.txt' | grep -q ."
icu=$( (nm -D /usr/sbin/flowtap 2>/dev/null; strings /usr/sbin/flowtap) | grep -Eic 'libicu|icudt|u_strToUpper|ucal_open' || true)
check "no ICU in the binary: no library, data or functions of it ($icu)" test "$icu" -eq 0
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
check "it runs with an empty environment and the toolchain ($toolchain) hidden" \
  unshare -m sh -c "mount -t tmpfs none '$toolchain' && env -i /usr/sbin/flowtap --version | grep -qx '$version' && env -i /usr/sbin/flowtap run --help | grep -q takeover"
check "man -w finds the page ($(man -w flowtap 2>&1))" bash -c "man -w flowtap | grep -q '/usr/share/man/man8/flowtap.8.gz'"
check "the page has flowtap's own sections" bash -c \
  "zcat /usr/share/man/man8/flowtap.8.gz | grep -q '^\.Sh SIGNALS' && zcat /usr/share/man/man8/flowtap.8.gz | grep -q 'Xr ip-tuntap 8' && MANWIDTH=80 man flowtap 2>/dev/null | grep -q 'EXIT STATUS'"
cp /usr/share/doc/flowtap/examples/flowtap.conf.example /etc/flowtap/wan.conf
systemd-analyze verify /lib/systemd/system/flowtap@.service >"$FT_OUT/verify.log" 2>&1; verify_rc=$?
sed 's/^/    /' "$FT_OUT/verify.log"
check "systemd-analyze verify accepts the installed unit" bash -c "test $verify_rc -eq 0 && ! test -s '$FT_OUT/verify.log'"
check "the flowtap system account exists ($(getent passwd flowtap))" bash -c \
  "getent passwd flowtap | awk -F: '\$3 < 1000 && \$7 ~ /nologin|false/' | grep -q . && getent group flowtap >/dev/null"

topology_up
start_nfcapd 4739 "$FT_OUT/nfcap"
FT_BIN=/usr/sbin/flowtap start_flowtap --collector "$C_IP:4739" --user flowtap
check "the installed binary forwards (h1 reaches h2)" wait_ping
ns "$NS_H1" ping -c 10 -i 0.05 -q "$H2_IP" >/dev/null || true
stop_flowtap
sleep 0.5
stop_pid "$PID_NFCAPD"
echo_pkts=$(nfdump -R "$FT_OUT/nfcap" -q -o 'fmt:%pkt' "src host $H1_IP and proto icmp" 2>/dev/null | awk '{s += $1} END {print s + 0}')
check "it ran as flowtap, stopped with exit 0, and nfcapd has the echo requests ($echo_pkts, at least 10)" bash -c \
  "test $FLOWTAP_RC -eq 0 && grep -q 'privileges dropped: uid $(id -u flowtap)' '$FT_OUT/flowtap.log' && test $echo_pkts -ge 10"

dpkg --purge flowtap >"$FT_OUT/purge.log" 2>&1
left=$(while read -r f; do if [[ -f $f ]]; then echo "$f"; fi; done <"$FT_OUT/files.txt")
check "dpkg --purge leaves none of the package's $(grep -c . "$FT_OUT/files.txt") paths' files (${left:-none left})" test -z "$left"
check "nor /etc/flowtap, /usr/share/doc/flowtap, the account or its group" bash -c \
  "! test -e /etc/flowtap && ! test -e /usr/share/doc/flowtap && ! getent passwd flowtap && ! getent group flowtap"
finish

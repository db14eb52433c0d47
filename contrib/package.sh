#!/usr/bin/env bash
# package.sh OUTDIR - builds OUTDIR/flowtap_VERSION_ARCH.deb from this checkout: a binary with
# the Swift runtime and FoundationEssentials linked in (--static-swift-stdlib; no ICU, no
# libcurl: it needs only the C and C++ libraries), the manual
# page from the CLI's own definitions (swift-argument-parser's generate-manual plugin, with
# contrib/man/flowtap-sections.mdoc for what it cannot know), the unit, the example
# configuration, and the maintainer scripts in contrib/debian/.
#
# dpkg-deb over a staged tree rather than dpkg-buildpackage: the Swift toolchain is not a
# Debian package, so a debian/ source package could not state its Build-Depends, and debhelper
# would add nothing the staging below does not (strip, gzip -9n, md5sums, shlibs:Depends from
# dpkg-shlibdeps). The version comes from VERSION alone; the changelog must agree.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: contrib/package.sh OUTDIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(tr -d '[:space:]' <"$root/VERSION")
arch=$(dpkg --print-architecture)
changelog_version=$(sed -n '1s/^flowtap (\([^)]*\)).*/\1/p' "$root/contrib/debian/changelog")
[[ $changelog_version == "$version" ]] || {
  echo "package.sh: contrib/debian/changelog is at $changelog_version and VERSION at $version; add a changelog entry" >&2
  exit 1
}
for tool in swift dpkg-deb dpkg-shlibdeps strip gzip; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (apt-get install dpkg-dev binutils, and a Swift toolchain)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/flowtap
cd "$root"

echo "== the manual page (generate-manual)"
swift package --disable-sandbox generate-manual --section 8 --authors "flowtap developers" >"$work/manual.log" 2>&1 || {
  cat "$work/manual.log" >&2; exit 1; }
page=$(find .build/plugins -path '*GenerateManual*' -name flowtap.8 | head -1)
[[ -n $page ]] || { echo "package.sh: generate-manual wrote no flowtap.8" >&2; exit 1; }
# The generated page's EXIT STATUS says only 0 or >0: flowtap's own sections take its place,
# before AUTHORS.
awk -v extra="$root/contrib/man/flowtap-sections.mdoc" '
  /^\.Sh "?EXIT STATUS"?$/ { skip = 1; while ((getline line < extra) > 0) print line; next }
  /^\.Sh / && skip { skip = 0 }
  !skip { print }' "$page" >"$work/flowtap.8"
grep -q '^\.Sh SIGNALS' "$work/flowtap.8" || { echo "package.sh: the manual page has no EXIT STATUS to replace" >&2; exit 1; }

echo "== the binary (swift build -c release --static-swift-stdlib)"
# -z now and relro: Debian's hardening (lintian's hardening-no-bindnow); Swift has no _FORTIFY_SOURCE.
swift build -c release --static-swift-stdlib --product flowtap --scratch-path "$root/.build-static" \
  -Xlinker -z -Xlinker now -Xlinker -z -Xlinker relro 2>&1 \
  | grep -E "error|warning:|Compiling|Build" | tail -3
binary=$root/.build-static/release/flowtap
"$binary" --version | grep -qx "$version" || { echo "package.sh: the binary says $("$binary" --version), VERSION $version" >&2; exit 1; }

echo "== staging"
install -D -m 0755 "$binary" "$stage/usr/sbin/flowtap"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/sbin/flowtap"
install -D -m 0644 "$work/flowtap.8" "$stage/usr/share/man/man8/flowtap.8"
gzip -9n "$stage/usr/share/man/man8/flowtap.8"
install -D -m 0644 contrib/systemd/flowtap@.service "$stage/lib/systemd/system/flowtap@.service"
install -D -m 0644 contrib/systemd/flowtap.conf.example "$stage/usr/share/doc/flowtap/examples/flowtap.conf.example"
install -D -m 0644 README.md "$stage/usr/share/doc/flowtap/README.md"
install -D -m 0644 contrib/debian/copyright "$stage/usr/share/doc/flowtap/copyright"
install -D -m 0644 contrib/debian/changelog "$stage/usr/share/doc/flowtap/changelog"
gzip -9n "$stage/usr/share/doc/flowtap/changelog"
# /etc/flowtap: where each instance's NAME.conf goes; it belongs to the package, and a purge
# removes it with what the administrator wrote there (postrm).
install -d -m 0755 "$stage/etc/flowtap"
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 contrib/debian/postinst contrib/debian/postrm "$stage/DEBIAN/"

mkdir -p "$work/shlibs/debian"
printf 'Source: flowtap\n\nPackage: flowtap\nArchitecture: any\n' >"$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$stage/usr/sbin/flowtap" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "package.sh: dpkg-shlibdeps found no dependency" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
  contrib/debian/control >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

deb=$out/flowtap_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"

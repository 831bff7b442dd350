#!/bin/bash
# npm run package:deb: builds dist/lvsd_VERSION_ARCH.deb with dpkg-deb from the staged tree (ARCH:
# the carried Node.js runtime's, amd64 on x86-64). Its dependencies on libc6, libgcc-s1 and
# libstdc++6 are what dpkg-shlibdeps computes for that runtime. The Maintainer field: see
# maintainer.sh (LVSD_MAINTAINER). LVSD_SKIP_STAGE=1 reuses build/pkg/root.
# LVSD_DEB_COMPRESSION: gzip (default; -6: the ~86 MB runtime compresses in seconds, where xz takes
# minutes on a busy 2-core builder) or xz (~25 % smaller; for release builds). Not zstd: lintian
# (Debian 12's) calls a zstd .deb malformed, though dpkg >= 1.21.18 installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC1091 # maintainer.sh, checked on its own
. packaging/maintainer.sh
[ "${LVSD_SKIP_STAGE:-}" = 1 ] || bash packaging/stage.sh
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
umask 022

VERSION=$(node -p "require('./package.json').version")
DEB_VERSION=${VERSION//-/\~}  # 1.0.0-rc.1 sorts before 1.0.0 only as 1.0.0~rc.1
# shellcheck source=/dev/null # written by stage-runtime.sh
. build/pkg/runtime.env
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

D=build/pkg/deb
rm -rf "$D"
cp -a build/pkg/root "$D"
DOC=$D/usr/share/doc/lvsd
install -m 0644 build/pkg/copyright "$DOC/copyright"
{
    printf 'lvsd (%s) unstable; urgency=medium\n\n  * Release %s, built from commit %s.\n\n' "$DEB_VERSION" "$VERSION" "$COMMIT"
    printf ' -- %s  %s\n' "$MAINTAINER" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$DOC/changelog.gz"

install -d -m 0755 "$D/DEBIAN"
for f in postinst prerm postrm; do install -m 0755 "packaging/debian/$f" "$D/DEBIAN/$f"; done
install -m 0644 packaging/debian/conffiles "$D/DEBIAN/conffiles"
install -D -m 0644 packaging/debian/lintian-overrides "$D/usr/share/lintian/overrides/lvsd"
SIZE=$(du -sk --exclude=DEBIAN "$D" | cut -f1)
# The runtime's shared library dependencies, as debhelper's dh_shlibdeps would write them (from
# the symbols files of the build machine's libc6, libgcc-s1 and libstdc++6); dpkg-shlibdeps
# wants a debian/control to read.
mkdir -p build/pkg/shlibdeps/debian
printf 'Source: lvsd\n\nPackage: lvsd\nArchitecture: any\n' > build/pkg/shlibdeps/debian/control
SHLIBS=$(cd build/pkg/shlibdeps && dpkg-shlibdeps --warnings=0 -O "-e$OLDPWD/$D/usr/lib/lvsd/node" | sed -n 's/^shlibs:Depends=//p')
[ -n "$SHLIBS" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies for the runtime" >&2; exit 1; }
sed -e "s/@DEB_VERSION@/$DEB_VERSION/" -e "s/@DEB_ARCH@/$DEB_ARCH/" -e "s/@SHLIBS_DEPENDS@/$SHLIBS/" -e "s/@INSTALLED_SIZE@/$SIZE/" \
    -e "s|@MAINTAINER@|$MAINTAINER|" packaging/debian/control.in > "$D/DEBIAN/control"
(cd "$D" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$D/DEBIAN/md5sums"
chmod 0644 "$D/DEBIAN/md5sums" "$D/DEBIAN/control"
find "$D" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p dist
OUT=dist/lvsd_${DEB_VERSION}_${DEB_ARCH}.deb
case ${LVSD_DEB_COMPRESSION:-gzip} in
    gzip) compress=(-Zgzip -z6) ;;
    xz) compress=(-Zxz) ;;
    *) echo "build-deb: LVSD_DEB_COMPRESSION must be gzip or xz" >&2; exit 1 ;;
esac
dpkg-deb --root-owner-group "${compress[@]}" --build "$D" "$OUT" > /dev/null
echo "$OUT"

#!/bin/bash
# npm run package:deb: builds dist/lvsd_VERSION_all.deb with dpkg-deb from the staged tree.
# LVSD_MAINTAINER overrides the Maintainer field. LVSD_SKIP_STAGE=1 reuses build/pkg/root.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${LVSD_SKIP_STAGE:-}" = 1 ] || bash packaging/stage.sh
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
umask 022

VERSION=$(node -p "require('./package.json').version")
DEB_VERSION=${VERSION//-/\~}  # 1.0.0-rc.1 sorts before 1.0.0 only as 1.0.0~rc.1
NODE_MIN=$(node -p "(require('./package.json').engines?.node ?? '>=20').replace(/^>=\s*/, '')")
MAINTAINER=${LVSD_MAINTAINER:-lvsd developers <lvsd@example.org>}
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
SIZE=$(du -sk --exclude=DEBIAN "$D" | cut -f1)
sed -e "s/@DEB_VERSION@/$DEB_VERSION/" -e "s/@NODE_MIN@/$NODE_MIN/" -e "s/@INSTALLED_SIZE@/$SIZE/" \
    -e "s|@MAINTAINER@|$MAINTAINER|" packaging/debian/control.in > "$D/DEBIAN/control"
(cd "$D" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$D/DEBIAN/md5sums"
chmod 0644 "$D/DEBIAN/md5sums" "$D/DEBIAN/control"
find "$D" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p dist
OUT=dist/lvsd_${DEB_VERSION}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$D" "$OUT" > /dev/null
echo "$OUT"

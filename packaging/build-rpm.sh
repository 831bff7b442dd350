#!/bin/bash
# npm run package:rpm: builds dist/lvsd-VERSION-1.ARCH.rpm with rpmbuild (Debian's rpm package)
# from the staged tree (ARCH: the carried Node.js runtime's, x86_64 on x86-64; rpmbuild's ELF
# dependency generator writes its libc.so.6(GLIBC_x.y) and libstdc++ requirements). The packager:
# see maintainer.sh (LVSD_MAINTAINER). LVSD_SKIP_STAGE=1 reuses build/pkg/root.
# LVSD_RPM_SIGN_KEY=KEYID signs the package with that GnuPG key (rpmsign).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC1091 # maintainer.sh, checked on its own
. packaging/maintainer.sh
[ "${LVSD_SKIP_STAGE:-}" = 1 ] || bash packaging/stage.sh
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
umask 022

VERSION=$(node -p "require('./package.json').version")
RPM_VERSION=${VERSION//-/\~}
# shellcheck source=/dev/null # written by stage-runtime.sh
. build/pkg/runtime.env
URL=$(node -p "const p = require('./package.json'); p.homepage ?? p.repository?.url ?? p.repository ?? ''")

TOP=$PWD/build/pkg/rpm
rm -rf "$TOP"
mkdir -p "$TOP"/{BUILD,RPMS,SPECS,SRPMS,SOURCES}
install -m 0644 build/pkg/copyright "$TOP/BUILD/copyright"
sed -e "s/@RPM_VERSION@/$RPM_VERSION/g" -e "s/@NODE_VERSION@/$NODE_VERSION/" \
    -e "s|@MAINTAINER@|$MAINTAINER|" -e "s/@RPM_DATE@/$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')/" \
    -e "s|@URL@|$URL|" packaging/rpm/lvsd.spec.in > "$TOP/SPECS/lvsd.spec"
[ -n "$URL" ] || sed -i '/^URL:/d' "$TOP/SPECS/lvsd.spec"

rpmbuild -bb --quiet --target "$RPM_ARCH" \
    --define "_topdir $TOP" \
    --define "lvsd_stage $PWD/build/pkg/root" \
    --define "_builddir $TOP/BUILD" \
    --define "use_source_date_epoch_as_buildtime 1" \
    --define "clamp_mtime_to_source_date_epoch 1" \
    --define "_buildhost reproducible" \
    --define "_binary_payload w10.zstdio" \
    --define "__os_install_post %{nil}" \
    --define "_docdir_fmt %%{NAME}" \
    "$TOP/SPECS/lvsd.spec"

mkdir -p dist
OUT=dist/lvsd-${RPM_VERSION}-1.${RPM_ARCH}.rpm
cp "$TOP/RPMS/$RPM_ARCH/lvsd-${RPM_VERSION}-1.${RPM_ARCH}.rpm" "$OUT"
if [ -n "${LVSD_RPM_SIGN_KEY:-}" ]; then
    # Debian's rpm calls gpg "gpg2".
    rpmsign --addsign --define "_gpg_name $LVSD_RPM_SIGN_KEY" --define "__gpg $(command -v gpg)" "$OUT" > /dev/null
fi
echo "$OUT"

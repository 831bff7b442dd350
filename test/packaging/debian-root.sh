#!/bin/bash
# Prints the path of a cached Debian root for the packaging tests, making it first if needed:
# debootstrap --variant=minbase, apt lists, and the .debs lvsd's install needs already downloaded
# (ipvsadm, procps, ca-certificates; systemd and man-db for systemd-analyze verify), so that a test
# run installs from the cache. No nodejs: the package carries its own runtime, and the test proves
# it runs in a root without one. Rebuilt when older than LVSD_PKGTEST_MAX_AGE_DAYS (14).
#
# The suite is Debian 13 (trixie). LVSD_PKGTEST_SUITE (e.g. bookworm, Debian 12) /
# LVSD_PKGTEST_MIRROR / LVSD_PKGTEST_CACHE override.
set -euo pipefail

SUITE=${LVSD_PKGTEST_SUITE:-trixie}
MIRROR=${LVSD_PKGTEST_MIRROR:-http://deb.debian.org/debian}
CACHE=${LVSD_PKGTEST_CACHE:-/var/cache/lvsd-pkgtest}
MAX_AGE=${LVSD_PKGTEST_MAX_AGE_DAYS:-14}
BASE=$CACHE/$SUITE-minbase
PREFETCH=(ipvsadm procps ca-certificates systemd man-db)

if [ -e "$BASE/.lvsd-ready" ] && [ -z "$(find "$BASE/.lvsd-ready" -mtime +"$MAX_AGE")" ]; then
    echo "$BASE"
    exit 0
fi

mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
flock 9
if [ -e "$BASE/.lvsd-ready" ] && [ -z "$(find "$BASE/.lvsd-ready" -mtime +"$MAX_AGE")" ]; then
    echo "$BASE"
    exit 0
fi
TMP=$BASE.new
rm -rf "$TMP"
echo "debian-root: debootstrap --variant=minbase $SUITE (once; cached in $BASE)" >&2
debootstrap --variant=minbase "$SUITE" "$TMP" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 || {
    tail -20 "$CACHE/debootstrap.log" >&2
    exit 1
}
chroot "$TMP" apt-get update -qq
chroot "$TMP" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --download-only "${PREFETCH[@]}" > /dev/null
touch "$TMP/.lvsd-ready"
rm -rf "$BASE"
mv "$TMP" "$BASE"
echo "$BASE"

#!/bin/bash
# Puts the Node.js runtime the packages carry into the staged tree: the build machine's node (or
# LVSD_NODE), with its debug symbols stripped, as ROOT/usr/lib/lvsd/node, so that lvsd needs no
# nodejs package on the director (Debian 12 and Ubuntu 22.04/24.04 ship Node.js 18 or older).
# Refuses a node that needs shared libraries beyond glibc, libstdc++ and libgcc_s (a distribution's
# nodejs linked against its libnode, libuv, OpenSSL or ICU cannot be carried): use a nodejs.org
# build, which links only those. Writes PKG/runtime.env (version, architecture, the highest
# GLIBC_/GLIBCXX_ symbol versions it references) and PKG/node-LICENSE (Node.js's LICENSE: its own
# MIT licence and those of every library built into it) for build-deb.sh, build-rpm.sh and
# tools/gen-copyright.mjs. Called by stage.sh. Usage: stage-runtime.sh PKG ROOT
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=$1
ROOT=$2

fail() {
    echo "stage-runtime: $*" >&2
    exit 1
}

NODE=$(readlink -f "${LVSD_NODE:-$(command -v node)}") || fail "no node found (set LVSD_NODE)"
[ -x "$NODE" ] || fail "$NODE is not an executable"

# The shared libraries it needs: only what every glibc system has.
needed=$(objdump -p "$NODE" | awk '$1 == "NEEDED" { print $2 }')
for lib in $needed; do
    case "$lib" in
        libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | libstdc++.so.6 | libgcc_s.so.1 | ld-linux-*.so.*) ;;
        *) fail "$NODE needs $lib, which the package cannot carry; build with a nodejs.org binary: LVSD_NODE=/path/to/node-vX-linux-x64/bin/node" ;;
    esac
done

read -r NODE_VERSION NODE_ARCH < <("$NODE" -p 'process.versions.node + " " + process.arch')
# package.json's engines.node (">=X.Y.Z") is what the bundle is built for.
MIN=$(node -p "(require('./package.json').engines?.node ?? '>=20').replace(/^>=\s*/, '')")
"$NODE" -e '
const [have, want] = process.argv.slice(1).map((v) => v.split(".").map(Number));
for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== (want[i] ?? 0)) process.exit((have[i] ?? 0) > (want[i] ?? 0) ? 0 : 1);
' "$NODE_VERSION" "$MIN" || fail "$NODE is Node.js $NODE_VERSION; package.json's engines wants >= $MIN"

case "$NODE_ARCH" in
    x64) DEB_ARCH=amd64 RPM_ARCH=x86_64 ;;
    arm64) DEB_ARCH=arm64 RPM_ARCH=aarch64 ;;
    *) fail "Node.js architecture $NODE_ARCH: add its Debian and RPM names here" ;;
esac

# The newest symbol versions it references: the oldest glibc / libstdc++ it runs with.
versions() { objdump -T "$NODE" | grep -o "$1[0-9.]*" | sort -Vu | tail -n 1 | sed "s/^$1//"; }
GLIBC_MIN=$(versions GLIBC_)
GLIBCXX_MIN=$(versions GLIBCXX_)

# Node.js's LICENSE: beside bin/ in a nodejs.org tarball, in the doc directory of a package.
LICENSE=${LVSD_NODE_LICENSE:-}
if [ -z "$LICENSE" ]; then
    for f in "$(dirname "$NODE")/../LICENSE" /usr/share/doc/nodejs/LICENSE /usr/share/doc/node/LICENSE; do
        if [ -f "$f" ]; then LICENSE=$f; break; fi
    done
fi
if [ -z "$LICENSE" ] || ! grep -q 'Node.js is licensed for use as follows' "$LICENSE"; then
    fail "Node.js's LICENSE file not found beside $NODE; set LVSD_NODE_LICENSE"
fi
install -m 0644 "$LICENSE" "$PKG/node-LICENSE"

install -d "$ROOT/usr/lib/lvsd"
strip --strip-unneeded -o "$ROOT/usr/lib/lvsd/node" "$NODE"
chmod 0755 "$ROOT/usr/lib/lvsd/node"

cat > "$PKG/runtime.env" << EOF
NODE_VERSION=$NODE_VERSION
NODE_ARCH=$NODE_ARCH
NODE_SOURCE=$NODE
DEB_ARCH=$DEB_ARCH
RPM_ARCH=$RPM_ARCH
GLIBC_MIN=$GLIBC_MIN
GLIBCXX_MIN=$GLIBCXX_MIN
EOF
echo "stage-runtime: Node.js $NODE_VERSION ($NODE_ARCH) from $NODE; needs glibc >= $GLIBC_MIN, libstdc++ GLIBCXX_$GLIBCXX_MIN"

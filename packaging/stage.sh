#!/bin/bash
# Builds the file tree both packages install, in build/pkg/root: the esbuild bundle, its
# package.json, the Node.js runtime that runs it (stage-runtime.sh), the systemd unit, the heartbeat and OCF scripts, the default lvsd.yaml, the man
# pages generated from the README, the docs and examples. Also build/pkg/copyright.
# Used by build-deb.sh and build-rpm.sh; needs node, esbuild (a devDependency) and binutils
# (objdump, strip). LVSD_NODE names the node binary to carry (default: the one on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=build/pkg
ROOT=$PKG/root
VERSION=$(node -p "require('./package.json').version")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
umask 022

rm -rf "$PKG"
mkdir -p "$ROOT"

# The program: the entry lvsd.js (signal handlers first, then the bundle), the bundle lvsd-main.js,
# the check threads' bundle lvsd-engine.js,
# and a package.json beside them (src/version.ts reads the version from the nearest package.json
# named lvsd; "type": "module" makes both ES modules).
node packaging/tools/bundle.mjs "$PKG"
install -D -m 0755 "$PKG/lvsd.js" "$ROOT/usr/lib/lvsd/lvsd.js"
install -m 0644 "$PKG/lvsd-main.js" "$ROOT/usr/lib/lvsd/lvsd-main.js"
install -m 0644 "$PKG/lvsd-engine.js" "$ROOT/usr/lib/lvsd/lvsd-engine.js"
printf '{\n  "name": "lvsd",\n  "version": "%s",\n  "type": "module",\n  "private": true\n}\n' "$VERSION" > "$ROOT/usr/lib/lvsd/package.json"
chmod 0644 "$ROOT/usr/lib/lvsd/package.json"
install -d "$ROOT/usr/bin"
ln -s ../lib/lvsd/lvsd.js "$ROOT/usr/bin/lvsd"
# The runtime: lvsd.js's "#!" line names /usr/lib/lvsd/node (see tools/bundle.mjs).
bash packaging/stage-runtime.sh "$PKG" "$ROOT"
install -m 0755 packaging/common/lvsd-stop "$ROOT/usr/lib/lvsd/lvsd-stop"
install -m 0755 packaging/common/lvsd-wait-ready "$ROOT/usr/lib/lvsd/lvsd-wait-ready"

# Cluster scripts: daemon-functions.sh is copied in where they say "# @include daemon-functions.sh",
# so that each installed script stands alone.
include_functions() {
    local src=$1 dst=$2
    awk -v lib=packaging/common/daemon-functions.sh '
        /^# @include daemon-functions.sh$/ { while ((getline line < lib) > 0) print line; close(lib); next }
        { gsub(/@VERSION@/, VERSION); print }' VERSION="$VERSION" "$src" > "$dst"
    chmod 0755 "$dst"
    bash -n "$dst"
}
install -d "$ROOT/etc/ha.d/resource.d" "$ROOT/usr/lib/ocf/resource.d/lvsd"
include_functions packaging/common/heartbeat-lvsd "$ROOT/etc/ha.d/resource.d/lvsd"
include_functions packaging/common/ocf-lvsd "$ROOT/usr/lib/ocf/resource.d/lvsd/lvsd"

install -D -m 0644 packaging/common/lvsd.service "$ROOT/usr/lib/systemd/system/lvsd.service"
install -D -m 0644 packaging/common/lvsd.yaml "$ROOT/etc/lvsd/lvsd.yaml"
install -d -m 0755 "$ROOT/etc/lvsd/conf.d" "$ROOT/etc/lvsd/maintenance" "$ROOT/var/lib/lvsd"

# Man pages.
node packaging/tools/gen-man.mjs "$PKG/man"
install -D -m 0644 "$PKG/man/lvsd.8" "$ROOT/usr/share/man/man8/lvsd.8"
install -D -m 0644 "$PKG/man/lvsd.yaml.5" "$ROOT/usr/share/man/man5/lvsd.yaml.5"
gzip -9n "$ROOT/usr/share/man/man8/lvsd.8" "$ROOT/usr/share/man/man5/lvsd.yaml.5"

# Monitoring: Prometheus alert rules (with their promtool unit tests) and a Grafana dashboard.
SHARE=$ROOT/usr/share/lvsd
install -D -m 0644 packaging/monitoring/lvsd-alerts.yml "$SHARE/prometheus/lvsd-alerts.yml"
install -m 0644 packaging/monitoring/lvsd-alerts.test.yml "$SHARE/prometheus/lvsd-alerts.test.yml"
install -D -m 0644 packaging/monitoring/lvsd-dashboard.json "$SHARE/grafana/lvsd-dashboard.json"

# Documentation and examples (each example directory is a valid config dir: lvsd check-config -c).
DOC=$ROOT/usr/share/doc/lvsd
install -D -m 0644 README.md "$DOC/README.md"
install -m 0644 packaging/README.md "$DOC/packaging.md"
for f in docs/*.md; do
    [ -e "$f" ] && install -m 0644 "$f" "$DOC/$(basename "$f")"
done
install -d "$DOC/examples/conf.d" "$DOC/examples/demo/conf.d"
install -m 0644 conf.d/*.yaml "$DOC/examples/conf.d/"
install -m 0644 examples/demo/lvsd.yaml "$DOC/examples/demo/lvsd.yaml"
install -m 0644 examples/demo/conf.d/*.yaml "$DOC/examples/demo/conf.d/"

node packaging/tools/gen-copyright.mjs "$PKG/lvsd.meta.json" "$PKG/copyright" "$PKG/node-LICENSE" "$PKG/runtime.env"

# Reproducible timestamps.
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# The staged runtime runs the staged bundle (the "#!" path exists only once installed).
got=$("$ROOT/usr/lib/lvsd/node" "$ROOT/usr/lib/lvsd/lvsd.js" --version)
[ "$got" = "lvsd $VERSION" ] || { echo "stage: the bundle says '$got', expected 'lvsd $VERSION'" >&2; exit 1; }
echo "stage: $ROOT ($got)"

#!/bin/bash
# Install the Debian packages the tests, benchmarks and kernel-test VM need (idempotent; root or sudo).
# Add a package here, and only here, when a test starts to need it.
set -euo pipefail
PACKAGES=(ipvsadm dnsmasq-base iproute2 openssl qemu-system-x86 busybox-static kmod cpio procps nftables xz-utils prometheus chromium
  rpm rpmlint lintian debootstrap resource-agents libxml2-utils gnupg groff-base man-db shellcheck)
PACKAGES+=(dpkg-dev)  # issue 19: dpkg-shlibdeps, the .deb's dependencies on what the carried Node.js runtime links
PACKAGES+=(binutils file)  # the packaging tier calls objdump and file itself (they came only as dependencies of dpkg-dev and lintian)
PACKAGES+=(haproxy)  # issue 13: the peer in bench/checks-peer; the kernel scale scenario's 1,000 backends
PACKAGES+=(keepalived)  # issues 10/13: the peer in test/kernel/scenarios-scale (same boot)
PACKAGES+=(ldirectord keepalived)  # issue 12: lvsd convert reads their sample configs; the kernel equivalence test runs both
PACKAGES+=(iputils-ping)  # issue 12: the ping check runs the system's ping (test/integration/check-ping)
PACKAGES+=(pdns-server pdns-backend-bind)  # issue 14: PowerDNS with a LUA ifurlextup record reads /health/vip (test/integration/vip-dns-powerdns)
PACKAGES+=(bird2 exabgp)  # issue 14: VIP announce: the exabgp backend test peers a real ExaBGP (running lvsd exabgp-bridge) with a real BIRD on loopback

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup-system: installing ${missing[*]}" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

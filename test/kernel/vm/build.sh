#!/bin/bash
# Build the kernel-test VM: Debian's own kernel (linux-image-amd64, fetched with apt-get download)
# plus an initramfs holding busybox, the boot modules (virtio, 9p, overlay) and a trimmed module
# tree for the guest (IPVS, netfilter/nftables, veth, dummy, tunnels, sctp).
# Idempotent: does nothing when the stamp (hash of these scripts + kernel package + busybox) matches.
# Prints the cache directory on stdout. Cache: $LVSD_VM_CACHE, default /var/cache/lvsd-vm.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)

cache_dir() {
  if [ -n "${LVSD_VM_CACHE:-}" ]; then echo "$LVSD_VM_CACHE"; return; fi
  if mkdir -p /var/cache/lvsd-vm 2>/dev/null && [ -w /var/cache/lvsd-vm ]; then
    echo /var/cache/lvsd-vm
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/lvsd-vm"
  fi
}
CACHE=$(cache_dir)
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
log() { echo "vm-build: $*" >&2; }

# Several engineers (and CI steps) may build at once: one builder at a time per cache.
exec 9>"$CACHE/.lock"
flock 9

# The VM's own tools (the guest uses the host's binaries too: ipvsadm, nft, dnsmasq, ip, node).
# setup-system.sh installs the project's whole list, so only call it when one of ours is missing.
for tool in qemu-system-x86_64 /bin/busybox cpio depmod modprobe xz ipvsadm nft dnsmasq ip sysctl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    bash "$repo/scripts/setup-system.sh"
    break
  fi
done

# Guest modules beyond the boot set. Whole directories keep autoloading (ipvsadm asking for an
# unlisted scheduler, nft asking for an expression) working; dependencies are added below.
GUEST_MODULE_DIRS=(net/netfilter net/ipv4 net/ipv6 net/sctp)
GUEST_MODULES=(veth dummy ipip ip6_tunnel tunnel4 tunnel6 ip_tunnel sctp nf_conntrack nf_tables)
BOOT_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

# The kernel package linux-image-amd64 points at today (no network if apt already knows it).
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}
pkg=$(kernel_pkg)
if [ -z "$pkg" ]; then
  log "apt does not know linux-image-amd64 yet; running apt-get update"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  pkg=$(kernel_pkg)
fi
[ -n "$pkg" ] || { log "cannot resolve linux-image-amd64 to a kernel package"; exit 1; }
pkgver=$(apt-cache policy "$pkg" | awk '/Candidate:/{print $2}')
kdir="$CACHE/kernel/${pkg}_${pkgver}"

stamp=$( { cat "$here/build.sh" "$here/init.sh" "$here/stage2.sh"; echo "$pkg $pkgver";
           sha256sum /bin/busybox; } | sha256sum | cut -d' ' -f1)
if [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$stamp" ] &&
   [ -f "$CACHE/initrd.cpio" ] && [ -f "$CACHE/boot-image" ]; then
  echo "$CACHE"
  exit 0
fi

if [ ! -f "$kdir/.extracted" ]; then
  log "downloading $pkg $pkgver"
  rm -rf "$CACHE/kernel" "$CACHE/dl"
  mkdir -p "$CACHE/dl" "$kdir"
  (cd "$CACHE/dl" && apt-get download "$pkg=$pkgver" >/dev/null 2>"$CACHE/dl/apt.log") ||
    { cat "$CACHE/dl/apt.log" >&2; exit 1; }
  dpkg -x "$CACHE"/dl/*.deb "$kdir"
  rm -rf "$CACHE/dl"
  depmod -b "$kdir" "$(ls "$kdir/lib/modules")"
  touch "$kdir/.extracted"
fi
ver=$(ls "$kdir/lib/modules")
src="$kdir/lib/modules/$ver"
log "building initramfs for kernel $ver"

work="$CACHE/initramfs.tmp"
rm -rf "$work"
mkdir -p "$work"/{bin,dev,proc,sys,newroot,rw,boot-modules,lib/modules/"$ver"}

# Boot modules, in load order, as modprobe would insert them.
: > "$work/boot-modules/order"
for m in "${BOOT_MODULES[@]}"; do
  modprobe -d "$kdir" -S "$ver" --show-depends "$m" | awk '$1=="insmod"{print $2}' |
    while read -r ko; do
      name=$(basename "$ko")
      grep -qx "$name" "$work/boot-modules/order" && continue
      cp "$ko" "$work/boot-modules/$name"
      echo "$name" >> "$work/boot-modules/order"
    done
done

# Guest module tree: the listed directories and modules, closed over modules.dep (which lists
# every module's dependencies transitively), then depmod'ed on its own.
wanted=$(mktemp)
for d in "${GUEST_MODULE_DIRS[@]}"; do
  (cd "$src" && find "kernel/$d" -name '*.ko*') >> "$wanted"
done
for m in "${GUEST_MODULES[@]}"; do
  modprobe -d "$kdir" -S "$ver" --show-depends "$m" 2>/dev/null |
    awk -v p="$src/" '$1=="insmod" && index($2, p)==1 {print substr($2, length(p)+1)}' >> "$wanted"
done
awk -F': *' 'NR==FNR{want[$1]=1; next} ($1 in want){print $1; n=split($2, d, " "); for(i=1;i<=n;i++) print d[i]}' \
  "$wanted" "$src/modules.dep" | sort -u |
  while read -r ko; do
    mkdir -p "$work/lib/modules/$ver/$(dirname "$ko")"
    cp "$src/$ko" "$work/lib/modules/$ver/$ko"
  done
rm -f "$wanted"
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -f "$src/$f" ] && cp "$src/$f" "$work/lib/modules/$ver/"
done
depmod -b "$work" "$ver"

cp /bin/busybox "$work/bin/busybox"
cp "$here/init.sh" "$work/init"
cp "$here/stage2.sh" "$work/stage2"
chmod +x "$work/init" "$work/stage2"
echo "$ver" > "$work/kernel-version"

# Uncompressed: unpacking gzip under emulation costs the guest seconds, reading 13 MB costs nothing.
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc --quiet > "$CACHE/initrd.cpio.new")

# Boot image: the bare ELF vmlinux when the kernel supports PVH entry (QEMU then jumps straight
# in, skipping the xz decompressor, which takes many seconds under TCG); else the bzImage.
vmlinuz="$kdir/boot/vmlinuz-$ver"
cp "$vmlinuz" "$CACHE/boot-image.new"
if grep -q '^CONFIG_PVH=y' "$kdir/boot/config-$ver"; then
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc > "$CACHE/vmlinux.tmp" 2>/dev/null || true
    if [ "$(head -c 4 "$CACHE/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = "7f454c46" ]; then
      mv "$CACHE/vmlinux.tmp" "$CACHE/boot-image.new"
    fi
  fi
  rm -f "$CACHE/vmlinux.tmp"
fi
mv "$CACHE/initrd.cpio.new" "$CACHE/initrd.cpio"
mv "$CACHE/boot-image.new" "$CACHE/boot-image"
rm -f "$CACHE/initrd.gz" "$CACHE/vmlinuz"
rm -rf "$work"
echo "$stamp" > "$CACHE/stamp"
log "done: $(du -h "$CACHE/initrd.cpio" | cut -f1) initramfs, kernel $ver ($(head -c 4 "$CACHE/boot-image" | grep -q ELF && echo PVH vmlinux || echo bzImage))"
echo "$CACHE"

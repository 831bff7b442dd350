#!/bin/busybox sh
# PID 1 of the test VM's initramfs: loads the boot modules, mounts the host's / (9p, read-only)
# under a tmpfs overlay, gives the guest fresh /tmp, /run, its own /lib/modules and /vmout (9p,
# writable, the host's OUTDIR), then switches root and runs stage2 (a copy kept in /run/vm).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

fail() { echo "vm-init: $*" > /dev/console; sleep 1; poweroff -f; }
ver=$(cat /kernel-version)
for m in $(cat /boot-modules/order); do insmod "/boot-modules/$m" || fail "insmod $m failed"; done

mkdir -p /lower
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower || fail "no 9p hostroot"
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/up /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/up,workdir=/rw/work /newroot || fail "overlay failed"

mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p /newroot/run/vm /newroot/run/netns
cp /bin/busybox /stage2 /newroot/run/vm/
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mkdir -p /newroot/lib/modules
mount -t tmpfs -o mode=755 tmpfs /newroot/lib/modules
cp -a "/lib/modules/$ver" /newroot/lib/modules/
mkdir -p /newroot/vmout
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=262144 vmout /newroot/vmout || fail "no 9p vmout"
# A checkout under the host's /tmp (CI clones anywhere) would vanish under the fresh /tmp: run.sh
# shares it again (tag "share") and names its path on the command line as vmshare=PATH.
share=$(sed -n 's/.*vmshare=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$share" ]; then
  mkdir -p "/newroot$share"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose share "/newroot$share" || fail "no 9p share"
fi

mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
# vminit=systemd (run.sh with LVSD_VM_INIT=systemd): the host's systemd becomes PID 1 and boots a
# minimal target, basic.target plus one oneshot unit that runs stage2 (the script); the default
# target would start every service installed on the host, which takes minutes under TCG.
if grep -q 'vminit=systemd' /newroot/proc/cmdline; then
  units=/newroot/etc/systemd/system
  mkdir -p "$units"
  cat > "$units/vmtest.service" <<'UNIT'
[Unit]
Description=kernel-test VM script (stage2)
After=basic.target systemd-journald.service
[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/run/vm/busybox sh /run/vm/stage2
UNIT
  printf '[Unit]\nDescription=kernel-test VM\nRequires=basic.target vmtest.service\nAfter=basic.target\nAllowIsolate=yes\n' > "$units/vmtest.target"
  exec switch_root /newroot /lib/systemd/systemd --unit=vmtest.target
fi
exec switch_root /newroot /run/vm/busybox sh /run/vm/stage2

#!/run/vm/busybox sh
# PID 1 after switch_root (or, with vminit=systemd, the oneshot unit vmtest.service under systemd) (busybox from /run/vm, so the host's tools are not needed to power off):
# reads /vmout/vm-env.sh (written by run.sh: script path, cwd, LVSD_* variables), runs the script
# with bash as root, its output in /vmout/out.log (the host streams it), its status in /vmout/rc.
BB=/run/vm/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
$BB mkdir -p /dev/pts /dev/shm
# Under systemd (vminit=systemd) these are mounted already.
$BB mountpoint -q /dev/pts || $BB mount -t devpts devpts /dev/pts
$BB mountpoint -q /dev/shm || $BB mount -t tmpfs -o mode=1777 tmpfs /dev/shm
$BB hostname lvsd-vm
$BB ip link set lo up
. /vmout/vm-env.sh
export LVSD_KERNEL_VM=1
echo "vm: guest up after $($BB cut -d' ' -f1 /proc/uptime)s (kernel $($BB uname -r))" >> /vmout/out.log
cd "$VM_CWD" 2>/dev/null || cd /
/bin/bash "$VM_SCRIPT" >> /vmout/out.log 2>&1 < /dev/null &
wait $!
rc=$?
echo "$rc" > /vmout/rc
$BB sync
$BB reboot -f

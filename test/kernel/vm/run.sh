#!/bin/bash
# run.sh SCRIPT [OUTDIR]: boot the kernel-test VM (QEMU TCG, no NIC), run SCRIPT with bash as root
# inside it, stream its output here, exit with its status.
# The guest sees this machine's / read-only (so SCRIPT, the repo and node are at the same paths)
# with fresh /tmp and /run: SCRIPT and what it reads must live elsewhere. OUTDIR (default: a new
# /var/tmp/lvsd-vm.XXXXXX) is the guest's writable /vmout; it also keeps console.log and out.log.
# Environment: LVSD_VM_TIMEOUT (seconds, default 1200), LVSD_VM_MEM (MiB, default 2048),
# LVSD_VM_KERNEL_ARGS (appended to the kernel command line, e.g. "loglevel=7" to see the boot in
# console.log), LVSD_VM_CACHE (see build.sh), LVSD_VM_SHARE (a directory under /tmp or /run to
# make visible, read-only, at the same path in the guest: a checkout there would otherwise be
# hidden by the guest's fresh /tmp); every LVSD_* variable is passed on to SCRIPT.
# LVSD_VM_INIT=systemd boots the host's systemd as PID 1 (minimal target; SCRIPT runs in a oneshot unit).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 SCRIPT [OUTDIR]" >&2; exit 2; }
script=$(readlink -f "$1")
[ -f "$script" ] || { echo "vm: no such script: $1" >&2; exit 2; }
share=""
share_args=()
if [ -n "${LVSD_VM_SHARE:-}" ]; then
  share=$(readlink -f "$LVSD_VM_SHARE")
  case "$share" in
    *' '*) echo "vm: LVSD_VM_SHARE must not contain spaces: $share" >&2; exit 2;;
  esac
  share_args=(-virtfs "local,path=$share,mount_tag=share,security_model=none,readonly=on,multidevs=remap")
fi
case "$script" in
  "$share"/*) ;;
  /tmp/*|/run/*|/vmout/*|/proc/*|/dev/*|/sys/*)
    echo "vm: $script is not visible in the guest (fresh /tmp, /run there); set LVSD_VM_SHARE or put it elsewhere" >&2; exit 2;;
esac
out=${2:-$(mktemp -d /var/tmp/lvsd-vm.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
timeout_s=${LVSD_VM_TIMEOUT:-1200}
# LVSD_VM_INIT=systemd: the host's systemd as PID 1 (see init.sh); default: a plain shell.
vminit=""
case "${LVSD_VM_INIT:-}" in
  "") ;;
  systemd) vminit="vminit=systemd";;
  *) echo "vm: LVSD_VM_INIT must be empty or systemd" >&2; exit 2;;
esac

cache=$("$here/build.sh") || { echo "vm: build failed" >&2; exit 125; }

rm -f "$out/rc" "$out/out.log" "$out/console.log" "$out/vm-env.sh"
: > "$out/out.log"
{
  printf 'VM_SCRIPT=%q\n' "$script"
  printf 'VM_CWD=%q\n' "$PWD"
  while IFS= read -r name; do
    printf 'export %s=%q\n' "$name" "${!name}"
  done < <(compgen -e | grep '^LVSD_' || true)
} > "$out/vm-env.sh"

started=$(date +%s)
# No network device at all (-nodefaults, -nic none): the guest's only networks are its namespaces.
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -nodefaults -nic none -accel tcg -cpu max -smp 2 -m "${LVSD_VM_MEM:-2048}" \
  -display none -monitor none -no-reboot \
  -serial "file:$out/console.log" \
  -kernel "$cache/boot-image" -initrd "$cache/initrd.cpio" \
  -append "console=ttyS0 quiet panic=-1 mitigations=off ${share:+vmshare=$share} ${vminit} ${LVSD_VM_KERNEL_ARGS:-}" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=vmout,security_model=none" "${share_args[@]}" &
qemu=$!
trap 'kill "$qemu" 2>/dev/null; wait "$qemu" 2>/dev/null; exit 130' INT TERM

# Stream the guest's output while it runs; tail stops shortly after qemu exits.
tail -n +1 -F --pid="$qemu" "$out/out.log" 2>/dev/null &
tailer=$!
wait "$qemu"
qrc=$?
wait "$tailer" 2>/dev/null
trap - INT TERM
elapsed=$(( $(date +%s) - started ))

if [ -f "$out/rc" ]; then
  rc=$(cat "$out/rc")
  echo "vm: script exited with status $rc after ${elapsed}s (output in $out)" >&2
  exit "$rc"
fi
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
  echo "vm: timed out after ${timeout_s}s (LVSD_VM_TIMEOUT); the guest was killed" >&2
else
  echo "vm: the VM stopped without an exit status from the script (qemu status $qrc, ${elapsed}s)" >&2
fi
echo "vm: last lines of $out/console.log:" >&2
tail -n 40 "$out/console.log" >&2 2>/dev/null || true
exit 125

#!/bin/bash
# Runs inside the kernel-test VM (see vm/run.sh, started by run-bench.sh): the same module and
# sysctl set-up as guest.sh, then the kernel reconcile benchmark (bench/kernel/reconcile.ts), which
# writes its figures to /vmout/kernel.md and /vmout/kernel.json.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LVSD_BUILD_DIR:-$repo/build}

modules=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh nf_conntrack nf_tables veth dummy)
modprobe -a "${modules[@]}" || { echo "guest: modprobe failed" >&2; exit 1; }
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.vs.conntrack=1 ||
  { echo "guest: sysctl failed" >&2; exit 1; }
rm -rf /vmout/logs && mkdir -p /vmout/logs
echo "guest: $(ipvsadm --version 2>&1 | head -1); node $(node --version)"
node "$build/bench/kernel/reconcile.js"

#!/bin/bash
# `npm run test:kernel`: boot the kernel-test VM once and run every compiled kernel test inside it
# (guest.sh). Needs the compiled tests (npm run build); output and logs go to test-output/kernel/.
# Environment: LVSD_BUILD_DIR (compiled tree, default build), LVSD_KERNEL_ONLY (space-separated
# substrings of test file names to run), LVSD_VM_TIMEOUT, LVSD_VM_CACHE (see vm/).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LVSD_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$repo/$build";; esac
if [ ! -d "$build/test/kernel" ]; then
  echo "kernel tier: $build/test/kernel does not exist; run 'npm run build' first" >&2
  exit 1
fi
export LVSD_BUILD_DIR="$build"
# The whole tier shares one boot; with every scenario file it runs well past vm/run.sh's default.
export LVSD_VM_TIMEOUT=${LVSD_VM_TIMEOUT:-2700}
out=${LVSD_KERNEL_OUT:-$repo/test-output/kernel}
mkdir -p "$out"
# A checkout under /tmp or /run is hidden by the guest's fresh ones: share it again.
case "$repo" in /tmp/*|/run/*) export LVSD_VM_SHARE="$repo";; esac
exec bash "$repo/test/kernel/vm/run.sh" "$repo/test/kernel/guest.sh" "$out"

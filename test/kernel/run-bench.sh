#!/bin/bash
# `bash test/kernel/run-bench.sh`: boot the kernel-test VM once and run the kernel reconcile
# benchmark inside it (guest-bench.sh); copies its figures to bench/results/kernel.md and
# kernel.json. Needs the compiled tree (npm run build). Output and logs go to
# test-output/kernel-bench/ (LVSD_KERNEL_OUT). Environment: LVSD_BUILD_DIR, LVSD_VM_TIMEOUT,
# LVSD_VM_CACHE (see vm/), LVSD_BENCH_RUNS (failure runs, default 7), LVSD_BENCH_SERVICES
# (default 1000, a multiple of 10), LVSD_BENCH_CHANGED (reals changed, default 500),
# LVSD_BENCH_ONLY=failure (only failure-to-removal against keepalived and execs per change).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LVSD_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$repo/$build";; esac
if [ ! -f "$build/bench/kernel/reconcile.js" ]; then
  echo "kernel bench: $build/bench/kernel/reconcile.js does not exist; run 'npm run build' first" >&2
  exit 1
fi
export LVSD_BUILD_DIR="$build"
# The same JavaScript workload on the host, so the report can state the emulation factor.
LVSD_BENCH_HOST_CALIBRATION_MS=$(node "$build/bench/kernel/reconcile.js" --calibrate)
export LVSD_BENCH_HOST_CALIBRATION_MS
out=${LVSD_KERNEL_OUT:-$repo/test-output/kernel-bench}
mkdir -p "$out"
rm -f "$out/kernel.md" "$out/kernel.json"
bash "$repo/test/kernel/vm/run.sh" "$repo/test/kernel/guest-bench.sh" "$out"
mkdir -p "$repo/bench/results"
cp "$out/kernel.md" "$out/kernel.json" "$repo/bench/results/"
echo "kernel bench: figures in bench/results/kernel.md"

#!/bin/bash
# `npm run test:systemd`: the packaged unit under a real systemd. Builds the .deb (npm run
# package:deb), then boots the kernel-test VM with the host's systemd as PID 1 (LVSD_VM_INIT=systemd)
# and runs the compiled test/systemd tests inside it (test/kernel/guest.sh with LVSD_GUEST_TESTS),
# in a guest root without a system nodejs (LVSD_GUEST_NO_SYSTEM_NODE).
# Needs `npm run build`; output and logs in test-output/systemd/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
deb=$(npm run --silent package:deb | tail -n 1)
[ -f "$deb" ] || { echo "systemd tier: package:deb did not print a .deb path (got '$deb')" >&2; exit 1; }
export LVSD_DEB="$repo/$deb"
# The guest removes its nodejs first (guest.sh): the package must bring the runtime it runs on.
export LVSD_VM_INIT=systemd LVSD_GUEST_TESTS=test/systemd LVSD_GUEST_NO_SYSTEM_NODE=1
# node --test's timeout also bounds the whole test file: two dpkg -i of the package (with its 86 MB
# runtime; 256 s each on a loaded 2-core machine) and the scenarios take longer than 15 minutes.
export LVSD_GUEST_TEST_TIMEOUT_MS=${LVSD_GUEST_TEST_TIMEOUT_MS:-2400000}
export LVSD_KERNEL_OUT=${LVSD_KERNEL_OUT:-$repo/test-output/systemd}
exec bash "$repo/test/kernel/run.sh"

#!/bin/bash
# The README's test command (npm test): every tier in order (unit, integration, kernel, packaging), one summary line at the end.
# `npm test` has already installed the system packages and built build/ (see "pretest" in package.json).
# LVSD_TEST_TIERS="unit integration" limits the tiers (default: all four).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
tiers=${LVSD_TEST_TIERS:-unit integration kernel packaging}
total_pass=0; total_fail=0; failed_tiers=()

for tier in $tiers; do
  echo "=== tier: $tier"
  log="test-output/$tier.log"
  npm run --silent "test:$tier" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # node's test runner ends with "# pass N" (tap) or "ℹ pass N" (spec); sum what the tier printed.
  pass=$(grep -aE '^(# |ℹ )pass [0-9]+$' "$log" | awk '{s+=$NF} END {print s+0}')
  fail=$(grep -aE '^(# |ℹ )fail [0-9]+$' "$log" | awk '{s+=$NF} END {print s+0}')
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
  if [ "$rc" -ne 0 ] || [ "$pass" -eq 0 ]; then
    failed_tiers+=("$tier(rc=$rc, pass=$pass)")
    [ "$fail" -eq 0 ] && total_fail=$((total_fail + 1))
  fi
done

echo
[ ${#failed_tiers[@]} -eq 0 ] || echo "failed tiers: ${failed_tiers[*]}"
echo "${total_pass} passed, ${total_fail} failed"
[ ${#failed_tiers[@]} -eq 0 ]

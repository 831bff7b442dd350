#!/bin/bash
# The README's test command (npm test): every tier, one summary line at the end.
# `npm test` has already installed the system packages and built build/ (see "pretest" in package.json).
# LVSD_TEST_TIERS picks and orders the tiers; tiers joined by "+" run at the same time (their output
# is printed when the group ends). Default: unit, integration, then the kernel VM beside the
# packaging tier (one is the emulated machine, the other mostly dpkg, lintian and disk), then the
# systemd VM (it installs the .deb the packaging tier built, so it comes after).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
groups=${LVSD_TEST_TIERS:-unit integration kernel+packaging systemd}
total_pass=0; total_fail=0; failed_tiers=()
started=$(date +%s)

# Runs one tier into test-output/TIER.log (and its status into TIER.rc).
run_tier() {
  local tier=$1 log="test-output/$1.log"
  local t0; t0=$(date +%s)
  npm run --silent "test:$tier" > "$log" 2>&1
  echo $? > "test-output/$tier.rc"
  echo "=== tier $tier: $(( $(date +%s) - t0 )) s" >> "$log"
}

# Adds a finished tier's counts; node's test runner ends with "# pass N" (tap) or "ℹ pass N" (spec).
count_tier() {
  local tier=$1 log="test-output/$1.log" rc pass fail
  rc=$(cat "test-output/$tier.rc" 2>/dev/null || echo 1)
  pass=$(grep -aE '^(# |ℹ )pass [0-9]+$' "$log" | awk '{s+=$NF} END {print s+0}')
  fail=$(grep -aE '^(# |ℹ )fail [0-9]+$' "$log" | awk '{s+=$NF} END {print s+0}')
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
  if [ "$rc" -ne 0 ] || [ "$pass" -eq 0 ]; then
    failed_tiers+=("$tier(rc=$rc, pass=$pass)")
    [ "$fail" -eq 0 ] && total_fail=$((total_fail + 1))
  fi
}

for group in $groups; do
  IFS=+ read -r -a tiers <<< "$group"
  if [ ${#tiers[@]} -eq 1 ]; then
    # Alone: stream it as it runs.
    tier=${tiers[0]}
    echo "=== tier: $tier"
    rm -f "test-output/$tier.rc"
    ( run_tier "$tier" ) &
    runner=$!
    tail -n +1 -F --pid="$runner" "test-output/$tier.log" 2>/dev/null &
    wait "$runner"; sleep 0.2
    wait 2>/dev/null
  else
    echo "=== tiers at the same time: ${tiers[*]}"
    for tier in "${tiers[@]}"; do rm -f "test-output/$tier.rc"; : > "test-output/$tier.log"; ( run_tier "$tier" ) & done
    wait
    for tier in "${tiers[@]}"; do echo "=== tier: $tier"; cat "test-output/$tier.log"; done
  fi
  for tier in "${tiers[@]}"; do count_tier "$tier"; done
done

echo
echo "all tiers: $(( $(date +%s) - started )) s"
[ ${#failed_tiers[@]} -eq 0 ] || echo "failed tiers: ${failed_tiers[*]}"
echo "${total_pass} passed, ${total_fail} failed"
[ ${#failed_tiers[@]} -eq 0 ]

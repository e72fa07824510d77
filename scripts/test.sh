#!/usr/bin/env bash
# Sets up, builds and runs every test; ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed (setup or build failed)"; exit 1; }

log=$(mktemp)
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
total=$(grep -Eo 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
failed=$(grep -Eo '[0-9]+ tests failed out of' "$log" | grep -Eo '^[0-9]+' || echo 0)
rm -f "$log"
if [ "$total" -eq 0 ]; then
  echo "0 passed, 1 failed (no tests ran)"
  exit 1
fi
echo "$((total - failed)) passed, ${failed} failed"
exit "$status"

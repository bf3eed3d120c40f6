#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh with AGENT set, then prints the closing tally.
set -u
AGENT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export AGENT
cd "$(dirname "$0")/../.."
passed=0 failed=0
for t in tests/integration/test_*.sh; do
    echo "== $t"
    out=$(bash "$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed' | tail -1)
    p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$line"); f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); echo "$t exited $rc"; fi
done
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

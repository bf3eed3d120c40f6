#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh with AGENT set, then prints the closing tally and the
# slowest tests (.ci/run must stay under 15 minutes).
set -u
AGENT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export AGENT
cd "$(dirname "$0")/../.."
passed=0 failed=0 times=""
for t in tests/integration/test_*.sh; do
    echo "== $t"
    start=$SECONDS
    out=$(bash "$t" 2>&1); rc=$?
    times+="$((SECONDS - start)) $t"$'\n'
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed' | tail -1)
    p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$line"); f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); echo "$t exited $rc"; fi
done
echo "integration: $passed passed, $failed failed"
echo "slowest: $(sort -rn <<<"$times" | head -5 | awk 'NF == 2 {sub(".*/", "", $2); printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1}')"
[ "$failed" -eq 0 ]

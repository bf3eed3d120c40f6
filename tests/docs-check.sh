#!/usr/bin/env bash
# Keeps the docs honest: docs/config.md holds exactly the key table the binary generates, every
# metric the agent can emit is documented in docs/metrics.md, and every check has a page.
# With --fix, rewrites the generated part of docs/config.md instead.
set -u
AGENT=${1:-build/spilo-agent}
cd "$(dirname "$0")/.."
fail=0 pass=0
gen=$("$AGENT" --help-config)
doc=$(sed -n '/<!-- BEGIN KEYS -->/,/<!-- END KEYS -->/p' docs/config.md | sed '1d;$d')
causes=$("$AGENT" --help-causes)
cdoc=$(sed -n '/<!-- BEGIN CAUSES -->/,/<!-- END CAUSES -->/p' docs/checks/catalogue.md | sed '1d;$d')
if [ "${2:-}" == "--fix" ]; then
    python3 - "$causes" <<'PY'
import re, sys
p = "docs/checks/catalogue.md"
s = open(p).read()
s = re.sub(r"(<!-- BEGIN CAUSES -->\n).*?(<!-- END CAUSES -->)", lambda m: m.group(1) + sys.argv[1] + "\n" + m.group(2), s, flags=re.S)
open(p, "w").write(s)
PY
    python3 - "$gen" <<'PY'
import re, sys
p = "docs/config.md"
s = open(p).read()
s = re.sub(r"(<!-- BEGIN KEYS -->\n).*?(<!-- END KEYS -->)", lambda m: m.group(1) + sys.argv[1] + "\n" + m.group(2), s, flags=re.S)
open(p, "w").write(s)
PY
    echo "docs/config.md and docs/checks/catalogue.md updated"; exit 0
fi
if [ "$causes" == "$cdoc" ]; then pass=$((pass + 1)); else
    echo "docs/checks/catalogue.md is out of date with include/causes.def; run 'make docs'"; diff <(echo "$cdoc") <(echo "$causes") | head -20; fail=$((fail + 1)); fi
if [ "$gen" == "$doc" ]; then pass=$((pass + 1)); else
    echo "docs/config.md is out of date with the key table; run 'make docs'"; diff <(echo "$doc") <(echo "$gen") | head -20; fail=$((fail + 1)); fi
for m in $(grep -ohE '"spilo_agent_[a-z0-9_]+"' agent/*.c | tr -d '"' | sort -u); do
    if grep -q "\`$m\`" docs/metrics.md; then pass=$((pass + 1)); else echo "metric $m is not in docs/metrics.md"; fail=$((fail + 1)); fi
done
for c in $(grep -ohE '\.name = "[a-z_]+"' agent/check_*.c | sed 's/.*"\(.*\)"/\1/' | sort -u); do
    if [ -f "docs/checks/$c.md" ]; then pass=$((pass + 1)); else echo "check $c has no docs/checks/$c.md"; fail=$((fail + 1)); fi
done
# README's sample output is what the binary prints (the fixture stands in for the envdir; the
# revision suffix of a development build and the time are the only differences allowed)
sample=$(sed -n '/^\$ spilo-agent check --only walg_env/,/^\$ echo/p' README.md | sed '1d;$d')
real=$("$AGENT" check --only walg_env --set walg.envdir=tests/fixtures/envdir/broken-prefix-region/env \
    --no-color 2>/dev/null | sed -E 's/\+g[0-9a-f]+(\.dirty)?//; s/ at [0-9T:Z-]+: / at T: /')
sample=$(sed -E 's/ at [0-9T:Z-]+: / at T: /' <<<"$sample")
if [ "$sample" == "$real" ]; then pass=$((pass + 1)); else
    echo "README.md's sample of 'spilo-agent check --only walg_env' differs from the binary's output"; diff <(echo "$sample") <(echo "$real") | head -10; fail=$((fail + 1)); fi
rel=$(cat VERSION)
if grep -q "^spilo-agent $rel\$" README.md && "$AGENT" version | grep -qE "^spilo-agent $rel(\+g[0-9a-f]+(\.dirty)?)?\$"; then pass=$((pass + 1)); else
    echo "README.md's 'spilo-agent version' sample or the binary's version is not the VERSION file's $rel"; fail=$((fail + 1)); fi
echo "docs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# The WAL chain over 100,000 segments in the daemon, against s3rver behind the listing-faithful S3
# (lib/s3_listing.py), the store written directly by tests/bench/gen_layout.py (uploading 100,000
# objects would take minutes): the cold listing takes bounded pages per run (WALSCAN_PAGES_PER_RUN)
# and continues where it stopped, the chain is two ranges around a planted gap, the steady runs
# list only start-after the newest key (counted in the request record), and the agent's memory
# stays small (the chain is kept as ranges, not as segments).
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"

REC=$TMP/requests.jsonl
s3_up "$TMP/s3" "$REC"
BUCKET=acme-walchain-100k
ROOT=spilo/big/wal/15
awss3 s3 mb "s3://$BUCKET" >/dev/null
seg() { printf '%08X%08X%08X' 1 $(($1 / 256)) $(($1 % 256)); } # seg N -> timeline 1 segment name

# 10 backups, backup i from segment 2 + 10000 i; segments 1..100000 without 55001..55010.
gen=$(/usr/bin/python3 "$S3_REPO_DIR/tests/bench/gen_layout.py" "$TMP/s3/$BUCKET" "$ROOT" 10 100000 55001:10)
eq "the store holds 99,990 WAL objects" "99990" "$(jq -r .wal <<<"$gen")"
newest=$(jq -r .newest_wal <<<"$gen")

mkdir -p "$TMP/env"
cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$TMP/env/"
printf S3RVER >"$TMP/env/AWS_ACCESS_KEY_ID"
printf S3RVER >"$TMP/env/AWS_SECRET_ACCESS_KEY"
printf '%s' "s3://$BUCKET/$ROOT" | tee "$TMP/env/WALE_S3_PREFIX" >"$TMP/env/WALG_S3_PREFIX"

agent_start wc100k --set agent.interval=4s --set agent.check_timeout=4s --set "walg.envdir=$TMP/env" \
    --set "s3.endpoint=$S3RVER_URL" --set backups.retain=10 --set 'backups.schedule=0 * * * *'
check "agent ready" wait_http "$AGENT_URL/readyz" 200 15
# (the listing's own progress, not a timing: at most 20 pages a run, so at least 5 runs)
for _ in $(seq 1 180); do
    st=$(curl -s "$AGENT_URL/checks/backups")
    [ "$(jq -r .details.wal_chain.complete <<<"$st")" = true ] && break
    sleep 0.5
done
eq "the cold listing completes: 99,990 segments in two ranges" "true 99990 2" \
    "$(jq -r '.details.wal_chain | "\(.complete) \(.segments) \(.ranges)"' <<<"$st")"
eq "in 100 pages (1,000 keys each) over at least 5 runs" "99990 100 true" \
    "$(jq -r '.details.wal_listing | "\(.objects) \(.pages) \(.runs >= 5)"' <<<"$st")"
cold=$(jq -s '[.[] | select(.method == "GET" and (.query | test("prefix=[^&]*wal_005"))) | .query]' "$REC")
check "the cold listing: 100 to 110 WAL pages requested ($(jq length <<<"$cold")), none twice" \
    test "$(jq length <<<"$cold")" -ge 100 -a "$(jq length <<<"$cold")" -le 110 -a \
    "$(jq 'unique | length' <<<"$cold")" = "$(jq length <<<"$cold")"
eq "the gap: one, 55001..55010" "1 $(seg 55001) $(seg 55010)" \
    "$(jq -r '.details.wal_chain | "\(.gaps_total) \(.gaps[0].first) \(.gaps[0].last)"' <<<"$st")"
eq "the newest segment" "$(seg 100000)" "$(jq -r .details.wal_chain.newest_segment <<<"$st")"
eq "the window starts at the oldest backup after the gap (segment 60002)" \
    "base_$(seg 60002)" "$(jq -r .details.wal_chain.window.from_backup <<<"$st")"
# (gen_layout.py: backup i starts at 2024-01-01 + i hours + 1 s; segment n is archived at
# (n - 1) * 0.36 s, so segment 100000 at 09:59:59)
eq "the window: from backup 6's start to the newest segment's LastModified" \
    "2024-01-01T06:00:01Z 2024-01-01T09:59:59Z" \
    "$(jq -r '.details.wal_chain.window | "\(.first_recoverability_at) \(.last_archived_at)"' <<<"$st")"
eq "4 of 10 backups restorable to now" "4" "$(jq -r .details.wal_chain.restorable_backups <<<"$st")"

# ---- steady runs: only start-after the newest key --------------------------------------------
lines=$(wc -l <"$REC")
runs=$(jq -r .details.wal_listing.runs <<<"$st")
for _ in $(seq 1 60); do
    st=$(curl -s "$AGENT_URL/checks/backups")
    [ "$(jq -r .details.wal_listing.runs <<<"$st")" -ge $((runs + 2)) ] && break
    sleep 0.5
done
check "two more runs" test "$(jq -r .details.wal_listing.runs <<<"$st")" -ge $((runs + 2))
steady=$(tail -n +$((lines + 1)) "$REC" |
    jq -s '[.[] | select(.method == "GET" and (.query | test("prefix=[^&]*wal_005")))]')
after=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-_.~"))' "$newest")
eq "each steady run lists wal_005/ once, start-after the newest key, without continuation" \
    "0 0" "$(jq -r --arg a "start-after=$after" '"\([.[] | select(.query | contains($a) | not)] | length) \([.[] | select(.query | test("continuation-token"))] | length)"' <<<"$steady")"
check "... one WAL listing a run ($(jq length <<<"$steady") for $(($(jq -r .details.wal_listing.runs <<<"$st") - runs)) runs)" \
    test "$(jq length <<<"$steady")" -ge 1 -a "$(jq length <<<"$steady")" -le $(($(jq -r .details.wal_listing.runs <<<"$st") - runs + 1))
n=$(jq length <<<"$steady"); pages=$(jq -r .details.wal_listing.pages <<<"$st")
check "... one page each: $pages pages after 100 cold ones and $n steady listings" \
    test "$pages" -ge $((100 + n - 1)) -a "$pages" -le $((100 + n + 1))

# ---- memory: the chain is ranges -----------------------------------------------------------
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status")
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$AGENT_PID/status")
check "RSS with the 100,000-segment chain built stays small (${rss} kB, peak ${hwm} kB, < 32 MB)" \
    test "$rss" -lt 32768
metrics=$(curl -s "$AGENT_URL/metrics")
contains "gaps metric" "$metrics" "spilo_agent_wal_gaps 1"
agent_stop
eq "the daemon stops cleanly" "0" "$AGENT_RC"
not_contains "no leaked handles" "$(cat "$AGENT_LOG")" "open handles"
finish

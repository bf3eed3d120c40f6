#!/usr/bin/env bash
# metadata.json is re-fetched only when the listing shows it changed, never by timer alone. The
# backups check lists basebackups_005/ with the delimiter "/tar_partitions/" (WAL-G's
# TarPartitionFolderName, wal-g/wal-g internal/storage_tar_ball.go line 16): each backup's parts
# roll up into one common prefix, and metadata.json is listed beside them with its ETag and
# LastModified. `wal-g backup-mark` rewrites only metadata.json (internal/databases/postgres/
# generic_meta_interactor.go lines 73-97, SetIsPermanent -> modifyBackupMetadata), so the steady
# daemon run makes no GET at all, and a mark costs exactly one GET, of that metadata.json. A store
# that refuses a delimiter other than "/" (501 NotImplemented) is listed with "/", and says so in
# details.listing. A segment deleted from wal_005/ leaves the chain at the next sweep.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"

# s3rver behind the listing-faithful S3 (s3_listing.py), the recording proxy in front for the agent
s3_up "$TMP/s3"
REC=$TMP/requests.jsonl
: >"$REC"
s3proxy_start "$S3RVER_PORT" "$REC" || { nok "recording proxy starts"; finish; exit 1; }
BUCKET=acme-revalidate
awss3 s3 mb "s3://$BUCKET" >/dev/null
TREE=$TMP/tree
seg() { printf '%08X%08X%08X' 1 0 "$1"; }
backup() { # backup N TIME: a WAL-G backup at segment N as backup-push writes it
    local name="base_$(seg "$1")" d="$TREE/pg/basebackups_005"
    local lsn=$(($1 * 16777216 + 40)) fin=$(($1 * 16777216 + 512))
    mkdir -p "$d/$name/tar_partitions"
    printf 'tar' >"$d/$name/tar_partitions/part_1.tar.lz4"
    printf 'tar' >"$d/$name/tar_partitions/pg_control.tar.lz4"
    printf '{}' >"$d/$name/files_metadata.json"
    printf '{"start_time":"%s","finish_time":"%s","start_lsn":%d,"finish_lsn":%d,"is_permanent":false}' \
        "$2" "$2" "$lsn" "$fin" >"$d/$name/metadata.json"
    printf '{"LSN":%d,"FinishLSN":%d,"Version":2,"PgVersion":150008,"StartTime":"%s","FinishTime":"%s","IsPermanent":false,"CompressedSize":1,"UncompressedSize":1}' \
        "$lsn" "$fin" "$2" "$2" >"$d/${name}_backup_stop_sentinel.json"
}
backup 3 2025-03-08T01:00:01Z
backup 5 2025-03-09T01:00:01Z
backup 7 2025-03-10T01:00:01Z
mkdir -p "$TREE/pg/wal_005"
for i in 1 2 3 4 5 6 7 8 9; do printf 'w' >"$TREE/pg/wal_005/$(seg "$i").lz4"; done
awss3 s3 cp --recursive --quiet "$TREE/" "s3://$BUCKET/"
mkdir -p "$TMP/env"
cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$TMP/env/"
printf S3RVER >"$TMP/env/AWS_ACCESS_KEY_ID"
printf S3RVER >"$TMP/env/AWS_SECRET_ACCESS_KEY"
printf 's3://%s/pg' "$BUCKET" >"$TMP/env/WALG_S3_PREFIX"

agent_start reval --set agent.interval=2s --set agent.check_timeout=2s --set "walg.envdir=$TMP/env" \
    --set "s3.endpoint=http://127.0.0.1:$PROXY_PORT" --set backups.retain=3 \
    --set 'backups.schedule=0 1 * * *' --set backups.wal_sweep_interval=3s
check "agent ready" wait_http "$AGENT_URL/readyz" 200 15
checked() { curl -s "$AGENT_URL/checks/backups" | jq -r '.checked_at // ""'; }
next_run() { # next_run: until the backups check has run once more after now (15 s)
    local before i
    before=$(checked)
    for ((i = 0; i < 150; i++)); do
        [ -n "$(checked)" ] && [ "$(checked)" != "$before" ] && return 0
        sleep 0.1
    done
    return 1
}
# the GETs of objects under basebackups_005/ (not listings) in record lines after $1
gets_after() { tail -n +"$(($1 + 1))" "$REC" | jq -r 'select(.method == "GET" and (.query | test("list-type") | not) and (.path | test("/basebackups_005/"))) | .path'; }
lines() { wc -l <"$REC"; }

check "the first run" next_run
check "... and a second (the cache is warm)" next_run
st=$(curl -s "$AGENT_URL/checks/backups")
eq "three backups" "3" "$(jq -r .details.count <<<"$st")"
eq "the listing shows metadata.json: revalidated by the listing" "/tar_partitions/ listing" \
    "$(jq -r '.details.listing | "\(.delimiter) \(.metadata_revalidated_by)"' <<<"$st")"
contains "the listing request asks S3 for that delimiter" \
    "$(jq -r 'select(.query | test("list-type")) | .query' "$REC" | head -n 1)" "delimiter=%2Ftar_partitions%2F"
mark=$(lines)
check "a steady run" next_run
check "... and one more" next_run
eq "steady runs make no GET" "" "$(gets_after "$mark")"

# wal-g backup-mark base_...05: only metadata.json is rewritten, with is_permanent true
m=$TREE/pg/basebackups_005/base_$(seg 5)/metadata.json
sed 's/"is_permanent":false/"is_permanent":true/' "$m" >"$m.new"
mark=$(lines)
awss3 s3 cp --quiet "$m.new" "s3://$BUCKET/pg/basebackups_005/base_$(seg 5)/metadata.json"
for _ in $(seq 1 50); do
    [ "$(curl -s "$AGENT_URL/checks/backups" | jq -r .details.permanent_count)" = 1 ] && break
    sleep 0.2
done
st=$(curl -s "$AGENT_URL/checks/backups")
eq "the mark is seen: one permanent backup" "1" "$(jq -r .details.permanent_count <<<"$st")"
check "one more run after it" next_run
eq "the mark cost exactly one GET, of that metadata.json" \
    "/$BUCKET/pg/basebackups_005/base_$(seg 5)/metadata.json" "$(gets_after "$mark" | sort -u)"
eq "... once" "1" "$(gets_after "$mark" | wc -l | tr -d ' ')"
# ---- a segment deleted from wal_005/ (a lifecycle rule, by hand): the sweep drops it ------------
eq "before: no gap" "0" "$(jq -r .details.wal_chain.gaps_total <<<"$st")"
awss3 s3 rm --quiet "s3://$BUCKET/pg/wal_005/$(seg 4).lz4"
for _ in $(seq 1 100); do
    st=$(curl -s "$AGENT_URL/checks/backups")
    [ "$(jq -r .details.wal_chain.gaps_total <<<"$st")" = 1 ] && break
    sleep 0.2
done
eq "the sweep finds the deleted segment: a gap there" "1 $(seg 4) $(seg 4)" \
    "$(jq -r '.details.wal_chain | "\(.gaps_total) \(.gaps[0].first) \(.gaps[0].last)"' <<<"$st")"
eq "... which cuts off the oldest backup" "base_$(seg 3)" "$(jq -r '.details.wal_chain.gaps[0].cuts_off | join(" ")' <<<"$st")"
eq "the sweep says what it dropped" "1" "$(jq -r .details.wal_listing.sweep.dropped_segments <<<"$st")"
check "sweeps completed" test "$(jq -r .details.wal_listing.sweep.completed <<<"$st")" -ge 1
contains "the log names the deletion" "$(cat "$AGENT_LOG")" "no longer finds 1 segment(s) listed before"
agent_stop
eq "the daemon stops cleanly" "0" "$AGENT_RC"
sigv4_verify "$REC" --access-key S3RVER --secret S3RVER --region "$(cat "$TMP/env/AWS_REGION")" >"$TMP/sigv4.out" 2>&1
eq "every recorded request is signed right (botocore)" "0" "$?"

# ---- a store that refuses the delimiter: listed with "/", metadata.json revalidated by age ------
fake_s3_errors_start || { nok "fake failing S3 starts"; finish; exit 1; }
printf 's3://slashonly/spilo/pg/wal/15' >"$TMP/env/WALG_S3_PREFIX"
rm -f "$TMP/env/WALE_S3_PREFIX"
OUT=$("$AGENT" check --json --only backups --set "walg.envdir=$TMP/env" \
    --set "s3.endpoint=http://127.0.0.1:$FAKE_S3_PORT" 2>"$TMP/fallback.err")
eq "the fallback listing answers (no backups there)" "0" "$(jq -r .checks.backups.details.count <<<"$OUT")"
eq "listed with / and revalidated by age" "/ age" \
    "$(jq -r '.checks.backups.details.listing | "\(.delimiter) \(.metadata_revalidated_by)"' <<<"$OUT")"
contains "the reason is the store's refusal" \
    "$(jq -r .checks.backups.details.listing.fallback_reason <<<"$OUT")" "NotImplemented"
finish

#!/usr/bin/env bash
# wal_archive's S3 half against a real PostgreSQL 15 and s3rver: the segment pg_stat_archiver
# last archived must exist under <prefix>/wal_005/ (any compression extension); archiving into
# another prefix is critical.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/pg.sh"
. "$(dirname "$0")/lib/s3.sh"

s3_up "$TMP/s3"
if ! pg_start "$TMP/pg" >"$TMP/pg-start.log" 2>&1; then
    nok "PostgreSQL 15 starts"; cat "$TMP/pg-start.log"; finish; exit 1
fi
BUCKET=walarchive-test
ROOT=spilo/demo/0000/wal/15
awss3 s3 mb "s3://$BUCKET" >/dev/null
mkdir -p "$TMP/env"
cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$TMP/env/"
printf S3RVER >"$TMP/env/AWS_ACCESS_KEY_ID"
printf S3RVER >"$TMP/env/AWS_SECRET_ACCESS_KEY"
printf 's3://%s/%s' "$BUCKET" "$ROOT" >"$TMP/env/WALG_S3_PREFIX"
ARGS=(--set "postgres.conninfo=$PG_CONNINFO_TEST" --set postgres.patroni_url=http://127.0.0.1:9
      --set "walg.envdir=$TMP/env" --set "s3.endpoint=$S3RVER_URL")

# archive_command: Debian's aws uploads the segment as WAL-G names it (<segment>.lz4)
push() { # push PREFIX-ROOT
    local cmd="env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1"
    cmd+=" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true"
    cmd+=" HOME=/tmp $S3_AWS --endpoint-url $S3RVER_URL s3 cp --quiet %p s3://$BUCKET/$1/wal_005/%f.lz4"
    pg_psql "$TMP/pg" "ALTER SYSTEM SET archive_mode = on" >/dev/null
    pg_psql "$TMP/pg" "ALTER SYSTEM SET archive_command = '$cmd'" >/dev/null
}
archive_one() { # switch WAL and wait until the archiver reports the new segment
    local before after i
    before=$(pg_psql "$TMP/pg" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
    pg_psql "$TMP/pg" "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS t(x int); INSERT INTO t VALUES (1); SELECT pg_switch_wal()" >/dev/null
    for i in $(seq 1 150); do
        after=$(pg_psql "$TMP/pg" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        [ -n "$after" ] && [ "$after" != "$before" ] && return 0
        sleep 0.2
    done
    return 1
}

push "$ROOT"
pg_restart "$TMP/pg" >/dev/null 2>&1 # archive_mode needs a restart
check "a segment is archived to s3rver" archive_one
json=$("$AGENT" check --json --only wal_archive "${ARGS[@]}")
eq "archived into the prefix: ok" "ok" "$(jq -r .checks.wal_archive.status <<<"$json")"
eq "the segment was found in S3" "true" "$(jq -r .checks.wal_archive.details.s3_segment_found <<<"$json")"
seg=$(jq -r .checks.wal_archive.details.last_archived_wal <<<"$json")
eq "under wal_005/ with its extension" "$ROOT/wal_005/$seg.lz4" \
    "$(jq -r .checks.wal_archive.details.s3_segment_key <<<"$json")"

push "spilo/somewhere-else/wal/15"
pg_reload "$TMP/pg" >/dev/null 2>&1
check "the next segment goes elsewhere" archive_one
json=$("$AGENT" check --json --only wal_archive "${ARGS[@]}"); rc=$?
eq "archived outside the prefix: critical (exit 2)" "2:critical" "$rc:$(jq -r .checks.wal_archive.status <<<"$json")"
contains "the summary says where it is missing" "$(jq -r .checks.wal_archive.summary <<<"$json")" \
    "is not under $ROOT/wal_005/"

json=$("$AGENT" check --json --only wal_archive "${ARGS[@]}" --set "s3.endpoint=http://127.0.0.1:$(free_port)")
eq "S3 unreachable: the PostgreSQL facts alone decide (no false alarm)" "ok" \
    "$(jq -r .checks.wal_archive.status <<<"$json")"
contains "and the S3 error is in the details" "$(jq -r .checks.wal_archive.details.s3_error <<<"$json")" "127.0.0.1"
finish

#!/usr/bin/env bash
# The restore check with a real PostgreSQL 15 (in recovery, then promoted) and s3rver prefixes:
# not a clone; restore in progress; the clone traps (endpoint scheme, scope suffix, empty source,
# writing into the source); promoted but no own backup yet; finished with CLONE_* keys left
# (warning, cleanup pending metric) and without.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/pg.sh"
. "$(dirname "$0")/lib/s3.sh"
. "$(dirname "$0")/lib/kube.sh"

s3_up "$TMP/s3"
if ! pg_start "$TMP/pg" >"$TMP/pg-start.log" 2>&1; then
    nok "PostgreSQL 15 starts"; cat "$TMP/pg-start.log"; finish; exit 1
fi
BUCKET=acme-harbor-pg-backups
SRC_UID=5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40
SRC15=$FIXTURES/s3/healthy-3-backups/$BUCKET/spilo/postgresql-harbor-harborcluster/$SRC_UID/wal/15
OWN_ROOT=spilo/postgresql-harbor-restore/b7e94c1d-0a6f-4d2b-8e3c-5f71a9d2c604/wal/15
awss3 s3 mb "s3://$BUCKET" >/dev/null
awss3 s3 cp --recursive --quiet "$FIXTURES/s3/healthy-3-backups/$BUCKET" "s3://$BUCKET/"

# The new cluster's envdir and its clone envdir, as Spilo wrote them, pointed at s3rver.
W="$TMP/wal-e.d"
mkdir -p "$W"
cp -r "$FIXTURES/envdir/clone-endpoint/env" "$W/env"
cp -r "$FIXTURES/envdir/clone-endpoint/env-clone-postgresql-harbor-harborcluster" "$W/"
CL="$W/env-clone-postgresql-harbor-harborcluster"
for d in "$W/env" "$CL"; do printf S3RVER >"$d/AWS_ACCESS_KEY_ID"; printf S3RVER >"$d/AWS_SECRET_ACCESS_KEY"; done
printf '%s' "$S3RVER_URL" >"$CL/AWS_ENDPOINT"
ARGS=(--set "postgres.conninfo=$PG_CONNINFO_TEST" --set postgres.patroni_url=http://127.0.0.1:9
      --set "walg.envdir=$W/env" --set "s3.endpoint=$S3RVER_URL")
CLONE_ENV=(CLONE_SCOPE=postgresql-harbor-harborcluster CLONE_METHOD=CLONE_WITH_WALE
           CLONE_TARGET_TIME=2025-03-09T12:00:00+00:00 CLONE_WAL_S3_BUCKET=$BUCKET
           "CLONE_WAL_BUCKET_SCOPE_SUFFIX=/$SRC_UID")
restore() { # restore [ENV=...]... -- [ARGS...]: the restore check as JSON
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ "${1:-}" == -- ] && shift
    OUT=$(env "${envs[@]}" "$AGENT" check --json --only restore "${ARGS[@]}" "$@" 2>"$TMP/err"); RC=$?
}
field() { jq -r ".checks.restore.$1" <<<"$OUT"; }

# ---- not a clone ------------------------------------------------------------------------------
mkdir -p "$TMP/plain"
restore -- --set "walg.envdir=$TMP/plain/env"
eq "no CLONE_* and no clone envdir: not a clone, ok" "ok false false" \
    "$(field status) $(field details.cloned) $(field details.cleanup_pending)"

# ---- restore in progress: PostgreSQL in recovery ---------------------------------------------
runuser -u "$PG_TEST_USER" -- touch "$TMP/pg/data/standby.signal"
pg_restart "$TMP/pg" >/dev/null 2>&1
eq "PostgreSQL is in recovery" "t" "$(pg_psql "$TMP/pg" 'SELECT pg_is_in_recovery()')"
restore "${CLONE_ENV[@]}"
eq "in recovery: restore in progress, ok" "ok" "$(field status)"
eq "not finished, nothing to clean yet" "false false" "$(field details.finished) $(field details.cleanup_pending)"
contains "the summary says so" "$(field summary)" "restore in progress"
eq "the clone source is the clone envdir's prefix" \
    "s3://$BUCKET/spilo/postgresql-harbor-harborcluster/$SRC_UID/wal/" "$(field details.source_prefix)"
eq "its base backups are found under /wal/15/ like clone_with_wale.py finds them" "3" "$(field details.source_backups)"
eq "the CLONE_* keys are listed" "5" "$(jq '.checks.restore.details.clone_keys | length' <<<"$OUT")"

# ---- CLONE_TARGET_TIME pre-flight -------------------------------------------------------------
# Spilo picks the backup for a target time in clone_with_wale.py's choose_backup
# (bootstrap/clone_with_wale.py:67-79 at 4.0-p3, :68-80 at 2.1-p7): the newest whose `wal-g
# backup-list` "modified" time - the sentinel's S3 LastModified (wal-g internal/backup_time.go,
# BackupTime) - is strictly before the target; none means "Could not find any backups prior to
# the point in time" (:157-158). The backup's end is its sentinel's FinishTime
# (BackupSentinelDtoV2, wal-g internal/databases/postgres/backup_sentinel_dto.go:154 at v3.0.5),
# else metadata.json's finish_time (ExtendedMetadataDto, :72; v0.2.15 sentinels have none,
# internal/backup_sentinel_dto.go:33 there).
# s3rver's LastModified is the upload time (now): the fixture's backups finished in March 2025
# (FinishTime), but every sentinel was written today, as in a copied bucket: Spilo picks none.
# While PostgreSQL replays, the clone has started anyway: said in the details, not the summary.
tc() { field "details.target_time_check.$1"; }
eq "pre-flight, copied bucket: Spilo picks no backup for 2025-03-09T12:00Z" "false null" \
    "$(tc reachable) $(tc from_backup)"
eq "... the oldest backup's finish time is its sentinel's FinishTime" \
    "base_000000010000000000000003 2025-03-08T14:03:44Z sentinel FinishTime" \
    "$(tc 'backups_read[0].name') $(tc 'backups_read[0].finish_time') $(tc 'backups_read[0].finish_time_from')"
contains "... the reason names the copy's times" "$(tc problem)" \
    "is before every base backup in the source that Spilo can pick"
contains "... and the fix" "$(tc problem)" "the bucket was copied and keeps the copy's times; set clone_target_time (CLONE_TARGET_TIME) after"
check "... at most 3 sentinels read, no WAL listed ($(tc s3_requests) requests)" test "$(tc s3_requests)" -le 3
not_contains "... but not in the summary while PostgreSQL replays" "$(field summary)" "CLONE_TARGET_TIME"
# A target a day ahead: Spilo picks the newest backup, but the WAL in S3 ends now.
ahead=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
restore "${CLONE_ENV[@]}" "CLONE_TARGET_TIME=$ahead" -- \
    --set "postgres.conninfo=host=127.0.0.1 port=$(free_port) user=postgres connect_timeout=1"
eq "a target after the newest archived WAL: not reachable from the newest backup" \
    "false base_00000001000000000000003A true" \
    "$(tc reachable) $(tc from_backup) $(tc 'backups_read[0].picked')"
latest=$(tc latest_reachable_at)
check "... the latest reachable time is the newest WAL's upload, today ($latest)" test "${latest:0:10}" == "$(date -u +%F)"
eq "... before the clone runs (PostgreSQL unreachable) that is critical: RestoreCannotStart" \
    "critical 2" "$(field status) $RC"
contains "... and the summary says why" "$(field summary)" \
    "CLONE_TARGET_TIME ${ahead} is not reachable: the source's WAL from backup base_00000001000000000000003A (the one Spilo picks) ends before it; the latest reachable time is $latest"
check "... the WAL is listed from the picked backup's start on ($(tc wal_objects) of 68 objects)" \
    test "$(tc wal_objects)" -lt 20

# Sources of its own, each a copy of the fixture: WAL archived after the target, a gap before it,
# sentinels of WAL-G before V2.
PG_OFF=(--set "postgres.conninfo=host=127.0.0.1 port=$(free_port) user=postgres connect_timeout=1")
pf_source() { # pf_source NAME: copy the fixture to spilo/NAME/<uid>/wal/15/, point the clone at it
    awss3 s3 cp --recursive --quiet "$SRC15" "s3://$BUCKET/spilo/$1/$SRC_UID/wal/15/"
    printf 's3://%s/spilo/%s/%s/wal/' "$BUCKET" "$1" "$SRC_UID" >"$CL/WALG_S3_PREFIX"
}
pf_target_then_wal() { # pf_target_then_wal WAL_ROOT: target = now, then a segment archived after it
    target=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%SZ); sleep 2
    awss3 s3 cp --quiet "$SRC15/wal_005/000000010000000000000041.lz4" \
        "s3://$BUCKET/$1/wal_005/000000010000000000000042.lz4"
}
cp -r "$CL" "$TMP/cl-pf"
pf_source pf-ok
pf_target_then_wal "spilo/pf-ok/$SRC_UID/wal/15"
restore "${CLONE_ENV[@]}" "CLONE_TARGET_TIME=$target" -- "${PG_OFF[@]}"
eq "WAL archived after the target: reachable from the newest backup" \
    "true base_00000001000000000000003A null" "$(tc reachable) $(tc from_backup) $(tc problem)"
not_contains "... and the summary has no pre-flight problem" "$(field summary)" "CLONE_TARGET_TIME"

pf_source pf-gap
awss3 s3 rm --quiet "s3://$BUCKET/spilo/pf-gap/$SRC_UID/wal/15/wal_005/00000001000000000000003E.lz4"
pf_target_then_wal "spilo/pf-gap/$SRC_UID/wal/15"
restore "${CLONE_ENV[@]}" "CLONE_TARGET_TIME=$target" -- "${PG_OFF[@]}"
eq "a WAL gap before the target: not reachable, critical before the clone runs" \
    "false base_00000001000000000000003A critical" "$(tc reachable) $(tc from_backup) $(field status)"
contains "... naming the missing segment and the latest reachable time" "$(tc problem)" \
    "the source's WAL breaks off after backup base_00000001000000000000003A (the one Spilo picks), segment 00000001000000000000003E is missing; the latest reachable time is $(tc latest_reachable_at)"
check "... which is before the target" test "$(tc latest_reachable_at)" \< "$target"

# A major upgrade: wal/15 holds only backups written after the target, wal/14 one before it.
# Spilo tries wal/15 first and, with no backup to pick there, goes on to wal/14 (find_backup,
# clone_with_wale.py:142-159 at 4.0-p3).
awss3 s3 cp --recursive --quiet "$SRC15" "s3://$BUCKET/spilo/pf-upgrade/$SRC_UID/wal/14/"
pf_target_then_wal "spilo/pf-upgrade/$SRC_UID/wal/14"
awss3 s3 cp --recursive --quiet "$SRC15" "s3://$BUCKET/spilo/pf-upgrade/$SRC_UID/wal/15/"
printf 's3://%s/spilo/pf-upgrade/%s/wal/' "$BUCKET" "$SRC_UID" >"$CL/WALG_S3_PREFIX"
restore "${CLONE_ENV[@]}" "CLONE_TARGET_TIME=$target" -- "${PG_OFF[@]}"
eq "a major upgrade: reachable from the older major's prefix, as Spilo goes on to it" \
    "true base_00000001000000000000003A s3://$BUCKET/spilo/pf-upgrade/$SRC_UID/wal/14" \
    "$(tc reachable) $(tc from_backup) $(tc source)"
eq "... while the backups Spilo restores without a time are in wal/15" \
    "s3://$BUCKET/spilo/pf-upgrade/$SRC_UID/wal/15" "$(field details.source_found)"

# WAL-G v0.2.x - v1.1 sentinels have no FinishTime: metadata.json's finish_time, else LastModified.
pf_source pf-legacy
L=s3://$BUCKET/spilo/pf-legacy/$SRC_UID/wal/15/basebackups_005
for b in 03 16 3A; do
    n=base_0000000100000000000000$b
    jq -c 'del(.Version, .StartTime, .FinishTime, .DateFmt, .Hostname, .DataDir, .IsPermanent)' \
        "$SRC15/basebackups_005/${n}_backup_stop_sentinel.json" >"$TMP/legacy.json"
    awss3 s3 cp --quiet "$TMP/legacy.json" "$L/${n}_backup_stop_sentinel.json"
done
restore "${CLONE_ENV[@]}"
eq "a legacy sentinel: the finish time from metadata.json" \
    "base_000000010000000000000003 metadata.json finish_time" \
    "$(tc 'backups_read[0].name') $(tc 'backups_read[0].finish_time_from')"
awss3 s3 rm --quiet "$L/base_000000010000000000000003/metadata.json"
restore "${CLONE_ENV[@]}"
eq "... and without metadata.json, the sentinel's LastModified" "sentinel LastModified" \
    "$(tc 'backups_read[0].finish_time_from')"
contains "... then the reason does not claim a copy" "$(tc problem)" "is before every base backup in the source: the oldest"
rm -rf "$CL"; cp -r "$TMP/cl-pf" "$CL"

# ---- the traps ---------------------------------------------------------------------------------
cp -r "$CL" "$TMP/cl-backup"
printf 'https+path://127.0.0.1:1' >"$CL/AWS_ENDPOINT"
restore "${CLONE_ENV[@]}"
eq "a WAL-E style clone endpoint is critical" "critical" "$(field status)"
contains "naming CLONE_AWS_ENDPOINT" "$(field summary)" "CLONE_AWS_ENDPOINT"
rm -rf "$CL"; cp -r "$TMP/cl-backup" "$CL"

restore "${CLONE_ENV[@]}" "CLONE_WAL_BUCKET_SCOPE_SUFFIX=$SRC_UID"
eq "a scope suffix without '/' is critical" "critical" "$(field status)"
contains "and the fix is named" "$(field summary)" "\"/$SRC_UID\""

printf 's3://%s/spilo/nobody/0000/wal/' "$BUCKET" >"$CL/WALG_S3_PREFIX"
restore "${CLONE_ENV[@]}"
eq "a clone source without base backups is critical" "critical" "$(field status)"
contains "naming where it looked" "$(field details.source_checked)" "spilo/nobody/0000/wal/15/basebackups_005/"
rm -rf "$CL"; cp -r "$TMP/cl-backup" "$CL"

# ---- where clone_with_wale.py looks (clone_with_wale.py:121-140 2.1-p7, :120-139 4.0-p3) -----
# A PostgreSQL 11 source: /wal/<major>/ is tried for every major up to the own one, newest first.
awss3 s3 cp --recursive --quiet "$SRC15" "s3://$BUCKET/spilo/pg11-source/$SRC_UID/wal/11/"
printf 's3://%s/spilo/pg11-source/%s/wal/' "$BUCKET" "$SRC_UID" >"$CL/WALG_S3_PREFIX"
restore "${CLONE_ENV[@]}"
eq "a PostgreSQL 11 source is found under /wal/11/: not critical" "ok" "$(field status)"
eq "and that is where the backups are" "s3://$BUCKET/spilo/pg11-source/$SRC_UID/wal/11" \
    "$(field details.source_found)"
# An old-layout source (Spilo 1.6-p5 writes .../wal/, configure_spilo.py:743 1.6-p5) and the new
# cluster writing .../wal/15 of the same scope and uid: no object key is shared.
awss3 s3 cp --recursive --quiet "$SRC15" "s3://$BUCKET/spilo/old-layout/$SRC_UID/wal/"
printf 's3://%s/spilo/old-layout/%s/wal/' "$BUCKET" "$SRC_UID" >"$CL/WALG_S3_PREFIX"
restore "${CLONE_ENV[@]}" -- --set "walg.prefix=s3://$BUCKET/spilo/old-layout/$SRC_UID/wal/15"
eq "old layout source, new cluster at .../wal/15: no overlap, not critical" "ok" "$(field status)"
eq "the backups were found at .../wal itself" "s3://$BUCKET/spilo/old-layout/$SRC_UID/wal" \
    "$(field details.source_found)"
# The runbook's settings: WAL_S3_BUCKET in the pod environment, namespace registry: Spilo wrote
# spilo/registry-<scope>/wal/<major> (configure_spilo.py:568-570, :964 4.0-p3), no uid.
awss3 s3 cp --recursive --quiet "$SRC15" "s3://$BUCKET/spilo/registry-harbor-db/wal/14/"
printf 's3://%s/spilo/harbor-db/%s/wal/' "$BUCKET" "$SRC_UID" >"$CL/WALG_S3_PREFIX"
restore CLONE_SCOPE=harbor-db CLONE_METHOD=CLONE_WITH_WALE POD_NAMESPACE=registry \
    WAL_S3_BUCKET=$BUCKET "CLONE_WAL_BUCKET_SCOPE_SUFFIX=/$SRC_UID"
eq "no backup at the uid path: critical" "critical" "$(field status)"
contains "it names the sibling that holds backups" "$(field summary)" \
    "s3://$BUCKET/spilo/registry-harbor-db/wal/14 (reached with CLONE_WAL_BUCKET_SCOPE_PREFIX=registry- and CLONE_WAL_BUCKET_SCOPE_SUFFIX=\"\""
rm -rf "$CL"; cp -r "$TMP/cl-backup" "$CL"
# PostgreSQL unreachable: the restore state is unknown, never "promoted" or "finished" (no target
# time here: the fixture's one is unreachable in this copied bucket, which is critical then).
restore "${CLONE_ENV[@]/CLONE_TARGET_TIME=*/CLONE_TARGET_TIME=}" -- --set "postgres.conninfo=host=127.0.0.1 port=9 connect_timeout=1"
eq "PostgreSQL unreachable: unknown" "unknown unknown null" \
    "$(field status) $(field details.restore_state) $(field details.finished)"

# ---- promoted, no own backup yet, then the first own backup lands ----------------------------
pg_psql "$TMP/pg" "SELECT pg_promote()" >/dev/null
for i in $(seq 1 50); do [ "$(pg_psql "$TMP/pg" 'SELECT pg_is_in_recovery()')" == f ] && break; sleep 0.1; done
restore "${CLONE_ENV[@]}"
eq "promoted without an own backup: ok, not finished" "ok false" "$(field status) $(field details.finished)"
contains "waiting for the first own base backup" "$(field summary)" "first own base backup"

S=$FIXTURES/s3/healthy-3-backups/$BUCKET/spilo/postgresql-harbor-harborcluster/$SRC_UID/wal/15/basebackups_005
awss3 s3 cp --quiet "$S/base_00000001000000000000003A_backup_stop_sentinel.json" \
    "s3://$BUCKET/$OWN_ROOT/basebackups_005/base_000000020000000000000042_backup_stop_sentinel.json"
restore "${CLONE_ENV[@]}"
eq "finished with CLONE_* keys left: warning (exit 1)" "1:warning" "$RC:$(field status)"
eq "finished and cleanup pending" "true true" "$(field details.finished) $(field details.cleanup_pending)"
contains "the summary names the exact keys" "$(field summary)" "CLONE_METHOD, CLONE_SCOPE, CLONE_TARGET_TIME"
contains "and the command" "$(field summary)" "spilo-agent cleanup"
eq "the first own backup" "base_000000020000000000000042" "$(field details.own_first_backup.name)"

restore
eq "finished, no CLONE_* keys left (only the envdir Spilo keeps until restart): ok" "ok false" \
    "$(field status) $(field details.cleanup_pending)"

# ---- a clone that writes into its source ---------------------------------------------------
restore "${CLONE_ENV[@]}" -- --set "walg.prefix=s3://$BUCKET/spilo/postgresql-harbor-harborcluster/$SRC_UID/wal/15"
eq "own prefix where the source's backups are (.../wal/15) is critical" "critical" "$(field status)"
contains "and says why" "$(field summary)" "overwrites the source"

# ---- the metric ----------------------------------------------------------------------------
export "${CLONE_ENV[@]}"
agent_start rs --set agent.interval=2s --set agent.check_timeout=2s "${ARGS[@]}"
check "agent ready" wait_http "$AGENT_URL/readyz" 200 15
contains "spilo_agent_restore_cleanup_pending is 1" "$(curl -s "$AGENT_URL/metrics")" \
    "spilo_agent_restore_cleanup_pending 1"
agent_stop
eq "the daemon stops cleanly" "0" "$AGENT_RC"

# ---- cleanup once the restore has finished: no --force needed --------------------------------
K=$TMP/kube
kube_certs "$K" && kube_api_start "$K" harbor system:serviceaccount:harbor:postgres-pod
API=$KUBE_API
data=$(jq -n '{USE_WALG_BACKUP:"true",CLONE_SCOPE:"postgresql-harbor-harborcluster",
    CLONE_METHOD:"CLONE_WITH_WALE",CLONE_TARGET_TIME:"2025-03-09T12:00:00+00:00"}')
curl -s --cacert "$K/ca.crt" -X POST "$API/_fake/reset" --data-binary \
    "$(jq -n --argjson d "$data" '[{apiVersion:"v1",kind:"ConfigMap",metadata:{name:"pod-config",namespace:"harbor"},data:$d}]')" >/dev/null
out=$("$AGENT" cleanup "${ARGS[@]}" --set "kubernetes.api=$API" --set "kubernetes.token_file=$K/token" \
    --set "kubernetes.ca_file=$K/ca.crt" --set kubernetes.namespace=harbor 2>&1); rc=$?
eq "cleanup after a finished restore succeeds without --force" "0" "$rc"
eq "the CLONE_* keys are gone, the rest stays" '{"USE_WALG_BACKUP":"true"}' \
    "$(jq -c '.[] | select(.metadata.name == "pod-config") | .data' "$K/store.json")"
eq "the old data is saved beside it" "4" \
    "$(jq '[.[] | select(.metadata.name | startswith("pod-config-before-cleanup-"))][0].data | length' "$K/store.json")"
contains "and the output says where" "$out" "pod-config-before-cleanup-"
finish

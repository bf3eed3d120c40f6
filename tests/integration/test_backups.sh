#!/usr/bin/env bash
# The backups check against a real S3-compatible server (s3rver), seeded with Debian's awscli from
# the fixture tree and from generated layouts: fresh, missed, none, in progress, more than one
# listing page; S3 unreachable; and the daemon's /status and /metrics for it.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"

s3_up "$TMP/s3"
BUCKET=acme-harbor-pg-backups
ROOT=spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15
awss3 s3 mb "s3://$BUCKET" >/dev/null
awss3 s3 cp --recursive --quiet "$FIXTURES/s3/healthy-3-backups/$BUCKET" "s3://$BUCKET/"

# The fixture envdir with s3rver's account; the endpoint comes from [s3] endpoint.
mkenv() { # mkenv DIR PREFIX
    mkdir -p "$1"
    cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$1/"
    printf S3RVER >"$1/AWS_ACCESS_KEY_ID"
    printf S3RVER >"$1/AWS_SECRET_ACCESS_KEY"
    printf '%s' "$2" >"$1/WALG_S3_PREFIX"
}
mkenv "$TMP/env" "s3://$BUCKET/$ROOT"
S3=(--set "walg.envdir=$TMP/env" --set "s3.endpoint=$S3RVER_URL")
NOW=$(sed -n 's/^NOW=//p' "$FIXTURES/s3/healthy-3-backups/context.env")

backups() { # backups ARGS... -> the backups check as JSON; rc in RC
    OUT=$("$AGENT" check --json --only backups "${S3[@]}" "$@" 2>"$TMP/check.err"); RC=$?
}
field() { jq -r ".checks.backups.$1" <<<"$OUT"; }

# ---- the fixture tree: three WAL-G backups, the newest at the 01:00 slot -------------------
backups --now "$NOW"
eq "fixture tree at its NOW is ok (exit 0)" "0:ok" "$RC:$(field status)"
eq "count of full backups" "3" "$(field details.count)"
eq "latest backup" "base_00000001000000000000003A" "$(field details.latest.name)"
eq "latest finish time from the sentinel" "2025-03-10T01:00:34Z" "$(field details.latest.finish_time)"
eq "start LSN as PostgreSQL prints it" "0/3A000028" "$(field details.latest.start_lsn)"
eq "previous and next slot" "2025-03-10T01:00:00Z 2025-03-11T01:00:00Z" \
    "$(field details.previous_scheduled_at) $(field details.next_scheduled_at)"
eq "the system identifier above 2^53 is exact" "7479438685861703767" \
    "$(field details.latest.system_identifier)"
contains "summary says when the next is due" "$(field summary)" "next due 2025-03-11T01:00:00Z"
check "a handful of requests, not one per WAL segment ($(field details.s3_requests))" \
    test "$(field details.s3_requests)" -le 6

backups --now 2025-03-10T01:30:00Z
eq "within grace of the 01:00 slot: ok" "ok" "$(field status)"
backups --now 2025-03-11T02:30:00Z
eq "the 2025-03-11 01:00 slot passed its grace: critical (exit 2)" "2:critical" "$RC:$(field status)"
eq "missed is true" "true" "$(field details.missed)"
contains "the summary names the missed slot" "$(field summary)" "2025-03-11T01:00:00Z"
contains "the summary says what to do" "$(field summary)" "postgres_backup.sh"
backups --now 2025-03-11T02:30:00Z --set backups.grace=2h
eq "a longer grace: ok again" "ok" "$(field status)"
backups --now 2025-03-10T09:30:00Z --set 'backups.schedule=0 */4 * * *'
eq "a 4-hourly schedule misses the 04:00 and 08:00 slots" "critical" "$(field status)"

# ---- no backup at all -----------------------------------------------------------------------
mkenv "$TMP/env-empty" "s3://$BUCKET/spilo/other-cluster/0000/wal/15"
backups --now "$NOW" --set "walg.envdir=$TMP/env-empty"
eq "an empty prefix is critical" "critical" "$(field status)"
eq "count 0" "0" "$(field details.count)"
contains "the summary names the prefix" "$(field summary)" "spilo/other-cluster"

# ---- a backup in progress, as S3 lists it: first only tar partitions, then metadata.json --------
# WAL-G uploads the tar partitions first, then metadata.json, the sentinel last (wal-g/wal-g
# internal/databases/postgres/backup_push_handler.go:181,185 uploadBackup then uploadMetadata;
# :477 metadata.json, :485 the sentinel). A folder that holds only base_X/tar_partitions/ is still a common prefix of
# basebackups_005/ in S3 (and base_X/tar_partitions/ with the delimiter "/tar_partitions/"); the
# tests list through s3_listing.py, which answers like S3 (s3rver alone would hide the folder).
IP=$ROOT/basebackups_005/base_000000010000000000000050
printf 'tar' >"$TMP/part"
awss3 s3 cp --quiet "$TMP/part" "s3://$BUCKET/$IP/tar_partitions/part_1.tar.lz4"
backups
eq "only tar_partitions/part_1.tar.lz4 uploaded: in progress" "true" "$(field details.in_progress)"
eq "... and listed as running, with the time of its last object" "base_000000010000000000000050 true" \
    "$(jq -r '.checks.backups.details.running[] | select(.name == "base_000000010000000000000050") |
        "\(.name) \(.last_object_at != null)"' <<<"$OUT")"
eq "... not abandoned, and the latest complete backup is unchanged" "0 base_00000001000000000000003A" \
    "$(jq -r '.checks.backups.details.abandoned | length' <<<"$OUT") $(field details.latest.name)"
awss3 s3 cp --quiet "$FIXTURES/s3/healthy-3-backups/$BUCKET/$ROOT/basebackups_005/base_00000001000000000000003A/metadata.json" \
    "s3://$BUCKET/$IP/metadata.json"
backups
eq "with metadata.json too but no sentinel yet: still in progress" "true" "$(field details.in_progress)"
contains "and listed as running" "$(field details.running)" "base_000000010000000000000050"
backups --now "$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)"
contains "hours later it is abandoned" "$(field details.abandoned)" "base_000000010000000000000050"
check "abandoned is at least a warning" test "$RC" -ge 1
check "details.last_abandoned_at: when the abandoned backup last wrote ($(field details.last_abandoned_at))" \
    test "$(field details.last_abandoned_at)" != null

# ---- many listing pages: 5,000 backups (sentinel + folder + metadata each) -------------------
# written straight into s3rver's store as `aws s3 cp` leaves it (tests/bench/gen_layout.py's put:
# uploading 10,000 objects took a minute), then listed through the listing-faithful S3
gen=$(PYTHONPATH="$S3_REPO_DIR/tests/bench" /usr/bin/python3 - "$TMP/s3/$BUCKET" "$FIXTURES/s3/healthy-3-backups/$BUCKET/$ROOT/basebackups_005" <<'PY'
import datetime, json, os, sys
from gen_layout import put
bucket_dir, src = sys.argv[1], sys.argv[2]
sent = json.load(open(os.path.join(src, "base_00000001000000000000003A_backup_stop_sentinel.json")))
meta = json.load(open(os.path.join(src, "base_00000001000000000000003A", "metadata.json")))
base = "spilo/paged/wal/15/basebackups_005/"
t0 = datetime.datetime(2025, 1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
mtime = datetime.datetime.now().timestamp()
for i in range(5000):
    seg = 0x100 + i
    name = "base_00000001%08X%08X" % (seg // 256, seg % 256)
    start = t0 + datetime.timedelta(hours=i)
    s = dict(sent); m = dict(meta)
    s["StartTime"] = m["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    s["FinishTime"] = m["finish_time"] = (start + datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    m["is_permanent"] = s["IsPermanent"] = (i % 100 == 0)
    put(bucket_dir, base + name + "_backup_stop_sentinel.json", json.dumps(s).encode(), "application/json", mtime)
    put(bucket_dir, base + name + "/metadata.json", json.dumps(m).encode(), "application/json", mtime)
# evaluate ten minutes after the newest finished
print(name, (start + datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))
PY
)
last=${gen% *} gen_now=${gen#* }
mkenv "$TMP/env-paged" "s3://$BUCKET/spilo/paged/wal/15"
backups --now "$gen_now" --set "walg.envdir=$TMP/env-paged" --set 'backups.schedule=0 * * * *' \
    --set backups.retain=4999 --set agent.check_timeout=120s --set agent.interval=240s
eq "5,000 backups over several listing pages: all counted (permanent apart)" "5000" \
    "$(($(field details.count) + $(field details.permanent_count)))"
eq "the newest is found across pages" "$last" "$(field details.latest.name)"
check "listing pages + the newest sentinel + at most 100 metadata.json a run: $(field details.s3_requests) requests" \
    test "$(field details.s3_requests)" -le 120
eq "the other metadata.json are left for later runs (permanence from the sentinels)" "4900" \
    "$(field details.metadata_deferred)"
eq "the verdict holds across pages" "ok" "$(field status)"

# ---- S3 unreachable -----------------------------------------------------------------------
dead=$(free_port)
OUT=$("$AGENT" check --json --only backups --set "walg.envdir=$TMP/env" \
    --set "s3.endpoint=http://127.0.0.1:$dead" 2>/dev/null); RC=$?
eq "S3 unreachable: unknown (exit 3), not a false 'missed'" "3:unknown" "$RC:$(field status)"
contains "the summary names the endpoint" "$(field summary)" "127.0.0.1:$dead"

# ---- the daemon: /status, /checks/backups and the backup metrics ---------------------------
agent_start bk --set agent.interval=2s --set agent.check_timeout=2s "${S3[@]}"
check "agent ready" wait_http "$AGENT_URL/readyz" 200 15
st=$(curl -s "$AGENT_URL/checks/backups")
eq "/checks/backups reports the last run" "true" "$(jq 'has("status") and has("details")' <<<"$st")"
metrics=$(curl -s "$AGENT_URL/metrics")
contains "backup count metric" "$metrics" "spilo_agent_backup_count 3"
contains "... and its gauge-typed successor" "$metrics" $'# TYPE spilo_agent_backups gauge\nspilo_agent_backups 3'
contains "the agent's process metrics" "$metrics" "process_resident_memory_bytes "
if command -v promtool >/dev/null; then
    lint=$(promtool check metrics <<<"$metrics" 2>&1); rc=$?
    eq "promtool check metrics with every backup family: clean" "0:" "$rc:$lint"
fi
contains "last finish metric" "$metrics" "spilo_agent_backup_last_finish_timestamp_seconds 1741568434"
contains "missed metric" "$metrics" "spilo_agent_backup_missed 1"
contains "retain metric" "$metrics" "spilo_agent_backup_retain 5"
if command -v promtool >/dev/null; then
    lint=$(promtool check metrics <<<"$metrics" 2>&1); rc=$?
    eq "promtool check metrics is clean (${lint:0:200})" "0" "$rc"
fi
agent_stop
eq "the daemon stops cleanly" "0" "$AGENT_RC"
not_contains "no leaked handles" "$(cat "$AGENT_LOG")" "open handles"
not_contains "the secret key never reaches the log" "$(cat "$AGENT_LOG" "$AGENT_OUT")" "S3RVER"
finish

#!/usr/bin/env bash
# `make demo`: a local PostgreSQL 15 (Spilo's pg_hba, archiving WAL into S3), a local
# S3-compatible server (s3rver behind the listing-faithful S3 of the tests, lib/s3_listing.py)
# seeded with a WAL-G backup layout of fresh base backups, and the agent watching both on
# http://127.0.0.1:8009 (or a free port). It then shows a missed backup, a broken clone endpoint
# and harbor-operator's broken pg_hba, and keeps running until Ctrl-C
# (or for DEMO_SECONDS). DEMO_PORT picks the port (default 8009, a free one when that is taken);
# the agent's log goes to DEMO_LOG (default build/demo-agent.log) and stays after the demo.
set -u
AGENT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/.."
TEST_NAME=demo
. tests/integration/lib/common.sh
. tests/integration/lib/pg.sh
. tests/integration/lib/s3.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a local S3 (s3rver) and PostgreSQL 15"
s3rver_ensure && s3_start "$TMP/s3" || { echo "demo: s3rver did not start" >&2; exit 1; }
PG_TEST_SSL=1 pg_start "$TMP/pg" "$FIXTURES/pg_hba/spilo-default.pg_hba.conf" >"$TMP/pg-start.log" 2>&1 ||
    { cat "$TMP/pg-start.log"; echo "demo: PostgreSQL did not start" >&2; exit 1; }
echo "S3 at $S3RVER_URL, PostgreSQL at $PG_CONNINFO_TEST"

BUCKET=demo-pg-backups
ROOT=spilo/demo-cluster/2f1c9e1a-0000-4000-8000-000000000001/wal/15
SCHEDULE='0 * * * *'

say "seeding s3://$BUCKET/$ROOT with a WAL-G layout: one base backup per hourly BACKUP_SCHEDULE slot"
/usr/bin/python3 - "$TMP/layout" "$FIXTURES/s3/healthy-3-backups/acme-harbor-pg-backups/spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15/basebackups_005" <<'PY'
import datetime, json, os, sys
out, src = sys.argv[1], sys.argv[2]
sent = json.load(open(os.path.join(src, "base_00000001000000000000003A_backup_stop_sentinel.json")))
meta = json.load(open(os.path.join(src, "base_00000001000000000000003A", "metadata.json")))
now = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
base = os.path.join(out, "basebackups_005")
for i, hours_ago in enumerate([4, 3, 2, 1, 0]):
    start = now - datetime.timedelta(hours=hours_ago) + datetime.timedelta(seconds=1)
    seg = 0x10 * (i + 1)
    name = "base_00000001%08X%08X" % (0, seg)
    s, m = dict(sent), dict(meta)
    s["LSN"] = m["start_lsn"] = seg * 0x1000000 + 0x28
    s["FinishLSN"] = m["finish_lsn"] = seg * 0x1000000 + 0x1A18
    s["StartTime"] = m["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    s["FinishTime"] = m["finish_time"] = (start + datetime.timedelta(seconds=33)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    os.makedirs(os.path.join(base, name, "tar_partitions"), exist_ok=True)
    json.dump(s, open(os.path.join(base, name + "_backup_stop_sentinel.json"), "w"))
    json.dump(m, open(os.path.join(base, name, "metadata.json"), "w"))
    open(os.path.join(base, name, "tar_partitions", "part_001.tar.lz4"), "w").write("stub")
PY
awss3 s3 mb "s3://$BUCKET" >/dev/null
awss3 s3 cp --recursive --quiet "$TMP/layout" "s3://$BUCKET/$ROOT/"
awss3 s3 ls --recursive "s3://$BUCKET/$ROOT/basebackups_005/" | grep sentinel

# Spilo's envdir for this cluster (as the walg-s3-ok fixture, with the local bucket and account)
W="$TMP/wal-e.d"
mkdir -p "$W"
cp -r "$FIXTURES/envdir/walg-s3-ok/env" "$W/env"
printf S3RVER >"$W/env/AWS_ACCESS_KEY_ID"
printf S3RVER >"$W/env/AWS_SECRET_ACCESS_KEY"
printf 's3://%s/%s' "$BUCKET" "$ROOT" >"$W/env/WALG_S3_PREFIX"
printf 's3://%s/%s' "$BUCKET" "$ROOT" >"$W/env/WALE_S3_PREFIX"

# WAL archiving the way Spilo's archive_command does it: each segment into wal_005/ of the prefix
cmd="env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1"
cmd+=" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true"
cmd+=" HOME=/tmp $S3_AWS --endpoint-url $S3RVER_URL s3 cp --quiet %p s3://$BUCKET/$ROOT/wal_005/%f.lz4"
pg_psql "$TMP/pg" "ALTER SYSTEM SET archive_mode = on" >/dev/null
pg_psql "$TMP/pg" "ALTER SYSTEM SET archive_command = '$cmd'" >/dev/null
pg_restart "$TMP/pg" >/dev/null 2>&1
pg_psql "$TMP/pg" "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do
    [ -n "$(pg_psql "$TMP/pg" 'SELECT last_archived_wal FROM pg_stat_archiver')" ] && break
    sleep 0.2
done

port=${DEMO_PORT:-8009}
(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && port=$(free_port)
url="http://127.0.0.1:$port"
LOG=${DEMO_LOG:-build/demo-agent.log}
mkdir -p "$(dirname "$LOG")"
LOG=$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG")
cat >"$TMP/agent.ini" <<INI
[agent]
listen = 127.0.0.1:$port
interval = 2s
check_timeout = 1500ms
log_format = text

[postgres]
conninfo = $PG_CONNINFO_TEST
patroni_url = http://127.0.0.1:9

[walg]
envdir = $W/env

[backups]
schedule = $SCHEDULE
grace = 30m

[s3]
endpoint = $S3RVER_URL
INI

say "spilo-agent check -c agent.ini (one-shot report)"
"$AGENT" check -c "$TMP/agent.ini"

"$AGENT" run -c "$TMP/agent.ini" 2>"$LOG" &
AGENT_PID=$!
on_exit "kill $AGENT_PID"
for _ in $(seq 1 150); do curl -sf "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

say "the agent is running on $url (log: $LOG); try:"
echo "   curl $url/status | jq ."
echo "   curl $url/checks/backups"
echo "   curl $url/metrics"
echo "   curl $url/livez ; curl $url/readyz"
say "GET /checks/backups"
curl -s "$url/checks/backups" | jq -C '{status, summary, details: (.details | {count, latest: .latest.name, previous_scheduled_at, next_scheduled_at, missed})}'
say "GET /metrics (backup families)"
curl -s "$url/metrics" | grep -E '^spilo_agent_(backup|wal_archive|pg_hba|check_status)'

later=$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)
say "a missed backup: the same S3 seen three hours later (spilo-agent check --only backups --now $later)"
"$AGENT" check -c "$TMP/agent.ini" --only backups --now "$later"

say "a broken clone: a new cluster (no own backup yet) cloned with CLONE_AWS_ENDPOINT=https+path://..."
C="$TMP/clone-wal-e.d"
mkdir -p "$C"
cp -r "$W/env" "$C/env"
printf 's3://%s/spilo/demo-clone/2f1c9e1a-0000-4000-8000-000000000002/wal/15' "$BUCKET" >"$C/env/WALG_S3_PREFIX"
printf 's3://%s/spilo/demo-clone/2f1c9e1a-0000-4000-8000-000000000002/wal/15' "$BUCKET" >"$C/env/WALE_S3_PREFIX"
cp -r "$FIXTURES/envdir/clone-endpoint/env-clone-postgresql-harbor-harborcluster" "$C/"
"$AGENT" check -c "$TMP/agent.ini" --set "walg.envdir=$C/env" --only walg_env,restore

# wait_check NAME STATUS: until the running agent reports it (10 s)
wait_check() {
    for _ in $(seq 1 100); do
        [ "$(curl -s "$url/checks/$1" | jq -r .status 2>/dev/null)" == "$2" ] && return 0
        sleep 0.1
    done
    echo "demo: the agent did not report $1 $2 within 10 s" >&2
}

say "harbor-operator v1.3.0's pg_hba (no 'local' lines) replaces Spilo's"
pg_hba_set "$TMP/pg" "$FIXTURES/pg_hba/harbor-operator-v1.3.0.pg_hba.conf"
pg_reload "$TMP/pg" >/dev/null 2>&1
"$AGENT" check -c "$TMP/agent.ini" --only pg_hba
wait_check pg_hba critical
pg_hba_set "$TMP/pg" "$FIXTURES/pg_hba/spilo-default.pg_hba.conf"
pg_reload "$TMP/pg" >/dev/null 2>&1
wait_check pg_hba ok
say "Spilo's pg_hba is back; the running agent logged both changes ($LOG):"
grep -E "check pg_hba (changed|recovered)" "$LOG" | cut -c1-200

say "the agent keeps running on $url; Ctrl-C stops the demo and every server it started"
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else wait "$AGENT_PID"; fi

#!/usr/bin/env bash
# The PostgreSQL checks against a real PostgreSQL 15: wal_archive verdicts (off, failing, working),
# pg_hba verdicts for the fixture files, the agent's own login refused, PostgreSQL stopped and
# started again (the agent recovers without restart, /livez stays fast), and the role.
set -u
TEST_NAME=pg
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/pg.sh"

if ! PG_TEST_SSL=1 pg_start "$TMP/pg" >"$TMP/pg-start.log" 2>&1; then
    nok "PostgreSQL 15 starts"; cat "$TMP/pg-start.log"; finish; exit
fi
ok "PostgreSQL 15 runs on 127.0.0.1:$PGPORT_TEST"
PG=(--set "postgres.conninfo=$PG_CONNINFO_TEST" --set postgres.patroni_url=http://127.0.0.1:9)
psql_() { pg_psql "$TMP/pg" "$1" >/dev/null; }

json=$("$AGENT" check --json --only wal_archive "${PG[@]}")
eq "archive_mode off is critical" "critical" "$(jq -r .checks.wal_archive.status <<<"$json")"
contains "and the summary says so" "$(jq -r .checks.wal_archive.summary <<<"$json")" "archive_mode is off"
eq "role from pg_is_in_recovery" "leader" "$(jq -r .role <<<"$json")"

psql_ "ALTER SYSTEM SET archive_mode = on"
psql_ "ALTER SYSTEM SET archive_command = '/bin/true'"
pg_restart "$TMP/pg" >/dev/null 2>&1
json=$("$AGENT" check --json --only wal_archive "${PG[@]}")
contains "archive_command /bin/true (Spilo without a bucket) is critical" \
    "$(jq -r '.checks.wal_archive | .status + " " + .summary' <<<"$json")" "critical archive_command is '/bin/true'"

# a failing archive_command: PostgreSQL retries, failed_count rises, last failure newer than success
psql_ "ALTER SYSTEM SET archive_command = 'false'"
psql_ "SELECT pg_reload_conf()"
psql_ "CREATE TABLE t AS SELECT generate_series(1, 1000) AS i"
psql_ "SELECT pg_switch_wal()"
for _ in $(seq 1 50); do
    [ "$(pg_psql "$TMP/pg" 'SELECT failed_count > 0 FROM pg_stat_archiver')" == t ] && break; sleep 0.2
done
json=$("$AGENT" check --json --only wal_archive "${PG[@]}"); rc=$?
eq "a failing archive_command makes wal_archive critical (exit 2)" "2 critical" "$rc $(jq -r .checks.wal_archive.status <<<"$json")"
contains "the summary names the failing segment" "$(jq -r .checks.wal_archive.summary <<<"$json")" "WAL archiving has never succeeded: segment 0000000100000000000000"

# working archiving: copy into a directory
mkdir -p "$TMP/archive"; chmod 777 "$TMP/archive"
psql_ "ALTER SYSTEM SET archive_command = 'cp %p $TMP/archive/%f'"
psql_ "SELECT pg_reload_conf()"
for _ in $(seq 1 100); do
    [ "$(pg_psql "$TMP/pg" 'SELECT last_archived_time > last_failed_time FROM pg_stat_archiver')" == t ] && break; sleep 0.2
done
json=$("$AGENT" check --json --only wal_archive "${PG[@]}")
eq "archiving that works again is ok" "ok" "$(jq -r .checks.wal_archive.status <<<"$json")"
contains "ok summary names the last archived segment" "$(jq -r .checks.wal_archive.summary <<<"$json")" "WAL archiving works: 0000000100000000000000"
eq "details count the failures" "true" "$(jq '.checks.wal_archive.details.failed_count > 0' <<<"$json")"

# ---- pg_hba ---------------------------------------------------------------------------------
psql_ "ALTER ROLE postgres PASSWORD 'agent-test-only'"
export PGPASSWORD=agent-test-only
TCP=(--set "postgres.conninfo=host=127.0.0.1 port=$PGPORT_TEST user=postgres dbname=postgres sslmode=require")
hba() { # hba FILE: load it (PostgreSQL keeps the old rules when the new file has errors)
    pg_hba_set "$TMP/pg" "$1" && pg_reload "$TMP/pg" >/dev/null 2>&1
}
hba "$FIXTURES/pg_hba/harbor-operator-v1.3.0.pg_hba.conf"
json=$("$AGENT" check --json --only pg_hba "${TCP[@]}"); rc=$?
eq "harbor-operator v1.3.0 pg_hba is critical (exit 2)" "2 critical" "$rc $(jq -r .checks.pg_hba.status <<<"$json")"
summary=$(jq -r .checks.pg_hba.summary <<<"$json")
contains "the summary names local replication postgres" "$summary" "local replication postgres trust"
contains "the summary names the standby rule to add" "$summary" "local replication standby trust"
contains "the summary names local all postgres" "$summary" "local all postgres"
contains "the summary says where to add them" "$summary" "before line 3"
eq "details list the connections Spilo needs" "4" "$(jq '.checks.pg_hba.details.connections | length' <<<"$json")"
json=$("$AGENT" check --json --only pg_hba "${PG[@]}"); rc=$?
eq "the agent's own socket login refused by pg_hba is the pg_hba verdict" "2 critical" "$rc $(jq -r .checks.pg_hba.status <<<"$json")"
contains "with the server's message" "$(jq -r .checks.pg_hba.summary <<<"$json")" 'no pg_hba.conf entry for host "[local]", user "postgres"'
for f in harbor-operator-fixed spilo-default; do
    hba "$FIXTURES/pg_hba/$f.pg_hba.conf"
    json=$("$AGENT" check --json --only pg_hba "${TCP[@]}"); rc=$?
    eq "$f pg_hba is ok" "0 ok" "$rc $(jq -r .checks.pg_hba.status <<<"$json")"
done
{ cat "$FIXTURES/pg_hba/spilo-default.pg_hba.conf"; echo "host all all 10.0.0.0/33 md5"; } >"$TMP/bad_hba"
pg_hba_set "$TMP/pg" "$TMP/bad_hba"
json=$("$AGENT" check --json --only pg_hba "${TCP[@]}"); rc=$?
bad_line=$(wc -l <"$TMP/bad_hba")
eq "a pg_hba line with an error is critical" "2 critical" "$rc $(jq -r .checks.pg_hba.status <<<"$json")"
contains "and the summary names the line" "$(jq -r .checks.pg_hba.summary <<<"$json")" "line $bad_line"
hba "$FIXTURES/pg_hba/spilo-default.pg_hba.conf"
unset PGPASSWORD

# the daemon: PostgreSQL stops, /livez stays fast, the check says why, then recovers
agent_start pg --set agent.interval=1s --set agent.check_timeout=1s "${PG[@]}" --set "walg.envdir=$FIXTURES/envdir/walg-s3-ok/env"
check "agent ready" wait_http "$AGENT_URL/readyz" 200 10
metrics=$(curl -s "$AGENT_URL/metrics")
contains "metric wal_archive failed_total" "$metrics" "spilo_agent_wal_archive_failed_total "
contains "metric last success timestamp" "$metrics" "spilo_agent_wal_archive_last_success_timestamp_seconds "
contains "metric pg_hba ok" "$metrics" "spilo_agent_pg_hba_ok 1"
eq "promtool accepts the metrics" "0" "$(promtool check metrics <<<"$metrics" >/dev/null 2>&1; echo $?)"
pg_stop "$TMP/pg" >/dev/null 2>&1
down=no
for _ in $(seq 1 40); do
    [ "$(curl -s "$AGENT_URL/status" | jq -r .checks.wal_archive.status)" == unknown ] && { down=yes; break; }
    sleep 0.1
done
eq "PostgreSQL down: wal_archive is unknown" "yes" "$down"
contains "and says it cannot reach PostgreSQL" "$(curl -s "$AGENT_URL/checks/wal_archive" | jq -r .summary)" "cannot reach PostgreSQL"
slow=0
for _ in $(seq 1 50); do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$AGENT_URL/livez")
    awk -v t="$t" 'BEGIN { exit !(t > 0.05) }' && slow=$((slow + 1))
done
eq "/livez answers within 50 ms while PostgreSQL is down (50 tries)" "0" "$slow"
pg_restart "$TMP/pg" >/dev/null 2>&1
up=no
for _ in $(seq 1 60); do
    [ "$(curl -s "$AGENT_URL/status" | jq -r .checks.wal_archive.status)" == ok ] && { up=yes; break; }
    sleep 0.1
done
eq "PostgreSQL back: the agent recovers without restart" "yes" "$up"
agent_stop
eq "agent stops cleanly" "0" "$AGENT_RC"

finish

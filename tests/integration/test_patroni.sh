#!/usr/bin/env bash
# The role in /status follows a Patroni switchover: a two-member Patroni cluster on etcd, the agent
# beside member m1 (its PostgreSQL and its REST API), then a switchover to m2 and back.
set -u
TEST_NAME=patroni
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/pg.sh"
. "$(dirname "$0")/lib/patroni.sh"

if ! patroni_start "$TMP/patroni" >"$TMP/patroni-start.log" 2>&1; then
    nok "a Patroni cluster starts"; tail -30 "$TMP/patroni-start.log"; finish; exit
fi
ok "Patroni cluster with two members runs (m1 leader, m2 streaming)"

agent_start patroni --set agent.interval=1s --set agent.check_timeout=1s \
    --set "postgres.conninfo=$PATRONI_M1_PG" --set "postgres.patroni_url=$PATRONI_M1_API" \
    --set "walg.envdir=$FIXTURES/envdir/walg-s3-ok/env"
check "agent ready" wait_http "$AGENT_URL/readyz" 200 10

wait_role() { # wait_role ROLE: until /status says it
    local i
    for i in $(seq 1 100); do
        [ "$(curl -s "$AGENT_URL/status" | jq -r .role)" == "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
check "m1 is reported as leader" wait_role leader
eq "Patroni's view is in the details" "running" \
    "$(curl -s "$AGENT_URL/checks/wal_archive" | jq -r .details.patroni.state)"

check "switchover to m2 succeeds" patroni_switchover "$TMP/patroni" m2
check "after the switchover m1 is reported as replica" wait_role replica
replica_summary() {
    local i
    for i in $(seq 1 150); do
        [[ "$(curl -s "$AGENT_URL/checks/wal_archive" | jq -r .summary)" == "replica: WAL is archived by the leader"* ]] && return 0
        sleep 0.1
    done
    curl -s "$AGENT_URL/checks/wal_archive" | jq -c '{summary, mode: .details.archive_mode, role: .details.role}'
    return 1
}
check "wal_archive on the replica says the leader archives" replica_summary
check "m1 streams from m2" _patroni_wait 60 _patroni_streaming "$PATRONI_M1_API"

check "switchover back to m1 succeeds" patroni_switchover "$TMP/patroni" m1
check "m1 is leader again" wait_role leader
agent_stop
eq "agent stops cleanly" "0" "$AGENT_RC"
finish

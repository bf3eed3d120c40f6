#!/usr/bin/env bash
# `make demo` end to end (DEMO_SECONDS=0): it starts PostgreSQL, s3rver and the agent, shows live
# verdicts for every check, a missed backup, a broken clone endpoint and a broken pg_hba, and
# stops everything it started.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"

out=$(DEMO_SECONDS=0 timeout 240 bash tests/demo.sh "$AGENT" 2>&1); rc=$?
printf '%s\n' "$out" >"$TMP/demo.out"
eq "the demo runs to its end" "0" "$rc"
contains "walg_env is ok for the local S3" "$out" "OK        walg_env"
contains "fresh backups on the hourly schedule" "$out" "OK        backups      5 backups"
contains "pg_hba is ok with Spilo's rules" "$out" "OK        pg_hba"
contains "WAL is archived into the bucket" "$out" "OK        wal_archive  WAL archiving works"
contains "the metrics are served" "$out" "spilo_agent_backup_count 5"
contains "three hours later the backup is missed" "$out" "CRITICAL  backups      no base backup landed"
contains "the broken clone endpoint is caught" "$out" "CLONE_AWS_ENDPOINT \"https+path://"
contains "harbor-operator's pg_hba is caught" "$out" 'no pg_hba.conf entry for host "[local]", user "postgres"'
sleep 0.5
port_free=yes
(exec 3<>/dev/tcp/127.0.0.1/8009) 2>/dev/null && port_free=no
eq "the agent it started is gone" "yes" "$port_free"
finish

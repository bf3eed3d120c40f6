#!/usr/bin/env bash
# `make demo` end to end (DEMO_SECONDS=0): it starts PostgreSQL, s3rver and the agent, shows live
# verdicts for every check, a missed backup, a broken clone endpoint and a broken pg_hba, and
# stops everything it started. Runs on a port of its own (DEMO_PORT), so 8009 may be taken.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"

DEMO_PORT=$(free_port)
out=$(DEMO_SECONDS=0 DEMO_PORT=$DEMO_PORT DEMO_LOG="$TMP/demo-agent.log" timeout 240 bash tests/demo.sh "$AGENT" 2>&1); rc=$?
printf '%s\n' "$out" >"$TMP/demo.out"
eq "the demo runs to its end" "0" "$rc"
contains "walg_env is ok for the local S3" "$out" "OK        walg_env"
contains "fresh backups on the hourly schedule" "$out" "OK        backups      5 backups"
contains "pg_hba is ok with Spilo's rules" "$out" "OK        pg_hba"
contains "WAL is archived into the bucket" "$out" "OK        wal_archive  WAL archiving works"
contains "the metrics are served" "$out" "spilo_agent_backup_count 5"
contains "three hours later the backup is missed" "$out" "CRITICAL  backups      no base backup landed"
contains "the broken clone endpoint is caught" "$out" "CLONE_AWS_ENDPOINT \"https+path://"
clone=$(sed -n '/== a broken clone/,/== harbor-operator/p' "$TMP/demo.out")
contains "... and restore agrees: the clone cannot restore" "$clone" "CRITICAL  restore      CLONE_AWS_ENDPOINT"
not_contains "... restore does not say the restore finished" "$clone" "restore has finished"
# (the WAL chain's status line describes the same S3 in each report that shows backups)
dups=$(grep -vE '^\s*$|^Details: |== |^spilo-agent .* at |^\s*WAL chain: ' "$TMP/demo.out" | sed -E 's/^ *(- (critical|warning|info|note): )?//' | awk 'length > 40' | sort | uniq -d)
eq "no sentence is printed twice" "" "$dups"
log=$(cat "$TMP/demo-agent.log" 2>/dev/null)
contains "the log it points to survives the demo and holds the status changes" "$log" "check pg_hba changed from ok to critical"
contains "... and the recovery" "$log" "check pg_hba recovered (was critical)"
contains "... with the fields" "$log" "check=pg_hba status=critical previous=ok"
contains "the demo names its log" "$out" "$TMP/demo-agent.log"
gap=$(python3 - "$TMP/demo-agent.log" <<'PY'
import datetime, re, sys
t = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) \S+ +check +check pg_hba (changed from ok to critical|recovered)", line)
    if m:
        t.setdefault(m.group(2), datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ"))
print(int((t["recovered"] - t["changed from ok to critical"]).total_seconds()) if len(t) == 2 else 99)
PY
)
check "the pg_hba scene has no silent pause (broken to repaired in ${gap}s, under 8s)" test "$gap" -lt 8
contains "harbor-operator's pg_hba is caught" "$out" 'no pg_hba.conf entry for host "[local]", user "postgres"'
sleep 0.5
port_free=yes
(exec 3<>/dev/tcp/127.0.0.1/"$DEMO_PORT") 2>/dev/null && port_free=no
eq "the agent it started is gone" "yes" "$port_free"
finish

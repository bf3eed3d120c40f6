#!/usr/bin/env bash
# pgconn against a throwaway PostgreSQL 15 (tests/integration/lib/pg.sh): the cmocka test
# build/tests/test_pgconn once as is and once under valgrind. The server has SSL and the pg_hba.conf
# below, so the login-refused cases get the server's own messages.
set -u
# shellcheck disable=SC2034 # read by common.sh
TEST_NAME=pgconn
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
. tests/integration/lib/pg.sh
BIN=${PGCONN_TEST_BIN:-build/tests/test_pgconn}

if [ ! -x "$BIN" ]; then
    make --no-print-directory "$BIN" >/dev/null || { nok "build $BIN"; finish; exit; }
fi

# First matching line wins: postgres may log in over the socket and TCP; spilo_agent_pw needs a
# password; spilo_agent_rejected hits a reject line; spilo_agent_nossl only without SSL; any other
# user (spilo_agent_nohba) has no line at all.
cat >"$TMP/pg_hba.conf" <<'EOF'
local     all   postgres                            trust
local     all   spilo_agent_pw                      scram-sha-256
local     all   spilo_agent_rejected                reject
host      all   postgres             127.0.0.1/32   trust
host      all   spilo_agent_pw       127.0.0.1/32   scram-sha-256
hostnossl all   spilo_agent_nossl    127.0.0.1/32   trust
EOF
PW="pgconn-$RANDOM$RANDOM"

if ! PG_TEST_SSL=1 pg_start "$TMP/pg" "$TMP/pg_hba.conf"; then
    nok "PostgreSQL 15 starts"
    finish
    exit
fi
ok "PostgreSQL 15 starts on 127.0.0.1:$PGPORT_TEST and $PGHOST_TEST"
check "roles created" pg_psql "$TMP/pg" \
    "CREATE ROLE spilo_agent_pw LOGIN PASSWORD '$PW'; CREATE ROLE spilo_agent_rejected LOGIN;
     CREATE ROLE spilo_agent_nossl LOGIN;"
eq "server listens on 127.0.0.1 only" "127.0.0.1" "$(pg_psql "$TMP/pg" 'SHOW listen_addresses')"

export SPILO_AGENT_TEST_PG_CONNINFO="$PG_CONNINFO_TEST"
export SPILO_AGENT_TEST_PG_FIXTURE=1 SPILO_AGENT_TEST_PG_SSL=1 SPILO_AGENT_TEST_PG_PASSWORD="$PW"
unset PGPASSWORD PGAPPNAME PGSSLMODE

# run_cmocka DESC CMD...: one ok/nok per cmocka test, from its summary lines.
run_cmocka() {
    local desc=$1 out rc line
    shift
    out=$("$@" 2>&1)
    rc=$?
    while IFS= read -r line; do
        case "$line" in
        "[       OK ] "*) ok "$desc: ${line#\[       OK \] }" ;;
        "[  FAILED  ] test_"*) nok "$desc: ${line#\[  FAILED  \] }" ;;
        "[  SKIPPED ] test_"*) nok "$desc: ${line#\[  SKIPPED \] } was skipped" ;;
        esac
    done < <(printf '%s\n' "$out" | grep -E '^\[ +(OK|FAILED|SKIPPED) +\] test_' | sort -u)
    if [ "$rc" -ne 0 ]; then
        nok "$desc exits 0 (got $rc)"
        printf '%s\n' "$out" | tail -40
    fi
    not_contains "$desc never shows the test password" "$out" "$PW"
}

run_cmocka "test_pgconn" "$BIN"

if command -v valgrind >/dev/null; then
    run_cmocka "test_pgconn under valgrind" valgrind --error-exitcode=1 --leak-check=full \
        --track-fds=no --quiet --suppressions=tests/valgrind.supp "$BIN"
else
    nok "valgrind is installed (make deps)"
fi

not_contains "server log never shows the test password" "$(cat "$TMP/pg/log/server.log")" "$PW"
pg_stop "$TMP/pg"
check "server stopped" test ! -f "$TMP/pg/data/postmaster.pid"
finish

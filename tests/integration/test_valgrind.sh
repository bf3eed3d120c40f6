#!/usr/bin/env bash
# The daemon and the check command under valgrind: no invalid access, no definite leak, and a
# clean shutdown (every handle closed) after real traffic, a reload and SIGTERM.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
if ! command -v valgrind >/dev/null; then nok "valgrind is installed (make deps)"; finish; exit; fi
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no --quiet --suppressions=tests/valgrind.supp)
ENV_CLONE="$FIXTURES/envdir/clone-endpoint/env"

out=$("${VG[@]}" "$AGENT" check --only walg_env --set "walg.envdir=$ENV_CLONE" 2>&1); rc=$?
eq "check --only walg_env under valgrind: critical (2), no errors" "2" "$rc"
[ "$rc" -eq 99 ] && echo "$out" | tail -30
# every check, PostgreSQL unreachable here (unknown) and the clone endpoint critical: critical (2,
# critical > unknown as monitoring-plugins' max_state_alt), still no errors
out=$("${VG[@]}" "$AGENT" check --set "walg.envdir=$ENV_CLONE" --set agent.check_timeout=3s \
    --set "postgres.conninfo=host=127.0.0.1 port=1 connect_timeout=2" 2>&1); rc=$?
eq "every check under valgrind: critical beats the unknown ones (2), no errors" "2" "$rc"
[ "$rc" -eq 99 ] && echo "$out" | tail -30

port=$(free_port)
"${VG[@]}" "$AGENT" run --set "agent.listen=127.0.0.1:$port" --set agent.interval=1s \
    --set agent.check_timeout=1s --set "walg.envdir=$ENV_CLONE" 2>"$TMP/vg.log" &
pid=$!
on_exit "kill -9 $pid"
check "agent under valgrind becomes ready" wait_http "http://127.0.0.1:$port/readyz" 200 30
for p in /livez /status /metrics /checks/walg_env /nope; do curl -s "http://127.0.0.1:$port$p" >/dev/null; done
python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")   # left half-done: closed at shutdown
PY
kill -HUP "$pid"; sleep 2
kill -TERM "$pid"; wait "$pid"; rc=$?
eq "daemon under valgrind exits 0 with no errors" "0" "$rc"
[ "$rc" -ne 0 ] && tail -40 "$TMP/vg.log"
not_contains "no open handles at exit" "$(cat "$TMP/vg.log")" "open handles"
finish

# Sourced by the integration tests: assertions with a pass/fail tally, free ports, waiting for
# HTTP, and starting/stopping the agent. Every server binds 127.0.0.1 and is stopped on exit.

PASS=0
FAIL=0
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
FIXTURES=${FIXTURES:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/fixtures}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spilo-agent-test.XXXXXX")
CLEANUP_CMDS=()

cleanup_all() {
    local i
    for ((i = ${#CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do eval "${CLEANUP_CMDS[$i]}" >/dev/null 2>&1 || true; done
    rm -rf "$TMP"
}
trap cleanup_all EXIT
on_exit() { CLEANUP_CMDS+=("$1"); }

ok()   { PASS=$((PASS + 1)); echo "ok   - $*"; }
nok()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check "description" command...
    local desc=$1; shift
    if "$@"; then ok "$desc"; else nok "$desc"; fi
}
eq() { # eq "description" expected actual
    if [ "$2" == "$3" ]; then ok "$1"; else nok "$1 (expected '$2', got '$3')"; fi
}
contains() { # contains "description" haystack needle
    if [[ "$2" == *"$3"* ]]; then ok "$1"; else nok "$1 (no '$3' in: ${2:0:400})"; fi
}
not_contains() {
    if [[ "$2" != *"$3"* ]]; then ok "$1"; else nok "$1 (found '$3')"; fi
}
finish() {
    echo "$TEST_NAME: $PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL [STATUS] [SECONDS]: until the URL answers with STATUS (default 200).
wait_http() {
    local url=$1 want=${2:-200} secs=${3:-10} i code
    for ((i = 0; i < secs * 20; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)
        [ "$code" == "$want" ] && return 0
        sleep 0.05
    done
    return 1
}

# agent_start NAME ARGS...: starts `spilo-agent run ARGS` on a free port; sets AGENT_PID,
# AGENT_URL, AGENT_LOG (stderr) and AGENT_OUT (stdout).
agent_start() {
    local name=$1; shift
    AGENT_PORT=$(free_port)
    AGENT_URL="http://127.0.0.1:$AGENT_PORT"
    AGENT_LOG="$TMP/$name.stderr"
    AGENT_OUT="$TMP/$name.stdout"
    "$AGENT" run --set "agent.listen=127.0.0.1:$AGENT_PORT" "$@" >"$AGENT_OUT" 2>"$AGENT_LOG" &
    AGENT_PID=$!
    on_exit "kill -9 $AGENT_PID"
}

# agent_stop: SIGTERM and wait; sets AGENT_RC to the exit status (not in a subshell: only the
# shell that started the agent can wait for it).
agent_stop() {
    kill -TERM "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID"
    AGENT_RC=$?
}

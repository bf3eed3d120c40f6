#!/usr/bin/env bash
# The daemon end to end: endpoints, HTTP limits, signals, reload, the check command's exit codes,
# configuration errors, and that no fixture secret reaches any output.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"

ENV_OK="$FIXTURES/envdir/walg-s3-ok/env"
ENV_BROKEN="$FIXTURES/envdir/broken-prefix-region/env"
ENV_CLONE="$FIXTURES/envdir/clone-endpoint/env"
COMMON=(--set agent.interval=1s --set agent.check_timeout=1s --set agent.log_format=json)

# ---- the daemon and its endpoints -----------------------------------------------------------
agent_start ok "${COMMON[@]}" --set "walg.envdir=$ENV_OK" --set agent.request_timeout=1s \
    --set agent.idle_timeout=2s
check "agent becomes ready" wait_http "$AGENT_URL/readyz" 200 10
eq "/livez answers ok" "ok" "$(curl -s "$AGENT_URL/livez")"
status=$(curl -s "$AGENT_URL/status")
eq "/status is JSON whose status is the worst of its checks" "true" \
    "$(jq 'def r: {"ok":0,"warning":1,"critical":2,"unknown":3}[.]; (.status|r) == ([.checks[].status|r]|max)' <<<"$status")"
eq "/status walg_env ok" "ok" "$(jq -r .checks.walg_env.status <<<"$status")"
eq "/status has version" "true" "$(jq 'has("version") and has("now") and has("role")' <<<"$status")"
eq "/status check has checked_at and duration_ms" "true" \
    "$(jq '.checks.walg_env | has("checked_at") and has("duration_ms") and has("details")' <<<"$status")"
eq "/status walg_env details name the prefix" \
    "s3://acme-harbor-pg-backups/spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15" \
    "$(jq -r .checks.walg_env.details.prefix <<<"$status")"
eq "/status content type" "application/json" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$AGENT_URL/status")"
eq "/checks/walg_env is 200 when ok" "200" "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/checks/walg_env")"
eq "/checks/nope is 404" "404" "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/checks/nope")"
eq "unknown path is 404" "404" "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/nope")"
eq "POST /status is 405" "405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$AGENT_URL/status")"
eq "POST /cleanup is 404 when allow_http is off" "404" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$AGENT_URL/cleanup")"
eq "HEAD /livez has no body" "0" "$(curl -s -I "$AGENT_URL/livez" -o /dev/null -w '%{size_download}')"
metrics=$(curl -s "$AGENT_URL/metrics")
contains "/metrics has spilo_agent_up" "$metrics" "spilo_agent_up 1"
contains "/metrics has check status" "$metrics" 'spilo_agent_check_status{check="walg_env"} 0'
contains "/metrics has build info" "$metrics" 'spilo_agent_build_info{version="'
if command -v promtool >/dev/null; then
    lint=$(promtool check metrics <<<"$metrics" 2>&1); rc=$?
    eq "promtool check metrics is clean" "0:" "$rc:$lint"
else
    nok "promtool is installed (make deps installs prometheus)"
fi

# keep-alive: two requests, one connection
out=$(curl -sv "$AGENT_URL/livez" "$AGENT_URL/readyz" 2>&1)
contains "keep-alive reuses the connection" "$out" "Re-using existing connection"
# pipelining: two requests in one write, two answers in order
out=$(python3 - "$AGENT_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
import re
print(" ".join(m.decode() for m in re.findall(rb"HTTP/1.1 (\d+) ", data)))
PY
)
eq "pipelined requests answered in order" "200 404" "$out"
# malformed, too large head, too large body, too long URL
raw() { python3 - "$AGENT_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(eval(sys.argv[2]))
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        data += d
except Exception as e:
    pass
print(data.split(b"\r\n")[0].decode() if data else "no answer")
PY
}
contains "garbage gets 400" "$(raw 'b"HELLO\r\n\r\n"')" "400"
contains "a header over 8 KiB gets 431" "$(raw 'b"GET /livez HTTP/1.1\r\nX-Big: " + b"a"*9000 + b"\r\n\r\n"')" "431"
contains "a body over 64 KiB gets 413" \
    "$(raw 'b"POST /cleanup HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x"*1000')" "413"
contains "a URL over 2 KiB gets 414" "$(raw 'b"GET /" + b"a"*3000 + b" HTTP/1.1\r\n\r\n"')" "414"
# slow client: half a request head, then nothing -> 408 and closed after request_timeout (1s)
start=$(date +%s%N)
contains "a slow client gets 408" "$(raw 'b"GET /livez HTTP/1.1\r\nHost: x\r\n"')" "408"
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "the slow client was closed by the request timeout (${took}ms)" test "$took" -lt 4000
# an idle keep-alive connection is closed after idle_timeout (2s)
out=$(python3 - "$AGENT_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(6)
s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
t = time.time(); data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
print("closed" if 1.5 < time.time() - t < 5 else "not closed in time")
PY
)
eq "idle keep-alive connection closed after idle_timeout" "closed" "$out"
check "/livez still answers" wait_http "$AGENT_URL/livez" 200 2

# ---- SIGHUP reload --------------------------------------------------------------------------
conf="$TMP/agent.ini"
printf '[agent]\ninterval = 1s\ncheck_timeout = 1s\n[walg]\nenvdir = %s\n' "$ENV_BROKEN" >"$conf"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
agent_start reload -c "$conf"
check "agent with a config file becomes ready" wait_http "$AGENT_URL/readyz" 200 10
eq "walg_env is critical for the broken envdir" "critical" \
    "$(curl -s "$AGENT_URL/status" | jq -r .checks.walg_env.status)"
eq "/checks/walg_env is 503 when critical" "503" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/checks/walg_env")"
eq "/readyz stays 200 although a check is critical" "200" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/readyz")"
printf '[agent]\ninterval = 1s\ncheck_timeout = 1s\nbogus = 1\n' >"$conf"
kill -HUP "$AGENT_PID"; sleep 0.5
contains "a bad reload is logged with file, line and key" "$(cat "$AGENT_LOG")" "agent.ini:4: unknown key 'bogus' in [agent]"
check "the agent survives a bad reload" wait_http "$AGENT_URL/livez" 200 2
printf '[agent]\ninterval = 1s\ncheck_timeout = 1s\n[walg]\nenvdir = %s\n' "$ENV_OK" >"$conf"
kill -HUP "$AGENT_PID"
ok_after_reload=no
for i in $(seq 1 40); do
    [ "$(curl -s "$AGENT_URL/status" | jq -r .checks.walg_env.status)" == ok ] && { ok_after_reload=yes; break; }
    sleep 0.1
done
eq "a good reload takes effect at the next run" "yes" "$ok_after_reload"
start=$(date +%s%N)
agent_stop
eq "SIGTERM stops cleanly with status 0" "0" "$AGENT_RC"
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "SIGTERM stop is quick (${took}ms)" test "$took" -lt 3000
contains "the stop is logged" "$(tail -1 "$AGENT_LOG")" '"msg":"stopped"'
not_contains "no leaked handles at exit" "$(cat "$AGENT_LOG")" "open handles"

# ---- start-up errors ------------------------------------------------------------------------
printf '[agent]\ninterval = soon\n' >"$conf"
out=$("$AGENT" run -c "$conf" 2>&1); rc=$?
eq "a bad config at start exits 78" "78" "$rc"
contains "the error names file, line, key and accepted values" "$out" \
    "agent.ini:2: [agent] interval = 'soon' is not valid (env SPILO_AGENT_AGENT_INTERVAL); accepted: a number with an s, m, h or d suffix"
out=$(SPILO_AGENT_AGENT_INTERVL=5s "$AGENT" check --only walg_env 2>&1); rc=$?
eq "a misspelt SPILO_AGENT_ variable exits 78" "78" "$rc"
contains "and is named" "$out" "SPILO_AGENT_AGENT_INTERVL"
out=$("$AGENT" run -c "$TMP/missing.ini" 2>&1); rc=$?
eq "a missing config file exits 78" "78" "$rc"
# the blocker picks its own port (a port from free_port may meanwhile be some client's)
exec {bfd}< <(exec python3 -c "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)")
blocker=$!
read -r -t 10 port <&"$bfd"
out=$(timeout 10 "$AGENT" run --set "agent.listen=127.0.0.1:$port" 2>&1); rc=$?
kill "$blocker" 2>/dev/null; wait "$blocker" 2>/dev/null
eq "a busy port exits 1" "1" "$rc"
contains "and says so" "$out" "cannot listen on 127.0.0.1:$port"

# ---- the check command -----------------------------------------------------------------------
out=$("$AGENT" check --only walg_env --set "walg.envdir=$ENV_OK"); rc=$?
eq "check: walg-s3-ok exits 0" "0" "$rc"
contains "check: report names the verdict" "$out" "OK        walg_env"
out=$("$AGENT" check --json --only walg_env --set "walg.envdir=$ENV_OK"); rc=$?
eq "check --json: walg-s3-ok is ok" "0:ok" "$rc:$(jq -r .checks.walg_env.status <<<"$out")"
out=$("$AGENT" check --json --only walg_env --set "walg.envdir=$ENV_BROKEN"); rc=$?
eq "check --json: broken-prefix-region is critical (exit 2)" "2:critical" "$rc:$(jq -r .checks.walg_env.status <<<"$out")"
contains "check: broken summary names the region" "$(jq -r .checks.walg_env.summary <<<"$out")" "loca"
out=$("$AGENT" check --json --only walg_env --set "walg.envdir=$ENV_CLONE"); rc=$?
eq "check --json: clone-endpoint is critical (exit 2)" "2:critical" "$rc:$(jq -r .checks.walg_env.status <<<"$out")"
contains "check: clone summary names CLONE_AWS_ENDPOINT" "$(jq -r .checks.walg_env.summary <<<"$out")" "CLONE_AWS_ENDPOINT"
"$AGENT" check --only nope >/dev/null 2>&1; eq "check --only unknown exits 64" "64" "$?"
"$AGENT" check --now yesterday >/dev/null 2>&1; eq "check --now bad exits 64" "64" "$?"
"$AGENT" check --bogus >/dev/null 2>&1; eq "check with an unknown option exits 64" "64" "$?"
"$AGENT" check --set agent.interval=x >/dev/null 2>&1; eq "check with a bad --set exits 78" "78" "$?"
"$AGENT" version >/dev/null; eq "version exits 0" "0" "$?"
"$AGENT" check --help | grep -q -- "--only"; eq "check --help documents --only" "0" "$?"

# ---- secrets never reach any output ---------------------------------------------------------
secrets=$(cat "$FIXTURES"/envdir/*/env*/AWS_SECRET_ACCESS_KEY "$FIXTURES"/envdir/*/env*/AWS_ACCESS_KEY_ID | sort -u)
all_out="$TMP/all-output.txt"
: >"$all_out"
for env in "$ENV_OK" "$ENV_BROKEN" "$ENV_CLONE"; do
    "$AGENT" check --set "walg.envdir=$env" --set agent.log_level=debug >>"$all_out" 2>&1
    "$AGENT" check --json --set "walg.envdir=$env" >>"$all_out" 2>&1
    agent_start secrets "${COMMON[@]}" --set "walg.envdir=$env" --set agent.log_level=debug
    wait_http "$AGENT_URL/readyz" 200 10
    curl -s "$AGENT_URL/status" "$AGENT_URL/metrics" "$AGENT_URL/checks/walg_env" >>"$all_out"
    agent_stop
    cat "$AGENT_LOG" "$AGENT_OUT" >>"$all_out"
done
# the environment-derived path too: a sidecar given the pod's variables instead of the envdir
( set -a; . <(grep -v '^#' "$FIXTURES/envdir/clone-endpoint/pod-env.list"); set +a
  "$AGENT" check --json --set "walg.envdir=$TMP/not-mounted" >>"$all_out" 2>&1 )
leaked=0
while read -r s; do
    [ -n "$s" ] && grep -qF -- "$s" "$all_out" && { leaked=1; nok "secret ${s:0:4}... appears in output"; }
done <<<"$secrets"
check "no fixture secret in stdout, stderr, /status, /checks or /metrics ($(wc -c <"$all_out") bytes scanned)" test "$leaked" -eq 0
contains "redacted values are shown as ***" "$(cat "$all_out")" '"***"'

finish

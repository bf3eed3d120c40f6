#!/usr/bin/env bash
# No silent misconfiguration, end to end: each mistake the key table refuses exits 78 with its one
# sentence in run, check, install and cleanup (plain text at a terminal, a JSON line in a pod's
# log); what inih would misread (long lines, indented lines) is refused with the line; -c DIRECTORY
# names the file inside; an envdir one level too high is a warning; a reload applies the HTTP
# limits and says which keys need a restart.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"

ENV_OK="$FIXTURES/envdir/walg-s3-ok/env"
conf="$TMP/agent.ini"
LISTEN_ACCEPTED="accepted: a numeric IP address and a port, e.g. 0.0.0.0:8009, 127.0.0.1:8009 or [::]:8009 (no host names)"

# expect_78 DESCRIPTION EXPECTED-SENTENCE COMMAND...: the command exits 78 and its stderr is the one
# line "spilo-agent: configuration error: SENTENCE".
expect_78() {
    local desc=$1 want=$2; shift 2
    local err rc
    err=$("$@" 2>&1 >/dev/null </dev/null); rc=$?
    eq "$desc: exit 78" 78 "$rc"
    eq "$desc: the error" "spilo-agent: configuration error: $want" "$err"
}
# run_78 DESCRIPTION EXPECTED-SENTENCE ARGS...: `run` (stderr not a terminal) exits 78 and logs the
# sentence as one JSON line.
run_78() {
    local desc=$1 want=$2; shift 2
    local err rc
    err=$(timeout 10 "$AGENT" run "$@" 2>&1 >/dev/null </dev/null); rc=$?
    eq "$desc: run exits 78" 78 "$rc"
    eq "$desc: run logs it as JSON" "error config $want" \
        "$(jq -r '"\(.level) \(.component // .comp // "config") \(.msg)"' <<<"$err" 2>/dev/null)"
}

# ---- [agent] listen: a numeric address and a port -------------------------------------------------
expect_78 "listen with a host name" \
    "--set agent.listen: [agent] listen = 'localhost:8009' is not valid (env SPILO_AGENT_AGENT_LISTEN); $LISTEN_ACCEPTED" \
    "$AGENT" check --set agent.listen=localhost:8009
printf '[agent]\nlisten = 127.0.0.1\n' >"$conf"
expect_78 "listen without a port" \
    "$conf:2: [agent] listen = '127.0.0.1' is not valid (env SPILO_AGENT_AGENT_LISTEN); $LISTEN_ACCEPTED" \
    "$AGENT" check -c "$conf"
run_78 "listen without a port" \
    "$conf:2: [agent] listen = '127.0.0.1' is not valid (env SPILO_AGENT_AGENT_LISTEN); $LISTEN_ACCEPTED" \
    -c "$conf"
SPILO_AGENT_AGENT_LISTEN=my-pod:8009 expect_78 "listen from the environment" \
    "environment variable SPILO_AGENT_AGENT_LISTEN: [agent] listen = 'my-pod:8009' is not valid (env SPILO_AGENT_AGENT_LISTEN); $LISTEN_ACCEPTED" \
    "$AGENT" cleanup --dry-run

# ---- typos: keys, sections, environment variables ------------------------------------------------
printf '[agent]\nintervall = 30s\n' >"$conf"
expect_78 "a misspelt key" \
    "$conf:2: unknown key 'intervall' in [agent]; did you mean 'interval'? see docs/config.md for the keys of [agent]" \
    "$AGENT" check -c "$conf"
printf '[agent]\nenvdir = /run/etc/wal-e.d/env\n' >"$conf"
expect_78 "a key in the wrong section" \
    "$conf:2: unknown key 'envdir' in [agent]; did you mean [walg] envdir? see docs/config.md for the keys of [agent]" \
    "$AGENT" install -c "$conf" --dry-run
SPILO_AGENT_AGNT_INTERVAL=30s expect_78 "an environment variable whose section is no section" \
    "environment variable SPILO_AGENT_AGNT_INTERVAL names no configuration key (SPILO_AGENT_<SECTION>_<KEY>, and no section is spelt like this: agent, postgres, walg, backups, s3, kubernetes, cleanup, install); did you mean SPILO_AGENT_AGENT_INTERVAL? see docs/config.md" \
    "$AGENT" check
SPILO_AGENT_WALG_ENVDIRR=/x expect_78 "a misspelt key in an environment variable" \
    "environment variable SPILO_AGENT_WALG_ENVDIRR names no configuration key; did you mean SPILO_AGENT_WALG_ENVDIR? see docs/config.md" \
    "$AGENT" cleanup --dry-run

SPILO_AGENT_SERVICE_HOST=10.0.0.1 SPILO_AGENT_PORT_8009_TCP=tcp://10.0.0.1:8009 \
    "$AGENT" check --only walg_env --set "walg.envdir=$ENV_OK" >/dev/null 2>&1
eq "Kubernetes service links of a Service named spilo-agent are not configuration" 0 "$?"
printf '[agent]\ninterval = 30s\n[wal-g]\n' >"$conf"
expect_78 "a misspelt section without keys" \
    "$conf:3: unknown section [wal-g]; did you mean [walg]? known sections: [agent] [postgres] [walg] [backups] [s3] [kubernetes] [cleanup] [install]" \
    "$AGENT" check -c "$conf"

# ---- what inih would misread ------------------------------------------------------------------------
# A comment of 230 characters: inih's 200-byte buffer made its tail a setting of its own.
{ printf '[agent]\n; %s' "$(printf 'x%.0s' $(seq 1 200))"; printf 'listen = 127.0.0.1:1\n'; } >"$conf"
expect_78 "a line longer than inih reads" \
    "$conf:2: the line is 222 characters long; the INI reader takes at most 197 and would read the rest as a line of its own: shorten it (a long value can go into its environment variable)" \
    "$AGENT" check -c "$conf"
printf '[agent]\ninterval = 30s\n    check_timeout = 10s\n' >"$conf"
expect_78 "an indented line (inih's continuation of the value above)" \
    "$conf:3: the line starts with blanks; the INI reader would take it as the continuation of the value above, not as a line of its own: remove the indentation" \
    "$AGENT" check -c "$conf"
run_78 "an indented line" \
    "$conf:3: the line starts with blanks; the INI reader would take it as the continuation of the value above, not as a line of its own: remove the indentation" \
    -c "$conf"

# ---- -c DIRECTORY: a ConfigMap mounted without subPath ---------------------------------------------
cm="$TMP/configmap"
mkdir -p "$cm/..2026_01_01_00_00_00.1"
printf '[agent]\ninterval = 30s\n' >"$cm/..2026_01_01_00_00_00.1/agent.ini"
ln -s ..2026_01_01_00_00_00.1 "$cm/..data"
ln -s ..data/agent.ini "$cm/agent.ini"
DIR_ERR="$cm: is a directory, not an INI file (a ConfigMap mounted without subPath puts each key in a file of its own); did you mean -c $cm/agent.ini?"
expect_78 "-c DIRECTORY in check" "$DIR_ERR" "$AGENT" check -c "$cm"
expect_78 "-c DIRECTORY in install" "$DIR_ERR" "$AGENT" install -c "$cm" --dry-run
expect_78 "-c DIRECTORY in cleanup" "$DIR_ERR" "$AGENT" cleanup -c "$cm" --dry-run
run_78 "-c DIRECTORY" "$DIR_ERR" -c "$cm"

# ---- [install] values are checked at load, with the environment variable --------------------------
expect_78 "an [install] value" \
    "--set install.target: [install] target = 'zalando' is not valid (env SPILO_AGENT_INSTALL_TARGET); accepted: harbor-operator or postgres-operator" \
    "$AGENT" install --set install.target=zalando --dry-run

# ---- a terminal gets plain text in every command ------------------------------------------------
# on_tty ARGS...: runs the agent with stdin, stdout and stderr on a pseudo-terminal; prints what it
# wrote and its exit status last.
on_tty() {
    python3 - "$AGENT" "$@" <<'PY'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=s, stdout=s, stderr=s, close_fds=True)
os.close(s)
out = b""
while True:
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
rc = p.wait()
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
print(rc)
PY
}
for cmd in run check install cleanup; do
    out=$(on_tty "$cmd" --set agent.listen=localhost:8009)
    eq "$cmd at a terminal: the error is one plain line and exit 78" \
        "spilo-agent: configuration error: --set agent.listen: [agent] listen = 'localhost:8009' is not valid (env SPILO_AGENT_AGENT_LISTEN); $LISTEN_ACCEPTED
78" "$out"
done

# ---- an envdir one level too high: a warning, not an error ------------------------------------------
mkdir -p "$TMP/wal-e.d/env"
cp "$ENV_OK"/* "$TMP/wal-e.d/env/"
WARN="[walg] envdir = '$TMP/wal-e.d' holds a folder env/ (Spilo writes the WAL-G settings into /run/etc/wal-e.d/env); did you mean $TMP/wal-e.d/env?"
err=$("$AGENT" check --only walg_env --set "walg.envdir=$TMP/wal-e.d" 2>&1 >/dev/null)
contains "check prints the envdir warning on stderr" "$err" "spilo-agent: configuration warning: $WARN"
err=$("$AGENT" check --only walg_env --set "walg.envdir=$TMP/wal-e.d/env" 2>&1 >/dev/null)
not_contains "... and nothing for the envdir itself" "$err" "configuration warning"

# ---- reload: the HTTP limits apply, listen says it needs a restart -------------------------------
port=$(free_port)
port2=$(free_port)
printf '[agent]\nlisten = 127.0.0.1:%s\nrequest_timeout = 30s\nmax_connections = 100\n[walg]\nenvdir = %s\n' \
    "$port" "$TMP/wal-e.d" >"$conf"
"$AGENT" run -c "$conf" --set agent.interval=60s >/dev/null 2>"$TMP/reload.log" &
pid=$!
on_exit "kill -9 $pid"
check "the agent starts" wait_http "http://127.0.0.1:$port/livez" 200 10
contains "run logs the envdir warning" "$(jq -r 'select(.level=="warn") | .msg' "$TMP/reload.log")" "$WARN"
printf '[agent]\nlisten = 127.0.0.1:%s\nrequest_timeout = 1s\nmax_connections = 1\n[walg]\nenvdir = %s/env\n' \
    "$port2" "$TMP/wal-e.d" >"$conf"
kill -HUP "$pid"
for i in $(seq 1 40); do grep -q '"reloaded' "$TMP/reload.log" && break; sleep 0.05; done
contains "a reload says that listen needs a restart" "$(jq -r .msg "$TMP/reload.log")" \
    "[agent] listen changed from '127.0.0.1:$port' to '127.0.0.1:$port2'; a reload does not apply this, it takes effect at the next restart"
out=$(python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port))
a.sendall(b"GET /livez HTTP/1.1\r\n")          # a request that never finishes
time.sleep(0.2)
b = socket.create_connection(("127.0.0.1", port))
b.settimeout(3)
try:
    second = "closed at once" if b.recv(100) == b"" else "answered"
except OSError:
    second = "closed at once"
a.settimeout(5)
t = time.time()
data = b""
while True:
    try:
        d = a.recv(4096)
    except OSError:
        break
    if not d:
        break
    data += d
took = time.time() - t
first = "408 after %s" % ("about 1s" if took < 2.5 else "%.1fs" % took) if b" 408 " in data else "no 408"
print(first + "; " + second)
PY
)
eq "the reloaded request_timeout (1s) and max_connections (1) apply" "408 after about 1s; closed at once" "$out"
check "still serving on the first port" wait_http "http://127.0.0.1:$port/livez" 200 2
kill -TERM "$pid"; wait "$pid"
eq "it stops cleanly" 0 "$?"

finish

#!/usr/bin/env bash
# `make demo`: runs the agent locally against the fixture envdirs so that a new user sees a live
# /status, the report and the metrics. Stops on Ctrl-C (or after DEMO_SECONDS, if set).
set -u
AGENT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/.."
FIXTURES=${FIXTURES:-$(pwd)/tests/fixtures}
DEMO=$(mktemp -d /tmp/spilo-agent-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DEMO"
    echo "demo stopped"
}
trap cleanup EXIT INT TERM

port=8009
if ! python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',$port))" 2>/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
url="http://127.0.0.1:$port"

# The envdir of a Spilo pod with a correct WAL-G + S3 setup, and a clone envdir with the broken
# CLONE_AWS_ENDPOINT the agent must catch.
mkdir -p "$DEMO/wal-e.d"
cp -r "$FIXTURES/envdir/walg-s3-ok/env" "$DEMO/wal-e.d/env"
cat >"$DEMO/agent.ini" <<INI
[agent]
listen = 127.0.0.1:$port
interval = 10s
check_timeout = 5s
log_format = text

[walg]
envdir = $DEMO/wal-e.d/env
INI

echo "== spilo-agent check (one-shot report)"
"$AGENT" check -c "$DEMO/agent.ini"
echo
"$AGENT" run -c "$DEMO/agent.ini" 2>"$DEMO/agent.log" &
pids+=($!)
for _ in $(seq 1 100); do
    curl -sf "$url/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "== the agent is running (log: $DEMO/agent.log); try:"
echo "   curl $url/status | jq ."
echo "   curl $url/checks/walg_env"
echo "   curl $url/metrics"
echo "   curl $url/livez ; curl $url/readyz"
echo
echo "== GET /status"
curl -s "$url/status" | jq -C . 2>/dev/null || curl -s "$url/status"
echo
echo "== now break it: a clone envdir with CLONE_AWS_ENDPOINT=https+path://... appears"
cp -r "$FIXTURES/envdir/clone-endpoint/env-clone-postgresql-harbor-harborcluster" "$DEMO/wal-e.d/"
kill -HUP "${pids[0]}"
sleep 0.5
"$AGENT" check -c "$DEMO/agent.ini" || true
echo
echo "(the running agent picks it up at its next run within 10 s; Ctrl-C stops the demo)"
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else wait; fi

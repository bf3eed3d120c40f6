#!/usr/bin/env bash
# Attacks that once broke the agent (issue "Hardening"), each reproduced against the daemon on
# loopback with the new behaviour asserted: secret files with NUL/binary bytes, FIFOs as token
# files, connections that pipeline and never read, reloads faster than the interval, hostile
# envdirs, secrets echoed by servers, and protocol corner cases. docs/security.md lists them.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"
. "$(dirname "$0")/lib/kube.sh"

ENV_OK="$FIXTURES/envdir/walg-s3-ok/env"
NOPG=(--set postgres.patroni_url=http://127.0.0.1:9 --set agent.log_format=json)

# ---- secret files: NUL bytes, binary tokens, FIFOs ------------------------------------------
# head -c 32 /dev/urandom as a token: a NUL first made "Authorization: Bearer " (empty) succeed.
printf '\000%s' "0123456789abcdef0123456789" >"$TMP/nul-token"
out=$("$AGENT" run --set agent.listen=127.0.0.1:$(free_port) --set "walg.envdir=$ENV_OK" "${NOPG[@]}" \
    --set cleanup.allow_http=true --set "cleanup.token_file=$TMP/nul-token" 2>&1); rc=$?
eq "a cleanup token file starting with NUL is a configuration error (78)" 78 "$rc"
contains "... naming the file and the NUL byte" "$out" "[cleanup] token_file '$TMP/nul-token' holds a NUL byte at byte 0"
printf '0123456789abcdef\033[2J\n' >"$TMP/ctl-token"
out=$("$AGENT" run --set agent.listen=127.0.0.1:$(free_port) --set "walg.envdir=$ENV_OK" "${NOPG[@]}" \
    --set cleanup.allow_http=true --set "cleanup.token_file=$TMP/ctl-token" 2>&1); rc=$?
eq "a cleanup token with an escape sequence is refused (78)" 78 "$rc"
contains "... as a control byte" "$out" "holds a control byte at byte 16"
mkfifo "$TMP/cleanup-fifo"
out=$(timeout 10 "$AGENT" run --set agent.listen=127.0.0.1:$(free_port) --set "walg.envdir=$ENV_OK" "${NOPG[@]}" \
    --set cleanup.allow_http=true --set "cleanup.token_file=$TMP/cleanup-fifo" 2>&1); rc=$?
eq "a FIFO as cleanup token_file is refused at once, not waited on (78)" 78 "$rc"
contains "... saying it is a FIFO" "$out" "'$TMP/cleanup-fifo' is a FIFO"

# A FIFO as AWS_WEB_IDENTITY_TOKEN_FILE and as [kubernetes] token_file: the loop keeps turning.
mkdir -p "$TMP/env-irsa"
cp "$ENV_OK/"* "$TMP/env-irsa/"
rm "$TMP/env-irsa/AWS_ACCESS_KEY_ID" "$TMP/env-irsa/AWS_SECRET_ACCESS_KEY"
printf 'arn:aws:iam::123456789012:role/walg' >"$TMP/env-irsa/AWS_ROLE_ARN"
mkfifo "$TMP/webid-fifo" "$TMP/kube-fifo"
printf '%s' "$TMP/webid-fifo" >"$TMP/env-irsa/AWS_WEB_IDENTITY_TOKEN_FILE"
printf 'http://127.0.0.1:9' >"$TMP/env-irsa/AWS_ENDPOINT_URL_STS"
CLEANUP_TOKEN="cleanup-token-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$CLEANUP_TOKEN" >"$TMP/cleanup-token"
agent_start fifo --set agent.interval=1s --set agent.check_timeout=900ms "${NOPG[@]}" \
    --set "walg.envdir=$TMP/env-irsa" --set s3.endpoint=http://127.0.0.1:9 \
    --set cleanup.allow_http=true --set "cleanup.token_file=$TMP/cleanup-token" \
    --set kubernetes.api=https://127.0.0.1:9 --set kubernetes.namespace=default --set "kubernetes.token_file=$TMP/kube-fifo"
check "agent with FIFO token files answers /livez" wait_http "$AGENT_URL/livez" 200 10
sleep 2.5
eq "/livez still answers after checks read the web identity FIFO" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$AGENT_URL/livez")"
contains "the backups check says the token file is a FIFO" \
    "$(curl -s --max-time 2 "$AGENT_URL/checks/backups")" "is a FIFO"
out=$(curl -s --max-time 5 -X POST -H "Authorization: Bearer $CLEANUP_TOKEN" "$AGENT_URL/cleanup?force=1")
contains "POST /cleanup with a FIFO as [kubernetes] token_file answers (no hang)" "$out" "is a FIFO"
eq "/livez answers after the cleanup attempt" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$AGENT_URL/livez")"
eq "an empty bearer is refused (401)" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST -H "Authorization: Bearer " "$AGENT_URL/cleanup?force=1")"
start=$(date +%s%N)
agent_stop
eq "SIGTERM stops the agent (exit 0)" 0 "$AGENT_RC"
mkfifo "$TMP/ca-fifo"
printf 'kube-token-%s%s\n' "$RANDOM" "$RANDOM" >"$TMP/kube-token"
out=$(timeout 10 "$AGENT" cleanup --set kubernetes.api=https://127.0.0.1:9 --set kubernetes.namespace=default \
    --set "kubernetes.token_file=$TMP/kube-token" --set "kubernetes.ca_file=$TMP/ca-fifo" "${NOPG[@]}" 2>&1); rc=$?
check "a FIFO as [kubernetes] ca_file fails at once (not killed by the timeout: rc $rc)" test "$rc" -ne 124
contains "... saying it is not a regular file" "$out" "ca_file $TMP/ca-fifo is not a regular file"
check "... within 5 s" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000
not_contains "the cleanup token is in no log line" "$(cat "$AGENT_LOG" "$AGENT_OUT")" "$CLEANUP_TOKEN"

# ---- hostile envdirs ------------------------------------------------------------------------
mkdir -p "$TMP/env-hostile"
cp "$ENV_OK/"* "$TMP/env-hostile/"
ENV_SECRET="environ-secret-$RANDOM$RANDOM"
rm "$TMP/env-hostile/AWS_SECRET_ACCESS_KEY"
ln -s /proc/self/environ "$TMP/env-hostile/AWS_SECRET_ACCESS_KEY"   # the agent's own environment
ln -s /etc/shadow "$TMP/env-hostile/WALG_LIBSODIUM_KEY"
ln -s /nonexistent/target "$TMP/env-hostile/WALE_S3_ENDPOINT"       # dangling
printf 'eu-central-1\033[2J\033]0;owned\007\n' >"$TMP/env-hostile/AWS_REGION"
printf '\xff\xfe3\n' >"$TMP/env-hostile/WALG_UPLOAD_CONCURRENCY"
# The environment points elsewhere: a fallback to it would check another bucket.
json=$(LEAK_CANARY="$ENV_SECRET" WALG_S3_PREFIX=s3://wrong-bucket/spilo/x/wal/15 \
    "$AGENT" check --json --only walg_env --set "walg.envdir=$TMP/env-hostile" 2>&1)
eq "an envdir with bad entries is still that envdir (no fallback to the environment)" envdir \
    "$(jq -r .checks.walg_env.details.source <<<"$json")"
eq "... and its bucket" acme-harbor-pg-backups "$(jq -r .checks.walg_env.details.bucket <<<"$json")"
findings=$(jq -r '.checks.walg_env.details.findings[].message' <<<"$json")
contains "... with a finding for the link to /proc/self/environ" "$findings" "AWS_SECRET_ACCESS_KEY is a symbolic link"
contains "... for the dangling link" "$findings" "WALE_S3_ENDPOINT is a symbolic link"
contains "... for the value that is not UTF-8" "$findings" "WALG_UPLOAD_CONCURRENCY holds bytes that are not UTF-8"
not_contains "the agent's environment is not read through the link" "$json" "$ENV_SECRET"
not_contains "... nor /etc/shadow" "$json" "root:"
check "the summary is present (not dropped for invalid UTF-8)" test -n "$(jq -r '.checks.walg_env.summary // empty' <<<"$json")"
report=$(LEAK_CANARY="$ENV_SECRET" "$AGENT" check --only walg_env --set "walg.envdir=$TMP/env-hostile" 2>&1)
check "the human report prints no raw escape byte" test "$(printf '%s' "$report" | tr -dc '\033\007' | wc -c)" -eq 0
contains "... but shows it escaped" "$report" 'eu-central-1\x1b[2J'
not_contains "... nor the environment" "$report" "$ENV_SECRET"

# ---- secrets a server reflects, and passwords in URLs ----------------------------------------
# Each secret is planted in every fake reply; none may reach /status, /metrics, the log, the
# report, the cleanup output or the POST /cleanup answer, not even a prefix cut at 256 bytes.
AK="AKIAHARDEN$RANDOM$RANDOM"
SK="hardenSecretKey/$RANDOM$RANDOM$RANDOM/wJalrXUtnFEMIK7MDENG"
ST="hardenSessionToken$RANDOM$RANDOM$RANDOM"
EPPW="endpointPassword$RANDOM$RANDOM"
PXPW="proxyPassword$RANDOM$RANDOM"
fake_s3_errors_start "$SK" "$AK" "$ST" || nok "fake failing S3 starts"
mkdir -p "$TMP/env-echo"
cp "$ENV_OK/"* "$TMP/env-echo/"
printf '%s' "$AK" >"$TMP/env-echo/AWS_ACCESS_KEY_ID"
printf '%s' "$SK" >"$TMP/env-echo/AWS_SECRET_ACCESS_KEY"
printf '%s' "$ST" >"$TMP/env-echo/AWS_SESSION_TOKEN"
printf 's3://echosecret/spilo/x/wal/15' >"$TMP/env-echo/WALG_S3_PREFIX"
rm -f "$TMP/env-echo/WALE_S3_PREFIX"
printf 'http://proxyuser:%s@127.0.0.1:9' "$PXPW" >"$TMP/env-echo/ALL_PROXY"
agent_start echo --set agent.interval=1s --set agent.check_timeout=900ms "${NOPG[@]}" \
    --set "walg.envdir=$TMP/env-echo" --set "s3.endpoint=http://127.0.0.1:$FAKE_S3_PORT" \
    --set s3.force_path_style=true --set backups.grace=100000d
check "agent with the echoing S3 ready" wait_http "$AGENT_URL/readyz" 200 10
for _ in $(seq 1 30); do
    [ "$(curl -s "$AGENT_URL/checks/backups" | jq -r .status)" == critical ] && break; sleep 0.2
done
status=$(curl -s "$AGENT_URL/status")
contains "the backups check reports S3's refusal" "$(jq -r .checks.backups.summary <<<"$status")" "denied"
outs="$status $(curl -s "$AGENT_URL/metrics") $(curl -s "$AGENT_URL/checks/backups")"
agent_stop
outs="$outs $(cat "$AGENT_LOG" "$AGENT_OUT")"
outs="$outs $(PATH=/usr/bin:/bin "$AGENT" check --set "walg.envdir=$TMP/env-echo" "${NOPG[@]}" \
    --set "s3.endpoint=http://127.0.0.1:$FAKE_S3_PORT" --set s3.force_path_style=true \
    --set backups.grace=100000d --only walg_env,backups 2>&1)"
for v in AK SK ST PXPW; do
    not_contains "the echoed $v is in no output" "$outs" "${!v}"
    not_contains "... nor its first 12 characters" "$outs" "${!v:0:12}"
done
# A password in the endpoint URL (MinIO behind basic auth): named nowhere.
printf 'http://minio:%s@127.0.0.1:%s' "$EPPW" "$FAKE_S3_PORT" >"$TMP/env-echo/AWS_ENDPOINT"
out=$("$AGENT" check --json --only walg_env --set "walg.envdir=$TMP/env-echo" "${NOPG[@]}" 2>&1)
not_contains "a password in AWS_ENDPOINT is in no output" "$out" "$EPPW"
contains "... the endpoint is shown with ***" "$out" "minio:***@127.0.0.1"

# The Kubernetes API echoes the service-account token in a 500 (after 300 characters).
if kube_certs "$TMP/k" && printf 'kubeToken%s%s%s\n' "$RANDOM" "$RANDOM" "$RANDOM" >"$TMP/k/token" &&
    echo '{"echo_token_5xx": ["get configmaps"]}' >"$TMP/k/control.json" &&
    kube_api_start "$TMP/k" harbor system:serviceaccount:harbor:postgres-pod; then
    KT=$(cat "$TMP/k/token")
    KUBE=(--set "kubernetes.api=$KUBE_API" --set "kubernetes.token_file=$TMP/k/token"
          --set "kubernetes.ca_file=$TMP/k/ca.crt" --set kubernetes.namespace=harbor
          --set cleanup.configmap=postgres-pod-config)
    out=$("$AGENT" cleanup "${KUBE[@]}" "${NOPG[@]}" --set "walg.envdir=$ENV_OK" --force 2>&1)
    contains "cleanup reports the API server's 500" "$out" "500"
    contains "... with the echo scrubbed" "$out" "you sent: Bearer ***"
    not_contains "... without the echoed token" "$out" "$KT"
    not_contains "... nor its first 12 characters" "$out" "${KT:0:12}"
    agent_start kube "${NOPG[@]}" --set "walg.envdir=$ENV_OK" "${KUBE[@]}" \
        --set cleanup.allow_http=true --set "cleanup.token_file=$TMP/cleanup-token"
    check "agent with cleanup over HTTP ready" wait_http "$AGENT_URL/livez" 200 10
    out=$(curl -s --max-time 10 -X POST -H "Authorization: Bearer $CLEANUP_TOKEN" "$AGENT_URL/cleanup?force=1")
    contains "POST /cleanup answers the 500" "$out" "500"
    not_contains "... without the echoed token" "$out" "$KT"
    agent_stop
    not_contains "the log has neither the echoed token" "$(cat "$AGENT_LOG" "$AGENT_OUT")" "${KT:0:12}"
    not_contains "... nor the cleanup token" "$(cat "$AGENT_LOG" "$AGENT_OUT")" "$CLEANUP_TOKEN"
    out=$("$AGENT" cleanup --set "kubernetes.api=https://admin:${EPPW}@127.0.0.1:$(free_port)" \
        --set "kubernetes.token_file=$TMP/k/token" --set kubernetes.namespace=harbor "${NOPG[@]}" 2>&1)
    not_contains "a password in [kubernetes] api is in no error" "$out" "$EPPW"
    out=$("$AGENT" cleanup --set "kubernetes.api=http://admin:${EPPW}@127.0.0.1:9" \
        --set "kubernetes.token_file=$TMP/k/token" --set kubernetes.namespace=harbor "${NOPG[@]}" 2>&1)
    contains "... nor in the configuration error of an http:// api" "$out" "'http://admin:***@127.0.0.1:9' is not an https:// URL"
else
    nok "fake Kubernetes API starts (openssl, python3)"
fi

# ---- memory: connections that pipeline and never read ---------------------------------------
# Each once cost about 24 MB: every pipelined GET /status was answered into an unbounded queue.
agent_start mem --set agent.interval=1s --set agent.check_timeout=900ms "${NOPG[@]}" --set "walg.envdir=$ENV_OK"
check "agent ready for the pipelining clients" wait_http "$AGENT_URL/livez" 200 10
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status"; }
RSS0=$(rss)
out=$(python3 - "$AGENT_PORT" "$AGENT_PID" <<'PY'
import socket, sys, time, urllib.request
port, pid = int(sys.argv[1]), sys.argv[2]
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
req = b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n"
blob = req * (1024 * 1024 // len(req))
socks, peak = [], 0
for _ in range(60):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    socks.append([s, 0])
deadline = time.time() + 4
while time.time() < deadline:
    for e in socks:
        try:
            e[1] += e[0].send(blob[e[1] % len(blob):])
        except BlockingIOError:
            pass
    peak = max(peak, rss())
    time.sleep(0.05)
sent = sum(e[1] for e in socks)
t = time.time()
live = urllib.request.urlopen("http://127.0.0.1:%d/livez" % port, timeout=5).status
lat = (time.time() - t) * 1000
print("peak_kb=%d sent_mb=%d livez=%d livez_ms=%d" % (peak, sent >> 20, live, lat))
for e in socks:
    e[0].close()
# A client that pipelines 3000 requests and then reads gets every answer, in order.
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n" * 2999 +
          b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
s.settimeout(10)
while True:
    d = s.recv(1 << 16)
    if not d:
        break
    data += d
print("answers=%d" % data.count(b"HTTP/1.1 200 OK"))
PY
)
peak=$(sed -n 's/.*peak_kb=\([0-9]*\).*/\1/p' <<<"$out")
echo "# ${out//$'\n'/ } (RSS before: $RSS0 kB)"
check "60 pipelining clients that never read keep the agent under 64 MB more RSS (+$((peak - RSS0)) kB)" \
    test $((peak - RSS0)) -lt 65536
contains "/livez answers while they hold their connections" "$out" "livez=200"
contains "a client that pipelines 3000 requests then reads gets 3000 answers" "$out" "answers=3000"
# Upgrade and CONNECT: exactly one answer (the handler's 200 and a 400 used to follow each other).
for r in 'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' \
         'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n'; do
    out=$(python3 - "$AGENT_PORT" "$r" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(data.count(b"HTTP/1.1 "), data.split(b"\r\n")[0].decode())
PY
)
    eq "${r%% *} with an upgrade gets exactly one answer, a 400" "1 HTTP/1.1 400 Bad Request" "$out"
done
sleep 0.5
eq "/livez answers after they closed" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$AGENT_URL/livez")"
agent_stop
eq "the agent stops cleanly (exit 0)" 0 "$AGENT_RC"

# ---- SIGHUP faster than the interval: checks still run ---------------------------------------
# Each reload used to restart every timer with a full interval: no check ran again while /readyz
# stayed 200 and /status served the old results.
agent_start hup --set agent.interval=2s --set agent.check_timeout=1s "${NOPG[@]}" --set "walg.envdir=$ENV_OK"
check "agent ready before the reloads" wait_http "$AGENT_URL/readyz" 200 10
first=$(curl -s "$AGENT_URL/checks/walg_env" | jq -r .checked_at)
for _ in $(seq 1 14); do kill -HUP "$AGENT_PID"; sleep 0.5; done
doc=$(curl -s "$AGENT_URL/checks/walg_env")
last=$(jq -r .checked_at <<<"$doc")
check "walg_env ran again during 7 s of SIGHUP every 0.5 s ($first -> $last)" test "$first" != "$last"
eq "... and its result is not stale" false "$(jq -r .stale <<<"$doc")"
eq "/readyz is 200 while results are fresh" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/readyz")"
n=$(grep -c '"reloaded' "$AGENT_LOG")
check "every reload was applied ($n)" test "$n" -ge 14
# A stopped loop (SIGSTOP past 3 intervals + check_timeout = 7 s) leaves stale results: the first
# answers after SIGCONT say so before the checks have run again.
kill -STOP "$AGENT_PID"; sleep 8; kill -CONT "$AGENT_PID"
doc=$(curl -s --max-time 2 "$AGENT_URL/status")
if [ "$(jq -r .checks.walg_env.stale <<<"$doc")" == true ]; then
    ok "a result older than 3 intervals is stale in /status"
    contains "... with a summary that says so" "$(jq -r .checks.walg_env.summary <<<"$doc")" "stale: this result is"
else
    ok "a result older than 3 intervals is stale in /status (the check ran first; covered by test_status)"
fi
check "the checks run again after the stop" wait_http "$AGENT_URL/checks/walg_env" 200 5
agent_stop
eq "the agent stops cleanly after the reloads (exit 0)" 0 "$AGENT_RC"

finish

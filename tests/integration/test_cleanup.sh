#!/usr/bin/env bash
# `spilo-agent cleanup` and POST /cleanup end to end against a recording fake Kubernetes API
# (lib/fake_kube_api.py) over TLS with a CA made here: refusal while the restore is not confirmed,
# --dry-run, --force, the backup copy, 403 (the RBAC rule to add), the 409 race, wrong CA, wrong
# token, unreachable server, missing ConfigMap, and that the token never shows up in any output.
set -u
# shellcheck disable=SC2034 # read by common.sh
TEST_NAME=test_cleanup
AGENT=${AGENT:-build/spilo-agent}
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
. tests/integration/lib/kube.sh
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT POD_NAMESPACE

NS=harbor
K=$TMP/kube
mkdir -p "$K"
TOKEN="sa-token-$RANDOM$RANDOM$RANDOM-eyJhbGciOiJSUzI1NiJ9"
printf '%s\n' "$TOKEN" >"$K/token"
HTTP_TOKEN="http-cleanup-token-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$HTTP_TOKEN" >"$K/http-token"
ALL_OUT=$TMP/all-output # everything the agent printed, searched for the tokens at the end
: >"$ALL_OUT"

# ---- certificates: a CA, a server certificate for 127.0.0.1, and an unrelated CA -------------
kube_certs "$K" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=some-other-ca -keyout "$K/wrong-ca.key" -out "$K/wrong-ca.crt" 2>/dev/null
check "openssl made the CA and the server certificate" test -s "$K/srv.crt"

# ---- the fake API server ------------------------------------------------------------------------
LOG=$K/requests.jsonl
STORE=$K/store.json
CONTROL=$K/control.json
echo '{}' >"$CONTROL"
kube_api_start "$K" "$NS" "system:serviceaccount:$NS:postgres-pod"
FAKE_PID=$KUBE_API_PID
API=$KUBE_API
PORT=${API##*:}
check "the fake API server is up" test -n "$PORT"

KUBE=(--set "kubernetes.api=$API" --set "kubernetes.token_file=$K/token"
    --set "kubernetes.ca_file=$K/ca.crt" --set "kubernetes.namespace=$NS")
# The restore check (when this build has one) must not find a PostgreSQL or S3 and be quick.
FAST=(--set agent.check_timeout=3s --set "walg.envdir=$TMP/no-envdir"
    --set "postgres.conninfo=host=127.0.0.1 port=1 connect_timeout=1")

SEED_DATA='{"USE_WALG_BACKUP":"true","USE_WALG_RESTORE":"true","BACKUP_SCHEDULE":"0 1 * * *",
  "AWS_REGION":"eu-central-1","CLONEABLE":"not a clone key",
  "CLONE_SCOPE":"source-cluster","CLONE_METHOD":"CLONE_WITH_WALE",
  "CLONE_TARGET_TIME":"2026-01-01T00:00:00+00:00","CLONE_WAL_S3_BUCKET":"acme-backups",
  "CLONE_WAL_BUCKET_SCOPE_SUFFIX":"/0a1b2c3d","CLONE_AWS_SECRET_ACCESS_KEY":"clone-secret-XYZ-987"}'
seed() { # seed [EXTRA_JSON_FOR_POD_CONFIG]
    local objs
    objs=$(jq -n --argjson d "$SEED_DATA" --arg ns "$NS" --argjson extra "${1:-{\}}" '[
        ({apiVersion:"v1",kind:"ConfigMap",metadata:{name:"pod-config",namespace:$ns},data:$d} * $extra),
        {apiVersion:"v1",kind:"ConfigMap",metadata:{name:"unrelated",namespace:$ns},
         data:{CLONE_SCOPE:"must-stay"}}]')
    curl -s --cacert "$K/ca.crt" -X POST --data-binary "$objs" "$API/_fake/reset" >/dev/null
    : >"$LOG"
}
ctl() { printf '%s\n' "$1" >"$CONTROL"; }
cm() { jq -c --arg n "$1" '.[] | select(.metadata.name == $n)' "$STORE"; }
cm_keys() { jq -r --arg n "$1" '.[] | select(.metadata.name == $n) | .data | keys | join(",")' "$STORE"; }
backups() { jq -r '[.[] | select(.metadata.name | contains("-before-cleanup-")) | .metadata.name] | join(",")' "$STORE"; }
requests() { jq -r '"\(.method) \(.path) \(.status)"' "$LOG" | tr '\n' ';'; }
# run_cleanup ARGS...: sets OUT (stdout+stderr) and RC
run_cleanup() {
    OUT=$("$AGENT" cleanup "${KUBE[@]}" "${FAST[@]}" "$@" 2>&1)
    RC=$?
    printf '%s\n' "$OUT" >>"$ALL_OUT"
}
ALL_KEYS="AWS_REGION,BACKUP_SCHEDULE,CLONEABLE,CLONE_AWS_SECRET_ACCESS_KEY,CLONE_METHOD,CLONE_SCOPE,CLONE_TARGET_TIME,CLONE_WAL_BUCKET_SCOPE_SUFFIX,CLONE_WAL_S3_BUCKET,USE_WALG_BACKUP,USE_WALG_RESTORE"

# ---- usage and configuration errors -------------------------------------------------------------
OUT=$("$AGENT" cleanup --help 2>&1); RC=$?
eq "cleanup --help exits 0" 0 "$RC"
contains "cleanup --help names --dry-run and --force" "$OUT" "--dry-run"
OUT=$("$AGENT" cleanup --bogus 2>&1); RC=$?
eq "an unknown option is a usage error (64)" 64 "$RC"
OUT=$("$AGENT" cleanup extra 2>&1); RC=$?
eq "an extra argument is a usage error (64)" 64 "$RC"
OUT=$("$AGENT" cleanup --set kubernetes.namespace=x 2>&1); RC=$?
eq "no API URL outside a pod is a configuration error (78)" 78 "$RC"
contains "... that says to set [kubernetes] api" "$OUT" "set [kubernetes] api"
OUT=$("$AGENT" cleanup --set kubernetes.api=http://127.0.0.1:1 --set kubernetes.namespace=x 2>&1); RC=$?
eq "a plain http API URL is refused (78)" 78 "$RC"
contains "... because the token must only go over TLS" "$OUT" "not an https:// URL"
OUT=$("$AGENT" cleanup "${KUBE[@]}" --set cleanup.configmap=Bad/Name/x 2>&1); RC=$?
eq "a bad [cleanup] configmap is a configuration error (78)" 78 "$RC"
contains "... naming what is accepted" "$OUT" "namespace/name"

# ---- refusal while the restore is not confirmed ------------------------------------------------
seed
run_cleanup
eq "without --force the cleanup is refused (exit 1)" 1 "$RC"
contains "... saying why" "$OUT" "refused: refusing to remove CLONE_AWS_SECRET_ACCESS_KEY"
contains "... and how to override" "$OUT" "--force"
eq "... and the ConfigMap is untouched" "$ALL_KEYS" "$(cm_keys pod-config)"
eq "... no backup was made" "" "$(backups)"
eq "... only a GET was sent" "GET /api/v1/namespaces/$NS/configmaps/pod-config 200;" "$(requests)"
eq "... with the bearer token, Accept JSON and the agent's User-Agent" "ok application/json spilo-agent/" \
    "$(jq -r '"\(.auth) \(.accept) \(.user_agent | .[0:12])"' "$LOG")"

# ---- --dry-run -----------------------------------------------------------------------------------
seed
run_cleanup --dry-run --force
eq "--dry-run --force exits 0" 0 "$RC"
patch_line=$(grep -m1 '^{"metadata"' <<<"$OUT")
eq "--dry-run prints the merge patch with the resourceVersion and every CLONE_* key as null" \
    '{"resourceVersion":"'"$(cm pod-config | jq -r .metadata.resourceVersion)"'"} CLONE_AWS_SECRET_ACCESS_KEY,CLONE_METHOD,CLONE_SCOPE,CLONE_TARGET_TIME,CLONE_WAL_BUCKET_SCOPE_SUFFIX,CLONE_WAL_S3_BUCKET [null]' \
    "$(jq -c '.metadata' <<<"$patch_line" 2>&1) $(jq -r '.data | keys | join(",")' <<<"$patch_line" 2>&1) $(jq -c '[.data[]] | unique' <<<"$patch_line" 2>&1)"
backup_line=$(grep -m1 '^{"apiVersion"' <<<"$OUT")
eq "--dry-run prints the backup ConfigMap it would create, with all the data" "$ALL_KEYS" \
    "$(jq -r '.data | keys | join(",")' <<<"$backup_line" 2>&1)"
eq "... with the secret value shown as ***" "***" \
    "$(jq -r '.data.CLONE_AWS_SECRET_ACCESS_KEY' <<<"$backup_line" 2>&1)"
not_contains "... and never the secret itself" "$OUT" "clone-secret-XYZ-987"
contains "--dry-run says nothing changed" "$OUT" "dry run, nothing changed"
eq "--dry-run changed nothing" "$ALL_KEYS" "$(cm_keys pod-config)"
eq "--dry-run created nothing" "" "$(backups)"
eq "--dry-run sent only a GET" "GET /api/v1/namespaces/$NS/configmaps/pod-config 200;" "$(requests)"
run_cleanup --dry-run
eq "--dry-run without --force exits 1 (a real run would be refused)" 1 "$RC"
contains "... and still prints the patch" "$OUT" '"CLONE_SCOPE":null'

# ---- 403 on the patch: the RBAC rule to add; the original stays -------------------------------------
seed
ctl '{"forbid":["patch configmaps"]}'
run_cleanup --force
eq "a 403 on the patch fails (exit 1)" 1 "$RC"
contains "... naming the missing RBAC rule" "$OUT" \
    'Role rule: apiGroups [""], resources ["configmaps"], verbs ["patch"], resourceNames ["pod-config"]'
contains "... and the service account" "$OUT" "system:serviceaccount:$NS:postgres-pod may not patch"
contains "... and where the saved copy is" "$OUT" "is still there"
eq "... the original is untouched" "$ALL_KEYS" "$(cm_keys pod-config)"
b=$(backups)
check "... the backup exists ($b)" test -n "$b"
contains "... and was printed" "$OUT" "is in ConfigMap $NS/$b"

# ---- 403 on saving the copy: nothing is patched ----------------------------------------------------
seed
ctl '{"forbid":["create configmaps"]}'
run_cleanup --force
eq "a 403 on saving the copy fails (exit 1)" 1 "$RC"
contains "... naming the rule for create (no resourceNames)" "$OUT" \
    'Role rule: apiGroups [""], resources ["configmaps"], verbs ["create"]'
contains "... saying nothing was removed" "$OUT" "so nothing was removed"
eq "... and no PATCH was sent" "" "$(jq -r 'select(.method == "PATCH") | .path' "$LOG")"
eq "... the original is untouched" "$ALL_KEYS" "$(cm_keys pod-config)"

# ---- 409: someone changed the ConfigMap between the GET and the PATCH -----------------------------
seed
rv_read=$(cm pod-config | jq -r .metadata.resourceVersion)
ctl '{"concurrent_write":["pod-config"]}'
run_cleanup --force
eq "a concurrent change makes the patch fail (exit 1)" 1 "$RC"
contains "... reported as a conflict" "$OUT" "changed by someone else after it was read (409 Conflict"
contains "... with the saved copy still there" "$OUT" "the saved copy $NS/"
contains "... and what to do" "$OUT" "re-run spilo-agent cleanup"
eq "... nothing was removed and the other writer's change is kept" "6 1" \
    "$(cm pod-config | jq -r '"\([.data | keys[] | select(startswith("CLONE_"))] | length) \(.data.CHANGED_BY_OTHER_WRITER)"')"
eq "... the PATCH carried the resourceVersion of the GET" "$rv_read" \
    "$(jq -r 'select(.method == "PATCH") | .body.metadata.resourceVersion' "$LOG")"
ctl '{}'

# ---- --force: the keys go, the rest stays, the copy holds everything -------------------------------
seed
before=$(cm pod-config)
run_cleanup --force
eq "--force removes the keys (exit 0)" 0 "$RC"
contains "--force prints a warning" "$OUT" "warning: --force"
eq "only the CLONE_* keys are gone" "AWS_REGION,BACKUP_SCHEDULE,CLONEABLE,USE_WALG_BACKUP,USE_WALG_RESTORE" \
    "$(cm_keys pod-config)"
eq "the other keys keep their values" "$(jq -c '.data | with_entries(select(.key | startswith("CLONE_") | not))' <<<"$before")" \
    "$(cm pod-config | jq -c .data)"
eq "another ConfigMap's CLONE_* key is untouched" "must-stay" "$(cm unrelated | jq -r .data.CLONE_SCOPE)"
b=$(backups)
contains "the backup name is printed" "$OUT" "is in ConfigMap $NS/$b"
check "the backup is named <name>-before-cleanup-<utc time> ($b)" \
    grep -qE '^pod-config-before-cleanup-[0-9]{8}t[0-9]{6}z$' <<<"$b"
eq "the backup holds the full old data" "$(jq -c .data <<<"$before")" "$(cm "$b" | jq -c .data)"
eq "the backup is labelled and annotated with its source and resourceVersion" \
    "spilo-agent $NS/pod-config $(jq -r .metadata.resourceVersion <<<"$before")" \
    "$(cm "$b" | jq -r '"\(.metadata.labels["app.kubernetes.io/managed-by"]) \(.metadata.annotations["spilo-agent/cleanup-source"]) \(.metadata.annotations["spilo-agent/cleanup-source-resource-version"])"')"
eq "requests: GET, POST the copy, PATCH the original" \
    "GET /api/v1/namespaces/$NS/configmaps/pod-config 200;POST /api/v1/namespaces/$NS/configmaps 201;PATCH /api/v1/namespaces/$NS/configmaps/pod-config 200;" \
    "$(requests)"
eq "the copy is posted as application/json, the patch as a merge patch" \
    "application/json application/merge-patch+json" \
    "$(jq -r 'select(.method != "GET") | .content_type' "$LOG" | paste -sd' ')"
eq "the patch holds the resourceVersion read and nulls exactly the CLONE_* keys" \
    "$(jq -r .metadata.resourceVersion <<<"$before") 6 true" \
    "$(jq -r 'select(.method == "PATCH") | .body | "\(.metadata.resourceVersion) \(.data | length) \([.data[]] | all(. == null))"' "$LOG")"
run_cleanup --force
eq "a second run has nothing to do (exit 0)" 0 "$RC"
contains "... and says so" "$OUT" "no CLONE_* keys: nothing to do"

# ---- restoring from the copy as docs/cleanup.md shows ------------------------------------------------
# kubectl get configmap B -o json | jq -c '{data: .data}' -> kubectl patch configmap pod-config --type merge
restore_patch=$(cm "$b" | jq -c '{data: .data}')
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$K/ca.crt" -X PATCH \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/merge-patch+json' \
    --data-binary "$restore_patch" "$API/api/v1/namespaces/$NS/configmaps/pod-config")
eq "the documented restore (merge patch of the copy's data) brings every old key back" \
    "200 $(jq -c .data <<<"$before")" "$code $(cm pod-config | jq -c .data)"

# ---- transport and auth failures ---------------------------------------------------------------------
seed
OUT=$("$AGENT" cleanup "${KUBE[@]}" "${FAST[@]}" --set "kubernetes.ca_file=$K/wrong-ca.crt" --force 2>&1); RC=$?
printf '%s\n' "$OUT" >>"$ALL_OUT"
eq "a server certificate from another CA fails (exit 1)" 1 "$RC"
contains "... as a TLS verification error naming the CA file" "$OUT" \
    "TLS verification of the Kubernetes API server at $API failed with the CA bundle $K/wrong-ca.crt"
eq "... before any request reached the server" "" "$(requests)"
printf 'not-the-right-token-%s\n' "$RANDOM" >"$K/bad-token"
OUT=$("$AGENT" cleanup "${KUBE[@]}" "${FAST[@]}" --set "kubernetes.token_file=$K/bad-token" --force 2>&1); RC=$?
printf '%s\n' "$OUT" >>"$ALL_OUT"
eq "a wrong token fails (exit 1)" 1 "$RC"
contains "... with the 401 sentence" "$OUT" "rejected the bearer token from $K/bad-token (401 Unauthorized): the token is invalid or expired"
not_contains "... without the token" "$OUT" "not-the-right-token"
OUT=$("$AGENT" cleanup "${KUBE[@]}" "${FAST[@]}" --set "kubernetes.token_file=$K/none" 2>&1); RC=$?
eq "a missing token file fails (exit 1)" 1 "$RC"
contains "... saying which file" "$OUT" "cannot read the service account token $K/none"
OUT=$("$AGENT" cleanup "${KUBE[@]}" "${FAST[@]}" --set "kubernetes.api=https://127.0.0.1:$(free_port)" 2>&1); RC=$?
eq "an unreachable API server fails (exit 1)" 1 "$RC"
contains "... saying so with the URL" "$OUT" "the Kubernetes API server is unreachable at https://127.0.0.1:"
run_cleanup --set cleanup.configmap=missing-config
eq "a missing ConfigMap fails (exit 1)" 1 "$RC"
contains "... naming it and its namespace" "$OUT" "ConfigMap \"missing-config\" in namespace \"$NS\" was not found"
contains "... and the key to set" "$OUT" "set [cleanup] configmap"
: >"$LOG"
run_cleanup --set "cleanup.configmap=$NS/unrelated" --dry-run --force
eq "[cleanup] configmap accepts namespace/name" "0 GET /api/v1/namespaces/$NS/configmaps/unrelated 200;" "$RC $(requests)"

# ---- POST /cleanup on the daemon -----------------------------------------------------------------------
DAEMON=(--set agent.interval=5s --set agent.check_timeout=2s --set agent.log_format=json
    --set "walg.envdir=$TMP/no-envdir" --set "postgres.conninfo=host=127.0.0.1 port=1 connect_timeout=1")
agent_start plain "${DAEMON[@]}" "${KUBE[@]}"
check "the daemon without allow_http is up" wait_http "$AGENT_URL/livez" 200 10
eq "POST /cleanup is 404 without allow_http" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $HTTP_TOKEN" "$AGENT_URL/cleanup")"
cat "$AGENT_LOG" "$AGENT_OUT" >>"$ALL_OUT"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null

seed
agent_start http "${DAEMON[@]}" "${KUBE[@]}" --set cleanup.allow_http=true \
    --set "cleanup.token_file=$K/http-token"
check "the daemon with allow_http is up" wait_http "$AGENT_URL/livez" 200 10
post() { # post QUERY [AUTH_HEADER]: sets CODE, BODY, HEADERS
    local args=(-s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' -X POST --max-time 30)
    [ -n "${2:-}" ] && args+=(-H "$2")
    CODE=$(curl "${args[@]}" "$AGENT_URL/cleanup$1")
    BODY=$(cat "$TMP/b")
    HEADERS=$(cat "$TMP/h")
    printf '%s\n' "$BODY" >>"$ALL_OUT"
}
post ""
eq "POST /cleanup without a token is 401" 401 "$CODE"
contains "... with WWW-Authenticate: Bearer" "$HEADERS" "WWW-Authenticate: Bearer"
post "" "Authorization: Bearer wrong-token-of-some-length"
eq "POST /cleanup with a wrong token is 401" 401 "$CODE"
post "" "Authorization: Basic $(printf 'x:%s' "$HTTP_TOKEN" | base64)"
eq "POST /cleanup with the token as Basic auth is 401" 401 "$CODE"
eq "GET /cleanup is 405" 405 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HTTP_TOKEN" "$AGENT_URL/cleanup")"
post "?nope=1" "Authorization: Bearer $HTTP_TOKEN"
eq "an unknown query flag is 400" 400 "$CODE"
eq "nothing reached the API server so far" "" "$(requests)"
post "" "Authorization: Bearer $HTTP_TOKEN"
eq "POST /cleanup before the restore is confirmed is refused (409)" "409 refused" \
    "$CODE $(jq -r .status <<<"$BODY" 2>&1)"
eq "... listing the CLONE_* keys found and removing none" "6 0" \
    "$(jq -r '"\(.clone_keys | length) \(.removed | length)"' <<<"$BODY" 2>&1)"
post "?dry_run=1&force=1" "Authorization: Bearer $HTTP_TOKEN"
eq "POST /cleanup?dry_run=1&force=1 is 200, done, dry run" "200 done true" \
    "$CODE $(jq -r '"\(.status) \(.dry_run)"' <<<"$BODY" 2>&1)"
eq "... with the patch in the answer" "null" "$(jq -r '.patch.data.CLONE_SCOPE' <<<"$BODY" 2>&1)"
eq "... and nothing changed" "$ALL_KEYS" "$(cm_keys pod-config)"
# The kubelet rotates the token: the daemon reads it again for every request.
NEW_TOKEN="sa-token-rotated-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$NEW_TOKEN" >"$K/token"
post "?force=1" "Authorization: Bearer $HTTP_TOKEN"
eq "POST /cleanup?force=1 with the right token is 200 done (after a token rotation)" "200 done" \
    "$CODE $(jq -r .status <<<"$BODY" 2>&1)"
eq "... the answer lists the removed keys" \
    "CLONE_AWS_SECRET_ACCESS_KEY,CLONE_METHOD,CLONE_SCOPE,CLONE_TARGET_TIME,CLONE_WAL_BUCKET_SCOPE_SUFFIX,CLONE_WAL_S3_BUCKET" \
    "$(jq -r '.removed | join(",")' <<<"$BODY" 2>&1)"
saved=$(jq -r .saved_as <<<"$BODY" 2>&1)
eq "... and where the copy is saved" "$saved" "$(backups)"
eq "... the CLONE_* keys are gone" "AWS_REGION,BACKUP_SCHEDULE,CLONEABLE,USE_WALG_BACKUP,USE_WALG_RESTORE" \
    "$(cm_keys pod-config)"
eq "... every request used the current token" "ok" "$(jq -r .auth "$LOG" | sort -u | paste -sd,)"
post "" "Authorization: Bearer $HTTP_TOKEN"
eq "POST /cleanup again is 200 nothing" "200 nothing" "$CODE $(jq -r .status <<<"$BODY" 2>&1)"
printf '%s\n' "$TOKEN" >"$K/token"
ctl '{"forbid":["get configmaps"]}'
post "?force=1" "Authorization: Bearer $HTTP_TOKEN"
eq "a 403 through POST /cleanup is 500 failed" "500 failed" "$CODE $(jq -r .status <<<"$BODY" 2>&1)"
contains "... with the RBAC rule in the message" "$(jq -r .message <<<"$BODY")" 'verbs ["get"], resourceNames ["pod-config"]'
ctl '{"fail_5xx":["patch configmaps"]}'
seed
post "?force=1" "Authorization: Bearer $HTTP_TOKEN"
eq "a 500 from the API server through POST /cleanup is 500 failed" "500 failed" \
    "$CODE $(jq -r .status <<<"$BODY" 2>&1)"
contains "... naming the API server's answer" "$(jq -r .message <<<"$BODY")" "500"
eq "... and the ConfigMap is untouched" "11" "$(cm pod-config | jq '.data | length')"
ctl '{}'
post "?force=1" "Authorization: Bearer $HTTP_TOKEN"
eq "once the API server recovers the same request succeeds" "200 done" \
    "$CODE $(jq -r .status <<<"$BODY" 2>&1)"
check "the daemon still answers /livez" wait_http "$AGENT_URL/livez" 200 2
# A slow API server: the loop keeps serving, a second cleanup is turned away, and SIGTERM stops
# the daemon with the cleanup still waiting (its connection closed, its request dropped).
seed
ctl '{"delay_ms":3000}'
curl -s -o "$TMP/slow" -w '%{http_code}' -X POST -H "Authorization: Bearer $HTTP_TOKEN" \
    --max-time 10 "$AGENT_URL/cleanup?force=1" >"$TMP/slow.code" 2>/dev/null &
SLOW=$!
sleep 0.5
eq "while a cleanup waits on the API server, /livez answers at once" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$AGENT_URL/livez")"
post "?force=1" "Authorization: Bearer $HTTP_TOKEN"
eq "... and a second POST /cleanup is 409 (one at a time)" "409 another cleanup is running; retry when it has finished" \
    "$CODE $(jq -r .message <<<"$BODY" 2>&1)"
agent_stop
eq "SIGTERM during a cleanup stops the daemon cleanly" 0 "$AGENT_RC"
wait "$SLOW"
eq "... the waiting client gets no answer (connection closed)" "000" "$(cat "$TMP/slow.code")"
eq "... and nothing was removed" "$ALL_KEYS" "$(cm_keys pod-config)"
ctl '{}'
cat "$AGENT_LOG" "$AGENT_OUT" >>"$ALL_OUT"
contains "the daemon logged the cleanup" "$(cat "$AGENT_LOG")" "POST /cleanup status=done"

# ---- secrets ---------------------------------------------------------------------------------------------
not_contains "the service account token never appears in any output" "$(cat "$ALL_OUT")" "$TOKEN"
not_contains "the rotated token never appears in any output" "$(cat "$ALL_OUT")" "$NEW_TOKEN"
not_contains "the POST /cleanup token never appears in any output" "$(cat "$ALL_OUT")" "$HTTP_TOKEN"
not_contains "the ConfigMap's secret value never appears in any output" "$(cat "$ALL_OUT")" "clone-secret-XYZ-987"

finish

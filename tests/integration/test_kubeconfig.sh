#!/usr/bin/env bash
# `spilo-agent status`, `install` and `cleanup` from outside the cluster, through the user's
# kubeconfig, against the recording fake API server (lib/fake_kube_api.py) over TLS with a CA made
# here: an exec credential plugin (a shell script printing an ExecCredential; its invocations,
# arguments, env and KUBERNETES_EXEC_INFO recorded), KUBECONFIG with several files (the first to
# set a value wins, a missing file skipped), relative paths, --context, client certificates (data
# and files; the server verifies them), insecure-skip-tls-verify, tokenFile, the errors a kubectl
# user expects, kubectl's order (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster), and the
# fleet view itself: one real agent, one agent answer served from a file, an unreachable agent,
# the pod proxy, -n, -A, -o wide|json|yaml, exit codes like `check`. No token in any output.
#
# Behaviour followed: client-go tools/clientcmd/loader.go (ClientConfigLoadingRules.Load: "The
# first file to set a particular map key wins", a missing ExplicitPath is an error, missing
# KUBECONFIG files are ignored, paths relative to the file); client-go
# plugin/pkg/client/auth/exec/exec.go (KUBERNETES_EXEC_INFO, the apiVersion check, "exec plugin
# didn't return a token or cert/key pair", the expirationTimestamp cache). The labels are the
# postgres-operator's defaults: zalando/postgres-operator pkg/util/config/config.go lines 25-27 at
# 0142a301 (cluster_labels application:spilo, cluster_name_label cluster-name, pod_role_label
# spilo-role); the agent's port is the container port `agent` of deploy/ and install.
set -u
# shellcheck disable=SC2034 # read by common.sh
TEST_NAME=test_kubeconfig
AGENT=${AGENT:-build/spilo-agent}
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
. tests/integration/lib/kube.sh
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT POD_NAMESPACE KUBECONFIG
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export HOME=$TMP/home # no ~/.kube/config unless a test writes one
mkdir -p "$HOME"
PY=/usr/bin/python3

K=$TMP/kube
KC=$TMP/kc # the kubeconfig files and the plugin, relative paths point here
mkdir -p "$K" "$KC"
EXEC_TOKEN="exec-token-$RANDOM$RANDOM$RANDOM-eyJhbGciOiJFUzI1NiJ9"
STATIC_TOKEN="static-token-$RANDOM$RANDOM$RANDOM-abcdefgh"
FILE_TOKEN="file-token-$RANDOM$RANDOM$RANDOM-ijklmnop"
printf '%s\n%s\n%s\n' "$EXEC_TOKEN" "$STATIC_TOKEN" "$FILE_TOKEN" >"$K/token"
printf '%s\n' "$FILE_TOKEN" >"$KC/user.token"
ALL_OUT=$TMP/all-output
: >"$ALL_OUT"

# ---- certificates, the fake API server ------------------------------------------------------
check "openssl made the CA and the server certificate" kube_certs "$K"
check "openssl made a client certificate signed by the CA" kube_client_cert "$K" laptop laptop-admin
# a certificate from a CA the server does not trust
mkdir -p "$TMP/other"
kube_certs "$TMP/other" >/dev/null && kube_client_cert "$TMP/other" rogue rogue-user
kube_api_start "$K" harbor "laptop-admin" --namespace team-b --client-ca "$K/ca.crt"
API=$KUBE_API
LOG=$K/requests.jsonl
CONTROL=$K/control.json
check "the fake API server is up" test -n "${API##*:}"
cp "$K/ca.crt" "$KC/ca.crt"
CA_B64=$(base64 -w0 <"$K/ca.crt")
CERT_B64=$(base64 -w0 <"$K/laptop.crt")
KEY_B64=$(base64 -w0 <"$K/laptop.key")

# ---- the exec plugin ----------------------------------------------------------------------------
# PLUGIN_MODE (from the kubeconfig's env) picks the answer; every run appends its args and
# KUBERNETES_EXEC_INFO to calls.log.
cat >"$KC/plugin.sh" <<EOF
#!/bin/sh
printf '%s|%s|%s\n' "\$*" "\$PLUGIN_MODE" "\$KUBERNETES_EXEC_INFO" >>"$KC/calls.log"
case "\$PLUGIN_MODE" in
fail) echo "error: the refresh token expired; run 'acme-login' again" >&2; echo "more detail" >&2; exit 3 ;;
empty) echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}' ;;
oldver) printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$EXEC_TOKEN" ;;
wrong) echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"not-the-token-12345"}}' ;;
flip) if [ -f "$KC/flipped" ]; then PLUGIN_MODE=ok exec "\$0" "\$@"; fi
      touch "$KC/flipped"
      echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"revoked-token-12345"}}' ;;
short) printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$EXEC_TOKEN" "\$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)" ;;
cert) printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"}}\n' "\$(awk '{printf "%s\\\\n", \$0}' "$K/laptop.crt")" "\$(awk '{printf "%s\\\\n", \$0}' "$K/laptop.key")" ;;
*) printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$EXEC_TOKEN" "\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" ;;
esac
EOF
chmod +x "$KC/plugin.sh"
calls() { [ -f "$KC/calls.log" ] && wc -l <"$KC/calls.log" || echo 0; }

user_exec() { # user_exec NAME MODE [APIVERSION]
    cat <<EOF
- name: $1
  user:
    exec:
      apiVersion: ${3:-client.authentication.k8s.io/v1}
      command: ./plugin.sh
      args: [get-token, --cluster, fake]
      env:
      - {name: PLUGIN_MODE, value: $2}
      interactiveMode: Never
      provideClusterInfo: true
      installHint: install acme-login from https://acme.example/login
EOF
}

# The first file: the context and user most tests use, the cluster by relative CA file path.
cat >"$KC/main.yaml" <<EOF
apiVersion: v1
kind: Config
current-context: laptop
clusters:
- name: fake
  cluster:
    server: $API
    certificate-authority: ca.crt
- name: fake-insecure
  cluster:
    server: $API
    insecure-skip-tls-verify: true
- name: fake-no-ca
  cluster:
    server: $API
contexts:
- name: laptop
  context: {cluster: fake, user: exec-user, namespace: harbor}
- name: all-b
  context: {cluster: fake, user: exec-user, namespace: team-b}
- name: broken
  context: {cluster: fake, user: failing-user}
- name: empty-cred
  context: {cluster: fake, user: empty-user}
- name: old-version
  context: {cluster: fake, user: oldver-user}
- name: wrong-token
  context: {cluster: fake, user: wrong-user}
- name: short
  context: {cluster: fake, user: short-user, namespace: harbor}
- name: flip
  context: {cluster: fake, user: flip-user, namespace: harbor}
- name: exec-cert
  context: {cluster: fake, user: exec-cert-user, namespace: harbor}
- name: insecure
  context: {cluster: fake-insecure, user: static-user, namespace: harbor}
- name: no-ca
  context: {cluster: fake-no-ca, user: static-user, namespace: harbor}
- name: ghost-user
  context: {cluster: fake, user: nobody}
users:
$(user_exec exec-user ok)
$(user_exec failing-user fail)
$(user_exec empty-user empty)
$(user_exec oldver-user oldver)
$(user_exec wrong-user wrong)
$(user_exec short-user short)
$(user_exec flip-user flip)
$(user_exec exec-cert-user cert)
- name: static-user
  user:
    token: $STATIC_TOKEN
EOF
# The second file: a "laptop" context of its own (shadowed: the first file wins), a current-context
# that loses too, and the users with certificates and a token file.
cat >"$KC/second.yaml" <<EOF
apiVersion: v1
kind: Config
current-context: cert-data
clusters:
- name: fake
  cluster: {server: "https://127.0.0.1:1"}
- name: fake-b
  cluster:
    server: $API
    certificate-authority-data: $CA_B64
contexts:
- name: laptop
  context: {cluster: fake-b, user: nobody-here}
- name: cert-data
  context: {cluster: fake-b, user: cert-data-user, namespace: harbor}
- name: cert-file
  context: {cluster: fake-b, user: cert-file-user, namespace: harbor}
- name: rogue
  context: {cluster: fake-b, user: rogue-user, namespace: harbor}
- name: token-file
  context: {cluster: fake-b, user: token-file-user, namespace: harbor}
users:
- name: cert-data-user
  user:
    client-certificate-data: $CERT_B64
    client-key-data: $KEY_B64
- name: cert-file-user
  user:
    client-certificate: ../kube/laptop.crt
    client-key: ../kube/laptop.key
- name: rogue-user
  user:
    client-certificate: $TMP/other/rogue.crt
    client-key: $TMP/other/rogue.key
- name: token-file-user
  user:
    tokenFile: user.token
EOF
export KUBECONFIG="$KC/main.yaml:$KC/missing.yaml:$KC/second.yaml"

# ---- the pods -------------------------------------------------------------------------------------
# harbor/postgresql-harbor-0: a real agent (no PostgreSQL, no envdir: walg_env is critical);
# harbor/postgresql-harbor-1: an agent answer from a file (warning, with backups and a window);
# team-b/acid-b-0: an agent that does not listen; plus a pod that is not Spilo's.
CLOSED=$(free_port)
agent_start real --set "walg.envdir=$TMP/no-envdir" \
    --set "postgres.conninfo=host=127.0.0.1 port=$CLOSED user=postgres connect_timeout=1" \
    --set "postgres.patroni_url=http://127.0.0.1:$CLOSED" --set agent.check_timeout=3s
REAL_PID=$AGENT_PID
REAL_PORT=$AGENT_PORT
check "the real agent turns ready" wait_http "$AGENT_URL/readyz" 200 20
mkdir -p "$TMP/canned"
cat >"$TMP/canned/status" <<'EOF'
{"status":"warning","version":"0.9.0-canned","now":"2026-12-03T10:00:00Z","role":"replica",
 "checks":{"walg_env":{"status":"ok","summary":"WAL-G settings are complete"},
  "pg_hba":{"status":"ok","summary":"ok"},
  "wal_archive":{"status":"ok","summary":"archiving","details":{}},
  "backups":{"status":"ok","summary":"7 backups",
    "details":{"next_scheduled_at":"2026-12-04T01:00:00Z",
      "latest":{"name":"base_000000010000000000000042","finish_time":"2026-12-03T01:05:00Z"},
      "wal_chain":{"window":{"first_recoverability_at":"2026-11-26T01:00:00Z",
        "last_archived_at":"2026-12-03T09:59:00Z","from_backup":"base_000000010000000000000002"}}}},
  "restore":{"status":"warning","summary":"the restore finished; CLONE_HOST is left in pod-config: run spilo-agent cleanup",
    "details":{"finished":true}}}}
EOF
CANNED_PORT=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$TMP/canned" "$CANNED_PORT" >/dev/null 2>&1 &
on_exit "kill $!"
check "the canned agent answer is served" wait_http "http://127.0.0.1:$CANNED_PORT/status" 200 10
UNUSED=$(free_port)

pod() { # pod NS NAME CLUSTER ROLE PORT [APP]
    jq -n --arg ns "$1" --arg n "$2" --arg cl "$3" --arg role "$4" --argjson port "$5" \
        --arg app "${6:-spilo}" '{apiVersion:"v1",kind:"Pod",
        metadata:{name:$n,namespace:$ns,labels:{application:$app,"cluster-name":$cl,"spilo-role":$role}},
        spec:{containers:[{name:"postgres",ports:[{name:"postgresql",containerPort:5432}]},
                          {name:"spilo-agent",ports:[{name:"agent",containerPort:$port}]}]},
        status:{phase:"Running",podIP:"127.0.0.1"}}'
}
PODS=$(jq -s . <(pod harbor postgresql-harbor-0 postgresql-harbor master "$REAL_PORT") \
    <(pod harbor postgresql-harbor-1 postgresql-harbor replica "$CANNED_PORT") \
    <(pod team-b acid-b-0 acid-b master "$UNUSED") \
    <(pod harbor harbor-core-0 none none 8080 harbor) \
    <(pod team-b acid-b-1 acid-b replica 1 | jq '.spec.containers |= [.[0]]') \
    <(pod restores acid-restored-1 acid-restored replica "$UNUSED") \
    <(pod restores acid-restored-0 acid-restored master "$CANNED_PORT"))
curl -s --cacert "$K/ca.crt" -X POST --data-binary "$PODS" "$API/_fake/reset" >/dev/null
: >"$LOG"

run() { # run ARGS...: sets OUT, ERR, RC
    OUT=$("$AGENT" "$@" 2>"$TMP/err")
    RC=$?
    ERR=$(cat "$TMP/err")
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL_OUT"
}
requests() { jq -r '"\(.method) \(.path)?\(.query) \(.auth) \(.status)"' "$LOG" | tr '\n' ';'; }

# ---- status through the exec plugin ------------------------------------------------------------
run status
eq "status exits 2: the worst pod is critical (the real agent's walg_env)" 2 "$RC"
contains "a header with each check" "$OUT" "CLUSTER"
contains "... the check columns" "$(head -1 <<<"$OUT")" "WALG-ENV"
contains "... and the backup columns" "$(head -1 <<<"$OUT")" "LAST-BACKUP   NEXT-DUE   WINDOW"
eq "one row per Spilo pod of the context's namespace (harbor)" 3 "$(wc -l <<<"$OUT")"
not_contains "the non-Spilo pod is not listed" "$OUT" "harbor-core-0"
row1=$(grep postgresql-harbor-1 <<<"$OUT")
contains "the canned pod's row: role and overall status" "$row1" "replica"
contains "... warning overall" "$row1" "warning"
contains "... last backup 8h ago, next due in 14h, window 7d" "$row1" "8h "
contains "... next due" "$row1" "in 15h"
contains "... recovery window" "$row1" "7d"
row0=$(grep postgresql-harbor-0 <<<"$OUT")
contains "the real agent's row is critical" "$row0" "critical"
contains "... and says master" "$row0" "master"
eq "the exec plugin ran once for the listing and both proxied GETs (cached until expiry)" 1 "$(calls)"
contains "the plugin got its args" "$(cat "$KC/calls.log")" "get-token --cluster fake|ok|"
info=$(tail -1 "$KC/calls.log" | cut -d'|' -f3)
eq "KUBERNETES_EXEC_INFO: an ExecCredential of the configured version, not interactive" \
    "ExecCredential client.authentication.k8s.io/v1 false" \
    "$(jq -r '"\(.kind) \(.apiVersion) \(.spec.interactive)"' <<<"$info")"
eq "... with the cluster (provideClusterInfo)" "$API" "$(jq -r .spec.cluster.server <<<"$info")"
r=$(requests)
contains "the pods were listed with the operator's label selector, with the exec token" "$r" \
    "GET /api/v1/namespaces/harbor/pods?labelSelector=application%3Dspilo ok 200"
contains "the real agent was asked through the pod proxy on its 'agent' port" "$r" \
    "GET /api/v1/namespaces/harbor/pods/postgresql-harbor-0:$REAL_PORT/proxy/status? ok 200"
contains "... and the canned one" "$r" \
    "GET /api/v1/namespaces/harbor/pods/postgresql-harbor-1:$CANNED_PORT/proxy/status? ok 200"

run status -o json
eq "-o json exits like the table" 2 "$RC"
eq "-o json: overall status and pod count" "critical 2" "$(jq -r '"\(.status) \(.pods | length)"' <<<"$OUT")"
eq "-o json: the canned row" \
    "postgresql-harbor replica warning ok warning 32100 54000 637200 0.9.0-canned" \
    "$(jq -r '.pods[1] | "\(.cluster) \(.role) \(.status) \(.checks.backups) \(.checks.restore) \(.last_backup_age_seconds) \(.next_backup_in_seconds) \(.recovery_window_seconds) \(.agent_version)"' <<<"$OUT")"
contains "-o json: the worst check's summary" "$(jq -r '.pods[1].summary' <<<"$OUT")" "spilo-agent cleanup"
json=$OUT
run status -o yaml
eq "-o yaml exits 2" 2 "$RC"
eq "-o yaml reads back as the same document as -o json" "same" \
    "$("$PY" -c 'import json,sys,yaml
a = yaml.safe_load(open(sys.argv[1])); b = json.loads(sys.argv[2])
names = lambda d: [p["pod"] for p in d["pods"]]
print("same" if a["status"] == b["status"] and names(a) == names(b) and a["pods"][1] == b["pods"][1]
      else "differ")' <(printf '%s\n' "$OUT") "$json")"

run status -A -o wide
printf "%s\n" "$OUT" >"${SHOW_OUTPUT:-/dev/null}"
eq "-A: every namespace; the unreachable agent makes no difference to critical" 2 "$RC"
contains "-A has a NAMESPACE column" "$(head -1 <<<"$OUT")" "NAMESPACE"
eq "-A: six Spilo pods" 7 "$(wc -l <<<"$OUT")"
contains "a Spilo pod without the sidecar says so, without asking the proxy" \
    "$(grep acid-b-1 <<<"$OUT")" "the pod has no spilo-agent sidecar"
not_contains "... no proxy request for it" "$(requests)" "acid-b-1:"
rowb=$(grep acid-b-0 <<<"$OUT")
contains "the unreachable agent is unknown" "$rowb" "unknown"
contains "... and -o wide says why (the API server's 503)" "$rowb" "error trying to reach service"
contains "-o wide shows the agent version" "$OUT" "0.9.0-canned"
contains "the cluster-wide list went to /api/v1/pods" "$(requests)" \
    "GET /api/v1/pods?labelSelector=application%3Dspilo ok 200"

run status -n team-b
eq "-n team-b: only the unreachable pod and the one without sidecar, exit 3 (unknown)" 3 "$RC"
contains "... its row" "$OUT" "acid-b-0"
contains "... and a hint on stderr" "$ERR" "2 of 2 pods gave no agent status; -o wide says why."
run status --context all-b
eq "the context's namespace is the default (team-b)" 3 "$RC"
run status -n nothing-here
eq "no Spilo pod: exit 3" 3 "$RC"
contains "... with kubectl's sentence" "$ERR" "No Spilo pods (label application=spilo) found in namespace nothing-here."
run status -n harbor -A
eq "-n and -A together: usage error" 64 "$RC"
run status -o table5
eq "a bad -o: usage error" 64 "$RC"

# RBAC: no get on pods/proxy
echo '{"forbid": ["get pods/proxy"]}' >"$CONTROL"
run status -o wide
eq "a forbidden pod proxy: every row unknown, exit 3" 3 "$RC"
contains "... the rule to add" "$OUT" 'resources ["pods/proxy"], verbs ["get"]'
echo '{"forbid": ["list pods"]}' >"$CONTROL"
run status -A
eq "no list on pods at the cluster scope: exit 1" 1 "$RC"
contains "... the ClusterRole rule to add" "$ERR" 'ClusterRole rule: apiGroups [""], resources ["pods"], verbs ["list"]'
run status
eq "no list on pods in the namespace: exit 1" 1 "$RC"
contains "... the Role rule, in that namespace" "$ERR" 'in namespace "harbor"'
echo '{}' >"$CONTROL"

# ---- the credential cache: a short-lived token is fetched again ------------------------------------
: >"$KC/calls.log"
run status --context short
eq "status with a 5 s token works" 2 "$RC"
eq "... and the plugin ran for each of the three requests (expiry within 10 s)" 3 "$(calls)"

# ---- other users ----------------------------------------------------------------------------------
: >"$LOG"
run status --context cert-data
eq "client-certificate-data and -key-data, CA data (second file): works" 2 "$RC"
contains "... the server authenticated the certificate, no token sent" "$(requests)" \
    "GET /api/v1/namespaces/harbor/pods?labelSelector=application%3Dspilo cert 200"
: >"$LOG"
run status --context cert-file
eq "client-certificate and client-key files relative to their kubeconfig: works" 2 "$RC"
contains "... authenticated by certificate" "$(requests)" "cert 200"
: >"$LOG"
run status --context exec-cert
eq "an exec plugin that returns a client certificate: works" 2 "$RC"
contains "... authenticated by certificate" "$(requests)" "cert 200"
run status --context rogue
eq "a client certificate the server does not trust: exit 1" 1 "$RC"
contains "... TLS failed, naming the context" "$ERR" 'context "rogue"'
: >"$LOG"
run status --context token-file
eq "tokenFile relative to the kubeconfig: works" 2 "$RC"
contains "... sent as the bearer token" "$(requests)" "ok 200"
run status --context insecure
eq "insecure-skip-tls-verify with a static token: works" 2 "$RC"
run status --context no-ca
eq "no CA: verified against the system roots, which do not hold the test CA: exit 1" 1 "$RC"
contains "... a TLS sentence naming the kubeconfig" "$ERR" "certificate-authority"

# ---- the errors a kubectl user expects ------------------------------------------------------------
run status --context nope
eq "an unknown context: configuration error" 78 "$RC"
contains "... names it and the known ones" "$ERR" 'context "nope" not found in the kubeconfig'
contains "... lists contexts of both files" "$ERR" "cert-data"
run status --context ghost-user
eq "a context whose user does not exist" 78 "$RC"
contains "... says so" "$ERR" 'user "nobody" of context "ghost-user" not found'
run status --context broken
eq "an exec plugin that fails: exit 1" 1 "$RC"
contains "... its exit code and the first line of its stderr" "$ERR" \
    "failed with exit code 3: error: the refresh token expired; run 'acme-login' again"
not_contains "... not the second line" "$ERR" "more detail"
run status --context empty-cred
eq "an ExecCredential without credentials: exit 1" 1 "$RC"
contains "... client-go's sentence" "$ERR" "exec plugin didn't return a token or cert/key pair"
run status --context old-version
eq "an ExecCredential of another apiVersion: exit 1" 1 "$RC"
contains "... client-go's sentence" "$ERR" \
    "exec plugin is configured to use API version client.authentication.k8s.io/v1, plugin returned version client.authentication.k8s.io/v1beta1"
run status --context wrong-token
eq "a token the server rejects: exit 1" 1 "$RC"
contains "... 401 with the kubeconfig's context and the fix" "$ERR" \
    'rejected the credentials of context "wrong-token"'
run status --kubeconfig "$KC/missing.yaml"
eq "a missing --kubeconfig: configuration error" 78 "$RC"
contains "... names it" "$ERR" "$KC/missing.yaml does not exist"
printf 'apiVersion: v1\nclusters: [\n' >"$KC/bad.yaml"
run status --kubeconfig "$KC/bad.yaml"
eq "a kubeconfig that is not YAML: configuration error" 78 "$RC"
contains "... libyaml's problem and the line" "$ERR" "is not valid YAML"
chmod 000 "$KC/second.yaml"
if [ "$(id -u)" != 0 ]; then
    run status --context cert-data
    contains "an unreadable KUBECONFIG file is named" "$ERR" "cannot read the kubeconfig $KC/second.yaml"
fi
chmod 644 "$KC/second.yaml"
KUBECONFIG="$KC/second.yaml" run status
eq "KUBECONFIG alone: its current-context (cert-data)" 2 "$RC"
printf 'apiVersion: v1\nkind: Config\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: "%s"}}]\n' \
    "$API" >"$KC/nocur.yaml"
KUBECONFIG="$KC/nocur.yaml" run status
eq "no current-context: configuration error" 78 "$RC"
contains "... kubectl's advice" "$ERR" "current-context is not set"

# ---- kubectl's order: --kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster -------------------------
mkdir -p "$HOME/.kube"
sed 's/current-context: cert-data/current-context: token-file/' "$KC/second.yaml" >"$HOME/.kube/config"
cp "$KC/user.token" "$HOME/.kube/user.token"
: >"$LOG"
KUBECONFIG= run status
eq "no KUBECONFIG: ~/.kube/config" 2 "$RC"
contains "... its context's tokenFile" "$(requests)" "ok 200"
KUBECONFIG= KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=1 run status
eq "~/.kube/config wins over the in-cluster service account" 2 "$RC"
rm -rf "$HOME/.kube"
: >"$LOG"
KUBECONFIG= KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=${API##*:} POD_NAMESPACE=harbor \
    run status --set "kubernetes.token_file=$KC/user.token" --set "kubernetes.ca_file=$K/ca.crt"
eq "no kubeconfig anywhere, in a pod: the service account" 2 "$RC"
KUBECONFIG= run status
eq "no kubeconfig and not in a pod: configuration error" 78 "$RC"
contains "... says where it looked" "$ERR" "$HOME/.kube/config does not exist"
: >"$LOG"
run status --set "kubernetes.api=$API" --set "kubernetes.token_file=$KC/user.token" \
    --set "kubernetes.ca_file=$K/ca.crt" --set kubernetes.namespace=harbor
eq "an explicit [kubernetes] api wins over KUBECONFIG (like kubectl --server)" 2 "$RC"

# ---- install and cleanup through the kubeconfig ------------------------------------------------
printf 'secret-access-key-%s\n' "$RANDOM$RANDOM" >"$K/secret-key"
printf 'AKIAKUBECONFIG%s\n' "$RANDOM" >"$K/access-key"
cat >"$TMP/install.ini" <<EOF
[install]
target = postgres-operator
namespace = harbor
operator_namespace = harbor
cluster = postgresql-harbor
bucket = acme-pg-backups
region = eu-central-1
access_key_file = $K/access-key
secret_key_file = $K/secret-key
agent_image = registry.example.com/spilo-agent:0.2.0
restart_timeout = 2s
EOF
: >"$KC/calls.log"
: >"$LOG"
run install -c "$TMP/install.ini" --dry-run
eq "install --dry-run through the kubeconfig: exit 0" 0 "$RC"
check "... prints YAML documents" "$PY" -c 'import sys,yaml; d=list(yaml.safe_load_all(sys.stdin)); assert len(d) > 3' <<<"$OUT"
eq "... contacts nothing and runs no plugin" "0 0" "$(wc -l <"$LOG") $(calls)"
run install -c "$TMP/install.ini" --context laptop
r=$(requests)
contains "install applied through the exec plugin's token" "$r" \
    "PATCH /api/v1/namespaces/harbor/configmaps/pod-config?fieldManager=spilo-agent&force=true ok"
eq "... the plugin ran once for the whole install" 1 "$(calls)"
contains "... one line per resource" "$OUT" "ConfigMap harbor/pod-config: created"
: >"$LOG"
run cleanup --kubeconfig "$KC/main.yaml" --context laptop --dry-run --force \
    --set cleanup.configmap=harbor/pod-config
contains "cleanup reads the ConfigMap through the kubeconfig" "$(requests)" \
    "GET /api/v1/namespaces/harbor/configmaps/pod-config? ok 200"

# cleanup from outside the pod: --cluster asks that cluster's leader agent through the proxy
curl -s --cacert "$K/ca.crt" -H "Authorization: Bearer $EXEC_TOKEN" -X PATCH \
    -H 'Content-Type: application/merge-patch+json' -d '{"data":{"CLONE_SCOPE":"old-cluster"}}' \
    "$API/api/v1/namespaces/harbor/configmaps/pod-config" >/dev/null
: >"$LOG"
run cleanup --context laptop --cluster acid-restored --dry-run --set kubernetes.namespace=restores \
    --set cleanup.configmap=harbor/pod-config
eq "cleanup --cluster: the cluster's agent says the restore finished, the dry run goes on" 0 "$RC"
contains "... it prints the patch removing CLONE_SCOPE" "$OUT" "CLONE_SCOPE"
r=$(requests)
contains "... it listed the cluster's pods by the operator's labels" "$r" \
    "GET /api/v1/namespaces/restores/pods?labelSelector=application%3Dspilo%2Ccluster-name%3Dacid-restored ok 200"
contains "... and asked the leader's agent through the pod proxy" "$r" \
    "GET /api/v1/namespaces/restores/pods/acid-restored-0:$CANNED_PORT/proxy/status? ok 200"
not_contains "... not the replica's" "$r" "acid-restored-1:"
run cleanup --context laptop --cluster nope --dry-run --set cleanup.configmap=harbor/pod-config
eq "cleanup --cluster of a cluster without pods: refused" 1 "$RC"
contains "... saying so" "$ERR" "no running pod of cluster nope"
run cleanup --context laptop --cluster postgresql-harbor --dry-run \
    --set cleanup.configmap=harbor/pod-config
eq "cleanup --cluster whose agent does not confirm the restore: refused" 1 "$RC"
contains "... quoting that agent's restore check" "$ERR" "postgresql-harbor-0"

# a credential the server rejects is dropped (client-go does the same on 401): the next request
# runs the plugin again and goes through
: >"$KC/calls.log"
: >"$LOG"
rm -f "$KC/flipped"
run install -c "$TMP/install.ini" --context flip
contains "install: the first request fails with the revoked token (401)" "$OUT" \
    'rejected the credentials of context "flip"'
contains "... the next ones run the plugin again and are applied" "$OUT" "unchanged"
eq "... the plugin ran twice (the 401 dropped its credential)" 2 "$(grep -c '|flip|' "$KC/calls.log")"

# ---- no secret in any output ---------------------------------------------------------------------
all=$(cat "$ALL_OUT" "$K/fake.err")
not_contains "the exec plugin's token never appears in any output" "$all" "$EXEC_TOKEN"
not_contains "the static token never appears" "$all" "$STATIC_TOKEN"
not_contains "the token file's token never appears" "$all" "$FILE_TOKEN"
not_contains "the client key never appears" "$all" "$(sed -n 2p "$K/laptop.key")"
AGENT_PID=$REAL_PID
agent_stop
eq "the real agent stops cleanly" 0 "$AGENT_RC"
finish

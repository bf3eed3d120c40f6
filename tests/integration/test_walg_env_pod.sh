#!/usr/bin/env bash
# The walg_env check without the envdir: the agent GETs its own pod from the (fake) Kubernetes
# API and derives the settings from the Spilo container's environment in the pod's spec, which
# holds what the operator gives the Spilo container only (WAL_BUCKET_SCOPE_SUFFIX=/<uid>,
# postgres-operator pkg/cluster/k8sres.go:1076-1080 v2.0.1-1-ga7aaad0a). With `get` on pods
# forbidden it falls back to its own environment and says what is unknown.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/kube.sh"

K=$TMP/kube
if ! kube_certs "$K" || ! kube_api_start "$K" registry system:serviceaccount:registry:postgres-pod; then
    nok "the fake Kubernetes API starts"; finish; exit 1
fi
curl -s --cacert "$K/ca.crt" -X POST "$KUBE_API/_fake/reset" \
    --data-binary "[$(cat "$FIXTURES/k8s/spilo-pod.json")]" >/dev/null
walg_env() { # walg_env [ENV=...]...: the walg_env check as JSON, envdir not mounted
    OUT=$(env -i PATH="$PATH" POD_NAME=harbor-db-0 POD_NAMESPACE=registry WAL_S3_BUCKET=acme-pg \
        SCOPE=harbor-db PGVERSION=14 AWS_REGION=eu-central-1 USE_WALG_BACKUP=true \
        AWS_INSTANCE_PROFILE=true "$@" \
        "$AGENT" check --json --only walg_env --set "walg.envdir=$TMP/not-mounted/env" \
        --set "kubernetes.api=$KUBE_API" --set "kubernetes.token_file=$K/token" \
        --set "kubernetes.ca_file=$K/ca.crt" --set kubernetes.namespace=registry 2>"$TMP/err")
    RC=$?
}
field() { jq -r ".checks.walg_env.$1" <<<"$OUT"; }

walg_env
eq "read from the pod's spec: ok" "ok" "$(field status)"
eq "the environment is the Spilo container's" "pod harbor-db-0, container postgres" \
    "$(field details.environment)"
eq "the prefix has the operator's uid suffix" \
    "s3://acme-pg/spilo/harbor-db/4d3c2b1a-0f9e-4d8c-b7a6-554433221100/wal/14" "$(field details.prefix)"
eq "one GET of its own pod" "1" \
    "$(jq -s '[.[] | select(.method == "GET" and .path == "/api/v1/namespaces/registry/pods/harbor-db-0")] | length' "$K/requests.jsonl")"
eq "and nothing else" "1" "$(jq -s '[.[] | select(.path | startswith("/_fake") | not)] | length' "$K/requests.jsonl")"
contains "no secret value is shown" "$(field details.env.AWS_SECRET_ACCESS_KEY)" "*"

echo '{"forbid": ["get pods"]}' >"$K/control.json"
walg_env
eq "get on pods forbidden: a warning, not a certain prefix" "warning" "$(field status)"
contains "it says the prefix is not certain" "$(field summary)" \
    "s3://acme-pg/spilo/registry-harbor-db/wal/14 is not certain"
contains "and why the pod could not be read, with the RBAC rule" "$(field details.pod_error)" \
    'verbs ["get"]'
eq "the unknown facts are listed" "true" "$(jq '.checks.walg_env.details.unknown | index("WAL_BUCKET_SCOPE_SUFFIX") != null' <<<"$OUT")"

echo '{}' >"$K/control.json"
if command -v valgrind >/dev/null; then
    out=$(env -i PATH="$PATH" POD_NAME=harbor-db-0 valgrind --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite --quiet \
        --suppressions=tests/valgrind.supp "$AGENT" check --only walg_env \
        --set "walg.envdir=$TMP/not-mounted/env" --set "kubernetes.api=$KUBE_API" \
        --set "kubernetes.token_file=$K/token" --set "kubernetes.ca_file=$K/ca.crt" \
        --set kubernetes.namespace=registry 2>&1); rc=$?
    check "the pod GET and its environment under valgrind: no error, no definite leak (rc $rc)" \
        test "$rc" -ne 99
fi
walg_env POD_NAME=
eq "no pod name: its own environment, HOSTNAME unset either" "warning" "$(field status)"
contains "the reason names the downward API" "$(field details.pod_error)" "POD_NAME"
finish

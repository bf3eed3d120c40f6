#!/usr/bin/env bash
# `spilo-agent install` end to end against the recording fake Kubernetes API (lib/fake_kube_api.py)
# over TLS with a CA made here, and s3rver for the restore checks: usage and configuration errors,
# --dry-run (real YAML with deploy/'s content, no request at all), a full install (one line per
# resource, server-side apply with fieldManager spilo-agent at the right paths, the operator pod
# restarted), a second run (all unchanged), a 403 on one resource (the RBAC rule, the rest still
# applied, exit 1), a missing Prometheus Operator, restore mode (the https+path:// refusal, an
# empty source prefix, and a real clone source with the credentials Secrets copied without their
# server-set metadata), and that no secret shows up in any output.
set -u
# shellcheck disable=SC2034 # read by common.sh
TEST_NAME=test_install
AGENT=${AGENT:-build/spilo-agent}
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
. tests/integration/lib/s3.sh
. tests/integration/lib/kube.sh
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT POD_NAMESPACE
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
PY=/usr/bin/python3 # Debian's, with python3-yaml (the pyenv python3 on PATH may lack it)

NS=harbor
OPNS=harbor-operator-ns
CLUSTER=postgresql-harbor-harborcluster
OPCONF=harbor-operator-postgres-operator
K=$TMP/kube
mkdir -p "$K"
TOKEN="admin-token-$RANDOM$RANDOM$RANDOM-eyJhbGciOiJSUzI1NiJ9"
printf '%s\n' "$TOKEN" >"$K/token"
ACCESS_KEY="AKIAINSTALLTEST$RANDOM"
SECRET_KEY="install-secret-KEY-$RANDOM$RANDOM-do-not-print"
printf '%s\n' "$ACCESS_KEY" >"$K/access-key"
printf '%s\n' "$SECRET_KEY" >"$K/secret-key"
SECRET_B64=$(printf '%s' "$SECRET_KEY" | base64 -w0)
SRC_PASSWORD="source-postgres-password-$RANDOM$RANDOM"
ALL_OUT=$TMP/all-output
: >"$ALL_OUT"

if ! "$PY" -c 'import yaml' 2>/dev/null; then
    apt-get install -y -qq python3-yaml >/dev/null 2>&1 || true
fi
check "Debian's python3 has the yaml module" "$PY" -c 'import yaml'

# ---- certificates and the fake API server ------------------------------------------------------
check "openssl made the CA and the server certificate" kube_certs "$K"
LOG=$K/requests.jsonl
STORE=$K/store.json
CONTROL=$K/control.json
echo '{}' >"$CONTROL"
kube_api_start "$K" "$OPNS" "system:serviceaccount:$OPNS:installer"
FAKE_PID=$KUBE_API_PID
API=$KUBE_API
PORT=${API##*:}
check "the fake API server is up" test -n "$PORT"

# ---- the configuration ----------------------------------------------------------------------------
cat >"$TMP/install.ini" <<EOF
[kubernetes]
api = $API
token_file = $K/token
ca_file = $K/ca.crt

[install]
target = harbor-operator
namespace = $NS
operator_namespace = $OPNS
cluster = $CLUSTER
bucket = acme-harbor-pg-backups
region = eu-central-1
access_key_file = $K/access-key
secret_key_file = $K/secret-key
agent_image = registry.example.com/spilo-agent:0.2.0
backup_schedule = 30 2 * * *
retain = 7
restart_timeout = 10s
EOF

seed() { # seed [EXTRA_OBJECTS_JSON]
    local objs
    objs=$(jq -n --arg ns "$NS" --arg opns "$OPNS" --arg cl "$CLUSTER" --arg oc "$OPCONF" \
        --argjson extra "${1:-[]}" '[
        {apiVersion:"acid.zalan.do/v1",kind:"OperatorConfiguration",
         metadata:{name:$oc,namespace:$opns,labels:{"app.kubernetes.io/managed-by":"Helm"}},
         configuration:{docker_image:"registry.opensource.zalan.do/acid/spilo-12:1.6-p3",
           workers:8,kubernetes:{cluster_name_label:"cluster-name",pod_environment_configmap:""}}},
        {apiVersion:"acid.zalan.do/v1",kind:"postgresql",metadata:{name:$cl,namespace:$ns},
         spec:{teamId:"postgresql-harbor",numberOfInstances:2,postgresql:{version:"12"},
           patroni:{pg_hba:["hostssl all all 0.0.0.0/0 md5","host    all all 0.0.0.0/0 md5"]}}},
        {apiVersion:"v1",kind:"Pod",metadata:{name:"harbor-operator-postgres-operator-6f7c9-x2x4q",
           namespace:$opns,labels:{"app.kubernetes.io/name":"postgres-operator"}},
         status:{phase:"Running",conditions:[{type:"Ready",status:"True"}]}},
        {apiVersion:"v1",kind:"Pod",metadata:{name:"harbor-core-7d9-abcde",namespace:$opns,
           labels:{"app.kubernetes.io/name":"harbor-core"}},
         status:{phase:"Running",conditions:[{type:"Ready",status:"True"}]}}] + $extra')
    curl -s --cacert "$K/ca.crt" -X POST --data-binary "$objs" "$API/_fake/reset" >/dev/null
    : >"$LOG"
}
ctl() { printf '%s\n' "$1" >"$CONTROL"; }
obj() { jq -c --arg k "$1" --arg n "$2" '.[] | select(.kind == $k and .metadata.name == $n)' "$STORE"; }
requests() { jq -r '"\(.method) \(.path) \(.status)"' "$LOG" | tr '\n' ';'; }
# run_install ARGS...: sets OUT (stdout), ERR (stderr) and RC
run_install() {
    "$AGENT" install "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
    cat "$TMP/out" "$TMP/err" >>"$ALL_OUT"
}
# lines: the per-resource lines of stdout as "Kind ns/name: status" (reasons cut)
lines() { grep -E '^[A-Za-z]+ [^ ]+: ' <<<"$OUT" | sed -E 's/^([A-Za-z]+ [^ ]+: [a-z]+).*/\1/'; }
status_of() { grep -E "^$1: " <<<"$OUT" | head -1 | sed -E 's/^[^:]+: ([a-z]+).*/\1/'; }

# ---- usage and configuration errors ---------------------------------------------------------------
run_install --help
eq "install --help exits 0" 0 "$RC"
contains "install --help names --mode and --dry-run" "$OUT" "--mode restore"
run_install --mode sideways
eq "an unknown --mode is a usage error (64)" 64 "$RC"
contains "... naming what is accepted" "$ERR" "accepted: backup or restore"
run_install extra
eq "an extra argument is a usage error (64)" 64 "$RC"
run_install -c "$TMP/install.ini" --set install.bucket= --dry-run
eq "a missing [install] bucket is a configuration error (78)" 78 "$RC"
contains "... naming the key and its environment variable" "$ERR" \
    "[install] bucket is not set (env SPILO_AGENT_INSTALL_BUCKET)"
run_install -c "$TMP/install.ini" --set install.target=zalando --dry-run
eq "a bad [install] target is a configuration error (78)" 78 "$RC"
contains "... naming what is accepted" "$ERR" "accepted: harbor-operator or postgres-operator"
run_install -c "$TMP/install.ini" --set install.endpoint=https+path://minio:9000 --dry-run
eq "a WAL-E style [install] endpoint is a configuration error (78)" 78 "$RC"
contains "... naming the key" "$ERR" "[install] endpoint = 'https+path://minio:9000' is not valid"
run_install -c "$TMP/install.ini" --set install.region=loca --dry-run
eq "the off-cloud region guess 'loca' is refused (78)" 78 "$RC"
run_install -c "$TMP/install.ini" --set install.secret_key_file= --dry-run
eq "access_key_file without secret_key_file is a configuration error (78)" 78 "$RC"
run_install -c "$TMP/install.ini" --set install.secret_key_file="$K/none" --dry-run
eq "an unreadable secret_key_file is a configuration error (78)" 78 "$RC"
contains "... naming the key and the file" "$ERR" "[install] secret_key_file '$K/none' cannot be read"
run_install -c "$TMP/install.ini" --mode restore --dry-run
eq "--mode restore without clone_cluster is a configuration error (78)" 78 "$RC"
contains "... naming the key" "$ERR" "[install] clone_cluster is not set (env SPILO_AGENT_INSTALL_CLONE_CLUSTER)"
SPILO_AGENT_INSTALL_CLUSTER=Bad_Name run_install -c "$TMP/install.ini" --dry-run
eq "[install] keys come from SPILO_AGENT_INSTALL_* too (a bad cluster name: 78)" 78 "$RC"
contains "... naming the key" "$ERR" "[install] cluster = 'Bad_Name' is not valid"
eq "no configuration error sent a request" "" "$(requests)"

run_install -c "$TMP/install.ini" --set 'install.monitoring_labels=release' --dry-run
eq "a bad [install] monitoring_labels is a configuration error (78)" 78 "$RC"
contains "... naming the key and what is accepted" "$ERR" "[install] monitoring_labels = 'release' is not valid (env SPILO_AGENT_INSTALL_MONITORING_LABELS); accepted: label=value pairs"
run_install -c "$TMP/install.ini" --set 'install.runbook_base=docs/alerts.md' --dry-run
eq "a relative [install] runbook_base is a configuration error (78)" 78 "$RC"
contains "... naming the key" "$ERR" "[install] runbook_base = 'docs/alerts.md' is not valid"

# ---- monitoring objects: labels, runbook base, one PodMonitor per cluster namespace --------------
monitoring_of() { # monitoring_of ARGS... -> "PodMonitor-ns/name selector labels | runbook_url of BackupMissed"
    "$AGENT" install -c "$TMP/install.ini" --dry-run "$@" 2>/dev/null | "$PY" -c '
import sys, yaml
d = {x["kind"]: x for x in yaml.safe_load_all(sys.stdin) if x}
pm, pr = d["PodMonitor"], d["PrometheusRule"]
rb = [r for g in pr["spec"]["groups"] for r in g["rules"] if r.get("alert") == "BackupMissed"][0]
print("%s/%s %s %s %s | %s" % (pm["metadata"]["namespace"], pm["metadata"]["name"], ",".join(pm["spec"]["namespaceSelector"]["matchNames"]),
      pm["metadata"]["labels"].get("release"), pr["metadata"]["labels"].get("team", "-"), rb["annotations"]["runbook_url"]))'
}
eq "default: PodMonitor beside the cluster, scraping its namespace, release label, runbook base" \
    "$NS/spilo-agent $NS kube-prometheus-stack - | https://spilo-agent.example.org/docs/alerts.md#backupmissed" "$(monitoring_of)"
eq "[install] monitoring_labels and runbook_base are applied to both objects" \
    "$NS/spilo-agent $NS prom db | https://wiki.example.com/spilo#backupmissed" \
    "$(monitoring_of --set 'install.monitoring_labels=release=prom,team=db' --set install.runbook_base=https://wiki.example.com/spilo)"
a=$(monitoring_of --set install.monitoring_namespace=monitoring --set install.namespace=team-a)
b=$(monitoring_of --set install.monitoring_namespace=monitoring --set install.namespace=team-b)
eq "two clusters, one monitoring namespace: two PodMonitors, each scraping only its namespace" \
    "monitoring/spilo-agent-team-a team-a|monitoring/spilo-agent-team-b team-b" "${a%% kube*}|${b%% kube*}"

# ---- --dry-run ------------------------------------------------------------------------------------
seed
run_install -c "$TMP/install.ini" --dry-run
eq "--dry-run exits 0" 0 "$RC"
eq "--dry-run sends no request at all" "" "$(requests)"
printf '%s\n' "$OUT" >"$TMP/dry.yaml"
DRY=$("$PY" - "$TMP/dry.yaml" <<'PY' 2>&1
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
print(",".join(d["kind"] for d in docs))
PY
)
eq "--dry-run prints YAML documents of every kind, in apply order" \
    "Namespace,ConfigMap,Secret,Role,RoleBinding,OperatorConfiguration,postgresql,PodMonitor,PrometheusRule" \
    "$DRY"
CHECKS=$("$PY" - "$TMP/dry.yaml" <<'PY' 2>&1
import sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
def load(p):
    return yaml.safe_load(open(p))
out = []
cm = docs["ConfigMap"]["data"]
out.append("cm=%s" % (cm == {"USE_WALG_BACKUP": "true", "USE_WALG_RESTORE": "true",
    "BACKUP_SCHEDULE": "30 2 * * *", "BACKUP_NUM_TO_RETAIN": "7",
    "WAL_S3_BUCKET": "acme-harbor-pg-backups", "WAL_BUCKET_SCOPE_PREFIX": "",
    "WAL_BUCKET_SCOPE_SUFFIX": "", "AWS_REGION": "eu-central-1", "WALG_DISABLE_S3_SSE": "false"}))
sec = docs["Secret"]
out.append("secret=%s" % (set(sec["data"].values()) == {"***"} and
                           sorted(sec["data"]) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]))
want = load("deploy/operator/operatorconfiguration-sidecar.yaml")["configuration"]["sidecars"][0]
got = docs["OperatorConfiguration"]["configuration"]["sidecars"][0]
out.append("sidecar=%s" % (got == want))
conf = docs["OperatorConfiguration"]["configuration"]
out.append("opconf=%s %s %s %s" % (conf["docker_image"], conf["kubernetes"]["pod_environment_configmap"],
           conf["kubernetes"]["pod_environment_secret"], conf["kubernetes"]["secret_name_template"]))
rbac = [d for d in yaml.safe_load_all(open("deploy/rbac.yaml")) if d]
out.append("role=%s" % (docs["Role"]["rules"] == [d for d in rbac if d["kind"] == "Role"][0]["rules"]))
out.append("binding=%s" % (docs["RoleBinding"]["roleRef"] == [d for d in rbac if d["kind"] == "RoleBinding"][0]["roleRef"]))
out.append("pg_hba=%s" % (docs["postgresql"]["spec"] == load("deploy/pg_hba/postgresql-pg_hba.yaml")["spec"]))
# the same PodMonitor as deploy/, but scraping only the cluster's namespace (several installs
# never scrape a pod twice), with kube-prometheus-stack's release label
pm = dict(docs["PodMonitor"]["spec"]); sel = pm.pop("namespaceSelector")
want_pm = dict(load("deploy/monitoring/podmonitor.yaml")["spec"]); want_pm.pop("namespaceSelector")
out.append("podmonitor=%s" % (pm == want_pm and sel == {"matchNames": [docs["ConfigMap"]["metadata"]["namespace"]]}
                              and docs["PodMonitor"]["metadata"]["labels"].get("release") == "kube-prometheus-stack"))
out.append("rules=%s" % (docs["PrometheusRule"]["spec"] == load("deploy/monitoring/prometheusrule.yaml")["spec"]
                         and docs["PrometheusRule"]["metadata"]["labels"].get("release") == "kube-prometheus-stack"))
print(" ".join(out))
PY
)
eq "--dry-run objects carry deploy/'s content (pod-config values, sidecar, RBAC, pg_hba, monitoring)" \
    "cm=True secret=True sidecar=True opconf=ghcr.io/zalando/spilo-16:3.2-p3 harbor/pod-config pod-credentials {username}.{cluster}.credentials role=True binding=True pg_hba=True podmonitor=True rules=True" \
    "$CHECKS"
contains "--dry-run says what a real run does with the operator pod" "$OUT" \
    "labels app.kubernetes.io/name=postgres-operator"
if command -v yamllint >/dev/null; then
    YL=$(yamllint -d relaxed -f parsable "$TMP/dry.yaml" 2>&1 | grep -v '\[warning\]')
    eq "yamllint -d relaxed finds no error in the --dry-run output" "" "$YL"
else
    ok "yamllint is not installed (Debian package yamllint); skipped"
fi
not_contains "--dry-run never prints the secret key" "$OUT" "$SECRET_KEY"
not_contains "... nor its base64" "$OUT" "$SECRET_B64"
run_install -c "$TMP/install.ini" --set kubernetes.api= --dry-run
eq "--dry-run needs no API server at all" 0 "$RC"

# ---- a full install -------------------------------------------------------------------------------
seed
run_install -c "$TMP/install.ini"
eq "a full install exits 0" 0 "$RC"
eq "one line per resource: created, the operator's objects configured, then the restart" \
    "Namespace $NS: created
ConfigMap $NS/pod-config: created
Secret $NS/pod-credentials: created
Role $NS/spilo-agent: created
RoleBinding $NS/spilo-agent: created
OperatorConfiguration $OPNS/$OPCONF: configured
postgresql $NS/$CLUSTER: configured
PodMonitor $NS/spilo-agent: created
PrometheusRule $NS/spilo-agent: created
Pod $OPNS/harbor-operator-postgres-operator-6f7c9-x2x4q: deleted
Pod $OPNS/harbor-operator-postgres-operator-6f7c9-REPLACED: ready" \
    "$(lines | sed -E 's/(postgres-operator-6f7c9-)[a-z0-9]{5}: ready/\1REPLACED: ready/')"
contains "a summary on stderr" "$ERR" "7 created, 2 configured, 0 unchanged, 0 skipped, 0 failed"
# The pods' ServiceAccount is the operator's: it creates it from pod_service_account_definition
# only when it is missing (createPodServiceAccount, pkg/controller/postgresql.go:593-614 at
# a7aaad0a), so the installer must not create it first; the RoleBinding names it.
eq "no request for the pods' ServiceAccount" "" \
    "$(jq -r 'select(.path | contains("/serviceaccounts")) | .path' "$LOG")"
eq "... the RoleBinding binds it" "ServiceAccount postgres-pod $NS" \
    "$(obj RoleBinding spilo-agent | jq -r '.subjects[0] | "\(.kind) \(.name) \(.namespace)"')"
eq "every write is a PATCH with apply-patch+yaml, fieldManager=spilo-agent and force" \
    "PATCH application/apply-patch+yaml fieldManager=spilo-agent&force=true" \
    "$(jq -r 'select(.method != "GET" and .method != "DELETE") | "\(.method) \(.content_type) \(.query)"' "$LOG" | sort -u)"
eq "... at the real paths of each kind" \
    "/api/v1/namespaces/$NS
/api/v1/namespaces/$NS/configmaps/pod-config
/api/v1/namespaces/$NS/secrets/pod-credentials
/apis/rbac.authorization.k8s.io/v1/namespaces/$NS/roles/spilo-agent
/apis/rbac.authorization.k8s.io/v1/namespaces/$NS/rolebindings/spilo-agent
/apis/acid.zalan.do/v1/namespaces/$OPNS/operatorconfigurations/$OPCONF
/apis/acid.zalan.do/v1/namespaces/$NS/postgresqls/$CLUSTER
/apis/monitoring.coreos.com/v1/namespaces/$NS/podmonitors/spilo-agent
/apis/monitoring.coreos.com/v1/namespaces/$NS/prometheusrules/spilo-agent" \
    "$(jq -r 'select(.method == "PATCH") | .path' "$LOG")"
eq "the operator pod was deleted, once" "DELETE /api/v1/namespaces/$OPNS/pods/harbor-operator-postgres-operator-6f7c9-x2x4q 200" \
    "$(jq -r 'select(.method == "DELETE") | "\(.method) \(.path) \(.status)"' "$LOG")"
eq "every request carried the token" "ok" "$(jq -r .auth "$LOG" | sort -u)"
eq "the ConfigMap holds the WAL-G settings" "30 2 * * * 7 acme-harbor-pg-backups eu-central-1 spilo-agent" \
    "$(obj ConfigMap pod-config | jq -r '"\(.data.BACKUP_SCHEDULE) \(.data.BACKUP_NUM_TO_RETAIN) \(.data.WAL_S3_BUCKET) \(.data.AWS_REGION) \(.metadata.labels["app.kubernetes.io/part-of"])"')"
eq "the Secret holds the keys from the files (base64)" "$ACCESS_KEY $SECRET_KEY" \
    "$(obj Secret pod-credentials | jq -r '"\(.data.AWS_ACCESS_KEY_ID | @base64d) \(.data.AWS_SECRET_ACCESS_KEY | @base64d)"')"
eq "the OperatorConfiguration keeps its other settings and gets image, pod environment and sidecar" \
    "8 cluster-name ghcr.io/zalando/spilo-16:3.2-p3 $NS/pod-config pod-credentials spilo-agent registry.example.com/spilo-agent:0.2.0" \
    "$(obj OperatorConfiguration "$OPCONF" | jq -r '.configuration | "\(.workers) \(.kubernetes.cluster_name_label) \(.docker_image) \(.kubernetes.pod_environment_configmap) \(.kubernetes.pod_environment_secret) \(.sidecars[0].name) \(.sidecars[0].image)"')"
eq "the postgresql resource has the 9-line pg_hba and keeps its spec" \
    "9 local replication standby trust 2 postgresql-harbor" \
    "$(obj postgresql "$CLUSTER" | jq -r '.spec | "\(.patroni.pg_hba | length) \(.patroni.pg_hba[5]) \(.numberOfInstances) \(.teamId)"')"
eq "the old operator pod is gone, a new one runs, the other pod is untouched" "harbor-core-7d9-abcde true" \
    "$(jq -r '[.[] | select(.kind == "Pod") | .metadata.name] | sort | .[0]' "$STORE") $(jq -r '[.[] | select(.kind == "Pod" and (.metadata.name | test("^harbor-operator-postgres-operator-6f7c9-[a-z0-9]{5}$")) and .metadata.name != "harbor-operator-postgres-operator-6f7c9-x2x4q")] | length == 1' "$STORE")"

# ---- a second run: nothing to do ------------------------------------------------------------------
: >"$LOG"
run_install -c "$TMP/install.ini"
eq "a second run exits 0" 0 "$RC"
eq "... every resource unchanged" "unchanged" "$(lines | sed -E 's/.*: //' | sort -u)"
eq "... nine lines, no restart" 9 "$(lines | wc -l | tr -d ' ')"
eq "... no DELETE" "" "$(jq -r 'select(.method == "DELETE") | .path' "$LOG")"
eq "... the resourceVersions did not move" "0" \
    "$(jq -r 'select(.method == "PATCH" and .status != 200) | .path' "$LOG" | wc -l | tr -d ' ')"

# ---- a 403 on one resource -----------------------------------------------------------------------
seed
ctl '{"forbid":["patch roles"]}'
run_install -c "$TMP/install.ini"
eq "a forbidden Role fails the run (exit 1)" 1 "$RC"
eq "... its line says failed" "failed" "$(status_of "Role $NS/spilo-agent")"
contains "... naming the RBAC rule to add" "$OUT" \
    'Role rule: apiGroups ["rbac.authorization.k8s.io"], resources ["roles"], verbs ["patch"], resourceNames ["spilo-agent"]'
contains "... and who may not" "$OUT" "system:serviceaccount:$OPNS:installer may not patch roles"
eq "... the other resources were still applied" "created created configured" \
    "$(status_of "RoleBinding $NS/spilo-agent") $(status_of "PrometheusRule $NS/spilo-agent") $(status_of "OperatorConfiguration $OPNS/$OPCONF")"
contains "... and counted" "$ERR" "1 failed"
ctl '{}'

# ---- no Prometheus Operator, no OperatorConfiguration, the new pod never Ready ---------------------
seed
ctl '{"missing_groups":["monitoring.coreos.com"]}'
run_install -c "$TMP/install.ini"
eq "without the monitoring CRDs the run still succeeds (exit 0)" 0 "$RC"
contains "... the PrometheusRule is skipped as the CRD is missing" "$OUT" \
    "PrometheusRule $NS/spilo-agent: skipped: CRD monitoring.coreos.com not installed"
eq "... so is the PodMonitor" "skipped" "$(status_of "PodMonitor $NS/spilo-agent")"
ctl '{}'
seed
curl -s --cacert "$K/ca.crt" -X POST --data-binary '[]' "$API/_fake/reset" >/dev/null
: >"$LOG"
run_install -c "$TMP/install.ini"
eq "a missing OperatorConfiguration fails (exit 1)" 1 "$RC"
contains "... saying which key names it" "$OUT" "set [install] operator_configuration"
eq "... it was not created (no partial operator configuration)" "" "$(obj OperatorConfiguration "$OPCONF")"
eq "... and a cluster that does not exist yet gets no pg_hba (skipped, not created)" "skipped " \
    "$(status_of "postgresql $NS/$CLUSTER") $(obj postgresql "$CLUSTER")"
seed
ctl '{"pod_never_ready":true}'
run_install -c "$TMP/install.ini" --set install.restart_timeout=2s
eq "an operator pod that never gets Ready fails the run (exit 1)" 1 "$RC"
contains "... after the restart timeout" "$OUT" "failed: no new operator pod was Ready within 2s"
ctl '{}'

# ---- restore mode -----------------------------------------------------------------------------------
cat "$TMP/install.ini" >"$TMP/restore.ini"
sed -i "s/^cluster = .*/cluster = postgresql-harbor-restored/" "$TMP/restore.ini"
seed
run_install -c "$TMP/restore.ini" --mode restore --set install.clone_cluster="$CLUSTER" \
    --set install.clone_endpoint=https+path://minio.example:9000
eq "a WAL-E https+path:// clone_endpoint is a configuration error at load (78)" 78 "$RC"
contains "... saying why and the fix" "$ERR" "set clone_endpoint = https://minio.example:9000"
eq "... without a single request" "" "$(requests)"
run_install -c "$TMP/restore.ini" --mode restore --set install.clone_cluster="$CLUSTER" \
    --set install.clone_endpoint=https+path://minio.example:9000 --dry-run
eq "... in a dry run too" 78 "$RC"

if s3rver_ensure && s3_start "$TMP/s3rver"; then
    ok "s3rver listens on $S3RVER_URL"
    awss3 s3 mb s3://acme-harbor-pg-backups >/dev/null 2>&1
    check "the healthy-3-backups fixture is uploaded" s3_seed_tree acme-harbor-pg-backups \
        "$FIXTURES/s3/healthy-3-backups/acme-harbor-pg-backups"
    # s3rver knows one account; the source check signs with the same key files the Secret gets
    printf 'S3RVER\n' >"$K/s3rver-key"
    RESTORE=(-c "$TMP/restore.ini" --mode restore --set "install.clone_endpoint=$S3RVER_URL"
        --set "install.access_key_file=$K/s3rver-key" --set "install.secret_key_file=$K/s3rver-key"
        --set install.region=us-east-1 --set "install.clone_cluster=$CLUSTER")
    seed
    run_install "${RESTORE[@]}" --set install.clone_uid=0a1b2c3d
    eq "restore refuses an empty source prefix (exit 1)" 1 "$RC"
    contains "... naming the prefixes it looked at" "$ERR" \
        "no *_backup_stop_sentinel.json under s3://acme-harbor-pg-backups/spilo/$CLUSTER/0a1b2c3d/wal/{17,16,15,14,13,12,11,10,9.6}/basebackups_005/ and s3://acme-harbor-pg-backups/spilo/$CLUSTER/0a1b2c3d/wal/basebackups_005/,"
    contains "... and where Spilo writes with the bucket in the pod environment" "$ERR" \
        "nor under s3://acme-harbor-pg-backups/spilo/$NS-$CLUSTER/wal/{17,"
    eq "... and applying nothing" "" "$(requests)"

    SRC_SECRETS=$(jq -n --arg ns "$NS" --arg cl "$CLUSTER" --arg pw "$(printf '%s' "$SRC_PASSWORD" | base64 -w0)" '
        [("postgres", "standby", "harbor") as $u | {apiVersion:"v1",kind:"Secret",
          metadata:{name:"\($u).\($cl).credentials",namespace:$ns,
            labels:{application:"spilo","cluster-name":$cl,team:"postgresql-harbor"},
            annotations:{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":\"leak\"}",
              "note":"kept"},
            ownerReferences:[{apiVersion:"acid.zalan.do/v1",kind:"postgresql",name:$cl,uid:"0a1b"}],
            managedFields:[{manager:"postgres-operator",operation:"Update"}]},
          type:"Opaque",data:{username:($u | @base64),password:$pw}}]')
    # The CLONE_TARGET_TIME pre-flight, by Spilo's rules: clone_with_wale.py's choose_backup
    # (bootstrap/clone_with_wale.py:67-79 at 4.0-p3) picks the newest backup whose backup-list
    # "modified" time - the sentinel's S3 LastModified - is before the target, and goes on to the
    # next prefix when it finds none (find_backup, :142-159); the backup's end is its sentinel's
    # FinishTime (wal-g internal/databases/postgres/backup_sentinel_dto.go:154 at v3.0.5). s3rver's
    # LastModified is the upload time: the fixture's backups finished in March 2025, but their
    # sentinels were written today, as in a copied bucket.
    SRC_ROOT=spilo/$CLUSTER/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15
    SRC15=$FIXTURES/s3/healthy-3-backups/acme-harbor-pg-backups/$SRC_ROOT
    seed "$SRC_SECRETS"
    run_install "${RESTORE[@]}" --set install.clone_uid=/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40 \
        --set install.clone_target_time=2025-03-10T00:00:00+00:00
    eq "pre-flight: a target before every sentinel's LastModified is refused (exit 1)" 1 "$RC"
    contains "... naming the oldest backup, its finish time and the copy" "$ERR" \
        "CLONE_TARGET_TIME 2025-03-10T00:00:00Z is before every base backup in the source that Spilo can pick: clone_with_wale.py takes the newest backup whose sentinel was written (S3 LastModified) before the target, and the oldest, base_000000010000000000000003, was written at"
    contains "... where it looked" "$ERR" "refused: s3://acme-harbor-pg-backups/$SRC_ROOT/basebackups_005/: CLONE_TARGET_TIME"
    contains "... with the fix" "$ERR" \
        "set clone_target_time (CLONE_TARGET_TIME) after "
    contains "... and that nothing was applied" "$ERR" "or omit it to restore to the latest WAL; nothing was applied"
    eq "... without a Kubernetes request" "" "$(requests)"

    # WAL archived after the target: reachable. A gap before it: refused, naming the latest time.
    awss3 s3 cp --recursive --quiet "$SRC15" "s3://acme-harbor-pg-backups/spilo/$CLUSTER/gap0/wal/15/"
    awss3 s3 rm --quiet "s3://acme-harbor-pg-backups/spilo/$CLUSTER/gap0/wal/15/wal_005/00000001000000000000003E.lz4"
    TARGET=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%S+00:00); sleep 2
    for r in "$SRC_ROOT" "spilo/$CLUSTER/gap0/wal/15"; do
        awss3 s3 cp --quiet "$SRC15/wal_005/000000010000000000000041.lz4" \
            "s3://acme-harbor-pg-backups/$r/wal_005/000000010000000000000042.lz4"
    done
    seed "$SRC_SECRETS"
    run_install "${RESTORE[@]}" --set install.clone_uid=gap0 --set "install.clone_target_time=$TARGET"
    eq "pre-flight: a target beyond a WAL gap is refused (exit 1)" 1 "$RC"
    contains "... naming the missing segment and the latest reachable time" "$ERR" \
        "is not reachable: the source's WAL breaks off after backup base_00000001000000000000003A (the one Spilo picks), segment 00000001000000000000003E is missing; the latest reachable time is"
    contains "... and the fix" "$ERR" "set clone_target_time (CLONE_TARGET_TIME) to that time or earlier, or omit it to restore to the latest WAL; nothing was applied"
    eq "... without a Kubernetes request" "" "$(requests)"

    seed "$SRC_SECRETS"
    run_install "${RESTORE[@]}" --set install.clone_uid=/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40 \
        --set "install.clone_target_time=$TARGET"
    eq "a restore from a source with base backups exits 0" 0 "$RC"
    contains "... the pre-flight says from which backup and finish time" "$OUT" \
        ": reachable: Spilo restores base_00000001000000000000003A from s3://acme-harbor-pg-backups/$SRC_ROOT/basebackups_005/ (finished 2025-03-10T01:00:34Z, sentinel FinishTime) and replays WAL unbroken to"
    contains "... reporting the backups found" "$OUT" \
        "found 3 base backups, newest base_00000001000000000000003A in s3://acme-harbor-pg-backups/spilo/$CLUSTER/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15/basebackups_005/"
    for u in postgres standby harbor; do
        contains "... the source's $u Secret was saved" "$OUT" "Secret $NS/$u.$CLUSTER.credentials: saved"
        eq "... and created for the new cluster" "created" \
            "$(status_of "Secret $NS/$u.postgresql-harbor-restored.credentials")"
    done
    eq "the copies carry the source's data" "$SRC_PASSWORD standby" \
        "$(obj Secret standby.postgresql-harbor-restored.credentials | jq -r '"\(.data.password | @base64d) \(.data.username | @base64d)"')"
    eq "... and were sent with name, namespace, labels and annotations only" "annotations,labels,name,namespace" \
        "$(jq -r 'select(.method == "PATCH" and (.path | contains("restored.credentials"))) | .body.metadata | keys | join(",")' "$LOG" | sort -u)"
    eq "... without kubectl's last-applied copy, with where they came from, the new cluster label" \
        "null kept $NS/standby.$CLUSTER.credentials postgresql-harbor-restored" \
        "$(obj Secret standby.postgresql-harbor-restored.credentials | jq -r '.metadata | "\(.annotations["kubectl.kubernetes.io/last-applied-configuration"]) \(.annotations.note) \(.annotations["spilo-agent/restored-from"]) \(.labels["cluster-name"])"')"
    eq "... no ownerReferences or managedFields in the copy" "null null" \
        "$(obj Secret standby.postgresql-harbor-restored.credentials | jq -c '.metadata | "\(.ownerReferences) \(.managedFields)"' | tr -d '"')"
    eq "pod-config holds the CLONE_* settings" \
        "$CLUSTER CLONE_WITH_WALE $TARGET acme-harbor-pg-backups /5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40  us-east-1 $S3RVER_URL" \
        "$(obj ConfigMap pod-config | jq -r '.data | "\(.CLONE_SCOPE) \(.CLONE_METHOD) \(.CLONE_TARGET_TIME) \(.CLONE_WAL_S3_BUCKET) \(.CLONE_WAL_BUCKET_SCOPE_SUFFIX) \(.CLONE_WAL_BUCKET_SCOPE_PREFIX) \(.CLONE_AWS_REGION) \(.CLONE_AWS_ENDPOINT)"')"
    eq "... and the Secret the clone's keys" "S3RVER" \
        "$(obj Secret pod-credentials | jq -r '.data.CLONE_AWS_ACCESS_KEY_ID | @base64d')"
    not_contains "the source's password is never printed" "$OUT$ERR" "$SRC_PASSWORD"
    run_install "${RESTORE[@]}" --set install.clone_uid=5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40 \
        --set install.clone_target_time=2025-03-10T00:00:00+00:00 --dry-run
    eq "a restore --dry-run exits 0" 0 "$RC"
    contains "... and says that the pre-flight would run" "$OUT" \
        "# With clone_target_time 2025-03-10T00:00:00+00:00 it also checks that the clone can reach it"
    eq "... and prints the copies with *** data and the CLONE_* keys" "*** 3 /5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40" \
        "$("$PY" -c '
import sys, yaml
d = [x for x in yaml.safe_load_all(sys.stdin) if x]
s = [x for x in d if x["kind"] == "Secret" and "restored" in x["metadata"]["name"]]
cm = [x for x in d if x["kind"] == "ConfigMap"][0]
print(s[0]["data"]["password"], len(s), cm["data"]["CLONE_WAL_BUCKET_SCOPE_SUFFIX"])' <<<"$OUT" 2>&1)"

    # The runbook's source: WAL_S3_BUCKET in the pod environment, namespace harbor, so Spilo wrote
    # spilo/harbor-<cluster>/wal/<major> without a uid (configure_spilo.py:568-570, :964 4.0-p3).
    awss3 s3 cp --recursive --quiet \
        "$FIXTURES/s3/healthy-3-backups/acme-harbor-pg-backups/spilo/$CLUSTER/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15" \
        "s3://acme-harbor-pg-backups/spilo/$NS-$CLUSTER/wal/15/"
    seed "$SRC_SECRETS"
    run_install "${RESTORE[@]}" --set install.clone_uid=0a1b2c3d
    eq "a source under spilo/<namespace>-<cluster>/ is found: exit 0" 0 "$RC"
    contains "... saying which settings reach it" "$OUT" \
        "CLONE_WAL_BUCKET_SCOPE_PREFIX=$NS- and an empty CLONE_WAL_BUCKET_SCOPE_SUFFIX"
    eq "... and pod-config has them" "$NS-|" \
        "$(obj ConfigMap pod-config | jq -r '.data | "\(.CLONE_WAL_BUCKET_SCOPE_PREFIX)|\(.CLONE_WAL_BUCKET_SCOPE_SUFFIX)"')"

    # A restore in place (same name, deploy/pod-config.yaml's empty scope prefix and suffix): the
    # restored cluster gets its own WAL_BUCKET_SCOPE_SUFFIX, so it does not write into the
    # source's spilo/<cluster>/wal/<major>.
    awss3 s3 cp --recursive --quiet \
        "$FIXTURES/s3/healthy-3-backups/acme-harbor-pg-backups/spilo/$CLUSTER/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15" \
        "s3://acme-harbor-pg-backups/spilo/$CLUSTER/wal/15/"
    seed "$SRC_SECRETS"
    run_install "${RESTORE[@]}" --set "install.cluster=$CLUSTER"
    contains "in place: the restored cluster writes elsewhere" "$OUT" "restore in place: the restored cluster writes to"
    contains "... pod-config has its own suffix" \
        "$(obj ConfigMap pod-config | jq -r '.data.WAL_BUCKET_SCOPE_SUFFIX')" "/restored-"
else
    nok "s3rver starts (npm install s3rver@3)"
fi

# ---- secrets ----------------------------------------------------------------------------------------
not_contains "the secret key never appears in any output" "$(cat "$ALL_OUT")" "$SECRET_KEY"
not_contains "... nor its base64" "$(cat "$ALL_OUT")" "$SECRET_B64"
not_contains "the API token never appears in any output" "$(cat "$ALL_OUT")" "$TOKEN"

finish

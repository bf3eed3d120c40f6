#!/usr/bin/env bash
# deploy/: the alert rules (promtool check + unit tests), yamllint on every YAML file, the kustomize
# builds (base, monitoring, the example overlay of tests/deploy/overlay/) and what they contain
# (tests/deploy/check_manifests.py). Tools: promtool (Debian `prometheus`), yamllint, kubectl
# (Debian `kubernetes-client`, or any kubectl with `kustomize`; KUBECTL=... picks another one) and
# /usr/bin/python3 with python3-yaml; AGENT (the built agent) for the derivation checks.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib/common.sh

KUBECTL=${KUBECTL:-kubectl}
PY=/usr/bin/python3     # Debian's interpreter: python3-yaml is installed for it, not for pyenv's

need() { # need TOOL DEBIAN-PACKAGE: a missing tool is a failure that says how to get it
    if command -v "$1" >/dev/null 2>&1; then return 0; fi
    nok "$1 is not installed: run 'make deps' (Debian package $2)"
    return 1
}

have_promtool=0 have_yamllint=0 have_kubectl=0 have_py=0
need promtool prometheus && have_promtool=1
need yamllint yamllint && have_yamllint=1
need "$KUBECTL" kubernetes-client && have_kubectl=1
if [ -x "$PY" ] && "$PY" -c 'import yaml' 2>/dev/null; then have_py=1; else
    nok "$PY with the yaml module is missing: run 'make deps' (Debian packages python3, python3-yaml)"
fi

# ---- alert rules ---------------------------------------------------------------------------
if [ "$have_promtool" = 1 ]; then
    out=$(promtool check rules deploy/monitoring/spilo-agent.rules.yml 2>&1)
    if grep -q SUCCESS <<<"$out"; then ok "promtool check rules deploy/monitoring/spilo-agent.rules.yml"
    else nok "promtool check rules deploy/monitoring/spilo-agent.rules.yml"; printf '%s\n' "$out"; fi
    out=$(promtool test rules tests/deploy/alerts_test.yml 2>&1); rc=$?
    if [ "$rc" -eq 0 ]; then ok "promtool test rules tests/deploy/alerts_test.yml (every alert firing and not)"
    else nok "promtool test rules tests/deploy/alerts_test.yml"; printf '%s\n' "$out" | head -60; fi
    # the verdict catalogue: every critical cause marked in the sources and firing its alert
    if [ "$have_py" = 1 ]; then
        out=$("$PY" tests/deploy/check_causes.py 2>&1); rc=$?
        if [ "$rc" -eq 0 ]; then ok "tests/deploy/check_causes.py: every critical cause has an alert that fires after its for and resolves ($(grep -c '^ok' <<<"$out") checks)"
        else nok "tests/deploy/check_causes.py"; grep -v '^ok' <<<"$out" | head -60; fi
    fi
    # the PrometheusRule's groups as a rules file must pass promtool too (same content, other wrapper)
    if [ "$have_py" = 1 ]; then
        "$PY" -c 'import sys, yaml
d = yaml.safe_load(open("deploy/monitoring/prometheusrule.yaml"))
yaml.safe_dump({"groups": d["spec"]["groups"]}, open(sys.argv[1], "w"))' "$TMP/from-prometheusrule.yml"
        out=$(promtool check rules "$TMP/from-prometheusrule.yml" 2>&1)
        if grep -q SUCCESS <<<"$out"; then ok "promtool check rules on the PrometheusRule's spec.groups"
        else nok "promtool check rules on the PrometheusRule's spec.groups"; printf '%s\n' "$out"; fi
    fi
fi

# ---- yamllint ------------------------------------------------------------------------------
if [ "$have_yamllint" = 1 ]; then
    n=$(find deploy -name '*.yaml' -o -name '*.yml' | wc -l)
    out=$(yamllint -f parsable -c tests/deploy/yamllint.yml deploy/ 2>&1); rc=$?
    if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "yamllint: all $n YAML files under deploy/ are clean"
    else nok "yamllint deploy/ (config tests/deploy/yamllint.yml)"; printf '%s\n' "$out" | head -40; fi
    out=$(yamllint -f parsable -d '{extends: default, rules: {line-length: disable, document-start: disable}}' \
        tests/deploy/alerts_test.yml tests/deploy/overlay 2>&1); rc=$?
    if [ "$rc" -eq 0 ]; then ok "yamllint: tests/deploy YAML parses cleanly"
    else nok "yamllint tests/deploy"; printf '%s\n' "$out" | head -20; fi
fi

# ---- kustomize builds and their content ----------------------------------------------------
build() { # build DIR OUT: kubectl kustomize DIR > OUT
    local err
    if err=$("$KUBECTL" kustomize "$1" 2>&1 >"$2"); then ok "kubectl kustomize $1"; return 0; fi
    nok "kubectl kustomize $1: $(grep -v '^# Warning' <<<"$err" | head -5)"
    return 1
}
if [ "$have_kubectl" = 1 ]; then
    b1=0 b2=0 b3=0
    build deploy/ "$TMP/base.yaml" && b1=1
    build deploy/monitoring/ "$TMP/monitoring.yaml" && b2=1
    build tests/deploy/overlay/ "$TMP/overlay.yaml" && b3=1
    warn=$("$KUBECTL" kustomize deploy/ 2>&1 >/dev/null)
    eq "the base builds without deprecation warnings" "" "$warn"
    if [ "$have_py" = 1 ] && [ "$b1$b2$b3" = 111 ]; then
        "$PY" tests/deploy/check_manifests.py . "$TMP/base.yaml" "$TMP/monitoring.yaml" \
            "$TMP/overlay.yaml" >"$TMP/checks.out" 2>"$TMP/checks.err"; rc=$?
        while IFS=$'\t' read -r status what; do
            case $status in PASS) ok "$what" ;; FAIL) nok "$what" ;; esac
        done <"$TMP/checks.out"
        [ "$rc" -eq 0 ] || nok "tests/deploy/check_manifests.py crashed: $(tail -1 "$TMP/checks.err")"
        # the Grafana dashboard: queries parse, use exported metrics only, the ConfigMap carries it
        "$PY" tests/deploy/dashboard_check.py . "$TMP/monitoring.yaml" >"$TMP/dash.out" 2>"$TMP/dash.err"; rc=$?
        while IFS=$'\t' read -r status what; do
            case $status in PASS) ok "$what" ;; FAIL) nok "$what" ;; esac
        done <"$TMP/dash.out"
        [ "$rc" -eq 0 ] || grep -q FAIL "$TMP/dash.out" || nok "tests/deploy/dashboard_check.py crashed: $(tail -1 "$TMP/dash.err")"
    fi
fi

# ---- the agent with exactly these settings ------------------------------------------------
# The sidecar sees pod-config and the Secret through envFrom, SCOPE from the pod label and the
# operator's POD_NAME/POD_NAMESPACE; PGVERSION stands in for PGDATA/PG_VERSION on the volume.
# It must derive the same prefix Spilo writes to, and judge the restore settings.
env_of() { # env_of FILE...: KEY=VALUE lines of the data of ConfigMap/Secret manifests
    "$PY" -c 'import sys, yaml
for p in sys.argv[1:]:
    d = yaml.safe_load(open(p))
    for k, v in sorted((d.get("data") or d.get("stringData") or {}).items()):
        print(f"{k}={v}")' "$@"
}
walg_env() { # walg_env KEY=VALUE...: prints "status<TAB>prefix<TAB>clone status<TAB>clone prefix<TAB>summary"
    env -i PATH=/usr/bin:/bin "$@" "$AGENT" check --only walg_env --json --set "walg.envdir=$TMP/no-envdir" \
        --set "walg.clone_envdir=$TMP/no-envdir-clone-*" 2>/dev/null | "$PY" -c 'import json, sys
c = json.load(sys.stdin)["checks"]["walg_env"]
cl = (c["details"].get("clones") or [{}])[0]
print("\t".join(str(x) for x in (c["status"], c["details"].get("prefix"), cl.get("status"), cl.get("prefix"), c["summary"])))'
}
if [ -z "${AGENT:-}" ] || [ ! -x "${AGENT:-}" ]; then
    nok "AGENT is not set to the built agent: run 'make' and AGENT=build/spilo-agent bash $0"
elif [ "$have_py" = 1 ]; then
    mapfile -t podenv < <(env_of deploy/pod-config.yaml deploy/credentials-secret.example.yaml)
    bucket=$(printf '%s\n' "${podenv[@]}" | sed -n 's/^WAL_S3_BUCKET=//p')
    pod=(SCOPE=postgresql-harbor-harborcluster POD_NAME=postgresql-harbor-harborcluster-0 POD_NAMESPACE=harbor
         PGVERSION=15 POSTGRES_USER=postgres)
    IFS=$'\t' read -r st prefix _ _ summary < <(walg_env "${podenv[@]}" "${pod[@]}")
    eq "agent with pod-config + Secret: walg_env ok ($summary)" ok "$st"
    eq "agent derives Spilo's prefix, without a namespace prefix or uid suffix" \
        "s3://$bucket/spilo/postgresql-harbor-harborcluster/wal/15" "$prefix"

    mapfile -t restore < <(env_of deploy/restore/pod-config-restore.yaml)
    creds=(CLONE_AWS_ACCESS_KEY_ID=FAKE-CLONE-KEY CLONE_AWS_SECRET_ACCESS_KEY=fake-clone-secret)
    IFS=$'\t' read -r st oprefix cst cprefix summary < <(walg_env "${podenv[@]}" "${restore[@]}" "${creds[@]}" "${pod[@]}")
    eq "agent with the restore settings: walg_env ok ($summary)" ok "$st"
    eq "the restored cluster writes under its own suffix, not into the source's keys" \
        "s3://$bucket/spilo/postgresql-harbor-harborcluster/restored-20300101/wal/15" "$oprefix"
    eq "agent: the clone settings work" ok "$cst"
    eq "agent derives the clone prefix as Spilo does (.../wal/, majors probed by clone_with_wale.py)" \
        "s3://$bucket/spilo/postgresql-harbor-harborcluster/wal/" "$cprefix"
    IFS=$'\t' read -r st _ cst _ summary < <(walg_env "${podenv[@]}" "${restore[@]}" "${creds[@]}" "${pod[@]}" \
        CLONE_AWS_ENDPOINT=https+path://minio.example.internal:9000)
    eq "agent: a WAL-E style CLONE_AWS_ENDPOINT is critical" critical "$st"
    contains "agent: ... and the summary names CLONE_AWS_ENDPOINT" "$summary" "CLONE_AWS_ENDPOINT"
fi

# ---- docs and hygiene ----------------------------------------------------------------------
check "docs/alerts.md exists" test -s docs/alerts.md
check "docs/install.md exists" test -s docs/install.md
if [ -s docs/install.md ]; then
    doc=$(cat docs/install.md)
    contains "install.md: the pg_hba failure with PostgreSQL's message" "$doc" \
        'no pg_hba.conf entry for host "[local]", user "postgres"'
    contains "install.md: the CLONE_WAL_BUCKET_SCOPE_SUFFIX trap" "$doc" "CLONE_WAL_BUCKET_SCOPE_SUFFIX"
    contains "install.md: the CLONE_AWS_ENDPOINT trap" "$doc" "https+path://"
    contains "install.md: the old /wal/ path of outdated Spilo images" "$doc" "/wal/"
    contains "install.md: spilo-agent install" "$doc" "spilo-agent install"
fi
leaks=$(grep -rlE '/(work|root)/' deploy container docs/install.md docs/alerts.md tests/deploy 2>/dev/null)
eq "no absolute paths of a build machine in deploy/, container/, docs, tests/deploy" "" "$leaks"

finish

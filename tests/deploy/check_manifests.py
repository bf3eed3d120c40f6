#!/usr/bin/python3
"""Checks the deploy/ manifests for tests/integration/test_deploy.sh.

Usage: check_manifests.py REPO BASE.yaml MONITORING.yaml OVERLAY.yaml
REPO is the repository root; the other three are the outputs of `kubectl kustomize` for deploy/,
deploy/monitoring/ and tests/deploy/overlay/. Prints one line per assertion, "PASS<TAB>what" or
"FAIL<TAB>what (detail)"; the shell test counts them. Needs python3-yaml (Debian), so run it with
/usr/bin/python3, not a pyenv interpreter.
"""
import os
import re
import sys

import yaml

REPO, BASE, MONITORING, OVERLAY = sys.argv[1:5]
results = []


def check(what, cond, detail=""):
    results.append(("PASS" if cond else "FAIL", what if cond or not detail else f"{what} ({detail})"))
    return cond


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def load(rel):
    with open(os.path.join(REPO, rel)) as f:
        return yaml.safe_load(f)


def by_kind(docs):
    out = {}
    for d in docs:
        out.setdefault(d.get("kind"), []).append(d)
    return out


# ---- the base: RBAC and pod-config -----------------------------------------------------------
base = by_kind(load_all(BASE))
check("base builds Role, RoleBinding, ConfigMap and nothing else",
      sorted(base) == ["ConfigMap", "Role", "RoleBinding"], sorted(base))
check("base has no Secret (fake keys must never be applied)", "Secret" not in base)
check("base resources carry no namespace (applied with -n)",
      all("namespace" not in d["metadata"] for ds in base.values() for d in ds))

# The operator creates and owns the pod service account (zalando/postgres-operator
# pkg/controller/postgresql.go: submitRBACCredentials -> createPodServiceAccount, the name from
# pod_service_account_name, default postgres-pod in pkg/controller/controller.go
# initPodServiceAccount): the base must not own it, or `kubectl delete -k deploy/` deletes it.
check("base does not own the operator's ServiceAccount postgres-pod (delete -k must keep it)",
      "ServiceAccount" not in base, base.get("ServiceAccount"))

role = base.get("Role", [{}])[0]
rules = role.get("rules", [])
check("Role spilo-agent", role.get("metadata", {}).get("name") == "spilo-agent")
named = [r for r in rules if r.get("resourceNames")]
check("Role: get/patch only on configmaps named pod-config",
      len(named) == 1 and named[0].get("resources") == ["configmaps"]
      and named[0].get("resourceNames") == ["pod-config"]
      and sorted(named[0].get("verbs", [])) == ["get", "patch"], named)
unnamed = [r for r in rules if not r.get("resourceNames")]
check("Role: create configmaps (the before-cleanup copy), get pods (its own pod's spec) and no "
      "other unnamed rule",
      len(unnamed) == 2 and {(tuple(r.get("resources", [])), tuple(r.get("verbs", [])))
                             for r in unnamed} == {(("configmaps",), ("create",)),
                                                   (("pods",), ("get",))}, unnamed)
everything = [(g, r, v) for x in rules for g in x.get("apiGroups", []) for r in x.get("resources", [])
              for v in x.get("verbs", [])]
check("Role: core API group only, no wildcard, no secrets, pods only get, no delete/list/watch",
      all(g == "" and ((r == "configmaps" and v in ("get", "patch", "create")) or
                       (r == "pods" and v == "get")) for g, r, v in everything),
      everything)

rb = base.get("RoleBinding", [{}])[0]
check("RoleBinding binds Role spilo-agent",
      rb.get("roleRef") == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "spilo-agent"},
      rb.get("roleRef"))
check("RoleBinding subject is the ServiceAccount postgres-pod",
      rb.get("subjects") == [{"kind": "ServiceAccount", "name": "postgres-pod"}], rb.get("subjects"))

cm = base.get("ConfigMap", [{}])[0]
data = cm.get("data", {})
check("ConfigMap is named pod-config", cm.get("metadata", {}).get("name") == "pod-config")
want = {"USE_WALG_BACKUP": "true", "USE_WALG_RESTORE": "true", "BACKUP_SCHEDULE": "0 1 * * *",
        "BACKUP_NUM_TO_RETAIN": "5", "WAL_BUCKET_SCOPE_PREFIX": "", "WAL_BUCKET_SCOPE_SUFFIX": ""}
for k, v in want.items():
    check(f"pod-config {k} = {v!r}", data.get(k) == v, repr(data.get(k)))
for k in ("WAL_S3_BUCKET", "AWS_REGION", "WALG_DISABLE_S3_SSE"):
    check(f"pod-config sets {k}", bool(data.get(k)) or data.get(k) == "false", repr(data.get(k)))
check("pod-config AWS_REGION looks like a region, not Spilo's 'loca'",
      re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", data.get("AWS_REGION", "")) is not None)
check("pod-config holds no credentials",
      not any(k in data for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")))
check("pod-config has no CLONE_* key (restore mode only)", not any(k.startswith("CLONE_") for k in data))
check("all pod-config values are strings", all(isinstance(v, str) for v in data.values()))

secret = load("deploy/credentials-secret.example.yaml")
sd = secret.get("stringData", {})
check("credentials example is a Secret named pod-credentials with the two S3 keys",
      secret.get("kind") == "Secret" and secret["metadata"]["name"] == "pod-credentials"
      and sorted(sd) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], sorted(sd))
check("credentials example values are clearly fake",
      all("fake" in v.lower() and "replace" in v.lower() for v in sd.values()), sd)

# ---- the sidecar, in the OperatorConfiguration patch ------------------------------------------
oc = load("deploy/operator/operatorconfiguration-sidecar.yaml")
conf = oc.get("configuration", {})
check("operator patch is an OperatorConfiguration (acid.zalan.do/v1)",
      oc.get("kind") == "OperatorConfiguration" and oc.get("apiVersion") == "acid.zalan.do/v1")
kube = conf.get("kubernetes", {})
check("operator patch: pod_environment_configmap is the base's ConfigMap",
      kube.get("pod_environment_configmap") == cm.get("metadata", {}).get("name"), kube)
check("operator patch: pod_environment_secret is the example Secret's name",
      kube.get("pod_environment_secret") == secret["metadata"]["name"], kube)
check("operator patch: enable_sidecars", kube.get("enable_sidecars") is True)
spilo_image = conf.get("docker_image", "")
check("operator patch: a spilo-15/16/17 image from ghcr.io/zalando",
      re.fullmatch(r"ghcr\.io/zalando/spilo-1[5-7]:\d+\.\d+-p\d+", spilo_image) is not None, spilo_image)
sidecars = conf.get("sidecars", [])
check("operator patch: exactly one sidecar, spilo-agent",
      [s.get("name") for s in sidecars] == ["spilo-agent"], [s.get("name") for s in sidecars])
sc = sidecars[0] if sidecars else {}
check("sidecar runs `run`", sc.get("args") == ["run"] and "command" not in sc, sc.get("args"))
check("sidecar has an image", bool(sc.get("image")))
ports = sc.get("ports", [])
check("sidecar port 8009 named agent",
      ports == [{"name": "agent", "containerPort": 8009, "protocol": "TCP"}], ports)
lp, rp = sc.get("livenessProbe", {}), sc.get("readinessProbe", {})
check("livenessProbe GET /livez on port agent",
      lp.get("httpGet") == {"path": "/livez", "port": "agent"}, lp.get("httpGet"))
check("readinessProbe GET /readyz on port agent",
      rp.get("httpGet") == {"path": "/readyz", "port": "agent"}, rp.get("httpGet"))
res = sc.get("resources", {})
check("sidecar has small requests and a memory limit",
      set(res.get("requests", {})) == {"cpu", "memory"} and "memory" in res.get("limits", {}), res)
sctx = sc.get("securityContext", {})
check("securityContext runAsNonRoot", sctx.get("runAsNonRoot") is True)
check("securityContext runAsUser 101 (Spilo's postgres uid, reads PGDATA)", sctx.get("runAsUser") == 101)
check("securityContext readOnlyRootFilesystem", sctx.get("readOnlyRootFilesystem") is True)
check("securityContext allowPrivilegeEscalation false", sctx.get("allowPrivilegeEscalation") is False)
check("securityContext drops ALL capabilities", sctx.get("capabilities") == {"drop": ["ALL"]})
env_from = sc.get("envFrom", [])
check("envFrom the pod-config ConfigMap, optional",
      {"configMapRef": {"name": "pod-config", "optional": True}} in env_from, env_from)
check("envFrom the credentials Secret, optional",
      {"secretRef": {"name": "pod-credentials", "optional": True}} in env_from, env_from)
env = {e["name"]: e for e in sc.get("env", [])}
check("env leaves POSTGRES_USER/POSTGRES_PASSWORD/POD_NAME/POD_NAMESPACE to the operator",
      not {"POSTGRES_USER", "POSTGRES_PASSWORD", "POD_NAME", "POD_NAMESPACE"} & set(env), sorted(env))
check("env SCOPE from the cluster-name label",
      env.get("SCOPE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
      == "metadata.labels['cluster-name']", env.get("SCOPE"))
check("env SPILO_AGENT_AGENT_LISTEN matches the port",
      env.get("SPILO_AGENT_AGENT_LISTEN", {}).get("value") == "0.0.0.0:8009")
check("every other env var is a SPILO_AGENT_* key",
      all(k == "SCOPE" or k.startswith("SPILO_AGENT_") for k in env), sorted(env))

# ---- the ConfigMap form, the harbor-operator values, the HarborCluster -----------------------
cmform = load("deploy/operator/operator-configmap-sidecar.yaml")
cd = cmform.get("data", {})
check("ConfigMap form: all values are strings", all(isinstance(v, str) for v in cd.values()))
check("ConfigMap form: sidecar_docker_images names spilo-agent with the same image",
      cd.get("sidecar_docker_images", "").startswith("spilo-agent:")
      and sc.get("image", "?") in cd.get("sidecar_docker_images", ""), cd.get("sidecar_docker_images"))
check("ConfigMap form: same pod environment ConfigMap/Secret and Spilo image",
      cd.get("pod_environment_configmap") == "pod-config"
      and cd.get("pod_environment_secret") == "pod-credentials" and cd.get("docker_image") == spilo_image)

values = load("deploy/harbor-operator/values.yaml")
po = values.get("postgres-operator", {})
check("harbor values: postgres-operator sub-chart in the OperatorConfiguration form",
      po.get("configTarget") == "OperatorConfigurationCRD" and po.get("enabled") is True)
check("harbor values: the sidecar equals the OperatorConfiguration patch's",
      po.get("configGeneral", {}).get("sidecars") == sidecars)
check("harbor values: same Spilo image", po.get("configGeneral", {}).get("docker_image") == spilo_image)
ck = po.get("configKubernetes", {})
check("harbor values: configKubernetes.pod_environment_configmap/secret",
      ck.get("pod_environment_configmap") == "pod-config" and ck.get("pod_environment_secret") == "pod-credentials")
check("harbor values: secret names as harbor-operator expects them",
      ck.get("secret_name_template") == "{username}.{cluster}.credentials")
typed_ok = all(not isinstance(v, str) or v not in ("true", "false")
               for section in po.values() if isinstance(section, dict) for v in section.values())
check("harbor values: no string booleans (the CRD form validates types)", typed_ok)
hc = load("deploy/harbor-operator/harborcluster-database.yaml")
check("HarborCluster patch sets the same Spilo image for Harbor's database",
      hc.get("spec", {}).get("database", {}).get("spec", {}).get("zlandoPostgreSql", {}).get("image")
      == spilo_image)

# ---- pg_hba snippet -------------------------------------------------------------------------
hba = load("deploy/pg_hba/postgresql-pg_hba.yaml")
lines = hba.get("spec", {}).get("patroni", {}).get("pg_hba", [])
harbor_fixed = ["hostssl all all 0.0.0.0/0 md5", "host all all 0.0.0.0/0 md5", "local all all trust",
                "local replication postgres trust", "hostssl replication postgres all md5",
                "local replication standby trust", "hostssl replication standby all md5",
                "hostssl all +zalandos all pam", "hostssl all all all md5"]
check("pg_hba snippet is harbor-operator v1.4.0-rc1's list, in order",
      [" ".join(x.split()) for x in lines] == harbor_fixed, lines)
check("pg_hba snippet patches a postgresql resource",
      hba.get("kind") == "postgresql" and hba.get("apiVersion") == "acid.zalan.do/v1")

# ---- restore settings -----------------------------------------------------------------------
rs = load("deploy/restore/pod-config-restore.yaml")
rd = rs.get("data", {})
check("restore patch targets pod-config", rs.get("metadata", {}).get("name") == "pod-config")
check("restore patch: CLONE_METHOD CLONE_WITH_WALE, CLONE_SCOPE, bucket, region",
      rd.get("CLONE_METHOD") == "CLONE_WITH_WALE" and rd.get("CLONE_SCOPE")
      and rd.get("CLONE_WAL_S3_BUCKET") and rd.get("CLONE_AWS_REGION"), rd)
suffix = rd.get("CLONE_WAL_BUCKET_SCOPE_SUFFIX")
check("restore patch: CLONE_WAL_BUCKET_SCOPE_SUFFIX empty or starting with /",
      suffix is not None and (suffix == "" or suffix.startswith("/")), repr(suffix))
ep = rd.get("CLONE_AWS_ENDPOINT")
check("restore patch: no WAL-E style CLONE_AWS_ENDPOINT",
      ep is None or (re.match(r"https?://", ep) and "+path" not in ep), repr(ep))
check("restore patch: only CLONE_* keys, and the restored cluster's own WAL_BUCKET_SCOPE_SUFFIX",
      all(k.startswith("CLONE_") or k == "WAL_BUCKET_SCOPE_SUFFIX" for k in rd), sorted(rd))
own = rd.get("WAL_BUCKET_SCOPE_SUFFIX")
check("restore patch: the restored cluster writes elsewhere than the source "
      "(WAL_BUCKET_SCOPE_SUFFIX starting with / and not the source's suffix)",
      own is not None and own.startswith("/") and own != suffix, repr(own))

# ---- the image: one version everywhere ------------------------------------------------------
# Every spilo-agent image reference in deploy/, docs/ and the installer's sources names the release
# in VERSION (make image tags the archive with it), so a release bump cannot leave one behind.
release = open(os.path.join(REPO, "VERSION")).read().strip()
stale = []
for top in ("deploy", "docs", "agent"):
    for dirpath, _, files in os.walk(os.path.join(REPO, top)):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), REPO)
            for tag in re.findall(r"registry\.example\.com/spilo-agent:([A-Za-z0-9_.-]+)", open(os.path.join(REPO, rel), errors="replace").read()):
                if tag != release:
                    stale.append(f"{rel}: {tag}")
check("every spilo-agent image reference names the release in VERSION (%s)" % release, not stale, ", ".join(stale[:5]))

# ---- monitoring -----------------------------------------------------------------------------
mon = by_kind(load_all(MONITORING))
check("monitoring builds a PodMonitor, a PrometheusRule and the dashboard's ConfigMap",
      sorted(mon) == ["ConfigMap", "PodMonitor", "PrometheusRule"]
      and [c["metadata"]["name"] for c in mon["ConfigMap"]] == ["spilo-agent-dashboard"], sorted(mon))
pm = mon.get("PodMonitor", [{}])[0]
eps = pm.get("spec", {}).get("podMetricsEndpoints", [])
check("PodMonitor selects the Spilo pods (application: spilo) in every namespace",
      pm.get("spec", {}).get("selector") == {"matchLabels": {"application": "spilo"}}
      and pm.get("spec", {}).get("namespaceSelector") == {"any": True})
check("PodMonitor scrapes port agent, path /metrics",
      len(eps) == 1 and eps[0].get("port") == "agent" and eps[0].get("path") == "/metrics", eps)
relabel = {(tuple(r.get("sourceLabels", [])), r.get("targetLabel")) for r in (eps[0].get("relabelings", []) if eps else [])}
check("PodMonitor relabels cluster-name -> cluster and spilo-role -> role",
      {(("__meta_kubernetes_pod_label_cluster_name",), "cluster"),
       (("__meta_kubernetes_pod_label_spilo_role",), "role")} <= relabel, relabel)
check("PodMonitor port name matches the sidecar's port", ports and eps and eps[0].get("port") == ports[0]["name"])

pr = mon.get("PrometheusRule", [{}])[0]
plain = load("deploy/monitoring/spilo-agent.rules.yml")
check("PrometheusRule spec.groups equal the groups of spilo-agent.rules.yml",
      pr.get("spec", {}).get("groups") == plain.get("groups"))
alerts = [r for g in plain.get("groups", []) for r in g.get("rules", []) if "alert" in r]
names = [a["alert"] for a in alerts]
for want_alert in ("BackupMissed", "NoBackupAtAll", "BackupCountBelowRetention", "WalArchiveFailing",
                   "PgHbaBroken", "RestoreCleanupPending", "SpiloAgentAbsent", "CheckUnknown"):
    check(f"alert {want_alert} exists", want_alert in names)
try:
    with open(os.path.join(REPO, "docs/alerts.md")) as f:
        alerts_md = f.read()
except OSError:
    alerts_md = ""
anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", alerts_md, re.M)}
runbook_base = load("deploy/monitoring/settings.yaml")["data"]["runbook-base"]
for a in alerts:
    ann, lab = a.get("annotations", {}), a.get("labels", {})
    url = ann.get("runbook_url", "")
    check(f"{a['alert']}: severity label, summary, description",
          lab.get("severity") in ("critical", "warning", "info") and ann.get("summary") and ann.get("description"))
    check(f"{a['alert']}: runbook_url is <runbook-base of deploy/monitoring/settings.yaml>#<a docs/alerts.md heading>",
          url.startswith(runbook_base + "#") and url.startswith("https://") and url.split("#", 1)[1] in anchors, url)
    if a["alert"] not in ("SpiloAgentAbsent",):
        check(f"{a['alert']}: aggregated by namespace and cluster, annotations use $labels",
              "by (namespace, cluster" in a["expr"] and "$labels.cluster" in ann["summary"] + ann["description"])

scrape = load("deploy/monitoring/prometheus-scrape.yml")
sj = scrape.get("scrape_configs", [{}])[0]
targets = {r.get("target_label") for r in sj.get("relabel_configs", [])}
check("plain scrape config: job spilo-agent with namespace, pod, cluster, role labels",
      sj.get("job_name") == "spilo-agent" and {"namespace", "pod", "cluster", "role"} <= targets, targets)

# ---- the example overlay ----------------------------------------------------------------------
ov = by_kind(load_all(OVERLAY))
check("overlay puts everything into its namespace",
      all(d["metadata"].get("namespace") == "harbor" for ds in ov.values() for d in ds))
ov_rb = ov.get("RoleBinding", [{}])[0]
check("overlay binds its own pod service account, and creates none",
      "ServiceAccount" not in ov
      and [s["name"] for s in ov_rb.get("subjects", [])] == ["harbor-postgres-pod"], ov_rb.get("subjects"))
ov_cm = ov.get("ConfigMap", [{}])[0].get("data", {})
check("overlay sets bucket and region and keeps the rest",
      ov_cm.get("WAL_S3_BUCKET") == "acme-harbor-pg-backups" and ov_cm.get("AWS_REGION") == "eu-west-1"
      and ov_cm.get("USE_WALG_BACKUP") == "true")

for status, what in results:
    print(f"{status}\t{what}")

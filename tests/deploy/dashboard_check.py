#!/usr/bin/python3
"""Checks the Grafana dashboard for tests/integration/test_deploy.sh.

Usage: dashboard_check.py REPO MONITORING.yaml
REPO is the repository root, MONITORING.yaml the output of `kubectl kustomize deploy/monitoring/`.
Every panel query must parse (promtool checks them as recording rules, with the dashboard's
variables set to what Grafana substitutes) and use only metrics the agent exports (docs/metrics.md,
which `make docs-check` holds to the sources); the ConfigMap the Grafana sidecar loads must carry
exactly the JSON file. Prints "PASS<TAB>what" or "FAIL<TAB>what (detail)" lines, as
check_manifests.py does.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

REPO, MONITORING = sys.argv[1:3]
DASHBOARD = os.path.join(REPO, "deploy/monitoring/grafana-dashboard.json")
results = []


def check(what, cond, detail=""):
    results.append(("PASS" if cond else "FAIL", what if cond or not detail else f"{what} ({detail})"))
    return cond


text = open(DASHBOARD).read()
dash = json.loads(text)
names = [v["name"] for v in dash.get("templating", {}).get("list", [])]
check("dashboard has the variables datasource, namespace and cluster", names == ["datasource", "namespace", "cluster"], names)
panels = dash.get("panels", [])
exprs = [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]
exprs += [(v["name"], v["query"]["query"]) for v in dash["templating"]["list"] if isinstance(v.get("query"), dict)]
check("every panel has a query and uses the datasource variable",
      all(p.get("targets") and p["datasource"]["uid"] == "${datasource}" for p in panels))
check("panel ids are unique", len({p["id"] for p in panels}) == len(panels))


def grafana_substitute(e):
    """What Grafana sends: the variables with All selected, the rate interval of a 1m scrape."""
    e = e.replace("$namespace", ".*").replace("$cluster", ".*").replace("$__rate_interval", "4m")
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", e)
    return "count by (%s) (%s)" % (m.group(2), m.group(1)) if m else e


rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": "dashboard:q%d" % i, "expr": grafana_substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
    yaml.safe_dump(rules, f)
out = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
os.unlink(f.name)
check("promtool parses every panel and variable query (%d)" % len(exprs), out.returncode == 0,
      (out.stdout + out.stderr).strip()[-400:])

documented = set(re.findall(r"`((?:spilo_agent|process)_[a-z0-9_]+)`", open(os.path.join(REPO, "docs/metrics.md")).read()))
for title, e in exprs:
    used = set(re.findall(r"\b((?:spilo_agent|process)_[a-z0-9_]+)\b", e))
    unknown = sorted(used - documented)
    check("panel '%s' uses only metrics the agent exports" % title, used and not unknown, ", ".join(unknown) or e)

covered = " ".join(e for _, e in exprs)
for what, metric in [("check statuses", "spilo_agent_check_status"), ("backup freshness", "spilo_agent_backup_last_finish_timestamp_seconds"),
                     ("the schedule", "spilo_agent_backup_expected_timestamp_seconds"), ("missed slots", "spilo_agent_backup_missed"),
                     ("retention", "spilo_agent_backup_retain"), ("WAL archive", "spilo_agent_wal_archive_archived_total"),
                     ("the recovery window", "spilo_agent_wal_first_recoverability_timestamp_seconds"),
                     ("WAL gaps", "spilo_agent_wal_gaps")]:
    check("the dashboard shows %s (%s)" % (what, metric), metric in covered)

cms = [d for d in yaml.safe_load_all(open(MONITORING)) if d and d.get("kind") == "ConfigMap"
       and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
check("deploy/monitoring builds one ConfigMap labelled grafana_dashboard=1 (the Grafana sidecar's default label)", len(cms) == 1, len(cms))
if cms:
    data = cms[0].get("data", {})
    check("... holding grafana-dashboard.json as it is", list(data) == ["spilo-agent.json"] and data["spilo-agent.json"] == text, list(data))

for status, what in results:
    print(status + "\t" + what)
sys.exit(1 if any(s == "FAIL" for s, _ in results) else 0)

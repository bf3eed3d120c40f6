#!/usr/bin/env python3
"""The verdict catalogue (include/causes.def) against the sources and the alert rules.

1. Every VERDICT_CRITICAL a check can set marks a catalogued cause: the statement that sets it (or
   the next one) names CAUSE_<X>, and every CAUSE_<X> of the catalogue is used somewhere.
2. Every cause names an alert that exists in deploy/monitoring/spilo-agent.rules.yml.
3. Cause by cause, promtool proves that the alert fires after its `for` when
   spilo_agent_check_cause{check,cause} is 1 on three pods of a cluster, that it is still pending
   one minute before, that it resolves once the cause is 0 again, and that the fallback
   SpiloAgentCheckCritical stays quiet meanwhile.
Usage: check_causes.py [--keep FILE]; prints one line per result and exits 1 on any failure.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(ROOT, "deploy/monitoring/spilo-agent.rules.yml")
# Files whose VERDICT_CRITICAL is not a check verdict (verdict helpers, formatting), or whose
# findings map to a cause at one place: walg_env.c's finding() calls end in
# CAUSE_WALG_ENV_INVALID / CAUSE_WALG_ENV_CLONE_INVALID in walg_env_evaluate().
NOT_VERDICT_SITES = {"util.c", "report.c", "metrics.c", "status.c", "check_result.c", "causes.c"}
FINDING_FILES = {"walg_env.c": ("finding(", "CAUSE_WALG_ENV_INVALID")}

fails = 0


def result(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


def catalogue():
    text = open(os.path.join(ROOT, "include/causes.def")).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for m in re.finditer(r'CAUSE\(\s*(\w+),\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)",\s*"((?:[^"\\]|\\.)*)"\)', text):
        out.append({"enum": m.group(1), "check": m.group(2), "cause": m.group(3), "alert": m.group(4)})
    return out


def source_sites(causes):
    used = set()
    adir = os.path.join(ROOT, "agent")
    for name in sorted(os.listdir(adir)):
        if not name.endswith(".c") or name in NOT_VERDICT_SITES:
            continue
        lines = open(os.path.join(adir, name)).read().split("\n")
        for i, line in enumerate(lines):
            used.update(re.findall(r"\bCAUSE_([A-Z0-9_]+)\b", line))
            if "VERDICT_CRITICAL" not in line or line.strip().startswith(("case ", "return ", "/*", "*")):
                continue
            if re.search(r"[=!]= VERDICT_CRITICAL", line) or '"critical"' in line:
                continue  # a comparison, or a severity read back from a finding
            if name in FINDING_FILES and (FINDING_FILES[name][0] in line
                                          or lines[i - 1].rstrip().endswith(FINDING_FILES[name][0])):
                continue
            # the statement from this line and the two after it (an if/else pair, then the cause)
            window, semis = "", 0
            for j in range(i, min(i + 20, len(lines))):
                window += lines[j] + "\n"
                semis += re.sub(r'"(?:[^"\\]|\\.)*"', '""', lines[j]).count(";")
                if semis >= 3:
                    break
            result("CAUSE_" in window, "agent/%s:%d: the critical verdict marks a catalogued cause" % (name, i + 1))
    for name, (_, cause) in FINDING_FILES.items():
        result(cause in open(os.path.join(adir, name)).read(), "agent/%s: its findings map to %s" % (name, cause))
    for c in causes:
        result(c["enum"] in used, "CAUSE_%s is set somewhere in agent/" % c["enum"])


def minutes(d):
    m = re.fullmatch(r"(\d+)([mh])", d)
    return int(m.group(1)) * (60 if m.group(2) == "h" else 1)


def by_labels(expr):
    m = re.search(r"by \(([^)]*)\)", expr)
    return [x.strip() for x in m.group(1).split(",")] if m else []


def cause_tests(causes, rules):
    tests = []
    for c in causes:
        r = rules.get(c["alert"])
        if r is None:
            continue
        f = minutes(r.get("for", "0m"))
        on, off = f + 5, 10  # minutes with the cause set, then cleared
        labels = {"severity": r["labels"]["severity"], "namespace": "ns", "cluster": "pg"}
        if "cause" in by_labels(r["expr"]):
            labels["cause"] = c["cause"]
        if "check" in by_labels(r["expr"]):
            labels["check"] = c["check"]
        series = []
        for i, role in enumerate(["master", "replica", "replica"]):
            lab = 'job="monitoring/spilo-agent", namespace="ns", cluster="pg", pod="pg-%d", role="%s"' % (i, role)
            series.append({"series": 'spilo_agent_check_cause{%s, check="%s", cause="%s"}' % (lab, c["check"], c["cause"]),
                           "values": "1x%d 0x%d" % (on - 1, off)})
            series.append({"series": 'spilo_agent_check_status{%s, check="%s"}' % (lab, c["check"]),
                           "values": "2x%d 0x%d" % (on - 1, off)})
        value = "3" if "count by" in r["expr"] else "1"
        ann = {}
        for k, v in r.get("annotations", {}).items():
            for lk, lv in labels.items():
                v = v.replace("{{ $labels.%s }}" % lk, lv)
            ann[k] = v.replace("{{ $value }}", value)
        tests.append({
            "name": "%s/%s fires %s after %dm and resolves" % (c["check"], c["cause"], c["alert"], f),
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "%dm" % max(f - 1, 0), "alertname": c["alert"], "exp_alerts": []} if f > 1 else None,
                {"eval_time": "%dm" % (f + 2), "alertname": c["alert"], "exp_alerts": [{"exp_labels": labels, "exp_annotations": ann}]},
                {"eval_time": "%dm" % (f + 2), "alertname": "SpiloAgentCheckCritical", "exp_alerts": []},
                {"eval_time": "%dm" % (on + 2), "alertname": c["alert"], "exp_alerts": []},
            ],
        })
        tests[-1]["alert_rule_test"] = [t for t in tests[-1]["alert_rule_test"] if t]
    return tests


def main():
    causes = catalogue()
    result(len(causes) > 0, "include/causes.def parses (%d causes)" % len(causes))
    ids = [(c["check"], c["cause"]) for c in causes]
    result(len(ids) == len(set(ids)), "every (check, cause) pair is catalogued once")
    source_sites(causes)
    groups = yaml.safe_load(open(RULES))["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    for c in causes:
        result(c["alert"] in rules, "%s/%s: alert %s exists in the rules" % (c["check"], c["cause"], c["alert"]))
    doc = {"rule_files": [RULES], "evaluation_interval": "1m", "tests": cause_tests(causes, rules)}
    keep = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--keep" else None
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as t:
        yaml.safe_dump(doc, t, sort_keys=False)
        path = t.name
    try:
        p = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True)
        result(p.returncode == 0, "promtool: every cause fires its alert after `for` and resolves (%d tests)" % len(doc["tests"]))
        if p.returncode != 0:
            print((p.stdout + p.stderr)[-4000:])
    finally:
        if keep:
            os.replace(path, keep)
        else:
            os.unlink(path)
    print("causes: %d failed" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

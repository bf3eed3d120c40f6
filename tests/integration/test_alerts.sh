#!/usr/bin/env bash
# End to end, S3 AccessDenied to a firing alert: a daemon whose WAL-G prefix points at a bucket the
# fake S3 (lib/fake_s3_errors.py) refuses turns `backups` critical; its log tells the transition
# as JSON fields; its /metrics passes `promtool check metrics`, and fed to promtool as the series
# of a three-pod cluster it fires BackupStorageFailing (cause s3_access_denied) after the rule's
# `for`, not SpiloAgentCheckCritical, and resolves once the agent reports the cause gone. Meanwhile
# the one-shot `check` (text, --json, --format nagios), /status and spilo_agent_status give one
# overall status: critical beats the unknown PostgreSQL checks (max_state_alt).
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v promtool >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
    nok "promtool and python3-yaml are installed (make deps)"; finish; exit 1
fi
fake_s3_errors_start || { nok "fake failing S3 starts"; finish; exit 1; }
mkdir -p "$TMP/env"
cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$TMP/env/"
setprefix() { printf 's3://%s/spilo/pg/wal/15' "$1" >"$TMP/env/WALG_S3_PREFIX.new" && mv "$TMP/env/WALG_S3_PREFIX.new" "$TMP/env/WALG_S3_PREFIX"; }
setprefix nosuchkey
rm -f "$TMP/env/WALE_S3_PREFIX"

printf 'a-cleanup-token-of-32-characters' >"$TMP/token"
chmod 600 "$TMP/token"
agent_start alerts --set agent.interval=2s --set agent.check_timeout=2s --set "walg.envdir=$TMP/env" \
    --set "s3.endpoint=http://127.0.0.1:$FAKE_S3_PORT" --set agent.log_format=json \
    --set cleanup.allow_http=true --set "cleanup.token_file=$TMP/token"
check "agent answers" wait_http "$AGENT_URL/livez" 200 10
# the status of a run that happened: before its first run the check says "unknown" too
status() { curl -s "$AGENT_URL/checks/backups" | jq -r 'if .checked_at == null then "pending" else .status end'; }
wait_status() { # wait_status STATUS: until /checks/backups says it (10 s)
    local i
    for ((i = 0; i < 100; i++)); do [ "$(status)" == "$1" ] && return 0; sleep 0.1; done
    return 1
}
check "backups: first verdict unknown (NoSuchKey on the listing: S3 broken, not the settings)" wait_status unknown
setprefix denied
check "backups turns critical once S3 answers AccessDenied" wait_status critical
curl -s "$AGENT_URL/metrics" >"$TMP/metrics-denied.txt"
contains "the cause is exported" "$(cat "$TMP/metrics-denied.txt")" 'spilo_agent_check_cause{check="backups",cause="s3_access_denied"} 1'
out=$(promtool check metrics <"$TMP/metrics-denied.txt" 2>&1); rc=$?
eq "promtool check metrics: clean ($out)" "0:" "$rc:$out"
# ---- the one-shot check meanwhile: critical beats the unknown PostgreSQL checks (max_state_alt) ---
one=(--set "walg.envdir=$TMP/env" --set "s3.endpoint=http://127.0.0.1:$FAKE_S3_PORT" --set "postgres.conninfo=host=127.0.0.1 port=$(free_port) connect_timeout=1")
nag=$("$AGENT" check --format nagios "${one[@]}" 2>/dev/null); rc=$?
eq "check --format nagios: exit 2 (critical > unknown), one line" "2 1" "$rc $(grep -c . <<<"$nag")"
contains "... SPILO-AGENT CRITICAL - the critical check first" "$nag" "SPILO-AGENT CRITICAL - backups critical: "
check "... perfdata in the plugin format ('label'=value[UOM];warn;crit;min;max)" \
    grep -qE "\| 'walg_env'=[0-3];1;2;0;3 .*'backups'=2;1;2;0;3 .*'backups_duration'=[0-9.]+s;;;0; " <<<"$nag"
js=$("$AGENT" check --json "${one[@]}" 2>/dev/null); rc=$?
eq "check --json: the same overall status and exit code" "2 critical" "$rc $(jq -r .status <<<"$js")"
"$AGENT" check "${one[@]}" >"$TMP/report.txt" 2>/dev/null
contains "the report header says CRITICAL too" "$(head -1 "$TMP/report.txt")" ": CRITICAL (role:"
eq "the daemon's /status and spilo_agent_status agree" "critical 2" \
    "$(curl -s "$AGENT_URL/status" | jq -r .status) $(curl -s "$AGENT_URL/metrics" | sed -n 's/^spilo_agent_status //p')"

setprefix nosuchkey
check "backups leaves critical when S3 stops refusing" wait_status unknown
curl -s "$AGENT_URL/metrics" >"$TMP/metrics-after.txt"
contains "the cause is 0 again" "$(cat "$TMP/metrics-after.txt")" 'spilo_agent_check_cause{check="backups",cause="s3_access_denied"} 0'
for _ in $(seq 1 25); do
    curl -s -o /dev/null -X POST -H 'Authorization: Bearer wrong' "$AGENT_URL/cleanup?dry_run=1"
done
agent_stop
eq "25 wrong tokens: one warning line, the rest counted (rate-limited)" 1 \
    "$(jq -c 'select(.msg | startswith("POST /cleanup refused"))' "$AGENT_LOG" | grep -c .)"

# ---- the log: the transitions as JSON fields ----------------------------------------------------
tr=$(jq -c 'select(.comp == "check" and .check == "backups" and .previous == "unknown" and .status == "critical")' "$AGENT_LOG" 2>/dev/null)
eq "one log line for unknown -> critical" 1 "$(grep -c . <<<"$tr")"
eq "it is at level error, with cause and summary as keys" "error s3_access_denied true" \
    "$(jq -r '[.level, .cause, (.summary | test("AccessDenied|denied"; "i"))] | map(tostring) | join(" ")' <<<"$tr")"
check "duration_ms is a JSON number" test "$(jq -r '.duration_ms | type' <<<"$tr")" == number
back=$(jq -c 'select(.check == "backups" and .previous == "critical")' "$AGENT_LOG")
eq "the way back is logged once too (critical -> unknown, warn)" "warn unknown" "$(jq -r '[.level, .status] | join(" ")' <<<"$back")"
eq "no other backups line: a status that stays is not re-logged" 3 "$(jq -c 'select(.check == "backups")' "$AGENT_LOG" | grep -c .)"

# ---- the scrape, as three pods of one cluster, through the alert rules ------------------------
python3 - "$TMP/metrics-denied.txt" "$TMP/metrics-after.txt" "$REPO/deploy/monitoring/spilo-agent.rules.yml" "$TMP/e2e_test.yml" <<'PY'
import re, sys, yaml
denied, after, rules, out = sys.argv[1:5]
def samples(path):
    s = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line.strip())
        s[(m.group(1), m.group(3) or "")] = m.group(4)
    return s
a, b = samples(denied), samples(after)
series = []
for i, role in enumerate(["master", "replica", "replica"]):
    pod = 'job="monitoring/spilo-agent", namespace="harbor", cluster="pg-a", pod="pg-a-%d", role="%s"' % (i, role)
    for (name, labels), v in a.items():
        w = b.get((name, labels), v)
        series.append({"series": "%s{%s}" % (name, ", ".join(x for x in (labels, pod) if x)),
                       "values": "%sx24 %sx15" % (v, w)})
rule = [r for g in yaml.safe_load(open(rules))["groups"] for r in g["rules"] if r.get("alert") == "BackupStorageFailing"][0]
lab = {"severity": "critical", "namespace": "harbor", "cluster": "pg-a", "cause": "s3_access_denied"}
ann = {}
for k, v in rule["annotations"].items():
    for lk, lv in lab.items():
        v = v.replace("{{ $labels.%s }}" % lk, lv)
    ann[k] = v
yaml.safe_dump({"rule_files": [rules], "evaluation_interval": "1m", "tests": [{
    "interval": "1m", "name": "a daemon's scrape with S3 AccessDenied", "input_series": series,
    "alert_rule_test": [
        {"eval_time": "10m", "alertname": "BackupStorageFailing", "exp_alerts": []},
        {"eval_time": "20m", "alertname": "BackupStorageFailing", "exp_alerts": [{"exp_labels": lab, "exp_annotations": ann}]},
        {"eval_time": "20m", "alertname": "SpiloAgentCheckCritical", "exp_alerts": []},
        {"eval_time": "30m", "alertname": "BackupStorageFailing", "exp_alerts": []},
    ]}]}, open(out, "w"), sort_keys=False)
PY
out=$(promtool test rules "$TMP/e2e_test.yml" 2>&1); rc=$?
if [ "$rc" -eq 0 ]; then ok "promtool: the daemon's scrape fires BackupStorageFailing after 15m and resolves"
else nok "promtool on the daemon's scrape"; printf '%s\n' "$out" | head -40; fi
finish

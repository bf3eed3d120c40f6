/* install_objects.c - owns what `spilo-agent install` applies: the reading of the [install]
 * settings and the JSON of every object, in apply order, following deploy/ (the sidecar, the
 * PodMonitor and the alert rules are deploy/'s own content, kept equal by test_install.sh), and
 * the pure decisions of the run. The values of the keys were checked at load; here are only the
 * keys a mode requires and the rules between keys. It reads no file and talks to no server:
 * install.c does. */
#include "install_objects.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* deploy/operator/operatorconfiguration-sidecar.yaml, configuration.sidecars[0] (as JSON). */
static const char sidecar_json[] =
    "{\"name\":\"spilo-agent\",\"image\":\"registry.example.com/spilo-agent:0.2.0\",\"imagePullPo"
    "licy\":\"IfNotPresent\",\"args\":[\"run\"],\"ports\":[{\"name\":\"agent\",\"containerPort\":"
    "8009,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"SCOPE\",\"valueFrom\":{\"fieldRef\":{\"fiel"
    "dPath\":\"metadata.labels['cluster-name']\"}}},{\"name\":\"SPILO_AGENT_AGENT_LISTEN\",\"valu"
    "e\":\"0.0.0.0:8009\"},{\"name\":\"SPILO_AGENT_AGENT_LOG_FORMAT\",\"value\":\"json\"}],\"envF"
    "rom\":[{\"configMapRef\":{\"name\":\"pod-config\",\"optional\":true}},{\"secretRef\":{\"name"
    "\":\"pod-credentials\",\"optional\":true}}],\"livenessProbe\":{\"httpGet\":{\"path\":\"/live"
    "z\",\"port\":\"agent\"},\"initialDelaySeconds\":5,\"periodSeconds\":20,\"timeoutSeconds\":3,"
    "\"failureThreshold\":3},\"readinessProbe\":{\"httpGet\":{\"path\":\"/readyz\",\"port\":\"age"
    "nt\"},\"periodSeconds\":10,\"timeoutSeconds\":3,\"failureThreshold\":3},\"resources\":{\"req"
    "uests\":{\"cpu\":\"10m\",\"memory\":\"32Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":\"128M"
    "i\"}},\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":101,\"runAsGroup\":103,\"allo"
    "wPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true,\"capabilities\":{\"drop\":[\"A"
    "LL\"]},\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}}";

/* deploy/monitoring/podmonitor.yaml, spec. */
static const char podmonitor_spec_json[] =
    "{\"selector\":{\"matchLabels\":{\"application\":\"spilo\"}},\"namespaceSelector\":{\"any\":t"
    "rue},\"podMetricsEndpoints\":[{\"port\":\"agent\",\"path\":\"/metrics\",\"scheme\":\"http\","
    "\"interval\":\"60s\",\"scrapeTimeout\":\"10s\",\"relabelings\":[{\"sourceLabels\":[\"__meta_"
    "kubernetes_pod_label_cluster_name\"],\"targetLabel\":\"cluster\"},{\"sourceLabels\":[\"__met"
    "a_kubernetes_pod_label_spilo_role\"],\"targetLabel\":\"role\"}]}]}";

/* deploy/monitoring/spilo-agent.rules.yml, groups (= prometheusrule.yaml spec.groups). */
static const char rules_groups_json[] =
    "[{\"name\":\"spilo-agent.backups\",\"rules\":[{\"alert\":\"BackupMissed\",\"expr\":\"max by "
    "(namespace,"
    " cluster) (spilo_agent_backup_missed) == 1\\nand on (namespace, cluster)\\nmax by ("
    "namespace, cluster) (spilo_agent_backup_last_finish_timestamp_seconds)\\nor\\nmax by ("
    "namespace, cluster) (\\n  spilo_agent_check_cause{check=\\\"backups\\\", cause=~\\\"missed|"
    "missed_while_uploading|schedule_never_fires\\\"}\\n) == "
    "1\\n\",\"for\":\"15m\",\"labels\":{\"severity\""
    ":\"critical\"},\"annotations\":{\"summary\":\"No base backup landed on schedule for {{ "
    "$labels."
    "namespace }}/{{ $labels.cluster }}\",\"description\":\"No WAL-G base backup of cluster {{ $"
    "labels.cluster }} in namespace {{ $labels.namespace }} finished since the latest "
    "BACKUP_SCHEDULE run plus the grace period. The `backups` check (GET /checks/backups on "
    "any pod of the cluster) names the missed run and the newest backup.\",\"runbook_url\":\"https:"
    "//spilo-agent.example.org/docs/"
    "alerts.md#backupmissed\"}},{\"alert\":\"NoBackupAtAll\",\"expr\":\""
    "max by (namespace, cluster) (spilo_agent_backup_count) == 0\\nunless on (namespace, "
    "cluster)\\nmax by (namespace, cluster) (spilo_agent_backup_last_finish_timestamp_seconds)\\"
    "nunless on (namespace, cluster)\\nmax by (namespace, cluster) ("
    "spilo_agent_backup_in_progress) == 1\\nor\\nmax by (namespace, cluster) (\\n  "
    "spilo_agent_check_cause{check=\\\"backups\\\", cause=~\\\"no_backup|only_abandoned\\\"}\\n) "
    "== 1\\n\""
    ",\"for\":\"1h\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"Cluster "
    "{{ $labels."
    "namespace }}/{{ $labels.cluster }} has no base backup at all\",\"description\":\"The S3 "
    "prefix of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} holds no "
    "complete WAL-G base backup and none is being uploaded: the cluster cannot be restored. "
    "The `backups` and `walg_env` checks name the prefix and the usual causes.\",\"runbook_url\":\""
    "https://spilo-agent.example.org/docs/alerts.md#nobackupatall\"}},{\"alert\":\""
    "BackupCountBelowRetention\",\"expr\":\"max by (namespace, cluster) "
    "(spilo_agent_backup_count)\\"
    "n  < on (namespace, cluster)\\nmax by (namespace, cluster) (spilo_agent_backup_retain)\\"
    "nand on (namespace, cluster)\\nmax by (namespace, cluster) (max_over_time("
    "spilo_agent_backup_count[14d]))\\n  >= on (namespace, cluster)\\nmax by (namespace, cluster)"
    " (spilo_agent_backup_retain)\\n\",\"for\":\"2h\",\"labels\":{\"severity\":\"warning\"},"
    "\"annotations\":{"
    "\"summary\":\"Fewer base backups than BACKUP_NUM_TO_RETAIN for {{ $labels.namespace }}/{{ $"
    "labels.cluster }}\",\"description\":\"Cluster {{ $labels.cluster }} in namespace {{ $labels."
    "namespace }} keeps {{ $value }} full base backups, fewer than BACKUP_NUM_TO_RETAIN, "
    "although it had enough within the last 14 days: backups were deleted (S3 lifecycle rule, "
    "manual delete, retention gone wrong).\",\"runbook_url\":\"https://spilo-agent.example.org/"
    "docs/"
    "alerts.md#backupcountbelowretention\"}},{\"alert\":\"BackupNotRestorable\",\"expr\":\"max by "
    "(namespace, cluster, cause) (\\n  spilo_agent_check_cause{\\n    check=\\\"backups\\\", "
    "cause=~\\"
    "\"sentinel_unreadable|delta_base_missing|data_missing|wal_incomplete\\\"\\n  }\\n) == "
    "1\\n\",\""
    "for\":\"15m\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"Newest "
    "backup of {{ "
    "$labels.namespace }}/{{ $labels.cluster }} is broken: {{ $labels.cause }}\",\"description\":\""
    "The newest WAL-G base backup of cluster {{ $labels.cluster }} in namespace {{ $labels."
    "namespace }} is broken ({{ $labels.cause }}: unreadable sentinel, missing delta base, "
    "missing data or WAL missing between its start and finish): a restore would fail or fall "
    "back to an older backup. The `backups` check names the backup and how to take a new one.\","
    "\"runbook_url\":\"https://spilo-agent.example.org/docs/alerts.md#backupnotrestorable\"}},{\""
    "alert\":\"WalChainGap\",\"expr\":\"max by (namespace, cluster) (spilo_agent_wal_gaps) > "
    "0\\n\",\""
    "for\":\"30m\",\"labels\":{\"severity\":\"warning\"},\"annotations\":{\"summary\":\"WAL gap in "
    "the "
    "archive of {{ $labels.namespace }}/{{ $labels.cluster }}: {{ $value }} gap(s)\",\""
    "description\":\"The WAL archive (wal_005/) of cluster {{ $labels.cluster }} in namespace {{ "
    "$labels.namespace }} misses segments that base backups need to recover past them: point-"
    "in-time recovery from those backups stops at the gap, and the recovery window now starts "
    "later. The `backups` check names the timeline, the segments and the backups cut off; take "
    "a new base backup.\",\"runbook_url\":\"https://spilo-agent.example.org/docs/alerts.md#"
    "walchaingap\"}},{\"alert\":\"BackupStorageFailing\",\"expr\":\"max by (namespace, cluster, "
    "cause) "
    "(\\n  spilo_agent_check_cause{check=\\\"backups\\\", cause=~\\\"s3_.+\\\"}\\n) == "
    "1\\n\",\"for\":\"15m\",\""
    "labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"S3 refuses the backups of "
    "{{ $"
    "labels.namespace }}/{{ $labels.cluster }} ({{ $labels.cause }})\",\"description\":\"S3 "
    "answered the agent of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} "
    "with {{ $labels.cause }}: WAL-G, which uses the same settings, cannot write or read "
    "backups either. The `backups` check quotes S3's answer; `walg_env` shows the bucket, "
    "region, endpoint and credentials in use.\",\"runbook_url\":\"https://spilo-agent.example.org/"
    "docs/"
    "alerts.md#backupstoragefailing\"}}]},{\"name\":\"spilo-agent.wal\",\"rules\":[{\"alert\":\""
    "WalArchiveFailing\",\"expr\":\"count by (namespace, cluster) (\\n  (\\n    increase("
    "spilo_agent_wal_archive_failed_total[15m]) > 0\\n    and\\n    (\\n      "
    "spilo_agent_wal_archive_last_failure_timestamp_seconds\\n        > "
    "spilo_agent_wal_archive_last_success_timestamp_seconds\\n      or\\n      "
    "spilo_agent_wal_archive_last_failure_timestamp_seconds\\n        unless "
    "spilo_agent_wal_archive_last_success_timestamp_seconds\\n    )\\n  )\\n  or\\n  (\\n    "
    "time() "
    "- spilo_agent_wal_archive_last_success_timestamp_seconds > 3600\\n    and on (namespace, "
    "pod)\\n    spilo_agent_check_status{check=\\\"wal_archive\\\"} == 2\\n  )\\n) > "
    "0\\nor\\ncount by ("
    "namespace, cluster) (\\n  spilo_agent_check_cause{check=\\\"wal_archive\\\"} == 1\\n) > "
    "0\\n\",\""
    "for\":\"10m\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"WAL "
    "archiving to S3 "
    "fails for {{ $labels.namespace }}/{{ $labels.cluster }}\",\"description\":\"PostgreSQL of "
    "cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} cannot archive WAL ("
    "archive_command keeps failing, or nothing was archived for over an hour while segments "
    "wait): point-in-time recovery stops at the last archived segment and pg_wal grows. The `"
    "wal_archive` check has the counters and the backlog.\",\"runbook_url\":\"https://spilo-agent."
    "example.org/docs/"
    "alerts.md#walarchivefailing\"}}]},{\"name\":\"spilo-agent.postgres\",\"rules\":["
    "{\"alert\":\"PgHbaBroken\",\"expr\":\"count by (namespace, cluster) (spilo_agent_pg_hba_ok == "
    "0) "
    "> 0\\nor\\ncount by (namespace, cluster) (\\n  spilo_agent_check_cause{check=\\\"pg_hba\\\"} "
    "== "
    "1\\n) > "
    "0\\n\",\"for\":\"5m\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":"
    "\"pg_hba "
    "of {{ $labels.namespace }}/{{ $labels.cluster }} locks out Spilo's own connections\",\""
    "description\":\"On {{ $value }} pod(s) of cluster {{ $labels.cluster }} in namespace {{ $"
    "labels.namespace }} pg_hba refuses a connection Spilo needs (local postgres, local/"
    "hostssl standby): Patroni, replication and the backup cron fail. The `pg_hba` check names "
    "the line to add.\",\"runbook_url\":\"https://spilo-agent.example.org/docs/alerts.md#"
    "pghbabroken\"}},{\"alert\":\"RestoreCleanupPending\",\"expr\":\"max by (namespace, cluster) ("
    "spilo_agent_restore_cleanup_pending) == "
    "1\\n\",\"for\":\"1h\",\"labels\":{\"severity\":\"warning\"},\""
    "annotations\":{\"summary\":\"Finished restore of {{ $labels.namespace }}/{{ $labels.cluster }}"
    " left CLONE_* settings behind\",\"description\":\"Cluster {{ $labels.cluster }} in namespace {"
    "{ $labels.namespace }} finished its restore, but the pod environment ConfigMap still "
    "carries CLONE_* keys: a re-created cluster would clone the old source again. The `restore`"
    " check lists the keys; `spilo-agent cleanup` removes them.\",\"runbook_url\":\"https://spilo-"
    "agent.example.org/docs/alerts.md#restorecleanuppending\"}},{\"alert\":\"WalgConfigInvalid\",\""
    "expr\":\"count by (namespace, cluster) (\\n  spilo_agent_check_cause{check=\\\"walg_env\\\"} "
    "== "
    "1\\n) > "
    "0\\n\",\"for\":\"15m\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":"
    "\"WAL-G "
    "settings of {{ $labels.namespace }}/{{ $labels.cluster }} cannot work\",\"description\":\"On {"
    "{ $value }} pod(s) of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} "
    "the WAL-G settings (prefix, region, endpoint, credentials, or a clone's CLONE_* settings) "
    "would make WAL-G fail. The `walg_env` check names the variable and the fix.\",\"runbook_url\""
    ":\"https://spilo-agent.example.org/docs/alerts.md#walgconfiginvalid\"}},{\"alert\":\""
    "RestoreWritesIntoSource\",\"expr\":\"max by (namespace, cluster) (\\n  "
    "spilo_agent_check_cause{"
    "check=\\\"restore\\\", cause=~\\\"writes_into_source\\\"}\\n) == "
    "1\\n\",\"for\":\"5m\",\"labels\":{\""
    "severity\":\"critical\"},\"annotations\":{\"summary\":\"Clone {{ $labels.namespace }}/{{ "
    "$labels."
    "cluster }} writes into the prefix it was cloned from\",\"description\":\"Cluster {{ $labels."
    "cluster }} in namespace {{ $labels.namespace }} archives WAL and backups into the S3 "
    "prefix of the cluster it was cloned from: it overwrites the source's history. Give it its "
    "own prefix now (the `restore` check says how).\",\"runbook_url\":\"https://spilo-agent."
    "example.org/docs/"
    "alerts.md#restorewritesintosource\"}},{\"alert\":\"RestoreCannotStart\",\"expr\""
    ":\"max by (namespace, cluster, cause) (\\n  spilo_agent_check_cause{\\n    "
    "check=\\\"restore\\\","
    "\\n    cause=~\\\"scope_suffix_no_slash|endpoint_scheme|source_without_backup|"
    "target_time_unreachable\\\"\\n  }\\n) == "
    "1\\n\",\"for\":\"15m\",\"labels\":{\"severity\":\"critical\"},\""
    "annotations\":{\"summary\":\"The restore of {{ $labels.namespace }}/{{ $labels.cluster }} "
    "cannot work ({{ $labels.cause }})\",\"description\":\"The clone settings of cluster {{ $"
    "labels.cluster }} in namespace {{ $labels.namespace }} point the restore at nothing "
    "usable ({{ $labels.cause }}): the pod will not come up with the source's data. The `"
    "restore` check names the setting to fix.\",\"runbook_url\":\"https://spilo-agent.example.org/"
    "docs/"
    "alerts.md#restorecannotstart\"}}]},{\"name\":\"spilo-agent.agent\",\"rules\":[{\"alert\":\""
    "SpiloAgentAbsent\",\"expr\":\"absent(up{job=~\\\".*spilo-agent.*\\\"}) or "
    "absent(spilo_agent_up)\\"
    "n\",\"for\":\"15m\",\"labels\":{\"severity\":\"warning\"},\"annotations\":{\"summary\":\"No "
    "spilo-agent "
    "is scraped\",\"description\":\"Prometheus has no spilo-agent target or no spilo_agent_up "
    "series at all, so none of the backup alerts can fire. Check that the sidecar runs in the "
    "Spilo pods and that the PodMonitor (or scrape config) is picked up by Prometheus.\",\""
    "runbook_url\":\"https://spilo-agent.example.org/docs/"
    "alerts.md#spiloagentabsent\"}},{\"alert\":"
    "\"SpiloAgentDown\",\"expr\":\"max by (namespace, cluster, pod) "
    "(up{job=~\\\".*spilo-agent.*\\\"}) ="
    "= "
    "0\\n\",\"for\":\"10m\",\"labels\":{\"severity\":\"warning\"},\"annotations\":{\"summary\":"
    "\"spilo-agent "
    "on {{ $labels.namespace }}/{{ $labels.pod }} cannot be scraped\",\"description\":\"Prometheus "
    "cannot scrape the spilo-agent sidecar of pod {{ $labels.pod }} (cluster {{ $labels."
    "cluster }}, namespace {{ $labels.namespace }}) on port 8009.\",\"runbook_url\":\"https://"
    "spilo-agent.example.org/docs/"
    "alerts.md#spiloagentdown\"}},{\"alert\":\"CheckUnknown\",\"expr\":\""
    "count by (namespace, cluster, check) (spilo_agent_check_status == 3) > "
    "0\\n\",\"for\":\"15m\",\""
    "labels\":{\"severity\":\"warning\"},\"annotations\":{\"summary\":\"Check {{ $labels.check }} "
    "is "
    "unknown for {{ $labels.namespace }}/{{ $labels.cluster }}\",\"description\":\"On {{ $value }} "
    "pod(s) of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} the `{{ $"
    "labels.check }}` check reports unknown: the agent cannot reach PostgreSQL or S3, or a "
    "check times out. Its summary (GET /checks/{{ $labels.check }}) says which.\",\"runbook_url\":"
    "\"https://spilo-agent.example.org/docs/alerts.md#checkunknown\"}},{\"alert\":\""
    "SpiloAgentCheckCritical\",\"expr\":\"count by (namespace, cluster, check) (\\n  "
    "spilo_agent_check_status == 2\\n  unless on (namespace, pod, check)\\n  max by (namespace, "
    "pod, check) (spilo_agent_check_cause) == 1\\n) > "
    "0\\n\",\"for\":\"15m\",\"labels\":{\"severity\":\""
    "critical\"},\"annotations\":{\"summary\":\"Check {{ $labels.check }} is critical for {{ "
    "$labels."
    "namespace }}/{{ $labels.cluster }}\",\"description\":\"On {{ $value }} pod(s) of cluster {{ $"
    "labels.cluster }} in namespace {{ $labels.namespace }} the `{{ $labels.check }}` check is "
    "critical for a reason no specific alert covers (an agent newer than these rules, or one "
    "without spilo_agent_check_cause). Its summary (GET /checks/{{ $labels.check }}) says what "
    "is wrong and the fix.\",\"runbook_url\":\"https://spilo-agent.example.org/docs/alerts.md#"
    "spiloagentcheckcritical\"}}]}]";

/* harbor-operator v1.4.0-rc1's list (deploy/pg_hba/postgresql-pg_hba.yaml). */
static const char *const pg_hba_lines[] = {
    "hostssl all all 0.0.0.0/0 md5",
    "host all all 0.0.0.0/0 md5",
    "local all all trust",
    "local replication postgres trust",
    "hostssl replication postgres all md5",
    "local replication standby trust",
    "hostssl replication standby all md5",
    "hostssl all +zalandos all pam",
    "hostssl all all all md5",
};

const char *install_mode_name(enum install_mode m)
{
    return m == INSTALL_MODE_RESTORE ? "restore" : "backup";
}

int install_mode_parse(const char *s, enum install_mode *out)
{
    if (s && strcmp(s, "backup") == 0)
        *out = INSTALL_MODE_BACKUP;
    else if (s && strcmp(s, "restore") == 0)
        *out = INSTALL_MODE_RESTORE;
    else
        return -EINVAL;
    return 0;
}

const char *install_outcome_name(enum install_outcome o)
{
    switch (o) {
    case INSTALL_CREATED:
        return "created";
    case INSTALL_CONFIGURED:
        return "configured";
    case INSTALL_UNCHANGED:
        return "unchanged";
    case INSTALL_FAILED:
        return "failed";
    case INSTALL_SKIPPED:
        return "skipped";
    }
    return "failed";
}

/* ---- validation -------------------------------------------------------------------------- */

static bool empty(const char *s)
{
    return !s || !*s;
}

static bool aws_region_ok(const char *s)
{
    const char *p = s;
    int dashes = 0;

    /* ^[a-z]{2}(-[a-z]+)+-[0-9]+$ */
    if (!islower((unsigned char)p[0]) || !islower((unsigned char)p[1]) || p[2] != '-')
        return false;
    p += 2;
    while (*p == '-') {
        p++;
        dashes++;
        if (isdigit((unsigned char)*p)) {
            while (isdigit((unsigned char)*p))
                p++;
            return *p == '\0' && dashes >= 2;
        }
        if (!islower((unsigned char)*p))
            return false;
        while (islower((unsigned char)*p))
            p++;
    }
    return false;
}

struct verr {
    char *err;
    size_t errlen;
};

static int bad(struct verr *v, const char *fmt, ...) PRINTF(2, 3);
static int bad(struct verr *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->err, v->errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* The config checked every value's form at load; what is left are the keys a mode requires and
 * the rules between keys. */
int install_settings_load(const struct config *cfg, enum install_mode mode,
                          struct install_settings *s, char *err, size_t errlen)
{
    struct verr v = {err, errlen};
    char longest[600], env[64], env2[64];
    int rc;

    memset(s, 0, sizeof(*s));
    err[0] = '\0';
    s->mode = mode;
    rc = config_require(cfg, "install", "target", "harbor-operator or postgres-operator", err,
                        errlen);
    if (rc < 0)
        return rc;
    s->target = (enum install_target)cfg->install_target;
    s->namespace = cfg->install_namespace;
    s->operator_namespace = cfg->install_operator_namespace;
    s->cluster = cfg->install_cluster;
    s->bucket = cfg->install_bucket;
    s->region = cfg->install_region;
    s->endpoint = cfg->install_endpoint;
    s->credentials_secret = cfg->install_credentials_secret;
    s->access_key_file = cfg->install_access_key_file;
    s->secret_key_file = cfg->install_secret_key_file;
    s->spilo_image = cfg->install_spilo_image;
    s->agent_image = cfg->install_agent_image;
    s->backup_schedule = cfg->install_backup_schedule;
    s->retain = cfg->install_retain > 0 ? cfg->install_retain : 5;
    s->pod_config = cfg->install_pod_config;
    s->pod_service_account = cfg->install_pod_service_account;
    s->operator_configuration =
        !empty(cfg->install_operator_configuration) ? cfg->install_operator_configuration
        : s->target == INSTALL_TARGET_HARBOR        ? "harbor-operator-postgres-operator"
                                                    : "postgres-operator";
    s->operator_selector = cfg->install_operator_selector;
    s->restart_timeout_ms = cfg->install_restart_timeout_ms;
    s->pg_hba = cfg->install_pg_hba;
    s->clone_cluster = cfg->install_clone_cluster;
    s->clone_target_time = cfg->install_clone_target_time;
    s->clone_endpoint = cfg->install_clone_endpoint;
    s->monitoring_namespace = !empty(cfg->install_monitoring_namespace)
                                  ? cfg->install_monitoring_namespace
                                  : s->namespace;
    /* One PodMonitor per cluster namespace, scraping only that namespace: installs for clusters
     * in several namespaces never scrape a pod twice, and several clusters of one namespace share
     * one. */
    snprintf(s->podmonitor_name, sizeof(s->podmonitor_name), "spilo-agent%s%s",
             strcmp(s->monitoring_namespace, s->namespace) ? "-" : "",
             strcmp(s->monitoring_namespace, s->namespace) ? s->namespace : "");
    s->monitoring_labels = cfg->install_monitoring_labels ? cfg->install_monitoring_labels : "";
    s->runbook_base = cfg->install_runbook_base ? cfg->install_runbook_base : "";
    /* Each runbook_url is <runbook_base>#<alert>: the base has no fragment of its own. */
    if (strchr(s->runbook_base, '#'))
        return bad(&v,
                   "[install] runbook_base = '%s' has a '#' (env %s); every alert's runbook_url is "
                   "<runbook_base>#<alert>, so give the page without a fragment, e.g. "
                   "https://git.example.com/spilo-agent/docs/alerts.md",
                   s->runbook_base, config_env_name("install", "runbook_base", env, sizeof(env)));
    s->source_namespace =
        !empty(cfg->install_source_namespace) ? cfg->install_source_namespace : s->namespace;

    rc = config_require(cfg, "install", "namespace", "the cluster's namespace", err, errlen);
    if (rc == 0)
        rc = config_require(cfg, "install", "operator_namespace",
                            "the postgres-operator's namespace", err, errlen);
    if (rc == 0)
        rc = config_require(cfg, "install", "cluster",
                            "the postgresql resource's name, e.g. postgresql-harbor-harborcluster",
                            err, errlen);
    if (rc == 0)
        rc = config_require(cfg, "install", "bucket", "the S3 bucket for WAL-G", err, errlen);
    if (rc < 0)
        return rc;
    if (!*s->region && !*s->endpoint)
        return bad(&v,
                   "[install] region is not set (env %s); it is required for AWS S3 (without it "
                   "Spilo guesses from the node's zone, 'loca' off-cloud), e.g. eu-central-1",
                   config_env_name("install", "region", env, sizeof(env)));
    if (*s->region && !*s->endpoint && !aws_region_ok(s->region))
        return bad(&v,
                   "[install] region = '%s' is not an AWS region (env %s); accepted without "
                   "[install] endpoint: e.g. eu-central-1 or us-east-1",
                   s->region, config_env_name("install", "region", env, sizeof(env)));
    if (!*s->access_key_file != !*s->secret_key_file)
        return bad(&v,
                   "[install] access_key_file and secret_key_file go together (env %s, %s): set "
                   "both to create the credentials Secret, or neither to use an existing one",
                   config_env_name("install", "access_key_file", env, sizeof(env)),
                   config_env_name("install", "secret_key_file", env2, sizeof(env2)));
    rc = config_require(cfg, "install", "agent_image",
                        "the spilo-agent image (make image, docs/image.md), e.g. "
                        "registry.example.com/spilo-agent:0.2.0",
                        err, errlen);
    if (rc < 0)
        return rc;
    /* The longest Secret name the operator will use must fit. */
    install_secret_name(s->target, "standby", s->cluster, longest, sizeof(longest));
    if (strlen(longest) > 253)
        return bad(&v,
                   "[install] cluster = '%s' is too long (env %s): the operator's Secret names "
                   "(%.40s...) would pass 253 characters",
                   s->cluster, config_env_name("install", "cluster", env, sizeof(env)), longest);
    if (mode == INSTALL_MODE_BACKUP)
        return 0;

    /* restore mode */
    rc = config_require(cfg, "install", "clone_cluster",
                        "the source cluster's name (CLONE_SCOPE) in --mode restore", err, errlen);
    if (rc < 0)
        return rc;
    if (!empty(cfg->install_clone_uid)) {
        const char *uid = cfg->install_clone_uid;

        while (*uid == '/')
            uid++;
        snprintf(s->clone_suffix, sizeof(s->clone_suffix), "/%s", uid);
    }
    return 0;
}

/* ---- objects ----------------------------------------------------------------------------- */

static json_t *meta(const char *name, const char *ns, bool part_of)
{
    json_t *m = json_object();

    json_object_set_new(m, "name", json_string(name));
    if (ns)
        json_object_set_new(m, "namespace", json_string(ns));
    if (part_of)
        json_object_set_new(m, "labels", json_pack("{s:s}", INSTALL_LABEL_PART_OF, "spilo-agent"));
    return m;
}

static json_t *object(const char *api_version, const char *kind, json_t *m)
{
    return json_pack("{s:s,s:s,s:o}", "apiVersion", api_version, "kind", kind, "metadata", m);
}

json_t *install_namespace_object(const char *name)
{
    return object("v1", "Namespace", meta(name, NULL, false));
}

json_t *install_pod_config(const struct install_settings *s)
{
    json_t *cm = object("v1", "ConfigMap", meta(s->pod_config, s->namespace, true));
    json_t *d = json_object();
    char num[32];

    json_object_set_new(d, "USE_WALG_BACKUP", json_string("true"));
    json_object_set_new(d, "USE_WALG_RESTORE", json_string("true"));
    json_object_set_new(d, "BACKUP_SCHEDULE", json_string(s->backup_schedule));
    snprintf(num, sizeof(num), "%lld", (long long)s->retain);
    json_object_set_new(d, "BACKUP_NUM_TO_RETAIN", json_string(num));
    json_object_set_new(d, "WAL_S3_BUCKET", json_string(s->bucket));
    json_object_set_new(d, "WAL_BUCKET_SCOPE_PREFIX", json_string(""));
    json_object_set_new(d, "WAL_BUCKET_SCOPE_SUFFIX", json_string(""));
    if (*s->region)
        json_object_set_new(d, "AWS_REGION", json_string(s->region));
    if (*s->endpoint) {
        json_object_set_new(d, "AWS_ENDPOINT", json_string(s->endpoint));
        json_object_set_new(d, "AWS_S3_FORCE_PATH_STYLE", json_string("true"));
    }
    /* AWS S3 encrypts (Spilo then sets WALG_S3_SSE=AES256); most S3-compatible stores do not. */
    json_object_set_new(d, "WALG_DISABLE_S3_SSE", json_string(*s->endpoint ? "true" : "false"));
    if (s->mode == INSTALL_MODE_RESTORE) {
        json_object_set_new(d, "CLONE_SCOPE", json_string(s->clone_cluster));
        json_object_set_new(d, "CLONE_METHOD", json_string("CLONE_WITH_WALE"));
        if (*s->clone_target_time)
            json_object_set_new(d, "CLONE_TARGET_TIME", json_string(s->clone_target_time));
        json_object_set_new(d, "CLONE_WAL_S3_BUCKET", json_string(s->bucket));
        json_object_set_new(d, "CLONE_WAL_BUCKET_SCOPE_PREFIX", json_string(s->clone_scope_prefix));
        json_object_set_new(d, "CLONE_WAL_BUCKET_SCOPE_SUFFIX", json_string(s->clone_suffix));
        json_object_set_new(d, "CLONE_USE_WALG_RESTORE", json_string("true"));
        if (*s->region)
            json_object_set_new(d, "CLONE_AWS_REGION", json_string(s->region));
        if (*s->clone_endpoint)
            json_object_set_new(d, "CLONE_AWS_ENDPOINT", json_string(s->clone_endpoint));
    }
    json_object_set_new(cm, "data", d);
    return cm;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *install_base64(const unsigned char *data, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];

        *o++ = b64chars[(v >> 18) & 63];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = b64chars[(v >> 6) & 63];
        *o++ = b64chars[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0);

        *o++ = b64chars[(v >> 18) & 63];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static void set_b64(json_t *data, const char *key, const char *value)
{
    char *b = install_base64((const unsigned char *)value, strlen(value));

    json_object_set_new(data, key, json_string(b));
    explicit_bzero(b, strlen(b));
    free(b);
}

json_t *install_credentials_secret(const struct install_settings *s,
                                   const struct install_keys *keys)
{
    json_t *sec = object("v1", "Secret", meta(s->credentials_secret, s->namespace, true));
    json_t *d = json_object();

    json_object_set_new(sec, "type", json_string("Opaque"));
    if (keys && keys->access_key && keys->secret_key) {
        set_b64(d, "AWS_ACCESS_KEY_ID", keys->access_key);
        set_b64(d, "AWS_SECRET_ACCESS_KEY", keys->secret_key);
        if (s->mode == INSTALL_MODE_RESTORE) {
            /* the clone does not inherit the cluster's own keys (FACTS 1.7) */
            set_b64(d, "CLONE_AWS_ACCESS_KEY_ID", keys->access_key);
            set_b64(d, "CLONE_AWS_SECRET_ACCESS_KEY", keys->secret_key);
        }
    }
    json_object_set_new(sec, "data", d);
    return sec;
}

json_t *install_role(const struct install_settings *s)
{
    json_t *role = object("rbac.authorization.k8s.io/v1", "Role",
                          meta(INSTALL_DEFAULT_ROLE, s->namespace, true));

    json_object_set_new(role, "rules",
                        json_pack("[{s:[s],s:[s],s:[s],s:[s,s]},{s:[s],s:[s],s:[s]},"
                                  "{s:[s],s:[s],s:[s]}]",
                                  "apiGroups", "", "resources", "configmaps", "resourceNames",
                                  s->pod_config, "verbs", "get", "patch", "apiGroups", "",
                                  "resources", "configmaps", "verbs", "create", "apiGroups", "",
                                  "resources", "pods", "verbs", "get"));
    return role;
}

json_t *install_role_binding(const struct install_settings *s)
{
    json_t *rb = object("rbac.authorization.k8s.io/v1", "RoleBinding",
                        meta(INSTALL_DEFAULT_ROLE, s->namespace, true));

    json_object_set_new(rb, "roleRef",
                        json_pack("{s:s,s:s,s:s}", "apiGroup", "rbac.authorization.k8s.io", "kind",
                                  "Role", "name", INSTALL_DEFAULT_ROLE));
    json_object_set_new(rb, "subjects",
                        json_pack("[{s:s,s:s,s:s}]", "kind", "ServiceAccount", "name",
                                  s->pod_service_account, "namespace", s->namespace));
    return rb;
}

json_t *install_sidecar(const struct install_settings *s)
{
    json_t *c = json_loads(sidecar_json, 0, NULL);
    size_t i;
    json_t *e;

    if (!c)
        abort(); /* the embedded JSON is a constant */
    json_object_set_new(c, "image", json_string(s->agent_image));
    json_array_foreach(json_object_get(c, "envFrom"), i, e)
    {
        json_t *cm = json_object_get(e, "configMapRef");
        json_t *sec = json_object_get(e, "secretRef");

        if (cm)
            json_object_set_new(cm, "name", json_string(s->pod_config));
        if (sec)
            json_object_set_new(sec, "name", json_string(s->credentials_secret));
    }
    return c;
}

json_t *install_operator_configuration(const struct install_settings *s)
{
    json_t *oc = object("acid.zalan.do/v1", "OperatorConfiguration",
                        meta(s->operator_configuration, s->operator_namespace, false));
    json_t *conf = json_object(), *k8s = json_object();
    char *pec = xasprintf("%s/%s", s->namespace, s->pod_config);

    json_object_set_new(conf, "docker_image", json_string(s->spilo_image));
    if (s->target == INSTALL_TARGET_HARBOR)
        /* as harbor-operator's own bundle: restores still read WAL of the old /wal/ layout */
        json_object_set_new(conf, "enable_spilo_wal_path_compat", json_true());
    json_object_set_new(k8s, "enable_sidecars", json_true());
    json_object_set_new(k8s, "pod_environment_configmap", json_string(pec));
    json_object_set_new(k8s, "pod_environment_secret", json_string(s->credentials_secret));
    if (s->target == INSTALL_TARGET_HARBOR)
        json_object_set_new(k8s, "secret_name_template",
                            json_string("{username}.{cluster}.credentials"));
    json_object_set_new(conf, "kubernetes", k8s);
    json_object_set_new(conf, "sidecars", json_pack("[o]", install_sidecar(s)));
    json_object_set_new(oc, "configuration", conf);
    free(pec);
    return oc;
}

json_t *install_pg_hba_patch(const struct install_settings *s)
{
    json_t *pg = object("acid.zalan.do/v1", "postgresql", meta(s->cluster, s->namespace, false));
    json_t *list = json_array();

    for (size_t i = 0; i < ARRAY_LEN(pg_hba_lines); i++)
        json_array_append_new(list, json_string(pg_hba_lines[i]));
    json_object_set_new(pg, "spec", json_pack("{s:{s:o}}", "patroni", "pg_hba", list));
    return pg;
}

static json_t *monitoring_meta(const struct install_settings *s, const char *component)
{
    json_t *m = meta("spilo-agent", s->monitoring_namespace, false);

    json_t *labels = json_pack("{s:s,s:s}", "app.kubernetes.io/name", "spilo-agent",
                               "app.kubernetes.io/component", component);
    const char *p = s->monitoring_labels ? s->monitoring_labels : "";

    /* validated: k=v[,k=v] */
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char *k = xstrndup(p, (size_t)(eq - p)), *val = xstrndup(eq + 1, (size_t)(end - eq - 1));

        json_object_set_new(labels, k, json_string(val));
        free(k);
        free(val);
        p = comma ? comma + 1 : end;
    }
    json_object_set_new(m, "labels", labels);
    return m;
}

json_t *install_pod_monitor(const struct install_settings *s)
{
    json_t *meta = monitoring_meta(s, "monitoring");
    json_t *pm, *spec = json_loads(podmonitor_spec_json, 0, NULL);

    if (!spec)
        abort();
    json_object_set_new(meta, "name", json_string(s->podmonitor_name));
    pm = object("monitoring.coreos.com/v1", "PodMonitor", meta);
    json_object_set_new(spec, "namespaceSelector",
                        json_pack("{s:[s]}", "matchNames", s->namespace));
    json_object_set_new(pm, "spec", spec);
    return pm;
}

json_t *install_prometheus_rule(const struct install_settings *s)
{
    json_t *pr =
        object("monitoring.coreos.com/v1", "PrometheusRule", monitoring_meta(s, "alert-rules"));
    json_t *groups = json_loads(rules_groups_json, 0, NULL);

    size_t gi, ri;
    json_t *g, *r;

    if (!groups)
        abort();
    json_array_foreach(groups, gi, g)
    {
        json_array_foreach(json_object_get(g, "rules"), ri, r)
        {
            json_t *ann = json_object_get(r, "annotations");
            const char *url = json_string_value(json_object_get(ann, "runbook_url"));
            const char *hash = url ? strchr(url, '#') : NULL;

            if (hash) {
                char *n = xasprintf("%s%s", s->runbook_base ? s->runbook_base : "", hash);

                json_object_set_new(ann, "runbook_url", json_string(n));
                free(n);
            }
        }
    }
    json_object_set_new(pr, "spec", json_pack("{s:o}", "groups", groups));
    return pr;
}

void install_secret_name(enum install_target t, const char *user, const char *cluster, char *out,
                         size_t len)
{
    char u[64];
    size_t i;

    for (i = 0; user[i] && i + 1 < sizeof(u); i++)
        u[i] = user[i] == '_' ? '-' : user[i];
    u[i] = '\0';
    if (t == INSTALL_TARGET_HARBOR)
        snprintf(out, len, "%s.%s.credentials", u, cluster);
    else
        snprintf(out, len, "%s.%s.credentials.postgresql.acid.zalan.do", u, cluster);
}

size_t install_clone_users(enum install_target t, const char *out[3])
{
    out[0] = "postgres";
    out[1] = "standby";
    if (t == INSTALL_TARGET_HARBOR) {
        out[2] = "harbor"; /* Harbor's own login (docs/install.md, restore step 2) */
        return 3;
    }
    return 2;
}

json_t *install_copy_secret(const json_t *src, const char *ns, const char *name,
                            const char *new_cluster, const char *from)
{
    json_t *smeta = json_object_get(src, "metadata");
    json_t *labels = json_object_get(smeta, "labels");
    json_t *ann = json_object_get(smeta, "annotations");
    json_t *type = json_object_get(src, "type");
    json_t *data = json_object_get(src, "data");
    json_t *m = meta(name, ns, false), *doc;

    if (json_is_object(labels) && json_object_size(labels)) {
        json_t *l = json_deep_copy(labels);

        if (json_object_get(l, "cluster-name"))
            json_object_set_new(l, "cluster-name", json_string(new_cluster));
        json_object_set_new(m, "labels", l);
    }
    {
        json_t *a = json_is_object(ann) ? json_deep_copy(ann) : json_object();

        /* kubectl's copy of the whole object, data included, and of the old name */
        json_object_del(a, "kubectl.kubernetes.io/last-applied-configuration");
        json_object_set_new(a, INSTALL_ANNOTATION_FROM, json_string(from));
        json_object_set_new(m, "annotations", a);
    }
    doc = object("v1", "Secret", m);
    json_object_set_new(doc, "type",
                        json_string(json_is_string(type) ? json_string_value(type) : "Opaque"));
    json_object_set_new(doc, "data", json_is_object(data) ? json_deep_copy(data) : json_object());
    return doc;
}

json_t *install_redacted(const json_t *obj)
{
    json_t *copy = json_deep_copy(obj);
    const char *kind = json_string_value(json_object_get(copy, "kind"));
    static const char *const fields[] = {"data", "stringData"};

    if (!kind || strcmp(kind, "Secret") != 0)
        return copy;
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        json_t *d = json_object_get(copy, fields[i]);
        const char *k;
        json_t *v;

        if (!json_is_object(d))
            continue;
        json_object_foreach(d, k, v)
        {
            json_object_set_new(d, k, json_string(INSTALL_REDACTED));
        }
    }
    return copy;
}

void install_clone_root(const struct install_settings *s, char *out, size_t len)
{
    snprintf(out, len, "spilo/%s%s%s/wal/", s->clone_scope_prefix, s->clone_cluster,
             s->clone_suffix);
}

/* ---- the plan ---------------------------------------------------------------------------- */

static struct install_item *add(struct install_plan *p, const char *kind, const char *group,
                                const char *resource, const char *ns, const char *name, json_t *obj,
                                enum install_policy policy)
{
    struct install_item *it;

    p->items = xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
    it = &p->items[p->n++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->group = group;
    it->version = "v1";
    it->resource = resource;
    it->namespace = ns ? xstrdup(ns) : NULL;
    it->name = xstrdup(name);
    it->object = obj;
    it->policy = policy;
    return it;
}

void install_plan_build(const struct install_settings *s, const struct install_keys *keys,
                        struct install_plan *plan)
{
    bool have_keys = keys && keys->access_key && keys->secret_key;

    memset(plan, 0, sizeof(*plan));
    add(plan, "Namespace", "", "namespaces", NULL, s->namespace,
        install_namespace_object(s->namespace), INSTALL_APPLY);
    if (strcmp(s->monitoring_namespace, s->namespace) != 0)
        add(plan, "Namespace", "", "namespaces", NULL, s->monitoring_namespace,
            install_namespace_object(s->monitoring_namespace), INSTALL_APPLY);
    add(plan, "ConfigMap", "", "configmaps", s->namespace, s->pod_config, install_pod_config(s),
        INSTALL_APPLY);
    add(plan, "Secret", "", "secrets", s->namespace, s->credentials_secret,
        install_credentials_secret(s, keys), have_keys ? INSTALL_APPLY : INSTALL_CHECK_EXISTS);
    /* No ServiceAccount: the operator creates the pods' account from its
     * pod_service_account_definition only when the account is missing (createPodServiceAccount,
     * pkg/controller/postgresql.go:593-614 at a7aaad0a; the definition, with the IRSA annotation
     * of irsa_role_arn, in initPodServiceAccount, pkg/controller/controller.go:218-256), so an
     * account applied here first would lose what that definition sets (annotations such as an
     * IRSA role, imagePullSecrets, automountServiceAccountToken). The RoleBinding names it. */
    add(plan, "Role", "rbac.authorization.k8s.io", "roles", s->namespace, INSTALL_DEFAULT_ROLE,
        install_role(s), INSTALL_APPLY);
    add(plan, "RoleBinding", "rbac.authorization.k8s.io", "rolebindings", s->namespace,
        INSTALL_DEFAULT_ROLE, install_role_binding(s), INSTALL_APPLY);
    if (s->mode == INSTALL_MODE_RESTORE) {
        const char *users[3];
        size_t n = install_clone_users(s->target, users);

        for (size_t i = 0; i < n; i++) {
            char src[600], dst[600];
            struct install_item *it;

            install_secret_name(s->target, users[i], s->clone_cluster, src, sizeof(src));
            install_secret_name(s->target, users[i], s->cluster, dst, sizeof(dst));
            it = add(plan, "Secret", "", "secrets", s->namespace, dst, NULL, INSTALL_COPY_SECRET);
            it->source_namespace = xstrdup(s->source_namespace);
            it->source_name = xstrdup(src);
        }
    }
    add(plan, "OperatorConfiguration", "acid.zalan.do", "operatorconfigurations",
        s->operator_namespace, s->operator_configuration, install_operator_configuration(s),
        INSTALL_MUST_EXIST)
        ->operator_config = true;
    if (s->pg_hba)
        add(plan, "postgresql", "acid.zalan.do", "postgresqls", s->namespace, s->cluster,
            install_pg_hba_patch(s), INSTALL_IF_EXISTS);
    add(plan, "PodMonitor", "monitoring.coreos.com", "podmonitors", s->monitoring_namespace,
        s->podmonitor_name, install_pod_monitor(s), INSTALL_IF_CRD);
    add(plan, "PrometheusRule", "monitoring.coreos.com", "prometheusrules", s->monitoring_namespace,
        "spilo-agent", install_prometheus_rule(s), INSTALL_IF_CRD);
}

void install_plan_free(struct install_plan *plan)
{
    for (size_t i = 0; plan && i < plan->n; i++) {
        struct install_item *it = &plan->items[i];

        free(it->namespace);
        free(it->name);
        free(it->source_namespace);
        free(it->source_name);
        json_decref(it->object);
    }
    if (plan) {
        free(plan->items);
        plan->items = NULL;
        plan->n = 0;
    }
}

/* ---- decisions --------------------------------------------------------------------------- */

const char *install_rv(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

enum install_outcome install_decide(long http_status, const char *rv_before, const char *rv_after)
{
    if (http_status == 201 || !rv_before)
        return INSTALL_CREATED;
    if (rv_after && strcmp(rv_before, rv_after) == 0)
        return INSTALL_UNCHANGED;
    return INSTALL_CONFIGURED;
}

bool install_labels_match(const json_t *obj, const char *selector)
{
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    const char *p = selector;
    char err[512];

    if (config_check_value("install", "operator_selector", selector, err, sizeof(err)) < 0)
        return false;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char key[256];
        const char *have;

        snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
        have = json_string_value(json_object_get(labels, key));
        if (!have || strlen(have) != (size_t)(end - eq - 1) ||
            strncmp(have, eq + 1, (size_t)(end - eq - 1)) != 0)
            return false;
        if (!comma)
            break;
        p = comma + 1;
    }
    return true;
}

bool install_pod_ready(const json_t *pod)
{
    json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions");
    size_t i;
    json_t *c;

    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
        return false;
    json_array_foreach(conds, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));

        if (type && st && strcmp(type, "Ready") == 0)
            return strcmp(st, "True") == 0;
    }
    return false;
}

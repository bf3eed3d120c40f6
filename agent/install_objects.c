/* install_objects.c - owns what `spilo-agent install` applies: the validation of the [install]
 * settings and the JSON of every object, in apply order, following deploy/ (the sidecar, the
 * PodMonitor and the alert rules are deploy/'s own content, kept equal by test_install.sh), and
 * the pure decisions of the run. It reads no file and talks to no server: install.c does. */
#include "install_objects.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "util.h"

/* deploy/operator/operatorconfiguration-sidecar.yaml, configuration.sidecars[0] (as JSON). */
static const char sidecar_json[] =
    "{\"name\":\"spilo-agent\",\"image\":\"registry.example.com/spilo-agent:0.1.0\",\"imagePullPo"
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
    "(namespace, cluster) (spilo_agent_backup_missed) == 1\\nand on (namespace, cluster)\\nmax by"
    " (namespace, cluster) (spilo_agent_backup_last_finish_timestamp_seconds)\\n\",\"for\":\"15m"
    "\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"No base backup land"
    "ed on schedule for {{ $labels.namespace }}/{{ $labels.cluster }}\",\"description\":\"No WAL-"
    "G base backup of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} finished"
    " since the latest BACKUP_SCHEDULE run plus the grace period. The `backups` check (GET /check"
    "s/backups on any pod of the cluster) names the missed run and the newest backup.\",\"runbook"
    "_url\":\"docs/alerts.md#backupmissed\"}},{\"alert\":\"NoBackupAtAll\",\"expr\":\"max by (nam"
    "espace, cluster) (spilo_agent_backup_count) == 0\\nunless on (namespace, cluster)\\nmax by ("
    "namespace, cluster) (spilo_agent_backup_last_finish_timestamp_seconds)\\nunless on (namespac"
    "e, cluster)\\nmax by (namespace, cluster) (spilo_agent_backup_in_progress) == 1\\n\",\"for\""
    ":\"1h\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"Cluster {{ $la"
    "bels.namespace }}/{{ $labels.cluster }} has no base backup at all\",\"description\":\"The S3"
    " prefix of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} holds no compl"
    "ete WAL-G base backup and none is being uploaded: the cluster cannot be restored. The `backu"
    "ps` and `walg_env` checks name the prefix and the usual causes.\",\"runbook_url\":\"docs/ale"
    "rts.md#nobackupatall\"}},{\"alert\":\"BackupCountBelowRetention\",\"expr\":\"max by (namespa"
    "ce, cluster) (spilo_agent_backup_count)\\n  < on (namespace, cluster)\\nmax by (namespace, c"
    "luster) (spilo_agent_backup_retain)\\nand on (namespace, cluster)\\nmax by (namespace, clust"
    "er) (max_over_time(spilo_agent_backup_count[14d]))\\n  >= on (namespace, cluster)\\nmax by ("
    "namespace, cluster) (spilo_agent_backup_retain)\\n\",\"for\":\"2h\",\"labels\":{\"severity\""
    ":\"warning\"},\"annotations\":{\"summary\":\"Fewer base backups than BACKUP_NUM_TO_RETAIN fo"
    "r {{ $labels.namespace }}/{{ $labels.cluster }}\",\"description\":\"Cluster {{ $labels.clust"
    "er }} in namespace {{ $labels.namespace }} keeps {{ $value }} full base backups, fewer than "
    "BACKUP_NUM_TO_RETAIN, although it had enough within the last 14 days: backups were deleted ("
    "S3 lifecycle rule, manual delete, retention gone wrong).\",\"runbook_url\":\"docs/alerts.md#"
    "backupcountbelowretention\"}}]},{\"name\":\"spilo-agent.wal\",\"rules\":[{\"alert\":\"WalArc"
    "hiveFailing\",\"expr\":\"count by (namespace, cluster) (\\n  (\\n    increase(spilo_agent_wa"
    "l_archive_failed_total[15m]) > 0\\n    and\\n    (\\n      spilo_agent_wal_archive_last_fail"
    "ure_timestamp_seconds\\n        > spilo_agent_wal_archive_last_success_timestamp_seconds\\n "
    "     or\\n      spilo_agent_wal_archive_last_failure_timestamp_seconds\\n        unless spil"
    "o_agent_wal_archive_last_success_timestamp_seconds\\n    )\\n  )\\n  or\\n  (\\n    time() -"
    " spilo_agent_wal_archive_last_success_timestamp_seconds > 3600\\n    and on (namespace, pod)"
    "\\n    spilo_agent_check_status{check=\\\"wal_archive\\\"} == 2\\n  )\\n) > 0\\n\",\"for\":"
    "\"10m\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"WAL archiving "
    "to S3 fails for {{ $labels.namespace }}/{{ $labels.cluster }}\",\"description\":\"PostgreSQL"
    " of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} cannot archive WAL (a"
    "rchive_command keeps failing, or nothing was archived for over an hour while segments wait):"
    " point-in-time recovery stops at the last archived segment and pg_wal grows. The `wal_archiv"
    "e` check has the counters and the backlog.\",\"runbook_url\":\"docs/alerts.md#walarchivefail"
    "ing\"}}]},{\"name\":\"spilo-agent.postgres\",\"rules\":[{\"alert\":\"PgHbaBroken\",\"expr\":"
    "\"count by (namespace, cluster) (spilo_agent_pg_hba_ok == 0) > 0\\n\",\"for\":\"5m\",\"label"
    "s\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"pg_hba of {{ $labels.namespac"
    "e }}/{{ $labels.cluster }} locks out Spilo's own connections\",\"description\":\"On {{ $valu"
    "e }} pod(s) of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} pg_hba ref"
    "uses a connection Spilo needs (local postgres, local/hostssl standby): Patroni, replication "
    "and the backup cron fail. The `pg_hba` check names the line to add.\",\"runbook_url\":\"docs"
    "/alerts.md#pghbabroken\"}},{\"alert\":\"RestoreCleanupPending\",\"expr\":\"max by (namespace"
    ", cluster) (spilo_agent_restore_cleanup_pending) == 1\\n\",\"for\":\"1h\",\"labels\":{\"seve"
    "rity\":\"warning\"},\"annotations\":{\"summary\":\"Finished restore of {{ $labels.namespace "
    "}}/{{ $labels.cluster }} left CLONE_* settings behind\",\"description\":\"Cluster {{ $labels"
    ".cluster }} in namespace {{ $labels.namespace }} finished its restore, but the pod environme"
    "nt ConfigMap still carries CLONE_* keys: a re-created cluster would clone the old source aga"
    "in. The `restore` check lists the keys; `spilo-agent cleanup` removes them.\",\"runbook_url"
    "\":\"docs/alerts.md#restorecleanuppending\"}},{\"alert\":\"WalgConfigInvalid\",\"expr\":\"co"
    "unt by (namespace, cluster) (spilo_agent_check_status{check=\\\"walg_env\\\"} == 2) > 0\\n\""
    ",\"for\":\"15m\",\"labels\":{\"severity\":\"critical\"},\"annotations\":{\"summary\":\"WAL-G"
    " settings of {{ $labels.namespace }}/{{ $labels.cluster }} cannot work\",\"description\":\"O"
    "n {{ $value }} pod(s) of cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }} "
    "the WAL-G settings (prefix, region, endpoint, credentials, or a clone's CLONE_* settings) wo"
    "uld make WAL-G fail. The `walg_env` check names the variable and the fix.\",\"runbook_url\":"
    "\"docs/alerts.md#walgconfiginvalid\"}}]},{\"name\":\"spilo-agent.agent\",\"rules\":[{\"alert"
    "\":\"SpiloAgentAbsent\",\"expr\":\"absent(up{job=~\\\".*spilo-agent.*\\\"}) or absent(spilo_"
    "agent_up)\\n\",\"for\":\"15m\",\"labels\":{\"severity\":\"warning\"},\"annotations\":{\"summ"
    "ary\":\"No spilo-agent is scraped\",\"description\":\"Prometheus has no spilo-agent target o"
    "r no spilo_agent_up series at all, so none of the backup alerts can fire. Check that the sid"
    "ecar runs in the Spilo pods and that the PodMonitor (or scrape config) is picked up by Prome"
    "theus.\",\"runbook_url\":\"docs/alerts.md#spiloagentabsent\"}},{\"alert\":\"SpiloAgentDown\""
    ",\"expr\":\"max by (namespace, cluster, pod) (up{job=~\\\".*spilo-agent.*\\\"}) == 0\\n\",\""
    "for\":\"10m\",\"labels\":{\"severity\":\"warning\"},\"annotations\":{\"summary\":\"spilo-age"
    "nt on {{ $labels.namespace }}/{{ $labels.pod }} cannot be scraped\",\"description\":\"Promet"
    "heus cannot scrape the spilo-agent sidecar of pod {{ $labels.pod }} (cluster {{ $labels.clus"
    "ter }}, namespace {{ $labels.namespace }}) on port 8009.\",\"runbook_url\":\"docs/alerts.md#"
    "spiloagentdown\"}},{\"alert\":\"CheckUnknown\",\"expr\":\"count by (namespace, cluster, chec"
    "k) (spilo_agent_check_status == 3) > 0\\n\",\"for\":\"15m\",\"labels\":{\"severity\":\"warni"
    "ng\"},\"annotations\":{\"summary\":\"Check {{ $labels.check }} is unknown for {{ $labels.nam"
    "espace }}/{{ $labels.cluster }}\",\"description\":\"On {{ $value }} pod(s) of cluster {{ $la"
    "bels.cluster }} in namespace {{ $labels.namespace }} the `{{ $labels.check }}` check reports"
    " unknown: the agent cannot reach PostgreSQL or S3, or a check times out. Its summary (GET /c"
    "hecks/{{ $labels.check }}) says which.\",\"runbook_url\":\"docs/alerts.md#checkunknown\"}}]}"
    "]";

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

/* DNS-1123 label (max 63) or subdomain (max 253). */
static bool dns_name_ok(const char *s, size_t max, bool dots)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!(islower(c) || isdigit(c) || c == '-' || (dots && c == '.')))
            return false;
        if (c == '.' && (i == 0 || s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
            return false;
    }
    return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static bool bucket_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 3 && n <= 63 && dns_name_ok(s, 63, true);
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

static bool image_ok(const char *s)
{
    if (empty(s))
        return false;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20 || *p == '"' || *p == '\'')
            return false;
    }
    return true;
}

bool install_endpoint_ok(const char *url)
{
    const char *host;

    if (empty(url))
        return false;
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return false;
    if (!*host || *host == '/' || *host == ':')
        return false;
    for (const char *p = url; *p; p++) {
        if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
            return false;
    }
    return true;
}

static bool label_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("-_./", s[i]))
            return false;
    }
    return true;
}

int install_selector_check(const char *selector)
{
    const char *p = selector;

    if (empty(selector))
        return -EINVAL;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));

        if (!eq || !label_part_ok(p, (size_t)(eq - p)) ||
            (eq + 1 < end && !label_part_ok(eq + 1, (size_t)(end - eq - 1))))
            return -EINVAL;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return -EINVAL;
    }
    return 0;
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

#define ENV(key) "SPILO_AGENT_INSTALL_" key

static int need(struct verr *v, const char *value, const char *key, const char *env,
                const char *what)
{
    if (empty(value))
        return bad(v, "[install] %s is not set (env %s); it is required: %s", key, env, what);
    return 0;
}

static int check_dns(struct verr *v, const char *value, const char *key, const char *env,
                     bool label)
{
    if (!dns_name_ok(value, label ? 63 : 253, !label))
        return bad(v,
                   "[install] %s = '%s' is not valid (env %s); accepted: a Kubernetes name, "
                   "lower case letters, digits and '-'%s, at most %d characters",
                   key, value, env, label ? "" : " and '.'", label ? 63 : 253);
    return 0;
}

int install_settings_load(const struct config *cfg, enum install_mode mode,
                          struct install_settings *s, char *err, size_t errlen)
{
    struct verr v = {err, errlen};
    struct cron_schedule cs;
    char why[200];
    char longest[600];
    int64_t target_s;
    int rc;

    memset(s, 0, sizeof(*s));
    err[0] = '\0';
    s->mode = mode;
    if (empty(cfg->install_target))
        return bad(&v, "[install] target is not set (env " ENV(
                           "TARGET") "); accepted: "
                                     "harbor-operator or postgres-operator");
    if (strcmp(cfg->install_target, "harbor-operator") == 0)
        s->target = INSTALL_TARGET_HARBOR;
    else if (strcmp(cfg->install_target, "postgres-operator") == 0)
        s->target = INSTALL_TARGET_POSTGRES;
    else
        return bad(&v,
                   "[install] target = '%s' is not valid (env " ENV(
                       "TARGET") "); accepted: "
                                 "harbor-operator or postgres-operator",
                   cfg->install_target);

    s->namespace = cfg->install_namespace;
    s->operator_namespace = cfg->install_operator_namespace;
    s->cluster = cfg->install_cluster;
    s->bucket = cfg->install_bucket;
    s->region = cfg->install_region ? cfg->install_region : "";
    s->endpoint = cfg->install_endpoint ? cfg->install_endpoint : "";
    s->credentials_secret = cfg->install_credentials_secret;
    s->access_key_file = cfg->install_access_key_file ? cfg->install_access_key_file : "";
    s->secret_key_file = cfg->install_secret_key_file ? cfg->install_secret_key_file : "";
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
    s->clone_cluster = cfg->install_clone_cluster ? cfg->install_clone_cluster : "";
    s->clone_target_time = cfg->install_clone_target_time ? cfg->install_clone_target_time : "";
    s->clone_endpoint = cfg->install_clone_endpoint ? cfg->install_clone_endpoint : "";

    rc = need(&v, s->namespace, "namespace", ENV("NAMESPACE"), "the cluster's namespace");
    if (rc == 0)
        rc = check_dns(&v, s->namespace, "namespace", ENV("NAMESPACE"), true);
    if (rc == 0)
        rc = need(&v, s->operator_namespace, "operator_namespace", ENV("OPERATOR_NAMESPACE"),
                  "the postgres-operator's namespace");
    if (rc == 0)
        rc = check_dns(&v, s->operator_namespace, "operator_namespace", ENV("OPERATOR_NAMESPACE"),
                       true);
    if (rc == 0)
        rc = need(&v, s->cluster, "cluster", ENV("CLUSTER"),
                  "the postgresql resource's name, e.g. postgresql-harbor-harborcluster");
    if (rc == 0)
        rc = check_dns(&v, s->cluster, "cluster", ENV("CLUSTER"), false);
    if (rc == 0)
        rc = need(&v, s->bucket, "bucket", ENV("BUCKET"), "the S3 bucket for WAL-G");
    if (rc < 0)
        return rc;
    if (!bucket_ok(s->bucket))
        return bad(&v,
                   "[install] bucket = '%s' is not a valid S3 bucket name (env " ENV(
                       "BUCKET") "); accepted: 3 to 63 lower case letters, digits, '.' and '-'",
                   s->bucket);
    if (*s->endpoint && !install_endpoint_ok(s->endpoint))
        return bad(&v,
                   "[install] endpoint = '%s' is not valid (env " ENV(
                       "ENDPOINT") "); accepted: http://host:port or https://host:port of an "
                                   "S3-compatible store "
                                   "(not WAL-E's https+path://, which WAL-G rejects); leave it "
                                   "unset for AWS S3",
                   s->endpoint);
    if (!*s->region && !*s->endpoint)
        return bad(
            &v,
            "[install] region is not set (env " ENV(
                "REGION") "); it is required for AWS S3 (without it Spilo guesses from the node's "
                          "zone, 'loca' off-cloud), e.g. eu-central-1");
    if (*s->region && !*s->endpoint && !aws_region_ok(s->region))
        return bad(&v,
                   "[install] region = '%s' is not an AWS region (env " ENV(
                       "REGION") "); accepted: e.g. eu-central-1 or us-east-1",
                   s->region);
    if (*s->region) {
        for (const char *p = s->region; *p; p++) {
            if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
                return bad(&v,
                           "[install] region = '%s' is not valid (env " ENV(
                               "REGION") "); accepted: lower case letters, digits and '-'",
                           s->region);
        }
    }
    rc = check_dns(&v, s->credentials_secret, "credentials_secret", ENV("CREDENTIALS_SECRET"),
                   false);
    if (rc < 0)
        return rc;
    if (!*s->access_key_file != !*s->secret_key_file)
        return bad(&v, "[install] access_key_file and secret_key_file go together (env " ENV(
                           "ACCESS_KEY_FILE") ", " ENV("SECRET_KEY_FILE") "): set both to create "
                                                                          "the credentials Secret, "
                                                                          "or neither to use an "
                                                                          "existing one");
    if (!image_ok(s->spilo_image))
        return bad(&v,
                   "[install] spilo_image = '%s' is not valid (env " ENV(
                       "SPILO_IMAGE") "); accepted: an image reference, e.g. "
                                      "ghcr.io/zalando/spilo-16:3.2-p3",
                   s->spilo_image);
    rc = need(&v, s->agent_image, "agent_image", ENV("AGENT_IMAGE"),
              "the spilo-agent image built from container/Dockerfile, e.g. "
              "registry.example.com/spilo-agent:0.1.0");
    if (rc < 0)
        return rc;
    if (!image_ok(s->agent_image))
        return bad(&v,
                   "[install] agent_image = '%s' is not valid (env " ENV(
                       "AGENT_IMAGE") "); accepted: an image reference without blanks or quotes",
                   s->agent_image);
    if (cron_parse(s->backup_schedule, &cs, why, sizeof(why)) < 0)
        return bad(&v,
                   "[install] backup_schedule = '%s' is not valid (env " ENV(
                       "BACKUP_SCHEDULE") "): %s; accepted: 5 cron fields (UTC), e.g. '0 1 * * *'",
                   s->backup_schedule, why);
    rc = check_dns(&v, s->pod_config, "pod_config", ENV("POD_CONFIG"), false);
    if (rc == 0)
        rc = check_dns(&v, s->pod_service_account, "pod_service_account",
                       ENV("POD_SERVICE_ACCOUNT"), false);
    if (rc == 0)
        rc = check_dns(&v, s->operator_configuration, "operator_configuration",
                       ENV("OPERATOR_CONFIGURATION"), false);
    if (rc < 0)
        return rc;
    if (install_selector_check(s->operator_selector) < 0)
        return bad(&v,
                   "[install] operator_selector = '%s' is not valid (env " ENV(
                       "OPERATOR_SELECTOR") "); accepted: label=value pairs separated by ',', e.g. "
                                            "app.kubernetes.io/name=postgres-operator",
                   s->operator_selector);
    s->monitoring_namespace = !empty(cfg->install_monitoring_namespace)
                                  ? cfg->install_monitoring_namespace
                                  : s->namespace;
    rc = check_dns(&v, s->monitoring_namespace, "monitoring_namespace", ENV("MONITORING_NAMESPACE"),
                   true);
    if (rc < 0)
        return rc;
    s->source_namespace =
        !empty(cfg->install_source_namespace) ? cfg->install_source_namespace : s->namespace;
    /* The longest Secret name the operator will use must fit. */
    install_secret_name(s->target, "standby", s->cluster, longest, sizeof(longest));
    if (strlen(longest) > 253)
        return bad(
            &v,
            "[install] cluster = '%s' is too long (env " ENV(
                "CLUSTER") "): the operator's Secret names (%.40s...) would pass 253 characters",
            s->cluster, longest);
    if (mode == INSTALL_MODE_BACKUP)
        return 0;

    /* restore mode */
    rc = need(&v, s->clone_cluster, "clone_cluster", ENV("CLONE_CLUSTER"),
              "the source cluster's name (CLONE_SCOPE) in --mode restore");
    if (rc == 0)
        rc = check_dns(&v, s->clone_cluster, "clone_cluster", ENV("CLONE_CLUSTER"), false);
    if (rc == 0)
        rc = check_dns(&v, s->source_namespace, "source_namespace", ENV("SOURCE_NAMESPACE"), true);
    if (rc < 0)
        return rc;
    if (!empty(cfg->install_clone_uid)) {
        const char *uid = cfg->install_clone_uid;

        while (*uid == '/')
            uid++;
        if (!*uid || strlen(uid) > 64)
            return bad(
                &v,
                "[install] clone_uid = '%s' is not valid (env " ENV(
                    "CLONE_UID") "); accepted: the source postgresql resource's metadata.uid",
                cfg->install_clone_uid);
        for (const char *p = uid; *p; p++) {
            if (!isalnum((unsigned char)*p) && *p != '-')
                return bad(
                    &v,
                    "[install] clone_uid = '%s' is not valid (env " ENV(
                        "CLONE_UID") "); accepted: the source postgresql resource's metadata.uid "
                                     "(letters, digits and '-')",
                    cfg->install_clone_uid);
        }
        snprintf(s->clone_suffix, sizeof(s->clone_suffix), "/%s", uid);
    }
    if (*s->clone_target_time && util_parse_rfc3339(s->clone_target_time, &target_s, NULL) < 0)
        return bad(&v,
                   "[install] clone_target_time = '%s' is not valid (env " ENV(
                       "CLONE_TARGET_TIME") "); accepted: an RFC 3339 time with zone, e.g. "
                                            "2030-01-01T00:00:00+00:00, or "
                                            "unset for the latest state",
                   s->clone_target_time);
    if (*s->clone_endpoint && !install_endpoint_ok(s->clone_endpoint)) {
        const char *ep = s->clone_endpoint;
        const char *sep = strstr(ep, "://");
        const char *plus = strchr(ep, '+');
        char fix[300];

        if (sep && plus && plus < sep &&
            (strncmp(ep, "http+", 5) == 0 || strncmp(ep, "https+", 6) == 0))
            snprintf(fix, sizeof(fix), "%.*s://%s", (int)(plus - ep), ep, sep + 3);
        else
            snprintf(fix, sizeof(fix), "https://host:port");
        snprintf(err, errlen,
                 "[install] clone_endpoint = '%s' cannot work: WAL-G (the clone tool for S3) "
                 "takes CLONE_AWS_ENDPOINT as it is and accepts only http:// or https:// "
                 "(\"unsupported protocol scheme\" otherwise, WAL-E's +path form included), so "
                 "the new cluster would never come up; set clone_endpoint = %s (for AWS S3 leave "
                 "it unset and set region); nothing was applied",
                 ep, fix);
        return -EPERM;
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

json_t *install_service_account(const struct install_settings *s)
{
    return object("v1", "ServiceAccount", meta(s->pod_service_account, s->namespace, true));
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

    json_object_set_new(m, "labels",
                        json_pack("{s:s,s:s}", "app.kubernetes.io/name", "spilo-agent",
                                  "app.kubernetes.io/component", component));
    return m;
}

json_t *install_pod_monitor(const struct install_settings *s)
{
    json_t *pm = object("monitoring.coreos.com/v1", "PodMonitor", monitoring_meta(s, "monitoring"));
    json_t *spec = json_loads(podmonitor_spec_json, 0, NULL);

    if (!spec)
        abort();
    json_object_set_new(pm, "spec", spec);
    return pm;
}

json_t *install_prometheus_rule(const struct install_settings *s)
{
    json_t *pr =
        object("monitoring.coreos.com/v1", "PrometheusRule", monitoring_meta(s, "alert-rules"));
    json_t *groups = json_loads(rules_groups_json, 0, NULL);

    if (!groups)
        abort();
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
    add(plan, "ServiceAccount", "", "serviceaccounts", s->namespace, s->pod_service_account,
        install_service_account(s), INSTALL_APPLY);
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
        "spilo-agent", install_pod_monitor(s), INSTALL_IF_CRD);
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

    if (install_selector_check(selector) < 0)
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

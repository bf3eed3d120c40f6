/* config.c - INI (inih) + environment + --set flags -> struct config, through one key table.
 * Owns parsing, defaults, validation and the generated key documentation. Every key has a type
 * that validates its value once, at load, with one sentence for every source (file:line, key,
 * value, environment variable, what is accepted). Does no logging: errors are returned as that
 * sentence, warnings are kept in the config for the caller to show. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule.h"
#include "secret.h"
#include "util.h"

/* A key's type says how its text is checked and where the value is stored. Text types keep the
 * text in a char * field; "" is accepted only for a key whose default is "" (unset / derived). */
enum cfg_type {
    CFG_STRING,        /* any text */
    CFG_PATH,          /* a file or directory path (not empty) */
    CFG_ENUM,          /* one of the key's values; the index is stored in an int (-1 = unset) */
    CFG_DNS_LABEL,     /* RFC 1123 label, at most 63: a namespace */
    CFG_DNS_NAME,      /* RFC 1123 subdomain, at most 253: most Kubernetes object names */
    CFG_BUCKET,        /* an S3 bucket name */
    CFG_REGION,        /* an S3 region: a DNS label (eu-central-1, or a store's own name) */
    CFG_IMAGE,         /* a container image reference */
    CFG_CRON,          /* a schedule cron_parse() accepts */
    CFG_RFC3339,       /* a time with zone */
    CFG_URL,           /* http:// or https:// and a host */
    CFG_S3_URL,        /* s3://bucket/path */
    CFG_LISTEN,        /* numeric-address:port; also fills listen_host and listen_port */
    CFG_SELECTOR,      /* k=v[,k=v] Kubernetes label selector */
    CFG_CONFIGMAP_REF, /* name or namespace/name */
    CFG_UID,           /* a Kubernetes metadata.uid, optionally after a '/' */
    CFG_DURATION,      /* uint64_t milliseconds, > 0 */
    CFG_COUNT,         /* int64_t, a whole number >= 1, or "" (-1) for automatic */
    CFG_BOOL,          /* bool */
    CFG_TRISTATE,      /* int: 1, 0, or -1 for "" */
};

enum cfg_flag {
    CFG_RESTART = 1 << 0, /* a reload keeps the running value: it takes effect at a restart */
    CFG_SECRET = 1 << 1,  /* a rejected value is never shown */
};

struct config_key {
    const char *section;
    const char *name;
    enum cfg_type type;
    size_t offset;
    const char *const *values; /* CFG_ENUM: the accepted words, NULL-terminated */
    unsigned flags;
    const char *def;     /* default text; "" = unset or derived at load (see doc) */
    const char *doc_def; /* default as documented */
    const char *help;
};

#define KEYX(sect, name, type, field, values, flags, def, doc_def, help)                           \
    {                                                                                              \
        sect, name, type, offsetof(struct config, field), values, flags, def, doc_def, help        \
    }
#define KEY(sect, name, type, field, def, doc_def, help)                                           \
    KEYX(sect, name, type, field, NULL, 0, def, doc_def, help)
#define KEY_ENUM(sect, name, field, values, def, doc_def, help)                                    \
    KEYX(sect, name, CFG_ENUM, field, values, 0, def, doc_def, help)
#define KEY_RESTART(sect, name, type, field, def, doc_def, help)                                   \
    KEYX(sect, name, type, field, NULL, CFG_RESTART, def, doc_def, help)
#define KEY_SECRET(sect, name, type, field, def, doc_def, help)                                    \
    KEYX(sect, name, type, field, NULL, CFG_SECRET, def, doc_def, help)

/* CFG_ENUM values: the stored int is the index, so the order follows the C enum. */
static const char *const log_formats[] = {"json", "text", NULL}; /* enum log_format */
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL}; /* log_level */
static const char *const install_targets[] = {"harbor-operator", "postgres-operator", NULL};

static const struct config_key keys[] = {
    KEY_RESTART("agent", "listen", CFG_LISTEN, listen, "0.0.0.0:8009", "`0.0.0.0:8009`",
                "HTTP address: a numeric IP address and a port (Patroni uses 8008)."),
    KEY("agent", "interval", CFG_DURATION, interval_ms, "60s", "`60s`",
        "How often each check runs."),
    KEY("agent", "check_timeout", CFG_DURATION, check_timeout_ms, "20s", "`20s`",
        "Deadline for one check run; a run that misses it reports `unknown`."),
    KEY("agent", "request_timeout", CFG_DURATION, request_timeout_ms, "10s", "`10s`",
        "A client must send a whole request within this (slow clients are closed with 408)."),
    KEY("agent", "idle_timeout", CFG_DURATION, idle_timeout_ms, "60s", "`60s`",
        "Idle keep-alive connections are closed after this."),
    KEY("agent", "max_connections", CFG_COUNT, max_connections, "1024", "`1024`",
        "Open HTTP connections at most; further ones are closed at once."),
    KEY_ENUM("agent", "log_format", log_format, log_formats, "json", "`json`",
             "`json` (one object per line) or `text` for humans; on stderr."),
    KEY_ENUM("agent", "log_level", log_level, log_levels, "info", "`info`",
             "`error`, `warn`, `info` or `debug`."),
    KEY_SECRET(
        "postgres", "conninfo", CFG_STRING, conninfo, "",
        "built from `PGHOST`/`PGPORT`/`POSTGRES_USER`/`POSTGRES_PASSWORD`, `sslmode=require`",
        "libpq connection string or URI. The password is never shown."),
    KEY("postgres", "patroni_url", CFG_URL, patroni_url, "http://127.0.0.1:8008",
        "`http://127.0.0.1:8008`", "Patroni REST API, asked for the member role."),
    KEY("postgres", "superuser", CFG_STRING, pg_superuser, "",
        "env `PGUSER_SUPERUSER`, else `POSTGRES_USER`, else `postgres`",
        "Spilo's superuser, whose local and replication connections pg_hba must allow."),
    KEY("postgres", "replication_user", CFG_STRING, pg_replication_user, "",
        "env `PGUSER_STANDBY`, else `standby`",
        "Spilo's replication user, whose connections pg_hba must allow."),
    KEY("walg", "envdir", CFG_PATH, envdir, "/run/etc/wal-e.d/env", "`/run/etc/wal-e.d/env`",
        "WAL-G/WAL-E envdir, read like runit `chpst -e`. When it is not mounted, the values are "
        "derived from the environment like Spilo does."),
    KEY("walg", "clone_envdir", CFG_PATH, clone_envdir, "", "`/run/etc/wal-e.d/env-clone-*`",
        "Clone envdirs (glob); by default `env-clone-*` beside `envdir`."),
    KEY("walg", "prefix", CFG_S3_URL, prefix, "",
        "from the envdir, else derived like Spilo from `WAL_S3_BUCKET`, `SCOPE`, "
        "`WAL_BUCKET_SCOPE_PREFIX`/`SUFFIX`, `PGVERSION`",
        "S3 prefix that holds `basebackups_005/` and `wal_005/`."),
    KEY("backups", "schedule", CFG_CRON, schedule, "",
        "env `BACKUP_SCHEDULE`, else Spilo's `0 1 * * *`", "5-field cron expression, UTC."),
    KEY("backups", "retain", CFG_COUNT, retain, "", "envdir/env `BACKUP_NUM_TO_RETAIN`, else 5",
        "Expected number of full backups."),
    KEY("backups", "grace", CFG_DURATION, grace_ms, "",
        "half the shortest gap between scheduled times, at most `1h` (`5m` for `*/10 * * * *`)",
        "How long after a scheduled time a backup may take to land."),
    KEY("backups", "wal_sweep_interval", CFG_DURATION, wal_sweep_interval_ms, "24h", "`24h`",
        "How often the WAL chain is listed anew from the start, so that segments deleted from "
        "`wal_005/` (a lifecycle rule, by hand) leave it; a sweep costs a few listing pages per "
        "run until it reaches the end."),
    KEY("s3", "endpoint", CFG_URL, s3_endpoint, "",
        "from the envdir (`AWS_ENDPOINT`/`WALE_S3_ENDPOINT`)", "S3 endpoint URL."),
    KEY("s3", "region", CFG_STRING, s3_region, "", "from the envdir (`AWS_REGION`)", "S3 region."),
    KEY("s3", "force_path_style", CFG_TRISTATE, s3_force_path_style, "",
        "from the envdir (`AWS_S3_FORCE_PATH_STYLE`)", "Path-style instead of virtual-host URLs."),
    KEY("kubernetes", "api", CFG_URL, k8s_api, "",
        "in-cluster (`https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`)",
        "Kubernetes API server URL, for `install`, `cleanup` and `status`; set, it wins over "
        "`KUBECONFIG` and `~/.kube/config` (docs/kubeconfig.md)."),
    KEY("kubernetes", "token_file", CFG_PATH, k8s_token_file,
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "`/var/run/secrets/kubernetes.io/serviceaccount/token`", "Bearer token file."),
    KEY("kubernetes", "ca_file", CFG_PATH, k8s_ca_file,
        "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        "`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`", "CA bundle of the API server."),
    KEY("kubernetes", "namespace", CFG_DNS_LABEL, k8s_namespace, "",
        "env `POD_NAMESPACE`, else the service account's `namespace` file",
        "Namespace of the cluster (and of `[cleanup] configmap` given without one)."),
    KEY("kubernetes", "kubeconfig", CFG_PATH, k8s_kubeconfig, "",
        "none: env `KUBECONFIG`, else `~/.kube/config`, else in-cluster",
        "kubeconfig file (`--kubeconfig`); overrides `api`, `token_file` and `ca_file`."),
    KEY("kubernetes", "context", CFG_STRING, k8s_context, "", "the kubeconfig's current-context",
        "kubeconfig context (`--context`)."),
    KEY("cleanup", "allow_http", CFG_BOOL, cleanup_allow_http, "false", "`false`",
        "Whether `POST /cleanup` exists. Needs `token_file`."),
    KEY("cleanup", "token_file", CFG_PATH, cleanup_token_file, "", "none",
        "File with the bearer token `POST /cleanup` requires."),
    KEY("cleanup", "configmap", CFG_CONFIGMAP_REF, cleanup_configmap, "pod-config", "`pod-config`",
        "The pod environment ConfigMap (the operator's `pod_environment_configmap`) whose "
        "`CLONE_*` keys `cleanup` removes: `name` (in `[kubernetes] namespace`) or "
        "`namespace/name`."),
    KEY("cleanup", "cluster", CFG_DNS_LABEL, cleanup_cluster, "", "none: the local `restore` check",
        "From outside the pod: the cluster (label `cluster-name`, in `[kubernetes] namespace` or "
        "the kubeconfig context's) whose agent's `restore` check, read through the pod proxy, "
        "decides whether `cleanup` may go on (`--cluster`)."),
    KEY_ENUM("install", "target", install_target, install_targets, "", "none (required)",
             "`install`: which operator manages the clusters, `harbor-operator` (its bundled "
             "postgres-operator, secrets named `{username}.{cluster}.credentials`) or "
             "`postgres-operator`."),
    KEY("install", "namespace", CFG_DNS_LABEL, install_namespace, "", "none (required)",
        "`install`: the cluster's namespace (pod-config, credentials Secret, RBAC)."),
    KEY("install", "operator_namespace", CFG_DNS_LABEL, install_operator_namespace, "",
        "none (required)",
        "`install`: namespace of the postgres-operator (its OperatorConfiguration and pod)."),
    KEY("install", "cluster", CFG_DNS_NAME, install_cluster, "", "none (required)",
        "`install`: the `postgresql` resource's name, e.g. `postgresql-harbor-harborcluster` "
        "(harbor-operator: `postgresql-<namespace>-<harborcluster>`)."),
    KEY("install", "bucket", CFG_BUCKET, install_bucket, "", "none (required)",
        "`install`: the S3 bucket (`WAL_S3_BUCKET`)."),
    KEY("install", "region", CFG_REGION, install_region, "", "none (required without `endpoint`)",
        "`install`: the bucket's region (`AWS_REGION`)."),
    KEY("install", "endpoint", CFG_URL, install_endpoint, "", "none (AWS S3)",
        "`install`: `http(s)://host:port` of an S3-compatible store (`AWS_ENDPOINT`, path style)."),
    KEY("install", "credentials_secret", CFG_DNS_NAME, install_credentials_secret,
        "pod-credentials", "`pod-credentials`",
        "`install`: the Secret with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` "
        "(`pod_environment_secret`); created from `access_key_file`/`secret_key_file` when they "
        "are set, else it must exist."),
    KEY("install", "access_key_file", CFG_PATH, install_access_key_file, "", "none",
        "`install`: file holding the access key id for the credentials Secret."),
    KEY("install", "secret_key_file", CFG_PATH, install_secret_key_file, "", "none",
        "`install`: file holding the secret access key (never printed)."),
    KEY("install", "spilo_image", CFG_IMAGE, install_spilo_image, "ghcr.io/zalando/spilo-16:3.2-p3",
        "`ghcr.io/zalando/spilo-16:3.2-p3`",
        "`install`: the operator's `docker_image` (a recent Spilo)."),
    KEY("install", "agent_image", CFG_IMAGE, install_agent_image, "", "none (required)",
        "`install`: the spilo-agent sidecar image."),
    KEY("install", "backup_schedule", CFG_CRON, install_backup_schedule, "0 1 * * *", "`0 1 * * *`",
        "`install`: `BACKUP_SCHEDULE` (cron, UTC)."),
    KEY("install", "retain", CFG_COUNT, install_retain, "5", "`5`",
        "`install`: `BACKUP_NUM_TO_RETAIN`."),
    KEY("install", "pod_config", CFG_DNS_NAME, install_pod_config, "pod-config", "`pod-config`",
        "`install`: the pod environment ConfigMap (`pod_environment_configmap`)."),
    KEY("install", "pod_service_account", CFG_DNS_NAME, install_pod_service_account, "postgres-pod",
        "`postgres-pod`",
        "`install`: the Spilo pods' service account (operator option `pod_service_account_name`) "
        "bound to the sidecar's Role."),
    KEY("install", "operator_configuration", CFG_DNS_NAME, install_operator_configuration, "",
        "`harbor-operator-postgres-operator` (harbor-operator), `postgres-operator`",
        "`install`: the OperatorConfiguration the operator reads (its "
        "`POSTGRES_OPERATOR_CONFIGURATION_OBJECT`); it must exist."),
    KEY("install", "operator_selector", CFG_SELECTOR, install_operator_selector,
        "app.kubernetes.io/name=postgres-operator", "`app.kubernetes.io/name=postgres-operator`",
        "`install`: labels (`k=v[,k=v]`) of the operator pod restarted after a configuration "
        "change."),
    KEY("install", "restart_timeout", CFG_DURATION, install_restart_timeout_ms, "3m", "`3m`",
        "`install`: how long to wait for the new operator pod to be Ready."),
    KEY("install", "pg_hba", CFG_BOOL, install_pg_hba, "true", "`true`",
        "`install`: whether to set the `postgresql` resource's `spec.patroni.pg_hba` to the list "
        "that lets `postgres`/`standby` connect locally and replicate."),
    KEY("install", "monitoring_namespace", CFG_DNS_LABEL, install_monitoring_namespace, "",
        "`namespace`", "`install`: namespace of the PodMonitor and PrometheusRule."),
    KEY("install", "monitoring_labels", CFG_SELECTOR, install_monitoring_labels,
        "release=kube-prometheus-stack", "`release=kube-prometheus-stack`",
        "`install`: labels (`k=v[,k=v]`) of the PodMonitor and PrometheusRule; "
        "kube-prometheus-stack selects them by its Helm release label (`release=<release name>`)."),
    KEY("install", "runbook_base", CFG_URL, install_runbook_base,
        "https://spilo-agent.example.org/docs/alerts.md",
        "`https://spilo-agent.example.org/docs/alerts.md`",
        "`install`: where docs/alerts.md is hosted; every alert's `runbook_url` is "
        "`<runbook_base>#<alert>`."),
    KEY("install", "clone_cluster", CFG_DNS_NAME, install_clone_cluster, "",
        "none (required with `--mode restore`)",
        "`install --mode restore`: the source cluster's name (`CLONE_SCOPE`)."),
    KEY("install", "clone_uid", CFG_UID, install_clone_uid, "", "none",
        "`install --mode restore`: the source's uid when its prefix has one "
        "(`CLONE_WAL_BUCKET_SCOPE_SUFFIX=/<uid>`)."),
    KEY("install", "clone_target_time", CFG_RFC3339, install_clone_target_time, "", "none (latest)",
        "`install --mode restore`: point in time, RFC 3339 with zone (`CLONE_TARGET_TIME`); "
        "refused when the source's backups and WAL cannot reach it."),
    KEY("install", "clone_endpoint", CFG_URL, install_clone_endpoint, "", "none",
        "`install --mode restore`: `http(s)://host:port` for the source (`CLONE_AWS_ENDPOINT`)."),
    KEY("install", "source_namespace", CFG_DNS_LABEL, install_source_namespace, "", "`namespace`",
        "`install --mode restore`: namespace of the source cluster's credentials Secrets."),
};

#define N_KEYS ARRAY_LEN(keys)

/* The sections are those of the keys, in table order (the keys of a section stay together; a load
 * aborts otherwise): keys[i] is the first key of its section. */
static bool section_starts(size_t i)
{
    return i == 0 || strcmp(keys[i - 1].section, keys[i].section) != 0;
}

/* inih reads a line into a 200-byte buffer (INI_MAX_LINE) and parses whatever does not fit as a
 * line of its own; its header asks for 3 bytes of room ('\r', '\n', '\0'). */
#define INI_LONGEST_LINE 197
#define CONFIG_FILE_MAX  (1024 * 1024)

struct load_ctx {
    struct config *cfg;
    char *err;
    size_t errlen;
    bool failed;
};

static void *field_ptr(struct config *c, const struct config_key *k)
{
    return (char *)c + k->offset;
}

static bool is_text(enum cfg_type t)
{
    return t != CFG_ENUM && t != CFG_DURATION && t != CFG_COUNT && t != CFG_BOOL &&
           t != CFG_TRISTATE;
}

static void enum_list(const struct config_key *k, char *buf, size_t len)
{
    size_t n = 0, j = 0;

    while (k->values[n])
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        j += (size_t)snprintf(buf + j, j < len ? len - j : 0, "%s%s",
                              i == 0       ? ""
                              : i + 1 == n ? " or "
                                           : ", ",
                              k->values[i]);
}

/* What a key accepts, as the end of "...; accepted: <this>" and the docs' accepted column. */
static const char *accepted(const struct config_key *k, char *buf, size_t len)
{
    switch (k->type) {
    case CFG_STRING:
        return "any text";
    case CFG_PATH:
        return "a file or directory path";
    case CFG_ENUM:
        enum_list(k, buf, len);
        return buf;
    case CFG_DNS_LABEL:
        return "a Kubernetes name (RFC 1123 label): lower case letters, digits and '-', starting "
               "and ending with a letter or digit, at most 63 characters";
    case CFG_DNS_NAME:
        return "a Kubernetes name (RFC 1123 subdomain): lower case letters, digits, '-' and '.', "
               "starting and ending with a letter or digit, at most 253 characters";
    case CFG_BUCKET:
        return "an S3 bucket name: 3 to 63 lower case letters, digits, '.' and '-'";
    case CFG_REGION:
        return "a region name: lower case letters, digits and '-', e.g. eu-central-1";
    case CFG_IMAGE:
        return "an image reference [registry[:port]/]name[:tag][@sha256:digest], e.g. "
               "ghcr.io/zalando/spilo-16:3.2-p3";
    case CFG_CRON:
        return "5 cron fields (minute hour day-of-month month day-of-week, UTC) or "
               "@hourly/@daily/@weekly/@monthly, e.g. '0 1 * * *'";
    case CFG_RFC3339:
        return "an RFC 3339 time with zone, e.g. 2030-01-01T00:00:00+00:00";
    case CFG_URL:
        return "an http:// or https:// URL with a host, e.g. https://host:port";
    case CFG_S3_URL:
        return "s3://bucket/path";
    case CFG_LISTEN:
        return "a numeric IP address and a port, e.g. 0.0.0.0:8009, 127.0.0.1:8009 or [::]:8009 "
               "(no host names)";
    case CFG_SELECTOR:
        return "label=value pairs separated by ',', e.g. app.kubernetes.io/name=postgres-operator";
    case CFG_CONFIGMAP_REF:
        return "a ConfigMap name or namespace/name (lower case letters, digits, '-' and '.'), "
               "e.g. pod-config or harbor/pod-config";
    case CFG_UID:
        return "a Kubernetes metadata.uid (letters, digits and '-'), optionally after a '/'";
    case CFG_DURATION:
        return *k->def ? "a number with an s, m, h or d suffix, e.g. 60s"
                       : "a number with an s, m, h or d suffix, e.g. 60s, or empty for automatic";
    case CFG_COUNT:
        return "a whole number >= 1, or empty for automatic";
    case CFG_BOOL:
        return "true or false";
    case CFG_TRISTATE:
        return "true, false, or empty for automatic";
    }
    return "?";
}

/* ---- validators (pure, no allocation) ---------------------------------------------------------
 */

static bool has_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

/* RFC 1123 label (max 63, no dots) or subdomain (max 253, dot-separated labels). */
static bool dns_ok(const char *s, size_t max, bool dots)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!(islower(c) || isdigit(c) || c == '-' || (dots && c == '.')))
            return false;
        if (c == '.' && (s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
            return false;
    }
    return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static bool bucket_ok(const char *s)
{
    return strlen(s) >= 3 && dns_ok(s, 63, true);
}

/* One path component of an image name: [a-z0-9]+ joined by '.', '_', '__' or '-'+. */
static bool image_component_ok(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (islower(c) || isdigit(c) || c == '-')
            continue;
        if ((c == '.' || c == '_') && isalnum((unsigned char)s[i + 1]))
            continue;
        if (c == '_' && s[i + 1] == '_' && i + 2 < n && isalnum((unsigned char)s[i + 2])) {
            i++;
            continue;
        }
        return false;
    }
    return true;
}

static bool image_host_ok(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;

    if (hn == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[hn - 1]))
        return false;
    for (size_t i = 0; i < hn; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    }
    if (colon) {
        if (colon + 1 == s + n)
            return false;
        for (const char *p = colon + 1; p < s + n; p++) {
            if (!isdigit((unsigned char)*p))
                return false;
        }
    }
    return true;
}

/* The reference grammar of the distribution project (distribution/reference/regexp.go):
 * [host[:port]/]component(/component)*[:tag][@algorithm:hex]. */
static bool image_ok(const char *s)
{
    size_t len = strlen(s);
    const char *at = strchr(s, '@'), *end = at ? at : s + len;
    const char *last_slash = memrchr(s, '/', (size_t)(end - s));
    const char *from = last_slash ? last_slash : s;
    const char *tag = memchr(from, ':', (size_t)(end - from));
    const char *name_end = tag ? tag : end, *p = s;
    const char *first_slash = memchr(s, '/', (size_t)(name_end - s));

    if (len == 0 || len > 512 || name_end == s)
        return false;
    if (at) { /* algorithm:hex, at least 32 hex digits */
        const char *colon = strchr(at + 1, ':');
        size_t hex = 0;

        if (!colon || colon == at + 1)
            return false;
        for (const char *q = at + 1; q < colon; q++) {
            if (!isalnum((unsigned char)*q) && !strchr("-_+.", *q))
                return false;
        }
        for (const char *q = colon + 1; *q; q++, hex++) {
            if (!isxdigit((unsigned char)*q))
                return false;
        }
        if (hex < 32)
            return false;
    }
    if (tag) {
        size_t n = (size_t)(end - tag - 1);

        if (n == 0 || n > 128 || !(isalnum((unsigned char)tag[1]) || tag[1] == '_'))
            return false;
        for (const char *q = tag + 1; q < end; q++) {
            if (!isalnum((unsigned char)*q) && !strchr("_.-", *q))
                return false;
        }
    }
    /* A first component with '.' or ':' or "localhost" is a registry host. */
    if (first_slash &&
        (memchr(s, '.', (size_t)(first_slash - s)) || memchr(s, ':', (size_t)(first_slash - s)) ||
         (first_slash - s == 9 && strncmp(s, "localhost", 9) == 0))) {
        if (!image_host_ok(s, (size_t)(first_slash - s)))
            return false;
        p = first_slash + 1;
    }
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(name_end - p));
        const char *ce = q ? q : name_end;

        if (!image_component_ok(p, (size_t)(ce - p)))
            return false;
        if (!q)
            return true;
        p = q + 1;
    }
}

/* "http://" or "https://", a host, no blanks. */
static bool url_ok(const char *url)
{
    const char *host;

    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return false;
    if (!*host || *host == '/' || *host == ':' || *host == '?' || *host == '#')
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

static bool selector_ok(const char *selector)
{
    const char *p = selector;

    if (!*selector)
        return false;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));

        if (!eq || !label_part_ok(p, (size_t)(eq - p)) ||
            (eq + 1 < end && !label_part_ok(eq + 1, (size_t)(end - eq - 1))))
            return false;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return false;
    }
    return true;
}

/* "name" or "namespace/name", each a lower-case DNS name. */
static bool configmap_ref_ok(const char *v)
{
    const char *slash = strchr(v, '/');
    char ns[254];

    if (!slash)
        return dns_ok(v, 253, true);
    if (strchr(slash + 1, '/') || (size_t)(slash - v) >= sizeof(ns))
        return false;
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - v), v);
    return dns_ok(ns, 253, true) && dns_ok(slash + 1, 253, true);
}

static bool uid_ok(const char *v)
{
    while (*v == '/')
        v++;
    if (!*v || strlen(v) > 64)
        return false;
    for (; *v; v++) {
        if (!isalnum((unsigned char)*v) && *v != '-')
            return false;
    }
    return true;
}

/* host:port with a numeric IPv4 address or a bracketed IPv6 one. */
static int parse_listen(const char *v, char *host, size_t hostlen, int *port)
{
    const char *colon, *h_start = v, *h_end;
    unsigned char addr[16];
    int64_t p;

    if (v[0] == '[') {
        h_end = strchr(v, ']');
        if (!h_end || h_end[1] != ':')
            return -EINVAL;
        h_start = v + 1;
        colon = h_end + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon)
            return -EINVAL;
        h_end = colon;
    }
    if ((size_t)(h_end - h_start) >= hostlen || h_end == h_start)
        return -EINVAL;
    snprintf(host, hostlen, "%.*s", (int)(h_end - h_start), h_start);
    if (inet_pton(v[0] == '[' ? AF_INET6 : AF_INET, host, addr) != 1)
        return -EINVAL;
    if (!isdigit((unsigned char)colon[1]) || util_parse_i64(colon + 1, &p) < 0 || p < 1 ||
        p > 65535)
        return -EINVAL;
    *port = (int)p;
    return 0;
}

/* Checks value against k's type; fills why with a reason when there is more to say than the
 * accepted list (the cron field at fault, the fix of a WAL-E style URL). */
static int check_value(const struct config_key *k, const char *value, char *why, size_t whylen)
{
    struct cron_schedule cs;
    char host[64];
    int64_t n, t;
    uint64_t ms;
    bool b;
    int port;

    why[0] = '\0';
    if (is_text(k->type) && *value == '\0')
        return *k->def == '\0' ? 0 : -EINVAL;
    if (is_text(k->type) && k->type != CFG_STRING && has_control(value))
        return -EINVAL;
    switch (k->type) {
    case CFG_STRING:
    case CFG_PATH:
        return 0;
    case CFG_ENUM:
        for (size_t i = 0; k->values[i]; i++) {
            if (strcmp(value, k->values[i]) == 0)
                return 0;
        }
        return *value == '\0' && *k->def == '\0' ? 0 : -EINVAL;
    case CFG_DNS_LABEL:
    case CFG_REGION:
        return dns_ok(value, 63, false) ? 0 : -EINVAL;
    case CFG_DNS_NAME:
        return dns_ok(value, 253, true) ? 0 : -EINVAL;
    case CFG_BUCKET:
        return bucket_ok(value) ? 0 : -EINVAL;
    case CFG_IMAGE:
        return image_ok(value) ? 0 : -EINVAL;
    case CFG_CRON:
        return cron_parse(value, &cs, why, whylen) < 0 ? -EINVAL : 0;
    case CFG_RFC3339:
        return util_parse_rfc3339(value, &t, NULL) < 0 ? -EINVAL : 0;
    case CFG_URL: {
        const char *sep = strstr(value, "://"), *plus = strchr(value, '+');

        if (url_ok(value))
            return 0;
        if (sep && plus && plus < sep &&
            (strncmp(value, "http+", 5) == 0 || strncmp(value, "https+", 6) == 0))
            snprintf(
                why, whylen,
                "WAL-G takes the endpoint as it is and knows only http:// and https:// "
                "(WAL-E's +path form gives \"unsupported protocol scheme\"): set %s = %.*s://%s",
                k->name, (int)(plus - value), value, sep + 3);
        return -EINVAL;
    }
    case CFG_S3_URL:
        return strncmp(value, "s3://", 5) == 0 && value[5] && value[5] != '/' ? 0 : -EINVAL;
    case CFG_LISTEN:
        return parse_listen(value, host, sizeof(host), &port);
    case CFG_SELECTOR:
        return selector_ok(value) ? 0 : -EINVAL;
    case CFG_CONFIGMAP_REF:
        return configmap_ref_ok(value) ? 0 : -EINVAL;
    case CFG_UID:
        return uid_ok(value) ? 0 : -EINVAL;
    case CFG_DURATION:
        if (*value == '\0' && *k->def == '\0')
            return 0; /* derived where it is used ([backups] grace) */
        return util_parse_duration_ms(value, &ms) < 0 || ms == 0 ? -EINVAL : 0;
    case CFG_COUNT:
        if (*value == '\0')
            return 0;
        return util_parse_i64(value, &n) < 0 || n < 1 || n > 100000 ? -EINVAL : 0;
    case CFG_BOOL:
        return util_parse_bool(value, &b);
    case CFG_TRISTATE:
        return *value == '\0' ? 0 : util_parse_bool(value, &b);
    }
    return -EINVAL;
}

/* Stores a value check_value() accepted. */
static void store_value(struct config *c, size_t ki, const char *value)
{
    const struct config_key *k = &keys[ki];
    void *f = field_ptr(c, k);
    char host[64];
    uint64_t ms = 0;
    int64_t n = -1;
    bool b = false;

    free(c->text[ki]);
    c->text[ki] = xstrdup(value);
    switch (k->type) {
    case CFG_ENUM:
        *(int *)f = -1;
        for (size_t i = 0; k->values[i]; i++) {
            if (strcmp(value, k->values[i]) == 0)
                *(int *)f = (int)i;
        }
        return;
    case CFG_DURATION:
        if (*value == '\0')
            *(uint64_t *)f = 0; /* derived where it is used */
        else if (util_parse_duration_ms(value, &ms) == 0)
            *(uint64_t *)f = ms;
        return;
    case CFG_COUNT:
        if (*value && util_parse_i64(value, &n) < 0)
            n = -1;
        *(int64_t *)f = n;
        return;
    case CFG_BOOL:
        if (util_parse_bool(value, &b) == 0)
            *(bool *)f = b;
        return;
    case CFG_TRISTATE:
        *(int *)f = *value && util_parse_bool(value, &b) == 0 ? b : -1;
        return;
    case CFG_LISTEN:
        if (parse_listen(value, host, sizeof(host), &c->listen_port) == 0) {
            free(c->listen_host);
            c->listen_host = xstrdup(host);
        }
        break;
    default:
        break;
    }
    free(*(char **)f);
    *(char **)f = xstrdup(value);
}

static const struct config_key *find_key(const char *section, const char *name, size_t *index)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) {
            if (index)
                *index = i;
            return &keys[i];
        }
    }
    return NULL;
}

static bool known_section(const char *section)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0)
            return true;
    }
    return false;
}

/* Edit distance with transpositions (optimal string alignment), case-insensitive; 99 for strings
 * longer than 64. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d[65][65];

    if (la > 64 || lb > 64)
        return 99;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (ca != cb);

            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* Whether a typo of length n at distance d is close enough to suggest the candidate. */
static bool close_enough(size_t d, size_t n)
{
    return d <= (n < 6 ? 1 : n < 12 ? 2 : 3);
}

static char *env_name(const struct config_key *k, char *buf, size_t len)
{
    size_t j = (size_t)snprintf(buf, len, "SPILO_AGENT_%s_%s", k->section, k->name);

    for (size_t i = 0; i < j && i < len; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    return buf;
}

/* " did you mean ...?" for an unknown key name in section, or "". */
static void suggest_key(const char *section, const char *name, char *buf, size_t len)
{
    const struct config_key *best = NULL;
    size_t best_d = 99;

    buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].name, name) == 0) { /* the key exists in another section */
            snprintf(buf, len, "; did you mean [%s] %s?", keys[i].section, keys[i].name);
            return;
        }
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        size_t d = distance(name, keys[i].name) + (strcmp(keys[i].section, section) != 0);

        if (d < best_d) {
            best_d = d;
            best = &keys[i];
        }
    }
    if (best && close_enough(best_d, strlen(name))) {
        if (strcmp(best->section, section) == 0)
            snprintf(buf, len, "; did you mean '%s'?", best->name);
        else
            snprintf(buf, len, "; did you mean [%s] %s?", best->section, best->name);
    }
}

static void suggest_section(const char *section, char *buf, size_t len)
{
    size_t best = 0, best_d = 99;

    buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        size_t d = section_starts(i) ? distance(section, keys[i].section) : 99;

        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    if (close_enough(best_d, strlen(section)))
        snprintf(buf, len, "; did you mean [%s]?", keys[best].section);
}

static void fail(struct load_ctx *ctx, const char *fmt, ...) PRINTF(2, 3);
static void fail(struct load_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx->failed)
        return; /* keep the first error: it is the one to fix first */
    ctx->failed = true;
    va_start(ap, fmt);
    secret_vformat(ctx->err, ctx->errlen, fmt, ap); /* a URL's password never shows */
    va_end(ap);
}

/* A rejected value as it may be shown: secrets never, a URL without its user:password@. */
static const char *shown(const struct config_key *k, const char *value, char *buf, size_t len)
{
    const char *sep, *at, *end;

    if (k->flags & CFG_SECRET)
        return "***";
    sep = strstr(value, "://");
    if (!sep)
        return value;
    end = sep + 3 + strcspn(sep + 3, "/?#");
    at = memrchr(sep + 3, '@', (size_t)(end - sep - 3));
    if (!at)
        return value;
    snprintf(buf, len, "%.*s***%s", (int)(sep + 3 - value), value, at);
    return buf;
}

/* The sections as "[agent] [postgres] ..." (brackets) or "agent, postgres, ..." (commas). */
static void section_list(bool brackets, char *buf, size_t len)
{
    size_t j = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        if (section_starts(i))
            j += (size_t)snprintf(buf + j, j < len ? len - j : 0, brackets ? "%s[%s]" : "%s%s",
                                  j == 0     ? ""
                                  : brackets ? " "
                                             : ", ",
                                  keys[i].section);
    }
}

/* The sentence for an unknown section, with the nearest one. */
static void section_error(char *err, size_t errlen, const char *where, const char *section)
{
    char hint[160], list[256];

    suggest_section(section, hint, sizeof(hint));
    section_list(true, list, sizeof(list));
    snprintf(err, errlen, "%s%sunknown section [%s]%s%sknown sections: %s", where ? where : "",
             where ? ": " : "", section, hint, *hint ? " " : "; ", list);
}

/* The one sentence for a value a key does not accept. */
static void value_error(char *err, size_t errlen, const char *where, const struct config_key *k,
                        const char *value, const char *why)
{
    char env[128], list[256], show[512];

    snprintf(err, errlen, "%s%s[%s] %s = '%s' is not valid (env %s)%s%s; accepted: %s",
             where ? where : "", where ? ": " : "", k->section, k->name,
             shown(k, value, show, sizeof(show)), env_name(k, env, sizeof(env)), *why ? ": " : "",
             why, accepted(k, list, sizeof(list)));
}

/* where: "environment variable X", "--set a.b", or NULL inside the INI file (the caller adds
 * file:line). */
static int apply(struct load_ctx *ctx, const char *where, const char *section, const char *name,
                 const char *value)
{
    const struct config_key *k;
    char why[512], hint[160];
    size_t ki;

    if (ctx->failed)
        return -EINVAL;
    if (!known_section(section)) {
        ctx->failed = true;
        section_error(ctx->err, ctx->errlen, where, section);
        return -EINVAL;
    }
    k = find_key(section, name, &ki);
    if (!k) {
        suggest_key(section, name, hint, sizeof(hint));
        fail(ctx, "%s%sunknown key '%s' in [%s]%s%ssee docs/config.md for the keys of [%s]",
             where ? where : "", where ? ": " : "", name, section, hint, *hint ? " " : "; ",
             section);
        return -EINVAL;
    }
    if (check_value(k, value, why, sizeof(why)) < 0) {
        ctx->failed = true;
        value_error(ctx->err, ctx->errlen, where, k, value, why);
        return -EINVAL;
    }
    store_value(ctx->cfg, ki, value);
    return 0;
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;

    if (ctx->failed)
        return 1; /* report only the first error, at its own line */
    if (!name)    /* section header alone, when inih is built to report those */
        return known_section(section) || apply(ctx, NULL, section, "", "") == 0;
    if (*section == '\0') {
        fail(ctx, "key '%s' is outside any section; put it under [agent], [postgres], ...", name);
        return 0;
    }
    return apply(ctx, NULL, section, name, value ? value : "") == 0;
}

/* Kubernetes gives every pod SPILO_AGENT_SERVICE_HOST, SPILO_AGENT_PORT_8009_TCP, ... when a
 * Service named spilo-agent exists in the namespace (enableServiceLinks): not configuration. */
static bool service_link(const char *e)
{
    return strncmp(e, "SPILO_AGENT_SERVICE_", 20) == 0 ||
           strncmp(e, "SPILO_AGENT_PORT=", 17) == 0 || strncmp(e, "SPILO_AGENT_PORT_", 17) == 0;
}

/* Rejects SPILO_AGENT_* variables that name no key, section typos included: a typo must not be
 * ignored. Section names may hold '_', so the whole name is matched against the table. */
static void check_env_typos(struct load_ctx *ctx, char *const *envp)
{
    char name[160], best_name[160] = "", var[160], list[256];

    for (size_t i = 0; envp && envp[i] && !ctx->failed; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        size_t best_d = 99, vlen;
        bool known = false, in_section = false, near;

        if (strncmp(e, "SPILO_AGENT_", 12) != 0 || !eq || service_link(e))
            continue;
        vlen = (size_t)(eq - e);
        snprintf(var, sizeof(var), "%.*s", (int)vlen, e);
        for (size_t k = 0; k < N_KEYS && !known; k++) {
            size_t d, sl;

            env_name(&keys[k], name, sizeof(name));
            known = strcmp(var, name) == 0;
            sl = 12 + strlen(keys[k].section) + 1;
            if (strncmp(var, name, sl) == 0)
                in_section = true;
            d = distance(var + 12, name + 12);
            if (d < best_d) {
                best_d = d;
                snprintf(best_name, sizeof(best_name), "%s", name);
            }
        }
        if (known)
            continue;
        near = close_enough(best_d, strlen(var) - 12);
        section_list(false, list, sizeof(list));
        fail(ctx,
             "environment variable %s names no configuration key%s%s%s%s%s%ssee docs/config.md",
             var,
             in_section ? "" : " (SPILO_AGENT_<SECTION>_<KEY>, and no section is spelt like this: ",
             in_section ? "" : list, in_section ? "" : ")", near ? "; did you mean " : "",
             near ? best_name : "", near ? "? " : "; ");
    }
}

/* libpq keyword=value quoting: single quotes around, backslash before ' and \. */
static void conninfo_add(char **ci, const char *key, const char *value)
{
    size_t len = strlen(*ci), vlen = strlen(value);
    char *q = xmalloc(vlen * 2 + 3), *p = q;
    char *out;

    *p++ = '\'';
    for (const char *v = value; *v; v++) {
        if (*v == '\'' || *v == '\\')
            *p++ = '\\';
        *p++ = *v;
    }
    *p++ = '\'';
    *p = '\0';
    out = xasprintf("%s%s%s=%s", *ci, len ? " " : "", key, q);
    free(q);
    free(*ci);
    *ci = out;
}

static void derive(struct config *c, char *const *envp)
{
    const char *v;

    if (*c->conninfo) {
        c->conninfo_effective = xstrdup(c->conninfo);
    } else {
        char *ci = xstrdup("");

        v = util_env_get(envp, "PGHOST");
        conninfo_add(&ci, "host", v && *v ? v : "localhost");
        v = util_env_get(envp, "PGPORT");
        conninfo_add(&ci, "port", v && *v ? v : "5432");
        v = util_env_get(envp, "POSTGRES_USER");
        conninfo_add(&ci, "user", v && *v ? v : "postgres");
        conninfo_add(&ci, "dbname", "postgres");
        v = util_env_get(envp, "POSTGRES_PASSWORD");
        if (v && *v)
            conninfo_add(&ci, "password", v);
        conninfo_add(&ci, "sslmode", "require");
        c->conninfo_effective = ci;
    }
    if (!*c->pg_superuser) {
        v = util_env_get(envp, "PGUSER_SUPERUSER");
        if (!v || !*v)
            v = util_env_get(envp, "POSTGRES_USER");
        free(c->pg_superuser);
        c->pg_superuser = xstrdup(v && *v ? v : "postgres");
    }
    if (!*c->pg_replication_user) {
        v = util_env_get(envp, "PGUSER_STANDBY");
        free(c->pg_replication_user);
        c->pg_replication_user = xstrdup(v && *v ? v : "standby");
    }
    if (!*c->schedule) {
        v = util_env_get(envp, "BACKUP_SCHEDULE");
        free(c->schedule);
        c->schedule = xstrdup(v && *v ? v : "0 1 * * *");
    }
    if (!*c->k8s_namespace) {
        v = util_env_get(envp, "POD_NAMESPACE");
        free(c->k8s_namespace);
        c->k8s_namespace = xstrdup(v ? v : "");
    }
    if (!*c->k8s_api) {
        const char *h = util_env_get(envp, "KUBERNETES_SERVICE_HOST");
        const char *p = util_env_get(envp, "KUBERNETES_SERVICE_PORT");

        if (h && *h) {
            c->k8s_api_in_cluster = true;
            free(c->k8s_api);
            c->k8s_api = strchr(h, ':') ? xasprintf("https://[%s]:%s", h, p && *p ? p : "443")
                                        : xasprintf("https://%s:%s", h, p && *p ? p : "443");
        }
    }
}

static int read_token(struct load_ctx *ctx, struct config *c)
{
    char why[512];
    char *tok;
    int rc;

    rc = secret_file_read(c->cleanup_token_file, 4096, &tok, why, sizeof(why));
    if (rc < 0) {
        fail(ctx,
             "[cleanup] token_file %s; create it with the bearer token POST /cleanup must present",
             why);
        return -EINVAL;
    }
    /* What is compared is the whole string (no NUL can hide inside: the reader refuses it). */
    if (strlen(tok) < 16) {
        secret_free(tok);
        fail(ctx,
             "[cleanup] token_file '%s' holds a token shorter than 16 characters; put a random "
             "token of at least 16 characters in it (e.g. openssl rand -hex 32)",
             c->cleanup_token_file);
        return -EINVAL;
    }
    c->cleanup_token = tok;
    return 0;
}

static int validate(struct load_ctx *ctx, struct config *c)
{
    if (c->check_timeout_ms > c->interval_ms) {
        fail(ctx,
             "[agent] check_timeout (%llums) is longer than [agent] interval (%llums); make "
             "it shorter so that runs do not overlap",
             (unsigned long long)c->check_timeout_ms, (unsigned long long)c->interval_ms);
        return -EINVAL;
    }
    if (c->max_connections < 1) {
        fail(ctx, "[agent] max_connections must be a whole number >= 1");
        return -EINVAL;
    }
    if (c->cleanup_allow_http) {
        if (!*c->cleanup_token_file) {
            fail(ctx, "[cleanup] allow_http = true needs [cleanup] token_file (the bearer token "
                      "POST /cleanup requires)");
            return -EINVAL;
        }
        return read_token(ctx, c);
    }
    return 0;
}

static void warn(struct config *c, const char *fmt, ...) PRINTF(2, 3);
static void warn(struct config *c, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    c->warnings = xrealloc(c->warnings, (c->n_warnings + 1) * sizeof(*c->warnings));
    c->warnings[c->n_warnings++] = msg;
}

/* Spilo's envdir is /run/etc/wal-e.d/env; a path one level up (the volume, not the envdir) holds
 * env/ and no WAL-G setting. Not an error: the walg_env check reports what it finds there. */
static void check_envdir_parent(struct config *c)
{
    char *sub = xasprintf("%s/env", c->envdir);
    struct stat st;

    if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
        warn(c,
             "[walg] envdir = '%s' holds a folder env/ (Spilo writes the WAL-G settings into "
             "/run/etc/wal-e.d/env); did you mean %s?",
             c->envdir, sub);
    free(sub);
}

/* A directory given as the file: a ConfigMap mounted without subPath. Names the likely file. */
static void directory_error(const char *file, char *err, size_t errlen)
{
    DIR *d = opendir(file);
    struct dirent *de;
    char best[256] = "";
    bool ini = false;

    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        bool is_ini = n > 4 && strcmp(de->d_name + n - 4, ".ini") == 0;

        if (de->d_name[0] == '.' || (ini && !is_ini) || n >= sizeof(best))
            continue;
        if ((is_ini && !ini) || !*best || strcmp(de->d_name, best) < 0) {
            if (is_ini && !ini)
                ini = true;
            snprintf(best, sizeof(best), "%s", de->d_name);
        }
    }
    if (d)
        closedir(d);
    if (*best)
        snprintf(err, errlen,
                 "%s: is a directory, not an INI file (a ConfigMap mounted without subPath puts "
                 "each key in a file of its own); did you mean -c %s%s%s?",
                 file, file, file[strlen(file) - 1] == '/' ? "" : "/", best);
    else
        snprintf(err, errlen,
                 "%s: is a directory, not an INI file, and it holds no file to use; give -c the "
                 "INI file itself",
                 file);
}

/* Reads the whole file without blocking on a FIFO: a regular file of at most 1 MiB. */
static int read_file(const char *file, char **out, char *err, size_t errlen)
{
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    size_t len = 0;
    char *buf;

    if (fd < 0) {
        int e = errno;

        snprintf(err, errlen, "%s: cannot read the configuration file: %s", file, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
        bool dir = S_ISDIR(st.st_mode);

        close(fd);
        if (dir)
            directory_error(file, err, errlen);
        else if (S_ISREG(st.st_mode))
            snprintf(err, errlen, "%s: the configuration file is larger than 1 MiB", file);
        else
            snprintf(err, errlen, "%s: is not a regular file; give -c an INI file", file);
        return -EINVAL;
    }
    buf = xmalloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;

            close(fd);
            free(buf);
            snprintf(err, errlen, "%s: cannot read the configuration file: %s", file, strerror(e));
            return -e;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        size_t line = 1;

        for (size_t i = 0; i < strlen(buf); i++)
            line += buf[i] == '\n';
        free(buf);
        snprintf(err, errlen, "%s:%zu: the line holds a NUL byte; an INI file is text", file, line);
        return -EINVAL;
    }
    *out = buf;
    return 0;
}

/* What inih would read differently from what the file says: a line longer than its buffer (the
 * rest becomes a line of its own) and an indented line (a continuation that replaces the previous
 * value). Both are refused with the line. */
static int precheck(const char *file, const char *text, char *err, size_t errlen)
{
    size_t line = 1;

    for (const char *p = text; *p; line++) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p), *q = p;
        size_t len = (size_t)(end - p);

        if (len > 0 && end[-1] == '\r')
            len--;
        if (len > INI_LONGEST_LINE) {
            snprintf(err, errlen,
                     "%s:%zu: the line is %zu characters long; the INI reader takes at most %d "
                     "and would read the rest as a line of its own: shorten it (a long value can "
                     "go into its environment variable)",
                     file, line, len, INI_LONGEST_LINE);
            return -EINVAL;
        }
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q > p && q < end && *q != ';' && *q != '#' && *q != '\r') {
            snprintf(err, errlen,
                     "%s:%zu: the line starts with blanks; the INI reader would take it as the "
                     "continuation of the value above, not as a line of its own: remove the "
                     "indentation",
                     file, line);
            return -EINVAL;
        }
        if (*p == '[' && memchr(p, ']', len)) { /* a section without keys is checked too */
            char section[200], where[300];

            snprintf(section, sizeof(section), "%.*s", (int)((char *)memchr(p, ']', len) - p - 1),
                     p + 1);
            if (!known_section(section)) {
                snprintf(where, sizeof(where), "%s:%zu", file, line);
                section_error(err, errlen, where, section);
                return -EINVAL;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static int load_file(struct load_ctx *ctx, const char *file)
{
    char *text = NULL;
    int line, rc;

    rc = read_file(file, &text, ctx->err, ctx->errlen);
    if (rc == 0)
        rc = precheck(file, text, ctx->err, ctx->errlen);
    if (rc < 0) {
        free(text);
        ctx->failed = true;
        return rc;
    }
    ctx->cfg->file = xstrdup(file);
    line = ini_parse_string(text, ini_cb, ctx);
    free(text);
    if (line != 0 && ctx->failed) {
        /* inih returns the line of the first error the handler reported */
        char *msg = xasprintf("%s:%d: %s", file, line, ctx->err);

        snprintf(ctx->err, ctx->errlen, "%s", msg);
        free(msg);
        return -EINVAL;
    }
    if (line != 0) {
        fail(ctx,
             "%s:%d: syntax error; accepted: [section] headers, key = value lines, ; or # "
             "comments",
             file, line);
        return -EINVAL;
    }
    return 0;
}

static void config_free(struct config *c)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (is_text(keys[i].type))
            free(*(char **)field_ptr(c, &keys[i]));
        if (c->text)
            free(c->text[i]);
    }
    free(c->text);
    for (size_t i = 0; i < c->n_warnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    free(c->file);
    free(c->listen_host);
    free(c->conninfo_effective);
    secret_free(c->cleanup_token);
    free(c);
}

int config_load(const char *file, const struct config_override *ovr, size_t n_ovr,
                char *const *envp, struct config **out, char *err, size_t errlen)
{
    struct config *c = xcalloc(1, sizeof(*c));
    struct load_ctx ctx = {.cfg = c, .err = err, .errlen = errlen};
    char name[128], where[256], why[256];
    int rc = 0;

    c->refs = 1;
    c->text = xcalloc(N_KEYS, sizeof(*c->text));
    err[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        if (check_value(&keys[i], keys[i].def, why, sizeof(why)) < 0)
            abort(); /* a default that does not parse is a bug */
        for (size_t j = 0; section_starts(i) && j < i; j++) {
            if (strcmp(keys[j].section, keys[i].section) == 0)
                abort(); /* a section split in two parts of the table is a bug */
        }
        store_value(c, i, keys[i].def);
    }

    if (file) {
        rc = load_file(&ctx, file);
        if (rc < 0)
            goto fail;
    }
    for (size_t i = 0; i < N_KEYS && !ctx.failed; i++) {
        const char *v = util_env_get(envp, env_name(&keys[i], name, sizeof(name)));

        if (v) {
            snprintf(where, sizeof(where), "environment variable %s", name);
            (void)apply(&ctx, where, keys[i].section, keys[i].name, v);
        }
    }
    check_env_typos(&ctx, envp);

    for (size_t i = 0; i < n_ovr && !ctx.failed; i++) {
        const char *a = ovr[i].assignment, *dot = strchr(a, '.'), *eq = strchr(a, '=');
        char section[64], key[64];

        if (!dot || !eq || dot > eq || (size_t)(dot - a) >= sizeof(section) ||
            (size_t)(eq - dot - 1) >= sizeof(key)) {
            fail(&ctx, "--set '%s': expected section.key=value, e.g. --set agent.interval=30s", a);
            break;
        }
        snprintf(section, sizeof(section), "%.*s", (int)(dot - a), a);
        snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
        snprintf(where, sizeof(where), "--set %s.%s", section, key);
        (void)apply(&ctx, where, section, key, eq + 1);
    }
    if (!ctx.failed)
        (void)validate(&ctx, c);
    if (ctx.failed) {
        rc = -EINVAL;
        goto fail;
    }
    derive(c, envp);
    check_envdir_parent(c);
    *out = c;
    return 0;
fail:
    config_free(c);
    *out = NULL;
    return rc < 0 ? rc : -EINVAL;
}

struct config *config_ref(struct config *c)
{
    c->refs++;
    return c;
}

void config_unref(struct config *c)
{
    if (c && --c->refs == 0)
        config_free(c);
}

const char *config_env_name(const char *section, const char *name, char *buf, size_t len)
{
    const struct config_key *k = find_key(section, name, NULL);

    if (!k)
        abort(); /* a key the code names must exist */
    return env_name(k, buf, len);
}

int config_check_value(const char *section, const char *name, const char *value, char *err,
                       size_t errlen)
{
    const struct config_key *k = find_key(section, name, NULL);
    char why[512];

    if (!k) {
        snprintf(err, errlen, "unknown key [%s] %s", section, name);
        return -ENOENT;
    }
    if (check_value(k, value, why, sizeof(why)) < 0) {
        value_error(err, errlen, NULL, k, value, why);
        return -EINVAL;
    }
    return 0;
}

int config_require(const struct config *c, const char *section, const char *name, const char *what,
                   char *err, size_t errlen)
{
    size_t ki;
    const struct config_key *k = find_key(section, name, &ki);
    char env[128];

    if (!k)
        abort();
    if (*c->text[ki] != '\0')
        return 0;
    snprintf(err, errlen, "[%s] %s is not set (env %s); it is required: %s", section, name,
             env_name(k, env, sizeof(env)), what);
    return -EINVAL;
}

size_t config_restart_changes(const struct config *old, const struct config *cur, char *buf,
                              size_t len)
{
    size_t n = 0, j = 0;

    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!(keys[i].flags & CFG_RESTART) || strcmp(old->text[i], cur->text[i]) == 0)
            continue;
        j += (size_t)snprintf(buf + j, j < len ? len - j : 0, "%s[%s] %s changed from '%s' to '%s'",
                              n ? "; " : "", keys[i].section, keys[i].name,
                              keys[i].flags & CFG_SECRET ? "***" : old->text[i],
                              keys[i].flags & CFG_SECRET ? "***" : cur->text[i]);
        n++;
    }
    return n;
}

void config_write_doc(FILE *out)
{
    char name[128], list[256];

    fprintf(out, "| key | environment variable | default | accepted | meaning |\n"
                 "|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        fprintf(out, "| `[%s] %s` | `%s` | %s | %s | %s%s |\n", keys[i].section, keys[i].name,
                env_name(&keys[i], name, sizeof(name)), keys[i].doc_def,
                accepted(&keys[i], list, sizeof(list)), keys[i].help,
                keys[i].flags & CFG_RESTART ? " **A reload keeps the running value: changing it "
                                              "needs a restart.**"
                                            : "");
    }
}

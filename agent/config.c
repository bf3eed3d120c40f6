/* config.c - INI (inih) + environment + --set flags -> struct config, through one key table.
 * Owns parsing, defaults, validation and the generated key documentation. Does no logging: errors
 * are returned as a sentence naming the file, line, key and what is accepted. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schedule.h"
#include "util.h"

enum cfg_type {
    CFG_STRING,
    CFG_LISTEN,
    CFG_DURATION,
    CFG_COUNT, /* non-negative integer, or "" for automatic */
    CFG_BOOL,
    CFG_TRISTATE, /* bool, or "" for "not set" */
    CFG_LOG_FORMAT,
    CFG_LOG_LEVEL,
};

struct config_key {
    const char *section;
    const char *name;
    enum cfg_type type;
    size_t offset;
    const char *def;     /* default text; "" = derived at load (see doc) */
    const char *doc_def; /* default as documented */
    const char *help;
};

#define KEY(sect, name, type, field, def, doc_def, help)                                           \
    {                                                                                              \
        sect, name, type, offsetof(struct config, field), def, doc_def, help                       \
    }

static const struct config_key keys[] = {
    KEY("agent", "listen", CFG_LISTEN, listen, "0.0.0.0:8009", "`0.0.0.0:8009`",
        "HTTP address `host:port` (Patroni uses 8008). Changing it needs a restart."),
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
    KEY("agent", "log_format", CFG_LOG_FORMAT, log_format, "json", "`json`",
        "`json` (one object per line) or `text` for humans; on stderr."),
    KEY("agent", "log_level", CFG_LOG_LEVEL, log_level, "info", "`info`",
        "`error`, `warn`, `info` or `debug`."),
    KEY("postgres", "conninfo", CFG_STRING, conninfo, "",
        "built from `PGHOST`/`PGPORT`/`POSTGRES_USER`/`POSTGRES_PASSWORD`, `sslmode=require`",
        "libpq connection string or URI. The password is never shown."),
    KEY("postgres", "patroni_url", CFG_STRING, patroni_url, "http://127.0.0.1:8008",
        "`http://127.0.0.1:8008`", "Patroni REST API, asked for the member role."),
    KEY("postgres", "superuser", CFG_STRING, pg_superuser, "",
        "env `PGUSER_SUPERUSER`, else `POSTGRES_USER`, else `postgres`",
        "Spilo's superuser, whose local and replication connections pg_hba must allow."),
    KEY("postgres", "replication_user", CFG_STRING, pg_replication_user, "",
        "env `PGUSER_STANDBY`, else `standby`",
        "Spilo's replication user, whose connections pg_hba must allow."),
    KEY("walg", "envdir", CFG_STRING, envdir, "/run/etc/wal-e.d/env", "`/run/etc/wal-e.d/env`",
        "WAL-G/WAL-E envdir, read like runit `chpst -e`. When it is not mounted, the values are "
        "derived from the environment like Spilo does."),
    KEY("walg", "clone_envdir", CFG_STRING, clone_envdir, "", "`/run/etc/wal-e.d/env-clone-*`",
        "Clone envdirs (glob); by default `env-clone-*` beside `envdir`."),
    KEY("walg", "prefix", CFG_STRING, prefix, "",
        "from the envdir, else derived like Spilo from `WAL_S3_BUCKET`, `SCOPE`, "
        "`WAL_BUCKET_SCOPE_PREFIX`/`SUFFIX`, `PGVERSION`",
        "S3 prefix that holds `basebackups_005/` and `wal_005/`."),
    KEY("backups", "schedule", CFG_STRING, schedule, "",
        "env `BACKUP_SCHEDULE`, else Spilo's `0 1 * * *`", "5-field cron expression, UTC."),
    KEY("backups", "retain", CFG_COUNT, retain, "", "envdir/env `BACKUP_NUM_TO_RETAIN`, else 5",
        "Expected number of full backups."),
    KEY("backups", "grace", CFG_DURATION, grace_ms, "",
        "half the shortest gap between scheduled times, at most `1h` (`5m` for `*/10 * * * *`)",
        "How long after a scheduled time a backup may take to land."),
    KEY("s3", "endpoint", CFG_STRING, s3_endpoint, "",
        "from the envdir (`AWS_ENDPOINT`/`WALE_S3_ENDPOINT`)", "S3 endpoint URL."),
    KEY("s3", "region", CFG_STRING, s3_region, "", "from the envdir (`AWS_REGION`)", "S3 region."),
    KEY("s3", "force_path_style", CFG_TRISTATE, s3_force_path_style, "",
        "from the envdir (`AWS_S3_FORCE_PATH_STYLE`)", "Path-style instead of virtual-host URLs."),
    KEY("kubernetes", "api", CFG_STRING, k8s_api, "",
        "in-cluster (`https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`)",
        "Kubernetes API server URL, for `install` and `cleanup`."),
    KEY("kubernetes", "token_file", CFG_STRING, k8s_token_file,
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "`/var/run/secrets/kubernetes.io/serviceaccount/token`", "Bearer token file."),
    KEY("kubernetes", "ca_file", CFG_STRING, k8s_ca_file,
        "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        "`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`", "CA bundle of the API server."),
    KEY("kubernetes", "namespace", CFG_STRING, k8s_namespace, "",
        "env `POD_NAMESPACE`, else the service account's `namespace` file",
        "Namespace of the cluster (and of `[cleanup] configmap` given without one)."),
    KEY("cleanup", "allow_http", CFG_BOOL, cleanup_allow_http, "false", "`false`",
        "Whether `POST /cleanup` exists. Needs `token_file`."),
    KEY("cleanup", "token_file", CFG_STRING, cleanup_token_file, "", "none",
        "File with the bearer token `POST /cleanup` requires."),
    KEY("cleanup", "configmap", CFG_STRING, cleanup_configmap, "pod-config", "`pod-config`",
        "The pod environment ConfigMap (the operator's `pod_environment_configmap`) whose "
        "`CLONE_*` keys `cleanup` removes: `name` (in `[kubernetes] namespace`) or "
        "`namespace/name`."),
    KEY("install", "target", CFG_STRING, install_target, "", "none (required)",
        "`install`: which operator manages the clusters, `harbor-operator` (its bundled "
        "postgres-operator, secrets named `{username}.{cluster}.credentials`) or "
        "`postgres-operator`."),
    KEY("install", "namespace", CFG_STRING, install_namespace, "", "none (required)",
        "`install`: the cluster's namespace (pod-config, credentials Secret, RBAC)."),
    KEY("install", "operator_namespace", CFG_STRING, install_operator_namespace, "",
        "none (required)",
        "`install`: namespace of the postgres-operator (its OperatorConfiguration and pod)."),
    KEY("install", "cluster", CFG_STRING, install_cluster, "", "none (required)",
        "`install`: the `postgresql` resource's name, e.g. `postgresql-harbor-harborcluster` "
        "(harbor-operator: `postgresql-<namespace>-<harborcluster>`)."),
    KEY("install", "bucket", CFG_STRING, install_bucket, "", "none (required)",
        "`install`: the S3 bucket (`WAL_S3_BUCKET`)."),
    KEY("install", "region", CFG_STRING, install_region, "", "none (required without `endpoint`)",
        "`install`: the bucket's region (`AWS_REGION`)."),
    KEY("install", "endpoint", CFG_STRING, install_endpoint, "", "none (AWS S3)",
        "`install`: `http(s)://host:port` of an S3-compatible store (`AWS_ENDPOINT`, path style)."),
    KEY("install", "credentials_secret", CFG_STRING, install_credentials_secret, "pod-credentials",
        "`pod-credentials`",
        "`install`: the Secret with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` "
        "(`pod_environment_secret`); created from `access_key_file`/`secret_key_file` when they "
        "are set, else it must exist."),
    KEY("install", "access_key_file", CFG_STRING, install_access_key_file, "", "none",
        "`install`: file holding the access key id for the credentials Secret."),
    KEY("install", "secret_key_file", CFG_STRING, install_secret_key_file, "", "none",
        "`install`: file holding the secret access key (never printed)."),
    KEY("install", "spilo_image", CFG_STRING, install_spilo_image,
        "ghcr.io/zalando/spilo-16:3.2-p3", "`ghcr.io/zalando/spilo-16:3.2-p3`",
        "`install`: the operator's `docker_image` (a recent Spilo)."),
    KEY("install", "agent_image", CFG_STRING, install_agent_image, "", "none (required)",
        "`install`: the spilo-agent sidecar image."),
    KEY("install", "backup_schedule", CFG_STRING, install_backup_schedule, "0 1 * * *",
        "`0 1 * * *`", "`install`: `BACKUP_SCHEDULE` (cron, UTC)."),
    KEY("install", "retain", CFG_COUNT, install_retain, "5", "`5`",
        "`install`: `BACKUP_NUM_TO_RETAIN`."),
    KEY("install", "pod_config", CFG_STRING, install_pod_config, "pod-config", "`pod-config`",
        "`install`: the pod environment ConfigMap (`pod_environment_configmap`)."),
    KEY("install", "pod_service_account", CFG_STRING, install_pod_service_account, "postgres-pod",
        "`postgres-pod`",
        "`install`: the Spilo pods' service account (operator option `pod_service_account_name`) "
        "bound to the sidecar's Role."),
    KEY("install", "operator_configuration", CFG_STRING, install_operator_configuration, "",
        "`harbor-operator-postgres-operator` (harbor-operator), `postgres-operator`",
        "`install`: the OperatorConfiguration the operator reads (its "
        "`POSTGRES_OPERATOR_CONFIGURATION_OBJECT`); it must exist."),
    KEY("install", "operator_selector", CFG_STRING, install_operator_selector,
        "app.kubernetes.io/name=postgres-operator", "`app.kubernetes.io/name=postgres-operator`",
        "`install`: labels (`k=v[,k=v]`) of the operator pod restarted after a configuration "
        "change."),
    KEY("install", "restart_timeout", CFG_DURATION, install_restart_timeout_ms, "3m", "`3m`",
        "`install`: how long to wait for the new operator pod to be Ready."),
    KEY("install", "pg_hba", CFG_BOOL, install_pg_hba, "true", "`true`",
        "`install`: whether to set the `postgresql` resource's `spec.patroni.pg_hba` to the list "
        "that lets `postgres`/`standby` connect locally and replicate."),
    KEY("install", "monitoring_namespace", CFG_STRING, install_monitoring_namespace, "",
        "`namespace`", "`install`: namespace of the PodMonitor and PrometheusRule."),
    KEY("install", "clone_cluster", CFG_STRING, install_clone_cluster, "",
        "none (required with `--mode restore`)",
        "`install --mode restore`: the source cluster's name (`CLONE_SCOPE`)."),
    KEY("install", "clone_uid", CFG_STRING, install_clone_uid, "", "none",
        "`install --mode restore`: the source's uid when its prefix has one "
        "(`CLONE_WAL_BUCKET_SCOPE_SUFFIX=/<uid>`)."),
    KEY("install", "clone_target_time", CFG_STRING, install_clone_target_time, "", "none (latest)",
        "`install --mode restore`: point in time, RFC 3339 with zone (`CLONE_TARGET_TIME`)."),
    KEY("install", "clone_endpoint", CFG_STRING, install_clone_endpoint, "", "none",
        "`install --mode restore`: `http(s)://host:port` for the source (`CLONE_AWS_ENDPOINT`)."),
    KEY("install", "source_namespace", CFG_STRING, install_source_namespace, "", "`namespace`",
        "`install --mode restore`: namespace of the source cluster's credentials Secrets."),
};

static const char *const sections[] = {"agent", "postgres",   "walg",    "backups",
                                       "s3",    "kubernetes", "cleanup", "install"};

struct load_ctx {
    struct config *cfg;
    const char *origin; /* "file x.ini", "environment", "--set" */
    char *err;
    size_t errlen;
    bool failed;
    int err_line;
};

static void *field_ptr(struct config *c, const struct config_key *k)
{
    return (char *)c + k->offset;
}

static const char *accepted(enum cfg_type t)
{
    switch (t) {
    case CFG_STRING:
        return "a string";
    case CFG_LISTEN:
        return "host:port, e.g. 0.0.0.0:8009 or [::]:8009";
    case CFG_DURATION:
        return "a number with an s, m, h or d suffix, e.g. 60s";
    case CFG_COUNT:
        return "a whole number >= 1, or empty for automatic";
    case CFG_BOOL:
        return "true or false";
    case CFG_TRISTATE:
        return "true, false, or empty for automatic";
    case CFG_LOG_FORMAT:
        return "json or text";
    case CFG_LOG_LEVEL:
        return "error, warn, info or debug";
    }
    return "?";
}

static int parse_listen(const char *v, char **host, int *port)
{
    const char *colon;
    const char *h_start = v, *h_end;
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
    if (util_parse_i64(colon + 1, &p) < 0 || p < 1 || p > 65535)
        return -EINVAL;
    free(*host);
    *host = h_end == h_start ? xstrdup("0.0.0.0") : xstrndup(h_start, (size_t)(h_end - h_start));
    *port = (int)p;
    return 0;
}

static int set_value(struct config *c, const struct config_key *k, const char *value)
{
    void *f = field_ptr(c, k);
    uint64_t ms;
    int64_t n;
    bool b;

    switch (k->type) {
    case CFG_STRING:
        free(*(char **)f);
        *(char **)f = xstrdup(value);
        return 0;
    case CFG_LISTEN:
        if (parse_listen(value, &c->listen_host, &c->listen_port) < 0)
            return -EINVAL;
        free(c->listen);
        c->listen = xstrdup(value);
        return 0;
    case CFG_DURATION:
        if (*value == '\0' && *k->def == '\0') {
            *(uint64_t *)f = 0; /* derived where it is used */
            return 0;
        }
        if (util_parse_duration_ms(value, &ms) < 0 || ms == 0)
            return -EINVAL;
        *(uint64_t *)f = ms;
        return 0;
    case CFG_COUNT:
        if (*value == '\0') {
            *(int64_t *)f = -1;
            return 0;
        }
        if (util_parse_i64(value, &n) < 0 || n < 1 || n > 100000)
            return -EINVAL;
        *(int64_t *)f = n;
        return 0;
    case CFG_BOOL:
        if (util_parse_bool(value, &b) < 0)
            return -EINVAL;
        *(bool *)f = b;
        return 0;
    case CFG_TRISTATE:
        if (*value == '\0') {
            *(int *)f = -1;
            return 0;
        }
        if (util_parse_bool(value, &b) < 0)
            return -EINVAL;
        *(int *)f = b;
        return 0;
    case CFG_LOG_FORMAT:
        if (strcmp(value, "json") == 0)
            *(enum log_format *)f = LOG_FORMAT_JSON;
        else if (strcmp(value, "text") == 0)
            *(enum log_format *)f = LOG_FORMAT_TEXT;
        else
            return -EINVAL;
        return 0;
    case CFG_LOG_LEVEL: {
        static const char *const names[] = {"error", "warn", "info", "debug"};

        for (size_t i = 0; i < ARRAY_LEN(names); i++) {
            if (strcmp(value, names[i]) == 0) {
                *(enum log_level *)f = (enum log_level)i;
                return 0;
            }
        }
        return -EINVAL;
    }
    }
    return -EINVAL;
}

static const struct config_key *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

static bool known_section(const char *section)
{
    for (size_t i = 0; i < ARRAY_LEN(sections); i++) {
        if (strcmp(sections[i], section) == 0)
            return true;
    }
    return false;
}

static void fail(struct load_ctx *ctx, const char *fmt, ...) PRINTF(2, 3);
static void fail(struct load_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx->failed)
        return; /* keep the first error: it is the one to fix first */
    ctx->failed = true;
    va_start(ap, fmt);
    vsnprintf(ctx->err, ctx->errlen, fmt, ap);
    va_end(ap);
}

/* Shows a rejected value unless the key may hold a secret. */
static const char *shown(const struct config_key *k, const char *value)
{
    return strcmp(k->name, "conninfo") == 0 ? "***" : value;
}

static int apply(struct load_ctx *ctx, const char *where, const char *section, const char *name,
                 const char *value)
{
    const struct config_key *k;

    if (!known_section(section)) {
        fail(ctx,
             "%s: unknown section [%s]; known sections: [agent] [postgres] [walg] [backups] "
             "[s3] [kubernetes] [cleanup] [install]",
             where, section);
        return -EINVAL;
    }
    k = find_key(section, name);
    if (!k) {
        fail(ctx, "%s: unknown key '%s' in [%s]; see docs/config.md for the keys of [%s]", where,
             name, section, section);
        return -EINVAL;
    }
    if (set_value(ctx->cfg, k, value) < 0) {
        fail(ctx, "%s: [%s] %s = '%s' is not valid; accepted: %s", where, section, name,
             shown(k, value), accepted(k->type));
        return -EINVAL;
    }
    return 0;
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    char where[1100];

    if (ctx->failed)
        return 1; /* report only the first error, at its own line */
    if (!name) {  /* section header alone, when inih is built to report those */
        if (!known_section(section)) {
            snprintf(where, sizeof(where), "%s", ctx->origin);
            fail(ctx,
                 "%%LINE%%unknown section [%s]; known sections: [agent] [postgres] [walg] "
                 "[backups] [s3] [kubernetes] [cleanup] [install]",
                 section);
            return 0;
        }
        return 1;
    }
    snprintf(where, sizeof(where), "%%LINE%%");
    if (*section == '\0') {
        fail(ctx, "%%LINE%%key '%s' is outside any section; put it under [agent], [postgres], ...",
             name);
        return 0;
    }
    return apply(ctx, where, section, name, value) == 0;
}

static char *env_name(const struct config_key *k, char *buf, size_t len)
{
    size_t j = 0;

    j += (size_t)snprintf(buf, len, "SPILO_AGENT_%s_%s", k->section, k->name);
    for (size_t i = 0; i < j && i < len; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    return buf;
}

/* Rejects SPILO_AGENT_<SECTION>_<X> variables that name no key: a typo must not be ignored. */
static void check_env_typos(struct load_ctx *ctx, char *const *envp)
{
    char name[128], up[64];

    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        bool known = false, in_section = false;

        if (strncmp(e, "SPILO_AGENT_", 12) != 0 || !eq)
            continue;
        for (size_t s = 0; s < ARRAY_LEN(sections); s++) {
            size_t l = (size_t)snprintf(up, sizeof(up), "SPILO_AGENT_%s_", sections[s]);

            for (size_t j = 0; j < l; j++)
                up[j] = (char)toupper((unsigned char)up[j]);
            if (strncmp(e, up, l) == 0)
                in_section = true;
        }
        if (!in_section)
            continue;
        for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
            env_name(&keys[k], name, sizeof(name));
            if ((size_t)(eq - e) == strlen(name) && strncmp(e, name, (size_t)(eq - e)) == 0)
                known = true;
        }
        if (!known)
            fail(ctx, "environment variable %.*s names no configuration key; see docs/config.md",
                 (int)(eq - e), e);
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
            free(c->k8s_api);
            c->k8s_api = strchr(h, ':') ? xasprintf("https://[%s]:%s", h, p && *p ? p : "443")
                                        : xasprintf("https://%s:%s", h, p && *p ? p : "443");
        }
    }
}

static int read_token(struct load_ctx *ctx, struct config *c)
{
    FILE *f;
    char buf[4096];
    size_t n;

    f = fopen(c->cleanup_token_file, "r");
    if (!f) {
        fail(ctx,
             "[cleanup] token_file '%s' cannot be read (%s); create it with the bearer token "
             "POST /cleanup must present",
             c->cleanup_token_file, strerror(errno));
        return -EINVAL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    if (n < 16) {
        fail(ctx,
             "[cleanup] token_file '%s' holds %s; put a random token of at least 16 "
             "characters in it",
             c->cleanup_token_file, n ? "a token shorter than 16 characters" : "no token");
        return -EINVAL;
    }
    c->cleanup_token = xstrdup(buf);
    return 0;
}

/* [cleanup] configmap: "name" or "namespace/name", each a lower-case DNS name. */
static bool configmap_spec_ok(const char *v)
{
    int slashes = 0;
    size_t part = 0;

    for (const char *p = v;; p++) {
        if (*p == '/' || *p == '\0') {
            if (part == 0 || part > 253 || p[-1] == '-' || p[-1] == '.')
                return false;
            if (*p == '\0')
                return slashes <= 1;
            slashes++;
            part = 0;
            continue;
        }
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
            !(part > 0 && (*p == '-' || *p == '.')))
            return false;
        part++;
    }
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
    if (!*c->envdir) {
        fail(ctx, "[walg] envdir is empty; leave it unset for Spilo's /run/etc/wal-e.d/env");
        return -EINVAL;
    }
    if (*c->schedule) {
        struct cron_schedule cs;
        char why[200];

        if (cron_parse(c->schedule, &cs, why, sizeof(why)) < 0) {
            fail(ctx,
                 "[backups] schedule = '%s' is not valid: %s; accepted: 5 cron fields (minute hour "
                 "day-of-month month day-of-week, UTC) or @hourly/@daily/@weekly/@monthly, e.g. "
                 "'0 1 * * *'",
                 c->schedule, why);
            return -EINVAL;
        }
    }
    if (*c->prefix && strncmp(c->prefix, "s3://", 5) != 0) {
        fail(ctx, "[walg] prefix '%s' is not an S3 URL; accepted: s3://bucket/path", c->prefix);
        return -EINVAL;
    }
    if (!configmap_spec_ok(c->cleanup_configmap)) {
        fail(ctx,
             "[cleanup] configmap = '%s' is not valid; accepted: a ConfigMap name or "
             "namespace/name (lower case letters, digits, '-' and '.'), e.g. pod-config or "
             "harbor/pod-config",
             c->cleanup_configmap);
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

static void config_free(struct config *c)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        if (keys[i].type == CFG_STRING)
            free(*(char **)field_ptr(c, &keys[i]));
    }
    free(c->file);
    free(c->listen);
    free(c->listen_host);
    free(c->conninfo_effective);
    if (c->cleanup_token) {
        explicit_bzero(c->cleanup_token, strlen(c->cleanup_token));
        free(c->cleanup_token);
    }
    free(c);
}

int config_load(const char *file, const struct config_override *ovr, size_t n_ovr,
                char *const *envp, struct config **out, char *err, size_t errlen)
{
    struct config *c = xcalloc(1, sizeof(*c));
    struct load_ctx ctx = {.cfg = c, .err = err, .errlen = errlen};
    char name[128], where[256];
    int rc = 0;

    c->refs = 1;
    err[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        if (set_value(c, &keys[i], keys[i].def) < 0)
            abort(); /* a default that does not parse is a bug */
    }

    if (file) {
        FILE *f = fopen(file, "r");
        int line;

        if (!f) {
            rc = -errno;
            snprintf(err, errlen, "%s: cannot read the configuration file: %s", file,
                     strerror(errno));
            goto fail;
        }
        c->file = xstrdup(file);
        line = ini_parse_file(f, ini_cb, &ctx);
        fclose(f);
        if (line != 0 && ctx.failed) {
            /* inih returns the line of the first error the handler reported */
            char msg[1024];
            const char *tail = strstr(err, "%LINE%");

            if (tail) {
                tail += 6;
                if (strncmp(tail, ": ", 2) == 0)
                    tail += 2;
            }
            snprintf(msg, sizeof(msg), "%s:%d: %s", file, line, tail ? tail : err);
            snprintf(err, errlen, "%s", msg);
            rc = -EINVAL;
            goto fail;
        }
        if (line != 0) {
            snprintf(err, errlen,
                     "%s:%d: syntax error; accepted: [section] headers, key = value "
                     "lines, ; or # comments",
                     file, line);
            rc = -EINVAL;
            goto fail;
        }
    }

    for (size_t i = 0; i < ARRAY_LEN(keys) && !ctx.failed; i++) {
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
    *out = c;
    return 0;
fail:
    config_free(c);
    *out = NULL;
    return rc;
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

void config_write_doc(FILE *out)
{
    char name[128];

    fprintf(out, "| key | environment variable | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        fprintf(out, "| `[%s] %s` | `%s` | %s | %s |\n", keys[i].section, keys[i].name,
                env_name(&keys[i], name, sizeof(name)), keys[i].doc_def, keys[i].help);
    }
}

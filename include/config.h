/* config.h - the agent's configuration: one key table (agent/config.c) is the single source for
 * parsing, defaults, validation and docs/config.md. Precedence: flag (--set) >
 * SPILO_AGENT_<SECTION>_<KEY> env > INI file > built-in default. Every key has a type (text,
 * path, enum, DNS label/name, bucket, region, image, cron, RFC 3339 time, URL, s3:// URL, numeric
 * host:port, label selector, ConfigMap reference, uid, duration, count, bool) that checks its
 * value once, at load; commands add only rules between keys. A loaded config is immutable and
 * reference counted, so a check run keeps the config it started with while SIGHUP swaps in a new
 * one. */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "log.h"

struct config {
    int refs;
    char *file;        /* the INI file read, NULL when none */
    char **text;       /* every key's text as set (default, file, env or flag), in table order */
    char **warnings;   /* what load noticed but accepted (e.g. an envdir one level too high) */
    size_t n_warnings; /* the caller shows them: a log line, or stderr for a command */

    /* [agent] */
    char *listen;
    char *listen_host; /* parsed from listen */
    int listen_port;
    uint64_t interval_ms;
    uint64_t check_timeout_ms;
    uint64_t request_timeout_ms;
    uint64_t idle_timeout_ms;
    int64_t max_connections;
    enum log_format log_format; /* stored as the index of the key's values */
    enum log_level log_level;

    /* [postgres] */
    char *conninfo; /* as configured; "" = derived */
    char *conninfo_effective;
    char *patroni_url;         /* Patroni REST API base URL */
    char *pg_superuser;        /* effective: config, PGUSER_SUPERUSER, POSTGRES_USER, postgres */
    char *pg_replication_user; /* effective: config, PGUSER_STANDBY, standby */

    /* [walg] */
    char *envdir;
    char *clone_envdir;
    char *prefix;

    /* [backups] */
    char *schedule;                 /* effective: config, env BACKUP_SCHEDULE, or Spilo's default */
    int64_t retain;                 /* -1: from envdir/env BACKUP_NUM_TO_RETAIN, else 5 */
    uint64_t grace_ms;              /* 0: derived from the schedule (cron_default_grace_s) */
    uint64_t wal_sweep_interval_ms; /* walscan's sweep (walscan.h) */

    /* [s3] */
    char *s3_endpoint;
    char *s3_region;
    int s3_force_path_style; /* -1 unset */

    /* [kubernetes] */
    char *k8s_api;
    char *k8s_token_file;
    char *k8s_ca_file;
    char *k8s_namespace;
    char *k8s_kubeconfig;    /* "" unless set: then KUBECONFIG, ~/.kube/config, in-cluster */
    char *k8s_context;       /* "" = current-context */
    bool k8s_api_in_cluster; /* k8s_api was derived from KUBERNETES_SERVICE_HOST, not set */

    /* [cleanup] */
    bool cleanup_allow_http;
    char *cleanup_token_file;
    char *cleanup_token;     /* read from cleanup_token_file at load; never printed */
    char *cleanup_configmap; /* "name" or "namespace/name" */
    char *cleanup_cluster;   /* "" = the local restore check; else ask that cluster's agent */

    /* [install] (values checked at load; `install` adds what is required and the rules between
     * keys) */
    int install_target; /* -1 unset, else enum install_target: harbor-operator, postgres-operator */
    char *install_namespace;
    char *install_operator_namespace;
    char *install_cluster;
    char *install_bucket;
    char *install_region;
    char *install_endpoint;
    char *install_credentials_secret;
    char *install_access_key_file;
    char *install_secret_key_file;
    char *install_spilo_image;
    char *install_agent_image;
    char *install_backup_schedule;
    int64_t install_retain;
    char *install_pod_config;
    char *install_pod_service_account;
    char *install_operator_configuration; /* "" = derived from target */
    char *install_operator_selector;
    uint64_t install_restart_timeout_ms;
    bool install_pg_hba;
    char *install_monitoring_namespace; /* "" = install_namespace */
    char *install_monitoring_labels;    /* k=v[,k=v] or "" */
    char *install_runbook_base;
    char *install_clone_cluster;
    char *install_clone_uid;
    char *install_clone_target_time;
    char *install_clone_endpoint;
    char *install_source_namespace; /* "" = install_namespace */
};

/* One "--set section.key=value" from the command line. */
struct config_override {
    const char *assignment;
};

/* Loads the configuration. file may be NULL (defaults + environment). envp is the environment to
 * read SPILO_AGENT_* and the Spilo variables from (normally `environ`). On error returns -EINVAL
 * (or -errno for an unreadable file) and writes a message naming the file, line, key and what is
 * accepted into err. */
MUSTCHECK int config_load(const char *file, const struct config_override *ovr, size_t n_ovr,
                          char *const *envp, struct config **out, char *err, size_t errlen);
struct config *config_ref(struct config *c);
void config_unref(struct config *c); /* NULL is fine */

/* Writes the key table as the Markdown table of docs/config.md. */
void config_write_doc(FILE *out);

/* The environment variable of a key in the table, e.g. SPILO_AGENT_INSTALL_TARGET, into buf. A
 * name that is not in the table aborts (a bug). */
const char *config_env_name(const char *section, const char *name, char *buf, size_t len);

/* Checks value against the type of [section] name as a load would. 0, -EINVAL with the load's
 * sentence in err ("[s] k = 'v' is not valid (env E): why; accepted: ..."), -ENOENT for no key. */
MUSTCHECK int config_check_value(const char *section, const char *name, const char *value,
                                 char *err, size_t errlen);

/* For a command that needs [section] name: 0 when it is set, else -EINVAL and "[s] k is not set
 * (env E); it is required: <what>" in err. */
MUSTCHECK int config_require(const struct config *c, const char *section, const char *name,
                             const char *what, char *err, size_t errlen);

/* Keys marked restart-only in the table whose text differs from old to cur: returns how many and
 * writes "[agent] listen changed from 'a' to 'b'" sentences, "; "-separated, into buf. */
size_t config_restart_changes(const struct config *old, const struct config *cur, char *buf,
                              size_t len);

#endif

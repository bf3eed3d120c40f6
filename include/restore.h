/* restore.h - the restore verdict: was this cluster cloned from S3, has the restore finished, and
 * which CLONE_* settings are left to clean up. Pure: the facts are gathered by check_restore.c
 * (environment and clone envdirs, PostgreSQL, Patroni, S3). */
#ifndef AGENT_RESTORE_H
#define AGENT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check_result.h"

#define RESTORE_NO_TIME INT64_MIN

struct restore_facts {
    /* the clone settings */
    const char *const *clone_keys; /* CLONE_* names in the agent's environment (pod-config) */
    size_t n_clone_keys;
    const char *const *clone_envdirs; /* env-clone-* directories found */
    size_t n_clone_envdirs;
    const char *clone_scope;       /* CLONE_SCOPE, or the envdir's suffix; NULL */
    const char *clone_method;      /* CLONE_METHOD; NULL */
    const char *clone_target_time; /* CLONE_TARGET_TIME; NULL */
    const char *scope_suffix;      /* CLONE_WAL_BUCKET_SCOPE_SUFFIX as set (may be ""); NULL */
    const char *endpoint;          /* the clone's AWS_ENDPOINT (envdir) or CLONE_AWS_ENDPOINT */
    const char *source_prefix;     /* s3://... the clone restores from; NULL when unknown */
    const char *own_prefix;        /* s3://... this cluster writes to; NULL when unknown */
    /* PostgreSQL and Patroni */
    int in_recovery;           /* 1, 0, -1 unknown */
    const char *pg_error;      /* why in_recovery is unknown */
    const char *patroni_state; /* "running", "starting", ...; NULL when Patroni did not answer */
    /* S3 */
    int own_backups;              /* complete base backups under own_prefix; -1 unknown */
    const char *own_first_backup; /* the oldest of them */
    int64_t own_first_backup_s;
    const char *own_error;      /* why own_backups is unknown */
    int source_backups;         /* complete base backups where the clone looks; -1 unknown */
    const char *source_checked; /* the prefix(es) looked at, for messages */
    const char *source_error;
    const char *source_found; /* s3://bucket/root where the backups were found (the candidate
                                 clone_with_wale.py takes); NULL when none or unknown */
    /* where a source without backups probably is */
    const char *namespace;       /* POD_NAMESPACE; NULL */
    bool bucket_in_pod_env;      /* WAL_S3_BUCKET came from the pod environment ConfigMap */
    const char *const *siblings; /* s3://bucket/root beside the source that hold backups */
    size_t n_siblings;
};

/* The CLONE_WAL_BUCKET_SCOPE_PREFIX/_SUFFIX that make Spilo's clone prefix
 * spilo/<prefix><scope><suffix>/wal/ reach root ("spilo/<a><scope><b>/wal[/<major>]"). Returns
 * false when root does not have that form. */
bool restore_scope_settings(const char *root, const char *scope, char *prefix, size_t plen,
                            char *suffix, size_t slen);

void restore_facts_init(struct restore_facts *f);
void restore_evaluate(const struct restore_facts *f, struct check_result *out);

#endif

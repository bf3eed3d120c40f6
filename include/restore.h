/* restore.h - the restore verdict: was this cluster cloned from S3, has the restore finished, and
 * which CLONE_* settings are left to clean up. Pure: the facts are gathered by check_restore.c
 * (environment and clone envdirs, PostgreSQL, Patroni, S3). */
#ifndef AGENT_RESTORE_H
#define AGENT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check_result.h"
#include "walchain.h"

#define RESTORE_NO_TIME                                                                            \
    INT64_MIN /* = WALCHAIN_NO_TIME (restore.c formats with walchain_time_json) */

struct restore_facts {
    /* the clone settings */
    const char *const *clone_keys; /* CLONE_* names in the agent's environment (pod-config) */
    size_t n_clone_keys;
    const char *const *clone_envdirs; /* env-clone-* directories found */
    size_t n_clone_envdirs;
    const char *clone_scope;       /* CLONE_SCOPE, or the envdir's suffix; NULL */
    const char *clone_method;      /* CLONE_METHOD; NULL */
    const char *clone_target_time; /* CLONE_TARGET_TIME; NULL */
    /* the pre-flight's problem when it decided CLONE_TARGET_TIME cannot be reached; NULL */
    const char *target_unreachable;
    const char *scope_suffix;  /* CLONE_WAL_BUCKET_SCOPE_SUFFIX as set (may be ""); NULL */
    const char *endpoint;      /* the clone's AWS_ENDPOINT (envdir) or CLONE_AWS_ENDPOINT */
    const char *source_prefix; /* s3://... the clone restores from; NULL when unknown */
    const char *own_prefix;    /* s3://... this cluster writes to; NULL when unknown */
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

/* ---- CLONE_TARGET_TIME pre-flight ---------------------------------------------------------- *
 * Which backup Spilo restores for a target time, and whether PostgreSQL can reach the time from
 * it. Spilo's clone_with_wale.py (choose_backup, bootstrap/clone_with_wale.py:67-79 at 4.0-p3,
 * :68-80 at 2.1-p7, :64-76 at 1.6-p3) takes the backup whose `backup-list` "modified" time is the
 * newest strictly before the target; that column is the sentinel's S3 LastModified (wal-g
 * internal/backup_time.go, BackupTime.Time). It passes that name to backup-fetch, and PostgreSQL
 * then needs the backup finished (its end reached: "requested recovery stop point is before
 * consistent recovery point" otherwise) and WAL unbroken to the target ("recovery ended before
 * configured recovery target was reached"). The finish time is the sentinel's FinishTime
 * (BackupSentinelDtoV2, wal-g internal/databases/postgres/backup_sentinel_dto.go:154 at v3.0.5),
 * else metadata.json's finish_time (ExtendedMetadataDto, same file :72; internal/
 * backup_sentinel_dto.go:33 at v0.2.15, whose sentinels have no FinishTime), else LastModified. */

enum restore_time_from {
    RESTORE_TIME_UNREAD = 0,   /* not fetched: LastModified stands in */
    RESTORE_TIME_SENTINEL,     /* the sentinel's FinishTime */
    RESTORE_TIME_METADATA,     /* metadata.json finish_time */
    RESTORE_TIME_LAST_MODIFIED /* neither has one: the sentinel's LastModified */
};
const char *restore_time_from_name(enum restore_time_from f);

/* One source backup (a stop sentinel of the listing). */
struct restore_target_backup {
    const char *name;    /* "base_...", borrowed */
    uint32_t tli;        /* from the name */
    uint64_t start_lsn;  /* the name's segment * 16 MiB, or the sentinel's LSN once read */
    uint64_t finish_lsn; /* 0 until the sentinel is read */
    int64_t listed_s;    /* the sentinel's LastModified: what clone_with_wale.py compares */
    int64_t finish_s;    /* see finish_from; listed_s until read */
    enum restore_time_from finish_from;
    char *read_error; /* why the sentinel could not be read; NULL (owned by the caller) */
};

/* Sorts b by listed_s (then name), oldest first. */
void restore_target_sort(struct restore_target_backup *b, size_t n);
/* The backups whose sentinels decide the answer (b sorted): the one Spilo picks (the newest
 * listed strictly before target_s) and the next max_want - 1 newer ones (a backup that finished
 * before the target but whose sentinel was written after it is not picked: said in the details);
 * with none before, the oldest ones. Writes indexes into want, returns how many. */
size_t restore_target_wanted(const struct restore_target_backup *b, size_t n, int64_t target_s,
                             size_t *want, size_t max_want);
/* The index Spilo picks, or n when no sentinel was written before target_s. */
size_t restore_target_picked(const struct restore_target_backup *b, size_t n, int64_t target_s);

struct restore_target_result {
    bool reachable;
    bool decided; /* reachable or not, known; false: the problem says why it could not be told */
    const char *from_backup; /* the backup a clone starts from (borrowed from b), NULL */
    int64_t from_finish_s;   /* its finish time, and where that came from */
    enum restore_time_from from_finish_from;
    int64_t latest_reachable_s; /* the latest time reachable up to the target; RESTORE_NO_TIME */
    char problem[1024];         /* "" when reachable */
    json_t *details;            /* details.target_time_check, owned by the caller */
};
/* The verdict. chain holds the source's wal_005/ listing (NULL: it could not be listed, wal_error
 * says why); wal_complete: the listing saw everything after the picked backup's start;
 * backups_complete: the basebackups_005/ listing was not cut short. */
void restore_target_evaluate(const struct walchain *chain, bool wal_complete, const char *wal_error,
                             const struct restore_target_backup *b, size_t n, bool backups_complete,
                             int64_t target_s, struct restore_target_result *out);

#endif

/* walg_env.h - what WAL-G would use, read from Spilo's envdir (or derived from the environment
 * the way Spilo's configure_spilo.py derives it, when the envdir is not mounted in the sidecar),
 * and what is wrong with it. Pure: reads files, no uv, no network, no logging. Secrets are
 * redacted in everything it produces except struct walg_target's credentials, which only the S3
 * client sees. */
#ifndef AGENT_WALG_ENV_H
#define AGENT_WALG_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "check_result.h"
#include "envdir.h"

struct walg_env_input {
    const char *envdir;      /* [walg] envdir */
    const char *clone_glob;  /* [walg] clone_envdir; "" = env-clone-* beside envdir */
    const char *prefix;      /* [walg] prefix; "" = from the envdir */
    const char *s3_endpoint; /* [s3] endpoint; "" = from the envdir */
    const char *s3_region;   /* [s3] region; "" = from the envdir */
    int s3_force_path_style; /* [s3] force_path_style; -1 = from the envdir */
    char *const *environ;    /* the process environment, for the derivation */
    const char *pgroot;      /* where PG_VERSION is looked up; NULL = $PGROOT or Spilo's */
    /* Where environ comes from when the envdir is not mounted: NULL = the sidecar's own
     * environment; else e.g. "pod harbor-db-0, container postgres" (the Spilo container's
     * environment read from the pod's spec). */
    const char *environ_from;
    const char *pod_error; /* why the pod's spec could not be read; NULL */
    const json_t *unknown; /* names the pod's spec sets from sources not read (array); NULL */
};

/* Where the settings came from. */
enum walg_source {
    WALG_SOURCE_NONE = 0,    /* no envdir and nothing in the environment */
    WALG_SOURCE_ENVDIR,      /* the envdir was read */
    WALG_SOURCE_ENVIRONMENT, /* derived from the environment like Spilo */
};

enum walg_layout {
    WALG_LAYOUT_SPILO,       /* spilo/<scope>[/<uid>]/wal/<major> */
    WALG_LAYOUT_SPILO_OLD,   /* spilo/<scope>[/<uid>]/wal, Spilo before 2.0-p2 */
    WALG_LAYOUT_CUSTOM,      /* some other path */
    WALG_LAYOUT_BUCKET_ROOT, /* no path at all: shared by every cluster of the bucket */
};

enum walg_credentials {
    WALG_CREDS_NONE = 0,
    WALG_CREDS_STATIC,           /* AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY */
    WALG_CREDS_SESSION,          /* ... + AWS_SESSION_TOKEN */
    WALG_CREDS_WEB_IDENTITY,     /* AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (IRSA) */
    WALG_CREDS_INSTANCE_PROFILE, /* the SDK chain / EC2 instance metadata */
};

/* Everything the S3 client needs to look where WAL-G writes. */
struct walg_target {
    enum walg_source source;
    char *where;      /* the envdir path, or "environment" */
    char *prefix;     /* s3://bucket/root as WAL-G reads it (WALG_S3_PREFIX, else WALE_S3_PREFIX) */
    char *prefix_var; /* which variable (or "[walg] prefix") gave it */
    char *bucket;
    char *root; /* no leading or trailing '/'; "" at the bucket root */
    enum walg_layout layout;
    char *endpoint; /* "" = AWS */
    char *region;   /* "" = none */
    bool path_style;
    char *ca_file; /* WALG_S3_CA_CERT_FILE, "" = system */
    enum walg_credentials creds;
    char *access_key, *secret_key, *session_token; /* secrets: never print */
    char *role_arn, *web_identity_token_file;
    char *sts_endpoint; /* AWS_ENDPOINT_URL_STS (the AWS SDKs' variable), "" = regional STS */
    bool walg_backup;   /* USE_WALG_BACKUP=true: base backups by WAL-G (else WAL-E) */
    bool walg_restore;  /* USE_WALG_RESTORE=true */
    int64_t retain;     /* BACKUP_NUM_TO_RETAIN, -1 when absent */
};

/* Resolves the main envdir (with the [walg]/[s3] overrides) into where WAL-G writes. Returns 0;
 * -ENOENT when there is no envdir and nothing to derive from; -EINVAL when the prefix is unusable.
 * err says why and what to do. The target is filled as far as possible in every case. */
MUSTCHECK int walg_target_resolve(const struct walg_env_input *in, struct walg_target *t, char *err,
                                  size_t errlen);
void walg_target_free(struct walg_target *t);
/* The target of an envdir already read (a clone's), without the [walg]/[s3] overrides; bucket and
 * root stay "" when the prefix is unusable. */
void walg_target_from_envdir(const struct envdir *e, const char *where, struct walg_target *t);

/* Splits "s3://bucket/some/root/" into bucket and root ("some/root") like WAL-G. Returns 0 or
 * -EINVAL with the reason in err. */
MUSTCHECK int walg_parse_prefix(const char *url, char **bucket, char **root, char *err,
                                size_t errlen);
enum walg_layout walg_layout_of(const char *root);
const char *walg_layout_name(enum walg_layout l);
const char *walg_credentials_name(enum walg_credentials c);

/* Derives the envdir Spilo would write from an environment: var_prefix "" for the cluster's own,
 * "CLONE_" for the clone envdir. pg_version may be NULL (unknown). Returns false when the
 * environment configures no S3 location for that prefix. */
bool walg_derive(char *const *environ, const char *var_prefix, const char *pg_version,
                 struct envdir *out);

/* The PostgreSQL majors Spilo images ship, newest first: the /wal/<major> directories a clone
 * from an old-layout prefix (ending in /wal) is looked for under, as clone_with_wale.py does. */
extern const char *const walg_spilo_majors[];
extern const size_t walg_spilo_majors_count;

/* The clone envdir glob: [walg] clone_envdir when set, else env-clone-* beside the envdir.
 * Caller frees. */
char *walg_clone_glob(const char *configured, const char *envdir);

/* The walg_env check: status, a summary naming the worst problem and its fix, details. */
void walg_env_evaluate(const struct walg_env_input *in, struct check_result *out);

struct config;
/* The walg_env_input of the agent's config (and this process's environment), for every check that
 * needs to know where WAL-G writes. */
void walg_env_input_from_config(const struct config *cfg, struct walg_env_input *in);

#endif

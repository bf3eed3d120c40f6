/* cleanup.h - post-restore cleanup (SPEC section 6): removes exactly the CLONE_* keys of the pod
 * environment ConfigMap through the Kubernetes API, after saving its previous data as a new
 * ConfigMap, and refuses while the restore check does not say that the restore finished (unless
 * forced). One asynchronous run on the loop, shared by `spilo-agent cleanup` and POST /cleanup;
 * the patch carries the resourceVersion that was read, so a concurrent change makes it fail
 * (409) instead of being overwritten. */
#ifndef AGENT_CLEANUP_H
#define AGENT_CLEANUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "config.h"
#include "curlm.h"
#include "status.h"

#define CLEANUP_BACKUP_INFIX     "-before-cleanup-"
#define CLEANUP_DEFAULT_TARGET   "pod-config"
#define CLEANUP_ANNOTATION_SRC   "spilo-agent/cleanup-source"
#define CLEANUP_ANNOTATION_RV    "spilo-agent/cleanup-source-resource-version"
#define CLEANUP_ANNOTATION_AT    "spilo-agent/cleanup-at"
#define CLEANUP_LABEL_BACKUP     "spilo-agent/cleanup-backup"
#define CLEANUP_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"

enum cleanup_status {
    CLEANUP_DONE,    /* keys removed (dry run: would be) */
    CLEANUP_NOTHING, /* no CLONE_* keys */
    CLEANUP_REFUSED, /* the restore has not finished and no --force */
    CLEANUP_FAILED,  /* an API request failed; the message says what is left where */
};
/* "done", "nothing", "refused", "failed" */
const char *cleanup_status_name(enum cleanup_status s);

/* Whether the restore finished, as the restore check reported it. */
struct cleanup_gate {
    bool finished;
    char reason[1500]; /* the check's verdict and summary, or why there is none */
};
/* From the last result of the `restore` check in s: finished when its details.finished is true.
 * s NULL, no such check, not run yet or no boolean: not finished, with the reason. */
void cleanup_gate_from_snapshot(const struct snapshot *s, struct cleanup_gate *g);

/* The same from an agent's /status JSON (checks.restore), read through the pod proxy of pod. */
void cleanup_gate_from_status(const json_t *status, const char *pod, struct cleanup_gate *g);

struct cleanup_opts {
    bool dry_run;
    bool force;
};

/* The outcome, valid during the done callback only. */
struct cleanup_result {
    enum cleanup_status status;
    bool dry_run;
    const char *namespace; /* of the ConfigMap; NULL when the run failed before knowing it */
    const char *configmap;
    const char *saved_as; /* backup ConfigMap created (dry run: planned), same namespace; or NULL */
    json_t *clone_keys;   /* array: the CLONE_* keys found (never NULL) */
    json_t *removed;      /* array: the keys removed (dry run: that would be) (never NULL) */
    json_t *patch;        /* the merge patch built, or NULL */
    json_t *backup;       /* the backup ConfigMap built, secret values shown as ***, or NULL */
    const char *message;  /* one sentence: what happened, and what to do */
};

typedef void (*cleanup_line_fn)(const char *line, void *arg);
typedef void (*cleanup_done_fn)(const struct cleanup_result *res, void *arg);

struct cleanup; /* one run */

/* Starts a run with cfg ([kubernetes], [cleanup] configmap) on the curl multi handle. gate is
 * copied; now_s names the backup. line (may be NULL) gets one plain-text line per step; done is
 * called exactly once, on the loop thread, never from inside cleanup_start, and the run frees
 * itself after it. Returns 0, or -EINVAL for a configuration problem (no API URL or namespace,
 * bad [cleanup] configmap) / another negative errno when the first request cannot start, with a
 * sentence in err; done is then not called. */
MUSTCHECK int cleanup_start(struct curlm *cm, struct config *cfg, const struct cleanup_opts *opts,
                            const struct cleanup_gate *gate, int64_t now_s, cleanup_line_fn line,
                            cleanup_done_fn done, void *arg, struct cleanup **out, char *err,
                            size_t errlen);
/* Aborts a run (its request in flight is dropped); done is not called. NULL is fine. */
void cleanup_cancel(struct cleanup *c);

/* ---- pure parts -------------------------------------------------------------------------- */

/* "name" or "namespace/name" (default_ns for the first form). Returns 0 or -EINVAL. */
MUSTCHECK int cleanup_parse_target(const char *spec, const char *default_ns, char *ns, size_t nslen,
                                   char *name, size_t namelen);
/* The data keys that start with CLONE_, sorted (a new array; empty when none). */
json_t *cleanup_clone_keys(const json_t *configmap);
/* {"metadata":{"resourceVersion":rv},"data":{"CLONE_X":null,...}} */
json_t *cleanup_build_patch(const char *resource_version, const json_t *keys);
/* "<source>-before-cleanup-<yyyymmdd>t<hhmmss>z" (lower case: object names must be), with
 * "-<attempt>" appended for attempt > 1; the source part is shortened to keep it <= 253. */
void cleanup_backup_name(const char *source, int64_t now_s, int attempt, char *out, size_t len);
/* The ConfigMap that saves configmap's data and binaryData in namespace ns as backup_name, with
 * the managed-by label and annotations naming the source and its resourceVersion. */
json_t *cleanup_build_backup(const json_t *configmap, const char *ns, const char *backup_name,
                             int64_t now_s);
/* A copy of a ConfigMap with the values of secret-looking keys (envdir_is_secret) as ***. */
json_t *cleanup_redacted(const json_t *configmap);

#endif

/* install_objects.h - the pure half of `spilo-agent install` (SPEC section 7): the [install]
 * settings validated into one struct, and every Kubernetes object the installer applies built
 * from them as JSON, in the order they are applied - the same resources as deploy/ (pod-config,
 * credentials Secret, RBAC, the operator-wide sidecar, pg_hba, PodMonitor, PrometheusRule) plus
 * the CLONE_* settings of restore mode. Also the small decisions the run makes (created /
 * configured / unchanged, label selectors, pod readiness, the copy of a credentials Secret
 * without its server-set metadata, redaction for printing). No I/O, no network. */
#ifndef AGENT_INSTALL_OBJECTS_H
#define AGENT_INSTALL_OBJECTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "config.h"

#define INSTALL_FIELD_MANAGER   "spilo-agent"
#define INSTALL_LABEL_PART_OF   "app.kubernetes.io/part-of"
#define INSTALL_ANNOTATION_FROM "spilo-agent/restored-from"
#define INSTALL_REDACTED        "***"
#define INSTALL_DEFAULT_ROLE    "spilo-agent"

enum install_mode { INSTALL_MODE_BACKUP, INSTALL_MODE_RESTORE };
enum install_target { INSTALL_TARGET_HARBOR, INSTALL_TARGET_POSTGRES };

/* "backup" / "restore"; install_mode_parse returns 0 or -EINVAL. */
const char *install_mode_name(enum install_mode m);
MUSTCHECK int install_mode_parse(const char *s, enum install_mode *out);

/* The validated [install] settings. Strings are borrowed from the config (keep it referenced);
 * the derived ones live in the struct. */
struct install_settings {
    enum install_mode mode;
    enum install_target target;
    const char *namespace;
    const char *operator_namespace;
    const char *cluster;
    const char *bucket;
    const char *region;   /* "" when not set (only with an endpoint) */
    const char *endpoint; /* "" for AWS S3 */
    const char *credentials_secret;
    const char *access_key_file; /* "" when the Secret must exist already */
    const char *secret_key_file;
    const char *spilo_image;
    const char *agent_image;
    const char *backup_schedule;
    int64_t retain;
    const char *pod_config;
    const char *pod_service_account;
    const char *operator_configuration; /* resolved default */
    const char *operator_selector;
    uint64_t restart_timeout_ms;
    bool pg_hba;
    const char *monitoring_namespace; /* resolved default */
    const char *monitoring_labels;    /* k=v[,k=v] or "" */
    const char *runbook_base;         /* http(s)://..., no '#' */
    char podmonitor_name[80];         /* spilo-agent, or spilo-agent-<namespace> elsewhere */
    /* restore mode */
    const char *clone_cluster;
    const char *clone_target_time; /* "" = latest */
    const char *clone_endpoint;    /* "" = none */
    const char *source_namespace;  /* resolved default */
    char clone_suffix[80];         /* "" or "/<uid>" (CLONE_WAL_BUCKET_SCOPE_SUFFIX) */
    char clone_scope_prefix[80];   /* "" or "<namespace>-" (CLONE_WAL_BUCKET_SCOPE_PREFIX) */
};

/* Reads cfg's [install] keys for mode: their values were checked at load (config.c's key table),
 * here come the keys the mode requires and the rules between keys. Returns 0, or -EINVAL (a
 * configuration error, exit 78) with a sentence naming the key, its environment variable and
 * what is accepted. */
MUSTCHECK int install_settings_load(const struct config *cfg, enum install_mode mode,
                                    struct install_settings *s, char *err, size_t errlen);

/* ---- the plan ---------------------------------------------------------------------------- */

enum install_policy {
    INSTALL_APPLY,        /* GET (404 is fine), then server-side apply */
    INSTALL_MUST_EXIST,   /* GET; 404 fails (never create a partial operator configuration) */
    INSTALL_IF_EXISTS,    /* GET; 404 skips (pg_hba of a cluster that does not exist yet) */
    INSTALL_CHECK_EXISTS, /* GET only: present is unchanged, 404 fails (an existing Secret) */
    INSTALL_IF_CRD,       /* list the kind first: 404 skips (Prometheus Operator not installed) */
    INSTALL_COPY_SECRET,  /* restore: GET the source Secret, apply a clean copy under name */
};

struct install_item {
    const char *kind; /* "ConfigMap"; static strings */
    const char *group;
    const char *version;
    const char *resource;
    char *namespace; /* NULL: cluster scoped */
    char *name;
    json_t *object; /* the apply body; NULL for INSTALL_COPY_SECRET until the source is read */
    enum install_policy policy;
    char *source_namespace; /* INSTALL_COPY_SECRET */
    char *source_name;
    bool operator_config; /* a change restarts the operator */
};

struct install_plan {
    struct install_item *items;
    size_t n;
};

/* Static key material for the credentials Secret, read by the caller from access_key_file and
 * secret_key_file (NULL pointers when they are not set). */
struct install_keys {
    const char *access_key;
    const char *secret_key;
};

/* Builds every object in apply order. keys may be NULL (the Secret must exist). */
void install_plan_build(const struct install_settings *s, const struct install_keys *keys,
                        struct install_plan *plan);
void install_plan_free(struct install_plan *plan);

/* The objects, one by one (new references). */
json_t *install_namespace_object(const char *name);
json_t *install_pod_config(const struct install_settings *s);
json_t *install_credentials_secret(const struct install_settings *s,
                                   const struct install_keys *keys);
json_t *install_role(const struct install_settings *s);
json_t *install_role_binding(const struct install_settings *s);
json_t *install_sidecar(const struct install_settings *s);
json_t *install_operator_configuration(const struct install_settings *s);
json_t *install_pg_hba_patch(const struct install_settings *s);
json_t *install_pod_monitor(const struct install_settings *s);
json_t *install_prometheus_rule(const struct install_settings *s);

/* The credentials Secret name the operator uses for user in cluster: harbor-operator's
 * "{username}.{cluster}.credentials", postgres-operator's
 * "{username}.{cluster}.credentials.postgresql.acid.zalan.do" ('_' in user becomes '-'). */
void install_secret_name(enum install_target t, const char *user, const char *cluster, char *out,
                         size_t len);
/* The operator users whose Secrets a restore copies: postgres, standby (and harbor for
 * harbor-operator). Returns how many are in out (at most 3). */
size_t install_clone_users(enum install_target t, const char *out[3]);

/* A copy of the Secret src for the new cluster: metadata reduced to name/namespace/labels/
 * annotations (no uid, resourceVersion, creationTimestamp, ownerReferences, managedFields,
 * kubectl's last-applied annotation), the cluster-name label set to new_cluster, an annotation
 * naming where it came from; type and data kept. */
json_t *install_copy_secret(const json_t *src, const char *ns, const char *name,
                            const char *new_cluster, const char *from);

/* A copy with every value of a Secret's data/stringData shown as ***. Other kinds: a copy. */
json_t *install_redacted(const json_t *obj);

/* The source prefix a restore reads: "spilo/<scope prefix><clone_cluster><suffix>/wal/" (key part,
 * no bucket). */
void install_clone_root(const struct install_settings *s, char *out, size_t len);

/* ---- decisions --------------------------------------------------------------------------- */

enum install_outcome {
    INSTALL_CREATED,
    INSTALL_CONFIGURED,
    INSTALL_UNCHANGED,
    INSTALL_FAILED,
    INSTALL_SKIPPED,
};
const char *install_outcome_name(enum install_outcome o);

/* After an apply answered http_status with an object of resourceVersion rv_after, when the
 * object read before had rv_before (NULL: it did not exist). */
enum install_outcome install_decide(long http_status, const char *rv_before, const char *rv_after);
/* metadata.resourceVersion, or NULL. */
const char *install_rv(const json_t *obj);

/* Whether obj's labels hold every k=v of selector ("k=v,k2=v2", equality only, the form of
 * [install] operator_selector). */
bool install_labels_match(const json_t *obj, const char *selector);
/* A Pod with condition Ready=True and no deletionTimestamp. */
bool install_pod_ready(const json_t *pod);

/* Standard base64 of n bytes (a new string). */
char *install_base64(const unsigned char *data, size_t n);

#endif

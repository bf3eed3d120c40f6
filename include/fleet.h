/* fleet.h - `spilo-agent status`: every Spilo pod (label application=spilo, as the
 * postgres-operator labels them) in one namespace or all, and each pod's agent `/status` fetched
 * through the API server's pod proxy (GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/status, the
 * port the sidecar's container port `agent` names, else 8009): one row per pod with cluster, pod,
 * role, each check's status, the last backup's age, the next scheduled backup and the recovery
 * window when the agent reports one. Rows are JSON objects, rendered as a table (kubectl's
 * style), wide table, JSON or YAML. The row building and rendering are pure and unit tested. */
#ifndef AGENT_FLEET_H
#define AGENT_FLEET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "common.h"
#include "config.h"
#include "curlm.h"

#define FLEET_SELECTOR     "application=spilo"
#define FLEET_PORT_NAME    "agent"
#define FLEET_DEFAULT_PORT 8009
#define FLEET_PARALLEL     8

enum fleet_output { FLEET_OUT_TABLE, FLEET_OUT_WIDE, FLEET_OUT_JSON, FLEET_OUT_YAML };

struct fleet_opts {
    const char *namespace; /* NULL: the client's default (kubeconfig context, or [kubernetes]) */
    bool all_namespaces;
    enum fleet_output output;
};

/* "wide", "json", "yaml" (and "table"/""): returns 0 or -EINVAL. */
MUSTCHECK int fleet_output_parse(const char *s, enum fleet_output *out);

/* ---- pure parts ------------------------------------------------------------------------------ */

/* The port of the pod's agent: the container port named "agent" (the spilo-agent container's
 * first), else FLEET_DEFAULT_PORT when a container is named spilo-agent (the operator's
 * ConfigMap sidecar declares no ports) or the pod lists no containers; -1 when the pod has
 * containers but no agent among them. */
int fleet_agent_port(const json_t *pod);

/* One row (new object) for pod: namespace, pod, cluster (label cluster-name), role (label
 * spilo-role), and from status (the agent's /status JSON, or NULL when error says why there is
 * none): status, checks {name: status}, summary (the worst check's), agent_version,
 * last_backup_at, last_backup_age_seconds, next_backup_at, next_backup_in_seconds,
 * recovery_window_seconds (null when the agent reports none). now_s: for ages when the status
 * carries no "now". A pod without an answer is "unknown" with its error. */
json_t *fleet_row(const json_t *pod, const json_t *status, const char *error, int64_t now_s);

/* The worst status over the rows (critical > warning > unknown > ok); no rows: unknown. */
enum verdict fleet_worst(const json_t *rows);

/* Renders rows (a JSON array of fleet_row objects) into out. show_ns: a NAMESPACE column (-A). */
void fleet_render(struct buf *out, const json_t *rows, enum fleet_output output, bool show_ns);

/* "45s", "12m", "5h", "3d" (kubectl's short ages); "-" for a negative value. */
void fleet_format_age(int64_t seconds, char *out, size_t len);

/* ---- the run -----------------------------------------------------------------------------------
 */

struct fleet_result {
    int rc;            /* 0: listed (rows may hold unreachable pods); < 0: the listing failed */
    const char *error; /* with rc < 0 */
    const json_t *rows;
    const char *namespace; /* the namespace listed ("" with all namespaces) */
};
typedef void (*fleet_done_fn)(const struct fleet_result *res, void *arg);

struct fleet; /* opaque */

/* Lists the pods and asks every agent (FLEET_PARALLEL at a time); cb runs once, on the loop.
 * Returns 0, or -EINVAL with err (no API server, a kubeconfig error) and cb is not called. */
MUSTCHECK int fleet_start(struct curlm *cm, const struct config *cfg, const struct fleet_opts *o,
                          fleet_done_fn cb, void *arg, struct fleet **out, char *err,
                          size_t errlen);
void fleet_free(struct fleet *f); /* after cb, or to cancel; NULL is fine */

/* One cluster's agent, for a command run outside the pod (cleanup's restore gate): the pods of
 * cluster (labels application=spilo, cluster-name=CLUSTER) in the client's namespace, the leader
 * (spilo-role master) else any Running one, and its /status through the pod proxy. cb runs once
 * on the loop: rc 0 with status (borrowed) and the pod's name, or rc < 0 with error (pod may be
 * NULL). Returns 0, or -EINVAL with err and cb is not called. */
typedef void (*fleet_pod_status_fn)(int rc, const json_t *status, const char *pod,
                                    const char *error, void *arg);
struct fleet_query; /* opaque */
MUSTCHECK int fleet_query_cluster(struct curlm *cm, const struct config *cfg, const char *cluster,
                                  fleet_pod_status_fn cb, void *arg, struct fleet_query **out,
                                  char *err, size_t errlen);
void fleet_query_free(struct fleet_query *q); /* after cb, or to cancel; NULL is fine */

#endif

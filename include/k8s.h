/* k8s.h - a small Kubernetes API client on the process's curl multi handle (curlm.c): in-cluster
 * service account defaults, TLS always verified against the cluster CA, the bearer token re-read
 * for every request (the kubelet rotates it), JSON in and out, and every failure turned into one
 * sentence a person can act on (401, 403 with the RBAC rule to add, 404, 409, 422, TLS, server
 * unreachable). The token never appears in any output. URL building, Status parsing and the error
 * sentences are pure functions, unit tested and fuzzed. */
#ifndef AGENT_K8S_H
#define AGENT_K8S_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "config.h"
#include "curlm.h"

#define K8S_SA_DIR             "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8S_FIELD_MANAGER      "spilo-agent"
#define K8S_DEFAULT_TIMEOUT_MS 10000L
#define K8S_MAX_BODY_BYTES     (8u << 20)

enum k8s_verb {
    K8S_GET,         /* GET the object, or the collection when ref->name is NULL */
    K8S_CREATE,      /* POST the object (body) to the collection; ref->name only names it in
                        messages */
    K8S_MERGE_PATCH, /* PATCH application/merge-patch+json (RFC 7386) */
    K8S_APPLY,       /* PATCH application/apply-patch+yaml with a JSON body: server-side apply,
                        ?fieldManager=spilo-agent&force=true; creates the object when missing */
    K8S_DELETE,      /* DELETE the object (ref->name required, no body) */
};

/* Which object or collection. Strings are borrowed for the duration of the call that takes them
 * (k8s_request copies what it keeps). */
struct k8s_ref {
    const char *group;          /* "" or NULL: the core group (/api/v1); else e.g. "apps" */
    const char *version;        /* "v1" (NULL: "v1") */
    const char *resource;       /* plural, lower case, as in RBAC rules: "configmaps" */
    const char *kind;           /* for messages only: "ConfigMap" (NULL: the resource is shown) */
    const char *namespace;      /* NULL or "": cluster scoped */
    const char *name;           /* NULL: the collection */
    const char *subresource;    /* GET only: a path below the object, e.g. "proxy/status" for
                                   pods/proxy (name "POD:PORT"); NULL: none */
    const char *label_selector; /* GET of a collection: ?labelSelector= (k=v[,k=v]); NULL: none */
};

/* The answer to one request, valid during the callback only. */
struct k8s_reply {
    /* 0 for a 2xx answer; else -EACCES (401, 403), -ENOENT (404), -EEXIST (409 AlreadyExists),
     * -ESTALE (409 Conflict: resourceVersion changed), -EINVAL (400, 415, 422), -ETIMEDOUT,
     * -ECONNREFUSED (API server unreachable), -EPROTO (TLS verification), -EIO (anything else). */
    int rc;
    long http_status;  /* 0 when no HTTP answer arrived */
    json_t *object;    /* the JSON body of a 2xx answer (borrowed: json_incref to keep), or NULL */
    const char *error; /* NULL when rc == 0; else one sentence: what failed, why, and the fix */
};

typedef void (*k8s_done_fn)(const struct k8s_reply *reply, void *arg);

struct k8s_client; /* opaque */
struct k8s_call;   /* one request in flight */

/* A client for the configured API server, found as kubectl finds it (docs/kubeconfig.md):
 * [kubernetes] kubeconfig (--kubeconfig) when set; else [kubernetes] api when set explicitly
 * (with token_file and ca_file); else the files of KUBECONFIG, else ~/.kube/config, with
 * [kubernetes] context (--context) or the current-context; else, when none of those exists, the
 * in-cluster service account (api from KUBERNETES_SERVICE_HOST/PORT, token_file, ca_file).
 * Namespace: [kubernetes] namespace (or POD_NAMESPACE), else the kubeconfig context's, else
 * "default" with a kubeconfig and K8S_SA_DIR/namespace in a pod. Returns 0, or -EINVAL with a
 * sentence in err (no API server found, a kubeconfig error, a URL that is not https, no
 * namespace). Token files and exec plugins are only read or run when a request starts; an exec
 * plugin's credential is kept until its expirationTimestamp. */
MUSTCHECK int k8s_client_new(struct curlm *cm, const struct config *cfg, struct k8s_client **out,
                             char *err, size_t errlen);
/* Cancel the calls in flight first. NULL is fine. */
void k8s_client_free(struct k8s_client *kc);
const char *k8s_client_namespace(const struct k8s_client *kc); /* the resolved default */
const char *k8s_client_api(const struct k8s_client *kc);
/* "context NAME of kubeconfig FILES" when the client came from a kubeconfig, else NULL. */
const char *k8s_client_source(const struct k8s_client *kc);
void k8s_client_set_timeout_ms(struct k8s_client *kc, long timeout_ms); /* whole request */

/* Starts one request; body is the JSON document for CREATE, MERGE_PATCH and APPLY (NULL for
 * GET and DELETE). cb runs exactly once on the loop thread, never from inside k8s_request. Returns
 * 0, or a negative errno with a sentence in err when the request cannot start (token file
 * unreadable, a name that cannot be part of a URL); then cb is not called. *out (may be NULL) is
 * valid until cb runs, for k8s_call_cancel. */
MUSTCHECK int k8s_request(struct k8s_client *kc, enum k8s_verb verb, const struct k8s_ref *ref,
                          const json_t *body, k8s_done_fn cb, void *arg, struct k8s_call **out,
                          char *err, size_t errlen);
/* Aborts a call in flight; its callback is not called. */
void k8s_call_cancel(struct k8s_call *call);

/* GETs this pod (pods/<name> in the client's namespace; RBAC: get on pods). name: POD_NAME from
 * the downward API (the postgres-operator gives every sidecar one), else HOSTNAME. Returns 0, or
 * -EINVAL/-ENOENT with a sentence in err (no pod name, or what k8s_request says). */
MUSTCHECK int k8s_get_own_pod(struct k8s_client *kc, char *const *envp, k8s_done_fn cb, void *arg,
                              struct k8s_call **out, char *err, size_t errlen);

/* ---- pure parts -------------------------------------------------------------------------- */

/* The environment the kubelet gives container `container` of pod (a Pod object), as NAME=VALUE
 * strings, NULL-terminated, caller frees (k8s_env_free). value: the literal; valueFrom fieldRef
 * metadata.name/namespace/uid and status.podIP/hostIP from the pod; secretKeyRef becomes the
 * placeholder "(Secret NAME key KEY)" (set, value unread); other sources and envFrom are not
 * resolved: their names (or "envFrom configMap NAME") are appended to *unknown (a JSON array the
 * caller owns; may be NULL). Later entries with the same name win, like the kubelet's. Returns
 * NULL when the pod has no such container. */
char **k8s_pod_container_env(const json_t *pod, const char *container, json_t *unknown);
void k8s_env_free(char **envp);

/* ---- pure parts, continued ----------------------------------------------------------------- */

/* "get" (or "list" for a collection), "create", "patch", "delete": the RBAC verb a request needs.
 */
const char *k8s_verb_rbac(enum k8s_verb verb, const struct k8s_ref *ref);

/* api + the object's path (+ "/SUBRESOURCE" for a GET with one, + "?labelSelector=..." for a
 * GET of a collection with a selector (URL-encoded), + "?fieldManager=spilo-agent&force=true" for
 * APPLY) into out:
 * /api/v1/namespaces/NS/RESOURCE[/NAME] for the core group, /apis/GROUP/VERSION/... otherwise,
 * without /namespaces/NS when cluster scoped. Path segments must be non-empty, not "." or "..",
 * of [A-Za-z0-9._:-]. Returns 0, -EINVAL (bad api or segment) or -ENAMETOOLONG. */
MUSTCHECK int k8s_build_url(const char *api, enum k8s_verb verb, const struct k8s_ref *ref,
                            char *out, size_t len);

/* A metav1.Status answer, as far as it could be read (missing fields stay empty / 0). */
struct k8s_status {
    int code;
    char reason[64]; /* "Forbidden", "NotFound", "Conflict", "AlreadyExists", "Invalid", ... */
    char message[1024];
    char details_name[256];
    char details_kind[64];
    char causes[512]; /* "field: message; ..." from details.causes */
};
/* Returns 0 when body is a JSON object of kind Status, else -EINVAL (st is then zeroed). */
MUSTCHECK int k8s_status_parse(const char *body, size_t len, struct k8s_status *st);

/* The parts of an RBAC denial, from the API server's message:
 *   configmaps "pod-config" is forbidden: User "system:serviceaccount:ns:sa" cannot patch
 *   resource "configmaps" in API group "" in the namespace "ns"
 * (or "... at the cluster scope"; the resource may be "resource/subresource"). */
struct k8s_forbidden {
    char user[256];
    char verb[32];
    char resource[128];
    char group[128];
    char name[256]; /* "" when the message names no object (create, list) */
    char namespace[128];
    bool cluster_scope;
};
/* Returns 0 or -EINVAL when message does not have that form. */
MUSTCHECK int k8s_forbidden_parse(const char *message, struct k8s_forbidden *f);
/* The RBAC rule that would allow it, e.g. `Role rule: apiGroups [""], resources ["configmaps"],
 * verbs ["patch"], resourceNames ["pod-config"]` (no resourceNames for create/list, which RBAC
 * cannot restrict by name; "ClusterRole rule" at the cluster scope). */
void k8s_rbac_rule(const struct k8s_forbidden *f, char *out, size_t len);

/* Everything k8s_describe_failure needs to know about one failed request. */
struct k8s_failure {
    const char *api;        /* the API server URL */
    const char *token_file; /* named in the 401 sentence (the token itself never is) */
    const char *ca_file;    /* named in TLS sentences */
    const char *kubeconfig; /* "context X of kubeconfig F" when the client uses one, else NULL */
    enum k8s_verb verb;
    const struct k8s_ref *ref;
    long http_status;       /* 0: no HTTP answer, see curl_rc */
    int curl_rc;            /* a CURLcode */
    const char *curl_error; /* curl's error buffer, may be NULL or "" */
    long timeout_ms;
    const char *body; /* the answer's body (a Status, usually), may be NULL */
    size_t body_len;
};
/* One sentence for a failed request into out; returns the rc category (see struct k8s_reply). */
int k8s_describe_failure(const struct k8s_failure *f, char *out, size_t len);

#endif

/* k8s.c - owns the Kubernetes API requests: their URLs, headers (bearer token read from the file
 * for every request, never kept, never printed), TLS settings, bodies, and the translation of
 * every failure into one sentence. Transfers run on the shared curl multi handle; nothing here
 * blocks except reading the small token file. It knows no resource beyond what a k8s_ref names. */
#include "k8s.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kubeconfig.h"
#include "secret.h"
#include "log.h"
#include "util.h"

#define TOKEN_MAX_BYTES 65536

struct k8s_client {
    struct curlm *cm;
    char *api;
    char *token_file;
    char *ca_file;
    char *namespace;
    long timeout_ms;
    struct kubeconfig *kcfg;     /* NULL: [kubernetes] api/token_file/ca_file or in-cluster */
    char *source;                /* "context X of kubeconfig F" with kcfg */
    struct kubeconfig_cred cred; /* the exec plugin's, while have_cred */
    bool have_cred;
};

struct k8s_call {
    struct k8s_client *kc;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    struct buf resp;
    char errbuf[CURL_ERROR_SIZE];
    enum k8s_verb verb;
    char *group, *version, *resource, *kind, *ns, *name;
    k8s_done_fn cb;
    void *arg;
};

/* ---- pure helpers ------------------------------------------------------------------------ */

static bool str_empty(const char *s)
{
    return !s || !*s;
}

/* Copies src into dst (at most max source bytes), turning control characters into spaces so an
 * answer from the server cannot break the one-line output. */
/* Copies at most max bytes of src into dst, control characters as blanks. Every known secret is
 * scrubbed from src first, so that no cut leaves a prefix of one. */
static void copy_clean(char *dst, size_t dstlen, const char *src, size_t max)
{
    size_t j = 0;
    char *s;

    if (dstlen == 0)
        return;
    s = xstrndup(src ? src : "", src ? strnlen(src, max) : 0);
    secret_scrub(s);
    for (size_t i = 0; s[i] && j + 1 < dstlen; i++) {
        unsigned char ch = (unsigned char)s[i];

        dst[j++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    dst[j] = '\0';
    free(s);
}

static bool segment_ok(const char *s)
{
    if (str_empty(s) || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const char *p = s; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_' && *p != ':')
            return false;
    }
    return true;
}

const char *k8s_verb_rbac(enum k8s_verb verb, const struct k8s_ref *ref)
{
    switch (verb) {
    case K8S_GET:
        return ref && str_empty(ref->name) ? "list" : "get";
    case K8S_CREATE:
        return "create";
    case K8S_MERGE_PATCH:
    case K8S_APPLY:
        return "patch";
    case K8S_DELETE:
        return "delete";
    }
    return "?";
}

static const char *verb_phrase(enum k8s_verb verb)
{
    switch (verb) {
    case K8S_GET:
        return "read";
    case K8S_CREATE:
        return "create";
    case K8S_MERGE_PATCH:
        return "patch";
    case K8S_APPLY:
        return "apply";
    case K8S_DELETE:
        return "delete";
    }
    return "?";
}

int k8s_build_url(const char *api, enum k8s_verb verb, const struct k8s_ref *ref, char *out,
                  size_t len)
{
    size_t alen, n;
    const char *version;
    bool want_name = verb != K8S_CREATE && !str_empty(ref->name);
    int w;

    if (str_empty(api) || !ref || !segment_ok(ref->resource))
        return -EINVAL;
    if ((verb == K8S_MERGE_PATCH || verb == K8S_APPLY || verb == K8S_DELETE) &&
        str_empty(ref->name))
        return -EINVAL;
    if (want_name && !segment_ok(ref->name))
        return -EINVAL;
    if (!str_empty(ref->namespace) && !segment_ok(ref->namespace))
        return -EINVAL;
    if (!str_empty(ref->group) && !segment_ok(ref->group))
        return -EINVAL;
    version = str_empty(ref->version) ? "v1" : ref->version;
    if (!segment_ok(version))
        return -EINVAL;
    alen = strlen(api);
    while (alen > 0 && api[alen - 1] == '/')
        alen--;
    if (alen == 0)
        return -EINVAL;
    w = snprintf(out, len, "%.*s", (int)alen, api);
    if (w < 0 || (size_t)w >= len)
        return -ENAMETOOLONG;
    n = (size_t)w;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        w = snprintf(out + n, len - n, __VA_ARGS__);                                               \
        if (w < 0 || (size_t)w >= len - n)                                                         \
            return -ENAMETOOLONG;                                                                  \
        n += (size_t)w;                                                                            \
    } while (0)
    if (str_empty(ref->group))
        APPEND("/api/%s", version);
    else
        APPEND("/apis/%s/%s", ref->group, version);
    if (!str_empty(ref->namespace))
        APPEND("/namespaces/%s", ref->namespace);
    APPEND("/%s", ref->resource);
    if (want_name)
        APPEND("/%s", ref->name);
    if (verb == K8S_GET && want_name && !str_empty(ref->subresource)) {
        for (const char *p = ref->subresource; *p; p++) {
            if (!isalnum((unsigned char)*p) && !strchr("/._-", *p))
                return -EINVAL;
        }
        if (strstr(ref->subresource, "..") || ref->subresource[0] == '/')
            return -EINVAL;
        APPEND("/%s", ref->subresource);
    }
    if (verb == K8S_GET && !want_name && !str_empty(ref->label_selector)) {
        APPEND("?labelSelector=");
        for (const char *p = ref->label_selector; *p; p++) {
            unsigned char ch = (unsigned char)*p;

            if (isalnum(ch) || strchr("-._~", ch))
                APPEND("%c", ch);
            else
                APPEND("%%%02X", ch);
        }
    }
    if (verb == K8S_APPLY)
        APPEND("?fieldManager=%s&force=true", K8S_FIELD_MANAGER);
#undef APPEND
    return 0;
}

static void json_str_into(json_t *obj, const char *key, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(obj, key));

    copy_clean(out, len, v ? v : "", v ? strlen(v) : 0);
}

int k8s_status_parse(const char *body, size_t len, struct k8s_status *st)
{
    json_t *doc, *details, *causes, *code;
    const char *kind;
    size_t n = 0;

    memset(st, 0, sizeof(*st));
    if (!body || len == 0)
        return -EINVAL;
    doc = json_loadb(body, len, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return -EINVAL;
    }
    kind = json_string_value(json_object_get(doc, "kind"));
    if (!kind || strcmp(kind, "Status") != 0) {
        json_decref(doc);
        return -EINVAL;
    }
    code = json_object_get(doc, "code");
    if (json_is_integer(code) && json_integer_value(code) >= 0 && json_integer_value(code) <= 999)
        st->code = (int)json_integer_value(code);
    json_str_into(doc, "reason", st->reason, sizeof(st->reason));
    json_str_into(doc, "message", st->message, sizeof(st->message));
    details = json_object_get(doc, "details");
    if (json_is_object(details)) {
        json_str_into(details, "name", st->details_name, sizeof(st->details_name));
        json_str_into(details, "kind", st->details_kind, sizeof(st->details_kind));
        causes = json_object_get(details, "causes");
        for (size_t i = 0; json_is_array(causes) && i < json_array_size(causes); i++) {
            json_t *c = json_array_get(causes, i);
            const char *field = json_string_value(json_object_get(c, "field"));
            const char *msg = json_string_value(json_object_get(c, "message"));
            char one[512];
            int w;

            if (!msg)
                continue;
            w = snprintf(one, sizeof(one), "%s%s%s%s", n ? "; " : "", field ? field : "",
                         field ? ": " : "", msg);
            if (w < 0)
                continue;
            copy_clean(st->causes + n, sizeof(st->causes) - n, one, strlen(one));
            n += strlen(st->causes + n);
            if (n + 1 >= sizeof(st->causes))
                break;
        }
    }
    json_decref(doc);
    return 0;
}

/* Copies the text from *p up to delim into out and moves *p past delim. */
static int take_until(const char **p, const char *delim, char *out, size_t len)
{
    const char *end = strstr(*p, delim);
    size_t n;

    if (!end)
        return -EINVAL;
    n = (size_t)(end - *p);
    if (n >= len)
        return -EINVAL;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = end + strlen(delim);
    return 0;
}

static bool skip(const char **p, const char *lit)
{
    size_t n = strlen(lit);

    if (strncmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

int k8s_forbidden_parse(const char *message, struct k8s_forbidden *f)
{
    static const char mark[] = " is forbidden: User \"";
    const char *at, *p;
    size_t plen;

    memset(f, 0, sizeof(*f));
    if (!message)
        return -EINVAL;
    at = strstr(message, mark);
    if (!at)
        return -EINVAL;
    /* The prefix is `resource "name"` for one object, `resource` for a collection. */
    plen = (size_t)(at - message);
    if (plen >= 2 && message[plen - 1] == '"') {
        const char *q = memchr(message, '"', plen - 1);

        if (!q || (size_t)(message + plen - 1 - q - 1) >= sizeof(f->name))
            return -EINVAL;
        memcpy(f->name, q + 1, (size_t)(message + plen - 1 - q - 1));
        f->name[message + plen - 1 - q - 1] = '\0';
    }
    p = at + strlen(mark);
    if (take_until(&p, "\" cannot ", f->user, sizeof(f->user)) < 0)
        return -EINVAL;
    if (take_until(&p, " resource \"", f->verb, sizeof(f->verb)) < 0 || strchr(f->verb, ' '))
        return -EINVAL;
    if (take_until(&p, "\" in API group \"", f->resource, sizeof(f->resource)) < 0)
        return -EINVAL;
    if (take_until(&p, "\"", f->group, sizeof(f->group)) < 0)
        return -EINVAL;
    if (skip(&p, " in the namespace \"")) {
        if (take_until(&p, "\"", f->namespace, sizeof(f->namespace)) < 0)
            return -EINVAL;
    } else if (skip(&p, " at the cluster scope")) {
        f->cluster_scope = true;
    } else {
        return -EINVAL;
    }
    if (!*f->user || !*f->verb || !*f->resource)
        return -EINVAL;
    return 0;
}

void k8s_rbac_rule(const struct k8s_forbidden *f, char *out, size_t len)
{
    bool by_name = *f->name && strcmp(f->verb, "create") != 0 && strcmp(f->verb, "list") != 0 &&
                   strcmp(f->verb, "watch") != 0 && strcmp(f->verb, "deletecollection") != 0;

    snprintf(out, len, "%s rule: apiGroups [\"%s\"], resources [\"%s\"], verbs [\"%s\"]%s%s%s",
             f->cluster_scope ? "ClusterRole" : "Role", f->group, f->resource, f->verb,
             by_name ? ", resourceNames [\"" : "", by_name ? f->name : "", by_name ? "\"]" : "");
}

/* `ConfigMap "pod-config" in namespace "ns"`, `configmaps in namespace "ns"`, `Namespace "x"` */
static void describe_object(const struct k8s_ref *ref, char *out, size_t len)
{
    const char *what = !str_empty(ref->kind) ? ref->kind : ref->resource;
    char ns[200] = "";

    if (!str_empty(ref->namespace))
        snprintf(ns, sizeof(ns), " in namespace \"%s\"", ref->namespace);
    if (!str_empty(ref->name))
        snprintf(out, len, "%s \"%s\"%s", what ? what : "object", ref->name, ns);
    else
        snprintf(out, len, "%s%s", ref->resource ? ref->resource : "objects", ns);
}

static bool is_tls_error(int rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CIPHER:
        return true;
    default:
        return false;
    }
}

static int describe_transport(const struct k8s_failure *f, char *out, size_t len)
{
    char cerr[CURL_ERROR_SIZE + 1];
    const char *api = str_empty(f->api) ? "(no URL)" : f->api;

    copy_clean(cerr, sizeof(cerr),
               !str_empty(f->curl_error) ? f->curl_error : curl_easy_strerror(f->curl_rc),
               CURL_ERROR_SIZE);
    if (f->kubeconfig) {
        if (f->curl_rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(out, len,
                     "the Kubernetes API server at %s (%s) did not answer within %ld ms (%s); "
                     "check the cluster's server in the kubeconfig and that this machine can "
                     "reach it (VPN, proxy)",
                     api, f->kubeconfig, f->timeout_ms, cerr);
            return -ETIMEDOUT;
        }
        if (is_tls_error(f->curl_rc)) {
            snprintf(out, len,
                     "TLS with the Kubernetes API server at %s (%s) failed (%s); check the "
                     "cluster's certificate-authority(-data) and server in the kubeconfig, and "
                     "the user's client certificate and key",
                     api, f->kubeconfig, cerr);
            return -EPROTO;
        }
        if (f->curl_rc == CURLE_COULDNT_CONNECT || f->curl_rc == CURLE_COULDNT_RESOLVE_HOST ||
            f->curl_rc == CURLE_SEND_ERROR || f->curl_rc == CURLE_RECV_ERROR ||
            f->curl_rc == CURLE_GOT_NOTHING || f->curl_rc == CURLE_COULDNT_RESOLVE_PROXY) {
            snprintf(out, len,
                     "the Kubernetes API server is unreachable at %s (%s; %s); check the "
                     "cluster's server in the kubeconfig and that this machine can reach it",
                     api, f->kubeconfig, cerr);
            return -ECONNREFUSED;
        }
    }
    switch (f->curl_rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, len,
                 "the Kubernetes API server at %s did not answer within %ld ms (%s); check "
                 "[kubernetes] api and that this pod can reach the API server (network policy, "
                 "proxy)",
                 api, f->timeout_ms, cerr);
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        snprintf(out, len,
                 "the Kubernetes API server is unreachable at %s (%s); check [kubernetes] api "
                 "(in a pod it comes from KUBERNETES_SERVICE_HOST/PORT) and that this pod can "
                 "reach it",
                 api, cerr);
        return -ECONNREFUSED;
    default:
        break;
    }
    if (is_tls_error(f->curl_rc)) {
        snprintf(out, len,
                 "TLS verification of the Kubernetes API server at %s failed with the CA bundle "
                 "%s (%s); set [kubernetes] ca_file to the cluster's CA certificate (in a pod: "
                 "%s/ca.crt) and [kubernetes] api to the address the server certificate names",
                 api, str_empty(f->ca_file) ? "(none)" : f->ca_file, cerr, K8S_SA_DIR);
        return -EPROTO;
    }
    snprintf(out, len, "the request to the Kubernetes API server at %s failed (%s)", api, cerr);
    return -EIO;
}

static int describe_failure(const struct k8s_failure *f, char *out, size_t len);

int k8s_describe_failure(const struct k8s_failure *f, char *out, size_t len)
{
    /* A server may echo what it was sent (the bearer token): scrub the whole body before any
     * excerpt is cut from it, and the sentence (the API URL may carry a password) after. */
    struct k8s_failure g = *f;
    char *body = f->body ? xstrndup(f->body, f->body_len) : NULL;
    int rc;

    if (body) {
        secret_scrub(body);
        g.body = body;
        g.body_len = strlen(body);
    }
    rc = describe_failure(&g, out, len);
    secret_scrub(out);
    free(body);
    return rc;
}

static int describe_failure(const struct k8s_failure *f, char *out, size_t len)
{
    static const struct k8s_ref none = {.resource = "objects"};
    const struct k8s_ref *ref = f->ref ? f->ref : &none;
    struct k8s_status st;
    bool have_status;
    char obj[600], said[700], rule[700];
    const char *api = str_empty(f->api) ? "(no URL)" : f->api;
    const char *vp = verb_phrase(f->verb);
    long code = f->http_status;

    if (code == 0)
        return describe_transport(f, out, len);
    describe_object(ref, obj, sizeof(obj));
    have_status = k8s_status_parse(f->body, f->body_len, &st) == 0;
    /* What the server said, for the sentence: the Status message, else a clean excerpt. */
    if (have_status && *st.message)
        copy_clean(said, sizeof(said), st.message, 400);
    else if (!have_status && f->body && f->body_len)
        copy_clean(said, sizeof(said), f->body, f->body_len < 160 ? f->body_len : 160);
    else
        snprintf(said, sizeof(said), "no message");

    switch (code) {
    case 401:
        if (f->kubeconfig) {
            snprintf(out, len,
                     "the Kubernetes API server at %s rejected the credentials of %s (401 "
                     "Unauthorized): they are invalid or expired; log in again to refresh the "
                     "kubeconfig's user, or pick another context with --context",
                     api, f->kubeconfig);
            return -EACCES;
        }
        snprintf(out, len,
                 "the Kubernetes API server at %s rejected the bearer token from %s (401 "
                 "Unauthorized): the token is invalid or expired; check that the service account "
                 "token is mounted and current (automountServiceAccountToken), or point "
                 "[kubernetes] token_file to a valid token",
                 api, str_empty(f->token_file) ? "(none)" : f->token_file);
        return -EACCES;
    case 403: {
        struct k8s_forbidden fb;

        if (have_status && k8s_forbidden_parse(st.message, &fb) == 0) {
            char where[200];
            bool sa = strncmp(fb.user, "system:serviceaccount:", 22) == 0;

            k8s_rbac_rule(&fb, rule, sizeof(rule));
            if (fb.cluster_scope)
                snprintf(where, sizeof(where), "at the cluster scope");
            else
                snprintf(where, sizeof(where), "in namespace \"%s\"", fb.namespace);
            snprintf(out, len,
                     "the %s %s may not %s %s%s%s%s %s (403 Forbidden); add this rule to a %s "
                     "bound to it%s%s%s: %s",
                     sa ? "service account" : "user", fb.user, fb.verb, fb.resource,
                     *fb.name ? " \"" : "", fb.name, *fb.name ? "\"" : "", where,
                     fb.cluster_scope ? "ClusterRole" : "Role",
                     fb.cluster_scope ? "" : " in namespace \"",
                     fb.cluster_scope ? "" : fb.namespace, fb.cluster_scope ? "" : "\"", rule);
        } else {
            /* Not the RBAC authorizer's wording (a webhook, an admission plugin): state what
             * the request needed and quote the server. */
            struct k8s_forbidden mine;

            memset(&mine, 0, sizeof(mine));
            snprintf(mine.verb, sizeof(mine.verb), "%s", k8s_verb_rbac(f->verb, ref));
            snprintf(mine.resource, sizeof(mine.resource), "%s", ref->resource);
            snprintf(mine.group, sizeof(mine.group), "%s", ref->group ? ref->group : "");
            if (!str_empty(ref->name))
                snprintf(mine.name, sizeof(mine.name), "%s", ref->name);
            mine.cluster_scope = str_empty(ref->namespace);
            k8s_rbac_rule(&mine, rule, sizeof(rule));
            snprintf(out, len,
                     "the Kubernetes API server forbids to %s %s (403 Forbidden: %s); the service "
                     "account needs this %s",
                     vp, obj, said, rule);
        }
        return -EACCES;
    }
    case 404:
        if (have_status && *st.details_name &&
            (str_empty(ref->name) || strcmp(st.details_name, ref->name) != 0 ||
             (*st.details_kind && strcmp(st.details_kind, ref->resource) != 0)))
            /* Something else is missing, e.g. the namespace of an object to create. */
            snprintf(out, len, "cannot %s %s: %s (404 Not Found)", vp, obj, said);
        else if (have_status && *st.details_name)
            snprintf(out, len, "%s was not found (404 Not Found at %s)", obj, api);
        else
            snprintf(out, len,
                     "the server at %s does not serve %s (404 Not Found: %s); check [kubernetes] "
                     "api, and that the resource type exists in this cluster",
                     api, obj, said);
        return -ENOENT;
    case 409:
        if (have_status && strcmp(st.reason, "AlreadyExists") == 0) {
            snprintf(out, len, "%s already exists (409 AlreadyExists)", obj);
            return -EEXIST;
        }
        snprintf(out, len,
                 "%s was changed by someone else since it was read (409 Conflict: %s); its "
                 "resourceVersion no longer matches, read it again and re-run",
                 obj, said);
        return -ESTALE;
    case 422:
        snprintf(out, len,
                 "the Kubernetes API server rejected the %s of %s as invalid (422: %s%s%s)", vp,
                 obj, said, have_status && *st.causes ? "; " : "", have_status ? st.causes : "");
        return -EINVAL;
    case 400:
    case 415:
        snprintf(out, len,
                 "the Kubernetes API server refused the request to %s %s as malformed (%ld: %s)",
                 vp, obj, code, said);
        return -EINVAL;
    case 429:
        snprintf(out, len,
                 "the Kubernetes API server is throttling requests (429 Too Many Requests) and "
                 "did not %s %s; retry in a minute",
                 vp, obj);
        return -EIO;
    default:
        break;
    }
    if (code >= 500)
        snprintf(out, len,
                 "the Kubernetes API server at %s failed to %s %s (%ld: %s); retry later, and "
                 "check the API server if it persists",
                 api, vp, obj, code, said);
    else
        snprintf(out, len,
                 "the Kubernetes API server at %s answered %ld to the request to %s %s (%s)", api,
                 code, vp, obj, said);
    return -EIO;
}

/* ---- the client ---------------------------------------------------------------------------- */

/* Reads a small file's first line-ish content: the whole file, trailing whitespace stripped.
 * Returns a malloc'd string or NULL with errno set. */
static char *read_small_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = xmalloc(max + 1);
    n = fread(buf, 1, max, f);
    if (ferror(f)) {
        int e = errno ? errno : EIO;

        fclose(f);
        explicit_bzero(buf, max + 1);
        free(buf);
        errno = e;
        return NULL;
    }
    if (n == max && fgetc(f) != EOF) {
        fclose(f);
        explicit_bzero(buf, max + 1);
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return buf;
}

/* The client of a kubeconfig context: its server, namespace and a description for messages. */
static int client_from_kubeconfig(struct k8s_client *kc, struct kubeconfig **kcfg,
                                  const struct config *cfg, char *err, size_t errlen)
{
    struct kubeconfig *k = *kcfg;

    if (strncmp(k->server, "https://", 8) != 0 || !k->server[8]) {
        snprintf(err, errlen,
                 "the server '%s' of cluster \"%s\" (kubeconfig %s) is not an https:// URL; "
                 "spilo-agent only talks to the API server over TLS",
                 k->server, k->cluster_name, k->files);
        secret_scrub(err);
        return -EINVAL;
    }
    kc->api = xstrdup(k->server);
    kc->token_file = xstrdup(k->token_file ? k->token_file : "");
    kc->ca_file = xstrdup(k->ca_file ? k->ca_file : "");
    if (!str_empty(cfg->k8s_namespace))
        kc->namespace = xstrdup(cfg->k8s_namespace);
    else
        kc->namespace = xstrdup(k->namespace ? k->namespace : "default");
    kc->source = xasprintf("context \"%s\" (user \"%s\") of kubeconfig %s", k->context,
                           k->user_name, k->files);
    kc->kcfg = k;
    *kcfg = NULL;
    return 0;
}

int k8s_client_new(struct curlm *cm, const struct config *cfg, struct k8s_client **out, char *err,
                   size_t errlen)
{
    struct k8s_client *kc;
    struct kubeconfig *kcfg = NULL;
    bool explicit_api = !str_empty(cfg->k8s_api) && !cfg->k8s_api_in_cluster;
    bool explicit_kc = !str_empty(cfg->k8s_kubeconfig);
    char *ns = NULL;
    int rc;

    *out = NULL;
    /* kubectl's order: --kubeconfig, KUBECONFIG, ~/.kube/config, and the in-cluster service
     * account only when no kubeconfig is found (client-go clientcmd's DeferredLoadingClientConfig).
     * An [kubernetes] api set on purpose is like kubectl's --server: it wins over the files. */
    if (explicit_kc || !explicit_api) {
        char why[1536];

        rc = kubeconfig_load(cfg->k8s_kubeconfig, getenv("KUBECONFIG"), getenv("HOME"),
                             cfg->k8s_context, &kcfg, why, sizeof(why));
        if (rc == 0) {
            kc = xcalloc(1, sizeof(*kc));
            kc->cm = cm;
            kc->timeout_ms = K8S_DEFAULT_TIMEOUT_MS;
            rc = client_from_kubeconfig(kc, &kcfg, cfg, err, errlen);
            if (rc < 0) {
                kubeconfig_free(kcfg);
                k8s_client_free(kc);
                return rc;
            }
            if (!segment_ok(kc->namespace)) {
                snprintf(err, errlen, "namespace '%s' (%s) is not a valid namespace name",
                         kc->namespace, kc->source);
                k8s_client_free(kc);
                return -EINVAL;
            }
            *out = kc;
            return 0;
        }
        if (rc != -ENOENT || explicit_kc || !str_empty(cfg->k8s_context) ||
            str_empty(cfg->k8s_api)) {
            if (rc == -ENOENT && !explicit_kc)
                snprintf(err, errlen,
                         "no Kubernetes API server to talk to: %s, and KUBERNETES_SERVICE_HOST is "
                         "not set (not in a pod); pass --kubeconfig FILE, set KUBECONFIG, or set "
                         "[kubernetes] api",
                         why);
            else
                snprintf(err, errlen, "%s", why);
            return -EINVAL;
        }
        /* no kubeconfig anywhere, and in a pod: the service account */
    }
    if (strncmp(cfg->k8s_api, "https://", 8) != 0 || !cfg->k8s_api[8]) {
        snprintf(err, errlen,
                 "[kubernetes] api '%s' is not an https:// URL; the agent sends a bearer token "
                 "and only talks to the API server over verified TLS",
                 cfg->k8s_api);
        secret_scrub(err); /* a password in the URL */
        return -EINVAL;
    }
    if (!str_empty(cfg->k8s_namespace)) {
        ns = xstrdup(cfg->k8s_namespace);
    } else {
        ns = read_small_file(K8S_SA_DIR "/namespace", 256);
        if (str_empty(ns)) {
            free(ns);
            snprintf(err, errlen,
                     "no Kubernetes namespace: [kubernetes] namespace and POD_NAMESPACE are "
                     "unset and %s/namespace cannot be read; set [kubernetes] namespace",
                     K8S_SA_DIR);
            return -EINVAL;
        }
    }
    if (!segment_ok(ns)) {
        snprintf(err, errlen, "[kubernetes] namespace '%s' is not a valid namespace name", ns);
        free(ns);
        return -EINVAL;
    }
    kc = xcalloc(1, sizeof(*kc));
    kc->cm = cm;
    kc->api = xstrdup(cfg->k8s_api);
    kc->token_file = xstrdup(cfg->k8s_token_file ? cfg->k8s_token_file : "");
    kc->ca_file = xstrdup(cfg->k8s_ca_file ? cfg->k8s_ca_file : "");
    kc->namespace = ns;
    kc->timeout_ms = K8S_DEFAULT_TIMEOUT_MS;
    *out = kc;
    return 0;
}

void k8s_client_free(struct k8s_client *kc)
{
    if (!kc)
        return;
    free(kc->api);
    free(kc->token_file);
    free(kc->ca_file);
    free(kc->namespace);
    free(kc->source);
    kubeconfig_free(kc->kcfg);
    if (kc->have_cred)
        kubeconfig_cred_cleanup(&kc->cred);
    free(kc);
}

const char *k8s_client_source(const struct k8s_client *kc)
{
    return kc->source;
}

const char *k8s_client_namespace(const struct k8s_client *kc)
{
    return kc->namespace;
}

const char *k8s_client_api(const struct k8s_client *kc)
{
    return kc->api;
}

void k8s_client_set_timeout_ms(struct k8s_client *kc, long timeout_ms)
{
    if (timeout_ms > 0)
        kc->timeout_ms = timeout_ms;
}

static void call_free(struct k8s_call *call)
{
    /* The Authorization header is the one place the token lives: wipe it. */
    for (struct curl_slist *h = call->headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(call->headers);
    if (call->easy)
        curl_easy_cleanup(call->easy);
    buf_cleanup(&call->resp);
    free(call->body);
    free(call->group);
    free(call->version);
    free(call->resource);
    free(call->kind);
    free(call->ns);
    free(call->name);
    free(call);
}

static void call_done_cb(CURL *easy, CURLcode rc, void *arg)
{
    struct k8s_call *call = arg;
    struct k8s_reply reply = {0};
    struct k8s_ref ref = {call->group, call->version, call->resource, call->kind,
                          call->ns,    call->name,    NULL,           NULL};
    char msg[2048];
    long status = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    reply.http_status = rc == CURLE_OK ? status : 0;
    if (rc == CURLE_WRITE_ERROR && call->resp.overflow) {
        char obj[600];

        describe_object(&ref, obj, sizeof(obj));
        snprintf(msg, sizeof(msg),
                 "the Kubernetes API server's answer to %s %s is larger than %u MiB; refusing to "
                 "read it",
                 verb_phrase(call->verb), obj, K8S_MAX_BODY_BYTES >> 20);
        reply.rc = -EIO;
        reply.error = msg;
    } else if (rc == CURLE_OK && status >= 200 && status < 300) {
        reply.object = call->resp.len ? json_loadb(call->resp.data, call->resp.len, 0, NULL) : NULL;
        if (!json_is_object(reply.object)) {
            char obj[600];

            describe_object(&ref, obj, sizeof(obj));
            json_decref(reply.object);
            reply.object = NULL;
            snprintf(msg, sizeof(msg),
                     "the server at %s answered %ld to the request to %s %s, but not with a JSON "
                     "object; is [kubernetes] api a Kubernetes API server?",
                     call->kc->api, status, verb_phrase(call->verb), obj);
            reply.rc = -EIO;
            reply.error = msg;
        }
    } else {
        struct k8s_failure f = {
            .api = call->kc->api,
            .token_file = call->kc->token_file,
            .ca_file = call->kc->ca_file,
            .kubeconfig = call->kc->source,
            .verb = call->verb,
            .ref = &ref,
            .http_status = reply.http_status,
            .curl_rc = (int)rc,
            .curl_error = call->errbuf,
            .timeout_ms = call->kc->timeout_ms,
            .body = call->resp.data,
            .body_len = call->resp.len,
        };

        reply.rc = k8s_describe_failure(&f, msg, sizeof(msg));
        reply.error = msg;
        if (reply.http_status == 401 && call->kc->have_cred) {
            /* client-go drops an exec plugin's credential on 401: the next request runs the
             * plugin again (a revoked token, a clock that disagrees about the expiry) */
            kubeconfig_cred_cleanup(&call->kc->cred);
            call->kc->have_cred = false;
        }
    }
    log_debug("k8s", "%s %s/%s/%s status=%ld rc=%d", k8s_verb_rbac(call->verb, &ref),
              call->ns ? call->ns : "", call->resource, call->name ? call->name : "",
              reply.http_status, reply.rc);
    call->cb(&reply, call->arg);
    json_decref(reply.object);
    call_free(call);
}

/* The bearer token of a kubeconfig user (NULL: none, a client certificate may do): the exec
 * plugin's (run now unless a credential is cached and not about to expire), else tokenFile (read
 * per request, as client-go re-reads it), else token. */
static int kubeconfig_token(struct k8s_client *kc, char **token, char *err, size_t errlen)
{
    const struct kubeconfig *k = kc->kcfg;

    *token = NULL;
    if (k->exec) {
        if (kc->have_cred && kc->cred.expires_at_s && util_now_s() + 10 >= kc->cred.expires_at_s) {
            kubeconfig_cred_cleanup(&kc->cred);
            kc->have_cred = false;
        }
        if (!kc->have_cred) {
            int rc = kubeconfig_exec_run(k, KUBECONFIG_EXEC_TIMEOUT_MS, &kc->cred, err, errlen);

            if (rc < 0)
                return rc;
            kc->have_cred = true;
        }
        if (kc->cred.token)
            *token = xstrdup(kc->cred.token);
        return 0;
    }
    if (k->token_file) {
        char why[512];
        int rc = secret_file_read(k->token_file, TOKEN_MAX_BYTES, token, why, sizeof(why));

        if (rc < 0) {
            snprintf(err, errlen, "cannot read the tokenFile of user \"%s\" in %s (%s)",
                     k->user_name, k->files, why);
            return rc;
        }
        return 0;
    }
    if (k->token)
        *token = xstrdup(k->token);
    return 0;
}

static void set_blob(CURL *easy, CURLoption opt, const char *data, size_t len)
{
    struct curl_blob blob = {(void *)data, len, CURL_BLOB_COPY};

    curl_easy_setopt(easy, opt, &blob);
}

/* TLS of a kubeconfig cluster and user: CA data or file (else the system's roots, as kubectl),
 * insecure-skip-tls-verify, the client certificate and key (the exec plugin's first). */
static void kubeconfig_tls(const struct k8s_client *kc, CURL *easy)
{
    const struct kubeconfig *k = kc->kcfg;

    if (k->insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
        if (k->ca_pem)
            set_blob(easy, CURLOPT_CAINFO_BLOB, k->ca_pem, k->ca_pem_len);
        else if (k->ca_file)
            curl_easy_setopt(easy, CURLOPT_CAINFO, k->ca_file);
    }
    if (kc->have_cred && kc->cred.cert_pem) {
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(easy, CURLOPT_SSLCERT_BLOB, kc->cred.cert_pem, strlen(kc->cred.cert_pem));
        set_blob(easy, CURLOPT_SSLKEY_BLOB, kc->cred.key_pem, strlen(kc->cred.key_pem));
        return;
    }
    if (k->cert_pem) {
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(easy, CURLOPT_SSLCERT_BLOB, k->cert_pem, k->cert_pem_len);
    } else if (k->cert_file) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, k->cert_file);
    }
    if (k->key_pem)
        set_blob(easy, CURLOPT_SSLKEY_BLOB, k->key_pem, k->key_pem_len);
    else if (k->key_file)
        curl_easy_setopt(easy, CURLOPT_SSLKEY, k->key_file);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int k8s_request(struct k8s_client *kc, enum k8s_verb verb, const struct k8s_ref *ref,
                const json_t *body, k8s_done_fn cb, void *arg, struct k8s_call **out, char *err,
                size_t errlen)
{
    struct k8s_call *call;
    char url[4096];
    char *token, *auth;
    int rc;

    if (out)
        *out = NULL;
    rc = k8s_build_url(kc->api, verb, ref, url, sizeof(url));
    if (rc < 0) {
        char obj[600];

        describe_object(ref, obj, sizeof(obj));
        snprintf(err, errlen,
                 "cannot %s %s: a name is empty or has characters Kubernetes names cannot have",
                 verb_phrase(verb), obj);
        return rc;
    }
    if (verb != K8S_GET && verb != K8S_DELETE && !body) {
        snprintf(err, errlen, "cannot %s without a body", verb_phrase(verb));
        return -EINVAL;
    }
    if (*kc->ca_file && util_regular_file(kc->ca_file) == -EINVAL) {
        /* curl would read it on the loop thread: a FIFO would block it */
        snprintf(err, errlen,
                 "[kubernetes] ca_file %s is not a regular file; point it to the cluster's CA "
                 "certificate",
                 kc->ca_file);
        return -EINVAL;
    }
    if (kc->kcfg) {
        rc = kubeconfig_token(kc, &token, err, errlen);
        if (rc < 0)
            return rc;
    } else {
        char why[512];

        rc = secret_file_read(kc->token_file, TOKEN_MAX_BYTES, &token, why, sizeof(why));
        if (rc < 0) {
            snprintf(err, errlen,
                     "cannot read the service account token %s (%s); mount the service account "
                     "token (automountServiceAccountToken) or set [kubernetes] token_file",
                     kc->token_file, why);
            return rc;
        }
    }

    call = xcalloc(1, sizeof(*call));
    call->kc = kc;
    call->verb = verb;
    call->cb = cb;
    call->arg = arg;
    call->group = dup_or_null(ref->group);
    call->version = dup_or_null(ref->version);
    call->resource = dup_or_null(ref->resource);
    call->kind = dup_or_null(ref->kind);
    call->ns = dup_or_null(ref->namespace);
    call->name = dup_or_null(ref->name);
    buf_init(&call->resp, K8S_MAX_BODY_BYTES);
    call->easy = curl_easy_init();
    if (!call->easy)
        abort();

    if (token) {
        auth = xasprintf("Authorization: Bearer %s", token);
        secret_free(token);
        call->headers = curl_slist_append(call->headers, auth);
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    call->headers = curl_slist_append(call->headers, "Accept: application/json");
    call->headers = curl_slist_append(call->headers, "Expect:");
    switch (verb) {
    case K8S_GET:
    case K8S_DELETE:
        break;
    case K8S_CREATE:
        call->headers = curl_slist_append(call->headers, "Content-Type: application/json");
        break;
    case K8S_MERGE_PATCH:
        call->headers =
            curl_slist_append(call->headers, "Content-Type: application/merge-patch+json");
        break;
    case K8S_APPLY:
        call->headers =
            curl_slist_append(call->headers, "Content-Type: application/apply-patch+yaml");
        break;
    }
    if (!call->headers)
        abort();
    if (body) {
        call->body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!call->body)
            abort();
        curl_easy_setopt(call->easy, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(call->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(call->body));
    }
    if (verb == K8S_MERGE_PATCH || verb == K8S_APPLY)
        curl_easy_setopt(call->easy, CURLOPT_CUSTOMREQUEST, "PATCH");
    else if (verb == K8S_DELETE)
        curl_easy_setopt(call->easy, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(call->easy, CURLOPT_URL, url);
    curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(call->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(call->easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(call->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(call->easy, CURLOPT_USERAGENT, (const char *)agent_user_agent);
    curl_easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, kc->timeout_ms);
    curl_easy_setopt(call->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     kc->timeout_ms < 5000 ? kc->timeout_ms : 5000L);
    if (kc->kcfg) {
        kubeconfig_tls(kc, call->easy);
    } else {
        /* In a pod TLS is always verified, against the cluster CA only (not the system store). */
        curl_easy_setopt(call->easy, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(call->easy, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(call->easy, CURLOPT_CAINFO, kc->ca_file);
        curl_easy_setopt(call->easy, CURLOPT_CAPATH, NULL);
    }
    curlm_write_to(call->easy, &call->resp);
    curl_easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->errbuf);
    rc = curlm_add(kc->cm, call->easy, call_done_cb, call);
    if (rc < 0) {
        snprintf(err, errlen, "cannot start the request to the Kubernetes API server: %s",
                 strerror(-rc));
        call_free(call);
        return rc;
    }
    if (out)
        *out = call;
    return 0;
}

void k8s_call_cancel(struct k8s_call *call)
{
    if (!call)
        return;
    curlm_remove(call->kc->cm, call->easy);
    call_free(call);
}

/* ---- the own pod -------------------------------------------------------------------------- */

int k8s_get_own_pod(struct k8s_client *kc, char *const *envp, k8s_done_fn cb, void *arg,
                    struct k8s_call **out, char *err, size_t errlen)
{
    const char *name = util_env_get(envp, "POD_NAME");
    struct k8s_ref ref = {.resource = "pods", .kind = "Pod"};

    if (!name || !*name)
        name = util_env_get(envp, "HOSTNAME");
    if (!name || !*name) {
        snprintf(err, errlen,
                 "neither POD_NAME nor HOSTNAME is set, so the agent does not know "
                 "its pod; give the container POD_NAME from the downward API "
                 "(fieldRef metadata.name)");
        return -EINVAL;
    }
    ref.namespace = k8s_client_namespace(kc);
    ref.name = name;
    return k8s_request(kc, K8S_GET, &ref, NULL, cb, arg, out, err, errlen);
}

static void env_put(char ***v, size_t *n, const char *name, const char *value)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < *n; i++) {
        if (strncmp((*v)[i], name, nl) == 0 && (*v)[i][nl] == '=') {
            free((*v)[i]);
            (*v)[i] = xasprintf("%s=%s", name, value);
            return;
        }
    }
    *v = xrealloc(*v, (*n + 2) * sizeof(char *));
    (*v)[(*n)++] = xasprintf("%s=%s", name, value);
    (*v)[*n] = NULL;
}

static const char *jstr(const json_t *o, const char *a, const char *b)
{
    const json_t *x = json_object_get(o, a);

    return json_string_value(b ? json_object_get(x, b) : x);
}

char **k8s_pod_container_env(const json_t *pod, const char *container, json_t *unknown)
{
    const json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers"), *c = NULL;
    const json_t *env, *ef, *x;
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0, i;

    json_array_foreach(cs, i, x)
    {
        const char *nm = json_string_value(json_object_get(x, "name"));

        if (nm && strcmp(nm, container) == 0)
            c = x;
    }
    if (!c) {
        free(v);
        return NULL;
    }
    ef = json_object_get(c, "envFrom");
    json_array_foreach(ef, i, x)
    {
        const char *cm = jstr(x, "configMapRef", "name"), *sec = jstr(x, "secretRef", "name");

        if (unknown && (cm || sec)) {
            char *t = xasprintf("envFrom %s %s", cm ? "configMap" : "secret", cm ? cm : sec);

            json_array_append_new(unknown, json_string(t));
            free(t);
        }
    }
    env = json_object_get(c, "env");
    json_array_foreach(env, i, x)
    {
        const char *nm = json_string_value(json_object_get(x, "name"));
        const json_t *vf = json_object_get(x, "valueFrom");
        const char *val = json_string_value(json_object_get(x, "value"));

        if (!nm || !*nm)
            continue;
        if (!vf) {
            env_put(&v, &n, nm, val ? val : "");
        } else if (jstr(vf, "fieldRef", "fieldPath")) {
            const char *fp = jstr(vf, "fieldRef", "fieldPath");
            const char *got = NULL;

            if (strcmp(fp, "metadata.name") == 0)
                got = jstr(pod, "metadata", "name");
            else if (strcmp(fp, "metadata.namespace") == 0)
                got = jstr(pod, "metadata", "namespace");
            else if (strcmp(fp, "metadata.uid") == 0)
                got = jstr(pod, "metadata", "uid");
            else if (strcmp(fp, "status.podIP") == 0)
                got = jstr(pod, "status", "podIP");
            else if (strcmp(fp, "status.hostIP") == 0)
                got = jstr(pod, "status", "hostIP");
            if (got)
                env_put(&v, &n, nm, got);
            else if (unknown)
                json_array_append_new(unknown, json_string(nm));
        } else if (jstr(vf, "secretKeyRef", "name")) {
            char *ph =
                xasprintf("(Secret %s key %s)", jstr(vf, "secretKeyRef", "name"),
                          jstr(vf, "secretKeyRef", "key") ? jstr(vf, "secretKeyRef", "key") : "?");

            env_put(&v, &n, nm, ph);
            free(ph);
        } else if (unknown) {
            json_array_append_new(unknown, json_string(nm));
        }
    }
    return v;
}

void k8s_env_free(char **envp)
{
    for (char **p = envp; p && *p; p++)
        free(*p);
    free(envp);
}

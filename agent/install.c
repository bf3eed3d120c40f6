/* install.c - owns one `spilo-agent install` run: the restore-mode check of the source prefix in
 * S3, then the plan's objects one at a time (read, server-side apply, read the answer's
 * resourceVersion to tell created / configured / unchanged), the copies of the source cluster's
 * credentials Secrets, and the restart of the operator pod. A failed resource is reported and the
 * run goes on with the next one. It prints nothing itself (lines go to the line callback) and
 * never passes a secret to it. Also the --dry-run rendering, which touches no network. */
#include "install.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "backups.h"
#include "k8s.h"
#include "log.h"
#include "preflight.h"
#include "s3.h"
#include "secret.h"
#include "util.h"
#include "walg_env.h"
#include "yaml.h"

#define KEY_FILE_MAX      4096
#define POLL_INTERVAL_MS  1000
#define MAX_SOURCE_ROOTS  32
#define MAX_OPERATOR_PODS 8

/* ---- key files --------------------------------------------------------------------------- */

static char *read_key_file(const char *path, const char *key, char *err, size_t errlen)
{
    char why[512];
    char *v;

    if (secret_file_read(path, KEY_FILE_MAX, &v, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "[install] %s %s", key, why);
        return NULL;
    }
    return v;
}

int install_keys_read(const struct install_settings *s, struct install_key_files *k, char *err,
                      size_t errlen)
{
    memset(k, 0, sizeof(*k));
    if (!*s->access_key_file)
        return 0;
    k->access_key = read_key_file(s->access_key_file, "access_key_file", err, errlen);
    if (!k->access_key)
        return -EINVAL;
    k->secret_key = read_key_file(s->secret_key_file, "secret_key_file", err, errlen);
    if (!k->secret_key) {
        install_keys_cleanup(k);
        return -EINVAL;
    }
    return 0;
}

static void wipe_free(char *p)
{
    secret_free(p);
}

void install_keys_cleanup(struct install_key_files *k)
{
    wipe_free(k->access_key);
    wipe_free(k->secret_key);
    k->access_key = k->secret_key = NULL;
}

/* ---- dry run ----------------------------------------------------------------------------- */

static void ref_of(const struct install_item *it, char *out, size_t len)
{
    if (it->namespace)
        snprintf(out, len, "%s %s/%s", it->kind, it->namespace, it->name);
    else
        snprintf(out, len, "%s %s", it->kind, it->name);
}

void install_render_dry_run(const struct install_settings *s, const struct install_keys *keys,
                            struct buf *out)
{
    struct install_plan plan;
    char root[600], ref[800];

    install_plan_build(s, keys, &plan);
    buf_printf(out,
               "# spilo-agent install --dry-run --mode %s (target %s): nothing is applied and no "
               "server is contacted.\n"
               "# A real run applies these objects in this order with server-side apply "
               "(fieldManager %s)\n# and prints one line per resource.\n",
               install_mode_name(s->mode),
               s->target == INSTALL_TARGET_HARBOR ? "harbor-operator" : "postgres-operator",
               INSTALL_FIELD_MANAGER);
    if (s->mode == INSTALL_MODE_RESTORE) {
        install_clone_root(s, root, sizeof(root));
        buf_printf(out,
                   "# Before that it checks that s3://%s/%s[<major>/]basebackups_005/ holds a "
                   "base backup\n# (a *%s), and refuses to apply anything when it does not.\n",
                   s->bucket, root, BACKUPS_SENTINEL_SUFFIX);
        if (*s->clone_target_time)
            buf_printf(out,
                       "# With clone_target_time %s it also checks that the clone can reach it "
                       "(the backup Spilo\n# picks: the newest sentinel written before it; that "
                       "backup's FinishTime before it; WAL\n# unbroken in wal_005/ up to it), "
                       "and refuses to apply anything when it cannot.\n",
                       s->clone_target_time);
    }
    for (size_t i = 0; i < plan.n; i++) {
        struct install_item *it = &plan.items[i];
        json_t *shown;

        ref_of(it, ref, sizeof(ref));
        if (it->policy == INSTALL_CHECK_EXISTS) {
            buf_printf(out,
                       "---\n# %s: must exist already with AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY (access_key_file and secret_key_file are not "
                       "set); read, not applied\n",
                       ref);
            continue;
        }
        buf_printf(out, "---\n# %s", ref);
        switch (it->policy) {
        case INSTALL_MUST_EXIST:
            buf_puts(out, ": applied only if it exists (the object the operator reads; never "
                          "created partially)");
            break;
        case INSTALL_IF_EXISTS:
            buf_puts(out, ": applied only if the cluster exists (spec.patroni.pg_hba only)");
            break;
        case INSTALL_IF_CRD:
            buf_puts(out, ": applied only if the monitoring.coreos.com CRDs are installed");
            break;
        case INSTALL_COPY_SECRET:
            buf_printf(out,
                       ": a copy of Secret %s/%s of the source cluster, read at apply time "
                       "(username and password kept, server-set metadata dropped)",
                       it->source_namespace, it->source_name);
            break;
        default:
            break;
        }
        buf_puts(out, "\n");
        if (it->policy == INSTALL_COPY_SECRET) {
            json_t *fake = json_pack("{s:{},s:s,s:{s:s,s:s}}", "metadata", "type", "Opaque", "data",
                                     "username", INSTALL_REDACTED, "password", INSTALL_REDACTED);
            char from[600];

            snprintf(from, sizeof(from), "%s/%s", it->source_namespace, it->source_name);
            it->object = install_copy_secret(fake, it->namespace, it->name, s->cluster, from);
            json_decref(fake);
        }
        shown = install_redacted(it->object);
        yaml_emit(out, shown);
        json_decref(shown);
    }
    buf_printf(out,
               "# Then, if the OperatorConfiguration was created or changed: the operator pod "
               "(labels %s)\n# in namespace %s is deleted and its replacement awaited for up to "
               "%llus (the operator\n# reads its configuration only at start).\n",
               s->operator_selector, s->operator_namespace,
               (unsigned long long)(s->restart_timeout_ms / 1000));
    install_plan_free(&plan);
}

/* ---- the run ----------------------------------------------------------------------------- */

struct install_run {
    uv_loop_t *loop;
    struct curlm *cm;
    struct config *cfg;
    struct install_settings s;
    struct k8s_client *kc;
    struct install_plan plan;
    size_t idx;
    struct k8s_call *call;
    json_t *before; /* the current item as read, or NULL */
    install_line_fn line;
    install_done_fn done;
    void *arg;
    struct install_result res;
    bool restart_needed;
    /* S3 source check */
    struct s3_client *s3;
    struct s3_request *s3req;
    char *roots[MAX_SOURCE_ROOTS]; /* basebackups_005/ prefixes to look at */
    size_t n_roots, root_idx;
    unsigned backups_found;
    bool ns_retry; /* looked under spilo/<namespace>-<cluster>/ too */
    char first_looked[4096];
    char newest[256];
    char newest_root[600];
    /* the CLONE_TARGET_TIME pre-flight (preflight.c) of the root that holds backups */
    struct preflight *pf;
    int64_t target_s;
    unsigned pend_found;
    char pend_newest[256];
    char pf_problem[2048]; /* the newest root's, when no root has a backup Spilo picks */
    /* restart */
    char *old_pods[MAX_OPERATOR_PODS];
    size_t n_old, del_idx;
    uv_timer_t timer;
    bool timer_started;
    uint64_t restart_start_ms;
    bool closing;
};

static void say(struct install_run *r, const char *fmt, ...) PRINTF(2, 3);
static void say(struct install_run *r, const char *fmt, ...)
{
    char line[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (r->line)
        r->line(line, r->arg);
}

static void report(struct install_run *r, const struct install_item *it, enum install_outcome o,
                   const char *reason)
{
    char ref[800];

    ref_of(it, ref, sizeof(ref));
    switch (o) {
    case INSTALL_CREATED:
        r->res.created++;
        break;
    case INSTALL_CONFIGURED:
        r->res.configured++;
        break;
    case INSTALL_UNCHANGED:
        r->res.unchanged++;
        break;
    case INSTALL_SKIPPED:
        r->res.skipped++;
        break;
    case INSTALL_FAILED:
        r->res.failed++;
        break;
    }
    if (reason && *reason)
        say(r, "%s: %s: %s", ref, install_outcome_name(o), reason);
    else
        say(r, "%s: %s", ref, install_outcome_name(o));
}

static void run_free_cb(uv_handle_t *h)
{
    struct install_run *r = h->data;

    free(r);
}

static void finish(struct install_run *r, bool refused, const char *fmt, ...) PRINTF(3, 4);
static void finish(struct install_run *r, bool refused, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->call = NULL;
    r->res.refused = refused;
    r->res.message = msg;
    r->done(&r->res, r->arg);
    /* tear down */
    preflight_cancel(r->pf);
    r->pf = NULL;
    if (r->s3)
        s3_client_free(r->s3);
    for (size_t i = 0; i < r->n_roots; i++)
        free(r->roots[i]);
    for (size_t i = 0; i < r->n_old; i++)
        free(r->old_pods[i]);
    json_decref(r->before);
    install_plan_free(&r->plan);
    k8s_client_free(r->kc);
    config_unref(r->cfg);
    r->closing = true;
    uv_close((uv_handle_t *)&r->timer, run_free_cb);
}

static void next_item(struct install_run *r);
static void start_restart(struct install_run *r);

static void advance(struct install_run *r)
{
    json_decref(r->before);
    r->before = NULL;
    r->idx++;
    next_item(r);
}

static struct k8s_ref item_ref(const struct install_item *it)
{
    struct k8s_ref ref = {
        .group = it->group,
        .version = it->version,
        .resource = it->resource,
        .kind = it->kind,
        .namespace = it->namespace,
        .name = it->name,
    };
    return ref;
}

static void apply_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    struct install_item *it = &r->plan.items[r->idx];
    enum install_outcome o;

    r->call = NULL;
    if (rep->rc < 0) {
        report(r, it, INSTALL_FAILED, rep->error);
        advance(r);
        return;
    }
    o = install_decide(rep->http_status, r->before ? install_rv(r->before) : NULL,
                       install_rv(rep->object));
    if (it->operator_config && (o == INSTALL_CREATED || o == INSTALL_CONFIGURED))
        r->restart_needed = true;
    report(r, it, o, NULL);
    advance(r);
}

static void start_apply(struct install_run *r)
{
    struct install_item *it = &r->plan.items[r->idx];
    struct k8s_ref ref = item_ref(it);
    char err[1024];

    if (k8s_request(r->kc, K8S_APPLY, &ref, it->object, apply_cb, r, &r->call, err, sizeof(err)) <
        0) {
        report(r, it, INSTALL_FAILED, err);
        advance(r);
    }
}

/* Whether an existing credentials Secret holds keys WAL-G can use. */
static bool secret_has_credentials(const json_t *sec)
{
    json_t *d = json_object_get(sec, "data");

    return (json_object_get(d, "AWS_ACCESS_KEY_ID") &&
            json_object_get(d, "AWS_SECRET_ACCESS_KEY")) ||
           (json_object_get(d, "AWS_ROLE_ARN") &&
            json_object_get(d, "AWS_WEB_IDENTITY_TOKEN_FILE"));
}

static void get_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    struct install_item *it = &r->plan.items[r->idx];
    char why[2048];

    r->call = NULL;
    if (rep->rc == 0)
        r->before = json_incref(rep->object);
    if (rep->rc < 0 && rep->rc != -ENOENT) {
        report(r, it, INSTALL_FAILED, rep->error);
        advance(r);
        return;
    }
    switch (it->policy) {
    case INSTALL_CHECK_EXISTS:
        if (rep->rc == -ENOENT) {
            snprintf(
                why, sizeof(why),
                "%s; create it (kubectl -n %s create secret generic %s "
                "--from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...) "
                "or set [install] access_key_file and secret_key_file",
                rep->error, it->namespace, it->name);
            report(r, it, INSTALL_FAILED, why);
        } else if (!secret_has_credentials(rep->object)) {
            report(r, it, INSTALL_FAILED,
                   "it has neither AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY nor AWS_ROLE_ARN "
                   "and AWS_WEB_IDENTITY_TOKEN_FILE; add them, or set [install] access_key_file "
                   "and secret_key_file");
        } else {
            report(r, it, INSTALL_UNCHANGED, NULL);
        }
        advance(r);
        return;
    case INSTALL_MUST_EXIST:
        if (rep->rc == -ENOENT) {
            snprintf(why, sizeof(why),
                     "%s; set [install] operator_configuration to the object the operator reads "
                     "(env POSTGRES_OPERATOR_CONFIGURATION_OBJECT of its Deployment); an operator "
                     "configured by ConfigMap has no sidecars option (docs/install.md, step 2c)",
                     rep->error);
            report(r, it, INSTALL_FAILED, why);
            advance(r);
            return;
        }
        break;
    case INSTALL_IF_EXISTS:
        if (rep->rc == -ENOENT) {
            snprintf(why, sizeof(why),
                     "the cluster does not exist (yet), and a partial postgresql resource must not "
                     "create one; re-run install once it exists, or check [install] cluster");
            report(r, it, INSTALL_SKIPPED, why);
            advance(r);
            return;
        }
        break;
    default:
        break;
    }
    start_apply(r);
}

static void list_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    struct install_item *it = &r->plan.items[r->idx];
    size_t i;
    json_t *obj;

    r->call = NULL;
    if (rep->rc == -ENOENT) {
        char why[256];

        snprintf(why, sizeof(why), "CRD %s not installed (no %s in this cluster)", it->group,
                 it->resource);
        report(r, it, INSTALL_SKIPPED, why);
        advance(r);
        return;
    }
    if (rep->rc < 0) {
        report(r, it, INSTALL_FAILED, rep->error);
        advance(r);
        return;
    }
    json_array_foreach(json_object_get(rep->object, "items"), i, obj)
    {
        const char *n =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));

        if (n && strcmp(n, it->name) == 0)
            r->before = json_incref(obj);
    }
    start_apply(r);
}

static void source_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    struct install_item *it = &r->plan.items[r->idx];
    struct k8s_ref ref;
    char from[600], why[2048];

    r->call = NULL;
    if (rep->rc < 0) {
        snprintf(why, sizeof(why),
                 "cannot save the source cluster's Secret %s/%s: %s; the restored cluster keeps "
                 "the source's passwords, so without it Patroni and the applications cannot log "
                 "in",
                 it->source_namespace, it->source_name, rep->error);
        report(r, it, INSTALL_FAILED, why);
        advance(r);
        return;
    }
    say(r, "Secret %s/%s: saved", it->source_namespace, it->source_name);
    if (strcmp(it->source_namespace, it->namespace) == 0 &&
        strcmp(it->source_name, it->name) == 0) {
        report(r, it, INSTALL_SKIPPED,
               "the new cluster has the source's name, the Secret is already in place; keep it "
               "(and a copy: kubectl get secret -o yaml) when the old cluster is deleted");
        advance(r);
        return;
    }
    snprintf(from, sizeof(from), "%s/%s", it->source_namespace, it->source_name);
    it->object = install_copy_secret(rep->object, it->namespace, it->name, r->s.cluster, from);
    it->policy = INSTALL_APPLY;
    ref = item_ref(it);
    if (k8s_request(r->kc, K8S_GET, &ref, NULL, get_cb, r, &r->call, why, sizeof(why)) < 0) {
        report(r, it, INSTALL_FAILED, why);
        advance(r);
    }
}

static void next_item(struct install_run *r)
{
    struct install_item *it;
    struct k8s_ref ref;
    char err[1024];
    int rc;

    if (r->idx >= r->plan.n) {
        start_restart(r);
        return;
    }
    it = &r->plan.items[r->idx];
    ref = item_ref(it);
    switch (it->policy) {
    case INSTALL_IF_CRD:
        ref.name = NULL;
        rc = k8s_request(r->kc, K8S_GET, &ref, NULL, list_cb, r, &r->call, err, sizeof(err));
        break;
    case INSTALL_COPY_SECRET:
        ref.namespace = it->source_namespace;
        ref.name = it->source_name;
        rc = k8s_request(r->kc, K8S_GET, &ref, NULL, source_cb, r, &r->call, err, sizeof(err));
        break;
    default:
        rc = k8s_request(r->kc, K8S_GET, &ref, NULL, get_cb, r, &r->call, err, sizeof(err));
        break;
    }
    if (rc < 0) {
        report(r, it, INSTALL_FAILED, err);
        advance(r);
    }
}

/* ---- restore: the source prefix in S3 ------------------------------------------------------ */

/* The prefixes looked at, as "s3://b/top{17,16,...}/basebackups_005/ and s3://b/top..." */
static void roots_joined(struct install_run *r, char *out, size_t len)
{
    char top[600], majors[512] = "", *old = NULL;
    size_t tl, mn = 0;

    install_clone_root(&r->s, top, sizeof(top));
    tl = strlen(top);
    for (size_t i = 0; i < r->n_roots && i < r->root_idx; i++) {
        const char *rest = r->roots[i] + tl;
        const char *slash = strchr(rest, '/');

        if (strncmp(rest, "basebackups_005/", 16) == 0) {
            old = r->roots[i];
            continue;
        }
        if (slash && mn + (size_t)(slash - rest) + 2 < sizeof(majors)) {
            mn += (size_t)snprintf(majors + mn, sizeof(majors) - mn, "%s%.*s", mn ? "," : "",
                                   (int)(slash - rest), rest);
        }
    }
    if (*majors && old)
        snprintf(out, len, "s3://%s/%s{%s}/basebackups_005/ and s3://%s/%s", r->s.bucket, top,
                 majors, r->s.bucket, old);
    else if (*majors)
        snprintf(out, len, "s3://%s/%s{%s}/basebackups_005/", r->s.bucket, top, majors);
    else
        snprintf(out, len, "s3://%s/%s", r->s.bucket, old ? old : top);
}

static void list_next_root(struct install_run *r);

/* The backups of one root are counted in: the newest of them and how many. */
static void root_found(struct install_run *r, const char *root, unsigned found, const char *newest)
{
    r->backups_found += found;
    /* names sort by WAL position; the first root with backups is the newest layout */
    if ((!*r->newest_root || strcmp(root, r->newest_root) == 0) && strcmp(newest, r->newest) > 0) {
        snprintf(r->newest, sizeof(r->newest), "%s", newest);
        snprintf(r->newest_root, sizeof(r->newest_root), "%s", root);
    }
}

/* With a clone_target_time: whether the clone can reach it from this root. Spilo takes the first
 * root (newest major first) that has a backup it picks for the time, and goes on to the next one
 * when it has none (find_backup, bootstrap/clone_with_wale.py:142-159 at 4.0-p3). */
static void preflight_cb(struct preflight_result *res, void *arg)
{
    struct install_run *r = arg;
    const char *root = r->roots[r->root_idx];
    const struct restore_target_result *t = &res->t;
    char tt[40];

    r->pf = NULL;
    util_format_rfc3339(r->target_s, tt, sizeof(tt));
    if (!t->from_backup && !t->reachable) {
        if (!*r->pf_problem)
            snprintf(r->pf_problem, sizeof(r->pf_problem), "s3://%s/%s: %s", r->s.bucket, root,
                     t->problem);
        r->root_idx++;
        list_next_root(r);
        return;
    }
    if (!t->reachable) {
        finish(r, true, "s3://%s/%s: %s; nothing was applied", r->s.bucket, root, t->problem);
        return;
    }
    {
        char lr[40] = "?", fin[40];

        if (t->latest_reachable_s != RESTORE_NO_TIME)
            util_format_rfc3339(t->latest_reachable_s, lr, sizeof(lr));
        util_format_rfc3339(t->from_finish_s, fin, sizeof(fin));
        say(r,
            "CLONE_TARGET_TIME %s: reachable: Spilo restores %s from s3://%s/%s (finished %s, %s) "
            "and replays WAL unbroken to %s (%u S3 requests)",
            tt, t->from_backup, r->s.bucket, root, fin, restore_time_from_name(t->from_finish_from),
            lr, res->requests);
    }
    root_found(r, root, r->pend_found, r->pend_newest);
    r->root_idx++;
    list_next_root(r);
}

static void root_listing_cb(const struct aws_error *e, struct s3_listing *l, void *arg)
{
    struct install_run *r = arg;
    const char *root = r->roots[r->root_idx];
    unsigned found = 0;
    char newest[256] = "";

    r->s3req = NULL;
    if (e) {
        finish(r, true, "cannot check the source backups at s3://%s/%s: %s; nothing was applied",
               r->s.bucket, root, e->summary);
        return;
    }
    for (size_t i = 0; i < l->n_objects; i++) {
        const char *k = l->objects[i].key, *base = strrchr(k, '/');

        base = base ? base + 1 : k;
        if (backups_is_sentinel_key(k) && base == k + strlen(root)) {
            char name[256];

            found++;
            snprintf(name, sizeof(name), "%.*s",
                     (int)(strlen(base) - strlen(BACKUPS_SENTINEL_SUFFIX)), base);
            if (strcmp(name, newest) > 0)
                snprintf(newest, sizeof(newest), "%s", name);
        }
    }
    if (found > 0 && *r->s.clone_target_time &&
        util_parse_rfc3339(r->s.clone_target_time, &r->target_s, NULL) == 0) {
        r->pend_found = found;
        snprintf(r->pend_newest, sizeof(r->pend_newest), "%s", newest);
        if (preflight_start(r->s3, root, l->objects, l->n_objects, !l->truncated, r->target_s,
                            preflight_cb, r, &r->pf) == 0)
            return; /* preflight_cb() goes on */
    }
    if (found > 0)
        root_found(r, root, found, newest);
    r->root_idx++;
    list_next_root(r);
}

static void top_listing_cb(const struct aws_error *e, struct s3_listing *l, void *arg);

/* No backup where the settings say: a source that had WAL_S3_BUCKET in its pod environment in a
 * namespace other than default wrote to spilo/<namespace>-<cluster>/wal/<major> (Spilo's default
 * WAL_BUCKET_SCOPE_PREFIX, configure_spilo.py:568-570 4.0-p3; the operator sets it to "" only
 * with its own wal_s3_bucket, pkg/cluster/k8sres.go:1076-1080), without a uid. Looks there once. */
static bool retry_namespace_prefix(struct install_run *r, const char *looked)
{
    const char *ns = r->s.source_namespace;
    struct s3_list_opts o = {.delimiter = "/"};
    char top[600];

    if (r->ns_retry || !ns || !*ns || strcmp(ns, "default") == 0 || *r->s.clone_scope_prefix)
        return false;
    r->ns_retry = true;
    snprintf(r->first_looked, sizeof(r->first_looked), "%s", looked);
    for (size_t i = 0; i < r->n_roots; i++)
        free(r->roots[i]);
    r->n_roots = 0;
    r->root_idx = 0;
    snprintf(r->s.clone_scope_prefix, sizeof(r->s.clone_scope_prefix), "%s-", ns);
    r->s.clone_suffix[0] = '\0';
    install_clone_root(&r->s, top, sizeof(top));
    o.prefix = top;
    if (s3_list(r->s3, &o, top_listing_cb, r, &r->s3req) < 0)
        return false;
    return true;
}

/* The pod-config item of the plan. */
static json_t *plan_pod_config_data(struct install_run *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct install_item *it = &r->plan.items[i];

        if (strcmp(it->kind, "ConfigMap") == 0 && it->object &&
            strcmp(it->name, r->s.pod_config) == 0)
            return json_object_get(it->object, "data");
    }
    return NULL;
}

/* What the source's real prefix needs: the scope prefix and suffix that reach it, and an own
 * prefix that does not share its keys (a restore in place under the same name with the empty
 * scope prefix and suffix of deploy/pod-config.yaml would write spilo/<cluster>/wal/<major>,
 * where the source's backups are: WAL-G's keys are <prefix>/basebackups_005/... and
 * <prefix>/wal_005/..., and Spilo's retention would delete the source's backups). */
static void adapt_plan_to_source(struct install_run *r)
{
    json_t *d = plan_pod_config_data(r);
    char top[600];

    if (!d)
        return;
    install_clone_root(&r->s, top, sizeof(top));
    if (r->ns_retry) {
        json_object_set_new(d, "CLONE_WAL_BUCKET_SCOPE_PREFIX",
                            json_string(r->s.clone_scope_prefix));
        json_object_set_new(d, "CLONE_WAL_BUCKET_SCOPE_SUFFIX", json_string(""));
        say(r,
            "the backups are under s3://%s/%s (Spilo's default scope prefix \"%s\", no uid): "
            "CLONE_WAL_BUCKET_SCOPE_PREFIX=%s and an empty CLONE_WAL_BUCKET_SCOPE_SUFFIX",
            r->s.bucket, top, r->s.clone_scope_prefix, r->s.clone_scope_prefix);
    }
    if (strcmp(r->s.cluster, r->s.clone_cluster) == 0 && !*r->s.clone_scope_prefix &&
        !*r->s.clone_suffix) {
        char gen[64], when[32];
        time_t now = time(NULL);
        struct tm tm;

        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y%m%dT%H%MZ", &tm);
        snprintf(gen, sizeof(gen), "/restored-%s", when);
        json_object_set_new(d, "WAL_BUCKET_SCOPE_SUFFIX", json_string(gen));
        say(r,
            "restore in place: the restored cluster writes to s3://%s/spilo/%s%s/wal/<major> "
            "(WAL_BUCKET_SCOPE_SUFFIX=%s), not into the source's s3://%s/%s; keep that key "
            "after the restore, and restore from it later with clone_uid = %s",
            r->s.bucket, r->s.cluster, gen, gen, r->s.bucket, top, gen + 1);
    }
}

static void list_next_root(struct install_run *r)
{
    struct s3_list_opts o = {.delimiter = "/"};
    char all[4096], top[600];

    if (r->root_idx < r->n_roots && r->backups_found == 0) {
        o.prefix = r->roots[r->root_idx];
        if (s3_list(r->s3, &o, root_listing_cb, r, &r->s3req) < 0)
            finish(r, true, "cannot list s3://%s/%s; nothing was applied", r->s.bucket, o.prefix);
        return;
    }
    roots_joined(r, all, sizeof(all));
    install_clone_root(&r->s, top, sizeof(top));
    if (r->backups_found == 0 && *r->pf_problem) {
        finish(r, true, "%s; nothing was applied", r->pf_problem);
        return;
    }
    if (r->backups_found == 0 && retry_namespace_prefix(r, all))
        return;
    if (r->backups_found == 0 && r->ns_retry) {
        finish(r, true,
               "the source has no base backup: no *%s under %s, nor under %s (where Spilo writes "
               "with WAL_S3_BUCKET in the pod environment and namespace %s); check [install] "
               "clone_cluster, clone_uid and bucket, and that the source cluster took a backup "
               "(spilo-agent check --only backups on it); nothing was applied",
               BACKUPS_SENTINEL_SUFFIX, r->first_looked, all, r->s.source_namespace);
        return;
    }
    if (r->backups_found > 0)
        adapt_plan_to_source(r);
    if (r->backups_found == 0) {
        finish(r, true,
               "the source has no base backup: no *%s under %s; check [install] clone_cluster, "
               "clone_uid (the part after the cluster name: empty for clusters set up with "
               "deploy/pod-config.yaml) and bucket, and that the source cluster took a backup "
               "(spilo-agent check --only backups on it); nothing was applied",
               BACKUPS_SENTINEL_SUFFIX, all);
        return;
    }
    say(r, "S3 s3://%s/%s: found %u base backup%s, newest %s in s3://%s/%s", r->s.bucket, top,
        r->backups_found, r->backups_found == 1 ? "" : "s", r->newest, r->s.bucket, r->newest_root);
    next_item(r);
}

static bool is_major_dir(const char *rel)
{
    /* "15/", "9.6/" */
    const char *p = rel;

    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p) || *p == '.')
        p++;
    return p[0] == '/' && p[1] == '\0';
}

/* Takes ownership of root; drops a duplicate. */
static void add_root(struct install_run *r, char *root)
{
    for (size_t i = 0; i < r->n_roots; i++) {
        if (strcmp(r->roots[i], root) == 0) {
            free(root);
            return;
        }
    }
    r->roots[r->n_roots++] = root;
}

static void top_listing_cb(const struct aws_error *e, struct s3_listing *l, void *arg)
{
    struct install_run *r = arg;
    char top[600];

    r->s3req = NULL;
    install_clone_root(&r->s, top, sizeof(top));
    if (e) {
        finish(r, true, "cannot check the source backups at s3://%s/%s: %s; nothing was applied",
               r->s.bucket, top, e->summary);
        return;
    }
    /* Newest layout first (wal/<major>/, the majors listed, then the usual ones: a store may
     * not list prefixes that hold only prefixes), then the old one without the major (wal/). */
    for (size_t i = l->n_prefixes; i > 0 && r->n_roots < MAX_SOURCE_ROOTS - 1; i--) {
        const char *p = l->prefixes[i - 1];

        if (strncmp(p, top, strlen(top)) == 0 && is_major_dir(p + strlen(top)))
            add_root(r, xasprintf("%sbasebackups_005/", p));
    }
    for (size_t i = 0; i < walg_spilo_majors_count && r->n_roots < MAX_SOURCE_ROOTS - 1; i++)
        add_root(r, xasprintf("%s%s/basebackups_005/", top, walg_spilo_majors[i]));
    add_root(r, xasprintf("%sbasebackups_005/", top));
    list_next_root(r);
}

static const char *env_or(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

static int start_source_check(struct install_run *r, const struct install_keys *keys, char *err,
                              size_t errlen)
{
    struct s3_config c = {0};
    struct s3_list_opts o = {.delimiter = "/"};
    char top[600];
    int rc;

    c.endpoint = *r->s.clone_endpoint ? r->s.clone_endpoint : NULL;
    c.region = *r->s.region ? r->s.region : NULL;
    c.bucket = r->s.bucket;
    c.path_style = *r->s.clone_endpoint != '\0'; /* Spilo forces it with an endpoint */
    if (keys && keys->access_key && keys->secret_key) {
        c.credentials.access_key = keys->access_key;
        c.credentials.secret_key = keys->secret_key;
    } else {
        c.credentials.access_key = env_or("AWS_ACCESS_KEY_ID");
        c.credentials.secret_key = env_or("AWS_SECRET_ACCESS_KEY");
        c.credentials.session_token = env_or("AWS_SESSION_TOKEN");
        c.credentials.role_arn = env_or("AWS_ROLE_ARN");
        c.credentials.web_identity_token_file = env_or("AWS_WEB_IDENTITY_TOKEN_FILE");
    }
    rc = s3_client_new(r->loop, r->cm, &c, &r->s3, err, errlen);
    if (rc < 0)
        return rc;
    install_clone_root(&r->s, top, sizeof(top));
    o.prefix = top;
    rc = s3_list(r->s3, &o, top_listing_cb, r, &r->s3req);
    if (rc < 0)
        snprintf(err, errlen, "cannot list s3://%s/%s", r->s.bucket, top);
    return rc;
}

/* ---- the operator restart ------------------------------------------------------------------ */

static bool was_old(struct install_run *r, const char *name)
{
    for (size_t i = 0; i < r->n_old; i++) {
        if (strcmp(r->old_pods[i], name) == 0)
            return true;
    }
    return false;
}

static void poll_pods(struct install_run *r);

static void poll_timer_cb(uv_timer_t *t)
{
    struct install_run *r = t->data;

    poll_pods(r);
}

static void poll_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    uint64_t waited_ms = uv_now(r->loop) - r->restart_start_ms;
    size_t i;
    json_t *pod;

    r->call = NULL;
    if (rep->rc == 0) {
        json_array_foreach(json_object_get(rep->object, "items"), i, pod)
        {
            const char *n =
                json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));

            if (n && !was_old(r, n) && install_labels_match(pod, r->s.operator_selector) &&
                install_pod_ready(pod)) {
                say(r,
                    "Pod %s/%s: ready: replaces %s after %llus; the operator runs with the "
                    "new configuration",
                    r->s.operator_namespace, n, r->old_pods[0],
                    (unsigned long long)((waited_ms + 500) / 1000));
                finish(r, false, "done");
                return;
            }
        }
    }
    if (waited_ms >= r->s.restart_timeout_ms) {
        r->res.failed++;
        say(r,
            "Pod %s/%s: failed: no new operator pod was Ready within %llus%s%s; the operator may "
            "still be starting: check kubectl -n %s get pods -l %s",
            r->s.operator_namespace, r->old_pods[0],
            (unsigned long long)(r->s.restart_timeout_ms / 1000), rep->rc < 0 ? ": " : "",
            rep->rc < 0 ? rep->error : "", r->s.operator_namespace, r->s.operator_selector);
        finish(r, false, "done");
        return;
    }
    (void)uv_timer_start(&r->timer, poll_timer_cb, POLL_INTERVAL_MS, 0);
}

static void poll_pods(struct install_run *r)
{
    struct k8s_ref ref = {.resource = "pods", .kind = "Pod", .namespace = r->s.operator_namespace};
    char err[1024];

    if (k8s_request(r->kc, K8S_GET, &ref, NULL, poll_cb, r, &r->call, err, sizeof(err)) < 0) {
        r->res.failed++;
        say(r, "Pod %s/%s: failed: %s", r->s.operator_namespace, r->s.operator_selector, err);
        finish(r, false, "done");
    }
}

static void delete_next(struct install_run *r);

static void delete_done_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    const char *name = r->old_pods[r->del_idx];

    r->call = NULL;
    if (rep->rc < 0) {
        r->res.failed++;
        say(r, "Pod %s/%s: failed: could not delete it to restart the operator: %s",
            r->s.operator_namespace, name, rep->error);
        finish(r, false, "done");
        return;
    }
    say(r, "Pod %s/%s: deleted: the operator reads its configuration only at start",
        r->s.operator_namespace, name);
    r->del_idx++;
    delete_next(r);
}

/* DELETE of one pod, through the Kubernetes client like every other request. */
static int delete_start(struct install_run *r, const char *name, char *err, size_t errlen)
{
    struct k8s_ref ref = {
        .resource = "pods", .kind = "Pod", .namespace = r->s.operator_namespace, .name = name};

    return k8s_request(r->kc, K8S_DELETE, &ref, NULL, delete_done_cb, r, &r->call, err, errlen);
}

static void delete_next(struct install_run *r)
{
    char err[1024];

    if (r->del_idx >= r->n_old) {
        r->restart_start_ms = uv_now(r->loop);
        poll_pods(r);
        return;
    }
    if (delete_start(r, r->old_pods[r->del_idx], err, sizeof(err)) < 0) {
        r->res.failed++;
        say(r, "Pod %s/%s: failed: could not delete it to restart the operator: %s",
            r->s.operator_namespace, r->old_pods[r->del_idx], err);
        finish(r, false, "done");
    }
}

static void pods_cb(const struct k8s_reply *rep, void *arg)
{
    struct install_run *r = arg;
    size_t i;
    json_t *pod;

    r->call = NULL;
    if (rep->rc < 0) {
        r->res.failed++;
        say(r, "Pod %s/%s: failed: cannot find the operator pod to restart it: %s",
            r->s.operator_namespace, r->s.operator_selector, rep->error);
        finish(r, false, "done");
        return;
    }
    json_array_foreach(json_object_get(rep->object, "items"), i, pod)
    {
        json_t *m = json_object_get(pod, "metadata");
        const char *n = json_string_value(json_object_get(m, "name"));

        if (n && !json_object_get(m, "deletionTimestamp") &&
            install_labels_match(pod, r->s.operator_selector) && r->n_old < MAX_OPERATOR_PODS)
            r->old_pods[r->n_old++] = xstrdup(n);
    }
    if (r->n_old == 0) {
        r->res.failed++;
        say(r,
            "Pod %s/%s: failed: no running pod labelled %s in namespace %s, so the operator was "
            "not restarted and still runs with the old configuration; set [install] "
            "operator_selector and operator_namespace, or restart it yourself",
            r->s.operator_namespace, r->s.operator_selector, r->s.operator_selector,
            r->s.operator_namespace);
        finish(r, false, "done");
        return;
    }
    delete_next(r);
}

static void start_restart(struct install_run *r)
{
    struct k8s_ref ref = {.resource = "pods", .kind = "Pod", .namespace = r->s.operator_namespace};
    char err[1024];

    if (!r->restart_needed) {
        finish(r, false, "done");
        return;
    }
    if (k8s_request(r->kc, K8S_GET, &ref, NULL, pods_cb, r, &r->call, err, sizeof(err)) < 0) {
        r->res.failed++;
        say(r, "Pod %s/%s: failed: %s", r->s.operator_namespace, r->s.operator_selector, err);
        finish(r, false, "done");
    }
}

/* ---- start ----------------------------------------------------------------------------------- */

static void kick_cb(uv_timer_t *t)
{
    struct install_run *r = t->data;

    next_item(r);
}

int install_start(uv_loop_t *loop, struct curlm *cm, struct config *cfg,
                  const struct install_settings *s, const struct install_keys *keys,
                  install_line_fn line, install_done_fn done, void *arg, struct install_run **out,
                  char *err, size_t errlen)
{
    struct install_run *r;
    struct config tmp = *cfg;
    int rc;

    if (out)
        *out = NULL;
    /* The client wants a default namespace; every object here names its own. */
    if (!tmp.k8s_namespace || !*tmp.k8s_namespace)
        tmp.k8s_namespace = (char *)s->namespace;
    r = xcalloc(1, sizeof(*r));
    rc = k8s_client_new(cm, &tmp, &r->kc, err, errlen);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->loop = loop;
    r->cm = cm;
    r->cfg = config_ref(cfg);
    r->s = *s;
    r->line = line;
    r->done = done;
    r->arg = arg;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    install_plan_build(s, keys, &r->plan);
    if (s->mode == INSTALL_MODE_RESTORE) {
        char why[1024];

        if (start_source_check(r, keys, why, sizeof(why)) < 0) {
            /* reported through done, as every other refusal: never from inside this call */
            snprintf(err, errlen, "%s", why);
            r->n_roots = 0;
            s3_client_free(r->s3);
            r->s3 = NULL;
            install_plan_free(&r->plan);
            k8s_client_free(r->kc);
            config_unref(r->cfg);
            uv_close((uv_handle_t *)&r->timer, run_free_cb);
            return -EIO;
        }
    } else {
        (void)uv_timer_start(&r->timer, kick_cb, 0, 0);
    }
    if (out)
        *out = r;
    return 0;
}

/* cleanup.c - owns one post-restore cleanup run: read the ConfigMap, decide (CLONE_* keys, the
 * restore gate, --force, --dry-run), save the previous data as a new ConfigMap, then merge-patch
 * the CLONE_* keys away with the resourceVersion that was read. Nothing is patched unless the
 * copy was created. It talks to the API only through k8s.c and prints nothing itself: steps go
 * to the line callback, the outcome to the done callback. */
#include "cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envdir.h"
#include "k8s.h"
#include "secret.h"
#include "util.h"

#define MAX_BACKUP_ATTEMPTS 5
#define NAME_MAX_LEN        253

struct cleanup {
    struct config *cfg;
    struct k8s_client *kc;
    struct cleanup_opts opts;
    struct cleanup_gate gate;
    int64_t now_s;
    cleanup_line_fn line;
    cleanup_done_fn done;
    void *arg;
    struct k8s_call *call;
    char ns[256];
    char name[256];
    char backup_name[NAME_MAX_LEN + 1];
    int backup_attempt;
    bool saved;
    char rv[128];
    json_t *cm;      /* the ConfigMap as read */
    json_t *keys;    /* its CLONE_* keys */
    json_t *removed; /* reported as removed */
    json_t *patch;
    json_t *backup;
};

const char *cleanup_status_name(enum cleanup_status s)
{
    switch (s) {
    case CLEANUP_DONE:
        return "done";
    case CLEANUP_NOTHING:
        return "nothing";
    case CLEANUP_REFUSED:
        return "refused";
    case CLEANUP_FAILED:
        return "failed";
    }
    return "failed";
}

/* ---- pure parts -------------------------------------------------------------------------- */

void cleanup_gate_from_snapshot(const struct snapshot *s, struct cleanup_gate *g)
{
    const struct check_snap *c = s ? status_find(s, "restore") : NULL;
    json_t *fin;

    memset(g, 0, sizeof(*g));
    if (!c) {
        snprintf(g->reason, sizeof(g->reason),
                 "this agent has no restore check that could confirm the restore finished");
        return;
    }
    if (!c->has_run) {
        snprintf(g->reason, sizeof(g->reason), "the restore check has not run yet");
        return;
    }
    fin = c->details ? json_object_get(c->details, "finished") : NULL;
    g->finished = json_is_true(fin);
    if (!json_is_boolean(fin))
        snprintf(g->reason, sizeof(g->reason),
                 "the restore check (%s) does not say whether the restore finished: %s",
                 verdict_name(c->status), c->summary);
    else
        snprintf(g->reason, sizeof(g->reason), "restore check %s: %s", verdict_name(c->status),
                 c->summary);
}

void cleanup_gate_from_status(const json_t *status, const char *pod, struct cleanup_gate *g)
{
    const json_t *c = json_object_get(json_object_get(status, "checks"), "restore");
    const char *st = json_string_value(json_object_get(c, "status"));
    const char *sum = json_string_value(json_object_get(c, "summary"));
    const json_t *fin = json_object_get(json_object_get(c, "details"), "finished");

    memset(g, 0, sizeof(*g));
    if (!json_is_object(c)) {
        snprintf(g->reason, sizeof(g->reason),
                 "the agent of pod %s reports no restore check that could confirm the restore "
                 "finished",
                 pod);
        return;
    }
    g->finished = json_is_true(fin);
    if (!json_is_boolean(fin))
        snprintf(g->reason, sizeof(g->reason),
                 "the restore check of pod %s (%s) does not say whether the restore finished: %s",
                 pod, st ? st : "?", sum ? sum : "");
    else
        snprintf(g->reason, sizeof(g->reason), "restore check of pod %s %s: %s", pod, st ? st : "?",
                 sum ? sum : "");
    secret_scrub(g->reason);
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++) {
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '.')
            return false;
    }
    return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

int cleanup_parse_target(const char *spec, const char *default_ns, char *ns, size_t nslen,
                         char *name, size_t namelen)
{
    const char *slash = spec ? strchr(spec, '/') : NULL;

    if (!spec || !*spec)
        return -EINVAL;
    if (slash) {
        if (strchr(slash + 1, '/') || (size_t)(slash - spec) >= nslen ||
            strlen(slash + 1) >= namelen)
            return -EINVAL;
        snprintf(ns, nslen, "%.*s", (int)(slash - spec), spec);
        snprintf(name, namelen, "%s", slash + 1);
    } else {
        if (!default_ns || strlen(default_ns) >= nslen || strlen(spec) >= namelen)
            return -EINVAL;
        snprintf(ns, nslen, "%s", default_ns);
        snprintf(name, namelen, "%s", spec);
    }
    if (!name_ok(ns, 63) || !name_ok(name, NAME_MAX_LEN))
        return -EINVAL;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *cleanup_clone_keys(const json_t *configmap)
{
    json_t *data = json_object_get(configmap, "data");
    json_t *out = json_array();
    const char **names;
    const char *k;
    json_t *v;
    size_t n = 0;

    if (!json_is_object(data))
        return out;
    names = xcalloc(json_object_size(data) + 1, sizeof(*names));
    json_object_foreach(data, k, v)
    {
        (void)v;
        if (strncmp(k, "CLONE_", 6) == 0)
            names[n++] = k;
    }
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(names[i]));
    free(names);
    return out;
}

json_t *cleanup_build_patch(const char *resource_version, const json_t *keys)
{
    json_t *data = json_object();
    size_t i;
    json_t *k;

    json_array_foreach(keys, i, k)
    {
        if (json_is_string(k))
            json_object_set_new(data, json_string_value(k), json_null());
    }
    return json_pack("{s:{s:s},s:o}", "metadata", "resourceVersion", resource_version, "data",
                     data);
}

void cleanup_backup_name(const char *source, int64_t now_s, int attempt, char *out, size_t len)
{
    char stamp[32], suffix[64], rfc[32];
    size_t room, slen;

    util_format_rfc3339(now_s, rfc, sizeof(rfc)); /* 2026-11-24T10:00:00Z */
    snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2st%.2s%.2s%.2sz", rfc, rfc + 5, rfc + 8, rfc + 11,
             rfc + 14, rfc + 17);
    if (attempt > 1)
        snprintf(suffix, sizeof(suffix), "%s%s-%d", CLEANUP_BACKUP_INFIX, stamp, attempt);
    else
        snprintf(suffix, sizeof(suffix), "%s%s", CLEANUP_BACKUP_INFIX, stamp);
    slen = strlen(suffix);
    room = NAME_MAX_LEN > slen ? NAME_MAX_LEN - slen : 0;
    snprintf(out, len, "%.*s%s", (int)(strlen(source) < room ? strlen(source) : room), source,
             suffix);
}

json_t *cleanup_build_backup(const json_t *configmap, const char *ns, const char *backup_name,
                             int64_t now_s)
{
    json_t *meta = json_object_get(configmap, "metadata");
    const char *src = json_string_value(json_object_get(meta, "name"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    json_t *data = json_object_get(configmap, "data");
    json_t *bin = json_object_get(configmap, "binaryData");
    char at[32], source[600];
    json_t *doc;

    util_format_rfc3339(now_s, at, sizeof(at));
    snprintf(source, sizeof(source), "%s/%s", ns, src ? src : "");
    doc = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s}}}", "apiVersion", "v1", "kind",
                    "ConfigMap", "metadata", "name", backup_name, "namespace", ns, "labels",
                    CLEANUP_LABEL_MANAGED_BY, "spilo-agent", CLEANUP_LABEL_BACKUP, "true",
                    "annotations", CLEANUP_ANNOTATION_SRC, source, CLEANUP_ANNOTATION_RV,
                    rv ? rv : "", CLEANUP_ANNOTATION_AT, at);
    json_object_set_new(doc, "data", json_is_object(data) ? json_deep_copy(data) : json_object());
    if (json_is_object(bin) && json_object_size(bin))
        json_object_set_new(doc, "binaryData", json_deep_copy(bin));
    return doc;
}

json_t *cleanup_redacted(const json_t *configmap)
{
    json_t *copy = json_deep_copy(configmap);
    json_t *data = json_object_get(copy, "data");
    const char *k;
    json_t *v;

    if (json_is_object(data)) {
        json_object_foreach(data, k, v)
        {
            if (envdir_is_secret(k))
                json_object_set_new(data, k, json_string(ENVDIR_REDACTED));
        }
    }
    return copy;
}

/* ---- the run ------------------------------------------------------------------------------- */

static void say(struct cleanup *c, const char *fmt, ...) PRINTF(2, 3);
static void say(struct cleanup *c, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    if (!c->line)
        return;
    va_start(ap, fmt);
    secret_vformat(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->line(line, c->arg);
}

static void cleanup_free(struct cleanup *c)
{
    k8s_client_free(c->kc);
    config_unref(c->cfg);
    json_decref(c->cm);
    json_decref(c->keys);
    json_decref(c->removed);
    json_decref(c->patch);
    json_decref(c->backup);
    free(c);
}

static void finish(struct cleanup *c, enum cleanup_status st, const char *fmt, ...) PRINTF(3, 4);
static void finish(struct cleanup *c, enum cleanup_status st, const char *fmt, ...)
{
    char msg[2048];
    struct cleanup_result res = {0};
    json_t *empty = json_array();
    va_list ap;

    va_start(ap, fmt);
    secret_vformat(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->call = NULL;
    res.status = st;
    res.dry_run = c->opts.dry_run;
    res.namespace = *c->ns ? c->ns : NULL;
    res.configmap = *c->name ? c->name : NULL;
    res.saved_as = (c->saved || (c->opts.dry_run && c->backup)) ? c->backup_name : NULL;
    res.clone_keys = c->keys ? c->keys : empty;
    res.removed = c->removed ? c->removed : empty;
    res.patch = c->patch;
    res.backup = c->backup ? cleanup_redacted(c->backup) : NULL;
    res.message = msg;
    c->done(&res, c->arg);
    json_decref(res.backup);
    json_decref(empty);
    cleanup_free(c);
}

static void keys_joined(const json_t *keys, char *out, size_t len)
{
    size_t i, n = 0;
    json_t *k;

    out[0] = '\0';
    json_array_foreach(keys, i, k)
    {
        int w = snprintf(out + n, len - n, "%s%s", i ? ", " : "", json_string_value(k));

        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
}

static void patch_cb(const struct k8s_reply *r, void *arg);
static void create_cb(const struct k8s_reply *r, void *arg);

static void start_patch(struct cleanup *c)
{
    struct k8s_ref ref = {
        .resource = "configmaps", .kind = "ConfigMap", .namespace = c->ns, .name = c->name};
    char err[1024];

    if (k8s_request(c->kc, K8S_MERGE_PATCH, &ref, c->patch, patch_cb, c, &c->call, err,
                    sizeof(err)) < 0)
        finish(c, CLEANUP_FAILED,
               "%s; nothing was removed from ConfigMap %s/%s, and the saved copy %s/%s is still "
               "there",
               err, c->ns, c->name, c->ns, c->backup_name);
}

static void start_create(struct cleanup *c)
{
    struct k8s_ref ref = {
        .resource = "configmaps", .kind = "ConfigMap", .namespace = c->ns, .name = c->backup_name};
    json_t *meta = json_object_get(c->backup, "metadata");
    char err[1024];

    json_object_set_new(meta, "name", json_string(c->backup_name));
    if (k8s_request(c->kc, K8S_CREATE, &ref, c->backup, create_cb, c, &c->call, err, sizeof(err)) <
        0)
        finish(c, CLEANUP_FAILED,
               "could not save the previous data, so nothing was removed from ConfigMap %s/%s: "
               "%s",
               c->ns, c->name, err);
}

static void create_cb(const struct k8s_reply *r, void *arg)
{
    struct cleanup *c = arg;

    c->call = NULL;
    if (r->rc == -EEXIST && c->backup_attempt < MAX_BACKUP_ATTEMPTS) {
        /* Another run in the same second: take the next free name. */
        c->backup_attempt++;
        cleanup_backup_name(c->name, c->now_s, c->backup_attempt, c->backup_name,
                            sizeof(c->backup_name));
        start_create(c);
        return;
    }
    if (r->rc < 0) {
        finish(c, CLEANUP_FAILED,
               "could not save the previous data as ConfigMap %s/%s, so nothing was removed from "
               "ConfigMap %s/%s: %s",
               c->ns, c->backup_name, c->ns, c->name, r->error);
        return;
    }
    c->saved = true;
    say(c, "saved: the previous data of ConfigMap %s/%s (resourceVersion %s) is in ConfigMap %s/%s",
        c->ns, c->name, c->rv, c->ns, c->backup_name);
    start_patch(c);
}

static void patch_cb(const struct k8s_reply *r, void *arg)
{
    struct cleanup *c = arg;
    json_t *left;
    const char *rv2;
    char list[2048];

    c->call = NULL;
    if (r->rc == -ESTALE) {
        finish(c, CLEANUP_FAILED,
               "ConfigMap %s/%s was changed by someone else after it was read (409 Conflict, "
               "resourceVersion %s is stale): nothing was removed; the saved copy %s/%s is "
               "still there; re-run spilo-agent cleanup",
               c->ns, c->name, c->rv, c->ns, c->backup_name);
        return;
    }
    if (r->rc < 0) {
        if (r->http_status >= 400 && r->http_status < 500)
            finish(c, CLEANUP_FAILED,
                   "could not remove the CLONE_* keys: %s; nothing was removed from ConfigMap "
                   "%s/%s; the saved copy %s/%s is still there (delete it with kubectl -n %s "
                   "delete configmap %s when you no longer need it)",
                   r->error, c->ns, c->name, c->ns, c->backup_name, c->ns, c->backup_name);
        else
            finish(c, CLEANUP_FAILED,
                   "could not confirm the removal of the CLONE_* keys: %s; check ConfigMap %s/%s "
                   "with kubectl -n %s get configmap %s -o yaml; the saved copy %s/%s is there",
                   r->error, c->ns, c->name, c->ns, c->name, c->ns, c->backup_name);
        return;
    }
    left = cleanup_clone_keys(r->object);
    rv2 = json_string_value(
        json_object_get(json_object_get(r->object, "metadata"), "resourceVersion"));
    if (json_array_size(left)) {
        keys_joined(left, list, sizeof(list));
        json_decref(left);
        finish(c, CLEANUP_FAILED,
               "the API server accepted the patch of ConfigMap %s/%s but it still has %s; the "
               "saved copy %s/%s is there",
               c->ns, c->name, list, c->ns, c->backup_name);
        return;
    }
    json_decref(left);
    c->removed = json_incref(c->keys);
    keys_joined(c->keys, list, sizeof(list));
    say(c, "removed: %zu CLONE_* keys from ConfigMap %s/%s: %s (resourceVersion %s -> %s)",
        json_array_size(c->keys), c->ns, c->name, list, c->rv, rv2 ? rv2 : "?");
    finish(c, CLEANUP_DONE,
           "removed %zu CLONE_* keys from ConfigMap %s/%s; the previous data is saved in "
           "ConfigMap %s/%s; running Spilo pods keep the old environment until they are "
           "recreated",
           json_array_size(c->keys), c->ns, c->name, c->ns, c->backup_name);
}

static void get_cb(const struct k8s_reply *r, void *arg)
{
    struct cleanup *c = arg;
    json_t *meta;
    const char *rv;
    char list[2048];
    char *text;
    bool refuse;

    c->call = NULL;
    if (r->rc == -ENOENT) {
        finish(c, CLEANUP_FAILED,
               "%s; set [cleanup] configmap to the operator's pod_environment_configmap "
               "(name or namespace/name)",
               r->error);
        return;
    }
    if (r->rc < 0) {
        finish(c, CLEANUP_FAILED, "%s", r->error);
        return;
    }
    c->cm = json_incref(r->object);
    meta = json_object_get(c->cm, "metadata");
    rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (!rv || !*rv) {
        finish(c, CLEANUP_FAILED,
               "ConfigMap %s/%s came without metadata.resourceVersion; refusing to patch it "
               "without optimistic concurrency",
               c->ns, c->name);
        return;
    }
    snprintf(c->rv, sizeof(c->rv), "%s", rv);
    c->keys = cleanup_clone_keys(c->cm);
    keys_joined(c->keys, list, sizeof(list));
    say(c, "read: ConfigMap %s/%s (resourceVersion %s) has %zu keys, %zu CLONE_*%s%s", c->ns,
        c->name, c->rv, json_object_size(json_object_get(c->cm, "data")), json_array_size(c->keys),
        json_array_size(c->keys) ? ": " : "", list);
    if (json_array_size(c->keys) == 0) {
        finish(c, CLEANUP_NOTHING, "ConfigMap %s/%s has no CLONE_* keys: nothing to do", c->ns,
               c->name);
        return;
    }
    if (json_is_true(json_object_get(c->cm, "immutable"))) {
        finish(c, CLEANUP_FAILED,
               "ConfigMap %s/%s is immutable (immutable: true) and cannot be patched; recreate "
               "it without the CLONE_* keys",
               c->ns, c->name);
        return;
    }
    refuse = !c->gate.finished && !c->opts.force;
    if (c->gate.finished)
        say(c, "restore: finished (%s)", c->gate.reason);
    else if (c->opts.force)
        say(c,
            "warning: --force: the restore is not confirmed as finished (%s); removing the "
            "CLONE_* keys anyway",
            c->gate.reason);
    else
        say(c, "restore: not confirmed as finished (%s)", c->gate.reason);

    c->backup_attempt = 1;
    cleanup_backup_name(c->name, c->now_s, 1, c->backup_name, sizeof(c->backup_name));
    c->backup = cleanup_build_backup(c->cm, c->ns, c->backup_name, c->now_s);
    c->patch = cleanup_build_patch(c->rv, c->keys);

    if (c->opts.dry_run) {
        json_t *shown = cleanup_redacted(c->backup);

        text = json_dumps(shown, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(shown);
        say(c,
            "dry run: would create ConfigMap %s/%s with the previous data (secret values "
            "shown as ***):",
            c->ns, c->backup_name);
        secret_scrub(text);
        if (c->line && text)
            c->line(text, c->arg);
        free(text);
        text = json_dumps(c->patch, JSON_COMPACT | JSON_PRESERVE_ORDER);
        say(c, "dry run: would PATCH ConfigMap %s/%s (application/merge-patch+json):", c->ns,
            c->name);
        if (c->line && text)
            c->line(text, c->arg);
        free(text);
        c->removed = json_incref(c->keys);
        if (refuse)
            finish(c, CLEANUP_REFUSED,
                   "dry run, nothing changed; a real run would refuse: the restore is not "
                   "confirmed as finished (%s); wait for it (spilo-agent check --only restore) "
                   "or use --force",
                   c->gate.reason);
        else
            finish(c, CLEANUP_DONE,
                   "dry run, nothing changed; a real run would save ConfigMap %s/%s and remove "
                   "%s",
                   c->ns, c->backup_name, list);
        return;
    }
    if (refuse) {
        finish(c, CLEANUP_REFUSED,
               "refusing to remove %s from ConfigMap %s/%s: the restore is not confirmed as "
               "finished (%s); wait for it (spilo-agent check --only restore) or use --force",
               list, c->ns, c->name, c->gate.reason);
        return;
    }
    start_create(c);
}

int cleanup_start(struct curlm *cm, struct config *cfg, const struct cleanup_opts *opts,
                  const struct cleanup_gate *gate, int64_t now_s, cleanup_line_fn line,
                  cleanup_done_fn done, void *arg, struct cleanup **out, char *err, size_t errlen)
{
    struct cleanup *c = xcalloc(1, sizeof(*c));
    struct k8s_ref ref = {.resource = "configmaps", .kind = "ConfigMap"};
    const char *spec = cfg->cleanup_configmap && *cfg->cleanup_configmap ? cfg->cleanup_configmap
                                                                         : CLEANUP_DEFAULT_TARGET;
    int rc;

    if (out)
        *out = NULL;
    c->cfg = config_ref(cfg);
    c->opts = *opts;
    c->gate = *gate;
    c->now_s = now_s;
    c->line = line;
    c->done = done;
    c->arg = arg;
    rc = k8s_client_new(cm, cfg, &c->kc, err, errlen);
    if (rc < 0)
        goto fail;
    if (cleanup_parse_target(spec, k8s_client_namespace(c->kc), c->ns, sizeof(c->ns), c->name,
                             sizeof(c->name)) < 0) {
        snprintf(err, errlen,
                 "[cleanup] configmap '%s' is not valid; accepted: a ConfigMap name or "
                 "namespace/name (lower case letters, digits, '-' and '.')",
                 spec);
        rc = -EINVAL;
        goto fail;
    }
    ref.namespace = c->ns;
    ref.name = c->name;
    rc = k8s_request(c->kc, K8S_GET, &ref, NULL, get_cb, c, &c->call, err, errlen);
    if (rc < 0) {
        if (rc == -EINVAL)
            rc = -EIO; /* not a configuration problem: the token file, most likely */
        goto fail;
    }
    if (out)
        *out = c;
    return 0;
fail:
    cleanup_free(c);
    return rc;
}

void cleanup_cancel(struct cleanup *c)
{
    if (!c)
        return;
    k8s_call_cancel(c->call);
    cleanup_free(c);
}

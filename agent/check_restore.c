/* check_restore.c - glue of the restore check (see check_restore.h). */
#include "check_restore.h"

#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backups.h"
#include "envdir.h"
#include "log.h"
#include "patroni.h"
#include "pgconn.h"
#include "preflight.h"
#include "restore.h"
#include "util.h"
#include "walg_env.h"
#include "walg_s3.h"

#define MAX_CANDIDATES    16
#define MAX_SIBLINGS      4
#define MAX_SIBLING_NAMES 4

extern char **environ;

struct rs_job {
    struct check_run *run;
    struct check_result res;
    /* gathered on the thread pool */
    char **keys;
    size_t n_keys;
    char **envdirs;
    size_t n_envdirs;
    char *scope, *method, *target_time, *suffix, *endpoint;
    bool has_suffix;
    struct walg_target own, source;
    bool own_ok, source_ok;
    /* asked on the loop */
    size_t pending;
    struct pgconn *pc;
    struct patroni_request *patroni_req;
    struct s3_request *own_req, *src_req;
    struct s3_client *own_client, *src_client;
    int in_recovery;
    char pg_error[512];
    char *patroni_state;
    int own_backups;
    char *own_first;
    int64_t own_first_s;
    char own_error[512];
    int source_backups;
    char *candidates[MAX_CANDIDATES];
    size_t n_candidates, candidate;
    char source_checked[1024];
    char source_error[512];
    char *source_found;
    /* siblings of a source without backups */
    char *namespace;
    bool bucket_in_pod_env;
    char *sib_names[MAX_SIBLING_NAMES];
    size_t n_sib_names, sib_name;
    char *siblings[MAX_SIBLINGS];
    size_t n_siblings;
    /* CLONE_TARGET_TIME against the source (preflight.c) */
    int64_t target_s;
    struct preflight *pf;
    bool target_search;   /* looking at the later candidates for a backup Spilo picks */
    json_t *target_check; /* details.target_time_check; NULL when not checked */
    char target_problem[1024];
    bool target_unreachable; /* the pre-flight decided: not reachable */
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- thread pool: the settings ------------------------------------------------------------ */

static void gather(void *arg)
{
    struct rs_job *job = arg;
    const struct config *cfg = job->run->cfg;
    struct walg_env_input in;
    char err[512], *pattern;
    glob_t g;
    const char *v;

    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');

        if (eq && strncmp(*e, "CLONE_", 6) == 0) {
            job->keys = xrealloc(job->keys, (job->n_keys + 1) * sizeof(char *));
            job->keys[job->n_keys++] = xstrndup(*e, (size_t)(eq - *e));
        }
    }
    if (job->n_keys)
        qsort(job->keys, job->n_keys, sizeof(char *), cmp_str);
    job->scope = (v = util_env_get(environ, "CLONE_SCOPE")) ? xstrdup(v) : NULL;
    job->method = (v = util_env_get(environ, "CLONE_METHOD")) ? xstrdup(v) : NULL;
    job->target_time = (v = util_env_get(environ, "CLONE_TARGET_TIME")) ? xstrdup(v) : NULL;
    job->suffix = (v = util_env_get(environ, "CLONE_WAL_BUCKET_SCOPE_SUFFIX")) ? xstrdup(v) : NULL;
    job->endpoint = (v = util_env_get(environ, "CLONE_AWS_ENDPOINT")) && *v ? xstrdup(v) : NULL;
    job->namespace = (v = util_env_get(environ, "POD_NAMESPACE")) && *v ? xstrdup(v) : NULL;
    job->bucket_in_pod_env = (v = util_env_get(environ, "WAL_S3_BUCKET")) && *v;

    pattern = walg_clone_glob(cfg->clone_envdir, cfg->envdir);
    memset(&g, 0, sizeof(g));
    if (glob(pattern, GLOB_ONLYDIR, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            job->envdirs = xrealloc(job->envdirs, (job->n_envdirs + 1) * sizeof(char *));
            job->envdirs[job->n_envdirs++] = xstrdup(g.gl_pathv[i]);
        }
    }
    globfree(&g);
    free(pattern);

    /* where the clone restores from: its envdir, else CLONE_* derived like Spilo */
    if (job->n_envdirs > 0) {
        struct envdir e;

        if (envdir_load(job->envdirs[0], &e, err, sizeof(err)) == 0) {
            const char *base = strrchr(job->envdirs[0], '/');

            walg_target_from_envdir(&e, job->envdirs[0], &job->source);
            job->source_ok = *job->source.bucket != '\0';
            if ((v = envdir_get(&e, "AWS_ENDPOINT")) && !job->endpoint)
                job->endpoint = xstrdup(v);
            base = base ? base + 1 : job->envdirs[0];
            if (!job->scope && strncmp(base, "env-clone-", 10) == 0 && base[10])
                job->scope = xstrdup(base + 10);
        }
        envdir_free(&e);
    } else if (job->n_keys > 0) {
        struct envdir e;

        if (walg_derive(environ, "CLONE_", NULL, &e)) {
            walg_target_from_envdir(&e, "environment (CLONE_*)", &job->source);
            job->source_ok = *job->source.bucket != '\0';
        }
        envdir_free(&e);
    }
    walg_env_input_from_config(cfg, &in);
    job->own_ok = walg_target_resolve(&in, &job->own, err, sizeof(err)) == 0;
    if (!job->own_ok)
        snprintf(job->own_error, sizeof(job->own_error), "%s", err);
}

/* ---- the loop: PostgreSQL, Patroni, S3 ----------------------------------------------------- */

static void finish(struct rs_job *job)
{
    struct restore_facts f;
    struct check_run *run = job->run;

    restore_facts_init(&f);
    f.clone_keys = (const char *const *)job->keys;
    f.n_clone_keys = job->n_keys;
    f.clone_envdirs = (const char *const *)job->envdirs;
    f.n_clone_envdirs = job->n_envdirs;
    f.clone_scope = job->scope;
    f.clone_method = job->method;
    f.clone_target_time = job->target_time;
    f.scope_suffix = job->suffix;
    f.endpoint = job->endpoint;
    f.source_prefix = job->source_ok ? job->source.prefix : NULL;
    f.own_prefix = job->own_ok ? job->own.prefix : NULL;
    f.in_recovery = job->in_recovery;
    f.pg_error = job->pg_error[0] ? job->pg_error : NULL;
    f.patroni_state = job->patroni_state;
    f.own_backups = job->own_backups;
    f.own_first_backup = job->own_first;
    f.own_first_backup_s = job->own_first_s;
    f.own_error = job->own_error[0] ? job->own_error : NULL;
    f.source_backups = job->source_backups;
    f.source_checked = job->source_checked[0] ? job->source_checked : NULL;
    f.source_error = job->source_error[0] ? job->source_error : NULL;
    f.source_found = job->source_found;
    f.namespace = job->namespace;
    f.bucket_in_pod_env =
        job->bucket_in_pod_env ||
        (job->namespace && job->own_ok && strncmp(job->own.root, "spilo/", 6) == 0 &&
         strncmp(job->own.root + 6, job->namespace, strlen(job->namespace)) == 0 &&
         job->own.root[6 + strlen(job->namespace)] == '-');
    f.target_unreachable = job->target_unreachable ? job->target_problem : NULL;
    f.siblings = (const char *const *)job->siblings;
    f.n_siblings = job->n_siblings;
    restore_evaluate(&f, &job->res);
    if (job->source_error[0])
        json_object_set_new(job->res.details, "source_error", json_string(job->source_error));
    if (job->own_error[0])
        json_object_set_new(job->res.details, "own_error", json_string(job->own_error));
    if (job->target_check)
        json_object_set_new(job->res.details, "target_time_check", job->target_check);
    /* Said, not judged: whether the clone can start is for the clone to show; the pre-flight
     * says why it would not. */
    if (job->target_problem[0]) {
        size_t used = strlen(job->res.summary);

        /* Once PostgreSQL replays or has been promoted, the clone has started: the pre-flight is
         * moot and stays in the details. Unreachable, it may be why the clone does not start. */
        if (job->in_recovery < 0 && !job->res.causes[CAUSE_RESTORE_TARGET_UNREACHABLE])
            snprintf(job->res.summary + used, sizeof(job->res.summary) - used, "%s%s",
                     used ? "; " : "", job->target_problem);
        json_object_set_new(job->target_check ? job->target_check : job->res.details, "problem",
                            json_string(job->target_problem));
    }

    run->state = NULL;
    check_run_done(run, &job->res);
    for (size_t i = 0; i < job->n_keys; i++)
        free(job->keys[i]);
    for (size_t i = 0; i < job->n_envdirs; i++)
        free(job->envdirs[i]);
    for (size_t i = 0; i < job->n_candidates; i++)
        free(job->candidates[i]);
    for (size_t i = 0; i < job->n_sib_names; i++)
        free(job->sib_names[i]);
    for (size_t i = 0; i < job->n_siblings; i++)
        free(job->siblings[i]);
    free(job->source_found);
    free(job->namespace);
    free(job->keys);
    free(job->envdirs);
    free(job->scope);
    free(job->method);
    free(job->target_time);
    free(job->suffix);
    free(job->endpoint);
    free(job->patroni_state);
    free(job->own_first);
    walg_target_free(&job->own);
    walg_target_free(&job->source);
    free(job);
}

static void done_one(struct rs_job *job)
{
    if (--job->pending == 0)
        finish(job);
}

static void pg_cb(struct pgconn_result *res, void *arg)
{
    struct rs_job *job = arg;

    job->pc = NULL;
    if (res->rc == 0 && res->n_results > 0 && pgconn_rows(res, 0) == 1) {
        const char *v = pgconn_value(res, 0, 0, 0);

        job->in_recovery = v && strcmp(v, "t") == 0;
    } else {
        snprintf(job->pg_error, sizeof(job->pg_error), "%s", res->error);
    }
    done_one(job);
}

static void patroni_cb(json_t *doc, const char *error, void *arg)
{
    struct rs_job *job = arg;
    const char *st = json_string_value(json_object_get(doc, "state"));

    job->patroni_req = NULL;
    (void)error;
    if (st)
        job->patroni_state = xstrdup(st);
    json_decref(doc);
    done_one(job);
}

static void own_listed(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct rs_job *job = arg;

    job->own_req = NULL;
    if (err) {
        snprintf(job->own_error, sizeof(job->own_error), "%s", err->summary);
    } else {
        job->own_backups = 0;
        for (size_t i = 0; i < l->n_objects; i++) {
            const struct s3_object *o = &l->objects[i];

            if (!backups_is_sentinel_key(o->key))
                continue;
            job->own_backups++;
            if (!job->own_first || o->mtime_s < job->own_first_s) {
                const char *name = strrchr(o->key, '/');
                size_t n;

                name = name ? name + 1 : o->key;
                n = strlen(name) - strlen(BACKUPS_SENTINEL_SUFFIX);
                free(job->own_first);
                job->own_first = xstrndup(name, n);
                job->own_first_s = o->mtime_s;
            }
        }
    }
    done_one(job);
}

static void source_next(struct rs_job *job);
static void siblings_start(struct rs_job *job);

/* basebackups_005/ pages: 10,000 backups (a sentinel and a folder each) */
#define SOURCE_PAGES 25

/* Spilo goes on to the next candidate when one holds backups but none it picks for the target
 * (find_backup, bootstrap/clone_with_wale.py:142-159 at 4.0-p3): so does the pre-flight, keeping
 * the first candidate's answer unless a later one has a backup to pick. source_found stays the
 * first candidate with backups; target_time_check.source says where the picked backup is. */
static void target_checked_cb(struct preflight_result *res, void *arg)
{
    struct rs_job *job = arg;
    const char *c = job->candidates[job->candidate];
    size_t n = strlen(c) - strlen(BACKUPS_DIR);
    bool picked = res->t.from_backup != NULL;

    job->pf = NULL;
    if (picked || !job->target_check) {
        json_decref(job->target_check);
        job->target_check = res->t.details;
        res->t.details = NULL;
        json_object_set_new(
            job->target_check, "source",
            json_sprintf("s3://%s/%.*s", job->source.bucket, (int)(n > 0 ? n - 1 : 0), c));
        snprintf(job->target_problem, sizeof(job->target_problem), "%s", res->t.problem);
        job->target_unreachable = res->t.decided && !res->t.reachable;
    }
    if (!picked && job->candidate + 1 < job->n_candidates) {
        job->target_search = true;
        job->candidate++;
        source_next(job);
        return;
    }
    done_one(job);
}

/* The backups found: with a CLONE_TARGET_TIME, the pre-flight against the source. */
static bool target_check_start(struct rs_job *job, const struct s3_listing *l)
{
    if (!job->target_time || util_parse_rfc3339(job->target_time, &job->target_s, NULL) < 0)
        return false;
    return preflight_start(job->src_client, job->candidates[job->candidate], l->objects,
                           l->n_objects, !l->truncated, job->target_s, target_checked_cb, job,
                           &job->pf) == 0;
}

static void source_listed(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct rs_job *job = arg;
    int found = 0;
    size_t used = strlen(job->source_checked);

    job->src_req = NULL;
    if (err && job->target_search) {
        done_one(job); /* the first candidate's answer stands */
        return;
    }
    if (err) {
        snprintf(job->source_error, sizeof(job->source_error), "%s", err->summary);
        done_one(job);
        return;
    }
    for (size_t i = 0; i < l->n_objects; i++)
        found += backups_is_sentinel_key(l->objects[i].key);
    if (job->target_search) {
        if (found > 0 && target_check_start(job, l))
            return;
        job->candidate++;
        source_next(job);
        return;
    }
    snprintf(job->source_checked + used, sizeof(job->source_checked) - used, "%ss3://%s/%s",
             used ? ", " : "", job->source.bucket, job->candidates[job->candidate]);
    if (found > 0) {
        const char *c = job->candidates[job->candidate];
        size_t n = strlen(c) - strlen("basebackups_005/");

        job->source_backups = found;
        job->source_found =
            xasprintf("s3://%s/%.*s", job->source.bucket, (int)(n > 0 ? n - 1 : 0), c);
        if (target_check_start(job, l))
            return; /* target_checked_cb() ends this part */
        done_one(job);
        return;
    }
    job->candidate++;
    source_next(job);
}

/* ---- a source without backups: the siblings under spilo/ that hold some ------------------- */

static void sibling_next(struct rs_job *job);

static void sibling_listed(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct rs_job *job = arg;

    job->src_req = NULL;
    if (!err) {
        for (size_t i = 0; i < l->n_objects && job->n_siblings < MAX_SIBLINGS; i++) {
            const char *k = l->objects[i].key;
            const char *bb = strstr(k, "/basebackups_005/");
            bool dup = false;
            char *root;

            if (!bb || !backups_is_sentinel_key(k))
                continue;
            root = xasprintf("s3://%s/%.*s", job->source.bucket, (int)(bb - k), k);
            for (size_t j = 0; j < job->n_siblings; j++)
                dup = dup || strcmp(job->siblings[j], root) == 0;
            if (dup)
                free(root);
            else
                job->siblings[job->n_siblings++] = root;
        }
    }
    job->sib_name++;
    sibling_next(job);
}

static void sibling_next(struct rs_job *job)
{
    struct s3_list_opts o = {0};
    char *p;

    if (job->sib_name >= job->n_sib_names || job->n_siblings >= MAX_SIBLINGS) {
        done_one(job);
        return;
    }
    p = xasprintf("spilo/%s/", job->sib_names[job->sib_name]);
    o.prefix = p;
    o.max_pages = 2;
    if (s3_list(job->src_client, &o, sibling_listed, job, &job->src_req) < 0) {
        free(p);
        done_one(job);
        return;
    }
    free(p);
}

/* Where the source's backups probably are: spilo/<namespace>-<scope>/ (Spilo's default
 * WAL_BUCKET_SCOPE_PREFIX with WAL_S3_BUCKET from the pod environment, configure_spilo.py:568-570
 * 4.0-p3) and spilo/<scope>/ (any uid below it). Listed without a delimiter: some S3 stores do not
 * report prefixes that hold only prefixes. */
static void siblings_start(struct rs_job *job)
{
    if (job->scope && *job->scope) {
        if (job->namespace)
            job->sib_names[job->n_sib_names++] = xasprintf("%s-%s", job->namespace, job->scope);
        job->sib_names[job->n_sib_names++] = xstrdup(job->scope);
    }
    sibling_next(job);
}

static void source_next(struct rs_job *job)
{
    struct s3_list_opts o = {0};

    if (job->candidate >= job->n_candidates && job->target_search) {
        done_one(job);
        return;
    }
    if (job->candidate >= job->n_candidates) {
        job->source_backups = 0;
        siblings_start(job);
        return;
    }
    o.prefix = job->candidates[job->candidate];
    o.delimiter = "/";
    o.max_pages = SOURCE_PAGES;
    if (s3_list(job->src_client, &o, source_listed, job, &job->src_req) < 0) {
        snprintf(job->source_error, sizeof(job->source_error), "could not start the listing");
        done_one(job);
    }
}

static void add_candidate(struct rs_job *job, const char *root)
{
    if (job->n_candidates < MAX_CANDIDATES)
        job->candidates[job->n_candidates++] =
            *root ? xasprintf("%s/basebackups_005/", root) : xstrdup("basebackups_005/");
}

/* Where clone_with_wale.py looks (get_wale_environments, clone_with_wale.py:121-140 2.1-p7,
 * :120-139 4.0-p3): when the prefix contains /spilo/ and ends in /wal, <prefix>/<major>/ for every
 * major the image has up to the one it runs (get_possible_versions, :99-118 2.1-p7), newest
 * first; then the prefix itself. The image's majors are Spilo's list down to the oldest it
 * supports; the own major, when known, is the top. */
static void source_candidates(struct rs_job *job)
{
    const char *root = job->source.root;
    const char *own_major = NULL;
    size_t n = strlen(root);

    if (job->own_ok && job->own.layout == WALG_LAYOUT_SPILO)
        own_major = strrchr(job->own.root, '/') + 1;
    if (own_major) {
        bool known = false;

        for (size_t i = 0; i < walg_spilo_majors_count; i++)
            known = known || strcmp(walg_spilo_majors[i], own_major) == 0;
        if (!known)
            own_major = NULL; /* newer than this agent knows: try them all */
    }
    if (n >= 4 && strcmp(root + n - 4, "/wal") == 0 && strstr(root, "spilo/") &&
        (strncmp(root, "spilo/", 6) == 0 || strstr(root, "/spilo/"))) {
        bool on = own_major == NULL;

        for (size_t i = 0; i < walg_spilo_majors_count && job->n_candidates < MAX_CANDIDATES - 1;
             i++) {
            on = on || strcmp(walg_spilo_majors[i], own_major) == 0;
            if (on) {
                char *r = xasprintf("%s/%s", root, walg_spilo_majors[i]);

                add_candidate(job, r);
                free(r);
            }
        }
    }
    add_candidate(job, root);
}

static void gathered(struct check_run *run, void *arg, bool cancelled)
{
    struct rs_job *job = arg;
    const struct config *cfg = run->cfg;
    char err[512];

    if (cancelled || (job->n_keys == 0 && job->n_envdirs == 0)) {
        job->pending = 1;
        if (cancelled)
            snprintf(job->pg_error, sizeof(job->pg_error), "the check was cancelled");
        done_one(job);
        return;
    }
    job->pending = 1; /* held until every request below has started */
    if (pgconn_run(run->loop, cfg->conninfo_effective,
                   (const char *const[]){"SELECT pg_catalog.pg_is_in_recovery()"}, 1,
                   check_run_session_ms(run), pg_cb, job, &job->pc) == 0)
        job->pending++;
    else
        snprintf(job->pg_error, sizeof(job->pg_error), "[postgres] conninfo cannot be used");
    if (*cfg->patroni_url && run->curlm &&
        patroni_get_member(run->curlm, cfg->patroni_url, patroni_cb, job, &job->patroni_req) == 0)
        job->pending++;
    if (job->own_ok && run->curlm) {
        if (walg_s3_client_for(run, &job->own, &job->own_client, err, sizeof(err)) == 0) {
            struct s3_list_opts o = {0};
            char *base = *job->own.root ? xasprintf("%s/basebackups_005/", job->own.root)
                                        : xstrdup("basebackups_005/");

            o.prefix = base;
            o.delimiter = "/";
            if (s3_list(job->own_client, &o, own_listed, job, &job->own_req) == 0)
                job->pending++;
            free(base);
        } else {
            snprintf(job->own_error, sizeof(job->own_error), "%s", err);
        }
    }
    if (job->source_ok && run->curlm) {
        if (walg_s3_client_for(run, &job->source, &job->src_client, err, sizeof(err)) == 0) {
            source_candidates(job);
            job->pending++;
            source_next(job);
        } else {
            snprintf(job->source_error, sizeof(job->source_error), "%s", err);
        }
    }
    done_one(job);
}

static void restore_start(struct check_run *run)
{
    struct rs_job *job = xcalloc(1, sizeof(*job));

    job->run = run;
    job->in_recovery = -1;
    job->own_backups = -1;
    job->source_backups = -1;
    job->own_first_s = RESTORE_NO_TIME;
    check_result_init(&job->res);
    run->state = job;
    check_run_work(run, gather, gathered, job);
}

static void restore_cancel(struct check_run *run)
{
    struct rs_job *job = run->state;
    size_t stopped = 0;

    if (!job || job->pending == 0)
        return; /* still gathering on the thread pool: gathered() sees run->cancelled */
    if (job->patroni_req) {
        patroni_cancel(job->patroni_req);
        job->patroni_req = NULL;
        stopped++;
    }
    if (job->own_req) {
        s3_cancel(job->own_req);
        job->own_req = NULL;
        snprintf(job->own_error, sizeof(job->own_error), "the S3 listing did not finish in time");
        stopped++;
    }
    if (job->src_req) {
        s3_cancel(job->src_req);
        job->src_req = NULL;
        stopped++;
    }
    if (job->pf) {
        preflight_cancel(job->pf);
        job->pf = NULL;
        stopped++;
    }
    if (job->pc)
        pgconn_cancel(job->pc); /* pg_cb follows from the loop and ends the run */
    job->pending -= stopped;
    if (job->pending == 0)
        finish(job);
}

const struct check_def check_restore = {
    .name = "restore",
    .start = restore_start,
    .cancel = restore_cancel,
};

/* check_backups.c - glue of the backups check: walg_s3 (target + client) -> s3_list of
 * basebackups_005/ -> rounds of GETs for what backups_list_wanted() asks -> backups_evaluate().
 * Sentinels never change once written, so they are cached by key and LastModified. metadata.json
 * (rewritten by `wal-g backup-mark`) is cached by key, LastModified and ETag as the listing shows
 * them (BACKUPS_LIST_DELIMITER), so a steady run GETs only what changed; on a store that refuses
 * that delimiter the listing falls back to "/", which does not show metadata.json, and a cached
 * copy is then trusted for METADATA_TTL_S. */
#include "check_backups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backups.h"
#include "buf.h"
#include "log.h"
#include "objcache.h"
#include "schedule.h"
#include "status.h"
#include "util.h"
#include "walg_s3.h"
#include "walscan.h"

#define INFLIGHT_MAX   16
#define OBJECT_MAX     (256 * 1024)
#define METADATA_TTL_S 3600
/* GETs of metadata.json one run may spend: the rest are fetched in later runs (their
 * permanence comes from the sentinel meanwhile), so the requests of a run stay bounded whatever
 * the number of backups. */
#define METADATA_PER_RUN 100
/* Cached objects parsed before the loop gets a turn (each is a JSON parse). */
#define ATTACH_PER_TICK 256
#define CACHE_MAX       65536 /* entries; the table is cleared when full */
#define FOLDER_LIST_MAX 100000

/* ---- the object cache, kept by the registry across runs (objcache.h) ---------------------- */

static const char object_cache_tag = 0;

static void object_cache_free(void *p)
{
    objcache_free(p);
}

static const char wal_scan_tag = 0;

/* The WAL listing's position and chain, kept by the registry across runs (walscan.h). */
static struct walscan_keep *wal_scan(struct check_run *run)
{
    void **kept = check_run_kept(run, &wal_scan_tag, walscan_keep_free);

    if (!*kept)
        *kept = walscan_keep_new();
    return *kept;
}

/* How this registry's store lists basebackups_005/, kept across runs: once a store refused
 * BACKUPS_LIST_DELIMITER it is listed with "/" until the agent restarts. */
struct list_mode {
    bool slash_only;
    char why[200]; /* the refusal, for details.listing */
};

static const char list_mode_tag = 0;

static struct list_mode *list_mode(struct check_run *run)
{
    void **kept = check_run_kept(run, &list_mode_tag, free);

    if (!*kept)
        *kept = xcalloc(1, sizeof(struct list_mode));
    return *kept;
}

static struct objcache *object_cache(struct check_run *run)
{
    void **kept = check_run_kept(run, &object_cache_tag, object_cache_free);

    if (!*kept)
        *kept = objcache_new(CACHE_MAX);
    return *kept;
}

/* ---- one run --------------------------------------------------------------------------- */

struct bk_req;

struct bk_job {
    struct check_run *run;
    struct walg_s3 *ws;
    struct backups_list *list;
    struct bk_req *reqs; /* outstanding, linked */
    size_t inflight;
    char **queued; /* FOLDER keys already asked for (a failed folder listing is not retried) */
    size_t n_queued;
    size_t metadata_gets; /* GETs of metadata.json this run */
    uint64_t requests_before;
    uv_timer_t yield;            /* gives the loop a turn between batches of cached objects */
    bool wal_scanning;           /* walscan_run() in flight */
    struct s3_request *list_req; /* the basebackups_005/ listing in flight, for a cancel */
    const char *delimiter;       /* of that listing */
    struct check_result res;
};

struct bk_req {
    struct bk_job *job;
    struct s3_request *req;
    enum backups_fetch_kind kind;
    char *key;
    int64_t mtime_s;
    uint64_t etag;
    struct bk_req *next;
};

static void pump(struct bk_job *job);

static void req_unlink(struct bk_job *job, struct bk_req *r)
{
    for (struct bk_req **p = &job->reqs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    job->inflight--;
    free(r->key);
    free(r);
}

static void job_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void job_finish(struct bk_job *job)
{
    struct check_run *run = job->run;

    for (size_t i = 0; i < job->n_queued; i++)
        free(job->queued[i]);
    free(job->queued);
    backups_list_free(job->list);
    walg_s3_release(job->ws);
    run->state = NULL;
    check_run_done(run, &job->res);
    uv_close((uv_handle_t *)&job->yield, job_free_cb);
}

static int64_t count_slots(void *ctx, int64_t from_s, int64_t to_s)
{
    const struct cron_schedule *c = ctx;
    int64_t n = 0, t = from_s;

    while (n < 100000) {
        t = cron_next(c, t);
        if (t < 0 || t > to_s)
            break;
        n++;
    }
    return n;
}

/* The WAL chain's part of the verdict (walchain.c): restorable to consistency and to now. */
static void wal_chain_apply(struct bk_job *job)
{
    struct walchain_backup *wb = NULL;
    uint64_t seg_size = 0;
    size_t n = walscan_backups(job->list, &wb, &seg_size);
    bool complete;
    unsigned failed_runs;
    struct walscan_keep *scan = wal_scan(job->run);
    const struct walchain *chain = walscan_chain(scan, &complete);
    const char *failing = walscan_failing(scan, &failed_runs);

    if (chain)
        walchain_apply(&job->res, chain, wb, n, complete);
    if (failing && failed_runs >= WALSCAN_FAILING_RUNS) {
        char old[sizeof(job->res.summary)];

        snprintf(old, sizeof(old), "%s", job->res.summary);
        check_result_set(
            &job->res, verdict_worst(job->res.status, VERDICT_WARNING),
            "listing wal_005/ failed in the last %u runs (%s), so the WAL chain %s. %s",
            failed_runs, failing,
            complete ? "is not up to date: new gaps go unseen"
                     : "is not judged: whether the backups can be restored is unknown",
            old);
    }
    json_object_set_new(job->res.details, "wal_listing", walscan_details(scan));
    free(wb);
}

static void evaluate(struct bk_job *job)
{
    const struct config *cfg = job->run->cfg;
    const struct walg_target *t = &job->ws->target;
    struct backups_input in;
    struct cron_schedule cron;
    char cron_err[200] = "";
    bool cron_ok = cron_parse(cfg->schedule, &cron, cron_err, sizeof(cron_err)) == 0;
    const struct snapshot *snap = status_current();
    struct s3_stats st;
    int64_t grace_s = (int64_t)(cfg->grace_ms / 1000);

    backups_input_init(&in);
    in.prefix = t->prefix;
    in.list = job->list;
    in.now_s = job->run->now_s;
    in.schedule = cfg->schedule;
    if (cron_ok) {
        in.previous_scheduled_s = cron_prev(&cron, in.now_s);
        in.next_scheduled_s = cron_next(&cron, in.now_s);
        if (!cfg->grace_ms)
            grace_s = cron_default_grace_s(&cron, in.now_s);
        in.due_slot_s = cron_prev(&cron, in.now_s - grace_s);
        in.count_slots = count_slots;
        in.count_slots_ctx = &cron;
        in.slot_of = cron_slot_of;
        in.schedule_parsed = true;
    } else if (!cfg->grace_ms) {
        grace_s = 3600;
    }
    in.grace_s = grace_s;
    in.grace_from_schedule = !cfg->grace_ms;
    in.retain = cfg->retain >= 0 ? cfg->retain : t->retain >= 0 ? t->retain : 5;
    in.role = snap && strcmp(snap->role, "unknown") != 0 ? snap->role : NULL;
    in.old_layout = t->layout == WALG_LAYOUT_SPILO_OLD;
    backups_evaluate(&in, &job->res);

    if (!cron_ok) {
        char old[sizeof(job->res.summary)];

        snprintf(old, sizeof(old), "%s", job->res.summary);
        check_result_set(&job->res, verdict_worst(job->res.status, VERDICT_WARNING),
                         "BACKUP_SCHEDULE '%s' is not valid (%s), so missed backups cannot be "
                         "told; fix it (cron reads it too). %s",
                         cfg->schedule, cron_err, old);
    }
    wal_chain_apply(job);
    s3_client_stats(job->ws->client, &st);
    json_object_set_new(job->res.details, "s3", json_string(s3_client_describe(job->ws->client)));
    json_object_set_new(job->res.details, "s3_requests",
                        json_integer((json_int_t)(st.requests - job->requests_before)));
    json_object_set_new(job->res.details, "source", json_string(t->where));
    {
        const struct list_mode *m = list_mode(job->run);
        json_t *o = json_pack("{s:s, s:s}", "delimiter", job->delimiter, "metadata_revalidated_by",
                              m->slash_only ? "age" : "listing");

        if (m->slash_only)
            json_object_set_new(o, "fallback_reason", json_string(m->why));
        json_object_set_new(job->res.details, "listing", o);
    }
}

static void object_cb(const struct aws_error *err, const struct buf *body, void *arg)
{
    struct bk_req *r = arg;
    struct bk_job *job = r->job;
    char why[300];

    if (err) {
        (void)backups_list_attach_error(job->list, r->key, err->summary);
    } else {
        struct objcache_entry *e = objcache_put(object_cache(job->run), r->key, body->data,
                                                body->len, r->mtime_s, job->run->now_s);

        e->etag = r->etag;
        if (backups_list_attach(job->list, r->key, body->data, body->len, why, sizeof(why)) < 0)
            log_debug("backups", "%s: %s", r->key, why);
    }
    req_unlink(job, r);
    pump(job);
}

static void folder_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct bk_req *r = arg;
    struct bk_job *job = r->job;

    if (!err) {
        int64_t newest = BACKUPS_NO_TIME;

        for (size_t i = 0; i < l->n_objects; i++) {
            if (l->objects[i].mtime_s > newest)
                newest = l->objects[i].mtime_s;
        }
        if (newest != BACKUPS_NO_TIME)
            (void)backups_list_set_folder_newest(job->list, r->key, newest);
    } else {
        log_info("backups", "listing %s failed: %s", r->key, err->summary);
    }
    req_unlink(job, r);
    pump(job);
}

static void wal_scanned_cb(void *arg)
{
    struct bk_job *job = arg;

    job->wal_scanning = false;
    evaluate(job);
    job_finish(job);
}

/* Everything about the backups is there: list the new part of wal_005/, then evaluate. */
static void evaluate_after_wal(struct bk_job *job)
{
    struct walchain_backup *wb = NULL;
    uint64_t seg_size = 0;
    const struct walg_target *t = &job->ws->target;

    (void)walscan_backups(job->list, &wb, &seg_size); /* the segment size a backup tells */
    free(wb);
    if (walscan_run(wal_scan(job->run), job->ws->client, t->root, seg_size, job->run->now_s,
                    (int64_t)(job->run->cfg->wal_sweep_interval_ms / 1000), wal_scanned_cb,
                    job) == 0) {
        job->wal_scanning = true;
        return;
    }
    evaluate(job);
    job_finish(job);
}

static bool queued_before(struct bk_job *job, const char *key)
{
    for (size_t i = 0; i < job->n_queued; i++) {
        if (strcmp(job->queued[i], key) == 0)
            return true;
    }
    return false;
}

static void pump_later_cb(uv_timer_t *t)
{
    pump(t->data);
}

/* Whether a cached copy of w can stand in for a GET. metadata.json: when the listing shows it
 * unchanged (LastModified and ETag), or, from a "/" listing that does not show it, while the copy
 * is young; and whenever this run's GET budget is spent. */
static bool use_cached(const struct bk_job *job, const struct backups_fetch *w,
                       const struct objcache_entry *e)
{
    int64_t now = job->run->now_s;

    if (!e || !e->body)
        return false;
    if (w->kind == BACKUPS_FETCH_SENTINEL)
        return e->mtime_s == w->mtime_s;
    if (job->metadata_gets >= METADATA_PER_RUN)
        return true;
    if (w->mtime_s != BACKUPS_NO_TIME)
        return e->mtime_s == w->mtime_s && e->etag == w->etag;
    return now >= e->fetched_s && now - e->fetched_s < METADATA_TTL_S;
}

/* Starts what backups_list_wanted() asks for, INFLIGHT_MAX requests at a time; attaches cached
 * objects in batches, giving the loop a turn between them; evaluates when nothing is left. */
static void pump(struct bk_job *job)
{
    struct backups_fetch one, *want;
    size_t n, attached = 0, started = 0;

    if (job->run->cancelled) {
        if (job->inflight == 0)
            job_finish(job);
        return;
    }
    if (job->inflight > 0)
        return;
    n = backups_list_wanted(job->list, &one, 1);
    if (n == 0) {
        evaluate_after_wal(job);
        return;
    }
    want = xcalloc(n, sizeof(*want));
    n = backups_list_wanted(job->list, want, n);
    for (size_t i = 0; i < n && job->inflight < INFLIGHT_MAX; i++) {
        struct backups_fetch *w = &want[i];
        struct objcache_entry *e =
            w->kind == BACKUPS_FETCH_FOLDER ? NULL : objcache_get(object_cache(job->run), w->key);
        struct bk_req *r;
        int rc;

        if (use_cached(job, w, e)) {
            char why[300];

            if (attached == ATTACH_PER_TICK) {
                (void)uv_timer_start(&job->yield, pump_later_cb, 0, 0);
                free(want);
                return;
            }
            if (backups_list_attach(job->list, w->key, e->body, e->len, why, sizeof(why)) < 0)
                log_debug("backups", "%s: %s", w->key, why);
            attached++;
            continue;
        }
        if (w->kind == BACKUPS_FETCH_METADATA && job->metadata_gets >= METADATA_PER_RUN) {
            (void)backups_list_defer_metadata(job->list, w->key);
            continue;
        }
        if (w->kind == BACKUPS_FETCH_FOLDER) {
            if (queued_before(job, w->key))
                continue;
            job->queued = xrealloc(job->queued, (job->n_queued + 1) * sizeof(char *));
            job->queued[job->n_queued++] = xstrdup(w->key);
        }
        if (w->kind == BACKUPS_FETCH_METADATA)
            job->metadata_gets++;
        r = xcalloc(1, sizeof(*r));
        r->job = job;
        r->kind = w->kind;
        r->key = xstrdup(w->key);
        r->mtime_s = w->mtime_s;
        r->etag = w->etag;
        r->next = job->reqs;
        job->reqs = r;
        job->inflight++;
        if (r->kind == BACKUPS_FETCH_FOLDER) {
            struct s3_list_opts o = {.prefix = r->key, .max_objects = FOLDER_LIST_MAX};

            rc = s3_list(job->ws->client, &o, folder_cb, r, &r->req);
        } else {
            rc = s3_get(job->ws->client, r->key, OBJECT_MAX, object_cb, r, &r->req);
        }
        if (rc < 0) {
            (void)backups_list_attach_error(job->list, r->key, "the request could not start");
            req_unlink(job, r);
            continue;
        }
        started++;
    }
    free(want);
    if (job->inflight > 0)
        return;
    /* Nothing in flight: either every wanted object was settled here (look again, on the next
     * turn of the loop), or nothing could be started (evaluate with what there is). */
    if (attached > 0 || started > 0) {
        (void)uv_timer_start(&job->yield, pump_later_cb, 0, 0);
        return;
    }
    evaluate_after_wal(job);
}

static void listed_cb(const struct aws_error *err, struct s3_listing *l, void *arg);

/* Lists basebackups_005/ with BACKUPS_LIST_DELIMITER, or "/" on a store that refused it. */
static int start_listing(struct bk_job *job)
{
    const struct walg_target *t = &job->ws->target;
    struct s3_list_opts o = {0};
    char *base = *t->root ? xasprintf("%s/%s", t->root, BACKUPS_DIR) : xstrdup(BACKUPS_DIR);
    int rc;

    job->delimiter = list_mode(job->run)->slash_only ? "/" : BACKUPS_LIST_DELIMITER;
    o.prefix = base;
    o.delimiter = job->delimiter;
    job->inflight = 1;
    rc = s3_list(job->ws->client, &o, listed_cb, job, &job->list_req);
    free(base);
    if (rc < 0)
        job->inflight = 0;
    return rc;
}

/* Whether err is a store refusing a delimiter other than "/" (S3 itself takes any string; some
 * S3-compatible stores answer 501 NotImplemented or 400 InvalidArgument). */
static bool delimiter_refused(const struct aws_error *err)
{
    return err->http_status == 501 || strcmp(err->code, "NotImplemented") == 0 ||
           (err->http_status == 400 && strcmp(err->code, "InvalidArgument") == 0);
}

static void listed_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct bk_job *job = arg;
    const struct walg_target *t = &job->ws->target;
    char *base = *t->root ? xasprintf("%s/%s", t->root, BACKUPS_DIR) : xstrdup(BACKUPS_DIR);

    job->inflight--;
    job->reqs = NULL;
    if (job->run->cancelled) {
        free(base);
        job_finish(job);
        return;
    }
    if (err && strcmp(job->delimiter, "/") != 0 && delimiter_refused(err)) {
        struct list_mode *m = list_mode(job->run);

        m->slash_only = true;
        util_copy_cut(m->why, sizeof(m->why), err->summary);
        log_info("backups",
                 "the store refused the delimiter %s (%s): basebackups_005/ is listed with \"/\" "
                 "from now on, and metadata.json is revalidated by age",
                 BACKUPS_LIST_DELIMITER, m->why);
        free(base);
        if (start_listing(job) < 0) {
            check_result_set(&job->res, VERDICT_UNKNOWN, "could not start the S3 listing");
            job_finish(job);
        }
        return;
    }
    if (err) {
        check_result_set(&job->res, walg_s3_error_verdict(err), "%s", err->summary);
        check_result_cause(&job->res, walg_s3_error_cause(err));
        json_object_set_new(job->res.details, "prefix", json_string(t->prefix));
        json_object_set_new(
            job->res.details, "error",
            json_pack("{s:s, s:i, s:s, s:s}", "kind", aws_error_kind_name(err->kind), "http_status",
                      (int)err->http_status, "code", err->code, "request_id", err->request_id));
        free(base);
        job_finish(job);
        return;
    }
    if (backups_list_build(base, l->objects, l->n_objects, (const char *const *)l->prefixes,
                           l->n_prefixes, &job->list) < 0) {
        check_result_set(&job->res, VERDICT_UNKNOWN, "could not read the listing of %s", base);
        free(base);
        job_finish(job);
        return;
    }
    free(base);
    if (strcmp(job->delimiter, "/") != 0)
        backups_list_set_metadata_listed(job->list, job->run->now_s);
    pump(job);
}

static void opened_cb(struct check_run *run, struct walg_s3 *ws, bool cancelled, void *arg)
{
    struct bk_job *job = arg;
    struct s3_stats st;

    job->ws = ws;
    if (cancelled) {
        check_result_set(&job->res, VERDICT_UNKNOWN, "the backups check was cancelled");
        job_finish(job);
        return;
    }
    if (!ws->client) {
        check_result_set(&job->res, ws->error_verdict,
                         "cannot look for backups: %s; the walg_env check says what to fix",
                         ws->error);
        check_result_cause(&job->res, CAUSE_BACKUPS_S3_CREDENTIALS);
        job_finish(job);
        return;
    }
    s3_client_stats(ws->client, &st);
    job->requests_before = st.requests;
    if (start_listing(job) < 0) {
        check_result_set(&job->res, VERDICT_UNKNOWN, "could not start the S3 listing");
        job_finish(job);
        return;
    }
    (void)run;
}

static void backups_start(struct check_run *run)
{
    struct bk_job *job = xcalloc(1, sizeof(*job));

    job->run = run;
    check_result_init(&job->res);
    uv_timer_init(run->loop, &job->yield);
    job->yield.data = job;
    run->state = job;
    walg_s3_open(run, opened_cb, job);
}

/* The deadline passed or the agent stops: drop the requests in flight and end the run. */
static void backups_cancel(struct check_run *run)
{
    struct bk_job *job = run->state;

    if (!job || !job->ws || !job->ws->client)
        return; /* still resolving on the thread pool: opened_cb() sees run->cancelled */
    if (!job->list && job->inflight == 1) {
        s3_cancel(job->list_req);
        job->inflight = 0;
        check_result_set(&job->res, VERDICT_UNKNOWN, "the S3 listing did not finish in time");
        job_finish(job);
        return;
    }
    if (job->wal_scanning) {
        walscan_cancel(wal_scan(job->run));
        job->wal_scanning = false;
        check_result_set(&job->res, VERDICT_UNKNOWN, "the WAL listing did not finish in time");
        job_finish(job);
        return;
    }
    while (job->reqs) {
        struct bk_req *r = job->reqs;

        s3_cancel(r->req);
        req_unlink(job, r);
    }
    check_result_set(&job->res, VERDICT_UNKNOWN, "the S3 requests did not finish in time");
    job_finish(job);
}

const struct check_def check_backups = {
    .name = "backups",
    .start = backups_start,
    .cancel = backups_cancel,
};

/* walscan.c - the incremental listing of wal_005/ behind the backups check (see walscan.h).
 * Its state lives in a struct walscan_keep that the check registry keeps (check_run_kept); must
 * not evaluate. */
#include "walscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define PAGE_SIZE 1000

struct walscan {
    char *root;   /* the target the chain belongs to */
    char *prefix; /* "<root>/wal_005/" */
    struct walchain *chain;
    char *last_key;   /* the newest key seen: start-after of the next page */
    bool complete;    /* the listing reached the end once */
    uint64_t objects; /* listed so far */
    uint64_t pages;
    uint64_t runs;
    char error[512]; /* the last listing error, "" */
    /* the run in flight */
    struct s3_client *client;
    struct s3_request *req;
    walscan_fn cb;
    void *arg;
    int64_t now_s;
    struct walchain_gap recheck[WALSCAN_RECHECK_MAX];
    size_t n_recheck, next_recheck;
    /* The sweep: a second listing from the start into a fresh chain, which replaces the chain
     * when it reaches the end, so that deleted segments leave it (see walscan.h). */
    struct walchain *fresh;                /* NULL when no sweep is under way */
    char *sweep_key;                       /* start-after of its next page */
    int64_t sweep_started_s, sweep_done_s; /* WALCHAIN_NO_TIME: never */
    uint64_t sweeps;                       /* completed */
    int64_t sweep_s;                       /* the interval, from the caller */
    bool run_failed;                       /* a request of the run in flight failed */
    unsigned failed_runs;                  /* runs in a row with a failed request */
    int64_t sweep_dropped;                 /* segments the last sweep no longer found */
};

struct walscan_keep {
    struct walscan *scan; /* NULL before the first run and after a restart of the chain */
};

struct walscan_keep *walscan_keep_new(void)
{
    return xcalloc(1, sizeof(struct walscan_keep));
}

static void reset(struct walscan_keep *k)
{
    if (!k->scan)
        return;
    if (k->scan->req)
        s3_cancel(k->scan->req);
    walchain_free(k->scan->chain);
    walchain_free(k->scan->fresh);
    free(k->scan->sweep_key);
    free(k->scan->root);
    free(k->scan->prefix);
    free(k->scan->last_key);
    free(k->scan);
    k->scan = NULL;
}

void walscan_keep_free(void *p)
{
    struct walscan_keep *k = p;

    reset(k);
    free(k);
}

static void add_to(struct walscan_keep *k, struct walchain *chain, const struct s3_listing *l,
                   bool count)
{
    size_t plen = strlen(k->scan->prefix);

    for (size_t i = 0; i < l->n_objects; i++) {
        const struct s3_object *o = &l->objects[i];

        if (strncmp(o->key, k->scan->prefix, plen) != 0)
            continue;
        (void)walchain_add(chain, o->key + plen, o->mtime_s);
    }
    if (count) {
        k->scan->objects += l->n_objects;
        k->scan->pages += l->pages;
    }
}

static void add_objects(struct walscan_keep *k, const struct s3_listing *l)
{
    add_to(k, k->scan->chain, l, true);
}

static void next_step(struct walscan_keep *k);
static int sweep_step(struct walscan_keep *k);

static void fail(struct walscan_keep *k, const struct aws_error *err)
{
    util_copy_cut(k->scan->error, sizeof(k->scan->error), err->summary);
    k->scan->run_failed = true;
}

static void done(struct walscan_keep *k)
{
    walscan_fn cb = k->scan->cb;
    void *arg = k->scan->arg;

    k->scan->req = NULL;
    k->scan->cb = NULL;
    k->scan->client = NULL;
    k->scan->failed_runs = k->scan->run_failed ? k->scan->failed_runs + 1 : 0;
    cb(arg);
}

static void recheck_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct walscan_keep *k = arg;

    k->scan->req = NULL;
    if (err) {
        fail(k, err);
    } else {
        add_objects(k, l);
        /* a late segment below the sweep's position: the sweep has passed it */
        if (k->scan->fresh)
            add_to(k, k->scan->fresh, l, false);
    }
    next_step(k);
}

static size_t segments_of(const struct walchain *c)
{
    struct walchain_stats st;

    walchain_stats(c, &st);
    return st.segments;
}

/* The sweep reached the end: its chain is what S3 holds now, and replaces the chain. */
static void sweep_finish(struct walscan_keep *k)
{
    struct walscan *w = k->scan;
    size_t before = segments_of(w->chain), after = segments_of(w->fresh);

    w->sweep_dropped = before > after ? (int64_t)(before - after) : 0;
    if (w->sweep_dropped > 0)
        log_info("backups",
                 "the WAL sweep no longer finds %lld segment(s) listed before: deleted from %s, "
                 "they leave the chain",
                 (long long)w->sweep_dropped, w->prefix);
    walchain_free(w->chain);
    w->chain = w->fresh;
    w->fresh = NULL;
    if (w->sweep_key) {
        free(w->last_key);
        w->last_key = w->sweep_key;
        w->sweep_key = NULL;
    }
    w->sweep_done_s = w->now_s;
    w->sweeps++;
}

static void sweep_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct walscan_keep *k = arg;
    struct walscan *w = k->scan;

    w->req = NULL;
    if (!w->fresh) { /* not possible: the sweep is only dropped between runs */
        done(k);
        return;
    }
    add_to(k, w->fresh, l, true);
    if (l->n_objects > 0) {
        free(w->sweep_key);
        w->sweep_key = xstrdup(l->objects[l->n_objects - 1].key);
    }
    if (err)
        fail(k, err);
    else if (!l->truncated)
        sweep_finish(k);
    done(k);
}

/* Whether a sweep is under way or due: WALSCAN_SWEEP_S after the last one ended (the cold
 * listing counts as one). */
static bool sweep_due(const struct walscan *w)
{
    if (!w->complete)
        return false;
    if (w->fresh)
        return true;
    return w->sweep_done_s != WALCHAIN_NO_TIME && w->now_s >= w->sweep_done_s &&
           w->now_s - w->sweep_done_s >= w->sweep_s;
}

/* Lists the next pages of the sweep, starting one if it is due. 0: a request is in flight. */
static int sweep_step(struct walscan_keep *k)
{
    struct walscan *w = k->scan;
    struct s3_list_opts o = {0};

    if (!sweep_due(w))
        return -1;
    if (!w->fresh) {
        w->fresh = walchain_new(walchain_seg_size(w->chain));
        free(w->sweep_key);
        w->sweep_key = NULL;
        w->sweep_started_s = w->now_s;
    }
    o.prefix = w->prefix;
    o.start_after = w->sweep_key;
    o.page_size = PAGE_SIZE;
    o.max_pages = WALSCAN_SWEEP_PAGES_PER_RUN;
    o.max_objects = (size_t)PAGE_SIZE * WALSCAN_SWEEP_PAGES_PER_RUN;
    return s3_list(w->client, &o, sweep_cb, k, &w->req) == 0 ? 0 : -1;
}

/* One short page at each young gap, then the sweep's pages, then done. */
static void next_step(struct walscan_keep *k)
{
    while (k->scan->next_recheck < k->scan->n_recheck) {
        const struct walchain_gap *g = &k->scan->recheck[k->scan->next_recheck++];
        char name[WALCHAIN_NAME_LEN + 1];
        char *after;
        struct s3_list_opts o = {.prefix = k->scan->prefix, .page_size = 20, .max_pages = 1};
        int rc;

        /* keys >= the first missing segment's name: "<name>.lz4" sorts after "<name>" */
        walchain_segment_name(g->tli, g->first, walchain_seg_size(k->scan->chain), name);
        after = xasprintf("%s%s", k->scan->prefix, name);
        o.start_after = after;
        rc = s3_list(k->scan->client, &o, recheck_cb, k, &k->scan->req);
        free(after);
        if (rc == 0)
            return;
    }
    if (sweep_step(k) == 0)
        return;
    done(k);
}

static void listed_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct walscan_keep *k = arg;

    k->scan->req = NULL;
    add_objects(k, l);
    if (l->n_objects > 0) {
        free(k->scan->last_key);
        k->scan->last_key = xstrdup(l->objects[l->n_objects - 1].key);
    }
    if (err) {
        fail(k, err);
        done(k);
        return;
    }
    k->scan->error[0] = '\0';
    if (!l->truncated && !k->scan->complete) {
        k->scan->complete = true;
        k->scan->sweep_done_s = k->scan->now_s; /* the cold listing was a sweep */
    }
    k->scan->n_recheck = k->scan->next_recheck = 0;
    if (k->scan->complete) {
        struct walchain_gap g[64];
        size_t n = walchain_gaps(k->scan->chain, g, ARRAY_LEN(g));

        for (size_t i = 0; i < n && i < ARRAY_LEN(g) && k->scan->n_recheck < WALSCAN_RECHECK_MAX;
             i++) {
            if (g[i].after_mtime_s != WALCHAIN_NO_TIME && k->scan->now_s >= g[i].after_mtime_s &&
                k->scan->now_s - g[i].after_mtime_s < WALSCAN_RECHECK_S)
                k->scan->recheck[k->scan->n_recheck++] = g[i];
        }
    }
    next_step(k);
}

int walscan_run(struct walscan_keep *k, struct s3_client *client, const char *root,
                uint64_t seg_size, int64_t now_s, int64_t sweep_s, walscan_fn cb, void *arg)
{
    struct s3_list_opts o = {0};
    int rc;

    if (k->scan && k->scan->req)
        return -EBUSY;
    if (k->scan && (strcmp(k->scan->root, root) != 0 ||
                    (seg_size && seg_size != walchain_seg_size(k->scan->chain)))) {
        log_info("backups", "the WAL chain starts over: %s",
                 strcmp(k->scan->root, root) != 0 ? "the prefix changed"
                                                  : "the segment size changed");
        reset(k);
    }
    if (!k->scan) {
        k->scan = xcalloc(1, sizeof(*k->scan));
        k->scan->root = xstrdup(root);
        k->scan->prefix = *root ? xasprintf("%s/%s", root, WALCHAIN_DIR) : xstrdup(WALCHAIN_DIR);
        k->scan->chain = walchain_new(seg_size);
        k->scan->sweep_started_s = k->scan->sweep_done_s = WALCHAIN_NO_TIME;
    }
    k->scan->client = client;
    k->scan->cb = cb;
    k->scan->arg = arg;
    k->scan->now_s = now_s;
    k->scan->sweep_s = sweep_s > 0 ? sweep_s : WALSCAN_SWEEP_S;
    k->scan->run_failed = false;
    k->scan->runs++;
    o.prefix = k->scan->prefix;
    o.start_after = k->scan->last_key;
    o.page_size = PAGE_SIZE;
    o.max_pages = WALSCAN_PAGES_PER_RUN;
    o.max_objects = (size_t)PAGE_SIZE * WALSCAN_PAGES_PER_RUN;
    rc = s3_list(client, &o, listed_cb, k, &k->scan->req);
    if (rc < 0) {
        k->scan->cb = NULL;
        k->scan->client = NULL;
        return rc;
    }
    return 0;
}

void walscan_cancel(struct walscan_keep *k)
{
    if (!k->scan || !k->scan->req)
        return;
    s3_cancel(k->scan->req);
    k->scan->req = NULL;
    k->scan->cb = NULL;
    k->scan->client = NULL;
}

const char *walscan_failing(const struct walscan_keep *k, unsigned *runs)
{
    *runs = k->scan ? k->scan->failed_runs : 0;
    return *runs ? k->scan->error : NULL;
}

const struct walchain *walscan_chain(const struct walscan_keep *k, bool *complete)
{
    if (complete)
        *complete = k->scan && k->scan->complete;
    return k->scan ? k->scan->chain : NULL;
}

json_t *walscan_details(const struct walscan_keep *k)
{
    const struct walscan *w = k->scan;
    json_t *sweep;

    if (!w)
        return json_null();
    sweep = json_pack("{s:b, s:o, s:o, s:I, s:I}", "in_progress", w->fresh != NULL, "started_at",
                      walchain_time_json(w->sweep_started_s), "completed_at",
                      walchain_time_json(w->sweep_done_s), "completed", (json_int_t)w->sweeps,
                      "dropped_segments", (json_int_t)w->sweep_dropped);
    return json_pack("{s:I, s:I, s:I, s:b, s:o, s:o}", "objects", (json_int_t)w->objects, "pages",
                     (json_int_t)w->pages, "runs", (json_int_t)w->runs, "complete",
                     (int)w->complete, "error", *w->error ? json_string(w->error) : json_null(),
                     "sweep", sweep);
}

static int cmp_backup(const void *a, const void *b)
{
    const struct walchain_backup *x = a, *y = b;

    if (x->start_lsn != y->start_lsn)
        return x->start_lsn < y->start_lsn ? -1 : 1;
    return x->tli < y->tli ? -1 : x->tli > y->tli;
}

static bool hex8(const char *s, uint32_t *out)
{
    char buf[9];
    char *end;

    memcpy(buf, s, 8);
    buf[8] = '\0';
    *out = (uint32_t)strtoul(buf, &end, 16);
    return *end == '\0';
}

size_t walscan_backups(const struct backups_list *l, struct walchain_backup **out,
                       uint64_t *seg_size)
{
    struct walchain_backup *v = NULL;
    size_t n = 0;
    uint64_t size = *seg_size ? *seg_size : WALCHAIN_SEG_SIZE_DEFAULT;
    bool size_known = false;

    *out = NULL;
    if (!l)
        return 0;
    v = l->n ? xcalloc(l->n, sizeof(*v)) : NULL;
    for (size_t i = 0; i < l->n; i++) {
        const struct backups_backup *b = &l->items[i];
        const struct backups_sentinel *s = b->sentinel;
        const struct backups_metadata *m = b->metadata;
        struct walchain_backup *w = &v[n];
        uint32_t tli, log, seg;
        bool has_start = false;

        if (!b->sentinel_key || strlen(b->name) < 5 + 24 || !hex8(b->name + 5, &tli) ||
            !hex8(b->name + 13, &log) || !hex8(b->name + 21, &seg))
            continue;
        w->name = b->name;
        w->tli = tli;
        w->start_time_s = w->finish_time_s = WALCHAIN_NO_TIME;
        if (s && s->has_start_lsn) {
            w->start_lsn = s->start_lsn;
            has_start = true;
        } else if (m && m->has_start_lsn) {
            w->start_lsn = m->start_lsn;
            has_start = true;
        }
        if (s && s->has_finish_lsn)
            w->finish_lsn = s->finish_lsn;
        else if (m && m->has_finish_lsn)
            w->finish_lsn = m->finish_lsn;
        if (s && s->start_time_s != BACKUPS_NO_TIME)
            w->start_time_s = s->start_time_s;
        else if (m && m->start_time_s != BACKUPS_NO_TIME)
            w->start_time_s = m->start_time_s;
        if (s && s->finish_time_s != BACKUPS_NO_TIME)
            w->finish_time_s = s->finish_time_s;
        else if (m && m->finish_time_s != BACKUPS_NO_TIME)
            w->finish_time_s = m->finish_time_s;
        else
            w->finish_time_s = b->sentinel_mtime_s;
        if (has_start && !size_known) {
            uint64_t inferred = walchain_infer_seg_size(log, seg, w->start_lsn);

            if (inferred) {
                size = inferred;
                size_known = true;
            }
        }
        if (!has_start) {
            uint64_t segno = walchain_segno(log, seg, size);

            if (segno == UINT64_MAX)
                continue;
            w->start_lsn = segno * size;
        }
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_backup);
    if (size_known)
        *seg_size = size;
    *out = v;
    return n;
}

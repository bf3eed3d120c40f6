/* check.c - owns the per-check timers, single-flight state and deadlines, and the hand-off of
 * results to status.c. It does not know what any check verifies. Only the loop thread touches
 * this state; worker threads get the run's immutable config and hand a result back in
 * after_work. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "causes.h"
#include "log.h"
#include "status.h"
#include "util.h"

struct worker_job {
    uv_work_t req;
    struct check_run *run;
    check_work_fn fn; /* check_run_in_worker: ends the run */
    struct check_result res;
    void (*work)(void *arg); /* check_run_work: continues on the loop */
    check_then_fn then;
    void *arg;
};

#define CHECKS_KEPT_MAX 8 /* modules that keep state across runs */

struct check {
    struct checks *owner;
    const struct check_def *def;
    uv_timer_t tick;
    uv_timer_t deadline;
    bool running;
    bool ran;
    struct check_run *run;
    struct worker_job *job;
    uint64_t started_ns;
    uint64_t bad_logged_ns; /* when a still-bad status was last logged (0: not yet) */
};

struct checks {
    uv_loop_t *loop;
    struct curlm *curlm;
    struct config *cfg;
    int64_t now_override_s;
    bool stopping;
    bool timers_started;  /* daemon mode: results can go stale */
    bool log_transitions; /* daemon mode: the log tells each check's status changes */
    int open_handles;
    unsigned int seed;
    size_t n;
    struct check checks[STATUS_MAX_CHECKS];
    struct kept {
        const void *tag;
        void *ptr;
        void (*free_fn)(void *);
    } kept[CHECKS_KEPT_MAX]; /* check_run_kept(); freed newest first by checks_release() */
    size_t n_kept;
};

static uint64_t jittered(struct checks *cs, uint64_t interval_ms)
{
    uint64_t span = interval_ms / 10;

    if (span == 0)
        return interval_ms;
    return interval_ms - span / 2 + (uint64_t)rand_r(&cs->seed) % (span + 1);
}

/* The causes of a result as "a,b" (empty for none). */
static void causes_text(const struct check_result *res, const char *check, char *out, size_t len)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < CAUSE_COUNT && n + 1 < len; i++) {
        if (res->causes[i] && strcmp(cause_catalogue[i].check, check) == 0)
            n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", cause_catalogue[i].id);
    }
}

/* Logs a check's verdict when it changes (info for a recovery to ok, warn for warning/unknown,
 * error for critical), and a status that stays bad again at most once an hour. Called before the
 * result is published, so status_current() still holds the previous one. */
static void log_transition(struct check *c, const struct check_result *res, uint64_t took_ms)
{
    const struct check_snap *prev = status_find(status_current(), c->def->name);
    enum verdict before = prev && prev->has_run ? prev->status : VERDICT_UNKNOWN;
    bool first = !prev || !prev->has_run, changed = first || before != res->status;
    uint64_t now = uv_hrtime();
    enum log_level level = res->status == VERDICT_OK         ? LOG_LEVEL_INFO
                           : res->status == VERDICT_CRITICAL ? LOG_LEVEL_ERROR
                                                             : LOG_LEVEL_WARN;
    char causes[256], msg[96];

    if (!c->owner->log_transitions)
        return;
    if (!changed) {
        if (res->status == VERDICT_OK ||
            (c->bad_logged_ns && now - c->bad_logged_ns < 3600ull * 1000000000ull))
            return;
    }
    c->bad_logged_ns = res->status == VERDICT_OK ? 0 : now;
    causes_text(res, c->def->name, causes, sizeof(causes));
    if (first)
        snprintf(msg, sizeof(msg), "check %s is %s", c->def->name, verdict_name(res->status));
    else if (!changed)
        snprintf(msg, sizeof(msg), "check %s is still %s", c->def->name, verdict_name(res->status));
    else if (res->status == VERDICT_OK)
        snprintf(msg, sizeof(msg), "check %s recovered (was %s)", c->def->name,
                 verdict_name(before));
    else
        snprintf(msg, sizeof(msg), "check %s changed from %s to %s", c->def->name,
                 verdict_name(before), verdict_name(res->status));
    if (causes[0])
        log_fields(level, "check", msg, LOG_S("check", c->def->name),
                   LOG_S("status", verdict_name(res->status)),
                   LOG_S("previous", first ? "none" : verdict_name(before)),
                   LOG_I("duration_ms", took_ms), LOG_S("summary", res->summary),
                   LOG_S("cause", causes));
    else
        log_fields(level, "check", msg, LOG_S("check", c->def->name),
                   LOG_S("status", verdict_name(res->status)),
                   LOG_S("previous", first ? "none" : verdict_name(before)),
                   LOG_I("duration_ms", took_ms), LOG_S("summary", res->summary));
}

static void check_deadline_cb(uv_timer_t *t)
{
    struct check *c = t->data;
    struct check_run *run = c->run;
    struct check_result res;
    uint64_t took_ms;

    if (!run || run->abandoned)
        return;
    took_ms = (uv_hrtime() - c->started_ns) / 1000000;
    check_result_init(&res);
    check_result_set(&res, VERDICT_UNKNOWN,
                     "the %s check did not finish within %llus ([agent] check_timeout); the "
                     "last attempt is still being cancelled, see the agent log",
                     c->def->name, (unsigned long long)(run->cfg->check_timeout_ms / 1000));
    log_transition(c, &res, took_ms);
    status_publish(c->def->name, &res, run->now_s, took_ms);
    check_result_cleanup(&res);
    log_fields(LOG_LEVEL_WARN, "check", "check deadline passed", LOG_S("check", c->def->name),
               LOG_I("duration_ms", took_ms));
    run->abandoned = true;
    c->ran = true;
    run->cancelled = true;
    if (c->job)
        (void)uv_cancel((uv_req_t *)&c->job->req);
    else if (c->def->cancel)
        c->def->cancel(run);
}

static void check_start(struct check *c)
{
    struct checks *cs = c->owner;
    struct check_run *run;

    if (cs->stopping)
        return;
    if (c->running) {
        status_count_overlap(c->def->name);
        log_fields(LOG_LEVEL_WARN, "check", "check still running, tick skipped",
                   LOG_S("check", c->def->name));
        return;
    }
    run = xcalloc(1, sizeof(*run));
    run->loop = cs->loop;
    run->cfg = config_ref(cs->cfg);
    run->now_s = cs->now_override_s ? cs->now_override_s : util_now_s();
    run->def = c->def;
    run->curlm = cs->curlm;
    run->check = c;
    c->run = run;
    c->running = true;
    c->started_ns = uv_hrtime();
    /* Cannot fail: the timer is initialised and not closing (we are not stopping). */
    (void)uv_timer_start(&c->deadline, check_deadline_cb, run->cfg->check_timeout_ms, 0);
    log_debug("check", "check=%s start", c->def->name);
    c->def->start(run);
}

static void check_tick_cb(uv_timer_t *t)
{
    struct check *c = t->data;

    check_start(c);
    if (!c->owner->stopping)
        (void)uv_timer_start(&c->tick, check_tick_cb,
                             jittered(c->owner, c->owner->cfg->interval_ms), 0);
}

uint64_t check_run_session_ms(const struct check_run *run)
{
    uint64_t t = run->cfg->check_timeout_ms;

    return t > 1000 ? t - 500 : t;
}

void check_run_done(struct check_run *run, struct check_result *res)
{
    struct check *c = run->check;
    uint64_t took_ms = (uv_hrtime() - c->started_ns) / 1000000;

    if (!run->abandoned) {
        int64_t at = c->owner->now_override_s ? c->owner->now_override_s : util_now_s();

        if (!uv_is_closing((uv_handle_t *)&c->deadline))
            (void)uv_timer_stop(&c->deadline);
        log_debug("check", "check=%s status=%s duration_ms=%llu", c->def->name,
                  verdict_name(res->status), (unsigned long long)took_ms);
        log_transition(c, res, took_ms);
        status_publish(c->def->name, res, at, took_ms);
    } else {
        log_fields(LOG_LEVEL_INFO, "check", "late result dropped", LOG_S("check", c->def->name),
                   LOG_S("status", verdict_name(res->status)), LOG_I("duration_ms", took_ms));
    }
    check_result_cleanup(res);
    c->running = false;
    c->ran = true;
    c->run = NULL;
    config_unref(run->cfg);
    free(run);
}

static void worker_work_cb(uv_work_t *req)
{
    struct worker_job *job = req->data;

    if (job->work)
        job->work(job->arg);
    else
        job->fn(job->run->cfg, job->run->now_s, &job->res);
}

static void worker_after_cb(uv_work_t *req, int status)
{
    struct worker_job *job = req->data;
    struct check_run *run = job->run;

    run->check->job = NULL;
    if (job->then) {
        check_then_fn then = job->then;
        void *arg = job->arg;

        check_result_cleanup(&job->res);
        free(job);
        then(run, arg, status == UV_ECANCELED || run->cancelled);
        return;
    }
    if (status == UV_ECANCELED)
        check_result_set(&job->res, VERDICT_UNKNOWN, "the %s check was cancelled before it ran",
                         run->def->name);
    check_run_done(run, &job->res);
    free(job);
}

void check_run_in_worker(struct check_run *run, check_work_fn fn)
{
    struct worker_job *job = xcalloc(1, sizeof(*job));
    int rc;

    job->run = run;
    job->fn = fn;
    job->req.data = job;
    check_result_init(&job->res);
    rc = uv_queue_work(run->loop, &job->req, worker_work_cb, worker_after_cb);
    if (rc < 0) {
        check_result_set(&job->res, VERDICT_UNKNOWN, "could not queue the %s check: %s",
                         run->def->name, uv_strerror(rc));
        check_run_done(run, &job->res);
        free(job);
        return;
    }
    run->check->job = job;
}

void check_run_work(struct check_run *run, void (*work)(void *arg), check_then_fn then, void *arg)
{
    struct worker_job *job = xcalloc(1, sizeof(*job));
    int rc;

    job->run = run;
    job->work = work;
    job->then = then;
    job->arg = arg;
    job->req.data = job;
    check_result_init(&job->res);
    rc = uv_queue_work(run->loop, &job->req, worker_work_cb, worker_after_cb);
    if (rc < 0) {
        /* Not queued: do the work here (it is short file I/O) rather than fail the run. */
        check_result_cleanup(&job->res);
        free(job);
        work(arg);
        then(run, arg, run->cancelled);
        return;
    }
    run->check->job = job;
}

struct checks *checks_new(uv_loop_t *loop, struct config *cfg, const struct check_def *const *defs,
                          size_t n_defs, int64_t now_override_s)
{
    struct checks *cs = xcalloc(1, sizeof(*cs));
    const char *names[STATUS_MAX_CHECKS];

    cs->loop = loop;
    cs->cfg = config_ref(cfg);
    cs->now_override_s = now_override_s;
    cs->seed = (unsigned int)uv_hrtime();
    for (size_t i = 0; i < n_defs && cs->n < STATUS_MAX_CHECKS; i++) {
        const struct check_def *d = defs[i];
        struct check *c = &cs->checks[cs->n];

        c->owner = cs;
        c->def = d;
        uv_timer_init(loop, &c->tick);
        uv_timer_init(loop, &c->deadline);
        c->tick.data = c;
        c->deadline.data = c;
        cs->open_handles += 2;
        names[cs->n++] = d->name;
    }
    status_init(names, cs->n, util_now_s());
    return cs;
}

void checks_set_curlm(struct checks *cs, struct curlm *cm)
{
    cs->curlm = cm;
}

/* A result older than this many intervals (plus one check_timeout) is reported stale. */
#define STALE_INTERVALS 3

static void set_stale_after(const struct config *cfg)
{
    uint64_t ms = STALE_INTERVALS * cfg->interval_ms + cfg->check_timeout_ms;

    status_set_stale_after((int64_t)((ms + 999) / 1000));
}

void checks_start_timers(struct checks *cs)
{
    set_stale_after(cs->cfg);
    cs->timers_started = true;
    cs->log_transitions = true;
    for (size_t i = 0; i < cs->n; i++) {
        /* Stagger the first runs so that start-up does not open every connection at once. */
        (void)uv_timer_start(&cs->checks[i].tick, check_tick_cb, 1 + 50 * i, 0);
    }
}

void checks_run_once(struct checks *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        check_start(&cs->checks[i]);
}

bool checks_all_done(const struct checks *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->checks[i].running || !cs->checks[i].ran)
            return false;
    }
    return true;
}

void checks_set_config(struct checks *cs, struct config *cfg)
{
    config_unref(cs->cfg);
    cs->cfg = config_ref(cfg);
    for (size_t i = 0; i < cs->n && !cs->stopping; i++) {
        struct check *c = &cs->checks[i];
        uint64_t next = jittered(cs, cfg->interval_ms);

        /* A reload never postpones a due run: only a shorter interval brings the next one
         * forward. (Restarting every timer with a full interval meant that reloads more often
         * than the interval stopped every check.) */
        if (uv_is_active((uv_handle_t *)&c->tick) && next < uv_timer_get_due_in(&c->tick))
            (void)uv_timer_start(&c->tick, check_tick_cb, next, 0);
    }
    if (cs->timers_started)
        set_stale_after(cfg);
}

static void check_handle_closed_cb(uv_handle_t *h)
{
    struct check *c = h->data;

    c->owner->open_handles--;
}

void checks_stop(struct checks *cs)
{
    if (cs->stopping)
        return;
    cs->stopping = true;
    for (size_t i = 0; i < cs->n; i++) {
        struct check *c = &cs->checks[i];

        uv_close((uv_handle_t *)&c->tick, check_handle_closed_cb);
        uv_close((uv_handle_t *)&c->deadline, check_handle_closed_cb);
        if (c->running && c->run && !c->run->cancelled) {
            c->run->cancelled = true;
            if (c->job)
                (void)uv_cancel((uv_req_t *)&c->job->req);
            else if (c->def->cancel)
                c->def->cancel(c->run);
        }
    }
}

bool checks_closed(const struct checks *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->checks[i].running)
            return false;
    }
    return cs->open_handles == 0;
}

void **check_run_kept(struct check_run *run, const void *tag, void (*free_fn)(void *))
{
    struct checks *cs = run->check->owner;

    for (size_t i = 0; i < cs->n_kept; i++) {
        if (cs->kept[i].tag == tag)
            return &cs->kept[i].ptr;
    }
    if (cs->n_kept == CHECKS_KEPT_MAX)
        abort(); /* a programming error: raise CHECKS_KEPT_MAX */
    cs->kept[cs->n_kept] = (struct kept){.tag = tag, .ptr = NULL, .free_fn = free_fn};
    return &cs->kept[cs->n_kept++].ptr;
}

void checks_release(struct checks *cs)
{
    if (!cs)
        return;
    while (cs->n_kept > 0) {
        struct kept *k = &cs->kept[--cs->n_kept];

        if (k->ptr && k->free_fn)
            k->free_fn(k->ptr);
        k->ptr = NULL;
    }
}

void checks_free(struct checks *cs)
{
    if (!cs)
        return;
    checks_release(cs);
    config_unref(cs->cfg);
    free(cs);
}

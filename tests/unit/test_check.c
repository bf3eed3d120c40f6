/* Unit tests of check.c, the check registry, on a real libuv loop with made-up checks: a run that
 * misses its deadline is published as unknown at once and its late result dropped; a tick while
 * the previous run is still going is skipped and counted (single flight); thread-pool runs; a
 * stop cancels what runs and lets the loop close. */
#include "harness.h"

#include <uv.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "status.h"

extern char **environ;

static struct config *test_config(uint64_t interval_ms, uint64_t timeout_ms)
{
    struct config *cfg;
    char err[512];

    assert_int_equal(config_load(NULL, NULL, 0, environ, &cfg, err, sizeof(err)), 0);
    cfg->interval_ms = interval_ms;
    cfg->check_timeout_ms = timeout_ms;
    return cfg;
}

static void finish(struct check_run *run, enum verdict v, const char *summary)
{
    struct check_result r;

    check_result_init(&r);
    check_result_set(&r, v, "%s", summary);
    check_run_done(run, &r);
}

/* A registry of the given checks on a loop of its own. */
struct reg {
    uv_loop_t loop;
    struct config *cfg;
    struct checks *cs;
};

static void reg_open(struct reg *r, const struct check_def *const *defs, size_t n,
                     uint64_t interval_ms, uint64_t timeout_ms, int64_t now_s)
{
    r->cfg = test_config(interval_ms, timeout_ms);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    r->cs = checks_new(&r->loop, r->cfg, defs, n, now_s);
}

/* Runs the loop until the check has published n results; returns its entry. */
static const struct check_snap *reg_run_until(struct reg *r, const char *name, uint64_t n)
{
    const struct check_snap *s = status_find(status_current(), name);

    assert_non_null(s);
    while (s->runs < n) {
        uv_run(&r->loop, UV_RUN_ONCE);
        s = status_find(status_current(), name);
    }
    return s;
}

/* Stops the registry; the loop must then close with no handle left. */
static void reg_close(struct reg *r)
{
    checks_stop(r->cs);
    while (!checks_closed(r->cs))
        uv_run(&r->loop, UV_RUN_ONCE);
    checks_free(r->cs);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    status_shutdown();
    config_unref(r->cfg);
}

/* ---- deadline ------------------------------------------------------------------------------ */

static int stuck_cancels;

static void stuck_start(struct check_run *run)
{
    (void)run; /* never ends by itself */
}

static void stuck_cancel(struct check_run *run)
{
    stuck_cancels++;
    finish(run, VERDICT_OK, "late result"); /* after the deadline: must be dropped */
}

static const struct check_def stuck = {
    .name = "stuck", .start = stuck_start, .cancel = stuck_cancel};

static void test_deadline(void **state)
{
    const struct check_def *defs[] = {&stuck};
    const struct check_snap *s;
    struct reg r;

    (void)state;
    stuck_cancels = 0;
    reg_open(&r, defs, 1, 60000, 50, 0);
    checks_run_once(r.cs);
    assert_false(checks_all_done(r.cs));
    while (!checks_all_done(r.cs))
        uv_run(&r.loop, UV_RUN_ONCE);
    assert_int_equal(stuck_cancels, 1);
    s = status_find(status_current(), "stuck");
    assert_int_equal(s->status, VERDICT_UNKNOWN);
    assert_contains(s->summary, "the stuck check did not finish within");
    assert_int_equal(s->runs, 1); /* the late result was dropped */
    reg_close(&r);
}

/* ---- single flight ------------------------------------------------------------------------- */

struct slow {
    uv_timer_t timer;
    struct check_run *run;
};
static struct slow slow_state;

static void slow_done_cb(uv_timer_t *t)
{
    struct slow *s = t->data;
    struct check_run *run = s->run;

    s->run = NULL;
    finish(run, VERDICT_OK, "slow but fine");
}

static void slow_start(struct check_run *run)
{
    slow_state.run = run;
    slow_state.timer.data = &slow_state;
    assert_int_equal(uv_timer_start(&slow_state.timer, slow_done_cb, 150, 0), 0);
}

static void slow_cancel(struct check_run *run)
{
    (void)run;
    uv_timer_stop(&slow_state.timer);
    slow_done_cb(&slow_state.timer);
}

static const struct check_def slow = {.name = "slow", .start = slow_start, .cancel = slow_cancel};

static void test_single_flight(void **state)
{
    const struct check_def *defs[] = {&slow};
    const struct check_snap *s;
    struct reg r;

    (void)state;
    reg_open(&r, defs, 1, 20, 5000, 0);
    uv_timer_init(&r.loop, &slow_state.timer);
    checks_start_timers(r.cs);
    s = reg_run_until(&r, "slow", 1);
    assert_int_equal(s->status, VERDICT_OK);
    assert_string_equal(s->summary, "slow but fine");
    /* ticks every ~20 ms during a 150 ms run: skipped, counted, never a second run at once */
    assert_true(s->overlaps >= 2);
    uv_close((uv_handle_t *)&slow_state.timer, NULL);
    reg_close(&r);
}

/* ---- thread pool and stop ------------------------------------------------------------------ */

static void pool_work(const struct config *cfg, int64_t now_s, struct check_result *out)
{
    (void)cfg;
    check_result_set(out, VERDICT_WARNING, "from the pool at %lld", (long long)now_s);
}

static void pool_start(struct check_run *run)
{
    check_run_in_worker(run, pool_work);
}

static const struct check_def pool = {.name = "pool", .start = pool_start};

static void test_worker_and_now(void **state)
{
    const struct check_def *defs[] = {&pool, &stuck};
    const struct check_snap *s;
    struct reg r;

    (void)state;
    stuck_cancels = 0;
    reg_open(&r, defs, 2, 60000, 60000, 1741599000);
    assert_int_equal(status_current()->n_checks, 2);
    checks_run_once(r.cs);
    s = reg_run_until(&r, "pool", 1);
    assert_int_equal(s->status, VERDICT_WARNING);
    assert_string_equal(s->summary, "from the pool at 1741599000");
    assert_int_equal(s->checked_at_s, 1741599000);
    /* stuck is still running: the stop cancels it, and the loop still closes cleanly */
    assert_false(checks_all_done(r.cs));
    reg_close(&r);
    assert_int_equal(stuck_cancels, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_worker_and_now),
    };

    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

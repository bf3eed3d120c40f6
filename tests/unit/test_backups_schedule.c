/* Unit tests of the backups verdict against the runbook's own schedule: BACKUP_SCHEDULE
 * "*\/10 * * * *" with BACKUP_NUM_TO_RETAIN=14, evaluated with the real cron module the way
 * check_backups.c calls it (slot attribution, the default grace, a schedule that never fires, and
 * the ~2,016 backups Spilo's retention keeps). */
#include "harness.h"

#include <time.h>

#include "backups.h"
#include "schedule.h"
#include "util.h"

#define BASE   "spilo/registry-harbor-db/wal/14/basebackups_005/"
#define PREFIX "s3://acme-pg/spilo/registry-harbor-db/wal/14"
/* 2026-12-01T00:00:00Z */
#define DAY0 INT64_C(1796083200)

struct gen {
    struct backups_list *l;
    size_t n;
};

static int64_t count_slots(void *ctx, int64_t from_s, int64_t to_s)
{
    int64_t n = 0, t = from_s;

    while (n < 100000 && (t = cron_next(ctx, t)) >= 0 && t <= to_s)
        n++;
    return n;
}

/* One WAL-G backup per slot of c in [from, to], started 2 s after the slot and finished 95 s
 * later (the 09:00:02 .. 09:01:37), sentinel and metadata.json attached. */
static void gen_backups(struct gen *g, const struct cron_schedule *c, int64_t from, int64_t to)
{
    size_t cap = 4096, n = 0;
    struct s3_object *objs = xcalloc(cap, sizeof(*objs));
    char **prefixes = xcalloc(cap, sizeof(char *));
    int64_t *starts = xcalloc(cap, sizeof(int64_t));
    char err[256];

    for (int64_t t = cron_next(c, from - 1); t >= 0 && t <= to && n < cap; t = cron_next(c, t)) {
        char name[64];

        snprintf(name, sizeof(name), "base_0000000100000%03X000000%02X", (unsigned)(n >> 8),
                 (unsigned)(n & 0xff));
        objs[n].key = xasprintf("%s%s%s", BASE, name, BACKUPS_SENTINEL_SUFFIX);
        objs[n].size = 400;
        objs[n].mtime_s = t + 97;
        prefixes[n] = xasprintf("%s%s/", BASE, name);
        starts[n] = t + 2;
        n++;
    }
    assert_int_equal(backups_list_build(BASE, objs, n, (const char *const *)prefixes, n, &g->l), 0);
    for (size_t i = 0; i < n; i++) {
        char st[32], fi[32], *s, *m, *key;

        util_format_rfc3339(starts[i], st, sizeof(st));
        util_format_rfc3339(starts[i] + 95, fi, sizeof(fi));
        s = xasprintf(
            "{\"LSN\":%zu,\"PgVersion\":140010,\"FinishLSN\":%zu,\"UncompressedSize\":2000,"
            "\"CompressedSize\":1000,\"Spec\":null,\"Version\":2,\"StartTime\":\"%s\","
            "\"FinishTime\":\"%s\",\"Hostname\":\"harbor-db-0\",\"IsPermanent\":false}",
            (i + 1) << 24, ((i + 1) << 24) + 4096, st, fi);
        assert_int_equal(backups_list_attach(g->l, objs[i].key, s, strlen(s), err, sizeof(err)), 0);
        key = xasprintf("%.*smetadata.json", (int)strlen(prefixes[i]), prefixes[i]);
        m = xasprintf("{\"start_time\":\"%s\",\"finish_time\":\"%s\",\"is_permanent\":false}", st,
                      fi);
        assert_int_equal(backups_list_attach(g->l, key, m, strlen(m), err, sizeof(err)), 0);
        free(s);
        free(m);
        free(key);
        free(objs[i].key);
        free(prefixes[i]);
    }
    g->n = n;
    free(objs);
    free(prefixes);
    free(starts);
}

/* What check_backups.c does with a parsed schedule and no [backups] grace. */
static void input_for(struct backups_input *in, struct cron_schedule *c, const char *expr,
                      const struct backups_list *l, int64_t now)
{
    char err[200];

    assert_int_equal(cron_parse(expr, c, err, sizeof(err)), 0);
    backups_input_init(in);
    in->prefix = PREFIX;
    in->list = l;
    in->now_s = now;
    in->schedule = expr;
    in->previous_scheduled_s = cron_prev(c, now);
    in->next_scheduled_s = cron_next(c, now);
    in->grace_s = cron_default_grace_s(c, now);
    in->grace_from_schedule = true;
    in->due_slot_s = cron_prev(c, now - in->grace_s);
    in->count_slots = count_slots;
    in->count_slots_ctx = c;
    in->slot_of = cron_slot_of;
    in->schedule_parsed = true;
    in->retain = 14;
    in->role = "leader";
}

static void test_default_grace(void **state)
{
    struct cron_schedule c;
    char err[200];

    (void)state;
    assert_int_equal(cron_parse("0 1 * * *", &c, err, sizeof(err)), 0);
    assert_int_equal(cron_default_grace_s(&c, DAY0 + 5 * 3600), 3600);
    assert_int_equal(cron_parse("0 * * * *", &c, err, sizeof(err)), 0);
    assert_int_equal(cron_default_grace_s(&c, DAY0 + 5 * 3600 + 60), 1800);
    assert_int_equal(cron_parse("*/10 * * * *", &c, err, sizeof(err)), 0);
    assert_int_equal(cron_default_grace_s(&c, DAY0 + 9 * 3600 + 41 * 60), 300);
    /* uneven: the shorter gap counts, whichever side of it now is */
    assert_int_equal(cron_parse("0,5 * * * *", &c, err, sizeof(err)), 0);
    assert_int_equal(cron_default_grace_s(&c, DAY0 + 9 * 3600 + 30 * 60), 150);
    assert_int_equal(cron_default_grace_s(&c, DAY0 + 9 * 3600 + 3 * 60), 150);
    /* never fires: the old default */
    assert_int_equal(cron_parse("0 0 31 2 *", &c, err, sizeof(err)), 0);
    assert_int_equal(cron_default_grace_s(&c, DAY0), 3600);
}

/* A backup belongs to the slot it was started for: cron starts postgres_backup.sh at the slot
 * (configure_spilo.py write_crontab :1033-1085 4.0-p3), the sentinel lands when it ends. */
static void test_slot_attribution(void **state)
{
    struct gen g;
    struct cron_schedule c;
    struct backups_input in;
    struct check_result r;
    int64_t now = DAY0 + 9 * 3600 + 10 * 60 + 30; /* 09:10:30, the 09:10 backup still running */

    (void)state;
    assert_int_equal(cron_parse("*/10 * * * *", &c, NULL, 0), 0);
    gen_backups(&g, &c, DAY0 + 6 * 3600, DAY0 + 9 * 3600);
    input_for(&in, &c, "*/10 * * * *", g.l, now);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_OK);
    if (!strstr(r.summary, "(slot 09:00 UTC)"))
        fail_msg("the 09:00:02 backup is not attributed to slot 09:00: %s", r.summary);
    check_result_cleanup(&r);
    /* with a 1 h grace the slots in reach are 09:10 and 08:10: still 09:00, not 08:10 */
    in.grace_s = 3600;
    in.grace_from_schedule = false;
    in.due_slot_s = cron_prev(&c, now - in.grace_s);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_OK);
    if (!strstr(r.summary, "(slot 09:00 UTC)"))
        fail_msg("with 1h grace: %s", r.summary);
    check_result_cleanup(&r);
    backups_list_free(g.l);
}

/* Four missed slots in a row of a 10-minute schedule are not ok (with the old 1 h default the
 * first six were hidden). */
static void test_missed_slots(void **state)
{
    struct gen g;
    struct cron_schedule c;
    struct backups_input in;
    struct check_result r;

    (void)state;
    assert_int_equal(cron_parse("*/10 * * * *", &c, NULL, 0), 0);
    gen_backups(&g, &c, DAY0 + 6 * 3600, DAY0 + 9 * 3600);
    /* 09:41: the 09:10, 09:20, 09:30 and 09:40 runs left nothing */
    input_for(&in, &c, "*/10 * * * *", g.l, DAY0 + 9 * 3600 + 41 * 60);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "no base backup landed"));
    assert_int_equal(json_integer_value(json_object_get(r.details, "grace_seconds")), 300);
    assert_string_equal(json_string_value(json_object_get(r.details, "grace_from")), "schedule");
    check_result_cleanup(&r);
    /* one slot late, within the 5 minute grace: ok */
    input_for(&in, &c, "*/10 * * * *", g.l, DAY0 + 9 * 3600 + 13 * 60);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_OK);
    check_result_cleanup(&r);
    /* [backups] grace stays the override */
    input_for(&in, &c, "*/10 * * * *", g.l, DAY0 + 9 * 3600 + 41 * 60);
    in.grace_s = 3600;
    in.grace_from_schedule = false;
    in.due_slot_s = cron_prev(&c, in.now_s - in.grace_s);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_OK);
    assert_string_equal(json_string_value(json_object_get(r.details, "grace_from")), "config");
    check_result_cleanup(&r);
    backups_list_free(g.l);
}

/* February 31st: cron never starts postgres_backup.sh. */
static void test_never_fires(void **state)
{
    struct gen g;
    struct cron_schedule c, every10;
    struct backups_input in;
    struct check_result r;

    (void)state;
    assert_int_equal(cron_parse("*/10 * * * *", &every10, NULL, 0), 0);
    gen_backups(&g, &every10, DAY0 + 9 * 3600, DAY0 + 9 * 3600); /* one, from a pod start */
    input_for(&in, &c, "0 0 31 2 *", g.l, DAY0 + 9 * 3600 + 5 * 60);
    assert_int_equal(in.previous_scheduled_s, -1);
    assert_int_equal(in.next_scheduled_s, -1);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "never fires"));
    check_result_cleanup(&r);
    backups_list_free(g.l);
}

/* Spilo's retention (postgres_backup.sh:14, :51-78 4.0-p3; :14, :42-67 2.1-p7): DAYS_TO_RETAIN =
 * BACKUP_NUM_TO_RETAIN, and only backups at least that many whole days old go, so with 14 and
 * "*\/10" it keeps 14 days and up to one more: 2,016 to 2,160 backups. All of them are fine, and
 * the verdict stays fast. */
static void test_runbook_retention(void **state)
{
    struct gen g;
    struct cron_schedule c;
    struct backups_input in;
    struct check_result r;
    int64_t now = DAY0 + 9 * 3600 + 3 * 60, from = now - 15 * 86400 + 3600;
    struct timespec t0, t1;
    double ms;

    (void)state;
    assert_int_equal(cron_parse("*/10 * * * *", &c, NULL, 0), 0);
    gen_backups(&g, &c, from, DAY0 + 9 * 3600);
    assert_true(g.n >= 2016);
    input_for(&in, &c, "*/10 * * * *", g.l, now);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (r.status != VERDICT_OK)
        fail_msg("%zu backups of */10 with retain 14: %s: %s", g.n, verdict_name(r.status),
                 r.summary);
    assert_int_equal(json_integer_value(json_object_get(r.details, "count")), (json_int_t)g.n);
    assert_non_null(strstr(r.summary, "(slot 09:00 UTC)"));
    if (ms > 500)
        fail_msg("evaluating %zu backups took %.0f ms", g.n, ms);
    check_result_cleanup(&r);
    backups_list_free(g.l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_grace),     cmocka_unit_test(test_slot_attribution),
        cmocka_unit_test(test_missed_slots),      cmocka_unit_test(test_never_fires),
        cmocka_unit_test(test_runbook_retention),
    };

    return cmocka_run_group_tests_name("backups_schedule", tests, NULL, NULL);
}

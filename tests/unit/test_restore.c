/* Unit tests of restore.c: the verdict for each combination of clone settings, recovery, Patroni
 * and S3 facts. */
#include "harness.h"

#include "restore.h"

static const char *const keys[] = {"CLONE_METHOD", "CLONE_SCOPE", "CLONE_TARGET_TIME"};
static const char *const dirs[] = {"/run/etc/wal-e.d/env-clone-src"};

static void base(struct restore_facts *f)
{
    restore_facts_init(f);
    f->clone_keys = keys;
    f->n_clone_keys = ARRAY_LEN(keys);
    f->clone_envdirs = dirs;
    f->n_clone_envdirs = 1;
    f->clone_scope = "src";
    f->source_prefix = "s3://b/spilo/src/uid/wal/";
    f->own_prefix = "s3://b/spilo/new/uid2/wal/15";
    f->source_backups = 3;
    f->own_backups = 0;
    f->in_recovery = 1;
}

static void test_verdicts(void **state)
{
    static const struct {
        const char *name;
        int in_recovery, own_backups, source_backups, n_keys;
        const char *patroni, *suffix, *endpoint, *own_prefix;
        enum verdict want;
        const char *summary_has;
        int finished, pending; /* -1 null */
    } cases[] = {
        {"in recovery", 1, 0, 3, 3, NULL, NULL, NULL, NULL, VERDICT_OK, "restore in progress", 0,
         0},
        {"promoted, no own backup", 0, 0, 3, 3, "running", NULL, NULL, NULL, VERDICT_OK,
         "waiting for the first own base backup", 0, 0},
        {"finished, keys left", 0, 2, 3, 3, "running", NULL, NULL, NULL, VERDICT_WARNING,
         "CLONE_METHOD, CLONE_SCOPE, CLONE_TARGET_TIME", 1, 1},
        {"finished, no keys", 0, 2, 3, 0, NULL, NULL, NULL, NULL, VERDICT_OK, "no CLONE_*", 1, 0},
        {"patroni not running yet", 0, 2, 3, 3, "starting", NULL, NULL, NULL, VERDICT_OK,
         "Patroni is starting", 0, 0},
        {"suffix without slash", 1, 0, 3, 3, NULL, "uid", NULL, NULL, VERDICT_CRITICAL,
         "does not start with \"/\"", 0, 0},
        {"WAL-E endpoint", 1, 0, 3, 3, NULL, NULL, "https+path://s3:443", NULL, VERDICT_CRITICAL,
         "CLONE_AWS_ENDPOINT", 0, 0},
        {"endpoint without scheme", 1, 0, 3, 3, NULL, NULL, "s3.example:443", NULL,
         VERDICT_CRITICAL, "CLONE_AWS_ENDPOINT", 0, 0},
        {"good endpoint", 1, 0, 3, 3, NULL, NULL, "https://s3.example", NULL, VERDICT_OK,
         "restore in progress", 0, 0},
        {"empty source", 1, 0, 0, 3, NULL, NULL, NULL, NULL, VERDICT_CRITICAL, "no base backup", 0,
         0},
        {"traps do not matter once finished", 0, 1, 0, 3, NULL, "uid", NULL, NULL, VERDICT_WARNING,
         "CLONE_* settings are left", 1, 1},
        {"writes into the source", 0, 1, 3, 3, NULL, NULL, NULL, "s3://b/spilo/src/uid/wal/15",
         VERDICT_CRITICAL, "overwrites the source", 1, 1},
        {"a sibling prefix is not the source", 0, 1, 3, 3, NULL, NULL, NULL,
         "s3://b/spilo/src/uid/walx", VERDICT_WARNING, "left", 1, 1},
        {"PostgreSQL unknown", -1, 1, 3, 3, NULL, NULL, NULL, NULL, VERDICT_UNKNOWN, "cannot tell",
         -1, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct restore_facts f;
        struct check_result r;
        json_t *fin;

        base(&f);
        f.in_recovery = cases[i].in_recovery;
        f.own_backups = cases[i].own_backups;
        if (f.own_backups > 0) {
            f.own_first_backup = "base_000000020000000000000042";
            f.own_first_backup_s = 1741568434;
        }
        f.source_backups = cases[i].source_backups;
        f.n_clone_keys = (size_t)cases[i].n_keys;
        f.patroni_state = cases[i].patroni;
        f.scope_suffix = cases[i].suffix;
        f.endpoint = cases[i].endpoint;
        if (cases[i].own_prefix)
            f.own_prefix = cases[i].own_prefix;
        check_result_init(&r);
        restore_evaluate(&f, &r);
        if (r.status != cases[i].want || !strstr(r.summary, cases[i].summary_has))
            fail_msg("%s: %s: %s", cases[i].name, verdict_name(r.status), r.summary);
        fin = json_object_get(r.details, "finished");
        if (cases[i].finished < 0)
            assert_true(json_is_null(fin));
        else
            assert_int_equal(json_is_true(fin), cases[i].finished);
        assert_int_equal(json_is_true(json_object_get(r.details, "cleanup_pending")),
                         cases[i].pending);
        {
            /* a critical verdict names exactly one catalogued restore cause; others none */
            size_t marked = 0;

            for (size_t k = 0; k < CAUSE_COUNT; k++) {
                if (r.causes[k])
                    assert_string_equal(cause_catalogue[k].check, "restore");
                marked += r.causes[k];
            }
            assert_int_equal(marked, r.status == VERDICT_CRITICAL ? 1 : 0);
            if (strcmp(cases[i].name, "writes into the source") == 0)
                assert_true(r.causes[CAUSE_RESTORE_WRITES_INTO_SOURCE]);
            if (strcmp(cases[i].name, "empty source") == 0)
                assert_true(r.causes[CAUSE_RESTORE_SOURCE_EMPTY]);
        }
        check_result_cleanup(&r);
    }
}

static void test_not_cloned(void **state)
{
    struct restore_facts f;
    struct check_result r;

    (void)state;
    restore_facts_init(&f);
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_OK);
    assert_true(json_is_false(json_object_get(r.details, "cloned")));
    assert_true(json_is_false(json_object_get(r.details, "cleanup_pending")));
    check_result_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_not_cloned),
    };
    return cmocka_run_group_tests_name("restore", tests, NULL, NULL);
}

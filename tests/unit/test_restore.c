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
        {"writes into the source", 0, 1, 3, 3, NULL, NULL, NULL, "s3://b/spilo/src/uid/wal",
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

/* The keys WAL-G writes are <root>/basebackups_005/... and <root>/wal_005/...: two roots share
 * keys only when they are the same root. clone_with_wale.py (:131-140 2.1-p7) restores from the
 * first candidate holding backups, so that is the source to compare with. */
static void test_overlap(void **state)
{
    struct restore_facts f;
    struct check_result r;

    (void)state;
    /* old layout source (Spilo 1.6-p5: .../wal/, configure_spilo.py:743 1.6-p5) and a new
     * cluster writing .../wal/14 (2.1-p7 :866): no shared key */
    base(&f);
    f.source_prefix = "s3://b/spilo/src/uid/wal/";
    f.source_found = "s3://b/spilo/src/uid/wal";
    f.own_prefix = "s3://b/spilo/src/uid/wal/14";
    f.in_recovery = 0;
    f.own_backups = 1;
    f.own_first_backup = "base_000000020000000000000042";
    f.own_first_backup_s = 1741568434;
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_WARNING); /* finished, CLONE_* left */
    assert_null(strstr(r.summary, "overwrites"));
    check_result_cleanup(&r);
    /* the source found at .../wal/14 and the cluster writing there: the same keys */
    f.source_found = "s3://b/spilo/src/uid/wal/14";
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "overwrites the source"));
    check_result_cleanup(&r);
}

/* Finished and promoted are PostgreSQL's answer only: unreachable is unknown, whatever S3 says. */
static void test_asks_postgres(void **state)
{
    struct restore_facts f;
    struct check_result r;

    (void)state;
    base(&f);
    f.in_recovery = -1;
    f.pg_error = "connection refused";
    f.own_backups = 0;
    f.patroni_state = "running";
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_UNKNOWN);
    assert_null(strstr(r.summary, "promoted"));
    assert_non_null(strstr(r.summary, "connection refused"));
    assert_string_equal(json_string_value(json_object_get(r.details, "restore_state")), "unknown");
    assert_true(json_is_null(json_object_get(r.details, "finished")));
    check_result_cleanup(&r);
    f.own_backups = 2;
    f.own_first_backup = "base_000000020000000000000042";
    f.own_first_backup_s = 1741568434;
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_UNKNOWN);
    assert_null(strstr(r.summary, "finished ("));
    check_result_cleanup(&r);
    f.in_recovery = 0;
    f.own_backups = 0;
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_OK);
    assert_non_null(strstr(r.summary, "promoted"));
    assert_string_equal(json_string_value(json_object_get(r.details, "restore_state")), "promoted");
    check_result_cleanup(&r);
}

/* The runbook: WAL_S3_BUCKET in the pod environment ConfigMap, namespace "registry". The operator
 * sets WAL_BUCKET_SCOPE_PREFIX="" and the /<uid> suffix only with its own wal_s3_bucket
 * (postgres-operator pkg/cluster/k8sres.go:1076-1080 v2.0.1-1-ga7aaad0a); otherwise Spilo's
 * defaults apply: WAL_BUCKET_SCOPE_PREFIX "<namespace>-" with the Kubernetes DCS, suffix ""
 * (configure_spilo.py:558-560 2.1-p7, :568-570 4.0-p3), prefix :866 2.1-p7. */
/* A CLONE_TARGET_TIME the pre-flight found unreachable: critical while the clone has not started
 * (PostgreSQL cannot be asked), cause target_time_unreachable; once PostgreSQL replays, Spilo has
 * picked a backup and the problem is for the details; decided problems only. */
static void test_target_unreachable(void **state)
{
    static const char problem[] = "CLONE_TARGET_TIME 2025-03-09T12:00:00Z is not reachable: x";
    struct restore_facts f;
    struct check_result r;

    (void)state;
    base(&f);
    f.clone_target_time = "2025-03-09T12:00:00Z";
    f.target_unreachable = problem;
    f.in_recovery = -1;
    f.pg_error = "connection refused";
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_CRITICAL);
    assert_string_equal(r.summary, problem);
    assert_true(r.causes[CAUSE_RESTORE_TARGET_UNREACHABLE]);
    check_result_cleanup(&r);
    f.in_recovery = 1;
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_OK);
    assert_false(r.causes[CAUSE_RESTORE_TARGET_UNREACHABLE]);
    check_result_cleanup(&r);
    f.in_recovery = -1;
    f.target_unreachable = NULL; /* not decided (a listing failed): not a verdict */
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_UNKNOWN);
    check_result_cleanup(&r);
}

static void test_no_backup_cause(void **state)
{
    static const char *const sib[] = {"s3://acme-pg/spilo/registry-harbor-db/wal/14"};
    struct restore_facts f;
    struct check_result r;
    char p[64], sf[64];

    (void)state;
    base(&f);
    f.clone_scope = "harbor-db";
    f.source_prefix = "s3://acme-pg/spilo/harbor-db/5e0c7d7a/wal/";
    f.source_backups = 0;
    f.namespace = "registry";
    f.bucket_in_pod_env = true;
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_int_equal(r.status, VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "holds no base backup"));
    assert_non_null(strstr(r.summary, "spilo/registry-harbor-db/wal/<major>"));
    assert_non_null(strstr(r.summary, "CLONE_WAL_BUCKET_SCOPE_PREFIX=registry-"));
    check_result_cleanup(&r);
    /* the sibling that holds backups, and the settings that reach it */
    f.siblings = sib;
    f.n_siblings = 1;
    check_result_init(&r);
    restore_evaluate(&f, &r);
    assert_non_null(strstr(r.summary, "s3://acme-pg/spilo/registry-harbor-db/wal/14 (reached with "
                                      "CLONE_WAL_BUCKET_SCOPE_PREFIX=registry- and "
                                      "CLONE_WAL_BUCKET_SCOPE_SUFFIX=\"\""));
    assert_int_equal(json_array_size(json_object_get(r.details, "siblings")), 1);
    check_result_cleanup(&r);

    assert_true(
        restore_scope_settings("s3://b/spilo/ns-db/wal/14", "db", p, sizeof(p), sf, sizeof(sf)));
    assert_string_equal(p, "ns-");
    assert_string_equal(sf, "");
    assert_true(
        restore_scope_settings("s3://b/spilo/db/uid-1/wal", "db", p, sizeof(p), sf, sizeof(sf)));
    assert_string_equal(p, "");
    assert_string_equal(sf, "/uid-1");
    assert_false(restore_scope_settings("s3://b/backups/db", "db", p, sizeof(p), sf, sizeof(sf)));
}

/* ---- CLONE_TARGET_TIME pre-flight: Spilo's pick by LastModified, the finish time, the WAL ---- */

#define T0 1741392000 /* 2025-03-08T00:00:00Z */
#define MB (1024ULL * 1024)

static void add_segs(struct walchain *c, uint64_t from, uint64_t to)
{
    char name[32];

    for (uint64_t s = from; s <= to; s++) {
        snprintf(name, sizeof(name), "%08X%08X%08X.lz4", 1U, 0U, (unsigned)s);
        (void)walchain_add(c, name, T0 + (int64_t)s * 60);
    }
}

static struct restore_target_backup tb(const char *name, uint64_t seg, int64_t listed_s,
                                       int64_t finish_s, enum restore_time_from from)
{
    struct restore_target_backup b = {
        .name = name,
        .tli = 1,
        .start_lsn = seg * 16 * MB + 0x28,
        .finish_lsn = (seg + 1) * 16 * MB + 0x100,
        .listed_s = listed_s,
        .finish_s = finish_s,
        .finish_from = from,
    };
    return b;
}

static void test_target(void **state)
{
    struct walchain *c = walchain_new(0);
    struct restore_target_backup b[3];
    struct restore_target_result r;
    size_t want[3];

    (void)state;
    add_segs(c, 2, 0x14);
    add_segs(c, 0x18, 0x30); /* a gap 0x15..0x17 */
    b[0] = tb("base_000000010000000000000002", 2, T0 + 4 * 60, T0 + 3 * 60, RESTORE_TIME_SENTINEL);
    b[1] = tb("base_000000010000000000000020", 0x20, T0 + 0x22 * 60, T0 + 0x21 * 60,
              RESTORE_TIME_METADATA);
    b[2] = tb("base_000000010000000000000028", 0x28, T0 + 0x2A * 60, T0 + 0x2A * 60,
              RESTORE_TIME_UNREAD);
    restore_target_sort(b, 3);

    /* clone_with_wale.py's choose_backup: the newest LastModified strictly before the target */
    assert_int_equal(restore_target_picked(b, 3, T0 + 0x22 * 60), 0);
    assert_int_equal(restore_target_picked(b, 3, T0 + 0x22 * 60 + 1), 1);
    assert_int_equal(restore_target_picked(b, 3, T0), 3);
    assert_int_equal(restore_target_wanted(b, 3, T0 + 0x23 * 60, want, 2), 2);
    assert_int_equal(want[0], 1);
    assert_int_equal(want[1], 2);
    assert_int_equal(restore_target_wanted(b, 3, T0, want, 3), 3); /* none: the oldest ones */
    assert_int_equal(want[0], 0);

    restore_target_evaluate(c, true, NULL, b, 3, true, T0 + 0x10 * 60, &r);
    assert_true(r.reachable);
    assert_string_equal(r.from_backup, "base_000000010000000000000002");
    assert_string_equal(r.problem, "");
    assert_int_equal(json_array_size(json_object_get(r.details, "backups_read")), 2);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(r.details, "backups_read"), 1), "finish_time_from")),
        "metadata.json finish_time");
    json_decref(r.details);

    /* inside the gap: from the first backup, the WAL breaks off at 0x15 */
    restore_target_evaluate(c, true, NULL, b, 3, true, T0 + 0x16 * 60, &r);
    assert_false(r.reachable);
    assert_int_equal(r.latest_reachable_s, T0 + 0x14 * 60);
    assert_non_null(strstr(r.problem, "segment 000000010000000000000015 is missing"));
    assert_true(r.decided); /* a verdict: critical before the clone runs */
    json_decref(r.details);

    /* after the newest WAL */
    restore_target_evaluate(c, true, NULL, b, 3, true, T0 + 0x40 * 60, &r);
    assert_false(r.reachable);
    assert_string_equal(r.from_backup, "base_000000010000000000000028");
    assert_non_null(strstr(r.problem, "ends before it; the latest reachable time is "
                                      "2025-03-08T00:48:00Z"));
    json_decref(r.details);
    /* ... but not judged when the listing was cut short */
    restore_target_evaluate(c, false, NULL, b, 3, true, T0 + 0x40 * 60, &r);
    assert_non_null(strstr(r.problem, "could not be checked"));
    assert_false(r.decided);
    json_decref(r.details);

    /* before every sentinel's LastModified, but the oldest finished before (a copied bucket) */
    b[0].listed_s = T0 + 86400;
    b[1].listed_s = T0 + 86401;
    b[2].listed_s = T0 + 86402;
    restore_target_evaluate(NULL, false, NULL, b, 3, true, T0 + 0x10 * 60, &r);
    assert_false(r.reachable);
    assert_null(r.from_backup);
    assert_non_null(strstr(r.problem, "the bucket was copied"));
    assert_true(r.decided);
    json_decref(r.details);
    /* ... and with only LastModified known, no claim of a copy */
    b[0].finish_from = RESTORE_TIME_LAST_MODIFIED;
    b[0].finish_s = b[0].listed_s;
    restore_target_evaluate(NULL, false, NULL, b, 3, true, T0 + 0x10 * 60, &r);
    assert_null(strstr(r.problem, "copied"));
    assert_non_null(strstr(r.problem, "is before every base backup in the source: the oldest"));
    json_decref(r.details);

    /* the picked backup finished after the target (its sentinel's LastModified is older) */
    b[0] = tb("base_000000010000000000000002", 2, T0 + 4 * 60, T0 + 9 * 60, RESTORE_TIME_SENTINEL);
    restore_target_evaluate(c, true, NULL, b, 1, true, T0 + 5 * 60, &r);
    assert_false(r.reachable);
    assert_non_null(strstr(r.problem, "consistent recovery point"));
    json_decref(r.details);
    walchain_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),        cmocka_unit_test(test_not_cloned),
        cmocka_unit_test(test_overlap),         cmocka_unit_test(test_asks_postgres),
        cmocka_unit_test(test_no_backup_cause), cmocka_unit_test(test_target_unreachable),
        cmocka_unit_test(test_target),
    };
    return cmocka_run_group_tests_name("restore", tests, NULL, NULL);
}

/* Unit tests of walarchive.c: the wal_archive verdict from the facts PostgreSQL (and S3) report,
 * one case per branch, in the order walarchive_evaluate() decides. */
#include "harness.h"

#include "walarchive.h"

#define NOW INT64_C(1741599000) /* 2025-03-10T09:30:00Z */

static void healthy(struct walarchive_facts *f)
{
    walarchive_facts_init(f);
    f->archive_mode = "on";
    f->archive_command = "wal-g wal-push \"%p\"";
    f->archived_count = 42;
    f->last_archived_wal = "000000010000000000000007";
    f->last_archived_at_s = NOW - 300;
    f->failed_count = 0;
    f->ready_count = 0;
    f->now_s = NOW;
}

static enum verdict judge(const struct walarchive_facts *f, struct check_result *r)
{
    check_result_init(r);
    walarchive_evaluate(f, r);
    return r->status;
}

static void test_healthy(void **state)
{
    struct walarchive_facts f;
    struct check_result r;

    (void)state;
    healthy(&f);
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    assert_contains(r.summary, "WAL archiving works: 000000010000000000000007 archived at "
                               "2025-03-10T09:25:00Z (5m ago)");
    assert_string_equal(dstr(r.details, "archiver"), "wal-g");
    assert_string_equal(dstr(r.details, "role"), "leader");
    assert_int_equal(dint(r.details, "last_archived_age_seconds"), 300);
    assert_true(json_is_null(dget(r.details, "s3_segment_found")));
    check_result_cleanup(&r);
}

static void test_off_and_noop(void **state)
{
    static const char *const noops[] = {"/bin/true", "true", "", ":"};
    struct walarchive_facts f;
    struct check_result r;

    (void)state;
    healthy(&f);
    f.archive_mode = "off";
    assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
    assert_contains(r.summary, "archive_mode is off");
    check_result_cleanup(&r);
    for (size_t i = 0; i < sizeof(noops) / sizeof(noops[0]); i++) {
        healthy(&f);
        f.archive_command = noops[i];
        assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
        assert_contains(r.summary, "archives nothing");
        assert_string_equal(dstr(r.details, "archiver"), "none");
        check_result_cleanup(&r);
    }
    /* an archive_library archives even with an empty archive_command */
    healthy(&f);
    f.archive_command = "";
    f.archive_library = "basic_archive";
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    check_result_cleanup(&r);
}

static void test_replica(void **state)
{
    struct walarchive_facts f;
    struct check_result r;

    (void)state;
    healthy(&f);
    f.in_recovery = true;
    f.last_failed_at_s = NOW; /* a replica's archiver does not run: its failures do not count */
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    assert_contains(r.summary, "replica: WAL is archived by the leader");
    assert_string_equal(dstr(r.details, "role"), "replica");
    check_result_cleanup(&r);
    f.archive_mode = "always";
    assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
    check_result_cleanup(&r);
}

static void test_failing(void **state)
{
    struct walarchive_facts f;
    struct check_result r;

    (void)state;
    healthy(&f);
    f.failed_count = 3;
    f.last_failed_wal = "000000010000000000000008";
    f.last_failed_at_s = NOW - 10;
    assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
    assert_contains(r.summary, "WAL archiving is failing: segment 000000010000000000000008");
    check_result_cleanup(&r);
    f.last_archived_at_s = WALARCHIVE_UNKNOWN_TIME;
    f.last_archived_wal = NULL;
    assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
    assert_contains(r.summary, "WAL archiving has never succeeded");
    check_result_cleanup(&r);
    /* failures older than the last success, new since the previous run: a warning */
    healthy(&f);
    f.failed_count = 5;
    f.prev_failed_count = 3;
    f.last_failed_at_s = NOW - 600;
    assert_int_equal(judge(&f, &r), VERDICT_WARNING);
    assert_contains(r.summary, "2 WAL archive attempts failed since the last check");
    assert_int_equal(dint(r.details, "failed_since_last_check"), 2);
    check_result_cleanup(&r);
    f.prev_failed_count = 5;
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    check_result_cleanup(&r);
}

static void test_backlog(void **state)
{
    struct walarchive_facts f;
    struct check_result r;

    (void)state;
    healthy(&f);
    f.ready_count = 12;
    f.oldest_ready_age_s = 3600;
    assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
    assert_contains(r.summary, "12 WAL segments wait for archiving, the oldest for 60m");
    check_result_cleanup(&r);
    f.oldest_ready_age_s = 900;
    assert_int_equal(judge(&f, &r), VERDICT_OK); /* no archive_timeout: only an hour counts */
    check_result_cleanup(&r);
    f.archive_timeout_s = 300;
    assert_int_equal(judge(&f, &r), VERDICT_WARNING);
    check_result_cleanup(&r);
}

static void test_s3_and_wale(void **state)
{
    struct walarchive_facts f;
    struct check_result r;

    (void)state;
    healthy(&f);
    f.s3_segment_found = 0;
    f.s3_segment_key = "spilo/demo/wal/15/wal_005/000000010000000000000007";
    assert_int_equal(judge(&f, &r), VERDICT_CRITICAL);
    assert_contains(r.summary, "is not under spilo/demo/wal/15/wal_005/000000010000000000000007");
    assert_false(json_is_true(dget(r.details, "s3_segment_found")));
    check_result_cleanup(&r);
    f.s3_segment_found = 1;
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    assert_true(json_is_true(dget(r.details, "s3_segment_found")));
    check_result_cleanup(&r);
    healthy(&f);
    f.archive_command = "envdir /run/etc/wal-e.d/env wal-e wal-push %p";
    assert_int_equal(judge(&f, &r), VERDICT_WARNING);
    assert_contains(r.summary, "WAL-E, not WAL-G");
    check_result_cleanup(&r);
    /* Spilo's own WAL-G command names the wal-e.d envdir: still WAL-G, no warning
     * (spilo postgres-appliance/scripts/configure_spilo.py, archive_command
     * 'envdir "{WALE_ENV_DIR}" {WALE_BINARY} wal-push "%p"', WALE_BINARY "wal-g" with
     * USE_WALG_BACKUP). */
    healthy(&f);
    f.archive_command = "envdir \"/run/etc/wal-e.d/env\" wal-g wal-push \"%p\"";
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    assert_string_equal(json_string_value(dget(r.details, "archiver")), "wal-g");
    check_result_cleanup(&r);
    healthy(&f);
    f.archive_command =
        "envdir \"/run/etc/wal-e.d/env\" /usr/local/bin/wal-e --aws-instance-profile "
        "wal-push \"%p\"";
    assert_int_equal(judge(&f, &r), VERDICT_WARNING);
    check_result_cleanup(&r);
    healthy(&f);
    f.last_archived_at_s = WALARCHIVE_UNKNOWN_TIME;
    assert_int_equal(judge(&f, &r), VERDICT_OK);
    assert_contains(r.summary, "no WAL segment completed since the statistics were reset");
    check_result_cleanup(&r);
}

static void test_shown_command(void **state)
{
    (void)state;
    assert_string_equal(walarchive_shown_command("wal-g wal-push %p"), "wal-g wal-push %p");
    assert_string_equal(walarchive_shown_command("AWS_SECRET_ACCESS_KEY=x wal-g wal-push %p"),
                        "***");
    assert_string_equal(walarchive_shown_command("PGPASSWORD=x cp %p /x"), "***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy),       cmocka_unit_test(test_off_and_noop),
        cmocka_unit_test(test_replica),       cmocka_unit_test(test_failing),
        cmocka_unit_test(test_backlog),       cmocka_unit_test(test_s3_and_wale),
        cmocka_unit_test(test_shown_command),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

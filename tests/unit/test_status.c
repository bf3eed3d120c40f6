/* Unit tests of status.c, metrics.c and report.c: publishing, readiness, the /status document,
 * the Prometheus text, and the human report. */
#include "harness.h"

#include <math.h>

#include "metrics.h"
#include "report.h"
#include "status.h"

static const char *const names[] = {"walg_env", "backups", "pg_hba"};

static void publish_role(const char *name, enum verdict v, const char *summary, const char *details,
                         const char *role)
{
    struct check_result r;

    check_result_init(&r);
    check_result_set(&r, v, "%s", summary);
    snprintf(r.role, sizeof(r.role), "%s", role);
    if (details) {
        json_decref(r.details);
        r.details = json_loads(details, 0, NULL);
        assert_non_null(r.details);
    }
    status_publish(name, &r, 1741599000, 12);
    assert_null(r.details);
    check_result_cleanup(&r);
}

static void publish(const char *name, enum verdict v, const char *summary, const char *details)
{
    publish_role(name, v, summary, details, "");
}

static void test_readiness_and_overall(void **state)
{
    char reason[128];
    const struct snapshot *s;

    (void)state;
    status_init(names, 3, 1741598000);
    s = status_current();
    assert_false(status_ready(s, reason, sizeof(reason)));
    assert_string_equal(reason, "configuration not loaded yet");
    assert_int_equal(status_overall(s, 0, NULL, 0), VERDICT_UNKNOWN);
    status_set_config_loaded(true);
    publish("walg_env", VERDICT_OK, "fine", NULL);
    s = status_current();
    assert_false(status_ready(s, reason, sizeof(reason)));
    assert_string_equal(reason, "check backups has not completed its first run yet");
    publish("backups", VERDICT_CRITICAL, "missed", NULL);
    publish("pg_hba", VERDICT_WARNING, "hmm", NULL);
    s = status_current();
    assert_true(status_ready(s, reason, sizeof(reason)));
    assert_int_equal(status_overall(s, 0, NULL, 0), VERDICT_CRITICAL);
    {
        static const char *const only[] = {"pg_hba"};

        assert_int_equal(status_overall(s, 0, only, 1), VERDICT_WARNING);
    }
    assert_int_equal(s->checks[1].runs, 1);
    status_count_overlap("backups");
    assert_int_equal(status_current()->checks[1].overlaps, 1);
    status_shutdown();
}

/* The role comes with the results of the checks that learnt it; one that did not keeps it. */
static void test_role_from_results(void **state)
{
    (void)state;
    status_init(names, 3, 1741598000);
    assert_string_equal(status_current()->role, "unknown");
    publish_role("pg_hba", VERDICT_OK, "fine", NULL, "replica");
    assert_string_equal(status_current()->role, "replica");
    publish("backups", VERDICT_OK, "3 backups", NULL);
    assert_string_equal(status_current()->role, "replica");
    publish_role("pg_hba", VERDICT_OK, "fine", NULL, "leader");
    assert_string_equal(status_current()->role, "leader");
    status_shutdown();
}

/* A result older than stale_after_s says so: in its summary, "stale": true, an unknown overall
 * status and /readyz (status_first_stale). Reloads more often than the interval once froze every
 * result while /readyz stayed 200. */
static void test_stale(void **state)
{
    json_t *doc, *c;

    (void)state;
    status_init(names, 1, 1741598000);
    status_set_config_loaded(true);
    publish("walg_env", VERDICT_OK, "fine", NULL);
    /* One-shot mode: never stale. */
    assert_null(status_first_stale(status_current(), 1741599000 + 100000));
    status_set_stale_after(100);
    assert_null(status_first_stale(status_current(), 1741599000 + 100));
    doc = status_to_json(status_current(), 1741599000 + 100, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
    json_decref(doc);
    assert_non_null(status_first_stale(status_current(), 1741599000 + 101));
    doc = status_to_json(status_current(), 1741599000 + 101, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "unknown");
    c = json_object_get(json_object_get(doc, "checks"), "walg_env");
    assert_true(json_is_true(json_object_get(c, "stale")));
    assert_string_equal(json_string_value(json_object_get(c, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(c, "summary")),
                        "stale: this result is 101s old and the check has not completed since; "
                        "fine");
    json_decref(doc);
    status_shutdown();
}

static void test_status_json(void **state)
{
    json_t *doc;
    char *text;

    (void)state;
    status_init(names, 3, 1741598000);
    status_set_config_loaded(true);
    publish_role("backups", VERDICT_OK, "3 backups", "{\"count\":3,\"missed\":false}", "leader");
    doc = status_to_json(status_current(), 1741599000, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "unknown");
    assert_string_equal(json_string_value(json_object_get(doc, "now")), "2025-03-10T09:30:00Z");
    assert_string_equal(json_string_value(json_object_get(doc, "role")), "leader");
    text = json_dumps(json_object_get(json_object_get(doc, "checks"), "backups"),
                      JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"status\":\"ok\",\"summary\":\"3 backups\",\"stale\":false,"
                              "\"checked_at\":"
                              "\"2025-03-10T09:30:00Z\",\"duration_ms\":12,\"details\":"
                              "{\"count\":3,\"missed\":false}}");
    free(text);
    json_decref(doc);
    /* --only: the document covers just the named checks and their verdict */
    {
        const char *only[] = {"backups"};

        doc = status_to_json(status_current(), 1741599000, only, 1);
        assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
        assert_int_equal(json_object_size(json_object_get(doc, "checks")), 1);
        json_decref(doc);
    }
    status_shutdown();
}

static void test_metrics(void **state)
{
    struct buf out;

    (void)state;
    status_init(names, 3, 1741598000);
    status_set_config_loaded(true);
    buf_init(&out, 1 << 20);
    metrics_render(status_current(), NULL, &out);
    assert_non_null(strstr(out.data, "# TYPE spilo_agent_up gauge\nspilo_agent_up 1\n"));
    assert_non_null(strstr(out.data, "spilo_agent_check_status{check=\"backups\"} 3\n"));
    assert_null(strstr(out.data, "spilo_agent_backup_count")); /* absent before the first run */
    assert_null(strstr(out.data, "spilo_agent_pg_hba_ok"));
    publish("backups", VERDICT_OK, "ok",
            "{\"count\":3,\"retain\":5,\"missed\":false,\"last_abandoned_at\":"
            "\"2025-03-10T00:00:00Z\",\"previous_scheduled_at\":"
            "\"2025-03-10T01:00:00Z\",\"latest\":{\"finish_time\":\"2025-03-10T01:00:34.843994Z\","
            "\"compressed_size\":9007199254740993}}");
    publish("pg_hba", VERDICT_CRITICAL, "no local replication rule", NULL);
    buf_reset(&out);
    metrics_render(status_current(), NULL, &out);
    assert_non_null(strstr(out.data, "spilo_agent_backup_count 3\n"));
    assert_non_null(strstr(out.data, "spilo_agent_backup_retain 5\n"));
    assert_non_null(strstr(out.data, "spilo_agent_backup_missed 0\n"));
    assert_non_null(strstr(out.data, "spilo_agent_backup_expected_timestamp_seconds 1741568400\n"));
    assert_non_null(
        strstr(out.data, "spilo_agent_backup_last_finish_timestamp_seconds 1741568434\n"));
    assert_non_null(strstr(out.data, "spilo_agent_pg_hba_ok 0\n"));
    assert_non_null(
        strstr(out.data, "spilo_agent_check_duration_seconds{check=\"backups\"} 0.012"));
    assert_non_null(strstr(out.data, "# TYPE spilo_agent_backups gauge\nspilo_agent_backups 3\n"));
    assert_non_null(strstr(out.data, "spilo_agent_status 2\n"));
    assert_non_null(
        strstr(out.data, "spilo_agent_backup_last_abandoned_timestamp_seconds 1741564800\n"));
    {
        char n[32];

        metrics_format_number(0.1, n, sizeof(n));
        assert_string_equal(n, "0.1"); /* %.17g says 0.10000000000000001 */
        metrics_format_number(1.0 / 3.0, n, sizeof(n));
        assert_string_equal(n, "0.3333333333333333");
        metrics_format_number(1e300, n, sizeof(n));
        assert_string_equal(n, "1e+300");
        metrics_format_number(1741568434, n, sizeof(n));
        assert_string_equal(n, "1741568434");
        metrics_format_number(-0.5, n, sizeof(n));
        assert_string_equal(n, "-0.5");
        metrics_format_number(INFINITY, n, sizeof(n));
        assert_string_equal(n, "+Inf");
        metrics_format_number(NAN, n, sizeof(n));
        assert_string_equal(n, "NaN");
    }
    {
        struct procstat ps;

        procstat_read(&ps);
        assert_true(ps.ok);
        assert_true(ps.resident_bytes > 0 && ps.open_fds >= 3);
        buf_reset(&out);
        metrics_render(status_current(), &ps, &out);
        assert_non_null(strstr(out.data, "# TYPE process_cpu_seconds_total counter\n"));
        assert_non_null(strstr(out.data, "\nprocess_resident_memory_bytes "));
        assert_non_null(strstr(out.data, "\nprocess_start_time_seconds 1"));
        assert_non_null(strstr(out.data, "\nprocess_open_fds "));
        assert_non_null(strstr(out.data, "\nprocess_max_fds "));
        assert_non_null(strstr(out.data, "\nprocess_virtual_memory_bytes "));
    }
    /* one HELP/TYPE per family */
    {
        const char *first = strstr(out.data, "# TYPE spilo_agent_check_status ");

        assert_non_null(first);
        assert_null(strstr(first + 1, "# TYPE spilo_agent_check_status "));
    }
    buf_cleanup(&out);
    status_shutdown();
}

static void test_report(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    status_init(names, 1, 1741598000);
    publish("walg_env", VERDICT_CRITICAL, "AWS_REGION \"loca\" is not a region",
            "{\"findings\":[{\"severity\":\"critical\",\"message\":\"first\"},"
            "{\"severity\":\"warning\",\"message\":\"second\"}]}");
    f = open_memstream(&text, &len);
    report_write(f, status_current(), 1741599000, false);
    fclose(f);
    assert_non_null(strstr(text, "at 2025-03-10T09:30:00Z: CRITICAL"));
    assert_non_null(strstr(text, "CRITICAL  walg_env     AWS_REGION \"loca\" is not a region\n"));
    assert_non_null(strstr(text, "- warning: second\n"));
    free(text);
    status_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readiness_and_overall),
        cmocka_unit_test(test_role_from_results),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}

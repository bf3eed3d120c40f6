/* test_log.c - structured fields as JSON keys, text key=value, and the rate limit of repeated
 * lines ("suppressed N"). stderr is redirected to a temporary file per test. */
#include "harness.h"

#include <jansson.h>
#include <unistd.h>

#include "causes.h"
#include "log.h"

static double fake_now;

static double fake_clock(void)
{
    return fake_now;
}

static char captured[16384];

static void capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n;

    assert_non_null(tmp);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
}

static void emit_fields(void)
{
    log_fields(LOG_LEVEL_ERROR, "check", "check backups changed from ok to critical",
               LOG_S("check", "backups"), LOG_S("status", "critical"), LOG_S("previous", "ok"),
               LOG_I("duration_ms", 42), LOG_S("summary", "S3 said \"AccessDenied\""),
               LOG_S("msg", "reserved keys are not overwritten"));
}

static void test_json_fields(void **state)
{
    json_t *o;

    (void)state;
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
    capture(emit_fields);
    o = json_loads(captured, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "check")), "backups");
    assert_string_equal(json_string_value(json_object_get(o, "previous")), "ok");
    assert_int_equal(json_integer_value(json_object_get(o, "duration_ms")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "summary")),
                        "S3 said \"AccessDenied\"");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "check backups changed from ok to critical");
    json_decref(o);
}

static void test_text_fields(void **state)
{
    (void)state;
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
    capture(emit_fields);
    assert_non_null(strstr(captured, " check=backups status=critical previous=ok duration_ms=42 "
                                     "summary=\"S3 said \\\"AccessDenied\\\"\"\n"));
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
}

static void emit_burst(void)
{
    fake_now = 1000;
    for (int i = 0; i < 50; i++)
        log_limited(LOG_LEVEL_WARN, "http", "http.conn_limit", "connection limit %d reached", 8);
    log_limited(LOG_LEVEL_WARN, "cleanup", "cleanup.bad_token", "wrong token");
    fake_now = 1000 + LOG_LIMIT_WINDOW_S;
    log_limited(LOG_LEVEL_WARN, "http", "http.conn_limit", "connection limit %d reached", 8);
    log_limited(LOG_LEVEL_WARN, "http", "http.conn_limit", "connection limit %d reached", 8);
}

static void test_rate_limit(void **state)
{
    char *second;
    json_t *o;

    (void)state;
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
    log_limit_reset(fake_clock);
    capture(emit_burst);
    log_limit_reset(NULL);
    /* the first line, the other key's line, then one line with the count: three in all */
    assert_int_equal(strchr(captured, '\n') != NULL, 1);
    second = strstr(captured, "suppressed 49 similar lines in the last 60s");
    assert_non_null(second);
    second = strrchr(captured, '{');
    o = json_loads(second, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "suppressed")), 49);
    json_decref(o);
    {
        int lines = 0;

        for (const char *p = captured; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 3);
    }
}

static void test_catalogue(void **state)
{
    (void)state;
    assert_true(CAUSE_COUNT > 20);
    assert_int_equal(cause_find("backups", "s3_access_denied"), CAUSE_BACKUPS_S3_ACCESS_DENIED);
    assert_int_equal(cause_find("restore", "writes_into_source"), CAUSE_RESTORE_WRITES_INTO_SOURCE);
    assert_int_equal(cause_find("backups", "nonsense"), -1);
    for (size_t i = 0; i < CAUSE_COUNT; i++) {
        assert_non_null(cause_catalogue[i].alert);
        assert_true(strlen(cause_catalogue[i].id) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_text_fields),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_catalogue),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

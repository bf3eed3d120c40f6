/* Unit tests of util.c and buf.c: time, duration, number and bool parsing; bounded buffers. */
#include "harness.h"

#include <errno.h>

#include "buf.h"
#include "util.h"

static void test_rfc3339(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t t;
        int32_t us;
    } cases[] = {
        {"2025-03-10T09:30:00Z", 0, 1741599000, 0},
        {"2025-03-10T01:00:34.843994Z", 0, 1741568434, 843994},
        {"2025-03-10T01:00:34.8Z", 0, 1741568434, 800000},
        {"2025-03-10T01:00:34.123456789Z", 0, 1741568434, 123456},
        {"2025-03-09T12:00:00+00:00", 0, 1741521600, 0},
        {"2025-03-09T14:00:00+02:00", 0, 1741521600, 0},
        {"2025-03-09T07:00:00-05:00", 0, 1741521600, 0},
        {"1970-01-01T00:00:00Z", 0, 0, 0},
        {"2024-02-29T00:00:00Z", 0, 1709164800, 0},
        {"2025-02-29T00:00:00Z", -EINVAL, 0, 0},
        {"2025-03-10T09:30:00", -EINVAL, 0, 0},
        {"2025-03-10 09:30:00Z", 0, 1741599000, 0},
        {"2025-13-10T09:30:00Z", -EINVAL, 0, 0},
        {"2025-03-10T24:30:00Z", -EINVAL, 0, 0},
        {"2025-03-10T09:30:00.Z", -EINVAL, 0, 0},
        {"2025-03-10T09:30:00Zjunk", -EINVAL, 0, 0},
        {"", -EINVAL, 0, 0},
        {"yesterday", -EINVAL, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t t = -1;
        int32_t us = -1;
        int rc = util_parse_rfc3339(cases[i].in, &t, &us);

        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_int_equal(t, cases[i].t);
            assert_int_equal(us, cases[i].us);
        }
    }
}

static void test_format_roundtrip(void **state)
{
    char out[32];
    int64_t t;

    (void)state;
    util_format_rfc3339(1741599000, out, sizeof(out));
    assert_string_equal(out, "2025-03-10T09:30:00Z");
    assert_int_equal(util_parse_rfc3339(out, &t, NULL), 0);
    assert_int_equal(t, 1741599000);
}

static void test_duration(void **state)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t ms;
    } cases[] = {
        {"60s", 0, 60000},   {"5m", 0, 300000},
        {"1h", 0, 3600000},  {"2d", 0, 172800000},
        {"90", 0, 90000},    {"1500ms", 0, 1500},
        {"0s", 0, 0},        {"1x", -EINVAL, 0},
        {"", -EINVAL, 0},    {"-5s", -EINVAL, 0},
        {"s", -EINVAL, 0},   {" 5s", -EINVAL, 0},
        {"5 s", -EINVAL, 0}, {"99999999999999999999d", -ERANGE, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint64_t ms = 0;

        assert_int_equal(util_parse_duration_ms(cases[i].in, &ms), cases[i].rc);
        if (cases[i].rc == 0)
            assert_int_equal(ms, cases[i].ms);
    }
}

static void test_numbers_and_bools(void **state)
{
    int64_t n;
    bool b;

    (void)state;
    assert_int_equal(util_parse_i64("5", &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(util_parse_i64("-12", &n), 0);
    assert_int_equal(n, -12);
    assert_int_equal(util_parse_i64("5x", &n), -EINVAL);
    assert_int_equal(util_parse_i64("", &n), -EINVAL);
    assert_int_equal(util_parse_i64("99999999999999999999", &n), -ERANGE);
    assert_int_equal(util_parse_bool("TRUE", &b), 0);
    assert_true(b);
    assert_int_equal(util_parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(util_parse_bool("maybe", &b), -EINVAL);
}

static void test_const_eq(void **state)
{
    (void)state;
    assert_true(util_const_eq("s3cr3t-token-123456", "s3cr3t-token-123456"));
    assert_false(util_const_eq("s3cr3t-token-123456", "s3cr3t-token-123457"));
    assert_false(util_const_eq("short", "shorter"));
    assert_false(util_const_eq("", "x"));
    assert_true(util_const_eq("", ""));
}

static void test_buf_ceiling(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    buf_puts(&b, "hello");
    buf_printf(&b, "%d", 1234);
    assert_string_equal(b.data, "hello1234");
    assert_false(b.overflow);
    buf_puts(&b, "xy"); /* would be 11 bytes */
    assert_true(b.overflow);
    buf_puts(&b, "z"); /* sticky: even a fitting append is dropped */
    assert_string_equal(b.data, "hello1234");
    buf_reset(&b);
    assert_false(b.overflow);
    buf_printf(&b, "%s", "0123456789");
    assert_int_equal(b.len, 10);
    buf_cleanup(&b);

    buf_init(&b, 4096);
    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_printf(&b, "%s%s", big, big); /* longer than the formatter's stack buffer */
    assert_int_equal(b.len, 2 * (sizeof(big) - 1));
    buf_cleanup(&b);
}

static void test_verdicts(void **state)
{
    (void)state;
    assert_string_equal(verdict_name(VERDICT_OK), "ok");
    assert_string_equal(verdict_name(VERDICT_WARNING), "warning");
    assert_string_equal(verdict_name(VERDICT_CRITICAL), "critical");
    assert_string_equal(verdict_name(VERDICT_UNKNOWN), "unknown");
    assert_int_equal(verdict_worst(VERDICT_OK, VERDICT_CRITICAL), VERDICT_CRITICAL);
    /* monitoring-plugins max_state_alt (plugins/utils.c): critical > warning > unknown > ok */
    assert_int_equal(verdict_worst(VERDICT_UNKNOWN, VERDICT_CRITICAL), VERDICT_CRITICAL);
    assert_int_equal(verdict_worst(VERDICT_WARNING, VERDICT_UNKNOWN), VERDICT_WARNING);
    assert_int_equal(verdict_worst(VERDICT_UNKNOWN, VERDICT_OK), VERDICT_UNKNOWN);
    assert_int_equal(verdict_worst(VERDICT_OK, VERDICT_OK), VERDICT_OK);
}

/* A cut string says it was cut, and never splits a character. */
static void test_copy_cut(void **state)
{
    char out[12];

    (void)state;
    util_copy_cut(out, sizeof(out), "short");
    assert_string_equal(out, "short");
    util_copy_cut(out, sizeof(out), "exactly 11!");
    assert_string_equal(out, "exactly 11!");
    util_copy_cut(out, sizeof(out), "one that is far too long");
    assert_string_equal(out, "one that\xe2\x80\xa6");
    util_copy_cut(out, sizeof(out), "abcdefg\xc3\xa9\xc3\xa9\xc3\xa9"); /* é across the cut */
    assert_string_equal(out, "abcdefg\xe2\x80\xa6");
    util_copy_cut(out, 4, "abcdef"); /* too small for the mark: a plain cut */
    assert_string_equal(out, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),  cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_duration), cmocka_unit_test(test_numbers_and_bools),
        cmocka_unit_test(test_const_eq), cmocka_unit_test(test_buf_ceiling),
        cmocka_unit_test(test_verdicts), cmocka_unit_test(test_copy_cut),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

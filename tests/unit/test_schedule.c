/* Unit tests of schedule.c: parsing (bitsets, star flags, normalised text, error sentences), the
 * previous / next fire instant across hour, day, month, year and leap-day ends, Vixie's day-field
 * OR rule, names, macros, expressions that never fire, and walks over whole years. */
#include "harness.h"

#include <errno.h>

#include "schedule.h"
#include "util.h"

#define B(n)    (UINT64_C(1) << (n))
#define R(a, b) (((UINT64_C(2) << (b)) - 1) & ~(B(a) - 1))
#define ALL_DOM R(1, 31)
#define ALL_MON R(1, 12)
#define ALL_DOW R(0, 6)

static int64_t at(const char *rfc3339)
{
    int64_t t = -1;

    if (!rfc3339)
        return -1;
    assert_int_equal(util_parse_rfc3339(rfc3339, &t, NULL), 0);
    return t;
}

static void parse_ok(const char *expr, struct cron_schedule *c)
{
    char err[256];
    int rc = cron_parse(expr, c, err, sizeof(err));

    if (rc != 0)
        fail_msg("cron_parse(\"%s\"): %s", expr, err);
}

static void test_parse_ok(void **state)
{
    static const struct {
        const char *expr;
        uint64_t minute, hour, dom, month, dow;
        bool dom_star, dow_star;
        const char *text;
    } cases[] = {
        {"0 1 * * *", B(0), B(1), ALL_DOM, ALL_MON, ALL_DOW, true, true, "0 1 * * *"},
        {"*/10 * * * *", B(0) | B(10) | B(20) | B(30) | B(40) | B(50), R(0, 23), ALL_DOM, ALL_MON,
         ALL_DOW, true, true, "*/10 * * * *"},
        {"  5,10-12  */6\t1-31/10 JAN-mar,Dec mon-FRI  ", B(5) | R(10, 12),
         B(0) | B(6) | B(12) | B(18), B(1) | B(11) | B(21) | B(31), R(1, 3) | B(12), R(1, 5), false,
         false, "5,10-12 */6 1-31/10 JAN-mar,Dec mon-FRI"},
        /* "N/S" runs to the field's maximum; the day of week's is 7 (Sunday) */
        {"30/15 22/1 15/5 6/3 5/1", B(30) | B(45), B(22) | B(23), B(15) | B(20) | B(25) | B(30),
         B(6) | B(9) | B(12), B(5) | B(6) | B(0), false, false, "30/15 22/1 15/5 6/3 5/1"},
        {"0 0 * * 1/2", B(0), B(0), ALL_DOM, ALL_MON, B(1) | B(3) | B(5) | B(0), true, false,
         "0 0 * * 1/2"},
        {"0 0 * * */3", B(0), B(0), ALL_DOM, ALL_MON, B(0) | B(3) | B(6), true, true,
         "0 0 * * */3"},
        {"0 0 * * 7", B(0), B(0), ALL_DOM, ALL_MON, B(0), true, false, "0 0 * * 7"},
        {"0 0 * * 0-7", B(0), B(0), ALL_DOM, ALL_MON, ALL_DOW, true, false, "0 0 * * 0-7"},
        {"0 0 * * sun-SAT", B(0), B(0), ALL_DOM, ALL_MON, ALL_DOW, true, false, "0 0 * * sun-SAT"},
        {"0 0 * * Fri-7", B(0), B(0), ALL_DOM, ALL_MON, B(5) | B(6) | B(0), true, false,
         "0 0 * * Fri-7"},
        {"0 0 */2 * 1", B(0), B(0), R(1, 31) & UINT64_C(0xaaaaaaaa), ALL_MON, B(1), true, false,
         "0 0 */2 * 1"},
        {"0 0 1 feb/4 */1", B(0), B(0), B(1), B(2) | B(6) | B(10), ALL_DOW, false, true,
         "0 0 1 feb/4 */1"},
        {"59 23 31 12 6", B(59), B(23), B(31), B(12), B(6), false, false, "59 23 31 12 6"},
        {"*/100 */24 */31 */12 */7", B(0), B(0), B(1), B(1), B(0), true, true,
         "*/100 */24 */31 */12 */7"},
        {"007 01 1,1,1 * *", B(7), B(1), B(1), ALL_MON, ALL_DOW, false, true, "007 01 1,1,1 * *"},
        {"@yearly", B(0), B(0), B(1), B(1), ALL_DOW, false, true, "@yearly"},
        {"@annually", B(0), B(0), B(1), B(1), ALL_DOW, false, true, "@annually"},
        {"@monthly", B(0), B(0), B(1), ALL_MON, ALL_DOW, false, true, "@monthly"},
        {"@weekly", B(0), B(0), ALL_DOM, ALL_MON, B(0), true, false, "@weekly"},
        {"@daily", B(0), B(0), ALL_DOM, ALL_MON, ALL_DOW, true, true, "@daily"},
        {" @midnight\t", B(0), B(0), ALL_DOM, ALL_MON, ALL_DOW, true, true, "@midnight"},
        {"@hourly", B(0), R(0, 23), ALL_DOM, ALL_MON, ALL_DOW, true, true, "@hourly"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron_schedule c;

        parse_ok(cases[i].expr, &c);
        assert_int_equal(c.minute, cases[i].minute);
        assert_int_equal(c.hour, cases[i].hour);
        assert_int_equal(c.dom, cases[i].dom);
        assert_int_equal(c.month, cases[i].month);
        assert_int_equal(c.dow, cases[i].dow);
        assert_int_equal(c.dom_star, cases[i].dom_star);
        assert_int_equal(c.dow_star, cases[i].dow_star);
        assert_string_equal(c.text, cases[i].text);
    }
}

#define FIELDS_HINT "expected 5 fields: minute hour day-of-month month day-of-week"
#define ITEMS_HINT  "items are *, N, N-M, */S, N-M/S or N/S, separated by commas"
#define DOW_VALUES  "values are 0-7 or sun-sat (0 and 7 are Sunday)"

static void test_parse_errors(void **state)
{
    static const struct {
        const char *expr;
        const char *err;
    } cases[] = {
        {"", "empty expression; " FIELDS_HINT},
        {" \t ", "empty expression; " FIELDS_HINT},
        {"0 25 * * *", "hour field \"25\": values are 0-23"},
        {"60 * * * *", "minute field \"60\": values are 0-59"},
        {"0,5,99999999999999999999 * * * *",
         "minute field \"0,5,99999999999999999999\": values are 0-59"},
        {"0 0 0 * *", "day-of-month field \"0\": values are 1-31"},
        {"0 0 1-32 * *", "day-of-month field \"1-32\": values are 1-31"},
        {"0 0 * 13 *", "month field \"13\": values are 1-12 or jan-dec"},
        {"0 0 * january *", "month field \"january\": values are 1-12 or jan-dec"},
        {"0 0 * * 8", "day-of-week field \"8\": " DOW_VALUES},
        {"0 0 * * sunday", "day-of-week field \"sunday\": " DOW_VALUES},
        /* Vixie reads sun as 0 here: 3.0 sets no day, 4.x rejects it; 5-7 is Friday to Sunday */
        {"0 0 * * fri-sun",
         "day-of-week field \"fri-sun\": range fri-sun runs backwards; " DOW_VALUES},
        {"0 22-2 * * *", "hour field \"22-2\": range 22-2 runs backwards; values are 0-23"},
        {"0 0 1 dec-jan *",
         "month field \"dec-jan\": range dec-jan runs backwards; values are 1-12 or jan-dec"},
        {"mon * * * *", "minute field \"mon\": values are 0-59"},
        {"0 0 jan * *", "day-of-month field \"jan\": values are 1-31"},
        {"*/0 * * * *", "minute field \"*/0\": a step must be 1 or more"},
        {"0 0 1 jan-mar/0 *", "month field \"jan-mar/0\": a step must be 1 or more"},
        {"1,,2 * * * *", "minute field \"1,,2\": a value is missing; " ITEMS_HINT},
        {"1, * * * *", "minute field \"1,\": a value is missing; " ITEMS_HINT},
        {",1 * * * *", "minute field \",1\": a value is missing; " ITEMS_HINT},
        {"5- * * * *", "minute field \"5-\": a value is missing; " ITEMS_HINT},
        {"*/ * * * *", "minute field \"*/\": a value is missing; " ITEMS_HINT},
        {"5x * * * *", "minute field \"5x\": unexpected 'x'; " ITEMS_HINT},
        {"1-2-3 * * * *", "minute field \"1-2-3\": unexpected '-'; " ITEMS_HINT},
        {"*5 * * * *", "minute field \"*5\": unexpected '5'; " ITEMS_HINT},
        {"-1 * * * *", "minute field \"-1\": unexpected '-'; " ITEMS_HINT},
        {"0 0 L * *", "day-of-month field \"L\": values are 1-31"},
        {"0 0 ? * *", "day-of-month field \"?\": unexpected '?'; " ITEMS_HINT},
        {"0 0 * * 5#3", "day-of-week field \"5#3\": unexpected '#'; " ITEMS_HINT},
        {"0 0 1/2/3 * *", "day-of-month field \"1/2/3\": unexpected '/'; " ITEMS_HINT},
        {"0 0 * * *\n", "day-of-week field \"*\n\": unexpected byte 0x0a; " ITEMS_HINT},
        {"@reboot", "@reboot runs only when cron starts, it has no schedule; use 5 fields"},
        {"@Daily", "unknown macro \"@Daily\"; accepted are @yearly, @annually, @monthly, "
                   "@weekly, @daily, @midnight and @hourly"},
        {"@daily 5", "@daily takes no further fields"},
        {"0 0 1 * * *", "6 fields: seconds (or year) fields are not accepted; " FIELDS_HINT},
        {"0 0 1 *", "4 fields; " FIELDS_HINT},
        {"0", "1 field; " FIELDS_HINT},
        {"1 2 3 4 5 6 7 8 9 10", "10 fields; " FIELDS_HINT},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron_schedule c;
        char err[256];

        memset(&c, 0xa5, sizeof(c));
        assert_int_equal(cron_parse(cases[i].expr, &c, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, cases[i].err);
        assert_int_equal(c.minute, 0); /* zeroed on error */
        assert_int_equal(c.month, 0);
        assert_string_equal(c.text, "");
    }
}

static void test_parse_err_buffer(void **state)
{
    struct cron_schedule c;
    char small[8];

    (void)state;
    assert_int_equal(cron_parse("0 25 * * *", &c, small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "hour fi"); /* truncated, terminated */
    assert_int_equal(cron_parse("0 25 * * *", &c, NULL, 0), -EINVAL);
    assert_int_equal(cron_parse(NULL, &c, small, sizeof(small)), -EINVAL);
}

/* "0,1,...,N-1 00 1 1 *" for the length limit: 127 characters with n = 43. */
static void long_expr(char *out, size_t outlen, int n, int spaces)
{
    size_t len = 0;

    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, outlen - len, "%s%d", i ? "," : "", i);
    snprintf(out + len, outlen - len, "%*s00 1 1 *", spaces, "");
}

static void test_parse_length(void **state)
{
    struct cron_schedule c;
    char expr[512], err[256];

    (void)state;
    long_expr(expr, sizeof(expr), 43, 1);
    assert_int_equal(strlen(expr), CRON_TEXT_MAX - 1);
    assert_int_equal(cron_parse(expr, &c, err, sizeof(err)), 0);
    assert_string_equal(c.text, expr);
    assert_int_equal(c.minute, R(0, 42));
    long_expr(expr, sizeof(expr), 43, 100); /* blanks do not count */
    assert_int_equal(cron_parse(expr, &c, err, sizeof(err)), 0);
    assert_int_equal(strlen(c.text), CRON_TEXT_MAX - 1);
    long_expr(expr, sizeof(expr), 44, 1);
    assert_int_equal(cron_parse(expr, &c, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "the expression is longer than 127 characters");
}

static void test_prev_next(void **state)
{
    static const struct {
        const char *expr;
        const char *now;
        const char *prev; /* NULL: -1 */
        const char *next;
    } cases[] = {
        /* Spilo's default, around and on its fire instant */
        {"0 1 * * *", "2025-03-10T09:30:00Z", "2025-03-10T01:00:00Z", "2025-03-11T01:00:00Z"},
        {"0 1 * * *", "2025-03-10T01:00:00Z", "2025-03-10T01:00:00Z", "2025-03-11T01:00:00Z"},
        {"0 1 * * *", "2025-03-10T00:59:59Z", "2025-03-09T01:00:00Z", "2025-03-10T01:00:00Z"},
        {"0 1 * * *", "2025-03-10T01:00:59Z", "2025-03-10T01:00:00Z", "2025-03-11T01:00:00Z"},
        {"0 1 * * *", "2024-12-31T23:00:00Z", "2024-12-31T01:00:00Z", "2025-01-01T01:00:00Z"},
        /* every ten minutes, across an hour and a year */
        {"*/10 * * * *", "2025-03-10T09:35:30Z", "2025-03-10T09:30:00Z", "2025-03-10T09:40:00Z"},
        {"*/10 * * * *", "2025-03-10T09:40:00Z", "2025-03-10T09:40:00Z", "2025-03-10T09:50:00Z"},
        {"*/10 * * * *", "2025-03-10T09:59:59Z", "2025-03-10T09:50:00Z", "2025-03-10T10:00:00Z"},
        {"*/10 * * * *", "2025-12-31T23:55:00Z", "2025-12-31T23:50:00Z", "2026-01-01T00:00:00Z"},
        {"59 23 * * *", "2025-12-31T23:59:30Z", "2025-12-31T23:59:00Z", "2026-01-01T23:59:00Z"},
        {"30 23 31 12 *", "2026-01-01T00:00:00Z", "2025-12-31T23:30:00Z", "2026-12-31T23:30:00Z"},
        /* month ends: the 31st skips short months */
        {"0 0 31 * *", "2025-04-15T00:00:00Z", "2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z"},
        {"0 0 31 * *", "2025-01-31T00:00:00Z", "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z"},
        {"0 0 30 * *", "2025-02-15T00:00:00Z", "2025-01-30T00:00:00Z", "2025-03-30T00:00:00Z"},
        {"0 0 1,30 * *", "2025-02-12T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"},
        /* leap days */
        {"0 12 29 2 *", "2025-03-10T00:00:00Z", "2024-02-29T12:00:00Z", "2028-02-29T12:00:00Z"},
        {"0 12 29 2 *", "2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z", "2028-02-29T12:00:00Z"},
        {"0 12 29 2 *", "2024-02-29T11:59:59Z", "2020-02-29T12:00:00Z", "2024-02-29T12:00:00Z"},
        {"59 23 * 2 *", "2024-03-01T00:00:00Z", "2024-02-29T23:59:00Z", "2025-02-01T23:59:00Z"},
        {"59 23 * 2 *", "2023-03-01T00:00:00Z", "2023-02-28T23:59:00Z", "2024-02-01T23:59:00Z"},
        {"0 0 29 2 *", "2100-03-01T00:00:00Z", "2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z"},
        {"0 0 29 2 *", "2000-03-01T00:00:00Z", "2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"},
        /* the OR rule: the 1st and every Monday (2025-03-10 and 03-31 are Mondays) */
        {"0 0 1 * mon", "2025-03-10T09:30:00Z", "2025-03-10T00:00:00Z", "2025-03-17T00:00:00Z"},
        {"0 0 1 * mon", "2025-03-31T12:00:00Z", "2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"},
        {"0 0 13 * fri", "2025-03-10T09:30:00Z", "2025-03-07T00:00:00Z", "2025-03-13T00:00:00Z"},
        /* day 30 never comes in February, the Fridays do */
        {"0 8 30 2 fri", "2025-03-10T09:30:00Z", "2025-02-28T08:00:00Z", "2026-02-06T08:00:00Z"},
        /* a full day field still ORs: every day */
        {"0 0 1-31 * mon", "2025-03-11T09:30:00Z", "2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z"},
        /* a starred field means AND, even with a step: Mondays on odd days */
        {"0 0 */2 * mon", "2025-03-10T09:30:00Z", "2025-03-03T00:00:00Z", "2025-03-17T00:00:00Z"},
        {"0 0 1 * */1", "2025-03-10T09:30:00Z", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"},
        /* names and Sunday as 7 */
        {"0 6 * jan-mar,DEC Sat,sun", "2025-03-10T09:30:00Z", "2025-03-09T06:00:00Z",
         "2025-03-15T06:00:00Z"},
        {"0 6 * jan-mar,DEC Sat,sun", "2025-03-30T09:30:00Z", "2025-03-30T06:00:00Z",
         "2025-12-06T06:00:00Z"},
        {"0 0 * * 7", "2025-03-10T09:30:00Z", "2025-03-09T00:00:00Z", "2025-03-16T00:00:00Z"},
        {"15 3 * * 6-7", "2025-03-10T09:30:00Z", "2025-03-09T03:15:00Z", "2025-03-15T03:15:00Z"},
        /* macros */
        {"@hourly", "2025-03-10T09:30:00Z", "2025-03-10T09:00:00Z", "2025-03-10T10:00:00Z"},
        {"@daily", "2025-03-10T09:30:00Z", "2025-03-10T00:00:00Z", "2025-03-11T00:00:00Z"},
        {"@weekly", "2025-03-10T09:30:00Z", "2025-03-09T00:00:00Z", "2025-03-16T00:00:00Z"},
        {"@monthly", "2025-03-10T09:30:00Z", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"},
        {"@yearly", "2025-03-10T09:30:00Z", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
        {"@annually", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
        /* never, or not within 96 months: Feb 29 on a Sunday is 2004, 2032, 2060 */
        {"0 0 30 2 *", "2025-03-10T09:30:00Z", NULL, NULL},
        {"0 0 31 4,6,9,11 *", "2025-03-10T09:30:00Z", NULL, NULL},
        {"0 0 29 2 */7", "2025-03-10T09:30:00Z", NULL, "2032-02-29T00:00:00Z"},
        {"0 0 29 2 */7", "2033-03-10T09:30:00Z", "2032-02-29T00:00:00Z", NULL},
        /* before 1970 and far away */
        {"0 0 1 1 *", "1969-06-01T00:00:00Z", "1969-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron_schedule c;
        int64_t now;

        parse_ok(cases[i].expr, &c);
        now = at(cases[i].now);
        if (cron_prev(&c, now) != at(cases[i].prev) || cron_next(&c, now) != at(cases[i].next))
            fail_msg("\"%s\" at %s: prev %lld (want %lld), next %lld (want %lld)", cases[i].expr,
                     cases[i].now, (long long)cron_prev(&c, now), (long long)at(cases[i].prev),
                     (long long)cron_next(&c, now), (long long)at(cases[i].next));
    }
}

static void test_limits(void **state)
{
    struct cron_schedule c, zero;

    (void)state;
    parse_ok("* * * * *", &c);
    assert_int_equal(cron_next(&c, -61), -60);
    assert_int_equal(cron_prev(&c, -61), -120);
    assert_int_equal(cron_prev(&c, -1), -60);
    assert_int_equal(cron_next(&c, -1), 0);
    assert_int_equal(cron_prev(&c, CRON_T_LIMIT_S), CRON_T_LIMIT_S - CRON_T_LIMIT_S % 60);
    assert_int_equal(cron_next(&c, CRON_T_LIMIT_S), -1); /* would be past the limit */
    assert_int_equal(cron_prev(&c, -CRON_T_LIMIT_S), -1);
    assert_int_equal(cron_next(&c, -CRON_T_LIMIT_S), -CRON_T_LIMIT_S + 40);
    assert_int_equal(cron_next(&c, INT64_MAX), -1);
    assert_int_equal(cron_prev(&c, INT64_MAX), -1);
    assert_int_equal(cron_next(&c, INT64_MIN), -1);
    assert_int_equal(cron_prev(&c, INT64_MIN), -1);
    parse_ok("0 0 1 1 *", &c);
    assert_int_equal(cron_next(&c, at("9999-12-31T23:59:59Z")), INT64_C(253402300800));
    assert_int_equal(cron_prev(&c, -CRON_T_LIMIT_S - 1), -1);
    assert_int_equal(cron_next(&c, CRON_T_LIMIT_S + 1), -1);
    /* a struct that was never parsed (or failed to) has no fire instants */
    memset(&zero, 0, sizeof(zero));
    assert_int_equal(cron_next(&zero, 0), -1);
    assert_int_equal(cron_prev(&zero, 0), -1);
}

static void test_day_matches(void **state)
{
    struct cron_schedule c;

    (void)state;
    parse_ok("0 0 1 * mon", &c); /* OR */
    assert_true(cron_day_matches(&c, 1, 3));
    assert_true(cron_day_matches(&c, 10, 1));
    assert_false(cron_day_matches(&c, 10, 2));
    parse_ok("0 0 */2 * mon", &c); /* AND */
    assert_true(cron_day_matches(&c, 17, 1));
    assert_false(cron_day_matches(&c, 10, 1));
    assert_false(cron_day_matches(&c, 17, 2));
    assert_false(cron_day_matches(&c, 0, 1));
    assert_false(cron_day_matches(&c, 17, 7));
}

/* Walks a whole year forwards with cron_next and backwards with cron_prev: the counts prove no
 * instant is skipped or repeated. */
static void test_walk_year(void **state)
{
    static const struct {
        const char *expr;
        int count; /* fire instants in 2024, a leap year */
    } cases[] = {
        {"*/10 * * * *", 366 * 24 * 6},
        {"0 1 * * *", 366},
        {"0 0 29 2 *", 1},
        {"0 0 31 * *", 7},
        /* 53 Mondays and 12 firsts, three of them Mondays (Jan, Apr, Jul) */
        {"0 0 1 * mon", 53 + 12 - 3},
        {"0 0 * * 0,7", 52},
        {"@weekly", 52},
        {"@monthly", 12},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron_schedule c;
        int64_t start = at("2024-01-01T00:00:00Z"), end = at("2025-01-01T00:00:00Z");
        int64_t t;
        int fwd = 0, back = 0;

        parse_ok(cases[i].expr, &c);
        for (t = cron_next(&c, start - 1); t != -1 && t < end; t = cron_next(&c, t)) {
            assert_int_equal(cron_prev(&c, t), t);
            assert_int_equal(cron_prev(&c, t + 59), t);
            fwd++;
        }
        for (t = cron_prev(&c, end - 1); t != -1 && t >= start; t = cron_prev(&c, t - 1)) {
            assert_int_equal(cron_next(&c, t - 1), t);
            back++;
        }
        if (fwd != cases[i].count || back != cases[i].count)
            fail_msg("\"%s\": %d forwards, %d backwards, want %d", cases[i].expr, fwd, back,
                     cases[i].count);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),         cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_err_buffer), cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_prev_next),        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_day_matches),      cmocka_unit_test(test_walk_year),
    };
    return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}

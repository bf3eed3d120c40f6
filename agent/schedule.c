/* schedule.c - BACKUP_SCHEDULE: the 5-field cron parser and the previous / next fire instant.
 * Follows Vixie cron (entry.c: a field starting with '*' sets DOM_STAR / DOW_STAR, day of week 7
 * is Sunday; cron.c: the day-of-month / day-of-week OR rule) with the common "N/S" extension, in
 * UTC. Owns: the field grammar, the error sentences, civil-calendar arithmetic on int64 seconds.
 * Must not: read the clock, allocate, log or keep state between calls. */
#include "schedule.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the fields ------------------------------------------------------------------------- */

enum cron_field_id { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

struct cron_field_def {
    const char *name;
    int low, high;            /* numbers accepted; "*" and "N/S" run up to high */
    const char *const *names; /* three-letter names, or NULL */
    unsigned n_names;
    int names_base;      /* the value of names[0] */
    const char *accepts; /* the end of every error sentence about a value */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* The day of week runs to 7 as in Vixie cron, so "*" is 0-7 and "5/1" is 5-7; bit 7 is folded
 * into bit 0 (Sunday) afterwards. */
static const struct cron_field_def field_defs[F_COUNT] = {
    {"minute", 0, 59, NULL, 0, 0, "values are 0-59"},
    {"hour", 0, 23, NULL, 0, 0, "values are 0-23"},
    {"day-of-month", 1, 31, NULL, 0, 0, "values are 1-31"},
    {"month", 1, 12, month_names, 12, 1, "values are 1-12 or jan-dec"},
    {"day-of-week", 0, 7, dow_names, 7, 0, "values are 0-7 or sun-sat (0 and 7 are Sunday)"},
};

static const char fields_hint[] = "expected 5 fields: minute hour day-of-month month day-of-week";

static const struct {
    const char *name;
    const char *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

#define MAX_FIELDS 8     /* fields remembered while splitting; more are only counted */
#define VALUE_CAP  10000 /* numbers stop growing here: no overflow, still out of every range */

static int set_err(char *err, size_t errlen, const char *fmt, ...) PRINTF(3, 4);

static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* One place for the sentence shape: `hour field "25": values are 0-23`. */
static int field_err(char *err, size_t errlen, const struct cron_field_def *f, const char *text,
                     size_t len, const char *what)
{
    return set_err(err, errlen, "%s field \"%.*s\": %s", f->name, (int)len, text, what);
}

/* Reads a number, or a name where the field has names, at *pp (moved past it).
 * Returns 0 with *v in the field's range, -EINVAL for a value outside it or an unknown name, or
 * -ENOENT when *pp does not start with a digit or a letter. */
static int read_value(const struct cron_field_def *f, const char **pp, const char *end, int *v)
{
    const char *p = *pp;
    int n = 0;

    if (p < end && *p >= '0' && *p <= '9') {
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (n < VALUE_CAP)
                n = n * 10 + (*p - '0');
    } else if (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        const char *word = p;
        unsigned i;

        for (; p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')); p++)
            ;
        *pp = p;
        if (!f->names || p - word != 3)
            return -EINVAL;
        for (i = 0; i < f->n_names; i++)
            if (strncasecmp(word, f->names[i], 3) == 0)
                break;
        if (i == f->n_names)
            return -EINVAL;
        *v = f->names_base + (int)i;
        return 0;
    } else {
        return -ENOENT;
    }
    *pp = p;
    if (n < f->low || n > f->high)
        return -EINVAL;
    *v = n;
    return 0;
}

/* An unexpected character (or the end of the item) at p. */
static int syntax_err(char *err, size_t errlen, const struct cron_field_def *f, const char *text,
                      size_t len, const char *p, const char *end)
{
    static const char items[] = "items are *, N, N-M, */S, N-M/S or N/S, separated by commas";
    unsigned char ch = p < end ? (unsigned char)*p : 0;
    char what[160];

    if (p == end || ch == ',')
        snprintf(what, sizeof(what), "a value is missing; %s", items);
    else if (ch > ' ' && ch < 0x7f)
        snprintf(what, sizeof(what), "unexpected '%c'; %s", ch, items);
    else
        snprintf(what, sizeof(what), "unexpected byte 0x%02x; %s", ch, items);
    return field_err(err, errlen, f, text, len, what);
}

/* Parses one field, text[0..len), into bits (bit v for value v). */
static int parse_field(const struct cron_field_def *f, const char *text, size_t len, uint64_t *bits,
                       char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    char what[160];

    *bits = 0;
    for (;;) {
        int lo, hi, step = 1, rc;
        const char *item = p;

        if (p < end && *p == '*') {
            p++;
            lo = f->low;
            hi = f->high;
        } else {
            rc = read_value(f, &p, end, &lo);
            if (rc == -ENOENT)
                return syntax_err(err, errlen, f, text, len, p, end);
            if (rc < 0)
                return field_err(err, errlen, f, text, len, f->accepts);
            hi = lo;
            if (p < end && *p == '-') {
                p++;
                rc = read_value(f, &p, end, &hi);
                if (rc == -ENOENT)
                    return syntax_err(err, errlen, f, text, len, p, end);
                if (rc < 0)
                    return field_err(err, errlen, f, text, len, f->accepts);
                if (hi < lo) {
                    snprintf(what, sizeof(what), "range %.*s runs backwards; %s", (int)(p - item),
                             item, f->accepts);
                    return field_err(err, errlen, f, text, len, what);
                }
            } else if (p < end && *p == '/') {
                hi = f->high; /* "N/S" is "N-max/S" */
            }
        }
        if (p < end && *p == '/') {
            p++;
            if (p == end || *p < '0' || *p > '9')
                return syntax_err(err, errlen, f, text, len, p, end);
            step = 0;
            for (; p < end && *p >= '0' && *p <= '9'; p++)
                if (step < VALUE_CAP)
                    step = step * 10 + (*p - '0');
            if (step == 0)
                return field_err(err, errlen, f, text, len, "a step must be 1 or more");
        }
        if (p < end && *p != ',')
            return syntax_err(err, errlen, f, text, len, p, end);
        for (int v = lo; v <= hi; v += step)
            *bits |= UINT64_C(1) << v;
        if (p == end)
            return 0;
        p++; /* the comma; an empty item after it is reported by the next round */
    }
}

/* Parses the five fields of a split expression into out (bitsets and star flags only). */
static int parse_fields(const char *const start[], const size_t len[], struct cron_schedule *out,
                        char *err, size_t errlen)
{
    uint64_t bits[F_COUNT];

    for (int i = 0; i < F_COUNT; i++) {
        int rc = parse_field(&field_defs[i], start[i], len[i], &bits[i], err, errlen);

        if (rc < 0)
            return rc;
    }
    if (bits[F_DOW] & (UINT64_C(1) << 7))
        bits[F_DOW] |= 1;
    out->minute = bits[F_MINUTE];
    out->hour = (uint32_t)bits[F_HOUR];
    out->dom = (uint32_t)bits[F_DOM];
    out->month = (uint16_t)bits[F_MONTH];
    out->dow = (uint8_t)(bits[F_DOW] & 0x7f);
    out->dom_star = start[F_DOM][0] == '*';
    out->dow_star = start[F_DOW][0] == '*';
    return 0;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Splits s at runs of blanks; remembers the first MAX_FIELDS fields, returns how many there are. */
static int split_fields(const char *s, const char *start[], size_t len[])
{
    int n = 0;

    for (;;) {
        const char *f;

        while (is_blank(*s))
            s++;
        if (!*s)
            return n;
        f = s;
        while (*s && !is_blank(*s))
            s++;
        if (n < MAX_FIELDS) {
            start[n] = f;
            len[n] = (size_t)(s - f);
        }
        n++;
    }
}

/* "@daily" and friends: the macro alone, parsed as its 5-field form, its name as the text. */
static int parse_macro(const char *name, size_t len, int n, struct cron_schedule *out, char *err,
                       size_t errlen)
{
    const char *start[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
    const char *expansion = NULL;
    int rc;

    if (len == strlen("@reboot") && memcmp(name, "@reboot", len) == 0)
        return set_err(err, errlen,
                       "@reboot runs only when cron starts, it has no schedule; use 5 fields");
    for (size_t i = 0; i < ARRAY_LEN(macros); i++)
        if (len == strlen(macros[i].name) && memcmp(name, macros[i].name, len) == 0)
            expansion = macros[i].expansion;
    if (!expansion)
        return set_err(err, errlen,
                       "unknown macro \"%.*s\"; accepted are @yearly, @annually, @monthly, "
                       "@weekly, @daily, @midnight and @hourly",
                       (int)(len > 40 ? 40 : len), name);
    if (n > 1)
        return set_err(err, errlen, "%.*s takes no further fields", (int)len, name);
    (void)split_fields(expansion, start, lens);
    rc = parse_fields(start, lens, out, err, errlen);
    if (rc < 0) /* cannot happen: the expansions are valid */
        return rc;
    memcpy(out->text, name, len); /* a known name, 10 characters at most */
    out->text[len] = '\0';
    return 0;
}

int cron_parse(const char *expr, struct cron_schedule *out, char *err, size_t errlen)
{
    const char *start[MAX_FIELDS];
    size_t len[MAX_FIELDS], total = 0;
    int n, rc;

    memset(out, 0, sizeof(*out));
    if (err && errlen > 0)
        err[0] = '\0';
    if (!expr)
        return set_err(err, errlen, "no expression; %s", fields_hint);
    n = split_fields(expr, start, len);
    if (n == 0)
        return set_err(err, errlen, "empty expression; %s", fields_hint);
    if (start[0][0] == '@')
        return parse_macro(start[0], len[0], n, out, err, errlen);
    if (n == 6)
        return set_err(err, errlen, "6 fields: seconds (or year) fields are not accepted; %s",
                       fields_hint);
    if (n != 5)
        return set_err(err, errlen, "%d field%s; %s", n, n == 1 ? "" : "s", fields_hint);
    for (int i = 0; i < n; i++)
        total += len[i] + 1;
    if (total > CRON_TEXT_MAX)
        return set_err(err, errlen, "the expression is longer than %d characters",
                       CRON_TEXT_MAX - 1);
    rc = parse_fields(start, len, out, err, errlen);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    total = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out->text + total, start[i], len[i]);
        total += len[i];
        out->text[total++] = i + 1 < n ? ' ' : '\0';
    }
    return 0;
}

/* ---- the search ------------------------------------------------------------------------- */

/* A UTC wall-clock minute. */
struct cron_tm {
    int64_t year;
    int month, day, hour, minute;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if (a % b != 0 && (a < 0) != (b < 0))
        q--;
    return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct cron_tm *tm)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    tm->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    tm->year = yoe + era * 400 + (tm->month <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m];
}

/* A minute-aligned instant into its wall-clock parts. */
static void tm_from_s(int64_t t_s, struct cron_tm *tm)
{
    int64_t days = floor_div(t_s, 86400), secs = t_s - days * 86400;

    civil_from_days(days, tm);
    tm->hour = (int)(secs / 3600);
    tm->minute = (int)(secs % 3600 / 60);
}

static int64_t tm_to_s(const struct cron_tm *tm)
{
    return days_from_civil(tm->year, tm->month, tm->day) * 86400 + tm->hour * 3600 +
           tm->minute * 60;
}

/* A found instant, or -1 when it lies beyond CRON_T_LIMIT_S (so that every answer is also a valid
 * argument, and is its own cron_prev). */
static int64_t tm_result(const struct cron_tm *tm)
{
    int64_t t_s = tm_to_s(tm);

    return t_s < -CRON_T_LIMIT_S || t_s > CRON_T_LIMIT_S ? -1 : t_s;
}

/* Day of week, 0 = Sunday, of a day number (1970-01-01 was a Thursday). */
static int weekday(int64_t days)
{
    return (int)(days - floor_div(days + 4, 7) * 7 + 4);
}

/* The lowest set bit >= from, or -1 (from <= 63). */
static int next_bit(uint64_t bits, int from)
{
    bits &= ~UINT64_C(0) << from;
    return bits ? __builtin_ctzll(bits) : -1;
}

/* The highest set bit <= upto, or -1 (upto <= 62). */
static int prev_bit(uint64_t bits, int upto)
{
    bits &= (UINT64_C(2) << upto) - 1;
    return bits ? 63 - __builtin_clzll(bits) : -1;
}

bool cron_day_matches(const struct cron_schedule *c, int dom, int dow)
{
    bool dom_ok, dow_ok;

    if (dom < 1 || dom > 31 || dow < 0 || dow > 6)
        return false;
    dom_ok = c->dom & (UINT32_C(1) << dom);
    dow_ok = c->dow & (1u << dow);
    if (c->dom_star || c->dow_star)
        return dom_ok && dow_ok;
    return dom_ok || dow_ok;
}

/* Both searches walk months, then days, then hours, and pick the minute from the bitset, so a
 * never-firing expression costs at most CRON_HORIZON_MONTHS + 1 month tests and the day tests of
 * its months. */
int64_t cron_next(const struct cron_schedule *c, int64_t t_s)
{
    struct cron_tm tm;

    if (t_s < -CRON_T_LIMIT_S || t_s > CRON_T_LIMIT_S)
        return -1;
    tm_from_s((floor_div(t_s, 60) + 1) * 60, &tm);
    for (int i = 0; i <= CRON_HORIZON_MONTHS; i++) {
        if (c->month & (1u << tm.month)) {
            int dim = days_in_month(tm.year, tm.month);
            int64_t first = days_from_civil(tm.year, tm.month, 1);

            for (; tm.day <= dim; tm.day++, tm.hour = 0, tm.minute = 0) {
                if (!cron_day_matches(c, tm.day, weekday(first + tm.day - 1)))
                    continue;
                for (; tm.hour < 24; tm.hour++, tm.minute = 0) {
                    int m;

                    if (!(c->hour & (UINT32_C(1) << tm.hour)))
                        continue;
                    m = next_bit(c->minute, tm.minute);
                    if (m >= 0) {
                        tm.minute = m;
                        return tm_result(&tm);
                    }
                }
            }
        }
        tm.day = 1;
        tm.hour = 0;
        tm.minute = 0;
        if (++tm.month > 12) {
            tm.month = 1;
            tm.year++;
        }
    }
    return -1;
}

int64_t cron_prev(const struct cron_schedule *c, int64_t t_s)
{
    struct cron_tm tm;

    if (t_s < -CRON_T_LIMIT_S || t_s > CRON_T_LIMIT_S)
        return -1;
    tm_from_s(floor_div(t_s, 60) * 60, &tm);
    for (int i = 0; i <= CRON_HORIZON_MONTHS; i++) {
        if (c->month & (1u << tm.month)) {
            int64_t first = days_from_civil(tm.year, tm.month, 1);

            for (; tm.day >= 1; tm.day--, tm.hour = 23, tm.minute = 59) {
                if (!cron_day_matches(c, tm.day, weekday(first + tm.day - 1)))
                    continue;
                for (; tm.hour >= 0; tm.hour--, tm.minute = 59) {
                    int m;

                    if (!(c->hour & (UINT32_C(1) << tm.hour)))
                        continue;
                    m = prev_bit(c->minute, tm.minute);
                    if (m >= 0) {
                        tm.minute = m;
                        return tm_result(&tm);
                    }
                }
            }
        }
        if (--tm.month < 1) {
            tm.month = 12;
            tm.year--;
        }
        tm.day = days_in_month(tm.year, tm.month);
        tm.hour = 23;
        tm.minute = 59;
    }
    return -1;
}

int64_t cron_slot_of(void *ctx, int64_t t_s)
{
    return cron_prev((const struct cron_schedule *)ctx, t_s);
}

int64_t cron_default_grace_s(const struct cron_schedule *c, int64_t t_s)
{
    const int64_t cap = 3600;
    int64_t prev = cron_prev(c, t_s), next = cron_next(c, t_s), before, gap;

    if (prev < 0 || next < 0)
        return cap;
    gap = next - prev;
    before = cron_prev(c, prev - 1);
    if (before >= 0 && prev - before < gap)
        gap = prev - before;
    return gap / 2 < cap ? gap / 2 : cap;
}

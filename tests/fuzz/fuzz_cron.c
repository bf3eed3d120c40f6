/* fuzz_cron.c - libFuzzer harness for schedule.c. The input is a cron expression (up to its first
 * NUL byte; the 8 bytes after it, if any, are one more instant). Every input must parse or give an
 * error sentence; a parsed schedule is asked for cron_prev / cron_next at a few instants, which
 * must be whole minutes with prev <= t < next and agree with each other. Any breach aborts.
 * Run: make fuzz FUZZ_SECONDS=60 (seeds in tests/fuzz/corpus/cron). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

static void check_at(const struct cron_schedule *c, int64_t t)
{
    int64_t prev = cron_prev(c, t), next = cron_next(c, t);

    if (prev != -1 && (prev > t || prev % 60 != 0))
        abort();
    if (next != -1 && (next <= t || next % 60 != 0))
        abort();
    if (prev != -1 && next != -1 && !(prev <= t && t < next))
        abort();
    /* a fire instant is its own prev, and the next after the minute before it */
    if (prev != -1 && (cron_prev(c, prev) != prev || cron_next(c, prev - 1) != prev))
        abort();
    if (next != -1 && (cron_prev(c, next) != next || cron_next(c, next - 1) != next))
        abort();
    /* nothing fires between prev and next: next(prev) is next, unless next is past the horizon
     * counted from prev */
    if (prev != -1 && next != -1) {
        int64_t after = cron_next(c, prev);

        if (after != next && after != -1)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t instants[] = {
        0,           /* 1970-01-01, a Thursday */
        951782400,   /* 2000-02-29 */
        1741599000,  /* 2025-03-10T09:30:00Z */
        1767225599,  /* 2025-12-31T23:59:59Z */
        4107542400,  /* 2100-03-01: 2100 is no leap year */
        -2208988800, /* 1900-01-01 */
        CRON_T_LIMIT_S,
        -CRON_T_LIMIT_S,
    };
    const uint8_t *nul = memchr(data, 0, size);
    size_t len = nul ? (size_t)(nul - data) : size;
    struct cron_schedule c;
    char err[256];
    char *expr = malloc(len + 1);

    if (!expr)
        return 0;
    memcpy(expr, data, len);
    expr[len] = '\0';
    if (cron_parse(expr, &c, err, sizeof(err)) != 0) {
        if (err[0] == '\0' || strlen(err) >= sizeof(err))
            abort(); /* every error has a sentence */
        free(expr);
        return 0;
    }
    if (strlen(c.text) >= CRON_TEXT_MAX || c.minute >> 60 || c.hour >> 24 || !(c.dom >> 1) ||
        c.dom & 1 || !(c.month >> 1) || c.month >> 13 || c.month & 1 || !c.dow || c.dow >> 7)
        abort(); /* every field has a value, and only values in range */
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++)
        check_at(&c, instants[i]);
    if (nul && size - len - 1 >= sizeof(int64_t)) {
        int64_t t;

        memcpy(&t, nul + 1, sizeof(t));
        check_at(&c, t % (CRON_T_LIMIT_S + 1));
    }
    free(expr);
    return 0;
}

/* check_result.c - the value a check run produces. Owns its details object. */
#include "check_result.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "secret.h"
#include "util.h"

void check_result_init(struct check_result *r)
{
    r->status = VERDICT_UNKNOWN;
    r->summary[0] = '\0';
    r->role[0] = '\0';
    memset(r->causes, 0, sizeof(r->causes));
    r->details = json_object();
    if (!r->details)
        abort();
}

void check_result_cleanup(struct check_result *r)
{
    json_decref(r->details);
    r->details = NULL;
}

void check_result_set(struct check_result *r, enum verdict v, const char *fmt, ...)
{
    va_list ap;

    r->status = v;
    if (v != VERDICT_CRITICAL)
        memset(r->causes, 0, sizeof(r->causes));
    va_start(ap, fmt);
    secret_vformat(r->summary, sizeof(r->summary), fmt, ap); /* scrubbed before the cut */
    va_end(ap);
}

void check_result_cause(struct check_result *r, enum cause c)
{
    if (r->status == VERDICT_CRITICAL && (unsigned)c < CAUSE_COUNT)
        r->causes[c] = true;
}

void check_result_move(struct check_result *dst, struct check_result *src)
{
    json_decref(dst->details);
    *dst = *src;
    src->details = NULL;
}

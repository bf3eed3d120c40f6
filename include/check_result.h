/* check_result.h - what one run of one check produces: a verdict, a one-sentence summary a person
 * can act on, and structured details (a jansson object owned by the result). A failed check is
 * data, not an error code: return codes elsewhere mean "could not run". */
#ifndef AGENT_CHECK_RESULT_H
#define AGENT_CHECK_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "causes.h"
#include "common.h"

struct check_result {
    enum verdict status;
    char summary[512];
    json_t *details; /* object, owned; never NULL after check_result_init() */
    char role[16];   /* the member's role when this check learnt it ("leader", "replica"), else "";
                        status_publish() copies it into the snapshot */
    /* The catalogued causes of a critical verdict (include/causes.def); all false otherwise. */
    bool causes[CAUSE_COUNT];
};

void check_result_init(struct check_result *r);
void check_result_cleanup(struct check_result *r);
/* Sets status and summary (printf style). Never put secret values in a summary. */
void check_result_set(struct check_result *r, enum verdict v, const char *fmt, ...) PRINTF(3, 4);
/* Marks a cause of the verdict: only while the status is critical (set the status first), so
 * that a site whose verdict depends on a threshold can mark it unconditionally. */
void check_result_cause(struct check_result *r, enum cause c);
/* Moves src into dst (dst must be initialised; its old details are released). */
void check_result_move(struct check_result *dst, struct check_result *src);

#endif

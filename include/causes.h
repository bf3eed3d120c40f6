/* causes.h - the verdict catalogue (include/causes.def): every way a check turns critical, with
 * the alert that pages for it. A check marks the causes of its critical verdict on the result;
 * status copies them and /metrics exports spilo_agent_check_cause{check,cause} for each. Pure. */
#ifndef AGENT_CAUSES_H
#define AGENT_CAUSES_H

#include <stddef.h>
#include <stdio.h>

enum cause {
#define CAUSE(e, check, id, alert, text) CAUSE_##e,
#include "causes.def"
#undef CAUSE
    CAUSE_COUNT
};

struct cause_info {
    const char *check; /* the check's name */
    const char *id;    /* the `cause` label */
    const char *alert; /* the alert in deploy/monitoring */
    const char *text;  /* one line for people */
};

extern const struct cause_info cause_catalogue[CAUSE_COUNT];

/* The cause with this check and id, or -1. */
int cause_find(const char *check, const char *id);
/* The catalogue as a Markdown table (`spilo-agent --help-causes`, docs/checks/catalogue.md). */
void cause_write_table(FILE *out);

#endif

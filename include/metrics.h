/* metrics.h - Prometheus text exposition (format 0.0.4) rendered from a status snapshot and the
 * process figures the caller read (procstat). Pure. Numbers are written in the shortest form
 * that reads back as the same double (as Go's strconv 'g' -1 does), integers below 1e15 plain. */
#ifndef AGENT_METRICS_H
#define AGENT_METRICS_H

#include "buf.h"
#include "procstat.h"
#include "status.h"

/* proc NULL: no process_* families. */
void metrics_render(const struct snapshot *snap, const struct procstat *proc, struct buf *out);
/* An integer below 1e15 as digits, else the shortest "%.Ng" (N = 1..17) that round-trips; NaN,
 * +Inf, -Inf as Prometheus spells them. */
void metrics_format_number(double v, char *out, size_t len);

#endif

/* metrics.h - Prometheus text exposition (format 0.0.4) rendered from a status snapshot. Pure. */
#ifndef AGENT_METRICS_H
#define AGENT_METRICS_H

#include "buf.h"
#include "status.h"

void metrics_render(const struct snapshot *snap, struct buf *out);

#endif

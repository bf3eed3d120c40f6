/* report.h - the human report of `spilo-agent check`. Pure: formats a snapshot. */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "status.h"

void report_write(FILE *out, const struct snapshot *s, int64_t now_s, bool color);

#endif

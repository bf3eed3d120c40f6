/* report.h - the human report of `spilo-agent check`. Pure: formats a snapshot. */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "status.h"

void report_write(FILE *out, const struct snapshot *s, int64_t now_s, bool color);
/* The one-line output of a Nagios/Icinga plugin (monitoring-plugins guidelines):
 * "SPILO-AGENT CRITICAL - <the checks that are not ok, worst first> | <perfdata>\n", perfdata
 * 'label'=value[UOM];warn;crit;min;max: each check's status and duration. */
void report_write_nagios(FILE *out, const struct snapshot *s);

#endif

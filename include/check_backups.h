/* check_backups.h - the backups check: lists <prefix>/basebackups_005/ in S3 (one delimited
 * listing, paginated), fetches what the verdict needs (newest sentinel, metadata.json for
 * permanence, the newest object of unfinished folders), and hands it to backups_evaluate(). */
#ifndef AGENT_CHECK_BACKUPS_H
#define AGENT_CHECK_BACKUPS_H

#include "check.h"

extern const struct check_def check_backups;

/* What it keeps between runs (the object cache of sentinels and metadata.json, the WAL listing)
 * the check registry keeps and frees (check_run_kept). */

#endif

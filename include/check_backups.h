/* check_backups.h - the backups check: lists <prefix>/basebackups_005/ in S3 (one delimited
 * listing, paginated), fetches what the verdict needs (newest sentinel, metadata.json for
 * permanence, the newest object of unfinished folders), and hands it to backups_evaluate(). */
#ifndef AGENT_CHECK_BACKUPS_H
#define AGENT_CHECK_BACKUPS_H

#include "check.h"

extern const struct check_def check_backups;

/* Drops the objects cached between runs (sentinels, metadata.json). */
void check_backups_cache_clear(void);

#endif

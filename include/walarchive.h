/* walarchive.h - the wal_archive verdict from facts PostgreSQL reported (pg_settings,
 * pg_stat_archiver, archive_status). Pure: the caller asks PostgreSQL and S3. */
#ifndef AGENT_WALARCHIVE_H
#define AGENT_WALARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "check_result.h"

#define WALARCHIVE_UNKNOWN_TIME INT64_MIN

struct walarchive_facts {
    bool in_recovery;
    const char *archive_mode;    /* "on", "off", "always" */
    const char *archive_command; /* may be "" */
    const char *archive_library; /* "" unless a module archives */
    int64_t archive_timeout_s;   /* 0 = off */
    int64_t archived_count;
    const char *last_archived_wal; /* NULL when none */
    int64_t last_archived_at_s;    /* WALARCHIVE_UNKNOWN_TIME when none */
    int64_t failed_count;
    const char *last_failed_wal;
    int64_t last_failed_at_s;
    int64_t stats_reset_at_s;
    int64_t ready_count;        /* -1: could not be read (needs superuser/pg_monitor) */
    int64_t oldest_ready_age_s; /* -1 when none waiting or unknown */
    const char *current_wal;    /* pg_walfile_name(pg_current_wal_lsn()) on the leader */
    int64_t now_s;              /* the server's clock */
    int64_t prev_failed_count;  /* from the previous run of this agent, -1 when none */
    /* S3 side, filled by the backups code when it could look: */
    int s3_segment_found; /* -1 not checked, 0 missing, 1 present */
    const char *s3_segment_key;
};

void walarchive_facts_init(struct walarchive_facts *f);
void walarchive_evaluate(const struct walarchive_facts *f, struct check_result *out);
/* archive_command as shown to people: the text, or "***" when it seems to carry a secret. */
const char *walarchive_shown_command(const char *cmd);

#endif

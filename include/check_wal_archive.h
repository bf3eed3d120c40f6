/* check_wal_archive.h - the wal_archive check: pg_stat_archiver and the archive settings through a
 * pgjob session, the last archived segment looked up in S3, walarchive_evaluate() decides. Also
 * reports the member's role. */
#ifndef AGENT_CHECK_WAL_ARCHIVE_H
#define AGENT_CHECK_WAL_ARCHIVE_H

#include "check.h"

extern const struct check_def check_wal_archive;

#endif

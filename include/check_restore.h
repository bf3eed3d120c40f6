/* check_restore.h - the restore check: gathers the clone settings (environment, clone envdirs) on
 * the thread pool, then asks PostgreSQL (pg_is_in_recovery), Patroni (/patroni state) and S3 (a
 * base backup under the cluster's own prefix; one where the clone restores from) on the loop, and
 * hands the facts to restore_evaluate(). details.finished and details.clone_keys drive
 * `spilo-agent cleanup`. */
#ifndef AGENT_CHECK_RESTORE_H
#define AGENT_CHECK_RESTORE_H

#include "check.h"

extern const struct check_def check_restore;

#endif

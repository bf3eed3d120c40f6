/* check_defs.c - the built-in checks, in the order reports show them. */
#include "check.h"
#include "check_backups.h"
#include "check_pg.h"
#include "check_restore.h"
#include "check_walg_env.h"

const struct check_def *const check_defs[] = {
    &check_walg_env, &check_backups, &check_pg_hba, &check_wal_archive, &check_restore,
};
const size_t check_defs_count = sizeof(check_defs) / sizeof(check_defs[0]);

/* check_defs.c - the built-in checks, in the order reports show them. */
#include "check_defs.h"

#include <stdbool.h>
#include <string.h>

#include "check_backups.h"
#include "check_pg_hba.h"
#include "check_wal_archive.h"
#include "check_restore.h"
#include "check_walg_env.h"

const struct check_def *const check_defs[] = {
    &check_walg_env, &check_backups, &check_pg_hba, &check_wal_archive, &check_restore,
};
const size_t check_defs_count = sizeof(check_defs) / sizeof(check_defs[0]);

const struct check_def *check_defs_find(const char *name)
{
    for (size_t i = 0; i < check_defs_count; i++) {
        if (strcmp(check_defs[i]->name, name) == 0)
            return check_defs[i];
    }
    return NULL;
}

size_t check_defs_select(const char *const *only, size_t n_only, const struct check_def **out,
                         size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < check_defs_count && n < max; i++) {
        bool wanted = !only;

        for (size_t j = 0; only && j < n_only; j++)
            wanted = wanted || strcmp(only[j], check_defs[i]->name) == 0;
        if (wanted)
            out[n++] = check_defs[i];
    }
    return n;
}

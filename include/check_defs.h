/* check_defs.h - the built-in checks, in the order reports show them: the top of the check glue,
 * which daemon.c and main.c hand to the registry (checks_new()). */
#ifndef AGENT_CHECK_DEFS_H
#define AGENT_CHECK_DEFS_H

#include <stddef.h>

#include "check.h"

extern const struct check_def *const check_defs[];
extern const size_t check_defs_count;

/* The built-in check called name, or NULL. */
const struct check_def *check_defs_find(const char *name);
/* The checks named in only[0..n_only) (every one when only is NULL), in report order, into
 * out[0..max). Returns how many. */
size_t check_defs_select(const char *const *only, size_t n_only, const struct check_def **out,
                         size_t max);

#endif

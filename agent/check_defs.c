/* check_defs.c - the built-in checks, in the order reports show them. */
#include "check.h"

const struct check_def *const check_defs[] = {
    NULL,
};
const size_t check_defs_count = 0;

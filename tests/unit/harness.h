/* harness.h - what every unit test includes: cmocka and the path of the shared fixtures. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

/* Fixture path: FIXTURES_DIR (or $SPILO_AGENT_FIXTURES) + "/" + rel, in a static buffer. */
static inline const char *fixture(const char *rel)
{
    static char path[4096];
    const char *base = getenv("SPILO_AGENT_FIXTURES");

    snprintf(path, sizeof(path), "%s/%s", base && *base ? base : FIXTURES_DIR, rel);
    return path;
}

#endif

/* harness.h - what every unit test includes: cmocka and the path of the shared fixtures. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* The whole file (NUL-terminated, malloc'd); its length into *len unless len is NULL. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* ---- details of a check result: dget(d, "a.b.c") walks objects
 * ------------------------------------------------------------------------ */

static inline json_t *dget(json_t *d, const char *path)
{
    char key[64];

    while (d && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        /* a number steps into an array: "gaps.0.first" */
        d = json_is_array(d) ? json_array_get(d, strtoul(key, NULL, 10)) : json_object_get(d, key);
        path += n + (dot ? 1 : 0);
    }
    return d;
}

static inline const char *dstr(json_t *d, const char *path)
{
    json_t *v = dget(d, path);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static inline json_int_t dint(json_t *d, const char *path)
{
    json_t *v = dget(d, path);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static inline bool dbool(json_t *d, const char *path)
{
    json_t *v = dget(d, path);

    assert_true(json_is_boolean(v));
    return json_is_true(v);
}

static inline void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) {
        print_error("\"%s\"\n  does not contain \"%s\"\n", hay, needle);
        fail();
    }
}

#endif

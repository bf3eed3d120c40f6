/* Unit tests of envdir.c: runit `chpst -e` semantics on real files, the fixture envdirs, and the
 * names whose values are secrets. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envdir.h"
#include "util.h"

static char dir[] = "/tmp/test_envdir.XXXXXX";

static void put(const char *name, const char *data, size_t len)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static void test_value_rules(void **state)
{
    static const struct {
        const char *data;
        size_t len;
        const char *want; /* NULL = unset */
    } cases[] = {
        {"", 0, NULL},                    /* 0 bytes unset */
        {"\n", 1, ""},                    /* empty first line: set, empty */
        {"value", 5, "value"},            /* Spilo writes no newline */
        {"value\n", 6, "value"},          /* a newline ends the value */
        {"value \t \n", 9, "value"},      /* trailing blanks stripped */
        {"  lead", 6, "  lead"},          /* leading blanks kept */
        {"crlf\r\n", 6, "crlf\r"},        /* \r is not a blank for chpst */
        {"first\nsecond\n", 13, "first"}, /* only the first line */
        {"a\0b", 3, "a\nb"},              /* NUL becomes newline */
        {"   ", 3, ""},                   /* all blanks: empty, still set */
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *v = envdir_value_from_bytes(cases[i].data, cases[i].len);

        if (!cases[i].want) {
            assert_null(v);
            continue;
        }
        assert_non_null(v);
        assert_string_equal(v, cases[i].want);
        free(v);
    }
}

static void test_load_directory(void **state)
{
    struct envdir e;
    char err[256], sub[512];

    (void)state;
    put("WALG_S3_PREFIX", "s3://b/spilo/x/wal/15", 21);
    put("AWS_REGION", "eu-central-1  \n", 15);
    put("EMPTY_UNSET", "", 0);
    put("EMPTY_SET", "\n", 1);
    put(".hidden", "x", 1);
    snprintf(sub, sizeof(sub), "%s/subdir", dir);
    assert_int_equal(mkdir(sub, 0700), 0);

    assert_int_equal(envdir_load(dir, &e, err, sizeof(err)), 0);
    assert_int_equal(e.n, 3);
    assert_string_equal(envdir_get(&e, "WALG_S3_PREFIX"), "s3://b/spilo/x/wal/15");
    assert_string_equal(envdir_get(&e, "AWS_REGION"), "eu-central-1");
    assert_string_equal(envdir_get(&e, "EMPTY_SET"), "");
    assert_null(envdir_get(&e, "EMPTY_UNSET"));
    assert_null(envdir_get(&e, ".hidden"));
    assert_null(envdir_get(&e, "subdir"));
    assert_int_equal(e.skipped, 1); /* the directory */
    /* sorted by name */
    for (size_t i = 1; i < e.n; i++)
        assert_true(strcmp(e.vars[i - 1].name, e.vars[i].name) < 0);
    envdir_free(&e);
}

static void test_load_errors(void **state)
{
    struct envdir e;
    char err[256], path[512];

    (void)state;
    assert_int_equal(envdir_load("/nonexistent/wal-e.d/env", &e, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/wal-e.d/env does not exist"));
    assert_int_equal(e.n, 0);
    envdir_free(&e);

    put("plainfile", "x", 1);
    snprintf(path, sizeof(path), "%s/plainfile", dir);
    assert_int_equal(envdir_load(path, &e, err, sizeof(err)), -ENOTDIR);
    assert_non_null(strstr(err, "is not a directory"));
    envdir_free(&e);
}

static bool has_finding(const struct envdir *e, const char *part)
{
    for (size_t i = 0; i < e->n_findings; i++)
        if (strstr(e->findings[i], part))
            return true;
    return false;
}

/* A dangling symlink once made the whole envdir "not mounted" (and the agent check another bucket);
 * a link to /proc/self/environ put the environment into /status. Both are findings now, the rest
 * of the envdir is read, and nothing outside the directory is. */
static void test_load_hostile_entries(void **state)
{
    struct envdir e;
    char err[256], hd[600], path[700];
    static char tmpl[] = "/tmp/test_envdir_hostile.XXXXXX";
    char *h = mkdtemp(tmpl);
    int fd;

    (void)state;
    assert_non_null(h);
    snprintf(hd, sizeof(hd), "%s", h);
#define HPUT(name, data)                                                                           \
    do {                                                                                           \
        snprintf(path, sizeof(path), "%s/%s", hd, name);                                           \
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);                                       \
        assert_true(fd >= 0);                                                                      \
        assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));                    \
        close(fd);                                                                                 \
    } while (0)
    HPUT("WALG_S3_PREFIX", "s3://right-bucket/spilo/x/wal/15\n");
    HPUT("AWS_REGION", "eu-\xff\xfe-1\n");
    snprintf(path, sizeof(path), "%s/AWS_SECRET_ACCESS_KEY", hd);
    assert_int_equal(symlink("/proc/self/environ", path), 0);
    snprintf(path, sizeof(path), "%s/WALE_S3_ENDPOINT", hd);
    assert_int_equal(symlink("/nonexistent/dangling", path), 0);
    snprintf(path, sizeof(path), "%s/AWS_ENDPOINT", hd);
    assert_int_equal(mkfifo(path, 0600), 0);

    assert_int_equal(envdir_load(hd, &e, err, sizeof(err)), 0);
    assert_string_equal(envdir_get(&e, "WALG_S3_PREFIX"), "s3://right-bucket/spilo/x/wal/15");
    assert_null(envdir_get(&e, "AWS_SECRET_ACCESS_KEY"));
    assert_null(envdir_get(&e, "WALE_S3_ENDPOINT"));
    assert_null(envdir_get(&e, "AWS_ENDPOINT"));
    assert_string_equal(envdir_get(&e, "AWS_REGION"), "eu-?"
                                                      "?-1");
    assert_true(has_finding(&e, "AWS_SECRET_ACCESS_KEY is a symbolic link"));
    assert_true(has_finding(&e, "WALE_S3_ENDPOINT is a symbolic link"));
    assert_true(has_finding(&e, "AWS_ENDPOINT is not a regular file"));
    assert_true(has_finding(&e, "AWS_REGION holds bytes that are not UTF-8"));
    envdir_free(&e);

    /* Too many files: the variables the agent reads are kept whatever the directory order. */
    for (int i = 0; i < ENVDIR_MAX_VARS + 40; i++) {
        char name[32];

        snprintf(name, sizeof(name), "A_FILLER_%03d", i);
        HPUT(name, "x\n");
    }
    HPUT("AWS_SESSION_TOKEN", "session\n");
    HPUT("ZZ_NOT_NEEDED", "z\n");
    assert_int_equal(envdir_load(hd, &e, err, sizeof(err)), 0);
    assert_string_equal(envdir_get(&e, "AWS_SESSION_TOKEN"), "session");
    assert_string_equal(envdir_get(&e, "WALG_S3_PREFIX"), "s3://right-bucket/spilo/x/wal/15");
    assert_true(has_finding(&e, "more than the 256 variables"));
    envdir_free(&e);
#undef HPUT
    snprintf(path, sizeof(path), "rm -rf '%s'", hd);
    assert_int_equal(system(path), 0);
}

static void test_fixture(void **state)
{
    struct envdir e;
    char err[256];

    (void)state;
    assert_int_equal(envdir_load(fixture("envdir/walg-s3-ok/env"), &e, err, sizeof(err)), 0);
    assert_int_equal(e.n, 14);
    assert_string_equal(envdir_get(&e, "WALG_S3_PREFIX"),
                        "s3://acme-harbor-pg-backups/spilo/postgresql-harbor-harborcluster/"
                        "5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15");
    assert_string_equal(envdir_get(&e, "BACKUP_NUM_TO_RETAIN"), "5");
    assert_string_equal(envdir_get(&e, "WALG_S3_SSE"), "AES256");
    envdir_free(&e);
}

static void test_set_unset(void **state)
{
    struct envdir e;

    (void)state;
    envdir_init(&e, "mem");
    envdir_set(&e, "B", "2");
    envdir_set(&e, "A", "1");
    envdir_set(&e, "C", "3");
    envdir_set(&e, "B", "22");
    assert_int_equal(e.n, 3);
    assert_string_equal(envdir_get(&e, "B"), "22");
    envdir_set(&e, "A", NULL);
    envdir_set(&e, "nope", NULL);
    assert_int_equal(e.n, 2);
    assert_null(envdir_get(&e, "A"));
    assert_string_equal(e.vars[0].name, "B");
    envdir_free(&e);
}

static void test_secrets(void **state)
{
    static const struct {
        const char *name;
        bool secret;
    } cases[] = {
        {"AWS_SECRET_ACCESS_KEY", true},
        {"AWS_ACCESS_KEY_ID", true},
        {"AWS_SESSION_TOKEN", true},
        {"AWS_SECRET_KEY", true},
        {"CLONE_AWS_SECRET_ACCESS_KEY", true},
        {"CLONE_AWS_ACCESS_KEY_ID", true},
        {"STANDBY_AWS_SESSION_TOKEN", true},
        {"WALG_LIBSODIUM_KEY", true},
        {"WALG_PGP_KEY", true},
        {"WALG_PGP_KEY_PASSPHRASE", true},
        {"POSTGRES_PASSWORD", true},
        {"https_proxy", true},
        {"AWS_WEB_IDENTITY_TOKEN_FILE", false},
        {"WALG_PGP_KEY_PATH", false},
        {"WALG_LIBSODIUM_KEY_PATH", false},
        {"WALG_S3_PREFIX", false},
        {"AWS_REGION", false},
        {"AWS_ROLE_ARN", false},
        {"WALG_S3_SSE_KMS_ID", false},
        {"no_proxy", false},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (envdir_is_secret(cases[i].name) != cases[i].secret)
            fail_msg("%s: expected secret=%d", cases[i].name, cases[i].secret);
    }
    assert_string_equal(envdir_shown("AWS_SECRET_ACCESS_KEY", "x"), ENVDIR_REDACTED);
    assert_string_equal(envdir_shown("AWS_REGION", "eu-west-1"), "eu-west-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_rules), cmocka_unit_test(test_load_directory),
        cmocka_unit_test(test_load_errors), cmocka_unit_test(test_load_hostile_entries),
        cmocka_unit_test(test_fixture),     cmocka_unit_test(test_set_unset),
        cmocka_unit_test(test_secrets),
    };
    return cmocka_run_group_tests_name("envdir", tests, setup, teardown);
}

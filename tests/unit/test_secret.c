/* Unit tests of secret.c: the secret file reader (regular file, FIFO never blocks, size limit, no
 * NUL or other non-printable byte, trailing newline) and the scrub registry (every registered value
 * and every URL password, before any cut). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s.h"
#include "secret.h"

static char tmpdir[] = "/tmp/spilo-agent-secret-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    secret_forget_all();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const void *data, size_t n)
{
    static char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_reader_accepts(void **state)
{
    char err[512], *v;

    (void)state;
    assert_int_equal(secret_file_read(put("t", "abc.DEF-123_xyz\n", 16), 0, &v, err, sizeof(err)),
                     0);
    assert_string_equal(v, "abc.DEF-123_xyz");
    secret_free(v);
    assert_int_equal(secret_file_read(put("t", "tok\r\n", 5), 0, &v, err, sizeof(err)), 0);
    assert_string_equal(v, "tok");
    secret_free(v);
    assert_int_equal(secret_file_read(put("t", "tok", 3), 0, &v, err, sizeof(err)), 0);
    assert_string_equal(v, "tok");
    secret_free(v);
    secret_free(NULL);
}

/* head -c 32 /dev/urandom: a NUL first or inside used to cut the token and pass the minimum. */
static void test_reader_refuses_binary(void **state)
{
    static const struct {
        const char *data;
        size_t n;
        const char *why;
    } cases[] = {
        {"\0abcdefghijklmnopqrstuvwxyz", 27, "a NUL byte at byte 0"},
        {"abcdefghijklmnopqrst\0uvwxyz", 27, "a NUL byte at byte 20"},
        {"abcdefghijklmnop\x1b[2Jqrst", 24, "a control byte"},
        {"abcdefgh ijklmnopqrst", 21, "a blank"},
        {"abcdefghij\nklmnopqrst\n", 22, "a line break"},
        {"abcdefghijklmnop\xc3\xa9", 18, "a non-ASCII byte"},
        {"\n", 1, "is empty"},
        {"", 0, "is empty"},
    };
    char err[512], *v = (char *)1;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *p = put("bin", cases[i].data, cases[i].n);

        assert_int_equal(secret_file_read(p, 0, &v, err, sizeof(err)), -EINVAL);
        assert_null(v);
        assert_non_null(strstr(err, cases[i].why));
        assert_non_null(strstr(err, p));
        assert_null(strstr(err, "abcdefgh"));
    }
}

static void test_reader_not_regular(void **state)
{
    char path[256], err[512], *v;

    (void)state;
    /* A FIFO with no writer: open() would block forever without O_NONBLOCK. */
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(secret_file_read(path, 0, &v, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "a FIFO"));
    assert_int_equal(secret_file_read(tmpdir, 0, &v, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "a directory"));
    assert_int_equal(secret_file_read("/dev/zero", 0, &v, err, sizeof(err)), -EINVAL);
    snprintf(path, sizeof(path), "%s/none", tmpdir);
    assert_int_equal(secret_file_read(path, 0, &v, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, path));
    /* A symlink to a regular file is followed (Kubernetes mounts secrets through ..data links). */
    snprintf(path, sizeof(path), "%s/link", tmpdir);
    put("target", "linked-token\n", 13);
    assert_int_equal(symlink("target", path), 0);
    assert_int_equal(secret_file_read(path, 0, &v, err, sizeof(err)), 0);
    assert_string_equal(v, "linked-token");
    secret_free(v);
}

static void test_reader_size(void **state)
{
    char big[200], err[512], *v;

    (void)state;
    memset(big, 'x', sizeof(big));
    assert_int_equal(secret_file_read(put("big", big, sizeof(big)), 100, &v, err, sizeof(err)),
                     -E2BIG);
    assert_non_null(strstr(err, "more than the 100"));
    assert_int_equal(secret_file_read(put("big", big, 100), 100, &v, err, sizeof(err)), 0);
    assert_int_equal(strlen(v), 100);
    secret_free(v);
}

static void test_scrub(void **state)
{
    char s[512], cut[32];

    (void)state;
    secret_forget_all();
    secret_register("AKIAIOSFODNN7EXAMPLE");
    secret_register("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    secret_register("abc"); /* too short: ignored */
    snprintf(s, sizeof(s),
             "key AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
             "twice wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY abc");
    assert_true(secret_scrub(s));
    assert_string_equal(s, "key *** and *** twice *** abc");
    assert_false(secret_scrub(s));

    /* Scrubbed before the cut: no prefix of the secret survives. */
    secret_scrub_copy("0123456789 wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY tail", cut, 26);
    assert_string_equal(cut, "0123456789 *** tail");
    secret_scrub_copy("0123456789abcdefghij wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", cut, 26);
    assert_null(strstr(cut, "wJal"));

    snprintf(s, sizeof(s),
             "proxy http://user:hunter2hunter@proxy:3128/ and "
             "https://minio:pw@s3.local:9000 and https://host/a:b@c and "
             "https://user@host");
    assert_true(secret_scrub(s));
    assert_string_equal(s, "proxy http://user:***@proxy:3128/ and https://minio:**@s3.local:9000 "
                           "and https://host/a:b@c and https://user@host");
    secret_forget("AKIAIOSFODNN7EXAMPLE");
    snprintf(s, sizeof(s), "AKIAIOSFODNN7EXAMPLE");
    assert_false(secret_scrub(s));

    char *u = secret_redact_url("https://a:secretpass@example.com/x");
    assert_string_equal(u, "https://a:***@example.com/x");
    free(u);
    for (int i = 0; i < SECRET_REGISTRY_MAX + 5; i++) {
        snprintf(s, sizeof(s), "secret-number-%d", i);
        secret_register(s);
    }
    snprintf(s, sizeof(s), "secret-number-%d", SECRET_REGISTRY_MAX + 4);
    assert_true(secret_scrub(s));
    secret_forget_all();
}

static void vformat(char *out, size_t len, const char *fmt, ...) PRINTF(3, 4);
static void vformat(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    secret_vformat(out, len, fmt, ap);
    va_end(ap);
}

/* Messages are scrubbed before they are cut (log lines, cleanup output, summaries), and a
 * Kubernetes error body that echoes the token loses it before any excerpt is taken. */
static void test_scrub_before_cut(void **state)
{
    char out[40], msg[1024], body[1200];
    static const char token[] = "eyJhbGciOiJSUzI1NiJ9.kubeServiceAccountToken.signature";
    struct k8s_ref ref = {
        .resource = "configmaps", .kind = "ConfigMap", .namespace = "ns", .name = "cm"};
    struct k8s_failure f = {.api = "https://admin:apiPassw0rd@10.0.0.1:443",
                            .verb = K8S_GET,
                            .ref = &ref,
                            .http_status = 500,
                            .timeout_ms = 1000};

    (void)state;
    secret_forget_all();
    secret_register(token);
    vformat(out, sizeof(out), "%.30s %s", "012345678901234567890123456789", token);
    assert_string_equal(out, "012345678901234567890123456789 ***");
    vformat(out, sizeof(out), "%.34s %s", "0123456789012345678901234567890123", token);
    assert_null(strstr(out, "eyJ"));

    snprintf(
        body, sizeof(body),
        "{\"kind\":\"Status\",\"code\":500,\"reason\":\"InternalError\",\"message\":\"%.390s "
        "you sent: Bearer %s\"}",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "x"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        token);
    f.body = body;
    f.body_len = strlen(body);
    (void)k8s_describe_failure(&f, msg, sizeof(msg));
    assert_null(strstr(msg, "eyJhbG"));
    assert_null(strstr(msg, "apiPassw0rd"));
    assert_non_null(strstr(msg, "admin:***@10.0.0.1"));
    /* Without a Status: the raw excerpt of 160 bytes cuts through the token, still scrubbed. */
    snprintf(body, sizeof(body), "%.150s%s", msg, token);
    f.body_len = strlen(body);
    (void)k8s_describe_failure(&f, msg, sizeof(msg));
    assert_null(strstr(msg, "eyJhbG"));
    secret_forget_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_accepts),
        cmocka_unit_test(test_reader_refuses_binary),
        cmocka_unit_test(test_reader_not_regular),
        cmocka_unit_test(test_reader_size),
        cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_scrub_before_cut),
    };
    return cmocka_run_group_tests_name("secret", tests, setup, teardown);
}

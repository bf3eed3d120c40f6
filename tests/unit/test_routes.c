/* Unit tests of routes.c: the path -> renderer table over a snapshot (status codes, content types,
 * 404 and 405 answers), the cached /status and /metrics bodies (rendered once per snapshot and
 * second), and the guards of POST /cleanup that answer before any Kubernetes request. */
#include "harness.h"

#include "config.h"
#include "http.h"
#include "log.h"
#include "routes.h"
#include "status.h"

extern char **environ;

static const char *const names[] = {"backups", "pg_hba"};

static void ask(struct routes_ctx *ctx, const char *method, const char *path, const char *auth,
                struct http_response *resp)
{
    struct http_request req = {.method = method, .path = path, .authorization = auth};

    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, HTTP_RESPONSE_MAX);
    routes_handle(&req, resp, ctx);
}

static void publish(const char *name, enum verdict v, const char *summary)
{
    struct check_result r;

    check_result_init(&r);
    check_result_set(&r, v, "%s", summary);
    status_publish(name, &r, 1741599000, 5);
    check_result_cleanup(&r);
}

static struct config *cfg;
static struct routes_ctx ctx;

static int setup(void **state)
{
    char err[512];

    (void)state;
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
    assert_int_equal(config_load(NULL, NULL, 0, environ, &cfg, err, sizeof(err)), 0);
    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = &cfg;
    status_init(names, 2, 1741598000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    routes_cache_clear();
    status_shutdown();
    config_unref(cfg);
    return 0;
}

static void test_probes(void **state)
{
    struct http_response r;

    (void)state;
    ask(&ctx, "GET", "/livez", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ok\n");
    buf_cleanup(&r.body);
    ask(&ctx, "GET", "/readyz", NULL, &r);
    assert_int_equal(r.status, 503);
    assert_contains(r.body.data, "not ready: ");
    buf_cleanup(&r.body);
    status_set_config_loaded(true);
    publish("backups", VERDICT_OK, "3 backups");
    publish("pg_hba", VERDICT_CRITICAL, "no rule");
    ask(&ctx, "HEAD", "/readyz", NULL, &r);
    assert_int_equal(r.status, 200); /* ready: every check has run, whatever its verdict */
    buf_cleanup(&r.body);
}

static void test_checks_and_errors(void **state)
{
    struct http_response r;

    (void)state;
    ask(&ctx, "GET", "/checks/backups", NULL, &r);
    assert_int_equal(r.status, 503); /* not run yet */
    buf_cleanup(&r.body);
    publish("backups", VERDICT_WARNING, "old");
    publish("pg_hba", VERDICT_CRITICAL, "no rule");
    ask(&ctx, "GET", "/checks/backups", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_contains(r.body.data, "\"name\":\"backups\"");
    buf_cleanup(&r.body);
    ask(&ctx, "GET", "/checks/pg_hba", NULL, &r);
    assert_int_equal(r.status, 503);
    buf_cleanup(&r.body);
    ask(&ctx, "GET", "/checks/nope", NULL, &r);
    assert_int_equal(r.status, 404);
    buf_cleanup(&r.body);
    ask(&ctx, "POST", "/status", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.extra_headers, "Allow: GET, HEAD\r\n");
    buf_cleanup(&r.body);
    ask(&ctx, "GET", "/nothing", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_contains(r.body.data, "try /livez");
    buf_cleanup(&r.body);
    /* POST /cleanup is no route unless [cleanup] allow_http */
    ask(&ctx, "POST", "/cleanup", "Bearer x", &r);
    assert_int_equal(r.status, 404);
    buf_cleanup(&r.body);
}

static void test_cached_bodies(void **state)
{
    struct http_response a, b, c;

    (void)state;
    publish("backups", VERDICT_OK, "3 backups");
    ask(&ctx, "GET", "/metrics", NULL, &a);
    ask(&ctx, "GET", "/metrics", NULL, &b);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(a.body.data, b.body.data);
    publish("backups", VERDICT_CRITICAL, "missed");
    ask(&ctx, "GET", "/metrics", NULL, &c);
    assert_string_not_equal(a.body.data, c.body.data); /* a new snapshot renders anew */
    buf_cleanup(&a.body);
    buf_cleanup(&b.body);
    buf_cleanup(&c.body);
    ask(&ctx, "GET", "/status", NULL, &a);
    ask(&ctx, "GET", "/status", NULL, &b);
    assert_int_equal(a.status, 200);
    assert_contains(a.body.data, "\"summary\":\"missed\"");
    if (a.body.len == b.body.len) /* the same second: the same bytes */
        assert_memory_equal(a.body.data, b.body.data, a.body.len);
    buf_cleanup(&a.body);
    buf_cleanup(&b.body);
}

static void test_cleanup_guards(void **state)
{
    struct http_response r;

    (void)state;
    cfg->cleanup_allow_http = true;
    ask(&ctx, "GET", "/cleanup", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.extra_headers, "Allow: POST\r\n");
    buf_cleanup(&r.body);
    ask(&ctx, "POST", "/cleanup", NULL, &r);
    assert_int_equal(r.status, 401); /* no token configured: nobody is let in */
    assert_contains(r.extra_headers, "WWW-Authenticate: Bearer");
    buf_cleanup(&r.body);
    cfg->cleanup_allow_http = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checks_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_guards, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

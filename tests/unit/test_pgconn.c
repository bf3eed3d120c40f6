/* test_pgconn.c - the libpq driver against a live PostgreSQL and against local listeners.
 *
 * Needs SPILO_AGENT_TEST_PG_CONNINFO (a superuser conninfo) for the tests that talk to a server;
 * without it those are skipped and only the refused / blackhole / cancel / parsing tests run.
 * tests/integration/test_pgconn.sh starts a throwaway server and also sets:
 *   SPILO_AGENT_TEST_PG_FIXTURE=1   the server has its pg_hba.conf and roles (see that script)
 *   SPILO_AGENT_TEST_PG_PASSWORD    the password of role spilo_agent_pw
 *   SPILO_AGENT_TEST_PG_SSL=1       the server has ssl = on
 * Every test ends by running the loop dry and asserting uv_loop_close() == 0: no handle leaks. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "pgconn.h"

#define MAX_STMTS 8

/* A TCP listener on 127.0.0.1:0 that accepts and never answers. */
struct blackhole {
    uv_tcp_t server;
    uv_tcp_t *clients[8];
    int n_clients;
    int port;
    bool closed;
};

/* What the completion callback saw, copied out (the PGresults die after the callback). */
struct outcome {
    int calls;
    bool inside_api; /* true while the test is inside pgconn_run() or pgconn_cancel() */
    bool called_inside_api;
    int rc;
    enum pgconn_err kind;
    char error[512];
    char sqlstate[6];
    size_t n_results;
    int rows[MAX_STMTS];
    char *first[MAX_STMTS]; /* first column of the first row of each statement, or NULL */
    bool connected, used_password, ssl_in_use;
    char server_version[64];
    int server_version_num;
    uint64_t started_ns;
    uint64_t elapsed_ms;
    bool steal;       /* take results[0] out in the callback */
    PGresult *stolen; /* freed by the test */
    bool cancel_in_cb;
    struct pgconn *pc;
    struct blackhole *bh; /* closed when the session ends */
};

static bool live_note_printed;

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *live_conninfo(void)
{
    const char *ci = getenv("SPILO_AGENT_TEST_PG_CONNINFO");

    if (!ci || !*ci) {
        if (!live_note_printed)
            print_message("SPILO_AGENT_TEST_PG_CONNINFO is not set: skipping the tests that need "
                          "a live PostgreSQL (tests/integration/test_pgconn.sh sets it)\n");
        live_note_printed = true;
        skip();
    }
    return ci;
}

static bool env_on(const char *name)
{
    const char *v = getenv(name);

    return v && strcmp(v, "1") == 0;
}

/* Needs the server and pg_hba.conf of tests/integration/test_pgconn.sh. */
static const char *fixture_conninfo(void)
{
    const char *ci = live_conninfo();

    if (!env_on("SPILO_AGENT_TEST_PG_FIXTURE")) {
        print_message("SPILO_AGENT_TEST_PG_FIXTURE is not set: skipping a pg_hba test\n");
        skip();
    }
    return ci;
}

/* A keyword's value in the live conninfo (tests only: parsing is not driving libpq). */
static char *conninfo_get(const char *conninfo, const char *key)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    char *v = NULL;

    assert_non_null(opts);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, key) == 0 && o->val)
            v = strdup(o->val);
    }
    PQconninfoFree(opts);
    return v;
}

static char *cat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);

    assert_non_null(s);
    memcpy(s, a, la);
    s[la] = ' ';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd); /* bound, never listened: connecting is refused */
    return port;
}

static void blackhole_closed_cb(uv_handle_t *h)
{
    if (h->data)
        free(h);
}

static void blackhole_conn_cb(uv_stream_t *s, int status)
{
    struct blackhole *bh = s->data;
    uv_tcp_t *c;

    if (status < 0 || bh->n_clients >= (int)ARRAY_LEN(bh->clients))
        return;
    c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(uv_tcp_init(s->loop, c), 0);
    c->data = c; /* freed in the close callback */
    assert_int_equal(uv_accept(s, (uv_stream_t *)c), 0);
    bh->clients[bh->n_clients++] = c; /* never read, never written */
}

static void blackhole_start(uv_loop_t *loop, struct blackhole *bh)
{
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(bh, 0, sizeof(*bh));
    assert_int_equal(uv_tcp_init(loop, &bh->server), 0);
    bh->server.data = bh;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    assert_int_equal(uv_tcp_bind(&bh->server, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&bh->server, 8, blackhole_conn_cb), 0);
    assert_int_equal(uv_tcp_getsockname(&bh->server, (struct sockaddr *)&ss, &len), 0);
    bh->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void blackhole_close(struct blackhole *bh)
{
    if (bh->closed)
        return;
    bh->closed = true;
    bh->server.data = NULL;
    uv_close((uv_handle_t *)&bh->server, blackhole_closed_cb);
    for (int i = 0; i < bh->n_clients; i++)
        uv_close((uv_handle_t *)bh->clients[i], blackhole_closed_cb);
}

static void done_cb(struct pgconn_result *res, void *arg)
{
    struct outcome *o = arg;

    o->calls++;
    o->called_inside_api = o->inside_api;
    o->elapsed_ms = (uv_hrtime() - o->started_ns) / 1000000;
    o->rc = res->rc;
    o->kind = res->kind;
    snprintf(o->error, sizeof(o->error), "%s", res->error);
    snprintf(o->sqlstate, sizeof(o->sqlstate), "%s", res->sqlstate);
    o->n_results = res->n_results;
    for (size_t i = 0; i < res->n_results && i < MAX_STMTS; i++) {
        const char *v = pgconn_value(res, i, 0, 0);

        o->rows[i] = pgconn_rows(res, i);
        o->first[i] = v ? strdup(v) : NULL;
    }
    o->connected = res->connected;
    o->used_password = res->used_password;
    o->ssl_in_use = res->ssl_in_use;
    snprintf(o->server_version, sizeof(o->server_version), "%s", res->server_version);
    o->server_version_num = res->server_version_num;
    if (o->steal)
        o->stolen = pgconn_result_steal(res, 0);
    if (o->cancel_in_cb)
        pgconn_cancel(o->pc); /* must be a harmless no-op */
    if (o->bh)
        blackhole_close(o->bh);
}

static void outcome_cleanup(struct outcome *o)
{
    for (size_t i = 0; i < MAX_STMTS; i++)
        free(o->first[i]);
    PQclear(o->stolen);
}

static void session_start(uv_loop_t *loop, const char *conninfo, const char *const *sql, size_t n,
                          uint64_t timeout_ms, struct outcome *o)
{
    o->started_ns = uv_hrtime();
    o->inside_api = true;
    assert_int_equal(pgconn_run(loop, conninfo, sql, n, timeout_ms, done_cb, o, &o->pc), 0);
    o->inside_api = false;
    assert_non_null(o->pc);
    assert_int_equal(o->calls, 0); /* never from inside pgconn_run() */
}

/* Runs the loop until nothing is left, then proves that every handle was closed. */
static void loop_finish(uv_loop_t *loop)
{
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void run_one(const char *conninfo, const char *const *sql, size_t n, uint64_t timeout_ms,
                    struct outcome *o)
{
    uv_loop_t loop;

    assert_int_equal(uv_loop_init(&loop), 0);
    session_start(&loop, conninfo, sql, n, timeout_ms, o);
    loop_finish(&loop);
    assert_int_equal(o->calls, 1);
    assert_false(o->called_inside_api);
}

/* ---- tests without a server ---------------------------------------------------------------- */

static void test_bad_arguments(void **state)
{
    uv_loop_t loop;
    struct pgconn *pc = (struct pgconn *)&loop;
    const char *sql[] = {NULL};
    struct outcome o = {0};

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(pgconn_run(&loop, "", NULL, 0, 1000, NULL, &o, &pc), -EINVAL);
    assert_null(pc);
    assert_int_equal(pgconn_run(&loop, "", NULL, 0, 0, done_cb, &o, NULL), -EINVAL);
    assert_int_equal(pgconn_run(&loop, "", NULL, 1, 1000, done_cb, &o, NULL), -EINVAL);
    assert_int_equal(pgconn_run(&loop, "", sql, 1, 1000, done_cb, &o, NULL), -EINVAL);
    assert_int_equal(pgconn_run(NULL, "", NULL, 0, 1000, done_cb, &o, NULL), -EINVAL);
    pgconn_cancel(NULL);
    loop_finish(&loop);
    assert_int_equal(o.calls, 0);
}

static void test_refused(void **state)
{
    char ci[128];
    struct outcome o = {0};

    (void)state;
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=x dbname=x sslmode=disable",
             closed_port());
    run_one(ci, NULL, 0, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_CONNECT);
    assert_int_equal(o.rc, -ENOTCONN);
    assert_non_null(strstr(o.error, "refused"));
    assert_non_null(strstr(o.error, "127.0.0.1"));
    assert_string_equal(o.sqlstate, "");
    assert_false(o.connected);
    assert_true(o.elapsed_ms < 2500); /* at once, not at the deadline (slack for valgrind) */
    outcome_cleanup(&o);
}

static void test_invalid_conninfo_hides_secrets(void **state)
{
    struct outcome o = {0};

    (void)state;
    run_one("host=127.0.0.1 hunter2", NULL, 0, 5000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_CONNECT);
    assert_non_null(strstr(o.error, "connection string is invalid"));
    assert_null(strstr(o.error, "hunter2"));
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    run_one("postgresql://u:hunter2%zz@h/db", NULL, 0, 5000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_CONNECT);
    assert_null(strstr(o.error, "hunter2"));
    outcome_cleanup(&o);

    /* Parsed fine, refused later: the password does not appear either. */
    memset(&o, 0, sizeof(o));
    run_one("host=127.0.0.1 port=1 password=hunter2 sslmode=bogus", NULL, 0, 5000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_CONNECT);
    assert_non_null(strstr(o.error, "sslmode"));
    assert_null(strstr(o.error, "hunter2"));
    outcome_cleanup(&o);
}

static void check_blackhole_timeout(const char *extra, const char *stage)
{
    uv_loop_t loop;
    struct blackhole bh;
    struct outcome o = {0};
    char ci[256];

    assert_int_equal(uv_loop_init(&loop), 0);
    blackhole_start(&loop, &bh);
    o.bh = &bh;
    /* connect_timeout=1 would be 1 s; libpq ignores it under PQconnectPoll, our deadline rules. */
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=x dbname=x connect_timeout=1 %s", bh.port,
             extra);
    session_start(&loop, ci, NULL, 0, 300, &o);
    loop_finish(&loop);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.kind, PGCONN_ERR_TIMEOUT);
    assert_int_equal(o.rc, -ETIMEDOUT);
    assert_true(o.elapsed_ms >= 290);
    assert_true(o.elapsed_ms < 2000);
    assert_true(bh.n_clients >= 1);
    assert_non_null(strstr(o.error, "did not answer within 300 ms"));
    assert_non_null(strstr(o.error, stage));
    outcome_cleanup(&o);
}

static void test_blackhole_deadline(void **state)
{
    (void)state;
    check_blackhole_timeout("sslmode=disable", "waiting for the server to answer the login");
    check_blackhole_timeout("sslmode=prefer", "negotiating SSL");
}

static void cancel_timer_cb(uv_timer_t *t)
{
    struct outcome *o = t->data;

    o->inside_api = true;
    pgconn_cancel(o->pc);
    pgconn_cancel(o->pc); /* twice: the second does nothing */
    o->inside_api = false;
    uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel_while_connecting(void **state)
{
    uv_loop_t loop;
    uv_timer_t t;
    struct blackhole bh;
    struct outcome o = {0};
    char ci[128];

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    blackhole_start(&loop, &bh);
    o.bh = &bh;
    o.cancel_in_cb = true;
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=x dbname=x sslmode=disable", bh.port);
    session_start(&loop, ci, NULL, 0, 10000, &o);
    assert_int_equal(uv_timer_init(&loop, &t), 0);
    t.data = &o;
    assert_int_equal(uv_timer_start(&t, cancel_timer_cb, 50, 0), 0);
    loop_finish(&loop);
    assert_int_equal(o.calls, 1);
    assert_false(o.called_inside_api); /* delivered from the loop, not from pgconn_cancel() */
    assert_int_equal(o.kind, PGCONN_ERR_CANCELED);
    assert_int_equal(o.rc, -ECANCELED);
    assert_non_null(strstr(o.error, "canceled while connecting"));
    assert_true(o.elapsed_ms < 2000);
    outcome_cleanup(&o);
}

static void test_cancel_at_once(void **state)
{
    uv_loop_t loop;
    struct outcome o = {0};
    char ci[128];

    (void)state;
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d sslmode=disable", closed_port());
    assert_int_equal(uv_loop_init(&loop), 0);
    session_start(&loop, ci, NULL, 0, 10000, &o);
    /* Already failed (refused inside PQconnectStartParams) or still connecting: either way one
     * callback, from the loop, and cancel does not replace an outcome that is already known. */
    o.inside_api = true;
    pgconn_cancel(o.pc);
    o.inside_api = false;
    assert_int_equal(o.calls, 0);
    loop_finish(&loop);
    assert_int_equal(o.calls, 1);
    assert_false(o.called_inside_api);
    assert_true(o.kind == PGCONN_ERR_CANCELED || o.kind == PGCONN_ERR_CONNECT);
    outcome_cleanup(&o);
}

static void test_redact(void **state)
{
    char out[256];

    (void)state;
    pgconn_redact_conninfo("host=db port=5432 user=postgres password=s3cr3t sslmode=require", out,
                           sizeof(out));
    assert_string_equal(out, "user=postgres password=*** host=db port=5432 sslmode=require");
    pgconn_redact_conninfo("postgresql://admin:s3cr3t@db.example:6432/app?sslpassword=k3y", out,
                           sizeof(out));
    assert_null(strstr(out, "s3cr3t"));
    assert_null(strstr(out, "k3y"));
    assert_non_null(strstr(out, "password=***"));
    assert_non_null(strstr(out, "sslpassword=***"));
    assert_non_null(strstr(out, "host=db.example"));
    pgconn_redact_conninfo("host='/run/my sock' application_name=it\\'s", out, sizeof(out));
    assert_string_equal(out, "host='/run/my sock' application_name='it\\'s'");
    pgconn_redact_conninfo("mydb", out, sizeof(out));
    assert_string_equal(out, "dbname=mydb");
    pgconn_redact_conninfo("host=x password", out, sizeof(out));
    assert_string_equal(out, "(unparsable connection string)");
    pgconn_redact_conninfo("", out, sizeof(out));
    assert_string_equal(out, "");
    /* Too small: whole items only, never a piece of a value. */
    pgconn_redact_conninfo("password=s3cr3t host=averyveryverylonghostname", out, 16);
    assert_string_equal(out, "password=***");
    assert_string_equal(pgconn_err_name(PGCONN_ERR_AUTH), "auth");
    assert_string_equal(pgconn_err_name(PGCONN_ERR_TIMEOUT), "timeout");
}

/* ---- tests against a live server ----------------------------------------------------------- */

static void test_success_multi(void **state)
{
    const char *sql[] = {
        "SELECT version()",
        "SELECT pg_is_in_recovery()",
        "SELECT current_setting('application_name')",
        "SELECT 1; SELECT 2 UNION ALL SELECT 3",
        "SET application_name = 'x'",
    };
    struct outcome o = {0};
    const char *ci = live_conninfo();

    (void)state;
    o.steal = true;
    run_one(ci, sql, ARRAY_LEN(sql), 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.kind, PGCONN_ERR_NONE);
    assert_string_equal(o.error, "");
    assert_int_equal(o.n_results, ARRAY_LEN(sql));
    assert_true(o.connected);
    assert_true(o.server_version_num >= 90600);
    assert_true(o.server_version[0] >= '1' && o.server_version[0] <= '9');
    assert_non_null(o.first[1]);
    assert_string_equal(o.first[1], "f");
    assert_string_equal(o.first[2], "spilo-agent");
    assert_int_equal(o.rows[3], 2); /* the last result of the string is kept */
    assert_string_equal(o.first[3], "2");
    assert_int_equal(o.rows[4], 0);
    assert_null(o.first[4]);
    /* Taken out in the callback: still ours afterwards. */
    assert_non_null(o.stolen);
    assert_int_equal(strncmp(PQgetvalue(o.stolen, 0, 0), "PostgreSQL ", 11), 0);
    outcome_cleanup(&o);
}

static void test_login_only_and_app_name(void **state)
{
    const char *ci = live_conninfo();
    const char *sql[] = {"SELECT current_setting('application_name')"};
    char *own = cat(ci, "application_name=pgconn_test");
    char *host = conninfo_get(ci, "host"), *port = conninfo_get(ci, "port");
    char *user = conninfo_get(ci, "user"), *db = conninfo_get(ci, "dbname");
    char uri[512];
    struct outcome o = {0};

    (void)state;
    run_one(ci, NULL, 0, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_true(o.connected);
    assert_int_equal(o.n_results, 0);
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    run_one(own, sql, 1, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_string_equal(o.first[0], "pgconn_test");
    outcome_cleanup(&o);

    /* A URI is expanded as well. */
    snprintf(uri, sizeof(uri), "postgresql:///%s?host=%s&port=%s&user=%s&application_name=uri",
             db ? db : "postgres", host ? host : "", port ? port : "5432",
             user ? user : "postgres");
    memset(&o, 0, sizeof(o));
    run_one(uri, sql, 1, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_string_equal(o.first[0], "uri");
    outcome_cleanup(&o);
    free(own);
    free(host);
    free(port);
    free(user);
    free(db);
}

static void test_statement_fails(void **state)
{
    const char *sql[] = {
        "SELECT 1",
        "SELECT * FROM spilo_agent_no_such_table",
        "SELECT 3",
    };
    struct outcome o = {0};

    (void)state;
    run_one(live_conninfo(), sql, ARRAY_LEN(sql), 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_QUERY);
    assert_int_equal(o.rc, -EIO);
    assert_string_equal(o.sqlstate, "42P01");
    assert_non_null(strstr(o.error, "statement 2 of 3 failed"));
    assert_non_null(strstr(o.error, "spilo_agent_no_such_table"));
    assert_non_null(strstr(o.error, "SQLSTATE 42P01"));
    assert_true(o.connected);
    assert_int_equal(o.n_results, 2); /* the first result and the error */
    assert_string_equal(o.first[0], "1");
    outcome_cleanup(&o);
}

static void test_statement_deadline(void **state)
{
    const char *sql[] = {"SELECT 1", "SELECT pg_sleep(10)"};
    struct outcome o = {0};

    (void)state;
    run_one(live_conninfo(), sql, ARRAY_LEN(sql), 1000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_TIMEOUT);
    assert_non_null(strstr(o.error, "while running statement 2 of 2"));
    assert_int_equal(o.n_results, 1);
    assert_true(o.elapsed_ms >= 990 && o.elapsed_ms < 3000);
    outcome_cleanup(&o);
}

static void test_cancel_during_statement(void **state)
{
    const char *sql[] = {"SELECT pg_sleep(10)"};
    const char *ci = live_conninfo();
    uv_loop_t loop;
    uv_timer_t t;
    struct outcome o = {0};

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    session_start(&loop, ci, sql, 1, 10000, &o);
    assert_int_equal(uv_timer_init(&loop, &t), 0);
    t.data = &o;
    /* 1 s: connected by then even under valgrind, and far from the end of pg_sleep(10). */
    assert_int_equal(uv_timer_start(&t, cancel_timer_cb, 1000, 0), 0);
    loop_finish(&loop);
    assert_int_equal(o.calls, 1);
    assert_false(o.called_inside_api);
    assert_int_equal(o.kind, PGCONN_ERR_CANCELED);
    assert_non_null(strstr(o.error, "canceled while running statement 1 of 1"));
    assert_true(o.connected);
    assert_true(o.elapsed_ms < 3000);
    outcome_cleanup(&o);
}

static void test_login_refused_no_hba_line(void **state)
{
    char *ci = cat(live_conninfo(), "user=spilo_agent_nohba");
    struct outcome o = {0};

    (void)state;
    run_one(ci, NULL, 0, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_AUTH);
    assert_int_equal(o.rc, -EACCES);
    assert_string_equal(o.sqlstate, "28000");
    assert_non_null(strstr(o.error, "spilo_agent_nohba"));
    if (env_on("SPILO_AGENT_TEST_PG_FIXTURE"))
        assert_non_null(strstr(o.error, "FATAL: no pg_hba.conf entry for host "));
    /* The verbose parts used to find the SQLSTATE are gone. */
    assert_null(strstr(o.error, "LOCATION"));
    assert_null(strstr(o.error, "28000:"));
    assert_null(strchr(o.error, '\n'));
    outcome_cleanup(&o);
    free(ci);
}

static void test_login_rejected_line(void **state)
{
    char *ci = cat(fixture_conninfo(), "user=spilo_agent_rejected");
    struct outcome o = {0};

    (void)state;
    run_one(ci, NULL, 0, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_AUTH);
    assert_string_equal(o.sqlstate, "28000");
    assert_non_null(strstr(o.error, "pg_hba.conf rejects connection"));
    outcome_cleanup(&o);
    free(ci);
}

static void test_login_passwords(void **state)
{
    const char *base = fixture_conninfo();
    const char *pw = getenv("SPILO_AGENT_TEST_PG_PASSWORD");
    char *ci = cat(base, "user=spilo_agent_pw");
    char *wrong = cat(ci, "password=Wr0ng-pa55word");
    char *right, pwkv[256];
    struct outcome o = {0};

    (void)state;
    assert_non_null(pw);
    snprintf(pwkv, sizeof(pwkv), "password='%s'", pw);
    right = cat(ci, pwkv);

    /* The server asks, there is nothing to give: libpq's own message, no SQLSTATE. */
    run_one(ci, NULL, 0, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_AUTH);
    assert_non_null(strstr(o.error, "no password supplied"));
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    run_one(wrong, NULL, 0, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_AUTH);
    assert_string_equal(o.sqlstate, "28P01");
    assert_non_null(strstr(o.error, "password authentication failed for user"));
    assert_null(strstr(o.error, "Wr0ng"));
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    run_one(right, NULL, 0, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_true(o.used_password);
    outcome_cleanup(&o);
    free(ci);
    free(wrong);
    free(right);
}

/* libpq tries host after host, each on a new socket that usually gets the same fd number: the
 * watch must follow it (fd and inode), or the session would hang until its deadline. */
static void test_socket_switch(void **state)
{
    const char *ci = live_conninfo();
    char *host = conninfo_get(ci, "host"), *port = conninfo_get(ci, "port");
    char *user = conninfo_get(ci, "user"), *db = conninfo_get(ci, "dbname");
    const char *sql[] = {"SELECT 1"};
    char buf[1024];
    struct outcome o = {0};

    (void)state;
    if (!host || !port) {
        print_message("the live conninfo has no host and port: skipping the host-list test\n");
        free(host);
        free(port);
        free(user);
        free(db);
        skip();
    }
    /* No standby anywhere: every host is tried after a full login, then the first one again. */
    snprintf(buf, sizeof(buf),
             "host=%s,%s port=%s,%s user=%s dbname=%s target_session_attrs=prefer-standby", host,
             host, port, port, user ? user : "postgres", db ? db : "postgres");
    run_one(buf, sql, 1, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_string_equal(o.first[0], "1");
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    snprintf(buf, sizeof(buf),
             "host=%s,%s port=%s,%s user=%s dbname=%s target_session_attrs=standby", host, host,
             port, port, user ? user : "postgres", db ? db : "postgres");
    run_one(buf, sql, 1, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_CONNECT);
    assert_non_null(strstr(o.error, "not in hot standby mode"));
    outcome_cleanup(&o);

    /* A refused first host, then the real one. */
    memset(&o, 0, sizeof(o));
    snprintf(buf, sizeof(buf), "host=127.0.0.1,%s port=%d,%s user=%s dbname=%s", host,
             closed_port(), port, user ? user : "postgres", db ? db : "postgres");
    run_one(buf, sql, 1, 10000, &o);
    assert_int_equal(o.rc, 0);
    outcome_cleanup(&o);
    free(host);
    free(port);
    free(user);
    free(db);
}

/* sslmode=prefer: SSL first, pg_hba refuses SSL for this user, libpq retries in plain text on a
 * new socket. */
static void test_ssl_then_plain(void **state)
{
    const char *ci = fixture_conninfo();
    char *port = conninfo_get(ci, "port");
    char buf[256];
    struct outcome o = {0};

    (void)state;
    if (!env_on("SPILO_AGENT_TEST_PG_SSL")) {
        free(port);
        print_message("SPILO_AGENT_TEST_PG_SSL is not set: skipping the SSL tests\n");
        skip();
    }
    snprintf(buf, sizeof(buf),
             "host=127.0.0.1 port=%s user=spilo_agent_nossl dbname=postgres sslmode=prefer", port);
    run_one(buf, NULL, 0, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_false(o.ssl_in_use);
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    snprintf(buf, sizeof(buf),
             "host=127.0.0.1 port=%s user=postgres dbname=postgres sslmode=require", port);
    run_one(buf, NULL, 0, 10000, &o);
    assert_int_equal(o.rc, 0);
    assert_true(o.ssl_in_use);
    outcome_cleanup(&o);

    memset(&o, 0, sizeof(o));
    snprintf(buf, sizeof(buf),
             "host=127.0.0.1 port=%s user=spilo_agent_nossl dbname=postgres sslmode=require", port);
    run_one(buf, NULL, 0, 10000, &o);
    assert_int_equal(o.kind, PGCONN_ERR_AUTH);
    assert_non_null(strstr(o.error, "no pg_hba.conf entry"));
    outcome_cleanup(&o);
    free(port);
}

/* Many sessions on one loop at once: each gets its own callback, nothing leaks. */
static void test_concurrent_sessions(void **state)
{
    const char *ci = live_conninfo();
    const char *sql[] = {"SELECT pg_backend_pid()"};
    struct outcome o[6];
    uv_loop_t loop;

    (void)state;
    memset(o, 0, sizeof(o));
    assert_int_equal(uv_loop_init(&loop), 0);
    for (size_t i = 0; i < ARRAY_LEN(o); i++)
        session_start(&loop, ci, sql, 1, 10000, &o[i]);
    loop_finish(&loop);
    for (size_t i = 0; i < ARRAY_LEN(o); i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].rc, 0);
        assert_non_null(o[i].first[0]);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(o[i].first[0], o[j].first[0]);
    }
    for (size_t i = 0; i < ARRAY_LEN(o); i++)
        outcome_cleanup(&o[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_invalid_conninfo_hides_secrets),
        cmocka_unit_test(test_blackhole_deadline),
        cmocka_unit_test(test_cancel_while_connecting),
        cmocka_unit_test(test_cancel_at_once),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_success_multi),
        cmocka_unit_test(test_login_only_and_app_name),
        cmocka_unit_test(test_statement_fails),
        cmocka_unit_test(test_statement_deadline),
        cmocka_unit_test(test_cancel_during_statement),
        cmocka_unit_test(test_login_refused_no_hba_line),
        cmocka_unit_test(test_login_rejected_line),
        cmocka_unit_test(test_login_passwords),
        cmocka_unit_test(test_socket_switch),
        cmocka_unit_test(test_ssl_then_plain),
        cmocka_unit_test(test_concurrent_sessions),
    };

    /* libpq would otherwise take these from the environment of whoever runs the tests. */
    unsetenv("PGAPPNAME");
    unsetenv("PGPASSWORD");
    unsetenv("PGSSLMODE");
    unsetenv("PGTARGETSESSIONATTRS");
    return cmocka_run_group_tests(tests, NULL, NULL);
}

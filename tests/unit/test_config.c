/* Unit tests of config.c: defaults, precedence (flag > env > file > default), error messages with
 * file, line, key and accepted values, derived values, and secret handling. */
#include "harness.h"

#include <errno.h>
#include <unistd.h>

#include "config.h"
#include "pgconn.h"

static char tmpdir[] = "/tmp/spilo-agent-config-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_ini(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults(void **state)
{
    char *envp[] = {NULL};
    struct config *c;
    char err[512];

    (void)state;
    assert_int_equal(config_load(NULL, NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_string_equal(c->listen, "0.0.0.0:8009");
    assert_string_equal(c->listen_host, "0.0.0.0");
    assert_int_equal(c->listen_port, 8009);
    assert_int_equal(c->interval_ms, 60000);
    assert_int_equal(c->check_timeout_ms, 20000);
    assert_int_equal(c->log_format, LOG_FORMAT_JSON);
    assert_int_equal(c->log_level, LOG_LEVEL_INFO);
    assert_string_equal(c->envdir, "/run/etc/wal-e.d/env");
    assert_string_equal(c->schedule, "0 1 * * *");
    assert_int_equal(c->retain, -1);
    assert_int_equal(c->grace_ms, 0); /* derived from the schedule: cron_default_grace_s */
    assert_int_equal(c->s3_force_path_style, -1);
    assert_false(c->cleanup_allow_http);
    assert_string_equal(c->conninfo_effective,
                        "host='localhost' port='5432' user='postgres' dbname='postgres' "
                        "sslmode='require'");
    config_unref(c);
}

static void test_derived_from_env(void **state)
{
    char *envp[] = {"PGHOST=/var/run/postgresql",
                    "PGPORT=5433",
                    "POSTGRES_USER=postgres",
                    "POSTGRES_PASSWORD=it's\\secret",
                    "BACKUP_SCHEDULE=*/10 * * * *",
                    "POD_NAMESPACE=harbor",
                    "KUBERNETES_SERVICE_HOST=10.96.0.1",
                    "KUBERNETES_SERVICE_PORT=443",
                    NULL};
    struct config *c;
    char err[512], shown[512];

    (void)state;
    assert_int_equal(config_load(NULL, NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_string_equal(c->schedule, "*/10 * * * *");
    assert_string_equal(c->k8s_namespace, "harbor");
    assert_string_equal(c->k8s_api, "https://10.96.0.1:443");
    assert_non_null(strstr(c->conninfo_effective, "password='it\\'s\\\\secret'"));
    pgconn_redact_conninfo(c->conninfo_effective, shown, sizeof(shown));
    assert_null(strstr(shown, "secret"));
    assert_non_null(strstr(shown, "password=***"));
    assert_non_null(strstr(shown, "port=5433"));
    config_unref(c);
}

static void test_precedence(void **state)
{
    const char *file = write_ini("p.ini", "[agent]\ninterval = 30s\nlog_format = text\n"
                                          "[backups]\ngrace = 2h\n");
    char *envp[] = {"SPILO_AGENT_AGENT_INTERVAL=45s", "SPILO_AGENT_BACKUPS_RETAIN=14", NULL};
    struct config_override ovr[] = {{"agent.interval=90s"}};
    struct config *c;
    char err[512];

    (void)state;
    assert_int_equal(config_load(file, NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_int_equal(c->interval_ms, 45000); /* env beats file */
    assert_int_equal(c->log_format, LOG_FORMAT_TEXT);
    assert_int_equal(c->grace_ms, 7200000);
    assert_int_equal(c->retain, 14);
    config_unref(c);
    assert_int_equal(config_load(file, ovr, 1, envp, &c, err, sizeof(err)), 0);
    assert_int_equal(c->interval_ms, 90000); /* flag beats env */
    config_unref(c);
}

static void test_errors(void **state)
{
    static const struct {
        const char *ini;
        const char *envvar;
        const char *set;
        const char *expect;
    } cases[] = {
        {"[agent]\ninterval = soon\n", NULL, NULL,
         "p.ini:2: [agent] interval = 'soon' is not valid; accepted: a number with an s, m, h or "
         "d suffix, e.g. 60s"},
        {"[agent]\n\n; comment\nlisten = nowhere\n", NULL, NULL,
         "p.ini:4: [agent] listen = 'nowhere' is not valid; accepted: host:port"},
        {"[agent]\nbogus = 1\n", NULL, NULL, "p.ini:2: unknown key 'bogus' in [agent]"},
        {"[nosuch]\nkey = 1\n", NULL, NULL, "p.ini:2: unknown section [nosuch]"},
        {"interval = 1s\n", NULL, NULL, "p.ini:1: key 'interval' is outside any section"},
        {"[agent\n", NULL, NULL, "p.ini:1: syntax error"},
        {"[agent]\nlog_level = loud\n", NULL, NULL, "accepted: error, warn, info or debug"},
        {"[postgres]\nconninfo = x\n[agent]\ncheck_timeout = 2m\n", NULL, NULL,
         "[agent] check_timeout (120000ms) is longer than [agent] interval (60000ms)"},
        {"[cleanup]\nallow_http = true\n", NULL, NULL,
         "[cleanup] allow_http = true needs [cleanup] token_file"},
        {"[cleanup]\nallow_http = maybe\n", NULL, NULL, "accepted: true or false"},
        {"[walg]\nprefix = /tmp/x\n", NULL, NULL, "is not an S3 URL"},
        {"", "SPILO_AGENT_AGENT_LISTEN=:99999", NULL,
         "environment variable SPILO_AGENT_AGENT_LISTEN: [agent] listen = ':99999' is not valid"},
        {"", "SPILO_AGENT_WALG_ENVDIRR=/x", NULL,
         "environment variable SPILO_AGENT_WALG_ENVDIRR names no configuration key"},
        {"", NULL, "agent.interval", "--set 'agent.interval': expected section.key=value"},
        {"", NULL, "agent.nokey=1", "--set agent.nokey: unknown key 'nokey' in [agent]"},
        {"", NULL, "backups.retain=0", "accepted: a whole number >= 1"},
        {"[backups]\nschedule = 0 25 * * *\n", NULL, NULL,
         "[backups] schedule = '0 25 * * *' is not valid: hour field \"25\": values are 0-23"},
        {"", NULL, "backups.schedule=@reboot", "[backups] schedule = '@reboot' is not valid"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *file = write_ini("p.ini", cases[i].ini);
        char *envp[] = {(char *)cases[i].envvar, NULL};
        struct config_override ovr[] = {{cases[i].set}};
        struct config *c = (struct config *)1;
        char err[512];
        int rc = config_load(file, ovr, cases[i].set ? 1 : 0, envp, &c, err, sizeof(err));

        assert_int_equal(rc, -EINVAL);
        assert_null(c);
        if (!strstr(err, cases[i].expect))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].expect);
    }
}

static void test_conninfo_never_echoed(void **state)
{
    char *envp[] = {"SPILO_AGENT_POSTGRES_CONNINFO=password=hunter2 port=x=", NULL};
    const char *file = write_ini("p.ini", "[agent]\nlisten = x\n");
    struct config *c;
    char err[512];

    (void)state;
    /* The bad listen fails first; nothing of the conninfo may appear in any message. */
    assert_int_equal(config_load(file, NULL, 0, envp, &c, err, sizeof(err)), -EINVAL);
    assert_null(strstr(err, "hunter2"));
}

static void test_missing_file(void **state)
{
    char *envp[] = {NULL};
    struct config *c;
    char err[512];

    (void)state;
    assert_int_equal(config_load("/nonexistent/agent.ini", NULL, 0, envp, &c, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/agent.ini: cannot read the configuration file"));
}

static void test_cleanup_token(void **state)
{
    char ini[512], *envp[] = {NULL};
    const char *tok;
    struct config *c;
    char err[512];

    (void)state;
    tok = write_ini("token", "short\n");
    snprintf(ini, sizeof(ini), "[cleanup]\nallow_http = true\ntoken_file = %s\n", tok);
    assert_int_equal(config_load(write_ini("p.ini", ini), NULL, 0, envp, &c, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "at least 16 characters"));
    assert_null(strstr(err, "short\n"));
    tok = write_ini("token", "0123456789abcdef0123\n");
    snprintf(ini, sizeof(ini), "[cleanup]\nallow_http = true\ntoken_file = %s\n", tok);
    assert_int_equal(config_load(write_ini("p.ini", ini), NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_string_equal(c->cleanup_token, "0123456789abcdef0123");
    config_unref(c);
}

static void test_refcount(void **state)
{
    char *envp[] = {NULL};
    struct config *c;
    char err[512];

    (void)state;
    assert_int_equal(config_load(NULL, NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_ptr_equal(config_ref(c), c);
    config_unref(c);
    assert_int_equal(c->refs, 1);
    config_unref(c);
    config_unref(NULL);
}

static void test_doc_lists_every_key(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    config_write_doc(f);
    fclose(f);
    assert_non_null(strstr(text, "| `[agent] listen` | `SPILO_AGENT_AGENT_LISTEN` |"));
    assert_non_null(strstr(text, "`[cleanup] token_file`"));
    assert_non_null(strstr(text, "`[backups] schedule`"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_derived_from_env),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_conninfo_never_echoed),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_cleanup_token),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_doc_lists_every_key),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}

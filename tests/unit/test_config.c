/* Unit tests of config.c: defaults, precedence (flag > env > file > default), error messages with
 * file, line, key and accepted values, derived values, and secret handling. */
#include "harness.h"

#include <errno.h>
#include <sys/stat.h>
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
         "p.ini:2: [agent] interval = 'soon' is not valid (env SPILO_AGENT_AGENT_INTERVAL); "
         "accepted: a number with an s, m, h or d suffix, e.g. 60s"},
        {"[agent]\n\n; comment\nlisten = nowhere\n", NULL, NULL,
         "p.ini:4: [agent] listen = 'nowhere' is not valid (env SPILO_AGENT_AGENT_LISTEN); "
         "accepted: a numeric IP address and a port, e.g. 0.0.0.0:8009, 127.0.0.1:8009 or "
         "[::]:8009 (no host names)"},
        /* [agent] listen: a host name, no port, no host */
        {"[agent]\nlisten = localhost:8009\n", NULL, NULL,
         "p.ini:2: [agent] listen = 'localhost:8009' is not valid (env SPILO_AGENT_AGENT_LISTEN); "
         "accepted: a numeric IP address and a port"},
        {"[agent]\nlisten = 127.0.0.1\n", NULL, NULL,
         "p.ini:2: [agent] listen = '127.0.0.1' is not valid"},
        {"[agent]\nlisten = [::1]\n", NULL, NULL, "p.ini:2: [agent] listen = '[::1]' is not valid"},
        {"[agent]\nlisten = 127.0.0.1:\n", NULL, NULL,
         "[agent] listen = '127.0.0.1:' is not valid"},
        {"[agent]\nlisten = :8009\n", NULL, NULL, "[agent] listen = ':8009' is not valid"},
        {"[agent]\nlisten = 10.0.0.300:8009\n", NULL, NULL, "listen = '10.0.0.300:8009' is not"},
        /* typos: the nearest key or section */
        {"[agent]\nintervall = 1m\n", NULL, NULL,
         "p.ini:2: unknown key 'intervall' in [agent]; did you mean 'interval'? see "
         "docs/config.md"},
        {"[agent]\nenvdir = /x\n", NULL, NULL,
         "p.ini:2: unknown key 'envdir' in [agent]; did you mean [walg] envdir?"},
        {"[backups]\nretian = 3\n", NULL, NULL,
         "unknown key 'retian' in [backups]; did you mean "
         "'retain'?"},
        {"[agnet]\nlisten = 0.0.0.0:1\n", NULL, NULL,
         "p.ini:1: unknown section [agnet]; did you mean [agent]?"},
        {"", NULL, "agent.log_levle=info",
         "--set agent.log_levle: unknown key 'log_levle' in "
         "[agent]; did you mean 'log_level'?"},
        {"[agent]\nzzzzzz = 1\n", NULL, NULL, "unknown key 'zzzzzz' in [agent]; see docs"},
        /* environment variables whose section part is no section */
        {"", "SPILO_AGENT_AGNT_LISTEN=0.0.0.0:1", NULL,
         "environment variable SPILO_AGENT_AGNT_LISTEN names no configuration key "
         "(SPILO_AGENT_<SECTION>_<KEY>, and no section is spelt like this: agent, postgres, walg, "
         "backups, s3, kubernetes, cleanup, install); did you mean SPILO_AGENT_AGENT_LISTEN?"},
        {"[agent]\nlisten = 0.0.0.0:1\n[wallg]\n", NULL, NULL,
         "p.ini:3: unknown section [wallg]; did you mean [walg]? known sections: [agent]"},
        {"", "SPILO_AGENT_LISTEN=0.0.0.0:1", NULL,
         "environment variable SPILO_AGENT_LISTEN names no configuration key"},
        {"", "SPILO_AGENT_WAL_G_ENVDIR=/x", NULL,
         "environment variable SPILO_AGENT_WAL_G_ENVDIR names no configuration key"},
        /* inih's reading: long lines and continuation lines */
        {"[agent]\n; "
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxx listen = 127.0.0.1:1\n",
         NULL, NULL,
         "p.ini:2: the line is 219 characters long; the INI reader takes at most 197 and would "
         "read the rest as a line of its own: shorten it"},
        {"[agent]\nlisten = 127.0.0.1:8009\n  interval = 30s\n", NULL, NULL,
         "p.ini:3: the line starts with blanks; the INI reader would take it as the continuation "
         "of the value above, not as a line of its own: remove the indentation"},
        {"[agent]\n\tlisten = 127.0.0.1:8009\n", NULL, NULL,
         "p.ini:2: the line starts with blanks"},
        /* typed [install] keys, checked at load with the environment variable */
        {"[install]\ntarget = zalando\n", NULL, NULL,
         "p.ini:2: [install] target = 'zalando' is not valid (env SPILO_AGENT_INSTALL_TARGET); "
         "accepted: harbor-operator or postgres-operator"},
        {"", "SPILO_AGENT_INSTALL_NAMESPACE=Harbor", NULL,
         "environment variable SPILO_AGENT_INSTALL_NAMESPACE: [install] namespace = 'Harbor' is "
         "not valid (env SPILO_AGENT_INSTALL_NAMESPACE); accepted: a Kubernetes name (RFC 1123 "
         "label)"},
        {"", NULL, "install.cluster=-x", "[install] cluster = '-x' is not valid"},
        {"", NULL, "install.spilo_image=spilo 16", "[install] spilo_image = 'spilo 16' is not"},
        {"", NULL, "install.backup_schedule=61 * * * *",
         "[install] backup_schedule = '61 * * * *' is not valid (env "
         "SPILO_AGENT_INSTALL_BACKUP_SCHEDULE): minute field"},
        {"", NULL, "install.clone_target_time=yesterday",
         "[install] clone_target_time = 'yesterday' is not valid (env "
         "SPILO_AGENT_INSTALL_CLONE_TARGET_TIME); accepted: an RFC 3339 time with zone"},
        {"", NULL, "install.clone_uid=a/b", "[install] clone_uid = 'a/b' is not valid"},
        {"", NULL, "install.operator_selector=novalue", "[install] operator_selector = 'novalue'"},
        {"", NULL, "install.credentials_secret=", "[install] credentials_secret = '' is not valid"},
        {"", NULL, "install.retain=x", "[install] retain = 'x' is not valid"},
        {"", NULL, "kubernetes.api=ftp://user:hunter2@k8s:6443",
         "[kubernetes] api = 'ftp://***@k8s:6443' is not valid (env SPILO_AGENT_KUBERNETES_API)"},
        {"", NULL, "cleanup.configmap=a/b/c", "[cleanup] configmap = 'a/b/c' is not valid"},
        {"[agent]\nbogus = 1\n", NULL, NULL, "p.ini:2: unknown key 'bogus' in [agent]"},
        {"[nosuch]\nkey = 1\n", NULL, NULL, "p.ini:1: unknown section [nosuch]"},
        {"interval = 1s\n", NULL, NULL, "p.ini:1: key 'interval' is outside any section"},
        {"[agent\n", NULL, NULL, "p.ini:1: syntax error"},
        {"[agent]\nlog_level = loud\n", NULL, NULL, "accepted: error, warn, info or debug"},
        {"[postgres]\nconninfo = x\n[agent]\ncheck_timeout = 2m\n", NULL, NULL,
         "[agent] check_timeout (120000ms) is longer than [agent] interval (60000ms)"},
        {"[cleanup]\nallow_http = true\n", NULL, NULL,
         "[cleanup] allow_http = true needs [cleanup] token_file"},
        {"[cleanup]\nallow_http = maybe\n", NULL, NULL, "accepted: true or false"},
        {"[walg]\nprefix = /tmp/x\n", NULL, NULL,
         "[walg] prefix = '/tmp/x' is not valid (env SPILO_AGENT_WALG_PREFIX); accepted: "
         "s3://bucket/path"},
        {"", "SPILO_AGENT_AGENT_LISTEN=:99999", NULL,
         "environment variable SPILO_AGENT_AGENT_LISTEN: [agent] listen = ':99999' is not valid"},
        {"", "SPILO_AGENT_WALG_ENVDIRR=/x", NULL,
         "environment variable SPILO_AGENT_WALG_ENVDIRR names no configuration key; did you mean "
         "SPILO_AGENT_WALG_ENVDIR? see docs/config.md"},
        {"", NULL, "agent.interval", "--set 'agent.interval': expected section.key=value"},
        {"", NULL, "agent.nokey=1", "--set agent.nokey: unknown key 'nokey' in [agent]"},
        {"", NULL, "backups.retain=0", "accepted: a whole number >= 1"},
        {"[backups]\nschedule = 0 25 * * *\n", NULL, NULL,
         "[backups] schedule = '0 25 * * *' is not valid (env SPILO_AGENT_BACKUPS_SCHEDULE): hour "
         "field \"25\": values are 0-23"},
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

/* Kubernetes service links of a Service named spilo-agent are no configuration. */
static void test_service_links(void **state)
{
    char *envp[] = {"SPILO_AGENT_SERVICE_HOST=10.0.0.1",
                    "SPILO_AGENT_SERVICE_PORT=8009",
                    "SPILO_AGENT_SERVICE_PORT_HTTP=8009",
                    "SPILO_AGENT_PORT=tcp://10.0.0.1:8009",
                    "SPILO_AGENT_PORT_8009_TCP=tcp://10.0.0.1:8009",
                    "SPILO_AGENT_PORT_8009_TCP_ADDR=10.0.0.1",
                    NULL};
    struct config *c;
    char err[512];

    (void)state;
    assert_int_equal(config_load(NULL, NULL, 0, envp, &c, err, sizeof(err)), 0);
    config_unref(c);
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

    /* head -c 32 /dev/urandom: a NUL first made "Bearer " (empty) match; a NUL inside cut the
     * token below the minimum while the bytes read passed it. Both are refused. */
    {
        static const char *const bins[] = {"\0"
                                           "0123456789abcdef0123456789",
                                           "0123\0"
                                           "456789abcdef0123456789"};
        char path[300];

        for (size_t i = 0; i < ARRAY_LEN(bins); i++) {
            FILE *f;

            snprintf(path, sizeof(path), "%s/bin-token", tmpdir);
            f = fopen(path, "w");
            assert_non_null(f);
            fwrite(bins[i], 1, 27, f);
            fclose(f);
            snprintf(ini, sizeof(ini), "[cleanup]\nallow_http = true\ntoken_file = %s\n", path);
            assert_int_equal(
                config_load(write_ini("p.ini", ini), NULL, 0, envp, &c, err, sizeof(err)), -EINVAL);
            assert_non_null(strstr(err, "a NUL byte"));
            assert_non_null(strstr(err, path));
        }
    }
}

/* What inih would read differently from the file is refused; what it reads as written is not. */
static void test_ini_reading(void **state)
{
    char *envp[] = {NULL};
    char line[400], text[600], err[512];
    struct config *c;
    const char *file;
    FILE *f;

    (void)state;
    /* 197 characters are read whole, 198 are not (inih's 200-byte buffer, "\r\n\0") */
    memset(line, 'x', sizeof(line));
    snprintf(text, sizeof(text), "[agent]\n;%.196s\r\ninterval = 30s\n  ; indented comment\n\t\n",
             line);
    file = write_ini("p.ini", text);
    assert_int_equal(config_load(file, NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_int_equal(c->interval_ms, 30000);
    config_unref(c);
    snprintf(text, sizeof(text), "[agent]\n;%.197s\n", line);
    file = write_ini("p.ini", text);
    assert_int_equal(config_load(file, NULL, 0, envp, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "p.ini:2: the line is 198 characters long"));
    /* a NUL byte ends inih's string: refused with its line */
    file = write_ini("p.ini", "");
    f = fopen(file, "w");
    assert_non_null(f);
    fwrite("[agent]\ninterval = 30s\nlisten = 1\0.0.0.0:1\n", 1, 43, f);
    fclose(f);
    assert_int_equal(config_load(file, NULL, 0, envp, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "p.ini:3: the line holds a NUL byte"));
}

/* -c DIRECTORY: a ConfigMap mounted without subPath. */
static void test_directory(void **state)
{
    char *envp[] = {NULL};
    char dir[300], want[1000], err[1024];
    struct config *c;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/cm", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(config_load(dir, NULL, 0, envp, &c, err, sizeof(err)), -EINVAL);
    assert_null(c);
    assert_non_null(strstr(err, "is a directory, not an INI file, and it holds no file to use"));
    write_ini("cm/README", "x");
    write_ini("cm/agent.ini", "[agent]\n");
    write_ini("cm/..data", "x");
    assert_int_equal(config_load(dir, NULL, 0, envp, &c, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want),
             "%s: is a directory, not an INI file (a ConfigMap mounted without subPath puts each "
             "key in a file of its own); did you mean -c %s/agent.ini?",
             dir, dir);
    assert_string_equal(err, want);
}

static void test_envdir_parent_warning(void **state)
{
    char dir[300], set[400], want[800], err[512];
    char *envp[] = {NULL};
    struct config_override ovr[] = {{set}};
    struct config *c;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/wal-e.d", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(set, sizeof(set), "walg.envdir=%s", dir);
    assert_int_equal(config_load(NULL, ovr, 1, envp, &c, err, sizeof(err)), 0);
    assert_int_equal(c->n_warnings, 0);
    config_unref(c);
    snprintf(set, sizeof(set), "%s/env", dir);
    assert_int_equal(mkdir(set, 0755), 0);
    snprintf(set, sizeof(set), "walg.envdir=%s", dir);
    assert_int_equal(config_load(NULL, ovr, 1, envp, &c, err, sizeof(err)), 0);
    assert_int_equal(c->n_warnings, 1);
    snprintf(want, sizeof(want),
             "[walg] envdir = '%s' holds a folder env/ (Spilo writes the WAL-G settings into "
             "/run/etc/wal-e.d/env); did you mean %s/env?",
             dir, dir);
    assert_string_equal(c->warnings[0], want);
    config_unref(c);
}

static void test_restart_changes(void **state)
{
    char *envp[] = {NULL};
    struct config_override a[] = {{"agent.listen=127.0.0.1:9000"}, {"agent.interval=30s"}};
    struct config_override b[] = {{"agent.listen=[::1]:9001"}, {"agent.interval=40s"}};
    struct config *c1, *c2;
    char err[512], buf[512];

    (void)state;
    assert_int_equal(config_load(NULL, a, 2, envp, &c1, err, sizeof(err)), 0);
    assert_int_equal(config_load(NULL, b, 2, envp, &c2, err, sizeof(err)), 0);
    assert_string_equal(c2->listen_host, "::1");
    assert_int_equal(c2->listen_port, 9001);
    assert_int_equal(config_restart_changes(c1, c1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(config_restart_changes(c1, c2, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "[agent] listen changed from '127.0.0.1:9000' to '[::1]:9001'");
    config_unref(c1);
    config_unref(c2);
}

static void test_key_api(void **state)
{
    char *envp[] = {NULL};
    struct config *c;
    char err[512], env[64];
    static const char *const images_ok[] = {
        "ghcr.io/zalando/spilo-16:3.2-p3",
        "registry.example.com/spilo-agent:0.1.0",
        "spilo-agent",
        "localhost:5000/team/spilo_agent:v1",
        "registry.example.com:5000/a/b@sha256:0123456789abcdef0123456789abcdef",
    };
    static const char *const images_bad[] = {
        "Spilo:1", "spilo 16", "spilo:", "ghcr.io/", "/spilo", "spilo:1@sha256:12", "a//b", "a:b:c",
    };

    (void)state;
    assert_string_equal(config_env_name("install", "clone_target_time", env, sizeof(env)),
                        "SPILO_AGENT_INSTALL_CLONE_TARGET_TIME");
    for (size_t i = 0; i < ARRAY_LEN(images_ok); i++) {
        if (config_check_value("install", "agent_image", images_ok[i], err, sizeof(err)) != 0)
            fail_msg("image '%s' refused: %s", images_ok[i], err);
    }
    for (size_t i = 0; i < ARRAY_LEN(images_bad); i++) {
        if (config_check_value("install", "agent_image", images_bad[i], err, sizeof(err)) == 0)
            fail_msg("image '%s' accepted", images_bad[i]);
    }
    assert_int_equal(config_check_value("install", "nokey", "x", err, sizeof(err)), -ENOENT);
    assert_int_equal(config_check_value("install", "namespace", "", err, sizeof(err)), 0);
    assert_int_equal(config_check_value("install", "bucket", "ab", err, sizeof(err)), -EINVAL);
    assert_int_equal(config_check_value("install", "bucket", "a.b-c", err, sizeof(err)), 0);
    assert_int_equal(
        config_check_value("cleanup", "configmap", "harbor/pod-config", err, sizeof(err)), 0);
    assert_int_equal(config_check_value("agent", "listen", "[::]:8009", err, sizeof(err)), 0);
    assert_int_equal(config_check_value("agent", "listen", "[::]8009", err, sizeof(err)), -EINVAL);
    assert_int_equal(config_load(NULL, NULL, 0, envp, &c, err, sizeof(err)), 0);
    assert_int_equal(c->install_target, -1);
    assert_int_equal(config_require(c, "install", "target", "the operator", err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "[install] target is not set (env SPILO_AGENT_INSTALL_TARGET); it is "
                             "required: the operator");
    assert_int_equal(config_require(c, "install", "spilo_image", "x", err, sizeof(err)), 0);
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
    assert_non_null(strstr(text, "| key | environment variable | default | accepted | meaning |"));
    assert_non_null(strstr(text, "(Patroni uses 8008). **A reload keeps the running value: "
                                 "changing it needs a restart.** |"));
    assert_non_null(strstr(text, "| harbor-operator or postgres-operator |"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_derived_from_env),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_service_links),
        cmocka_unit_test(test_conninfo_never_echoed),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_cleanup_token),
        cmocka_unit_test(test_ini_reading),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_envdir_parent_warning),
        cmocka_unit_test(test_restart_changes),
        cmocka_unit_test(test_key_api),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_doc_lists_every_key),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}

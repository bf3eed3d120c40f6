/* Unit tests of the pure parts of `spilo-agent install`: the YAML emitter, the [install] settings
 * validation, every object the installer builds, the plan's order, and the run's small decisions
 * (created/configured/unchanged, selectors, pod readiness, the Secret copy, redaction). */
#include "harness.h"

#include <errno.h>

#include "buf.h"
#include "config.h"
#include "install.h"
#include "install_objects.h"
#include "util.h"
#include "yaml.h"

/* ---- YAML ---------------------------------------------------------------------------------- */

static void test_yaml_plain(void **state)
{
    static const char *const plain[] = {"harbor",
                                        "pod-config",
                                        "app.kubernetes.io/name",
                                        "ghcr.io/zalando/spilo-16:3.2-p3",
                                        "https://minio:9000",
                                        "CLONE_WITH_WALE",
                                        "a b",
                                        "/livez",
                                        "_x"};
    static const char *const quoted[] = {"",
                                         "true",
                                         "No",
                                         "on",
                                         "null",
                                         "~",
                                         "5",
                                         "0 1 * * *",
                                         "-x",
                                         ".inf",
                                         "a: b",
                                         "a #c",
                                         "x:",
                                         " lead",
                                         "trail ",
                                         "{a}",
                                         "*alias",
                                         "it's",
                                         "é",
                                         "a\nb",
                                         "=",
                                         "@x",
                                         "2030-01-01T00:00:00+00:00"};

    (void)state;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        assert_true(yaml_plain_ok(plain[i]));
    for (size_t i = 0; i < sizeof(quoted) / sizeof(quoted[0]); i++)
        assert_false(yaml_plain_ok(quoted[i]));
}

static void test_yaml_block(void **state)
{
    (void)state;
    assert_true(yaml_block_ok("a\nb\n"));
    assert_true(yaml_block_ok("a\n\n  b"));
    assert_false(yaml_block_ok("single line"));
    assert_false(yaml_block_ok(" leading\nx"));
    assert_false(yaml_block_ok("trailing \nx"));
    assert_false(yaml_block_ok("tab\there\nx"));
    assert_false(yaml_block_ok("two\n\n"));
    assert_false(yaml_block_ok("\nfirst empty"));
}

static void test_yaml_emit(void **state)
{
    json_t *doc = json_loads(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"pod-config\","
        "\"labels\":{\"app.kubernetes.io/part-of\":\"spilo-agent\"}},\"data\":{\"A\":\"true\","
        "\"B\":\"\",\"C\":\"0 1 * * *\",\"D\":\"say \\\"hi\\\"\\\\\"},\"n\":8009,\"r\":1.5,"
        "\"t\":true,\"z\":null,\"e\":{},\"l\":[],\"args\":[\"run\"],\"nested\":[[1,2],[]],"
        "\"items\":[{\"name\":\"x\",\"ports\":[{\"p\":1}]},{}],\"expr\":\"a == 1\\nand b\\n\","
        "\"strip\":\"x\\ny\"}",
        0, NULL);
    char *y;

    (void)state;
    assert_non_null(doc);
    y = yaml_dump(doc);
    assert_string_equal(y, "apiVersion: v1\n"
                           "kind: ConfigMap\n"
                           "metadata:\n"
                           "  name: pod-config\n"
                           "  labels:\n"
                           "    app.kubernetes.io/part-of: spilo-agent\n"
                           "data:\n"
                           "  A: \"true\"\n"
                           "  B: \"\"\n"
                           "  C: \"0 1 * * *\"\n"
                           "  D: \"say \\\"hi\\\"\\\\\"\n"
                           "\"n\": 8009\n" /* "n" is a YAML 1.1 boolean */
                           "r: 1.5\n"
                           "t: true\n"
                           "z: null\n"
                           "e: {}\n"
                           "l: []\n"
                           "args:\n" /* libyaml's (and kubectl's) sequences under a key */
                           "- run\n"
                           "nested:\n"
                           "- - 1\n"
                           "  - 2\n"
                           "- []\n"
                           "items:\n"
                           "- name: x\n"
                           "  ports:\n"
                           "  - p: 1\n"
                           "- {}\n"
                           "expr: |\n"
                           "  a == 1\n"
                           "  and b\n"
                           "strip: |-\n"
                           "  x\n"
                           "  y\n");
    free(y);
    json_decref(doc);
    doc = json_string("top");
    y = yaml_dump(doc);
    assert_string_equal(y, "top\n");
    free(y);
    json_decref(doc);
    doc = json_pack("{s:s}", "ctl", "a\x01z");
    y = yaml_dump(doc);
    assert_string_equal(y, "ctl: \"a\\x01z\"\n");
    free(y);
    json_decref(doc);
}

/* ---- settings ------------------------------------------------------------------------------ */

static const char *const base_sets[] = {
    "install.target=harbor-operator",
    "install.namespace=harbor",
    "install.operator_namespace=harbor-operator-ns",
    "install.cluster=postgresql-harbor-harborcluster",
    "install.bucket=acme-backups",
    "install.region=eu-central-1",
    "install.agent_image=registry.example.com/spilo-agent:0.1.0",
};

/* Loads the base settings plus extra --set assignments; returns config_load's rc when the load
 * refuses a value, else install_settings_load's. */
static int load(enum install_mode mode, const char *const *extra, size_t n_extra,
                struct config **cfg, struct install_settings *s, char *err, size_t errlen)
{
    struct config_override ovr[32];
    char *envp[] = {NULL};
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < sizeof(base_sets) / sizeof(base_sets[0]); i++)
        ovr[n++].assignment = base_sets[i];
    for (size_t i = 0; i < n_extra; i++)
        ovr[n++].assignment = extra[i];
    rc = config_load(NULL, ovr, n, envp, cfg, err, errlen);
    if (rc < 0)
        return rc;
    return install_settings_load(*cfg, mode, s, err, errlen);
}

static void expect_error(enum install_mode mode, const char *set, int rc_want, const char *needle)
{
    struct config *cfg;
    struct install_settings s;
    char err[2048];
    const char *extra[] = {set};

    assert_int_equal(load(mode, extra, 1, &cfg, &s, err, sizeof(err)), rc_want);
    if (!strstr(err, needle))
        fail_msg("'%s' not in '%s'", needle, err);
    config_unref(cfg);
}

static void test_settings_defaults(void **state)
{
    struct config *cfg;
    struct install_settings s;
    char err[2048];
    const char *pg[] = {"install.target=postgres-operator", "install.monitoring_namespace=mon"};

    (void)state;
    assert_int_equal(load(INSTALL_MODE_BACKUP, NULL, 0, &cfg, &s, err, sizeof(err)), 0);
    assert_int_equal(s.target, INSTALL_TARGET_HARBOR);
    assert_string_equal(s.operator_configuration, "harbor-operator-postgres-operator");
    assert_string_equal(s.monitoring_namespace, "harbor");
    assert_string_equal(s.source_namespace, "harbor");
    assert_string_equal(s.pod_config, "pod-config");
    assert_string_equal(s.credentials_secret, "pod-credentials");
    assert_string_equal(s.spilo_image, "ghcr.io/zalando/spilo-16:3.2-p3");
    assert_string_equal(s.backup_schedule, "0 1 * * *");
    assert_int_equal(s.retain, 5);
    assert_true(s.pg_hba);
    assert_string_equal(s.operator_selector, "app.kubernetes.io/name=postgres-operator");
    config_unref(cfg);
    assert_int_equal(load(INSTALL_MODE_BACKUP, pg, 2, &cfg, &s, err, sizeof(err)), 0);
    assert_int_equal(s.target, INSTALL_TARGET_POSTGRES);
    assert_string_equal(s.operator_configuration, "postgres-operator");
    assert_string_equal(s.monitoring_namespace, "mon");
    config_unref(cfg);
}

static void test_settings_errors(void **state)
{
    (void)state;
    expect_error(INSTALL_MODE_BACKUP, "install.target=", -EINVAL,
                 "[install] target is not set (env SPILO_AGENT_INSTALL_TARGET)");
    expect_error(INSTALL_MODE_BACKUP, "install.target=zalando", -EINVAL,
                 "accepted: harbor-operator or postgres-operator");
    expect_error(INSTALL_MODE_BACKUP, "install.namespace=", -EINVAL, "[install] namespace");
    expect_error(INSTALL_MODE_BACKUP, "install.namespace=Harbor", -EINVAL,
                 "[install] namespace = 'Harbor' is not valid");
    expect_error(INSTALL_MODE_BACKUP, "install.bucket=A_B", -EINVAL,
                 "--set install.bucket: [install] bucket = 'A_B' is not valid (env "
                 "SPILO_AGENT_INSTALL_BUCKET); accepted: an S3 bucket name");
    expect_error(INSTALL_MODE_BACKUP, "install.region=", -EINVAL, "[install] region is not set");
    expect_error(INSTALL_MODE_BACKUP, "install.region=loca", -EINVAL, "is not an AWS region");
    expect_error(INSTALL_MODE_BACKUP, "install.endpoint=https+path://m:9000", -EINVAL,
                 "[install] endpoint = 'https+path://m:9000' is not valid (env "
                 "SPILO_AGENT_INSTALL_ENDPOINT): WAL-G takes the endpoint as it is");
    expect_error(INSTALL_MODE_BACKUP, "install.endpoint=https+path://m:9000", -EINVAL,
                 "set endpoint = https://m:9000");
    expect_error(INSTALL_MODE_BACKUP, "install.agent_image=", -EINVAL,
                 "[install] agent_image is not set (env SPILO_AGENT_INSTALL_AGENT_IMAGE)");
    expect_error(INSTALL_MODE_BACKUP, "install.agent_image=Registry.example/Agent:1", -EINVAL,
                 "[install] agent_image = 'Registry.example/Agent:1' is not valid (env "
                 "SPILO_AGENT_INSTALL_AGENT_IMAGE); accepted: an image reference");
    expect_error(INSTALL_MODE_BACKUP, "install.backup_schedule=61 * * * *", -EINVAL,
                 "[install] backup_schedule");
    expect_error(INSTALL_MODE_BACKUP, "install.operator_selector=novalue", -EINVAL,
                 "[install] operator_selector");
    expect_error(INSTALL_MODE_BACKUP, "install.access_key_file=/x", -EINVAL, "go together");
    expect_error(INSTALL_MODE_RESTORE, "install.clone_uid=x", -EINVAL, "[install] clone_cluster");
}

static void test_settings_restore(void **state)
{
    struct config *cfg;
    struct install_settings s;
    char err[2048];
    const char *ok[] = {"install.clone_cluster=src", "install.clone_uid=/abc-123",
                        "install.clone_target_time=2030-01-01T00:00:00+00:00"};
    const char *noslash[] = {"install.clone_cluster=src", "install.clone_uid=abc-123"};
    const char *badtime[] = {"install.clone_cluster=src",
                             "install.clone_target_time=2030-01-01 00:00"};
    const char *walep[] = {"install.clone_cluster=src",
                           "install.clone_endpoint=https+path://minio.example:9000"};
    const char *ftp[] = {"install.clone_cluster=src", "install.clone_endpoint=ftp://x"};

    (void)state;
    assert_int_equal(load(INSTALL_MODE_RESTORE, ok, 3, &cfg, &s, err, sizeof(err)), 0);
    assert_string_equal(s.clone_suffix, "/abc-123");
    config_unref(cfg);
    assert_int_equal(load(INSTALL_MODE_RESTORE, noslash, 2, &cfg, &s, err, sizeof(err)), 0);
    assert_string_equal(s.clone_suffix, "/abc-123");
    config_unref(cfg);
    assert_int_equal(load(INSTALL_MODE_RESTORE, badtime, 2, &cfg, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "[install] clone_target_time"));
    config_unref(cfg);
    /* A clone_endpoint WAL-G cannot use is refused at load (exit 78), whatever the mode. */
    assert_int_equal(load(INSTALL_MODE_RESTORE, walep, 2, &cfg, &s, err, sizeof(err)), -EINVAL);
    assert_null(cfg);
    assert_non_null(strstr(err, "set clone_endpoint = https://minio.example:9000"));
    assert_int_equal(load(INSTALL_MODE_RESTORE, ftp, 2, &cfg, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "accepted: an http:// or https:// URL with a host"));
    assert_int_equal(load(INSTALL_MODE_BACKUP, walep, 2, &cfg, &s, err, sizeof(err)), -EINVAL);
    assert_int_equal(
        config_check_value("install", "endpoint", "http://127.0.0.1:9000", err, sizeof(err)), 0);
    assert_int_equal(config_check_value("install", "endpoint", "https://minio", err, sizeof(err)),
                     0);
    assert_int_equal(
        config_check_value("install", "endpoint", "https+path://minio", err, sizeof(err)), -EINVAL);
    assert_int_equal(config_check_value("install", "endpoint", "minio:9000", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(config_check_value("install", "endpoint", "https://", err, sizeof(err)),
                     -EINVAL);
}

/* ---- objects ------------------------------------------------------------------------------- */

static const char *data_of(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

static void test_pod_config(void **state)
{
    struct config *cfg;
    struct install_settings s;
    char err[2048];
    const char *restore[] = {"install.clone_cluster=src", "install.clone_uid=u1",
                             "install.endpoint=http://minio:9000",
                             "install.clone_endpoint=http://minio:9000"};
    const char *restore2[] = {"install.clone_cluster=src"};
    json_t *cm;

    (void)state;
    assert_int_equal(load(INSTALL_MODE_BACKUP, NULL, 0, &cfg, &s, err, sizeof(err)), 0);
    cm = install_pod_config(&s);
    assert_string_equal(data_of(cm, "USE_WALG_BACKUP"), "true");
    assert_string_equal(data_of(cm, "USE_WALG_RESTORE"), "true");
    assert_string_equal(data_of(cm, "BACKUP_SCHEDULE"), "0 1 * * *");
    assert_string_equal(data_of(cm, "BACKUP_NUM_TO_RETAIN"), "5");
    assert_string_equal(data_of(cm, "WAL_S3_BUCKET"), "acme-backups");
    assert_string_equal(data_of(cm, "WAL_BUCKET_SCOPE_PREFIX"), "");
    assert_string_equal(data_of(cm, "WAL_BUCKET_SCOPE_SUFFIX"), "");
    assert_string_equal(data_of(cm, "AWS_REGION"), "eu-central-1");
    assert_string_equal(data_of(cm, "WALG_DISABLE_S3_SSE"), "false");
    assert_null(data_of(cm, "AWS_ENDPOINT"));
    assert_null(data_of(cm, "CLONE_SCOPE"));
    json_decref(cm);
    config_unref(cfg);

    assert_int_equal(load(INSTALL_MODE_RESTORE, restore, 4, &cfg, &s, err, sizeof(err)), 0);
    cm = install_pod_config(&s);
    assert_string_equal(data_of(cm, "AWS_ENDPOINT"), "http://minio:9000");
    assert_string_equal(data_of(cm, "AWS_S3_FORCE_PATH_STYLE"), "true");
    assert_string_equal(data_of(cm, "WALG_DISABLE_S3_SSE"), "true");
    assert_string_equal(data_of(cm, "CLONE_SCOPE"), "src");
    assert_string_equal(data_of(cm, "CLONE_METHOD"), "CLONE_WITH_WALE");
    assert_string_equal(data_of(cm, "CLONE_WAL_S3_BUCKET"), "acme-backups");
    assert_string_equal(data_of(cm, "CLONE_WAL_BUCKET_SCOPE_PREFIX"), "");
    assert_string_equal(data_of(cm, "CLONE_WAL_BUCKET_SCOPE_SUFFIX"), "/u1");
    assert_string_equal(data_of(cm, "CLONE_AWS_REGION"), "eu-central-1");
    assert_string_equal(data_of(cm, "CLONE_AWS_ENDPOINT"), "http://minio:9000");
    assert_null(data_of(cm, "CLONE_TARGET_TIME"));
    json_decref(cm);
    config_unref(cfg);

    assert_int_equal(load(INSTALL_MODE_RESTORE, restore2, 1, &cfg, &s, err, sizeof(err)), 0);
    cm = install_pod_config(&s);
    assert_null(data_of(cm, "CLONE_AWS_ENDPOINT"));
    assert_string_equal(data_of(cm, "CLONE_WAL_BUCKET_SCOPE_SUFFIX"), "");
    json_decref(cm);
    config_unref(cfg);
}

static void test_secret_and_redaction(void **state)
{
    struct config *cfg;
    struct install_settings s;
    char err[2048];
    struct install_keys keys = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG"};
    json_t *sec, *shown;
    char *text;

    (void)state;
    assert_int_equal(load(INSTALL_MODE_BACKUP, NULL, 0, &cfg, &s, err, sizeof(err)), 0);
    sec = install_credentials_secret(&s, &keys);
    assert_string_equal(data_of(sec, "AWS_ACCESS_KEY_ID"), "QUtJREVYQU1QTEU=");
    assert_string_equal(data_of(sec, "AWS_SECRET_ACCESS_KEY"), "d0phbHJYVXRuRkVNSS9LN01ERU5H");
    assert_null(data_of(sec, "CLONE_AWS_ACCESS_KEY_ID"));
    shown = install_redacted(sec);
    assert_string_equal(data_of(shown, "AWS_SECRET_ACCESS_KEY"), "***");
    text = yaml_dump(shown);
    assert_null(strstr(text, "d0phbHJY"));
    free(text);
    json_decref(shown);
    json_decref(sec);
    /* a ConfigMap is not redacted */
    sec = install_pod_config(&s);
    shown = install_redacted(sec);
    assert_true(json_equal(sec, shown));
    json_decref(shown);
    json_decref(sec);
    config_unref(cfg);
}

static void test_base64(void **state)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

    (void)state;
    for (size_t i = 0; i < 7; i++) {
        char *b = install_base64((const unsigned char *)in[i], strlen(in[i]));

        assert_string_equal(b, out[i]);
        free(b);
    }
}

static void test_operator_objects(void **state)
{
    struct config *cfg;
    struct install_settings s;
    char err[2048];
    const char *pg[] = {"install.target=postgres-operator", "install.pod_config=env",
                        "install.credentials_secret=creds"};
    json_t *oc, *conf, *k8s, *side, *ef;

    (void)state;
    assert_int_equal(load(INSTALL_MODE_BACKUP, NULL, 0, &cfg, &s, err, sizeof(err)), 0);
    oc = install_operator_configuration(&s);
    conf = json_object_get(oc, "configuration");
    k8s = json_object_get(conf, "kubernetes");
    assert_string_equal(json_string_value(json_object_get(oc, "kind")), "OperatorConfiguration");
    assert_string_equal(json_string_value(json_object_get(conf, "docker_image")),
                        "ghcr.io/zalando/spilo-16:3.2-p3");
    assert_string_equal(json_string_value(json_object_get(k8s, "pod_environment_configmap")),
                        "harbor/pod-config");
    assert_string_equal(json_string_value(json_object_get(k8s, "secret_name_template")),
                        "{username}.{cluster}.credentials");
    assert_true(json_is_true(json_object_get(conf, "enable_spilo_wal_path_compat")));
    side = json_array_get(json_object_get(conf, "sidecars"), 0);
    assert_string_equal(json_string_value(json_object_get(side, "name")), "spilo-agent");
    assert_string_equal(json_string_value(json_object_get(side, "image")),
                        "registry.example.com/spilo-agent:0.1.0");
    json_decref(oc);
    config_unref(cfg);

    assert_int_equal(load(INSTALL_MODE_BACKUP, pg, 3, &cfg, &s, err, sizeof(err)), 0);
    oc = install_operator_configuration(&s);
    conf = json_object_get(oc, "configuration");
    k8s = json_object_get(conf, "kubernetes");
    assert_null(json_object_get(k8s, "secret_name_template"));
    assert_null(json_object_get(conf, "enable_spilo_wal_path_compat"));
    assert_string_equal(json_string_value(json_object_get(k8s, "pod_environment_configmap")),
                        "harbor/env");
    assert_string_equal(json_string_value(json_object_get(k8s, "pod_environment_secret")), "creds");
    ef = json_object_get(json_array_get(json_object_get(conf, "sidecars"), 0), "envFrom");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(ef, 0), "configMapRef"), "name")),
                        "env");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(ef, 1), "secretRef"), "name")),
                        "creds");
    json_decref(oc);
    oc = install_pg_hba_patch(&s);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(json_object_get(oc, "spec"), "patroni"), "pg_hba")),
                     9);
    json_decref(oc);
    oc = install_prometheus_rule(&s);
    assert_true(json_array_size(json_object_get(json_object_get(oc, "spec"), "groups")) > 0);
    json_decref(oc);
    oc = install_role(&s);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(oc, "rules"), 0), "resourceNames"), 0)),
        "env");
    json_decref(oc);
    config_unref(cfg);
}

static void test_secret_names_and_copy(void **state)
{
    char name[600];
    const char *users[3];
    json_t *src = json_loads(
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"Opaque\",\"metadata\":{"
        "\"name\":\"standby.old.credentials\",\"namespace\":\"harbor\",\"uid\":\"u\","
        "\"resourceVersion\":\"12\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
        "\"ownerReferences\":[{\"kind\":\"postgresql\"}],\"managedFields\":[{}],"
        "\"labels\":{\"application\":\"spilo\",\"cluster-name\":\"old\"},"
        "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\","
        "\"keep\":\"me\"}},\"data\":{\"username\":\"c3RhbmRieQ==\",\"password\":\"cHc=\"}}",
        0, NULL);
    json_t *copy, *m;
    const char *k;
    json_t *v;

    (void)state;
    install_secret_name(INSTALL_TARGET_HARBOR, "standby", "pg", name, sizeof(name));
    assert_string_equal(name, "standby.pg.credentials");
    install_secret_name(INSTALL_TARGET_POSTGRES, "foo_user", "pg", name, sizeof(name));
    assert_string_equal(name, "foo-user.pg.credentials.postgresql.acid.zalan.do");
    assert_int_equal(install_clone_users(INSTALL_TARGET_HARBOR, users), 3);
    assert_int_equal(install_clone_users(INSTALL_TARGET_POSTGRES, users), 2);
    assert_string_equal(users[0], "postgres");
    assert_string_equal(users[1], "standby");

    copy = install_copy_secret(src, "harbor", "standby.new.credentials", "new",
                               "harbor/standby.old.credentials");
    m = json_object_get(copy, "metadata");
    json_object_foreach(m, k, v)
    {
        (void)v;
        if (strcmp(k, "name") && strcmp(k, "namespace") && strcmp(k, "labels") &&
            strcmp(k, "annotations"))
            fail_msg("metadata.%s was kept", k);
    }
    assert_string_equal(json_string_value(json_object_get(m, "name")), "standby.new.credentials");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(m, "labels"), "cluster-name")), "new");
    assert_null(json_object_get(json_object_get(m, "annotations"),
                                "kubectl.kubernetes.io/last-applied-configuration"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(m, "annotations"), "keep")), "me");
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "annotations"),
                                                          INSTALL_ANNOTATION_FROM)),
                        "harbor/standby.old.credentials");
    assert_string_equal(data_of(copy, "password"), "cHc=");
    assert_string_equal(json_string_value(json_object_get(copy, "type")), "Opaque");
    json_decref(copy);
    json_decref(src);
}

static void test_decisions(void **state)
{
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\",\"labels\":{\"app.kubernetes.io/name\":"
                             "\"postgres-operator\",\"x\":\"1\"}},\"status\":{\"conditions\":["
                             "{\"type\":\"Ready\",\"status\":\"True\"}]}}",
                             0, NULL);
    char err[512];

    (void)state;
    assert_int_equal(install_decide(201, NULL, "5"), INSTALL_CREATED);
    assert_int_equal(install_decide(200, NULL, "5"), INSTALL_CREATED);
    assert_int_equal(install_decide(200, "5", "5"), INSTALL_UNCHANGED);
    assert_int_equal(install_decide(200, "5", "6"), INSTALL_CONFIGURED);
    assert_string_equal(install_outcome_name(INSTALL_SKIPPED), "skipped");
    assert_int_equal(
        config_check_value("install", "operator_selector", "a=b,c.d/e=f", err, sizeof(err)), 0);
    assert_int_equal(config_check_value("install", "operator_selector", "a", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(config_check_value("install", "operator_selector", "a=b,", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(config_check_value("install", "operator_selector", "a b=c", err, sizeof(err)),
                     -EINVAL);
    assert_true(install_labels_match(pod, "app.kubernetes.io/name=postgres-operator"));
    assert_true(install_labels_match(pod, "app.kubernetes.io/name=postgres-operator,x=1"));
    assert_false(install_labels_match(pod, "app.kubernetes.io/name=postgres"));
    assert_false(install_labels_match(pod, "x=1,y=2"));
    assert_true(install_pod_ready(pod));
    json_object_set_new(json_object_get(pod, "metadata"), "deletionTimestamp", json_string("t"));
    assert_false(install_pod_ready(pod));
    json_decref(pod);
}

static void test_plan_and_dry_run(void **state)
{
    struct config *cfg;
    struct install_settings s;
    struct install_plan plan;
    struct install_keys keys = {"AKIDEXAMPLE", "very-secret-value"};
    char err[2048];
    const char *restore[] = {"install.clone_cluster=src", "install.monitoring_namespace=mon"};
    static const char *const kinds[] = {
        "Namespace",   "Namespace",  "ConfigMap",     "Secret", "Role",
        "RoleBinding", "Secret",     "Secret",        "Secret", "OperatorConfiguration",
        "postgresql",  "PodMonitor", "PrometheusRule"};
    struct buf out;

    (void)state;
    assert_int_equal(load(INSTALL_MODE_RESTORE, restore, 2, &cfg, &s, err, sizeof(err)), 0);
    install_plan_build(&s, &keys, &plan);
    assert_int_equal(plan.n, sizeof(kinds) / sizeof(kinds[0]));
    for (size_t i = 0; i < plan.n; i++)
        assert_string_equal(plan.items[i].kind, kinds[i]);
    assert_string_equal(plan.items[1].name, "mon");
    assert_int_equal(plan.items[3].policy, INSTALL_APPLY);
    assert_int_equal(plan.items[6].policy, INSTALL_COPY_SECRET);
    assert_string_equal(plan.items[6].source_name, "postgres.src.credentials");
    assert_string_equal(plan.items[6].name, "postgres.postgresql-harbor-harborcluster.credentials");
    assert_int_equal(plan.items[9].policy, INSTALL_MUST_EXIST);
    assert_true(plan.items[9].operator_config);
    assert_int_equal(plan.items[10].policy, INSTALL_IF_EXISTS);
    assert_int_equal(plan.items[12].policy, INSTALL_IF_CRD);
    assert_string_equal(plan.items[12].namespace, "mon");
    for (size_t i = 0; i < plan.n; i++) /* the operator creates the pods' account */
        assert_string_not_equal(plan.items[i].kind, "ServiceAccount");
    install_plan_free(&plan);
    install_plan_build(&s, NULL, &plan);
    assert_int_equal(plan.items[3].policy, INSTALL_CHECK_EXISTS);
    install_plan_free(&plan);

    buf_init(&out, 1u << 24);
    install_render_dry_run(&s, &keys, &out);
    assert_false(out.overflow);
    assert_non_null(strstr(out.data, "\n---\n# Namespace harbor\napiVersion: v1\n"));
    assert_non_null(strstr(out.data, "AWS_SECRET_ACCESS_KEY: \"***\""));
    assert_non_null(strstr(out.data, "CLONE_SCOPE: src"));
    assert_non_null(strstr(out.data, "password: \"***\""));
    assert_null(strstr(out.data, "very-secret-value"));
    assert_null(strstr(out.data, "dmVyeS1zZWNyZXQtdmFsdWU="));
    buf_cleanup(&out);
    config_unref(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_plain),
        cmocka_unit_test(test_yaml_block),
        cmocka_unit_test(test_yaml_emit),
        cmocka_unit_test(test_settings_defaults),
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_settings_restore),
        cmocka_unit_test(test_pod_config),
        cmocka_unit_test(test_secret_and_redaction),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_operator_objects),
        cmocka_unit_test(test_secret_names_and_copy),
        cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_plan_and_dry_run),
    };

    return cmocka_run_group_tests_name("install", tests, NULL, NULL);
}

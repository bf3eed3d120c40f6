/* Unit tests of walg_env.c: prefix parsing and layouts, the derivation from the pod environment
 * (checked against the envdirs Spilo wrote for the same environment), and the verdicts for the
 * fixture envdirs and for each credentials form. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envdir.h"
#include "util.h"
#include "walg_env.h"

/* ---- helpers ----------------------------------------------------------------------------- */

struct env {
    char *v[128];
    size_t n;
};

static void env_add(struct env *e, const char *kv)
{
    assert_true(e->n < ARRAY_LEN(e->v) - 1);
    e->v[e->n++] = xstrdup(kv);
    e->v[e->n] = NULL;
}

/* pod-env.list: KEY=VALUE lines, # comments */
static void env_from_list(struct env *e, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];

    assert_non_null(f);
    memset(e, 0, sizeof(*e));
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && line[0] != '#' && strchr(line, '='))
            env_add(e, line);
    }
    fclose(f);
}

static void env_free(struct env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    e->n = 0;
}

static void input_init(struct walg_env_input *in, const char *envdir, char *const *envp)
{
    memset(in, 0, sizeof(*in));
    in->envdir = envdir;
    in->clone_glob = "";
    in->prefix = "";
    in->s3_endpoint = "";
    in->s3_region = "";
    in->s3_force_path_style = -1;
    in->environ = envp;
    in->pgroot = "/nonexistent";
}

static enum verdict evaluate(const struct walg_env_input *in, struct check_result *r)
{
    check_result_init(r);
    walg_env_evaluate(in, r);
    return r->status;
}

/* ---- prefix ------------------------------------------------------------------------------ */

static void test_parse_prefix(void **state)
{
    static const struct {
        const char *url;
        int rc;
        const char *bucket, *root;
        enum walg_layout layout;
    } cases[] = {
        {"s3://b/spilo/c/uid/wal/15", 0, "b", "spilo/c/uid/wal/15", WALG_LAYOUT_SPILO},
        {"s3://b/spilo/c/uid/wal/15/", 0, "b", "spilo/c/uid/wal/15", WALG_LAYOUT_SPILO},
        {"s3://b/spilo/c/wal/9.6", 0, "b", "spilo/c/wal/9.6", WALG_LAYOUT_SPILO},
        {"s3://b/spilo/c/uid/wal/", 0, "b", "spilo/c/uid/wal", WALG_LAYOUT_SPILO_OLD},
        {"s3://b/spilo/c/uid/wal", 0, "b", "spilo/c/uid/wal", WALG_LAYOUT_SPILO_OLD},
        {"s3://b//spilo/c/wal/15//", 0, "b", "spilo/c/wal/15", WALG_LAYOUT_SPILO},
        {"s3://b/team/spilo/c/wal/15", 0, "b", "team/spilo/c/wal/15", WALG_LAYOUT_SPILO},
        {"s3://b/backups/harbor", 0, "b", "backups/harbor", WALG_LAYOUT_CUSTOM},
        {"s3://b/spilo/c/wal/latest", 0, "b", "spilo/c/wal/latest", WALG_LAYOUT_CUSTOM},
        {"s3://b", 0, "b", "", WALG_LAYOUT_BUCKET_ROOT},
        {"s3://b/", 0, "b", "", WALG_LAYOUT_BUCKET_ROOT},
        {"s3:///spilo/c/wal/12", -EINVAL, NULL, NULL, 0},
        {"s3://", -EINVAL, NULL, NULL, 0},
        {"gs://b/x", -EINVAL, NULL, NULL, 0},
        {"https://b/x", -EINVAL, NULL, NULL, 0},
        {"s3://bad bucket/x", -EINVAL, NULL, NULL, 0},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *b, *r, err[200] = "";
        int rc = walg_parse_prefix(cases[i].url, &b, &r, err, sizeof(err));

        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, expected %d (%s)", cases[i].url, rc, cases[i].rc, err);
        if (rc == 0) {
            assert_string_equal(b, cases[i].bucket);
            assert_string_equal(r, cases[i].root);
            if (walg_layout_of(r) != cases[i].layout)
                fail_msg("%s: layout %s", cases[i].url, walg_layout_name(walg_layout_of(r)));
        } else {
            assert_null(b);
            assert_true(err[0] != '\0');
        }
        free(b);
        free(r);
    }
}

/* ---- derivation -------------------------------------------------------------------------- */

/* The derived envdir equals the one Spilo wrote, except the names in `except`. */
static void same_as_fixture(const struct envdir *got, const char *fixture_dir,
                            const char *const *except)
{
    struct envdir want;
    char err[256];

    assert_int_equal(envdir_load(fixture(fixture_dir), &want, err, sizeof(err)), 0);
    for (size_t i = 0; i < want.n; i++) {
        bool skip = false;
        const char *g;

        for (const char *const *x = except; *x; x++)
            skip |= strcmp(*x, want.vars[i].name) == 0;
        if (skip)
            continue;
        g = envdir_get(got, want.vars[i].name);
        if (!g || strcmp(g, want.vars[i].value) != 0)
            fail_msg("%s: %s derived as '%s', Spilo wrote '%s'", fixture_dir, want.vars[i].name,
                     g ? g : "(unset)", want.vars[i].value);
    }
    for (size_t i = 0; i < got->n; i++) {
        bool skip = false;

        for (const char *const *x = except; *x; x++)
            skip |= strcmp(*x, got->vars[i].name) == 0;
        if (!skip && !envdir_get(&want, got->vars[i].name))
            fail_msg("%s: derived %s which Spilo did not write", fixture_dir, got->vars[i].name);
    }
    envdir_free(&want);
}

static void test_derive_like_spilo(void **state)
{
    /* The concurrency defaults come from the host's CPU count, which is not in the env. */
    static const char *const host_dependent[] = {"WALG_DOWNLOAD_CONCURRENCY",
                                                 "WALG_UPLOAD_CONCURRENCY", NULL};
    /* ... and "loca" from the availability zone, which the sidecar cannot see. */
    static const char *const broken_except[] = {"WALG_DOWNLOAD_CONCURRENCY",
                                                "WALG_UPLOAD_CONCURRENCY", "AWS_REGION", NULL};
    static const char *const none[] = {NULL};
    struct env e;
    struct envdir got;

    (void)state;
    env_from_list(&e, fixture("envdir/walg-s3-ok/pod-env.list"));
    assert_true(walg_derive(e.v, "", "15", &got));
    same_as_fixture(&got, "envdir/walg-s3-ok/env", host_dependent);
    envdir_free(&got);
    env_free(&e);

    env_from_list(&e, fixture("envdir/clone-endpoint/pod-env.list"));
    assert_true(walg_derive(e.v, "", "15", &got));
    same_as_fixture(&got, "envdir/clone-endpoint/env", host_dependent);
    envdir_free(&got);
    assert_true(walg_derive(e.v, "CLONE_", NULL, &got));
    same_as_fixture(&got, "envdir/clone-endpoint/env-clone-postgresql-harbor-harborcluster", none);
    envdir_free(&got);
    env_free(&e);

    env_from_list(&e, fixture("envdir/broken-prefix-region/pod-env.list"));
    assert_true(walg_derive(e.v, "", "12", &got));
    same_as_fixture(&got, "envdir/broken-prefix-region/env", broken_except);
    assert_null(envdir_get(&got, "AWS_REGION"));
    envdir_free(&got);
    assert_false(walg_derive(e.v, "CLONE_", NULL, &got)); /* no clone configured */
    envdir_free(&got);
    env_free(&e);
}

static void test_derive_rules(void **state)
{
    struct env e = {0};
    struct envdir got;

    (void)state;
    /* nothing S3 at all */
    env_add(&e, "SCOPE=c");
    assert_false(walg_derive(e.v, "", "15", &got));
    envdir_free(&got);

    /* region guessed from the bucket name; scope from the pod name; namespace prefix */
    env_free(&e);
    env_add(&e, "WAL_S3_BUCKET=backups-eu-west-1-prod");
    env_add(&e, "POD_NAME=harbor-db-2");
    env_add(&e, "POD_NAMESPACE=registry");
    assert_true(walg_derive(e.v, "", "16", &got));
    assert_string_equal(envdir_get(&got, "AWS_REGION"), "eu-west-1");
    assert_string_equal(envdir_get(&got, "WALG_S3_PREFIX"),
                        "s3://backups-eu-west-1-prod/spilo/registry-harbor-db/wal/16");
    assert_string_equal(envdir_get(&got, "AWS_INSTANCE_PROFILE"), "true");
    assert_null(envdir_get(&got, "USE_WALG_BACKUP")); /* S3 defaults to WAL-E backups */
    assert_string_equal(envdir_get(&got, "USE_WALG_RESTORE"), "true");
    envdir_free(&got);

    /* AWS_ENDPOINT alone: WALE_S3_ENDPOINT gets +path, path style forced, SSE off, region only
     * with USE_WALG_BACKUP */
    env_free(&e);
    env_add(&e, "WAL_S3_BUCKET=b");
    env_add(&e, "SCOPE=c");
    env_add(&e, "WAL_BUCKET_SCOPE_PREFIX=");
    env_add(&e, "AWS_ENDPOINT=https://minio.example:9000");
    env_add(&e, "AWS_REGION=us-east-1");
    env_add(&e, "AWS_S3_FORCE_PATH_STYLE=false");
    env_add(&e, "USE_WALG=true");
    assert_true(walg_derive(e.v, "", "15", &got));
    assert_string_equal(envdir_get(&got, "WALE_S3_ENDPOINT"), "https+path://minio.example:9000");
    assert_string_equal(envdir_get(&got, "AWS_S3_FORCE_PATH_STYLE"), "true");
    assert_string_equal(envdir_get(&got, "WALG_DISABLE_S3_SSE"), "true");
    assert_string_equal(envdir_get(&got, "AWS_REGION"), "us-east-1");
    assert_string_equal(envdir_get(&got, "USE_WALG_BACKUP"), "true");
    assert_null(envdir_get(&got, "WALG_S3_SSE"));
    assert_string_equal(envdir_get(&got, "WALG_S3_PREFIX"), "s3://b/spilo/c/wal/15");
    envdir_free(&got);

    /* WALE_S3_ENDPOINT with virtualhost convention: AWS_ENDPOINT derived without it */
    env_free(&e);
    env_add(&e, "WALG_S3_PREFIX=s3://b/x");
    env_add(&e, "WALE_S3_ENDPOINT=https+virtualhost://s3.example:443");
    assert_true(walg_derive(e.v, "", NULL, &got));
    assert_string_equal(envdir_get(&got, "AWS_ENDPOINT"), "https://s3.example:443");
    assert_string_equal(envdir_get(&got, "AWS_S3_FORCE_PATH_STYLE"), "false");
    assert_null(envdir_get(&got, "AWS_REGION")); /* no USE_WALG_BACKUP */
    envdir_free(&got);
    env_free(&e);
}

/* ---- verdicts ---------------------------------------------------------------------------- */

static void test_fixture_verdicts(void **state)
{
    struct walg_env_input in;
    struct check_result r;
    char *const empty[] = {NULL};
    char dir[4096];
    json_t *clones;
    char *dump;

    (void)state;
    snprintf(dir, sizeof(dir), "%s", fixture("envdir/walg-s3-ok/env"));
    input_init(&in, dir, empty);
    assert_int_equal(evaluate(&in, &r), VERDICT_OK);
    assert_string_equal(json_string_value(json_object_get(r.details, "source")), "envdir");
    assert_string_equal(json_string_value(json_object_get(r.details, "layout")), "spilo");
    assert_string_equal(json_string_value(json_object_get(r.details, "bucket")),
                        "acme-harbor-pg-backups");
    assert_string_equal(json_string_value(json_object_get(r.details, "credentials")),
                        "static keys");
    assert_int_equal(json_integer_value(json_object_get(r.details, "retain")), 5);
    dump = json_dumps(r.details, 0);
    assert_null(strstr(dump, "ExampleSecret0042"));
    assert_null(strstr(dump, "AKIAEXAMPLEHARBORPG1"));
    assert_non_null(strstr(dump, "\"AWS_SECRET_ACCESS_KEY\": \"***\""));
    free(dump);
    check_result_cleanup(&r);

    snprintf(dir, sizeof(dir), "%s", fixture("envdir/broken-prefix-region/env"));
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "AWS_REGION \"loca\""));
    assert_non_null(strstr(r.summary, "2 more"));
    dump = json_dumps(json_object_get(r.details, "findings"), 0);
    assert_non_null(strstr(dump, "bucket root"));
    assert_non_null(strstr(dump, "WALE_S3_PREFIX"));
    free(dump);
    assert_string_equal(json_string_value(json_object_get(r.details, "layout")), "bucket-root");
    check_result_cleanup(&r);

    snprintf(dir, sizeof(dir), "%s", fixture("envdir/clone-endpoint/env"));
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "CLONE_AWS_ENDPOINT"));
    assert_non_null(strstr(r.summary, "https://s3.eu-central-1.amazonaws.com:443"));
    clones = json_object_get(r.details, "clones");
    assert_int_equal(json_array_size(clones), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(clones, 0), "status")),
                        "critical");
    assert_string_equal(json_string_value(json_object_get(json_array_get(clones, 0), "layout")),
                        "spilo-old");
    /* the cluster's own settings are fine */
    assert_string_equal(json_string_value(json_object_get(r.details, "layout")), "spilo");
    dump = json_dumps(r.details, 0);
    assert_null(strstr(dump, "CloneSecret00099x"));
    free(dump);
    check_result_cleanup(&r);
}

static void test_not_mounted(void **state)
{
    struct walg_env_input in;
    struct check_result r;
    struct env e;
    char *const empty[] = {NULL};

    (void)state;
    input_init(&in, "/nonexistent/wal-e.d/env", empty);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "not mounted"));
    /* the fix is what the user can change: the bucket and the uid suffix, or [walg] prefix */
    assert_non_null(strstr(r.summary, "WAL_BUCKET_SCOPE_SUFFIX=/<uid"));
    assert_non_null(strstr(r.summary, "[walg] prefix"));
    assert_null(strstr(r.summary, "envFrom"));
    check_result_cleanup(&r);

    env_from_list(&e, fixture("envdir/walg-s3-ok/pod-env.list"));
    input_init(&in, "/nonexistent/wal-e.d/env", e.v);
    assert_int_equal(evaluate(&in, &r), VERDICT_OK);
    assert_string_equal(json_string_value(json_object_get(r.details, "source")), "environment");
    assert_non_null(strstr(r.summary, "derived from the environment"));
    check_result_cleanup(&r);
    env_free(&e);

    /* a clone scope suffix without its leading '/' */
    env_from_list(&e, fixture("envdir/walg-s3-ok/pod-env.list"));
    env_add(&e, "CLONE_SCOPE=src");
    env_add(&e, "CLONE_WAL_S3_BUCKET=b");
    env_add(&e, "CLONE_WAL_BUCKET_SCOPE_SUFFIX=5e0c7d7a");
    env_add(&e, "CLONE_AWS_REGION=eu-central-1");
    input_init(&in, "/nonexistent/wal-e.d/env", e.v);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "set it to \"/5e0c7d7a\""));
    check_result_cleanup(&r);
    env_free(&e);

    /* without SCOPE nor POD_NAME the prefix cannot be rebuilt: say which variables to add */
    memset(&e, 0, sizeof(e));
    env_add(&e, "WAL_S3_BUCKET=b");
    env_add(&e, "AWS_REGION=eu-west-1");
    env_add(&e, "USE_WALG_BACKUP=true");
    env_add(&e, "AWS_ACCESS_KEY_ID=AKIAX");
    env_add(&e, "AWS_SECRET_ACCESS_KEY=secretsecret");
    input_init(&in, "/nonexistent/wal-e.d/env", e.v);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "SCOPE"));
    check_result_cleanup(&r);
    /* ... or [walg] prefix gives it */
    in.prefix = "s3://b/spilo/c/wal/15";
    assert_int_equal(evaluate(&in, &r), VERDICT_OK);
    check_result_cleanup(&r);
    env_free(&e);
}

/* A temporary envdir from NAME=VALUE strings. */
static char *make_envdir(const char *const *kv)
{
    char *dir = xstrdup("/tmp/test_walg_env.XXXXXX");

    assert_non_null(mkdtemp(dir));
    for (; *kv; kv++) {
        const char *eq = strchr(*kv, '=');
        char *path = xasprintf("%s/%.*s", dir, (int)(eq - *kv), *kv);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, eq + 1, strlen(eq + 1)), (ssize_t)strlen(eq + 1));
        close(fd);
        free(path);
    }
    return dir;
}

static void rm_rf(char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

#define BASE                                                                                       \
    "WALG_S3_PREFIX=s3://b/spilo/c/uid/wal/15", "USE_WALG_BACKUP=true", "USE_WALG_RESTORE=true"

static void test_cases(void **state)
{
    static const struct {
        const char *name;
        const char *vars[10];
        enum verdict want;
        const char *summary_has;
        const char *creds;
    } cases[] = {
        {"static keys",
         {BASE, "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIA1", "AWS_SECRET_ACCESS_KEY=s1"},
         VERDICT_OK,
         "static keys",
         "static keys"},
        {"session token",
         {BASE, "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=ASIA1", "AWS_SECRET_ACCESS_KEY=s1",
          "AWS_SESSION_TOKEN=tok"},
         VERDICT_OK,
         "session keys",
         "session keys"},
        {"IRSA (Spilo also writes AWS_INSTANCE_PROFILE)",
         {BASE, "AWS_REGION=eu-west-1", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/walg",
          "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
          "AWS_INSTANCE_PROFILE=true"},
         VERDICT_OK,
         "web identity",
         "web identity"},
        {"instance profile",
         {BASE, "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_OK,
         "instance profile",
         "instance profile"},
        {"bad role ARN",
         {BASE, "AWS_REGION=eu-west-1", "AWS_ROLE_ARN=walg-role", "AWS_WEB_IDENTITY_TOKEN_FILE=/t"},
         VERDICT_CRITICAL,
         "not an IAM role ARN",
         "web identity"},
        {"role without token",
         {BASE, "AWS_REGION=eu-west-1", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/walg"},
         VERDICT_CRITICAL,
         "AWS_WEB_IDENTITY_TOKEN_FILE",
         "none"},
        {"half static keys",
         {BASE, "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIA1"},
         VERDICT_CRITICAL,
         "AWS_SECRET_ACCESS_KEY is not",
         "none"},
        {"no credentials",
         {BASE, "AWS_REGION=eu-west-1"},
         VERDICT_CRITICAL,
         "no S3 credentials",
         "none"},
        {"no region, no endpoint",
         {BASE, "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "AWS_REGION is not set",
         NULL},
        {"not a region",
         {BASE, "AWS_REGION=frankfurt", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "not an AWS region",
         NULL},
        {"gov region",
         {BASE, "AWS_REGION=us-gov-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_OK,
         NULL,
         NULL},
        {"MinIO endpoint, no region",
         {BASE, "AWS_ENDPOINT=http://minio:9000", "AWS_S3_FORCE_PATH_STYLE=true",
          "AWS_INSTANCE_PROFILE=true"},
         VERDICT_OK,
         "http://minio:9000",
         NULL},
        {"WAL-E endpoint in AWS_ENDPOINT",
         {BASE, "AWS_ENDPOINT=https+path://minio:9000", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "AWS_ENDPOINT=https://minio:9000",
         NULL},
        {"endpoint without scheme",
         {BASE, "AWS_ENDPOINT=minio:9000", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "not an http:// or https:// URL",
         NULL},
        {"bad path style",
         {BASE, "AWS_ENDPOINT=https://m", "AWS_S3_FORCE_PATH_STYLE=yes",
          "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "AWS_S3_FORCE_PATH_STYLE",
         NULL},
        {"WAL-E backups",
         {"WALE_S3_PREFIX=s3://b/spilo/c/uid/wal/15", "USE_WALG_RESTORE=true",
          "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_WARNING,
         "USE_WALG_BACKUP=true",
         NULL},
        {"WAL-G backups, WAL-E restores",
         {"WALG_S3_PREFIX=s3://b/spilo/c/uid/wal/15", "USE_WALG_BACKUP=true",
          "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "USE_WALG_RESTORE=true",
         NULL},
        {"old layout",
         {"WALG_S3_PREFIX=s3://b/spilo/c/uid/wal/", "USE_WALG_BACKUP=true", "USE_WALG_RESTORE=true",
          "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_WARNING,
         "before 2.0-p2",
         NULL},
        {"no prefix",
         {"USE_WALG_BACKUP=true", "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "nowhere to write",
         NULL},
        {"empty bucket",
         {"WALG_S3_PREFIX=s3:///spilo/c/wal/15", "USE_WALG_BACKUP=true", "USE_WALG_RESTORE=true",
          "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true"},
         VERDICT_CRITICAL,
         "has no bucket",
         NULL},
        {"KMS without key id",
         {BASE, "AWS_REGION=eu-west-1", "AWS_INSTANCE_PROFILE=true", "WALG_S3_SSE=aws:kms"},
         VERDICT_WARNING,
         "WALG_S3_SSE_KMS_ID",
         NULL},
    };
    char *const empty[] = {NULL};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *dir = make_envdir(cases[i].vars);
        struct walg_env_input in;
        struct check_result r;
        enum verdict v;

        input_init(&in, dir, empty);
        v = evaluate(&in, &r);
        if (v != cases[i].want)
            fail_msg("%s: %s, expected %s: %s", cases[i].name, verdict_name(v),
                     verdict_name(cases[i].want), r.summary);
        if (cases[i].summary_has && !strstr(r.summary, cases[i].summary_has))
            fail_msg("%s: summary lacks '%s': %s", cases[i].name, cases[i].summary_has, r.summary);
        if (cases[i].creds)
            assert_string_equal(json_string_value(json_object_get(r.details, "credentials")),
                                cases[i].creds);
        check_result_cleanup(&r);
        rm_rf(dir);
    }
}

static void test_target(void **state)
{
    struct walg_env_input in;
    struct walg_target t;
    char err[256], dir[4096];
    char *const empty[] = {NULL};

    (void)state;
    snprintf(dir, sizeof(dir), "%s", fixture("envdir/walg-s3-ok/env"));
    input_init(&in, dir, empty);
    assert_int_equal(walg_target_resolve(&in, &t, err, sizeof(err)), 0);
    assert_string_equal(t.bucket, "acme-harbor-pg-backups");
    assert_string_equal(
        t.root, "spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/"
                "wal/15");
    assert_string_equal(t.region, "eu-central-1");
    assert_int_equal(t.creds, WALG_CREDS_STATIC);
    assert_string_equal(t.secret_key, "fixtureOnlyNotARealKey/ExampleSecret0042");
    assert_int_equal(t.retain, 5);
    walg_target_free(&t);

    /* [s3] and [walg] overrides win over the envdir */
    in.s3_endpoint = "http://127.0.0.1:9000";
    in.s3_force_path_style = 1;
    in.prefix = "s3://other/spilo/x/wal/16";
    assert_int_equal(walg_target_resolve(&in, &t, err, sizeof(err)), 0);
    assert_string_equal(t.endpoint, "http://127.0.0.1:9000");
    assert_true(t.path_style);
    assert_string_equal(t.bucket, "other");
    assert_string_equal(t.prefix_var, "[walg] prefix");
    walg_target_free(&t);

    input_init(&in, "/nonexistent/env", empty);
    assert_int_equal(walg_target_resolve(&in, &t, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "does not exist"));
    walg_target_free(&t);
}

/* ---- rules read in Spilo's configure_spilo.py and clone_with_wale.py ---------------------- */

/* Writes a derived envdir the way Spilo's write_file does (no newline) into a temporary dir. */
static char *write_envdir(const struct envdir *e)
{
    const char *kv[64];
    char *bufs[64], *dir;
    size_t n = 0;

    for (size_t i = 0; i < e->n && n < 63; i++, n++)
        kv[n] = bufs[n] = xasprintf("%s=%s", e->vars[i].name, e->vars[i].value);
    kv[n] = NULL;
    dir = make_envdir(kv);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    return dir;
}

static void test_upstream_flags(void **state)
{
    struct env e = {0};
    struct envdir got;
    struct walg_env_input in;
    struct check_result r1, r2;
    char *dir;

    (void)state;
    /* USE_WALG_RESTORE="" : placeholders = dict(os.environ) (configure_spilo.py:527 4.0-p3), so
     * the setdefault('USE_WALG_RESTORE', 'true') of :651 keeps the empty value and
     * set_walg_placeholders (:493-500) turns '' into None: no file, WAL-E restores. */
    env_add(&e, "WAL_S3_BUCKET=b");
    env_add(&e, "SCOPE=c");
    env_add(&e, "WAL_BUCKET_SCOPE_PREFIX=");
    env_add(&e, "WAL_BUCKET_SCOPE_SUFFIX=/uid");
    env_add(&e, "AWS_REGION=eu-west-1");
    env_add(&e, "USE_WALG_BACKUP=true");
    env_add(&e, "USE_WALG_RESTORE=");
    env_add(&e, "PGVERSION=15");
    env_add(&e, "AWS_INSTANCE_PROFILE=true");
    assert_true(walg_derive(e.v, "", "15", &got));
    assert_null(envdir_get(&got, "USE_WALG_RESTORE"));
    assert_string_equal(envdir_get(&got, "USE_WALG_BACKUP"), "true");
    /* derived and mounted agree */
    dir = write_envdir(&got);
    input_init(&in, "/nonexistent/wal-e.d/env", e.v);
    assert_int_equal(evaluate(&in, &r1), VERDICT_CRITICAL);
    input_init(&in, dir, (char *const[]){NULL});
    assert_int_equal(evaluate(&in, &r2), VERDICT_CRITICAL);
    if (!strstr(r1.summary, "USE_WALG_RESTORE"))
        fail_msg("derived: %s", r1.summary);
    assert_non_null(strstr(r2.summary, "USE_WALG_RESTORE"));
    check_result_cleanup(&r1);
    check_result_cleanup(&r2);
    rm_rf(dir);
    envdir_free(&got);
    env_free(&e);

    /* USE_WALG=false, USE_WALG_RESTORE unset: the S3 setdefault (:551 1.6-p5, :627 2.1-p7,
     * :651 4.0-p3) comes before USE_WALG is looked at, so WAL-G restores; only the backups are
     * WAL-E's: a warning, not critical. */
    env_add(&e, "WAL_S3_BUCKET=b");
    env_add(&e, "SCOPE=c");
    env_add(&e, "WAL_BUCKET_SCOPE_PREFIX=");
    env_add(&e, "WAL_BUCKET_SCOPE_SUFFIX=/uid");
    env_add(&e, "AWS_REGION=eu-west-1");
    env_add(&e, "USE_WALG=false");
    env_add(&e, "PGVERSION=15");
    env_add(&e, "AWS_INSTANCE_PROFILE=true");
    assert_true(walg_derive(e.v, "", "15", &got));
    assert_string_equal(envdir_get(&got, "USE_WALG_RESTORE"), "true");
    assert_null(envdir_get(&got, "USE_WALG_BACKUP"));
    envdir_free(&got);
    input_init(&in, "/nonexistent/wal-e.d/env", e.v);
    assert_int_equal(evaluate(&in, &r1), VERDICT_WARNING);
    /* archive_command is 'envdir ... {WALE_BINARY} wal-push' with WALE_BINARY wal-e unless
     * USE_WALG_BACKUP (:672-675 4.0-p3) */
    assert_non_null(strstr(r1.summary, "archive_command"));
    check_result_cleanup(&r1);
    env_free(&e);

    /* a clone: CLONE_USE_WALG defaults to true for S3 (:622 4.0-p3), an empty one is false */
    env_add(&e, "CLONE_WAL_S3_BUCKET=b");
    env_add(&e, "CLONE_SCOPE=src");
    assert_true(walg_derive(e.v, "CLONE_", NULL, &got));
    assert_string_equal(envdir_get(&got, "USE_WALG_RESTORE"), "true");
    envdir_free(&got);
    env_add(&e, "CLONE_USE_WALG=");
    assert_true(walg_derive(e.v, "CLONE_", NULL, &got));
    assert_null(envdir_get(&got, "USE_WALG_RESTORE"));
    envdir_free(&got);
    env_free(&e);
}

static void test_upstream_region(void **state)
{
    static const struct {
        const char *bucket, *wale_prefix, *want;
    } cases[] = {
        /* re.search(r'.*(\w{2}-\w+-\d)-.*', name): the greedy .* takes the last match
         * (configure_spilo.py:714 1.6-p5, :829 2.1-p7, :897 4.0-p3) */
        {"pg-eu-west-1-copy-us-east-2-x", NULL, "us-east-2"},
        {"backups-eu-west-1-prod", NULL, "eu-west-1"},
        {"eu-central-1-pg", NULL, "eu-central-1"},
        {"pg-eu-central-1", NULL, NULL},      /* no '-' after the digit */
        {"pg-eu-central-12-x", NULL, NULL},   /* \d is one digit followed by '-' */
        {"abeu-west-1-x", NULL, "eu-west-1"}, /* \w{2} inside a longer word */
        /* name = WAL_S3_BUCKET or WALE_S3_PREFIX: the prefix only without a bucket */
        {"plain", "s3://x-eu-west-1-y/spilo/c/wal/15", NULL},
        {NULL, "s3://x-eu-west-1-y/spilo/c/wal/15", "eu-west-1"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct env e = {0};
        struct envdir got;
        char *kv;
        const char *r;

        env_add(&e, "SCOPE=c");
        if (cases[i].bucket) {
            kv = xasprintf("WAL_S3_BUCKET=%s", cases[i].bucket);
            env_add(&e, kv);
            free(kv);
        }
        if (cases[i].wale_prefix) {
            kv = xasprintf("WALE_S3_PREFIX=%s", cases[i].wale_prefix);
            env_add(&e, kv);
            free(kv);
        }
        assert_true(walg_derive(e.v, "", "15", &got));
        r = envdir_get(&got, "AWS_REGION");
        if (cases[i].want ? !r || strcmp(r, cases[i].want) != 0 : r != NULL)
            fail_msg("%s / %s: region %s, expected %s", cases[i].bucket ? cases[i].bucket : "-",
                     cases[i].wale_prefix ? cases[i].wale_prefix : "-", r ? r : "(none)",
                     cases[i].want ? cases[i].want : "(the instance zone)");
        envdir_free(&got);
        env_free(&e);
    }
}

static void test_upstream_endpoints(void **state)
{
    static const char *const host_dependent[] = {"WALG_DOWNLOAD_CONCURRENCY",
                                                 "WALG_UPLOAD_CONCURRENCY", NULL};
    struct walg_env_input in;
    struct check_result r;
    struct env e;
    struct envdir got;
    char dir[4096];
    char *const empty[] = {NULL};

    (void)state;
    /* Spilo 2.1-p7 forces path style with every endpoint (configure_spilo.py:823 2.1-p7): an
     * endpoint that already names the bucket gets it twice. */
    env_from_list(&e, fixture("envdir/endpoint-bucket-host/pod-env.list"));
    assert_true(walg_derive(e.v, "", "14", &got));
    same_as_fixture(&got, "envdir/endpoint-bucket-host/env", host_dependent);
    envdir_free(&got);
    env_free(&e);
    snprintf(dir, sizeof(dir), "%s", fixture("envdir/endpoint-bucket-host/env"));
    input_init(&in, dir, empty);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "bucket twice"));
    assert_non_null(strstr(r.summary, "set AWS_ENDPOINT=https://s3.eu-central-1.amazonaws.com"));
    check_result_cleanup(&r);

    /* Spilo 1.6-p5 writes no AWS_S3_FORCE_PATH_STYLE with an endpoint (:705-710 1.6-p5): WAL-G
     * addresses minio.storage.svc by virtual host; the details say what the envdir says. */
    snprintf(dir, sizeof(dir), "%s", fixture("envdir/spilo-1.6-p5-minio/env"));
    input_init(&in, dir, empty);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "no AWS_S3_FORCE_PATH_STYLE"));
    assert_non_null(strstr(r.summary, "pg-backups.minio.storage.svc"));
    assert_false(json_boolean_value(json_object_get(r.details, "force_path_style")));
    assert_false(json_boolean_value(json_object_get(r.details, "force_path_style_set")));
    check_result_cleanup(&r);

    /* the agent's own [s3] endpoint is not what WAL-G uses: no addressing finding for it */
    snprintf(dir, sizeof(dir), "%s", fixture("envdir/walg-s3-ok/env"));
    input_init(&in, dir, empty);
    in.s3_endpoint = "http://127.0.0.1:9000";
    assert_int_equal(evaluate(&in, &r), VERDICT_OK);
    check_result_cleanup(&r);

    /* envdir mode: a clone scope suffix without '/' shows in the clone envdir's prefix
     * (:866 2.1-p7); derived from the same environment, the same verdict. */
    env_from_list(&e, fixture("envdir/clone-suffix-glued/pod-env.list"));
    assert_true(walg_derive(e.v, "CLONE_", NULL, &got));
    same_as_fixture(&got, "envdir/clone-suffix-glued/env-clone-registry",
                    (const char *const[]){NULL});
    envdir_free(&got);
    snprintf(dir, sizeof(dir), "%s", fixture("envdir/clone-suffix-glued/env"));
    input_init(&in, dir, empty);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "set it to \"/9b8a7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d\""));
    check_result_cleanup(&r);
    input_init(&in, "/nonexistent/wal-e.d/env", e.v);
    assert_int_equal(evaluate(&in, &r), VERDICT_CRITICAL);
    assert_non_null(strstr(r.summary, "set it to \"/9b8a7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d\""));
    check_result_cleanup(&r);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_prefix),    cmocka_unit_test(test_derive_like_spilo),
        cmocka_unit_test(test_derive_rules),    cmocka_unit_test(test_fixture_verdicts),
        cmocka_unit_test(test_not_mounted),     cmocka_unit_test(test_cases),
        cmocka_unit_test(test_target),          cmocka_unit_test(test_upstream_flags),
        cmocka_unit_test(test_upstream_region), cmocka_unit_test(test_upstream_endpoints),
    };
    return cmocka_run_group_tests_name("walg_env", tests, NULL, NULL);
}

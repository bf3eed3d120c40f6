/* Unit tests of k8s_pod_container_env() on a pod as the postgres-operator builds it, and of the
 * walg_env verdict derived from the Spilo container's environment read from the pod's spec
 * instead of the sidecar's own (which lacks what the operator gives the Spilo container only). */
#include "harness.h"

#include "k8s.h"
#include "util.h"
#include "walg_env.h"

static json_t *load_pod(void)
{
    json_error_t je;
    json_t *pod = json_load_file(fixture("k8s/spilo-pod.json"), 0, &je);

    if (!pod)
        fail_msg("k8s/spilo-pod.json: %s", je.text);
    return pod;
}

static void input_init(struct walg_env_input *in, char *const *envp)
{
    memset(in, 0, sizeof(*in));
    in->envdir = "/nonexistent/wal-e.d/env";
    in->clone_glob = "";
    in->prefix = "";
    in->s3_endpoint = "";
    in->s3_region = "";
    in->s3_force_path_style = -1;
    in->environ = envp;
    in->pgroot = "/nonexistent";
}

static void test_container_env(void **state)
{
    json_t *pod = load_pod(), *unknown = json_array();
    char **env;

    (void)state;
    env = k8s_pod_container_env(pod, "postgres", unknown);
    assert_non_null(env);
    assert_string_equal(util_env_get(env, "SCOPE"), "harbor-db");
    assert_string_equal(util_env_get(env, "POD_NAMESPACE"), "registry"); /* fieldRef */
    assert_string_equal(util_env_get(env, "POD_IP"), "10.244.1.17");
    /* secretKeyRef: set, value unread */
    assert_string_equal(util_env_get(env, "AWS_SECRET_ACCESS_KEY"),
                        "(Secret pod-secret key AWS_SECRET_ACCESS_KEY)");
    assert_string_equal(util_env_get(env, "WAL_BUCKET_SCOPE_SUFFIX"),
                        "/4d3c2b1a-0f9e-4d8c-b7a6-554433221100");
    assert_string_equal(util_env_get(env, "WAL_BUCKET_SCOPE_PREFIX"), "");
    assert_int_equal(json_array_size(unknown), 0);
    k8s_env_free(env);
    assert_null(k8s_pod_container_env(pod, "nope", NULL));

    /* envFrom and configMapKeyRef are named, not read; a later entry wins */
    json_array_append_new(
        json_object_get(
            json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "env"),
        json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", "SCOPE", "valueFrom", "configMapKeyRef",
                  "name", "x", "key", "y"));
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "envFrom",
        json_pack("[{s:{s:s}}]", "configMapRef", "name", "pod-config"));
    env = k8s_pod_container_env(pod, "postgres", unknown);
    assert_int_equal(json_array_size(unknown), 2);
    assert_string_equal(json_string_value(json_array_get(unknown, 0)),
                        "envFrom configMap pod-config");
    assert_string_equal(json_string_value(json_array_get(unknown, 1)), "SCOPE");
    k8s_env_free(env);
    json_decref(unknown);
    json_decref(pod);
}

static void test_verdict_from_pod(void **state)
{
    json_t *pod = load_pod();
    char **env = k8s_pod_container_env(pod, "postgres", NULL);
    char *const sidecar[] = {"POD_NAME=harbor-db-0",
                             "POD_NAMESPACE=registry",
                             "WAL_S3_BUCKET=acme-pg",
                             "SCOPE=harbor-db",
                             "PGVERSION=14",
                             "AWS_REGION=eu-central-1",
                             "USE_WALG_BACKUP=true",
                             "AWS_INSTANCE_PROFILE=true",
                             NULL};
    struct walg_env_input in;
    struct check_result r;

    (void)state;
    /* the Spilo container's environment: the operator's uid suffix is known, the prefix certain
     * (configure_spilo.py:866 2.1-p7) */
    input_init(&in, env);
    in.environ_from = "pod harbor-db-0, container postgres";
    check_result_init(&r);
    walg_env_evaluate(&in, &r);
    if (r.status != VERDICT_OK)
        fail_msg("%s: %s", verdict_name(r.status), r.summary);
    assert_string_equal(json_string_value(json_object_get(r.details, "prefix")),
                        "s3://acme-pg/spilo/harbor-db/4d3c2b1a-0f9e-4d8c-b7a6-554433221100/wal/14");
    assert_string_equal(json_string_value(json_object_get(r.details, "environment")),
                        "pod harbor-db-0, container postgres");
    assert_string_equal(json_string_value(json_object_get(r.details, "credentials")),
                        "static keys");
    check_result_cleanup(&r);

    /* the sidecar's own environment: Spilo's default scope prefix "registry-" and no uid
     * (:568-570 4.0-p3) would be reported as certain; say it is not, and what is unknown */
    input_init(&in, sidecar);
    in.pod_error = "pods \"harbor-db-0\" is forbidden";
    check_result_init(&r);
    walg_env_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_WARNING);
    assert_non_null(
        strstr(r.summary, "s3://acme-pg/spilo/registry-harbor-db/wal/14 is not certain"));
    assert_non_null(strstr(r.summary, "WAL_BUCKET_SCOPE_SUFFIX"));
    assert_non_null(strstr(r.summary, "reading the pod failed"));
    assert_non_null(
        strstr(json_string_value(json_object_get(r.details, "pod_error")), "forbidden"));
    assert_true(json_array_size(json_object_get(r.details, "unknown")) >= 2);
    check_result_cleanup(&r);
    k8s_env_free(env);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_env),
        cmocka_unit_test(test_verdict_from_pod),
    };

    return cmocka_run_group_tests_name("pod_env", tests, NULL, NULL);
}

/* Unit tests of the pure parts of k8s.c and cleanup.c: URL building, Status and RBAC denial
 * parsing, the error sentences, and the cleanup's patch, backup, names and restore gate. */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>

#include "check_result.h"
#include "cleanup.h"
#include "k8s.h"
#include "status.h"

#define API "https://10.96.0.1:443"

static const char status_403[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"configmaps \\\"pod-config\\\" is forbidden: User "
    "\\\"system:serviceaccount:harbor:postgres-pod\\\" cannot patch resource \\\"configmaps\\\" in "
    "API group \\\"\\\" in the namespace \\\"harbor\\\"\",\"reason\":\"Forbidden\","
    "\"details\":{\"name\":\"pod-config\",\"kind\":\"configmaps\"},\"code\":403}";

static const char status_403_create[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"configmaps is forbidden: User \\\"system:serviceaccount:harbor:postgres-pod\\\" "
    "cannot create resource \\\"configmaps\\\" in API group \\\"\\\" in the namespace "
    "\\\"harbor\\\"\",\"reason\":\"Forbidden\",\"details\":{\"kind\":\"configmaps\"},\"code\":403}";

static const char status_404[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"configmaps \\\"pod-config\\\" not found\",\"reason\":\"NotFound\","
    "\"details\":{\"name\":\"pod-config\",\"kind\":\"configmaps\"},\"code\":404}";

static const char status_404_ns[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"namespaces \\\"nope\\\" not found\",\"reason\":\"NotFound\","
    "\"details\":{\"name\":\"nope\",\"kind\":\"namespaces\"},\"code\":404}";

static const char status_404_path[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"the server could not find the requested resource\",\"reason\":\"NotFound\","
    "\"details\":{},\"code\":404}";

static const char status_409[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"Operation cannot be fulfilled on configmaps \\\"pod-config\\\": the object has "
    "been modified; please apply your changes to the latest version and try again\","
    "\"reason\":\"Conflict\",\"details\":{\"name\":\"pod-config\",\"kind\":\"configmaps\"},"
    "\"code\":409}";

static const char status_409_exists[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"configmaps \\\"x\\\" already exists\",\"reason\":\"AlreadyExists\","
    "\"details\":{\"name\":\"x\",\"kind\":\"configmaps\"},\"code\":409}";

static const char status_422[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"ConfigMap \\\"Bad\\\" is invalid: metadata.name: Invalid value: \\\"Bad\\\": a "
    "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters\","
    "\"reason\":\"Invalid\",\"details\":{\"name\":\"Bad\",\"kind\":\"ConfigMap\",\"causes\":["
    "{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"Bad\\\"\","
    "\"field\":\"metadata.name\"}]},\"code\":422}";

static const struct k8s_ref cm_ref = {
    .resource = "configmaps", .kind = "ConfigMap", .namespace = "harbor", .name = "pod-config"};

/* ---- URLs -------------------------------------------------------------------------------- */

static void test_build_url(void **state)
{
    char url[512];
    struct k8s_ref coll = {.resource = "configmaps", .namespace = "harbor"};
    struct k8s_ref grp = {.group = "rbac.authorization.k8s.io",
                          .version = "v1",
                          .resource = "rolebindings",
                          .namespace = "harbor",
                          .name = "spilo-agent"};
    struct k8s_ref cluster = {.resource = "namespaces", .name = "harbor"};
    struct k8s_ref crd = {.group = "acid.zalan.do",
                          .version = "v1",
                          .resource = "operatorconfigurations",
                          .namespace = "ops",
                          .name = "postgresql-operator-default-configuration"};

    (void)state;
    assert_int_equal(k8s_build_url(API, K8S_GET, &cm_ref, url, sizeof(url)), 0);
    assert_string_equal(url, API "/api/v1/namespaces/harbor/configmaps/pod-config");
    assert_int_equal(k8s_build_url(API "/", K8S_MERGE_PATCH, &cm_ref, url, sizeof(url)), 0);
    assert_string_equal(url, API "/api/v1/namespaces/harbor/configmaps/pod-config");
    /* create posts to the collection, even when the ref names the object */
    assert_int_equal(k8s_build_url(API, K8S_CREATE, &cm_ref, url, sizeof(url)), 0);
    assert_string_equal(url, API "/api/v1/namespaces/harbor/configmaps");
    assert_int_equal(k8s_build_url(API, K8S_GET, &coll, url, sizeof(url)), 0);
    assert_string_equal(url, API "/api/v1/namespaces/harbor/configmaps");
    assert_int_equal(k8s_build_url(API, K8S_APPLY, &grp, url, sizeof(url)), 0);
    assert_string_equal(url, API "/apis/rbac.authorization.k8s.io/v1/namespaces/harbor/"
                                 "rolebindings/spilo-agent?fieldManager=spilo-agent&force=true");
    assert_int_equal(k8s_build_url(API, K8S_APPLY, &cluster, url, sizeof(url)), 0);
    assert_string_equal(url, API "/api/v1/namespaces/harbor?fieldManager=spilo-agent&force=true");
    assert_int_equal(k8s_build_url("https://k8s.example/proxy", K8S_GET, &crd, url, sizeof(url)),
                     0);
    assert_string_equal(url, "https://k8s.example/proxy/apis/acid.zalan.do/v1/namespaces/ops/"
                             "operatorconfigurations/postgresql-operator-default-configuration");
}

static void test_build_url_rejects(void **state)
{
    char url[512], small[40];
    struct k8s_ref r = cm_ref;

    (void)state;
    r.name = "../secrets/x";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    r.name = "..";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    r.name = "a b";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    r.name = "x?y=1";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    r.name = "pod%2fconfig";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    r.name = NULL; /* a patch needs an object */
    assert_int_equal(k8s_build_url(API, K8S_MERGE_PATCH, &r, url, sizeof(url)), -EINVAL);
    assert_int_equal(k8s_build_url(API, K8S_APPLY, &r, url, sizeof(url)), -EINVAL);
    r = cm_ref;
    r.namespace = "har/bor";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    r = cm_ref;
    r.resource = "";
    assert_int_equal(k8s_build_url(API, K8S_GET, &r, url, sizeof(url)), -EINVAL);
    assert_int_equal(k8s_build_url("", K8S_GET, &cm_ref, url, sizeof(url)), -EINVAL);
    assert_int_equal(k8s_build_url("///", K8S_GET, &cm_ref, url, sizeof(url)), -EINVAL);
    assert_int_equal(k8s_build_url(API, K8S_GET, &cm_ref, small, sizeof(small)), -ENAMETOOLONG);
}

static void test_verb_rbac(void **state)
{
    struct k8s_ref coll = {.resource = "configmaps", .namespace = "x"};

    (void)state;
    assert_string_equal(k8s_verb_rbac(K8S_GET, &cm_ref), "get");
    assert_string_equal(k8s_verb_rbac(K8S_GET, &coll), "list");
    assert_string_equal(k8s_verb_rbac(K8S_CREATE, &cm_ref), "create");
    assert_string_equal(k8s_verb_rbac(K8S_MERGE_PATCH, &cm_ref), "patch");
    assert_string_equal(k8s_verb_rbac(K8S_APPLY, &cm_ref), "patch");
}

/* ---- Status and RBAC denials --------------------------------------------------------------- */

static void test_status_parse(void **state)
{
    struct k8s_status st;

    (void)state;
    assert_int_equal(k8s_status_parse(status_403, strlen(status_403), &st), 0);
    assert_int_equal(st.code, 403);
    assert_string_equal(st.reason, "Forbidden");
    assert_string_equal(st.details_name, "pod-config");
    assert_string_equal(st.details_kind, "configmaps");
    assert_non_null(strstr(st.message, "cannot patch resource"));
    assert_int_equal(k8s_status_parse(status_422, strlen(status_422), &st), 0);
    assert_string_equal(st.causes, "metadata.name: Invalid value: \"Bad\"");
    /* not a Status */
    assert_int_equal(k8s_status_parse("{\"kind\":\"ConfigMap\"}", 20, &st), -EINVAL);
    assert_int_equal(k8s_status_parse("<html>502</html>", 16, &st), -EINVAL);
    assert_int_equal(k8s_status_parse("[1,2]", 5, &st), -EINVAL);
    assert_int_equal(k8s_status_parse("", 0, &st), -EINVAL);
    assert_int_equal(k8s_status_parse(NULL, 0, &st), -EINVAL);
    assert_string_equal(st.message, "");
    /* wrong types are skipped, control characters cleaned */
    {
        static const char odd[] =
            "{\"kind\":\"Status\",\"code\":\"403\",\"message\":\"a\\nb\",\"details\":[]}";

        assert_int_equal(k8s_status_parse(odd, strlen(odd), &st), 0);
    }
    assert_int_equal(st.code, 0);
    assert_string_equal(st.message, "a b");
}

static void test_forbidden_parse(void **state)
{
    struct k8s_forbidden f;
    struct k8s_status st;
    char rule[512];

    (void)state;
    assert_int_equal(k8s_status_parse(status_403, strlen(status_403), &st), 0);
    assert_int_equal(k8s_forbidden_parse(st.message, &f), 0);
    assert_string_equal(f.user, "system:serviceaccount:harbor:postgres-pod");
    assert_string_equal(f.verb, "patch");
    assert_string_equal(f.resource, "configmaps");
    assert_string_equal(f.group, "");
    assert_string_equal(f.name, "pod-config");
    assert_string_equal(f.namespace, "harbor");
    assert_false(f.cluster_scope);
    k8s_rbac_rule(&f, rule, sizeof(rule));
    assert_string_equal(rule, "Role rule: apiGroups [\"\"], resources [\"configmaps\"], verbs "
                              "[\"patch\"], resourceNames [\"pod-config\"]");

    /* create: no object name, and RBAC cannot restrict create by name */
    assert_int_equal(k8s_status_parse(status_403_create, strlen(status_403_create), &st), 0);
    assert_int_equal(k8s_forbidden_parse(st.message, &f), 0);
    assert_string_equal(f.name, "");
    assert_string_equal(f.verb, "create");
    k8s_rbac_rule(&f, rule, sizeof(rule));
    assert_string_equal(
        rule, "Role rule: apiGroups [\"\"], resources [\"configmaps\"], verbs [\"create\"]");

    /* cluster scope, another group, a suffix after the sentence */
    assert_int_equal(k8s_forbidden_parse("clusterroles.rbac.authorization.k8s.io \"x\" is "
                                         "forbidden: User \"alice\" cannot get resource "
                                         "\"clusterroles\" in API group "
                                         "\"rbac.authorization.k8s.io\" at the cluster scope: "
                                         "RBAC: clusterrole.rbac.authorization.k8s.io \"y\" not "
                                         "found",
                                         &f),
                     0);
    assert_true(f.cluster_scope);
    assert_string_equal(f.group, "rbac.authorization.k8s.io");
    assert_string_equal(f.name, "x");
    k8s_rbac_rule(&f, rule, sizeof(rule));
    assert_string_equal(rule, "ClusterRole rule: apiGroups [\"rbac.authorization.k8s.io\"], "
                              "resources [\"clusterroles\"], verbs [\"get\"], resourceNames "
                              "[\"x\"]");
    /* subresource */
    assert_int_equal(k8s_forbidden_parse("pods \"p-0\" is forbidden: User \"u\" cannot create "
                                         "resource \"pods/exec\" in API group \"\" in the "
                                         "namespace \"n\"",
                                         &f),
                     0);
    assert_string_equal(f.resource, "pods/exec");

    /* other wordings */
    assert_int_equal(k8s_forbidden_parse("forbidden", &f), -EINVAL);
    assert_int_equal(k8s_forbidden_parse("x is forbidden: User \"u\" cannot get path \"/foo\"", &f),
                     -EINVAL);
    assert_int_equal(k8s_forbidden_parse("x is forbidden: User \"u", &f), -EINVAL);
    assert_int_equal(k8s_forbidden_parse(NULL, &f), -EINVAL);
}

/* ---- error sentences ------------------------------------------------------------------------ */

static int describe(long status, const char *body, enum k8s_verb verb, const struct k8s_ref *ref,
                    char *out, size_t len)
{
    struct k8s_failure f = {
        .api = API,
        .token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token",
        .ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        .verb = verb,
        .ref = ref,
        .http_status = status,
        .timeout_ms = 10000,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };

    return k8s_describe_failure(&f, out, len);
}

/* Regression (found by fuzz_k8s): an error body is not NUL-terminated; nothing may read past
 * body_len. The copies below are exactly as long as their text, so ASan catches an overrun. */
static void test_describe_unterminated(void **state)
{
    static const char *const bodies[] = {
        "404 page not found",
        "{\"kind\":\"Status\",\"code\":403,\"message\":\"configmaps \\\"x\\\" is forbidden",
        "{\"kind\":\"Status\"",
        "<html>",
        "{",
    };
    struct k8s_ref ref = {
        .resource = "configmaps", .kind = "ConfigMap", .namespace = "ns", .name = "pod-config"};
    char out[1024];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
        size_t n = strlen(bodies[i]);
        char *b = malloc(n);
        struct k8s_status st;
        struct k8s_failure f = {.api = API,
                                .verb = K8S_GET,
                                .ref = &ref,
                                .http_status = 403,
                                .timeout_ms = 1000,
                                .body = b,
                                .body_len = n};

        assert_non_null(b);
        memcpy(b, bodies[i], n);
        if (k8s_status_parse(b, n, &st) == 0)
            assert_true(strlen(st.message) < sizeof(st.message));
        (void)k8s_describe_failure(&f, out, sizeof(out));
        assert_true(strlen(out) > 0);
        free(b);
    }
}

static void test_describe_http(void **state)
{
    char out[2048];
    struct k8s_ref backup = {.resource = "configmaps",
                             .kind = "ConfigMap",
                             .namespace = "nope",
                             .name = "pod-config-before-cleanup-20260101t000000z"};

    (void)state;
    assert_int_equal(describe(401,
                              "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":"
                              "\"Unauthorized\",\"code\":401}",
                              K8S_GET, &cm_ref, out, sizeof(out)),
                     -EACCES);
    assert_non_null(strstr(out, "rejected the bearer token from "
                                "/var/run/secrets/kubernetes.io/serviceaccount/token"));
    assert_non_null(strstr(out, "invalid or expired"));

    assert_int_equal(describe(403, status_403, K8S_MERGE_PATCH, &cm_ref, out, sizeof(out)),
                     -EACCES);
    assert_string_equal(
        out, "the service account system:serviceaccount:harbor:postgres-pod may not patch "
             "configmaps \"pod-config\" in namespace \"harbor\" (403 Forbidden); add this rule to "
             "a Role bound to it in namespace \"harbor\": Role rule: apiGroups [\"\"], resources "
             "[\"configmaps\"], verbs [\"patch\"], resourceNames [\"pod-config\"]");
    /* a denial in another wording: the rule from the request itself */
    assert_int_equal(describe(403,
                              "{\"kind\":\"Status\",\"message\":\"admission webhook denied "
                              "it\",\"code\":403}",
                              K8S_MERGE_PATCH, &cm_ref, out, sizeof(out)),
                     -EACCES);
    assert_non_null(strstr(out, "admission webhook denied it"));
    assert_non_null(strstr(out, "verbs [\"patch\"], resourceNames [\"pod-config\"]"));

    assert_int_equal(describe(404, status_404, K8S_GET, &cm_ref, out, sizeof(out)), -ENOENT);
    assert_string_equal(out, "ConfigMap \"pod-config\" in namespace \"harbor\" was not found "
                             "(404 Not Found at " API ")");
    assert_int_equal(describe(404, status_404_ns, K8S_CREATE, &backup, out, sizeof(out)), -ENOENT);
    assert_non_null(strstr(out, "namespaces \"nope\" not found"));
    assert_int_equal(describe(404, status_404_path, K8S_GET, &cm_ref, out, sizeof(out)), -ENOENT);
    assert_non_null(strstr(out, "does not serve"));
    assert_int_equal(describe(404, "404 page not found", K8S_GET, &cm_ref, out, sizeof(out)),
                     -ENOENT);
    assert_non_null(strstr(out, "404 page not found"));

    assert_int_equal(describe(409, status_409, K8S_MERGE_PATCH, &cm_ref, out, sizeof(out)),
                     -ESTALE);
    assert_non_null(strstr(out, "changed by someone else"));
    assert_non_null(strstr(out, "re-run"));
    assert_int_equal(describe(409, status_409_exists, K8S_CREATE, &cm_ref, out, sizeof(out)),
                     -EEXIST);
    assert_non_null(strstr(out, "already exists"));

    assert_int_equal(describe(422, status_422, K8S_CREATE, &cm_ref, out, sizeof(out)), -EINVAL);
    assert_non_null(strstr(out, "invalid (422: ConfigMap \"Bad\" is invalid"));
    assert_non_null(strstr(out, "metadata.name: Invalid value"));
    assert_int_equal(describe(415, NULL, K8S_APPLY, &cm_ref, out, sizeof(out)), -EINVAL);
    assert_int_equal(describe(429, NULL, K8S_GET, &cm_ref, out, sizeof(out)), -EIO);
    assert_non_null(strstr(out, "throttling"));
    assert_int_equal(
        describe(503, "<html>\r\nunavailable</html>", K8S_GET, &cm_ref, out, sizeof(out)), -EIO);
    assert_non_null(strstr(out, "(503: <html>  unavailable</html>)"));
    assert_int_equal(describe(302, NULL, K8S_GET, &cm_ref, out, sizeof(out)), -EIO);
    /* a short buffer is cut, not overrun */
    assert_int_equal(describe(403, status_403, K8S_MERGE_PATCH, &cm_ref, out, 16), -EACCES);
    assert_int_equal(strlen(out), 15);
}

static void test_describe_transport(void **state)
{
    char out[2048];
    struct k8s_failure f = {
        .api = API,
        .token_file = "/t",
        .ca_file = "/ca.crt",
        .verb = K8S_GET,
        .ref = &cm_ref,
        .timeout_ms = 10000,
    };

    (void)state;
    f.curl_rc = CURLE_OPERATION_TIMEDOUT;
    f.curl_error = "Operation timed out after 10001 milliseconds with 0 bytes received";
    assert_int_equal(k8s_describe_failure(&f, out, sizeof(out)), -ETIMEDOUT);
    assert_non_null(strstr(out, "at " API " did not answer within 10000 ms"));
    f.curl_rc = CURLE_COULDNT_CONNECT;
    f.curl_error = "Failed to connect to 10.96.0.1 port 443: Connection refused";
    assert_int_equal(k8s_describe_failure(&f, out, sizeof(out)), -ECONNREFUSED);
    assert_non_null(strstr(out, "unreachable at " API));
    f.curl_rc = CURLE_PEER_FAILED_VERIFICATION;
    f.curl_error = "SSL certificate problem: unable to get local issuer certificate";
    assert_int_equal(k8s_describe_failure(&f, out, sizeof(out)), -EPROTO);
    assert_non_null(strstr(out, "TLS verification"));
    assert_non_null(strstr(out, "CA bundle /ca.crt"));
    assert_non_null(strstr(out, "[kubernetes] ca_file"));
    f.curl_rc = CURLE_SSL_CACERT_BADFILE;
    f.curl_error = NULL;
    assert_int_equal(k8s_describe_failure(&f, out, sizeof(out)), -EPROTO);
    f.curl_rc = CURLE_UNSUPPORTED_PROTOCOL;
    assert_int_equal(k8s_describe_failure(&f, out, sizeof(out)), -EIO);
}

/* ---- cleanup: target, keys, patch, backup --------------------------------------------------- */

static void test_cleanup_target(void **state)
{
    char ns[64], name[254];

    (void)state;
    assert_int_equal(
        cleanup_parse_target("pod-config", "harbor", ns, sizeof(ns), name, sizeof(name)), 0);
    assert_string_equal(ns, "harbor");
    assert_string_equal(name, "pod-config");
    assert_int_equal(cleanup_parse_target("ops/postgres-pod-config", "harbor", ns, sizeof(ns), name,
                                          sizeof(name)),
                     0);
    assert_string_equal(ns, "ops");
    assert_string_equal(name, "postgres-pod-config");
    assert_int_equal(cleanup_parse_target("a/b/c", "h", ns, sizeof(ns), name, sizeof(name)),
                     -EINVAL);
    assert_int_equal(cleanup_parse_target("/x", "h", ns, sizeof(ns), name, sizeof(name)), -EINVAL);
    assert_int_equal(cleanup_parse_target("x/", "h", ns, sizeof(ns), name, sizeof(name)), -EINVAL);
    assert_int_equal(cleanup_parse_target("Pod-Config", "h", ns, sizeof(ns), name, sizeof(name)),
                     -EINVAL);
    assert_int_equal(cleanup_parse_target("", "h", ns, sizeof(ns), name, sizeof(name)), -EINVAL);
    assert_int_equal(cleanup_parse_target("x", NULL, ns, sizeof(ns), name, sizeof(name)), -EINVAL);
}

static json_t *sample_configmap(void)
{
    json_t *cm = json_loads(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"pod-config\","
        "\"namespace\":\"harbor\",\"resourceVersion\":\"4711\",\"uid\":\"u-1\","
        "\"managedFields\":[]},\"data\":{\"USE_WALG_BACKUP\":\"true\",\"CLONE_SCOPE\":\"src\","
        "\"CLONE_METHOD\":\"CLONE_WITH_WALE\",\"CLONE_AWS_SECRET_ACCESS_KEY\":\"s3cr3t\","
        "\"CLONE\":\"x\",\"clone_lower\":\"y\",\"XCLONE_Z\":\"z\",\"STANDBY_SCOPE\":\"s\"},"
        "\"binaryData\":{\"blob\":\"AAE=\"}}",
        0, NULL);

    assert_non_null(cm);
    return cm;
}

static void test_cleanup_keys_and_patch(void **state)
{
    json_t *cm = sample_configmap();
    json_t *keys = cleanup_clone_keys(cm);
    json_t *patch, *want;
    json_t *empty;

    (void)state;
    want =
        json_loads("[\"CLONE_AWS_SECRET_ACCESS_KEY\",\"CLONE_METHOD\",\"CLONE_SCOPE\"]", 0, NULL);
    assert_true(json_equal(keys, want));
    json_decref(want);
    patch = cleanup_build_patch("4711", keys);
    want = json_loads("{\"metadata\":{\"resourceVersion\":\"4711\"},\"data\":{"
                      "\"CLONE_AWS_SECRET_ACCESS_KEY\":null,\"CLONE_METHOD\":null,"
                      "\"CLONE_SCOPE\":null}}",
                      0, NULL);
    assert_true(json_equal(patch, want));
    json_decref(want);
    json_decref(patch);
    json_decref(keys);
    json_decref(cm);
    /* no data at all */
    empty = json_loads("{\"metadata\":{\"name\":\"x\"}}", 0, NULL);
    keys = cleanup_clone_keys(empty);
    assert_int_equal(json_array_size(keys), 0);
    json_decref(keys);
    json_decref(empty);
}

static void test_cleanup_backup(void **state)
{
    json_t *cm = sample_configmap();
    json_t *b, *r;
    char name[300];
    char longname[254];

    (void)state;
    cleanup_backup_name("pod-config", 1767225600, 1, name, sizeof(name)); /* 2026-01-01 */
    assert_string_equal(name, "pod-config-before-cleanup-20260101t000000z");
    cleanup_backup_name("pod-config", 1767225600 + 3723, 2, name, sizeof(name));
    assert_string_equal(name, "pod-config-before-cleanup-20260101t010203z-2");
    memset(longname, 'a', 253);
    longname[253] = '\0';
    cleanup_backup_name(longname, 1767225600, 1, name, sizeof(name));
    assert_int_equal(strlen(name), 253);
    assert_non_null(strstr(name, "a-before-cleanup-20260101t000000z"));

    b = cleanup_build_backup(cm, "harbor", "pod-config-before-cleanup-20260101t000000z",
                             1767225600);
    assert_string_equal(json_string_value(json_object_get(b, "kind")), "ConfigMap");
    assert_string_equal(json_string_value(json_object_get(b, "apiVersion")), "v1");
    {
        json_t *meta = json_object_get(b, "metadata");
        json_t *labels = json_object_get(meta, "labels");
        json_t *ann = json_object_get(meta, "annotations");

        assert_string_equal(json_string_value(json_object_get(meta, "name")),
                            "pod-config-before-cleanup-20260101t000000z");
        assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "harbor");
        assert_null(json_object_get(meta, "resourceVersion"));
        assert_null(json_object_get(meta, "uid"));
        assert_string_equal(
            json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")),
            "spilo-agent");
        assert_string_equal(json_string_value(json_object_get(ann, CLEANUP_ANNOTATION_SRC)),
                            "harbor/pod-config");
        assert_string_equal(json_string_value(json_object_get(ann, CLEANUP_ANNOTATION_RV)), "4711");
        assert_string_equal(json_string_value(json_object_get(ann, CLEANUP_ANNOTATION_AT)),
                            "2026-01-01T00:00:00Z");
    }
    /* all the old data, not only the CLONE_* keys */
    assert_true(json_equal(json_object_get(b, "data"), json_object_get(cm, "data")));
    assert_true(json_equal(json_object_get(b, "binaryData"), json_object_get(cm, "binaryData")));
    /* the shown copy hides the secret, the stored one keeps it */
    r = cleanup_redacted(b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "data"),
                                                          "CLONE_AWS_SECRET_ACCESS_KEY")),
                        "***");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "data"), "CLONE_SCOPE")), "src");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "data"),
                                                          "CLONE_AWS_SECRET_ACCESS_KEY")),
                        "s3cr3t");
    json_decref(r);
    json_decref(b);
    json_decref(cm);
}

static void publish_restore(const char *details_json, enum verdict v, const char *summary)
{
    struct check_result res;

    check_result_init(&res);
    check_result_set(&res, v, "%s", summary);
    if (details_json) {
        json_decref(res.details);
        res.details = json_loads(details_json, 0, NULL);
    }
    status_publish("restore", &res, 1767225600, 5);
    check_result_cleanup(&res);
}

static void test_cleanup_gate(void **state)
{
    static const char *const names[] = {"walg_env", "restore"};
    static const char *const other[] = {"walg_env"};
    struct cleanup_gate g;

    (void)state;
    cleanup_gate_from_snapshot(NULL, &g);
    assert_false(g.finished);
    assert_non_null(strstr(g.reason, "no restore check"));
    status_init(other, 1, 0);
    cleanup_gate_from_snapshot(status_current(), &g);
    assert_false(g.finished);
    assert_non_null(strstr(g.reason, "no restore check"));
    status_init(names, 2, 0);
    cleanup_gate_from_snapshot(status_current(), &g);
    assert_false(g.finished);
    assert_non_null(strstr(g.reason, "not run yet"));
    publish_restore("{\"finished\":false,\"clone_keys\":[\"CLONE_SCOPE\"]}", VERDICT_WARNING,
                    "PostgreSQL is still in recovery");
    cleanup_gate_from_snapshot(status_current(), &g);
    assert_false(g.finished);
    assert_string_equal(g.reason, "restore check warning: PostgreSQL is still in recovery");
    publish_restore("{\"finished\":true}", VERDICT_WARNING, "CLONE_* settings left to clean up");
    cleanup_gate_from_snapshot(status_current(), &g);
    assert_true(g.finished);
    publish_restore("{\"finished\":\"yes\"}", VERDICT_UNKNOWN, "could not ask PostgreSQL");
    cleanup_gate_from_snapshot(status_current(), &g);
    assert_false(g.finished);
    assert_non_null(strstr(g.reason, "does not say whether"));
    publish_restore(NULL, VERDICT_UNKNOWN, "deadline");
    cleanup_gate_from_snapshot(status_current(), &g);
    assert_false(g.finished);
    status_shutdown();
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(cleanup_status_name(CLEANUP_DONE), "done");
    assert_string_equal(cleanup_status_name(CLEANUP_NOTHING), "nothing");
    assert_string_equal(cleanup_status_name(CLEANUP_REFUSED), "refused");
    assert_string_equal(cleanup_status_name(CLEANUP_FAILED), "failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_url),
        cmocka_unit_test(test_build_url_rejects),
        cmocka_unit_test(test_verb_rbac),
        cmocka_unit_test(test_status_parse),
        cmocka_unit_test(test_forbidden_parse),
        cmocka_unit_test(test_describe_http),
        cmocka_unit_test(test_describe_transport),
        cmocka_unit_test(test_cleanup_target),
        cmocka_unit_test(test_cleanup_keys_and_patch),
        cmocka_unit_test(test_cleanup_backup),
        cmocka_unit_test(test_cleanup_gate),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_describe_unterminated),
    };

    return cmocka_run_group_tests_name("k8s", tests, NULL, NULL);
}

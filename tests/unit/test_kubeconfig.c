/* Unit tests of kubeconfig.c (YAML reading, kubectl's merge and context resolution, the
 * ExecCredential, the exec plugin run), k8s.c's new URL parts (pods/proxy, label selectors) and
 * fleet.c's rows, exit status and table. Merge rules as client-go tools/clientcmd/loader.go
 * (ClientConfigLoadingRules.Load: the first file to set a map key wins; paths relative to the file
 * that set them) and plugin/pkg/client/auth/exec/exec.go (the API version check, "exec plugin
 * didn't return a token or cert/key pair"). */
#include "harness.h"

#include <errno.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fleet.h"
#include "k8s.h"
#include "kubeconfig.h"
#include "secret.h"

static json_t *parse(const char *text)
{
    char err[256];
    json_t *doc = NULL;

    assert_int_equal(kubeconfig_yaml_parse(text, strlen(text), &doc, err, sizeof(err)), 0);
    return doc;
}

static void test_yaml_scalars(void **state)
{
    json_t *doc;
    char err[256];

    (void)state;
    doc = parse("a: 1\nb: true\nc: 'true'\nd: ~\ne:\nf: [x, {g: no}]\nh: \"q\\tr\"\ni: &A {j: k}\n"
                "l: *A\n");
    assert_string_equal(json_string_value(json_object_get(doc, "a")), "1");
    assert_true(json_is_true(json_object_get(doc, "b")));
    assert_string_equal(json_string_value(json_object_get(doc, "c")), "true"); /* quoted */
    assert_true(json_is_null(json_object_get(doc, "d")));
    assert_true(json_is_null(json_object_get(doc, "e")));
    assert_true(json_is_false(json_object_get(json_array_get(json_object_get(doc, "f"), 1), "g")));
    assert_string_equal(json_string_value(json_object_get(doc, "h")), "q\tr");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "l"), "j")), "k");
    json_decref(doc);

    doc = parse(""); /* an empty file is an empty config, as for kubectl */
    assert_true(json_is_object(doc) && json_object_size(doc) == 0);
    json_decref(doc);
    doc = parse("{\"apiVersion\": \"v1\", \"clusters\": []}"); /* JSON is YAML */
    assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "v1");
    json_decref(doc);

    assert_int_equal(kubeconfig_yaml_parse("a: [1, 2\n", 9, &doc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line "));
    assert_null(doc);
    /* a recursive alias is refused, not followed */
    assert_int_equal(kubeconfig_yaml_parse("a: &x [*x]\n", 11, &doc, err, sizeof(err)), -EINVAL);
    /* a billion laughs costs one node per anchor, not 9^9 */
    {
        const char *lol = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, "
                          "*a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, "
                          "*c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n";

        doc = parse(lol);
        assert_int_equal(json_array_size(json_object_get(doc, "e")), 9);
        json_decref(doc);
    }
}

static const char file_a[] = "apiVersion: v1\n"
                             "kind: Config\n"
                             "current-context: dev\n"
                             "clusters:\n"
                             "- name: c1\n"
                             "  cluster:\n"
                             "    server: https://a.example:6443\n"
                             "    certificate-authority: certs/ca.crt\n"
                             "contexts:\n"
                             "- name: dev\n"
                             "  context: {cluster: c1, user: u1, namespace: team}\n"
                             "users:\n"
                             "- name: u1\n"
                             "  user:\n"
                             "    exec:\n"
                             "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                             "      command: ./bin/login\n"
                             "      args: [token, -v]\n"
                             "      env: [{name: A, value: b}]\n";

static const char file_b[] = "apiVersion: v1\n"
                             "current-context: prod\n"
                             "clusters:\n"
                             "- name: c1\n"
                             "  cluster: {server: https://shadowed.example}\n"
                             "- name: c2\n"
                             "  cluster:\n"
                             "    server: https://b.example\n"
                             "    certificate-authority-data: aGVsbG8=\n"
                             "contexts:\n"
                             "- name: dev\n"
                             "  context: {cluster: c2, user: u2}\n"
                             "- name: prod\n"
                             "  context: {cluster: c2, user: u2}\n"
                             "users:\n"
                             "- name: u2\n"
                             "  user: {token: tok-0123456789abcdef, client-certificate: c.pem, "
                             "client-key: /abs/k.pem}\n";

static void test_merge_first_wins(void **state)
{
    json_t *a = parse(file_a), *b = parse(file_b);
    struct kubeconfig_file files[] = {{"/home/u/.kube/a", a}, {"/etc/kube/b", b}};
    struct kubeconfig *kc;
    char err[512];

    (void)state;
    /* current-context and the "dev" context and "c1" cluster come from the first file */
    assert_int_equal(kubeconfig_select(files, 2, NULL, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc->context, "dev");
    assert_string_equal(kc->server, "https://a.example:6443");
    assert_string_equal(kc->ca_file, "/home/u/.kube/certs/ca.crt");
    assert_string_equal(kc->namespace, "team");
    assert_non_null(kc->exec);
    assert_string_equal(kc->exec->command, "/home/u/.kube/./bin/login");
    assert_string_equal(kc->exec->args[0], "token");
    assert_string_equal(kc->exec->args[1], "-v");
    assert_null(kc->exec->args[2]);
    assert_string_equal(kc->exec->env[0], "A=b");
    assert_string_equal(kc->exec->interactive_mode, "IfAvailable"); /* v1beta1 default */
    assert_string_equal(kc->files, "/home/u/.kube/a:/etc/kube/b");
    kubeconfig_free(kc);

    /* --context picks the second file's context; its paths resolve against that file */
    assert_int_equal(kubeconfig_select(files, 2, "prod", &kc, err, sizeof(err)), 0);
    assert_string_equal(kc->server, "https://b.example");
    assert_int_equal(kc->ca_pem_len, 5);
    assert_memory_equal(kc->ca_pem, "hello", 5);
    assert_string_equal(kc->token, "tok-0123456789abcdef");
    assert_string_equal(kc->cert_file, "/etc/kube/c.pem");
    assert_string_equal(kc->key_file, "/abs/k.pem");
    assert_null(kc->exec);
    assert_null(kc->namespace);
    kubeconfig_free(kc);

    /* reversed order: the other file wins */
    {
        struct kubeconfig_file rev[] = {{"/etc/kube/b", b}, {"/home/u/.kube/a", a}};

        assert_int_equal(kubeconfig_select(rev, 2, NULL, &kc, err, sizeof(err)), 0);
        assert_string_equal(kc->context, "prod");
        kubeconfig_free(kc);
        assert_int_equal(kubeconfig_select(rev, 2, "dev", &kc, err, sizeof(err)), 0);
        assert_string_equal(kc->server, "https://b.example");
        kubeconfig_free(kc);
    }
    json_decref(a);
    json_decref(b);
}

static void expect_error(const char *yaml, const char *context, int want_rc, const char *needle)
{
    json_t *doc = parse(yaml);
    struct kubeconfig_file f = {"/k/config", doc};
    struct kubeconfig *kc = NULL;
    char err[1024] = "";
    int rc = kubeconfig_select(&f, 1, context, &kc, err, sizeof(err));

    if (rc != want_rc || !strstr(err, needle))
        fail_msg("rc %d, err '%s'; wanted %d and '%s'", rc, err, want_rc, needle);
    assert_null(kc);
    json_decref(doc);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("apiVersion: v1\n", NULL, -ENOENT, "defines no context");
    expect_error("contexts: [{name: a, context: {cluster: c}}]\n", NULL, -EINVAL,
                 "current-context is not set in the kubeconfig /k/config; pick one with --context "
                 "(contexts: a)");
    expect_error("contexts: [{name: a, context: {cluster: c}}]\n", "b", -EINVAL,
                 "context \"b\" not found in the kubeconfig /k/config (contexts: a)");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n", NULL,
                 -EINVAL, "cluster \"c\" of context \"a\" not found");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
                 "clusters: [{name: c, cluster: {}}]\n",
                 NULL, -EINVAL, "cluster \"c\" in /k/config has no server defined");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                 "clusters: [{name: c, cluster: {server: 'https://x'}}]\n",
                 NULL, -EINVAL, "user \"u\" of context \"a\" not found");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                 "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: "
                 "'!!'}}]\nusers: [{name: u, user: {}}]\n",
                 NULL, -EINVAL, "certificate-authority-data is not valid base64");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                 "clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: "
                 "true, certificate-authority: ca}}]\nusers: [{name: u, user: {}}]\n",
                 NULL, -EINVAL, "with the insecure flag is not allowed");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                 "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                 "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
                 NULL, -EINVAL, "auth-provider \"gcp\"");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                 "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                 "users: [{name: u, user: {client-certificate: c.pem}}]\n",
                 NULL, -EINVAL, "has a client certificate but no client key");
    expect_error(
        "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
        "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, "
        "command: x}}}]\n",
        NULL, -EINVAL, "v1alpha1\" is not supported");
    expect_error("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                 "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                 "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
                 "command: x}}}]\n",
                 NULL, -EINVAL, "interactiveMode must be specified");
}

static void test_exec_parse(void **state)
{
    static const char v1[] = "client.authentication.k8s.io/v1";
    struct kubeconfig_cred c;
    char err[512];
    const char *ok =
        "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        "\"status\":{\"token\":\"sekrit-token-value-42\",\"expirationTimestamp\":"
        "\"2026-12-03T10:00:00Z\"}}";
    const char *cert = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                       "\"ExecCredential\",\"status\":{\"clientCertificateData\":\"C\","
                       "\"clientKeyData\":\"K-is-a-long-private-key\"}}";

    (void)state;
    assert_int_equal(kubeconfig_exec_parse(ok, strlen(ok), v1, &c, err, sizeof(err)), 0);
    assert_string_equal(c.token, "sekrit-token-value-42");
    assert_int_equal(c.expires_at_s, 1796292000);
    {
        char s[128] = "the token is sekrit-token-value-42";

        assert_true(secret_scrub(s)); /* registered: no output can show it */
        assert_string_equal(s, "the token is ***");
    }
    kubeconfig_cred_cleanup(&c);
    assert_int_equal(kubeconfig_exec_parse(cert, strlen(cert), v1, &c, err, sizeof(err)), 0);
    assert_string_equal(c.cert_pem, "C");
    assert_int_equal(c.expires_at_s, 0);
    kubeconfig_cred_cleanup(&c);

    assert_int_equal(kubeconfig_exec_parse(ok, strlen(ok), "client.authentication.k8s.io/v1beta1",
                                           &c, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "plugin returned version client.authentication.k8s.io/v1"));
    assert_null(strstr(err, "sekrit"));
    {
        const char *none = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                           "\"ExecCredential\",\"status\":{}}";
        const char *half = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                           "\"ExecCredential\",\"status\":{\"clientKeyData\":\"K\"}}";

        assert_int_equal(kubeconfig_exec_parse(none, strlen(none), v1, &c, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "didn't return a token or cert/key pair"));
        assert_int_equal(kubeconfig_exec_parse(half, strlen(half), v1, &c, err, sizeof(err)),
                         -EINVAL);
        assert_int_equal(kubeconfig_exec_parse("nope", 4, v1, &c, err, sizeof(err)), -EINVAL);
    }
}

static void test_exec_run(void **state)
{
    char dir[] = "/tmp/test-kubeconfig-XXXXXX", path[256], yaml[1024], err[1024];
    struct kubeconfig_cred c;
    struct kubeconfig *kc;
    json_t *doc;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/plugin", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n"
          "[ \"$1\" = fail ] && { echo \"first line of trouble\" >&2; echo second >&2; exit 4; }\n"
          "[ \"$1\" = slow ] && exec sleep 5\n"
          "case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) exit 9 ;; esac\n"
          "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
          "\"status\":{\"token\":\"%s-%s\"}}' \"$1\" \"$MY_ENV\"\n",
          f);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
#define KC(arg)                                                                                    \
    snprintf(yaml, sizeof(yaml),                                                                   \
             "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"         \
             "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"                             \
             "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "       \
             "command: ./plugin, args: [%s], env: [{name: MY_ENV, value: from-kubeconfig}], "      \
             "interactiveMode: Never, installHint: 'get it at https://x'}}}]\n",                   \
             arg);                                                                                 \
    doc = parse(yaml);                                                                             \
    snprintf(path, sizeof(path), "%s/config", dir);                                                \
    {                                                                                              \
        struct kubeconfig_file kf = {path, doc};                                                   \
        assert_int_equal(kubeconfig_select(&kf, 1, NULL, &kc, err, sizeof(err)), 0);               \
    }                                                                                              \
    json_decref(doc)

    KC("tok");
    assert_int_equal(kubeconfig_exec_run(kc, 5000, &c, err, sizeof(err)), 0);
    assert_string_equal(c.token, "tok-from-kubeconfig");
    kubeconfig_cred_cleanup(&c);
    kubeconfig_free(kc);

    KC("fail");
    assert_int_equal(kubeconfig_exec_run(kc, 5000, &c, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "failed with exit code 4: first line of trouble"));
    assert_null(strstr(err, "second"));
    kubeconfig_free(kc);

    KC("slow");
    assert_int_equal(kubeconfig_exec_run(kc, 300, &c, err, sizeof(err)), -ETIMEDOUT);
    assert_non_null(strstr(err, "did not finish within 300 ms"));
    kubeconfig_free(kc);

    snprintf(path, sizeof(path), "%s/plugin", dir);
    unlink(path);
    KC("tok");
    assert_int_equal(kubeconfig_exec_run(kc, 5000, &c, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "not found; get it at https://x"));
    kubeconfig_free(kc);
#undef KC
    rmdir(dir);
}

static void test_load_rules(void **state)
{
    char dir[] = "/tmp/test-kubeconfig-XXXXXX", a[256], b[256], env[600], err[1024];
    struct kubeconfig *kc;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    f = fopen(a, "w");
    fputs(file_a, f);
    fclose(f);
    f = fopen(b, "w");
    fputs(file_b, f);
    fclose(f);
    snprintf(env, sizeof(env), "%s/missing:%s:%s", dir, b, a);
    assert_int_equal(kubeconfig_load(NULL, env, "/nonexistent", NULL, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc->context, "prod"); /* b is first; the missing file is skipped */
    kubeconfig_free(kc);
    /* an explicit file wins over KUBECONFIG and must exist */
    assert_int_equal(kubeconfig_load(a, env, NULL, NULL, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc->context, "dev");
    kubeconfig_free(kc);
    assert_int_equal(kubeconfig_load(env, NULL, NULL, NULL, &kc, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "does not exist"));
    snprintf(env, sizeof(env), "%s/missing", dir);
    assert_int_equal(kubeconfig_load(NULL, env, NULL, NULL, &kc, err, sizeof(err)), -ENOENT);
    assert_int_equal(kubeconfig_load(NULL, NULL, dir, NULL, &kc, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/.kube/config does not exist"));
    unlink(a);
    unlink(b);
    rmdir(dir);
}

static void test_proxy_url(void **state)
{
    struct k8s_ref proxy = {.resource = "pods",
                            .namespace = "harbor",
                            .name = "pg-0:8009",
                            .subresource = "proxy/status"};
    struct k8s_ref list = {.resource = "pods", .label_selector = "application=spilo,a in (b)"};
    char url[512];

    (void)state;
    assert_int_equal(k8s_build_url("https://k", K8S_GET, &proxy, url, sizeof(url)), 0);
    assert_string_equal(url, "https://k/api/v1/namespaces/harbor/pods/pg-0:8009/proxy/status");
    assert_int_equal(k8s_build_url("https://k", K8S_GET, &list, url, sizeof(url)), 0);
    assert_string_equal(
        url, "https://k/api/v1/pods?labelSelector=application%3Dspilo%2Ca%20in%20%28b%29");
    proxy.subresource = "proxy/../../secrets";
    assert_int_equal(k8s_build_url("https://k", K8S_GET, &proxy, url, sizeof(url)), -EINVAL);
    proxy.subresource = "proxy/status?x=1";
    assert_int_equal(k8s_build_url("https://k", K8S_GET, &proxy, url, sizeof(url)), -EINVAL);
}

static json_t *pod_json(const char *ns, const char *name, const char *role, int port)
{
    json_t *p =
        json_pack("{s:{s:s,s:s,s:{s:s,s:s,s:s}},s:{s:[{s:s},{s:s,s:[{s:s,s:i}]}]}}", "metadata",
                  "namespace", ns, "name", name, "labels", "application", "spilo", "cluster-name",
                  "acid-x", "spilo-role", role, "spec", "containers", "name", "postgres", "name",
                  "spilo-agent", "ports", "name", "agent", "containerPort", port);

    assert_non_null(p);
    return p;
}

static void test_fleet_rows(void **state)
{
    json_t *pod = pod_json("ns", "acid-x-0", "master", 9009), *rows = json_array(), *status;
    struct buf out;
    char age[16];
    const char *st =
        "{\"status\":\"critical\",\"version\":\"1.2.3\",\"now\":\"2026-12-03T10:00:00Z\","
        "\"checks\":{\"walg_env\":{\"status\":\"ok\",\"summary\":\"fine\"},"
        "\"backups\":{\"status\":\"critical\",\"summary\":\"no backup since 01:00\","
        "\"details\":{\"next_scheduled_at\":\"2026-12-04T01:00:00Z\",\"latest\":"
        "{\"finish_time\":\"2026-12-01T01:00:00Z\"},\"recovery_window\":7200}},"
        "\"restore\":{\"status\":\"warning\",\"summary\":\"leftovers\"}}}";

    (void)state;
    assert_int_equal(fleet_agent_port(pod), 9009);
    status = json_loads(st, 0, NULL);
    json_array_append_new(rows, fleet_row(pod, status, NULL, 0));
    {
        const json_t *r = json_array_get(rows, 0);

        assert_string_equal(json_string_value(json_object_get(r, "status")), "critical");
        assert_string_equal(json_string_value(json_object_get(r, "summary")),
                            "no backup since 01:00");
        assert_int_equal(json_integer_value(json_object_get(r, "last_backup_age_seconds")),
                         2 * 86400 + 9 * 3600);
        assert_int_equal(json_integer_value(json_object_get(r, "next_backup_in_seconds")),
                         15 * 3600);
        assert_int_equal(json_integer_value(json_object_get(r, "recovery_window_seconds")), 7200);
        assert_string_equal(json_string_value(json_object_get(r, "cluster")), "acid-x");
    }
    assert_int_equal(fleet_worst(rows), VERDICT_CRITICAL);
    json_array_append_new(rows, fleet_row(pod, NULL, "connection refused", 0));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "status")),
                        "unknown");
    assert_int_equal(fleet_worst(rows), VERDICT_CRITICAL); /* critical > unknown */
    buf_init(&out, 1 << 20);
    fleet_render(&out, rows, FLEET_OUT_TABLE, false);
    assert_non_null(strstr(out.data, "CLUSTER   POD        ROLE     STATUS"));
    assert_non_null(strstr(out.data, "2d            in 15h     2h"));
    buf_cleanup(&out);
    json_decref(rows);
    json_decref(status);

    rows = json_array();
    assert_int_equal(fleet_worst(rows), VERDICT_UNKNOWN);
    json_array_append_new(rows, fleet_row(pod, NULL, "x", 0));
    assert_int_equal(fleet_worst(rows), VERDICT_UNKNOWN);
    json_decref(rows);
    json_decref(pod);
    pod = json_pack("{s:{s:s}}", "metadata", "name", "bare");
    assert_int_equal(fleet_agent_port(pod), FLEET_DEFAULT_PORT);
    json_decref(pod);
    /* the operator's ConfigMap sidecar has no ports: the default port */
    pod = json_pack("{s:{s:[{s:s},{s:s}]}}", "spec", "containers", "name", "postgres", "name",
                    "spilo-agent");
    assert_int_equal(fleet_agent_port(pod), FLEET_DEFAULT_PORT);
    json_decref(pod);
    pod = json_pack("{s:{s:[{s:s}]}}", "spec", "containers", "name", "postgres");
    assert_int_equal(fleet_agent_port(pod), -1); /* no sidecar at all */
    json_decref(pod);

    fleet_format_age(59, age, sizeof(age));
    assert_string_equal(age, "59s");
    fleet_format_age(90 * 60, age, sizeof(age));
    assert_string_equal(age, "90m");
    fleet_format_age(3 * 3600, age, sizeof(age));
    assert_string_equal(age, "3h");
    fleet_format_age(3 * 86400, age, sizeof(age));
    assert_string_equal(age, "3d");
    fleet_format_age(-1, age, sizeof(age));
    assert_string_equal(age, "-");
}

static void test_cleanup_gate_remote(void **state)
{
    struct cleanup_gate g;
    json_t *st = json_loads("{\"checks\":{\"restore\":{\"status\":\"warning\",\"summary\":"
                            "\"CLONE_HOST left\",\"details\":{\"finished\":true}}}}",
                            0, NULL);

    (void)state;
    cleanup_gate_from_status(st, "pg-0", &g);
    assert_true(g.finished);
    assert_string_equal(g.reason, "restore check of pod pg-0 warning: CLONE_HOST left");
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(st, "checks"), "restore"), "details"),
        "finished", json_false());
    cleanup_gate_from_status(st, "pg-0", &g);
    assert_false(g.finished);
    json_object_del(json_object_get(st, "checks"), "restore");
    cleanup_gate_from_status(st, "pg-0", &g);
    assert_false(g.finished);
    assert_non_null(strstr(g.reason, "reports no restore check"));
    cleanup_gate_from_status(NULL, "pg-0", &g);
    assert_false(g.finished);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_scalars),
        cmocka_unit_test(test_merge_first_wins),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_exec_parse),
        cmocka_unit_test(test_exec_run),
        cmocka_unit_test(test_load_rules),
        cmocka_unit_test(test_proxy_url),
        cmocka_unit_test(test_fleet_rows),
        cmocka_unit_test(test_cleanup_gate_remote),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

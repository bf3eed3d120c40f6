/* fuzz_k8s.c - libFuzzer harness for the handling of Kubernetes API replies (k8s.c, cleanup.c):
 * the first byte picks the HTTP status and verb, the rest is the reply body. The body goes
 * through Status parsing, the RBAC denial parser, the error sentence, and, read as a ConfigMap,
 * through the CLONE_* key selection, the patch and the backup, and read as the own Pod, through
 * k8s_pod_container_env (every entry NAME=VALUE). Every input must give a
 * one-line, NUL-terminated sentence within its buffer, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "k8s.h"

static const long statuses[] = {0, 400, 401, 403, 404, 409, 415, 422, 429, 500, 503, 302, 200};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct k8s_ref ref = {
        .resource = "configmaps", .kind = "ConfigMap", .namespace = "ns", .name = "pod-config"};
    struct k8s_failure f = {
        .api = "https://10.96.0.1:443",
        .token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token",
        .ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        .ref = &ref,
        .timeout_ms = 10000,
    };
    struct k8s_status st;
    struct k8s_forbidden fb;
    char out[2048], rule[1024];
    char *text;
    json_t *doc;

    if (size < 1)
        return 0;
    f.http_status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    f.verb = (enum k8s_verb)((data[0] >> 4) % 4);
    f.curl_rc = f.http_status ? CURLE_OK : (int)(data[0] >> 4) + 5;
    f.curl_error = f.http_status ? NULL : "curl says no";
    f.body = (const char *)data + 1;
    f.body_len = size - 1;

    (void)k8s_describe_failure(&f, out, sizeof(out));
    if (strnlen(out, sizeof(out)) >= sizeof(out) || strchr(out, '\n') || strchr(out, '\r'))
        abort();
    if (k8s_status_parse(f.body, f.body_len, &st) == 0 &&
        k8s_forbidden_parse(st.message, &fb) == 0) {
        k8s_rbac_rule(&fb, rule, sizeof(rule));
        if (strnlen(rule, sizeof(rule)) >= sizeof(rule))
            abort();
    }
    /* The body as a plain string, too: the denial parser gets server text directly. */
    text = strndup(f.body, f.body_len);
    if (text && k8s_forbidden_parse(text, &fb) == 0)
        k8s_rbac_rule(&fb, rule, sizeof(rule));
    free(text);

    /* The body as the ConfigMap a GET returned. */
    doc = json_loadb(f.body, f.body_len, 0, NULL);
    if (doc) {
        json_t *keys = cleanup_clone_keys(doc);
        json_t *patch = cleanup_build_patch("1", keys);
        json_t *backup = cleanup_build_backup(doc, "ns", "pod-config-before-cleanup-x", 0);
        json_t *shown = cleanup_redacted(backup);

        for (size_t i = 0; i < json_array_size(keys); i++) {
            const char *k = json_string_value(json_array_get(keys, i));

            if (!k || strncmp(k, "CLONE_", 6) != 0 ||
                !json_is_null(json_object_get(json_object_get(patch, "data"), k)))
                abort();
        }
        json_decref(shown);
        json_decref(backup);
        json_decref(patch);
        json_decref(keys);
        {
            json_t *unknown = json_array();
            char **env = k8s_pod_container_env(doc, "postgres", unknown);

            for (char **e = env; e && *e; e++) {
                if (!strchr(*e, '=') || **e == '=')
                    abort();
            }
            k8s_env_free(env);
            json_decref(unknown);
        }
        json_decref(doc);
    }
    return 0;
}

/* fuzz_kubeconfig.c - libFuzzer harness for kubeconfig.c's readers: the input is a kubeconfig
 * (libyaml -> JSON, then the merge and context resolution, alone and as the second of two files,
 * with the current-context and with a named one) and, as is, an exec plugin's ExecCredential.
 * Every input must give 0 or an error sentence that is NUL-terminated within its buffer, never
 * a crash, a leak or a recursion through aliases. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kubeconfig.h"

static const char base[] = "apiVersion: v1\ncurrent-context: dev\n"
                           "clusters: [{name: c, cluster: {server: 'https://k:6443'}}]\n"
                           "contexts: [{name: dev, context: {cluster: c, user: u}}]\n"
                           "users: [{name: u, user: {token: abcdefgh12345678}}]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kubeconfig_cred cred;
    struct kubeconfig *kc;
    json_t *doc = NULL, *other = NULL;
    char err[1024];

    err[sizeof(err) - 1] = 'x';
    if (kubeconfig_yaml_parse((const char *)data, size, &doc, err, sizeof(err) - 1) == 0) {
        char e2[sizeof(base)];

        if (kubeconfig_yaml_parse(base, strlen(base), &other, e2, sizeof(e2)) != 0)
            abort();
        if (json_is_object(doc)) {
            struct kubeconfig_file one[] = {{"/k/fuzz", doc}};
            struct kubeconfig_file two[] = {{"/k/base", other}, {"dir/fuzz", doc}};
            const char *ctx[] = {NULL, "dev", "prod"};

            for (size_t i = 0; i < 3; i++) {
                if (kubeconfig_select(one, 1, ctx[i], &kc, err, sizeof(err) - 1) == 0) {
                    char *info = kubeconfig_exec_info(kc, false);

                    free(info);
                    kubeconfig_free(kc);
                } else if (!memchr(err, '\0', sizeof(err) - 1)) {
                    abort();
                }
                if (kubeconfig_select(two, 2, ctx[i], &kc, err, sizeof(err) - 1) == 0)
                    kubeconfig_free(kc);
            }
        }
        json_decref(doc);
        json_decref(other);
    } else if (!memchr(err, '\0', sizeof(err) - 1)) {
        abort();
    }
    if (kubeconfig_exec_parse((const char *)data, size, "client.authentication.k8s.io/v1", &cred,
                              err, sizeof(err) - 1) == 0)
        kubeconfig_cred_cleanup(&cred);
    if (err[sizeof(err) - 1] != 'x')
        abort();
    return 0;
}

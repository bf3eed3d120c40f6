/* fuzz_envdir.c - libFuzzer harness for envdir.c and walg_env.c: the first bytes (up to the first
 * NUL) are one envdir file's content, read like `chpst -e`; the rest is an environment of
 * KEY=VALUE lines that the walg_env check derives Spilo's envdir from and evaluates. Nothing may
 * crash, and no value of a secret variable may appear in the verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envdir.h"
#include "util.h"
#include "walg_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t first = nul ? (size_t)(nul - data) : size;
    char *v = envdir_value_from_bytes((const char *)data, first);
    char *rest, *save = NULL, *line;
    char *envp[65];
    size_t n = 0;
    struct walg_env_input in;
    struct check_result r;
    char *bucket, *root, err[256], *dump;

    free(v);
    rest = nul ? strndup((const char *)nul + 1, size - first - 1) : strdup("");
    for (line = strtok_r(rest, "\n", &save); line && n < 64; line = strtok_r(NULL, "\n", &save)) {
        if (strchr(line, '='))
            envp[n++] = line;
        if (walg_parse_prefix(line, &bucket, &root, err, sizeof(err)) == 0)
            (void)walg_layout_of(root);
        free(bucket);
        free(root);
    }
    envp[n] = NULL;
    envp[n < 64 ? n : 64] = NULL;
    /* a fixed secret, to prove it is never shown */
    if (n < 64) {
        envp[n++] = "AWS_SECRET_ACCESS_KEY=fuzzSecretValue0123456789";
        envp[n] = NULL;
    }
    memset(&in, 0, sizeof(in));
    in.envdir = "/nonexistent/fuzz/env";
    in.clone_glob = "/nonexistent/fuzz/env-clone-*";
    in.prefix = "";
    in.s3_endpoint = "";
    in.s3_region = "";
    in.s3_force_path_style = -1;
    in.environ = envp;
    in.pgroot = "/nonexistent";
    check_result_init(&r);
    walg_env_evaluate(&in, &r);
    dump = json_dumps(r.details, 0);
    /* (unless the input itself put the string into some other, non-secret variable) */
    if (!memmem(data, size, "fuzzSecretValue", 15) &&
        ((dump && strstr(dump, "fuzzSecretValue0123456789")) ||
         strstr(r.summary, "fuzzSecretValue0123456789")))
        abort();
    free(dump);
    check_result_cleanup(&r);
    free(rest);
    return 0;
}

/* fuzz_config.c - libFuzzer harness for config.c: the input is an INI file (and, after its first
 * NUL byte, one --set assignment). Every input must give a config or an error sentence, never a
 * crash, and an error must not echo a conninfo value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz-config-XXXXXX";
    int fd = mkstemp(path);
    const uint8_t *nul = memchr(data, 0, size);
    size_t ini_len = nul ? (size_t)(nul - data) : size;
    char *set = NULL;
    struct config_override ovr[1];
    char *envp[] = {"SPILO_AGENT_POSTGRES_CONNINFO=password=fuzz-secret", NULL};
    struct config *c = NULL;
    char err[1024];

    if (fd < 0)
        return 0;
    if (write(fd, data, ini_len) != (ssize_t)ini_len) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    if (nul) {
        set = strndup((const char *)nul + 1, size - ini_len - 1);
        ovr[0].assignment = set;
    }
    if (config_load(path, ovr, set ? 1 : 0, envp, &c, err, sizeof(err)) == 0)
        config_unref(c);
    else if (strstr(err, "fuzz-secret") && !memmem(data, size, "fuzz-secret", 11))
        abort(); /* the conninfo from the environment leaked into a message */
    free(set);
    unlink(path);
    return 0;
}

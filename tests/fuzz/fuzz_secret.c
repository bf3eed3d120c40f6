/* fuzz_secret.c - libFuzzer harness for secret.c: the input is a secret file's content (read with
 * secret_file_read from a temporary file) and a message (scrubbed, formatted and cut at every
 * length). A token that is accepted must be non-empty printable ASCII; a registered secret must
 * never survive in a scrubbed message, nor a prefix of it in a cut one, and a URL password never.
 * Any breach aborts. Run: make fuzz FUZZ_SECONDS=60 (seeds in tests/fuzz/corpus/secret). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"

#define SECRET "FuzzSecretValue-0123456789"

static void fmt(char *out, size_t len, const char *f, ...) PRINTF(3, 4);
static void fmt(char *out, size_t len, const char *f, ...)
{
    va_list ap;

    va_start(ap, f);
    secret_vformat(out, len, f, ap);
    va_end(ap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    char err[512], out[300], *tok = NULL, *msg;
    FILE *f;

    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/fuzz_secret.%d", (int)getpid());
    f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (secret_file_read(path, 4096, &tok, err, sizeof(err)) == 0) {
        if (!*tok)
            abort();
        for (const char *p = tok; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                abort();
        secret_forget(tok);
        secret_free(tok);
    } else if (tok || !err[0]) {
        abort();
    }

    secret_register(SECRET);
    msg = strndup((const char *)data, size);
    if (!msg)
        return 0;
    if (!strstr(msg, "FuzzSecret")) {
        for (size_t len = 1; len < sizeof(out); len += 7) {
            fmt(out, len, "%s " SECRET " %s", msg, msg);
            if (strstr(out, "FuzzSecret"))
                abort();
        }
        secret_scrub(msg);
        if (strstr(msg, SECRET))
            abort();
    }
    free(msg);
    secret_forget_all();
    return 0;
}

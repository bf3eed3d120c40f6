/* fuzz_s3xml.c - libFuzzer harness for s3xml.c: every input is parsed as a ListObjectsV2 page, an
 * S3/STS error document and an AssumeRoleWithWebIdentity answer. Each must give a result or an
 * error, never a crash or a leak, and a result must keep the documented promises (keys non-empty
 * and within the ceiling, sizes not negative, milliseconds below 1000, error fields terminated and
 * free of control characters).
 * Build: clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -D_GNU_SOURCE
 *        tests/fuzz/fuzz_s3xml.c agent/s3xml.c agent/util.c agent/buf.c -lexpat
 *        -o /tmp/fuzz_s3xml
 * Run:   /tmp/fuzz_s3xml -max_total_time=60 tests/fuzz/corpus/s3xml */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

static void check_field(const char *f, size_t size)
{
    size_t n = strnlen(f, size);

    if (n == size)
        abort(); /* not terminated */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)f[i] < 0x20)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3xml_list_page pg;
    struct s3xml_error e;
    struct s3xml_sts_creds c;
    char err[256];

    if (s3xml_parse_list((const char *)data, size, &pg, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < pg.n_objects; i++) {
            size_t n = strlen(pg.objects[i].key);

            if (n == 0 || n > S3XML_MAX_KEY_BYTES || pg.objects[i].size < 0 ||
                pg.objects[i].mtime_ms < 0 || pg.objects[i].mtime_ms > 999)
                abort();
        }
        for (size_t i = 0; i < pg.n_prefixes; i++)
            if (strlen(pg.prefixes[i]) > S3XML_MAX_KEY_BYTES)
                abort();
        s3xml_list_page_cleanup(&pg);
    } else if (pg.objects || pg.prefixes || pg.next_token) {
        abort(); /* an error leaves nothing behind */
    }
    if (s3xml_parse_error((const char *)data, size, &e) == 0) {
        if (!e.code[0])
            abort();
        check_field(e.code, sizeof(e.code));
        check_field(e.message, sizeof(e.message));
        check_field(e.request_id, sizeof(e.request_id));
        check_field(e.region, sizeof(e.region));
        check_field(e.endpoint, sizeof(e.endpoint));
        check_field(e.bucket, sizeof(e.bucket));
    }
    if (s3xml_parse_sts((const char *)data, size, &c, err, sizeof(err)) == 0) {
        if (!c.access_key_id[0] || !c.secret_access_key[0] || !c.session_token[0])
            abort();
        s3xml_sts_creds_cleanup(&c);
    } else if (c.access_key_id || c.secret_access_key || c.session_token) {
        abort();
    }
    return 0;
}

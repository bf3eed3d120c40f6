/* fuzz_sentinel.c - libFuzzer harness for backups.c: the input is one object as S3 would return
 * it, read as a stop sentinel and as a metadata.json, then attached to a one-backup listing and
 * evaluated. Every input must give a parsed object or a printable one-sentence error, and a
 * verdict with a printable summary, never a crash or a leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backups.h"

#define BASE "spilo/c/u/wal/15/basebackups_005/"
#define NAME "base_000000010000000000000003"

static void check_text(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            abort(); /* input bytes leaked into a message unsanitised */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[256], lsn[BACKUPS_LSN_TEXT_MAX];
    struct backups_sentinel s;
    struct backups_metadata m;
    struct s3_object obj = {.key = (char *)BASE NAME BACKUPS_SENTINEL_SUFFIX,
                            .size = (int64_t)size,
                            .mtime_s = 1741568435};
    const char *prefixes[] = {BASE NAME "/"};
    struct backups_list *l;
    struct backups_input in;
    struct check_result r;
    int rc;

    rc = backups_sentinel_parse(text, size, &s, err, sizeof(err));
    if (rc == 0) {
        if (s.format == BACKUPS_FORMAT_UNKNOWN || (s.delta_from && !*s.delta_from))
            abort();
        backups_format_lsn(s.start_lsn, lsn, sizeof(lsn));
        backups_format_lsn(s.finish_lsn, lsn, sizeof(lsn));
        backups_sentinel_cleanup(&s);
    } else if (rc != -EINVAL || !*err) {
        abort();
    }
    check_text(err);

    rc = backups_metadata_parse(text, size, &m, err, sizeof(err));
    if (rc == 0)
        backups_metadata_cleanup(&m);
    else if (rc != -EINVAL || !*err)
        abort();
    check_text(err);

    if (backups_list_build(BASE, &obj, 1, prefixes, 1, &l) != 0 || l->n != 1)
        abort();
    rc = backups_list_attach(l, obj.key, text, size, err, sizeof(err));
    if (rc != 0 && rc != -EINVAL)
        abort();
    rc = backups_list_attach(l, BASE NAME "/metadata.json", text, size, err, sizeof(err));
    if (rc != 0 && rc != -EINVAL)
        abort();
    backups_input_init(&in);
    in.prefix = "s3://bucket/spilo/c/u/wal/15";
    in.list = l;
    in.now_s = 1741599000;
    in.schedule = "0 1 * * *";
    in.previous_scheduled_s = 1741568400;
    in.next_scheduled_s = 1741654800;
    check_result_init(&r);
    backups_evaluate(&in, &r);
    if (!r.summary[0] || !json_is_object(r.details))
        abort();
    check_text(r.summary);
    check_result_cleanup(&r);
    backups_list_free(l);
    return 0;
}

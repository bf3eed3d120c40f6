/* Unit tests of backups.c: sentinel and metadata.json parsing (every format, the fixtures, big
 * integers, malformed input), backup names, the set built from a listing, what to fetch, and the
 * verdicts on the healthy fixture tree and on generated backup sets. */
#include "harness.h"

#include <errno.h>

#include "backups.h"
#include "util.h"

#define H3        "s3/healthy-3-backups"
#define H3_BUCKET H3 "/acme-harbor-pg-backups/"
#define H3_ROOT   "spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15"
#define H3_BASE   H3_ROOT "/basebackups_005/"
#define H3_PREFIX "s3://acme-harbor-pg-backups/" H3_ROOT
#define H3_NOW    1741599000          /* 2025-03-10T09:30:00Z, context.env */
#define T0        INT64_C(1741564800) /* 2025-03-10T00:00:00Z */
#define AT(d, h, m, s)                                                                             \
    (T0 + (int64_t)(d)*86400 + (int64_t)(h)*3600 + (int64_t)(m)*60 + (int64_t)(s))
/* generated sets live under a long, realistic prefix: summaries must still fit */
#define GEN_BASE   H3_BASE
#define GEN_PREFIX H3_PREFIX

static char *read_fixture_object(const char *key, size_t *len)
{
    char rel[1024];

    snprintf(rel, sizeof(rel), "%s%s", H3_BUCKET, key);
    return test_read_file(fixture(rel), len);
}

/* ---- listing.tsv ---------------------------------------------------------------------------- */

struct listing {
    struct s3_object *objs;
    size_t n;
    char **prefixes;
    size_t np;
};

/* The ListObjectsV2 view of base: with delimiter "/" (objects directly under base plus common
 * prefixes), or flat (every key under base, no prefixes). */
static void listing_load(const char *tsv, const char *base, bool delimiter, struct listing *out)
{
    size_t len, blen = strlen(base);
    char *text = test_read_file(fixture(tsv), &len), *save = NULL;

    memset(out, 0, sizeof(*out));
    out->objs = xcalloc(len / 10 + 1, sizeof(*out->objs));
    out->prefixes = xcalloc(len / 10 + 1, sizeof(*out->prefixes));
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *key = line, *size = strchr(line, '\t'), *mtime, *slash;
        int64_t t;
        int32_t us;

        if (line[0] == '#')
            continue;
        assert_non_null(size);
        *size++ = '\0';
        mtime = strchr(size, '\t');
        assert_non_null(mtime);
        *mtime++ = '\0';
        if (strncmp(key, base, blen) != 0)
            continue;
        slash = strchr(key + blen, '/');
        if (delimiter && slash) {
            char *p = xstrndup(key, (size_t)(slash - key) + 1);

            if (out->np > 0 && strcmp(out->prefixes[out->np - 1], p) == 0)
                free(p);
            else
                out->prefixes[out->np++] = p;
            continue;
        }
        assert_int_equal(util_parse_rfc3339(mtime, &t, &us), 0);
        out->objs[out->n].key = xstrdup(key);
        out->objs[out->n].size = atoll(size);
        out->objs[out->n].mtime_s = t;
        out->objs[out->n].mtime_ms = us / 1000;
        out->n++;
    }
    free(text);
}

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->objs[i].key);
    for (size_t i = 0; i < l->np; i++)
        free(l->prefixes[i]);
    free(l->objs);
    free(l->prefixes);
}

/* ---- names and LSNs ------------------------------------------------------------------------- */

static void test_names(void **state)
{
    static const struct {
        const char *name;
        bool ok, wale, delta;
    } cases[] = {
        {"base_000000010000000000000003", true, false, false},
        {"base_00000001000000000000003A", true, false, false},
        {"base_00000001000000000000003a", true, false, false},
        {"base_000000010000000000000049_D_000000010000000000000019", true, false, true},
        {"base_000000010000000000000004_00000040", true, true, false},
        {"base_00000001000000000000000", false, false, false},
        {"base_0000000100000000000000033", false, false, false},
        {"base_00000001000000000000000G", false, false, false},
        {"base_000000010000000000000049_D_00000001000000000000001", false, false, false},
        {"base_000000010000000000000049_X_000000010000000000000019", false, false, false},
        {"base_000000010000000000000004_0000004", false, false, false},
        {"base_000000010000000000000004_0000004Z", false, false, false},
        {"BASE_000000010000000000000003", false, false, false},
        {"basebackups_005", false, false, false},
        {"", false, false, false},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        bool wale = !cases[i].wale, delta = !cases[i].delta;
        bool ok = backups_name_valid(cases[i].name, strlen(cases[i].name), &wale, &delta);

        if (ok != cases[i].ok)
            fail_msg("%s: valid=%d", cases[i].name, ok);
        if (ok) {
            assert_int_equal(wale, cases[i].wale);
            assert_int_equal(delta, cases[i].delta);
        }
    }
    assert_false(backups_name_valid(NULL, 0, NULL, NULL));
}

static void test_lsn_text(void **state)
{
    static const struct {
        uint64_t lsn;
        const char *text;
    } cases[] = {
        {0, "0/0"},
        {50331688, "0/3000028"},
        {973085208, "0/3A001A18"},
        {UINT64_C(0x1600000028), "16/28"},
        {UINT64_MAX, "FFFFFFFF/FFFFFFFF"},
    };
    char buf[BACKUPS_LSN_TEXT_MAX];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        backups_format_lsn(cases[i].lsn, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
    }
    assert_string_equal(backups_format_name(BACKUPS_FORMAT_WALG), "wal-g");
    assert_string_equal(backups_format_name(BACKUPS_FORMAT_WALG_LEGACY), "wal-g-legacy");
    assert_string_equal(backups_format_name(BACKUPS_FORMAT_WALE), "wal-e");
    assert_string_equal(backups_format_name(BACKUPS_FORMAT_UNKNOWN), "unknown");
}

/* ---- the fixture's sentinels and metadata.json ------------------------------------------------
 */

static const struct fixture_backup {
    const char *name;
    const char *start_lsn, *finish_lsn;
    int64_t start_s;
    int32_t start_us;
    int64_t finish_s;
    int32_t finish_us;
    int64_t compressed, uncompressed;
    int64_t sentinel_mtime_s;
} h3[] = {
    {"base_000000010000000000000003", "0/3000028", "0/3001978", 1741442601, 570293, 1741442624,
     901537, 8934107, 43581012, 1741442625},
    {"base_000000010000000000000016", "0/16000028", "0/16001848", 1741482001, 650222, 1741482030,
     609853, 11199992, 58947331, 1741482030},
    {"base_00000001000000000000003A", "0/3A000028", "0/3A001A18", 1741568401, 432458, 1741568434,
     843994, 13315317, 71204906, 1741568435},
};

static void test_fixture_sentinels(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(h3); i++) {
        char key[256], err[256], lsn[BACKUPS_LSN_TEXT_MAX];
        struct backups_sentinel s;
        size_t len;
        char *data;

        snprintf(key, sizeof(key), "%s%s%s", H3_BASE, h3[i].name, BACKUPS_SENTINEL_SUFFIX);
        data = read_fixture_object(key, &len);
        assert_int_equal(backups_sentinel_parse(data, len, &s, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_int_equal(s.format, BACKUPS_FORMAT_WALG);
        assert_int_equal(s.version, 2);
        assert_true(s.has_start_lsn && s.has_finish_lsn);
        backups_format_lsn(s.start_lsn, lsn, sizeof(lsn));
        assert_string_equal(lsn, h3[i].start_lsn);
        backups_format_lsn(s.finish_lsn, lsn, sizeof(lsn));
        assert_string_equal(lsn, h3[i].finish_lsn);
        assert_int_equal(s.start_time_s, h3[i].start_s);
        assert_int_equal(s.start_time_us, h3[i].start_us);
        assert_int_equal(s.finish_time_s, h3[i].finish_s);
        assert_int_equal(s.finish_time_us, h3[i].finish_us);
        assert_int_equal(s.compressed_size, h3[i].compressed);
        assert_int_equal(s.uncompressed_size, h3[i].uncompressed);
        assert_true(s.has_system_identifier);
        assert_true(s.system_identifier == UINT64_C(7479438685861703767));
        assert_int_equal(s.pg_version, 150008);
        assert_int_equal(s.is_permanent, 0);
        assert_null(s.delta_from);
        assert_null(s.delta_full_name);
        assert_string_equal(s.hostname, "postgresql-harbor-harborcluster-0");
        assert_string_equal(s.data_dir, "/home/postgres/pgdata/pgroot/data");
        backups_sentinel_cleanup(&s);
        free(data);
    }
}

static void test_fixture_metadata(void **state)
{
    size_t len;
    char *detail = test_read_file(fixture(H3 "/wal-g-backup-list-detail.json"), &len);
    json_error_t jerr;
    json_t *arr = json_loadb(detail, len, 0, &jerr);

    (void)state;
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), ARRAY_LEN(h3));
    for (size_t i = 0; i < ARRAY_LEN(h3); i++) {
        char key[256], err[256], lsn[BACKUPS_LSN_TEXT_MAX];
        struct backups_metadata m;
        json_t *row = json_array_get(arr, i);
        char *data;

        snprintf(key, sizeof(key), "%s%s/metadata.json", H3_BASE, h3[i].name);
        data = read_fixture_object(key, &len);
        assert_int_equal(backups_metadata_parse(data, len, &m, err, sizeof(err)), 0);
        assert_true(m.has_start_lsn && m.has_finish_lsn);
        backups_format_lsn(m.start_lsn, lsn, sizeof(lsn));
        assert_string_equal(lsn, h3[i].start_lsn);
        backups_format_lsn(m.finish_lsn, lsn, sizeof(lsn));
        assert_string_equal(lsn, h3[i].finish_lsn);
        assert_int_equal(m.start_time_s, h3[i].start_s);
        assert_int_equal(m.finish_time_us, h3[i].finish_us);
        assert_int_equal(m.is_permanent, 0);
        assert_true(m.system_identifier == UINT64_C(7479438685861703767));
        assert_int_equal(m.compressed_size, h3[i].compressed);
        assert_int_equal(m.uncompressed_size, h3[i].uncompressed);
        assert_int_equal(m.pg_version, 150008);
        /* wal-g backup-list --detail --json shows the same facts */
        assert_string_equal(json_string_value(json_object_get(row, "backup_name")), h3[i].name);
        assert_int_equal(json_integer_value(json_object_get(row, "start_lsn")), m.start_lsn);
        assert_int_equal(json_integer_value(json_object_get(row, "compressed_size")),
                         m.compressed_size);
        backups_metadata_cleanup(&m);
        free(data);
    }
    json_decref(arr);
    free(detail);
}

/* ---- other formats -------------------------------------------------------------------------- */

static void test_other_formats(void **state)
{
    /* WAL-G v0.2.x (Spilo 1.6/2.0): Files and TarFileSets inside, DeltaFromLSN, no V2 keys */
    static const char v02[] =
        "{\"LSN\":419430440,\"DeltaFromLSN\":402653224,"
        "\"DeltaFrom\":\"base_000000010000000000000018\","
        "\"DeltaFullName\":\"base_000000010000000000000010\",\"DeltaCount\":2,"
        "\"Files\":{\"/PG_VERSION\":{\"IsIncremented\":false,\"IsSkipped\":false,"
        "\"MTime\":\"2019-05-01T10:00:00.123456789Z\"},\"/base/1/1259\":{\"IsIncremented\":true,"
        "\"IsSkipped\":false,\"MTime\":\"2019-05-02T10:00:00Z\"}},"
        "\"TarFileSets\":{\"part_1.tar.lz4\":[\"/PG_VERSION\",\"/base/1/1259\"]},"
        "\"PgVersion\":110005,\"FinishLSN\":419430696,\"SystemIdentifier\":6685467290471428139,"
        "\"UncompressedSize\":24117248,\"CompressedSize\":3145728,\"Spec\":null,\"UserData\":null}";
    /* WAL-E: offsets are lpad(file_offset::text, 8, '0'), i.e. decimal */
    static const char wale[] = "{\"wal_segment_backup_stop\": \"000000010000000000000005\", "
                               "\"wal_segment_offset_backup_stop\": \"00000296\", "
                               "\"expanded_size_bytes\": 23456789}";
    /* V2 keys in another order, unknown keys, nulls, offsets and fraction lengths */
    static const char odd[] =
        "{\"Future\":{\"a\":[1,2,{\"b\":null}]},\"FinishTime\":\"2025-03-10T03:00:34.8+02:00\","
        "\"StartTime\":\"2025-03-10T01:00:01.123456789Z\",\"IsPermanent\":true,\"Version\":3,"
        "\"lsn\":973078568,\"FinishLSN\":\"0/3A001A18\",\"DeltaFrom\":null,\"DeltaFullName\":\"\","
        "\"Hostname\":null,\"ChkpNum\":null,\"Spec\":{\"tbs\":{}},\"CompressedSize\":1.0e3}";
    /* Go's zero time means "not set" */
    static const char zero[] = "{\"LSN\":1,\"StartTime\":\"0001-01-01T00:00:00Z\",\"Version\":2}";
    struct backups_sentinel s;
    char err[256], lsn[BACKUPS_LSN_TEXT_MAX];

    (void)state;
    assert_int_equal(backups_sentinel_parse(v02, strlen(v02), &s, err, sizeof(err)), 0);
    assert_int_equal(s.format, BACKUPS_FORMAT_WALG_LEGACY);
    assert_int_equal(s.version, 0);
    backups_format_lsn(s.start_lsn, lsn, sizeof(lsn));
    assert_string_equal(lsn, "0/19000028");
    backups_format_lsn(s.finish_lsn, lsn, sizeof(lsn));
    assert_string_equal(lsn, "0/19000128");
    assert_true(s.delta_lsn == 402653224);
    assert_string_equal(s.delta_from, "base_000000010000000000000018");
    assert_string_equal(s.delta_full_name, "base_000000010000000000000010");
    assert_int_equal(s.delta_count, 2);
    assert_int_equal(s.start_time_s, BACKUPS_NO_TIME);
    assert_int_equal(s.finish_time_s, BACKUPS_NO_TIME);
    assert_int_equal(s.is_permanent, -1);
    assert_true(s.system_identifier == UINT64_C(6685467290471428139));
    assert_int_equal(s.pg_version, 110005);
    assert_null(s.hostname);
    backups_sentinel_cleanup(&s);

    assert_int_equal(backups_sentinel_parse(wale, strlen(wale), &s, err, sizeof(err)), 0);
    assert_int_equal(s.format, BACKUPS_FORMAT_WALE);
    assert_string_equal(backups_format_name(s.format), "wal-e");
    assert_true(s.has_finish_lsn && !s.has_start_lsn);
    backups_format_lsn(s.finish_lsn, lsn, sizeof(lsn));
    assert_string_equal(lsn, "0/5000128");
    assert_int_equal(s.uncompressed_size, 23456789);
    assert_int_equal(s.compressed_size, -1);
    assert_string_equal(s.wale_stop_segment, "000000010000000000000005");
    backups_sentinel_cleanup(&s);

    assert_int_equal(backups_sentinel_parse(odd, strlen(odd), &s, err, sizeof(err)), 0);
    assert_int_equal(s.format, BACKUPS_FORMAT_WALG);
    assert_int_equal(s.version, 3);
    assert_true(s.start_lsn == 973078568);
    assert_true(s.finish_lsn == 973085208);
    assert_int_equal(s.start_time_s, 1741568401);
    assert_int_equal(s.start_time_us, 123456);
    assert_int_equal(s.finish_time_s, 1741568434);
    assert_int_equal(s.finish_time_us, 800000);
    assert_int_equal(s.is_permanent, 1);
    assert_null(s.delta_from);
    assert_null(s.delta_full_name);
    assert_int_equal(s.compressed_size, 1000);
    backups_sentinel_cleanup(&s);

    assert_int_equal(backups_sentinel_parse(zero, strlen(zero), &s, err, sizeof(err)), 0);
    assert_int_equal(s.start_time_s, BACKUPS_NO_TIME);
    backups_sentinel_cleanup(&s);
}

/* jansson's integers are long long; WAL-G's LSNs and system identifiers are uint64. */
static void test_big_integers(void **state)
{
    static const char big[] =
        "{\"LSN\":18446744073709551615,\"FinishLSN\": 9223372036854775808 ,"
        "\"SystemIdentifier\":9300000000000000000,\"PgVersion\":170000,"
        "\"Hostname\":\"h\\\"x:12345678901234567890\","
        "\"UserData\":{\"n\":123456789012345678901234567890,\"m\":[-99999999999999999999,1.5e3]},"
        "\"Version\":2}";
    static const char *const bad[] = {
        "{\"LSN\":18446744073709551616}",                     /* > uint64 */
        "{\"LSN\":1,\"CompressedSize\":9223372036854775808}", /* > int64 */
        "{\"LSN\":00012345678901234567890}", /* leading zeros: not JSON, stays refused */
        "{\"LSN\":12345678901234567890 1}",  /* not JSON either */
        "{\"LSN\":1e400}",                   /* real overflow */
    };
    struct backups_sentinel s;
    struct backups_metadata m;
    char err[256], lsn[BACKUPS_LSN_TEXT_MAX];
    static const char meta[] = "{\"start_lsn\":12345678901234567890,\"is_permanent\":true,"
                               "\"system_identifier\":18446744073709551615}";

    (void)state;
    assert_int_equal(backups_sentinel_parse(big, strlen(big), &s, err, sizeof(err)), 0);
    assert_true(s.start_lsn == UINT64_MAX);
    backups_format_lsn(s.start_lsn, lsn, sizeof(lsn));
    assert_string_equal(lsn, "FFFFFFFF/FFFFFFFF");
    assert_true(s.finish_lsn == UINT64_C(9223372036854775808));
    assert_true(s.system_identifier == UINT64_C(9300000000000000000));
    assert_string_equal(s.hostname, "h\"x:12345678901234567890");
    assert_int_equal(s.pg_version, 170000);
    backups_sentinel_cleanup(&s);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (backups_sentinel_parse(bad[i], strlen(bad[i]), &s, err, sizeof(err)) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_true(strlen(err) > 10);
    }
    assert_int_equal(backups_metadata_parse(meta, strlen(meta), &m, err, sizeof(err)), 0);
    assert_true(m.start_lsn == UINT64_C(12345678901234567890));
    assert_true(m.system_identifier == UINT64_MAX);
    assert_int_equal(m.is_permanent, 1);
    backups_metadata_cleanup(&m);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        const char *err;
    } sentinels[] = {
        {"", 0, "not valid JSON"},
        {"{", 0, "not valid JSON"},
        {"[]", 0, "is an array, not a JSON object"},
        {"null", 0, "not valid JSON"},
        {"\"LSN\"", 0, "not valid JSON"},
        {"{}", 0, "neither WAL-G's"},
        {"{\"Version\":2,\"StartTime\":\"2025-03-10T01:00:00Z\"}", 0, "neither WAL-G's"},
        {"{\"LSN\":\"abc\"}", 0, "\"LSN\" is a string that is not"},
        {"{\"LSN\":-1}", 0, "\"LSN\" is negative"},
        {"{\"LSN\":1.5}", 0, "\"LSN\" is not an unsigned integer"},
        {"{\"LSN\":[1]}", 0, "\"LSN\" is an array, expected a number"},
        {"{\"LSN\":1,\"StartTime\":\"yesterday\"}", 0, "\"StartTime\" is not an RFC 3339 time"},
        {"{\"LSN\":1,\"StartTime\":1741568401}", 0, "\"StartTime\" is a number"},
        {"{\"LSN\":1,\"IsPermanent\":\"yes\"}", 0, "\"IsPermanent\" is a string"},
        {"{\"LSN\":1,\"DeltaFrom\":7}", 0, "\"DeltaFrom\" is a number"},
        {"{\"LSN\":1,\"Version\":\"2\"}", 0, "\"Version\" is a string"},
        {"{\"LSN\":1}garbage", 0, "not valid JSON"},
        {"{\"LSN\":1,\"Hostname\":\"a\x01\xff\"", 0, "not valid JSON"},
        {"{\"LSN\":1}\0{\"x\":1}", 17, "not valid JSON"},
        {"{\"wal_segment_backup_stop\":\"0000000100000000\"}", 0, "not a WAL segment name"},
        {"{\"wal_segment_backup_stop\":5}", 0, "is a number, expected a string"},
        {"{\"wal_segment_backup_stop\":\"000000010000000000000005\","
         "\"wal_segment_offset_backup_stop\":\"0x28\"}",
         0, "not a decimal offset"},
        {"\xef\xbb\xbf{\"LSN\":1}", 0, "not valid JSON"},
    };
    static const char *const metas[] = {
        "{}", "[1]", "{\"is_permanent\":1}", "{\"start_time\":\"x\"}", "{\"start_lsn\":-3}", "",
    };
    struct backups_sentinel s;
    struct backups_metadata m;
    char err[256];
    size_t len;
    char *fx, *deep;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(sentinels); i++) {
        size_t n = sentinels[i].len ? sentinels[i].len : strlen(sentinels[i].in);

        if (backups_sentinel_parse(sentinels[i].in, n, &s, err, sizeof(err)) != -EINVAL)
            fail_msg("case %zu accepted", i);
        assert_contains(err, sentinels[i].err);
        assert_int_equal(strncmp(err, "sentinel", 8), 0);
        for (const char *p = err; *p; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
        assert_null(s.hostname); /* released on error */
    }
    assert_int_equal(backups_sentinel_parse(NULL, 0, &s, err, sizeof(err)), -EINVAL);
    assert_int_equal(backups_sentinel_parse("{", 1, &s, NULL, 0), -EINVAL);
    for (size_t i = 0; i < ARRAY_LEN(metas); i++) {
        assert_int_equal(backups_metadata_parse(metas[i], strlen(metas[i]), &m, err, sizeof(err)),
                         -EINVAL);
        assert_int_equal(strncmp(err, "metadata.json", 13), 0);
    }
    /* every prefix of a real sentinel is refused or read, never a crash */
    fx = read_fixture_object(H3_BASE "base_00000001000000000000003A" BACKUPS_SENTINEL_SUFFIX, &len);
    while (len > 0 && fx[len - 1] != '}')
        len--;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = backups_sentinel_parse(fx, cut, &s, err, sizeof(err));

        assert_int_equal(rc, -EINVAL);
    }
    free(fx);
    /* deep nesting is jansson's to refuse */
    deep = xmalloc(200002);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = '\0';
    assert_int_equal(backups_sentinel_parse(deep, 200000, &s, err, sizeof(err)), -EINVAL);
    free(deep);
}

/* ---- the fixture tree ----------------------------------------------------------------------- */

static void attach_wanted_from_fixture(struct backups_list *l, size_t *fetched)
{
    struct backups_fetch want[16];
    size_t n = backups_list_wanted(l, want, ARRAY_LEN(want));

    assert_true(n <= ARRAY_LEN(want));
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *data, err[256];

        assert_int_not_equal(want[i].kind, BACKUPS_FETCH_FOLDER);
        data = read_fixture_object(want[i].key, &len);
        assert_int_equal(backups_list_attach(l, want[i].key, data, len, err, sizeof(err)), 0);
        free(data);
    }
    *fetched = n;
    assert_int_equal(backups_list_wanted(l, want, ARRAY_LEN(want)), 0);
}

static void h3_input(struct backups_input *in, const struct backups_list *l)
{
    backups_input_init(in);
    in->prefix = H3_PREFIX;
    in->list = l;
    in->now_s = H3_NOW;
    in->schedule = "0 1 * * *";
    in->previous_scheduled_s = 1741568400; /* 2025-03-10T01:00:00Z */
    in->next_scheduled_s = 1741654800;
    in->grace_s = 3600;
    in->retain = 5; /* envdir/walg-s3-ok BACKUP_NUM_TO_RETAIN */
    in->role = "leader";
}

static void test_fixture_tree(void **state)
{
    (void)state;
    for (int flat = 0; flat <= 1; flat++) {
        struct listing li;
        struct backups_list *l;
        struct backups_input in;
        struct check_result r;
        struct backups_fetch want[8];
        size_t fetched;
        json_t *d;

        listing_load(H3 "/listing.tsv", H3_BASE, !flat, &li);
        assert_int_equal(backups_list_build(H3_BASE, li.objs, li.n,
                                            flat ? NULL : (const char *const *)li.prefixes, li.np,
                                            &l),
                         0);
        assert_int_equal(l->n, 3);
        assert_int_equal(l->n_ignored, 0);
        assert_true(l->folders_listed);
        for (size_t i = 0; i < ARRAY_LEN(h3); i++) {
            const struct backups_backup *b = backups_list_find(l, h3[i].name);

            assert_non_null(b);
            assert_non_null(b->sentinel_key);
            assert_non_null(b->folder);
            assert_int_equal(b->sentinel_mtime_s, h3[i].sentinel_mtime_s);
            assert_false(b->wale || b->delta);
        }
        assert_int_equal(backups_list_find(l, h3[2].name)->sentinel_mtime_ms, 305);
        if (flat)
            assert_int_equal(backups_list_find(l, h3[0].name)->folder_newest_s, 1741442625);
        /* newest sentinel first, then metadata.json newest first */
        assert_int_equal(backups_list_wanted(l, want, ARRAY_LEN(want)), 4);
        assert_int_equal(want[0].kind, BACKUPS_FETCH_SENTINEL);
        assert_string_equal(want[0].name, "base_00000001000000000000003A");
        assert_int_equal(want[0].mtime_s, 1741568435);
        assert_string_equal(want[0].key,
                            H3_BASE "base_00000001000000000000003A_backup_stop_sentinel.json");
        for (size_t i = 1; i < 4; i++) {
            assert_int_equal(want[i].kind, BACKUPS_FETCH_METADATA);
            assert_string_equal(want[i].name, h3[3 - i].name);
            /* a listing without delimiter shows metadata.json: its LastModified is the cache key */
            if (flat)
                assert_true(want[i].mtime_s != BACKUPS_NO_TIME);
            else
                assert_int_equal(want[i].mtime_s, BACKUPS_NO_TIME);
        }
        assert_string_equal(want[1].key, H3_BASE "base_00000001000000000000003A/metadata.json");
        attach_wanted_from_fixture(l, &fetched);
        assert_int_equal(fetched, 4);

        h3_input(&in, l);
        check_result_init(&r);
        backups_evaluate(&in, &r);
        d = r.details;
        assert_int_equal(r.status, VERDICT_OK);
        assert_string_equal(r.summary, "3 backups, the latest finished 2025-03-10T01:00:34Z "
                                       "(slot 01:00 UTC); next due 2025-03-11T01:00:00Z");
        assert_string_equal(dstr(d, "prefix"), H3_PREFIX);
        assert_int_equal(dint(d, "count"), 3);
        assert_int_equal(dint(d, "retain"), 5);
        assert_string_equal(dstr(d, "schedule"), "0 1 * * *");
        assert_string_equal(dstr(d, "previous_scheduled_at"), "2025-03-10T01:00:00Z");
        assert_string_equal(dstr(d, "next_scheduled_at"), "2025-03-11T01:00:00Z");
        assert_string_equal(dstr(d, "expected_by"), "2025-03-10T02:00:00Z");
        assert_string_equal(dstr(d, "checked_slot"), "2025-03-10T01:00:00Z");
        assert_false(dbool(d, "missed"));
        assert_false(dbool(d, "in_progress"));
        assert_string_equal(dstr(d, "latest.name"), "base_00000001000000000000003A");
        assert_string_equal(dstr(d, "latest.start_time"), "2025-03-10T01:00:01Z");
        assert_string_equal(dstr(d, "latest.finish_time"), "2025-03-10T01:00:34Z");
        assert_string_equal(dstr(d, "latest.landed_at"), "2025-03-10T01:00:35Z");
        assert_string_equal(dstr(d, "latest.finish_time_source"), "sentinel");
        assert_string_equal(dstr(d, "latest.start_lsn"), "0/3A000028");
        assert_string_equal(dstr(d, "latest.finish_lsn"), "0/3A001A18");
        assert_int_equal(dint(d, "latest.compressed_size"), 13315317);
        assert_int_equal(dint(d, "latest.uncompressed_size"), 71204906);
        assert_false(dbool(d, "latest.permanent"));
        assert_false(dbool(d, "latest.delta"));
        assert_string_equal(dstr(d, "latest.system_identifier"), "7479438685861703767");
        assert_string_equal(dstr(d, "latest.hostname"), "postgresql-harbor-harborcluster-0");
        assert_string_equal(dstr(d, "latest.sentinel_format"), "wal-g");
        assert_string_equal(dstr(d, "latest.tool"), "wal-g");
        assert_int_equal(dint(d, "latest.pg_version"), 150008);
        assert_true(json_is_null(dget(d, "latest.delta_from")));
        assert_int_equal(dint(d, "permanent_count"), 0);
        assert_int_equal(dint(d, "delta_count"), 0);
        assert_int_equal(dint(d, "total"), 3);
        assert_int_equal(json_array_size(dget(d, "abandoned")), 0);
        assert_int_equal(json_array_size(dget(d, "running")), 0);
        assert_int_equal(json_array_size(dget(d, "beyond_retention")), 0);
        assert_int_equal(json_array_size(dget(d, "problems")), 0);
        assert_string_equal(dstr(d, "role"), "leader");
        assert_string_equal(dstr(d, "layout"), "current");
        assert_string_equal(dstr(d, "tool"), "wal-g");
        assert_int_equal(dint(d, "latest_finish_timestamp"), 1741568434);
        assert_int_equal(dint(d, "expected_timestamp"), 1741568400);
        assert_int_equal(dint(d, "last_compressed_bytes"), 13315317);
        assert_int_equal(dint(d, "grace_seconds"), 3600);
        check_result_cleanup(&r);

        /* the same tree a day and a half later: the 2025-03-11 slot was missed */
        in.now_s = H3_NOW + 86400 + 43200;
        in.previous_scheduled_s = 1741654800;
        in.next_scheduled_s = 1741741200;
        in.role = "replica";
        check_result_init(&r);
        backups_evaluate(&in, &r);
        assert_int_equal(r.status, VERDICT_CRITICAL);
        assert_contains(r.summary, "no base backup landed for the 2025-03-11T01:00:00Z run of '0 "
                                   "1 * * *' (due by 2025-03-11T02:00:00Z): the latest, "
                                   "base_00000001000000000000003A, finished "
                                   "2025-03-10T01:00:34Z (44h29m ago)");
        assert_contains(r.summary, "this pod is a replica");
        assert_true(dbool(r.details, "missed"));
        assert_string_equal(dstr(r.details, "role"), "replica");
        check_result_cleanup(&r);

        backups_list_free(l);
        listing_free(&li);
    }
}

/* ---- generated backup sets ------------------------------------------------------------------ */

struct gb {
    int seg;             /* start segment: names the backup */
    int base_seg;        /* > 0: a delta on the backup that started at this segment */
    int64_t start;       /* StartTime */
    int64_t finish;      /* FinishTime; 0: no sentinel (a folder without sentinel) */
    int64_t last_object; /* folders without sentinel: newest object; 0 unknown */
    bool permanent;      /* metadata.json is_permanent (the sentinel keeps false) */
    bool wale;
    bool no_folder;       /* a sentinel whose folder is gone */
    bool meta_missing;    /* GET of metadata.json answered 404 */
    const char *sentinel; /* replaces the generated sentinel */
};

static void gb_name(const struct gb *g, char *out, size_t len)
{
    if (g->wale)
        snprintf(out, len, "base_0000000100000000%08X_00000040", g->seg);
    else if (g->base_seg)
        snprintf(out, len, "base_0000000100000000%08X_D_0000000100000000%08X", g->seg, g->base_seg);
    else
        snprintf(out, len, "base_0000000100000000%08X", g->seg);
}

static char *gb_sentinel(const struct gb *gs, size_t n, const struct gb *g)
{
    char st[32], fi[32], from[160] = "", base[BACKUPS_NAME_MAX];

    util_format_rfc3339(g->start, st, sizeof(st));
    util_format_rfc3339(g->finish, fi, sizeof(fi));
    if (g->wale)
        return xasprintf("{\"wal_segment_backup_stop\":\"0000000100000000%08X\","
                         "\"wal_segment_offset_backup_stop\":\"00000296\","
                         "\"expanded_size_bytes\":5000}",
                         g->seg + 1);
    if (g->base_seg) {
        /* DeltaFrom is the base's full name, "_D_" part included; a missing base keeps the
         * short form */
        snprintf(base, sizeof(base), "base_0000000100000000%08X", g->base_seg);
        for (size_t i = 0; i < n; i++) {
            if (gs[i].seg == g->base_seg)
                gb_name(&gs[i], base, sizeof(base));
        }
        snprintf(from, sizeof(from), "\"DeltaLSN\":%llu,\"DeltaFrom\":\"%s\",",
                 (unsigned long long)g->base_seg << 24 | 0x28, base);
    }
    fi[19] = '\0'; /* drop the Z: add a fraction */
    return xasprintf("{\"LSN\":%llu,%s\"PgVersion\":150008,\"FinishLSN\":%llu,"
                     "\"SystemIdentifier\":7479438685861703767,\"UncompressedSize\":2000,"
                     "\"CompressedSize\":%d,\"Spec\":null,\"Version\":2,\"StartTime\":\"%s\","
                     "\"FinishTime\":\"%s.25Z\",\"Hostname\":\"pod-0\",\"IsPermanent\":false}",
                     (unsigned long long)g->seg << 24 | 0x28, from,
                     (unsigned long long)g->seg << 24 | 0x1000, 1000 + g->seg, st, fi);
}

static char *gb_metadata(const struct gb *g)
{
    char st[32], fi[32];

    util_format_rfc3339(g->start, st, sizeof(st));
    util_format_rfc3339(g->finish, fi, sizeof(fi));
    return xasprintf("{\"start_time\":\"%s\",\"finish_time\":\"%s\",\"hostname\":\"pod-0\","
                     "\"pg_version\":150008,\"start_lsn\":%llu,\"is_permanent\":%s,"
                     "\"system_identifier\":null,\"compressed_size\":%d}",
                     st, fi, (unsigned long long)g->seg << 24 | 0x28,
                     g->permanent ? "true" : "false", 1000 + g->seg);
}

static struct backups_list *gb_list(const struct gb *gs, size_t n)
{
    struct s3_object objs[32];
    char *prefixes[32];
    size_t no = 0, np = 0;
    struct backups_list *l;
    char name[BACKUPS_NAME_MAX], key[256], err[256];

    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++) {
        gb_name(&gs[i], name, sizeof(name));
        if (gs[i].finish) {
            objs[no].key = xasprintf("%s%s%s", GEN_BASE, name, BACKUPS_SENTINEL_SUFFIX);
            objs[no].size = 400;
            objs[no].mtime_s = gs[i].finish + 1;
            objs[no].mtime_ms = 100;
            no++;
        }
        if (!gs[i].no_folder)
            prefixes[np++] = xasprintf("%s%s/", GEN_BASE, name);
    }
    assert_int_equal(backups_list_build(GEN_BASE, objs, no, (const char *const *)prefixes, np, &l),
                     0);
    for (size_t i = 0; i < n; i++) {
        gb_name(&gs[i], name, sizeof(name));
        if (!gs[i].finish) {
            if (gs[i].last_object)
                assert_int_equal(backups_list_set_folder_newest(l, name, gs[i].last_object), 0);
            continue;
        }
        {
            char *s = gs[i].sentinel ? xstrdup(gs[i].sentinel) : gb_sentinel(gs, n, &gs[i]);
            int rc;

            snprintf(key, sizeof(key), "%s%s%s", GEN_BASE, name, BACKUPS_SENTINEL_SUFFIX);
            rc = backups_list_attach(l, key, s, strlen(s), err, sizeof(err));
            assert_int_equal(rc, gs[i].sentinel ? rc : 0);
            free(s);
        }
        if (gs[i].wale)
            continue;
        snprintf(key, sizeof(key), "%s%s/metadata.json", GEN_BASE, name);
        if (gs[i].meta_missing) {
            assert_int_equal(backups_list_attach_error(l, key, "404 Not Found"), 0);
        } else {
            char *m = gb_metadata(&gs[i]);

            assert_int_equal(backups_list_attach(l, key, m, strlen(m), err, sizeof(err)), 0);
            free(m);
        }
    }
    for (size_t i = 0; i < no; i++)
        free(objs[i].key);
    for (size_t i = 0; i < np; i++)
        free(prefixes[i]);
    return l;
}

/* Spilo's default schedule, 0 1 * * *, as the cron module would answer. */
static int64_t daily_prev(int64_t t)
{
    int64_t d = t - 3600;

    return (d >= 0 ? d / 86400 : (d - 86399) / 86400) * 86400 + 3600;
}

static int64_t daily_count(void *ctx, int64_t from, int64_t to)
{
    (void)ctx;
    return to <= from ? 0 : (daily_prev(to) - daily_prev(from)) / 86400;
}

#define DAILY(d)                                                                                   \
    {                                                                                              \
        .seg = 0x50 + (d), .start = AT(d, 1, 0, 1), .finish = AT(d, 1, 0, 30)                      \
    }
#define MAXB 12

static const struct gcase {
    const char *what;
    struct gb b[MAXB];
    int64_t now;
    int64_t retain;
    bool old_layout;
    bool no_cron; /* leave due_slot_s and count_slots to the fallbacks */
    enum verdict v;
    const char *want[3];
    int count, missed, in_progress;
} gcases[] = {
    {"none at all",
     {{0}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"no base backup under " GEN_PREFIX "/basebackups_005/: check USE_WALG_BACKUP=true",
      "'local all all trust'", "('0 1 * * *')"},
     0,
     1,
     0},
    {"none, old layout",
     {{0}},
     AT(0, 9, 30, 0),
     5,
     true,
     false,
     VERDICT_CRITICAL,
     {"no base backup under", "newer Spilo backs up to .../wal/<major>"},
     0,
     1,
     0},
    {"healthy",
     {DAILY(-3), DAILY(-2), DAILY(-1), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"4 backups, the latest finished 2025-03-10T01:00:30Z (slot 01:00 UTC); next due "
      "2025-03-11T01:00:00Z"},
     4,
     0,
     0},
    {"healthy, fallbacks",
     {DAILY(-3), DAILY(-2), DAILY(-1), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     true,
     VERDICT_OK,
     {"4 backups, the latest finished 2025-03-10T01:00:30Z (slot 01:00 UTC)"},
     4,
     0,
     0},
    {"missed slot",
     {DAILY(-3), DAILY(-2), DAILY(-1)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"no base backup landed for the 2025-03-10T01:00:00Z run of '0 1 * * *' (due by "
      "2025-03-10T02:00:00Z): the latest, base_00000001000000000000004F, finished "
      "2025-03-09T01:00:30Z (32h29m ago)",
      "run postgres_backup.sh by hand"},
     3,
     1,
     0},
    {"missed slot, fallbacks",
     {DAILY(-3), DAILY(-2), DAILY(-1)},
     AT(0, 9, 30, 0),
     5,
     false,
     true,
     VERDICT_CRITICAL,
     {"no base backup landed for the 2025-03-10T01:00:00Z run"},
     3,
     1,
     0},
    {"within grace",
     {DAILY(-3), DAILY(-2), DAILY(-1)},
     AT(0, 1, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"3 backups, the latest finished 2025-03-09T01:00:30Z (slot 01:00 UTC); the backup of the "
      "2025-03-10T01:00:00Z run is due by 2025-03-10T02:00:00Z"},
     3,
     0,
     0},
    {"within grace, fallbacks",
     {DAILY(-3), DAILY(-2), DAILY(-1)},
     AT(0, 1, 30, 0),
     5,
     false,
     true,
     VERDICT_OK,
     {"is due by 2025-03-10T02:00:00Z"},
     3,
     0,
     0},
    {"within grace but the slot before was missed too",
     {DAILY(-3), DAILY(-2)},
     AT(0, 1, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"no base backup landed for the 2025-03-09T01:00:00Z run"},
     2,
     1,
     0},
    {"in progress, recent",
     {DAILY(-3), DAILY(-2), DAILY(-1), {.seg = 0x60, .last_object = AT(0, 1, 10, 0)}},
     AT(0, 1, 15, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"; base_000000010000000000000060 is being uploaded (last object 2025-03-10T01:10:00Z)"},
     3,
     0,
     1},
    {"in progress, age unknown",
     {DAILY(-3), DAILY(-2), DAILY(-1), {.seg = 0x60}},
     AT(0, 1, 15, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"is being uploaded (last object at an unknown time)"},
     3,
     0,
     1},
    {"late but still uploading",
     {DAILY(-3), DAILY(-2), DAILY(-1), {.seg = 0x60, .last_object = AT(0, 2, 55, 0)}},
     AT(0, 3, 0, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"base_000000010000000000000060 is still being uploaded (last object 5m ago): if backups "
      "take that long, raise [backups] grace"},
     3,
     1,
     1},
    {"abandoned",
     {DAILY(-3), DAILY(-2), {.seg = 0x55, .last_object = AT(-2, 14, 20, 0)}, DAILY(-1), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"base_000000010000000000000055 was started but never finished (no sentinel, last object "
      "2025-03-08T14:20:00Z, 43h10m ago)",
      "'wal-g delete garbage --confirm' while no backup runs"},
     4,
     0,
     0},
    {"two abandoned",
     {DAILY(-3),
      {.seg = 0x51, .last_object = AT(-3, 5, 0, 0)},
      {.seg = 0x55, .last_object = AT(-2, 14, 20, 0)},
      DAILY(-2),
      DAILY(-1),
      DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"2 backups were started but never finished (newest base_000000010000000000000055"},
     4,
     0,
     0},
    {"first backup still uploading",
     {{.seg = 0x03, .last_object = AT(0, 0, 50, 0)}},
     AT(0, 0, 55, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"no complete base backup under " GEN_PREFIX
      "/basebackups_005/ yet: the first, base_000000010000000000000003, is being uploaded"},
     0,
     1,
     1},
    {"only abandoned attempts",
     {{.seg = 0x03, .last_object = AT(-1, 1, 5, 0)}, {.seg = 0x09, .last_object = AT(0, 1, 5, 0)}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"no complete base backup under", "2 were started but never finished (newest "
                                       "base_000000010000000000000009"},
     0,
     1,
     0},
    {"delta chain",
     {DAILY(-3),
      {.seg = 0x4F, .base_seg = 0x4D, .start = AT(-2, 1, 0, 1), .finish = AT(-2, 1, 0, 30)},
      {.seg = 0x50, .base_seg = 0x4F, .start = AT(-1, 1, 0, 1), .finish = AT(-1, 1, 0, 30)},
      {.seg = 0x51, .base_seg = 0x50, .start = AT(0, 1, 0, 1), .finish = AT(0, 1, 0, 30)}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"1 backup + 3 deltas, the latest finished 2025-03-10T01:00:30Z (slot 01:00 UTC)"},
     1,
     0,
     0},
    {"delta on a missing base",
     {DAILY(-3),
      {.seg = 0x50, .base_seg = 0x4F, .start = AT(-1, 1, 0, 1), .finish = AT(-1, 1, 0, 30)},
      {.seg = 0x51, .base_seg = 0x50, .start = AT(0, 1, 0, 1), .finish = AT(0, 1, 0, 30)}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"the latest backup base_000000010000000000000051_D_000000010000000000000050 is a delta "
      "whose chain needs base_00000001000000000000004F, which is missing"},
     1,
     0,
     0},
    {"permanent counted apart",
     {{.seg = 0x05, .start = AT(-30, 3, 0, 0), .finish = AT(-30, 3, 5, 0), .permanent = true},
      DAILY(-2),
      DAILY(-1),
      DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"3 backups + 1 permanent, the latest finished 2025-03-10T01:00:30Z"},
     3,
     0,
     0},
    {"old layout",
     {DAILY(-1), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     true,
     false,
     VERDICT_WARNING,
     {"backups are under the old layout " GEN_PREFIX " (no PostgreSQL major version"},
     2,
     0,
     0},
    {"retention steady state (retain + 3)",
     {DAILY(-7), DAILY(-6), DAILY(-5), DAILY(-4), DAILY(-3), DAILY(-2), DAILY(-1), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"8 backups, the latest"},
     8,
     0,
     0},
    {"retention not running",
     {DAILY(-9), DAILY(-8), DAILY(-7), DAILY(-6), DAILY(-5), DAILY(-4), DAILY(-3), DAILY(-2),
      DAILY(-1), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"2 backups are older than Spilo's retention keeps (BACKUP_NUM_TO_RETAIN=5: the 5 newest, "
      "all younger than 5 days and one more), oldest base_000000010000000000000047 from "
      "2025-03-01T01:00:30Z",
      "'wal-g delete before FIND_FULL base_000000010000000000000049 --confirm'"},
     10,
     0,
     0},
    {"retention keeps permanent ones",
     {{.seg = 0x05, .start = AT(-30, 3, 0, 0), .finish = AT(-30, 3, 5, 0), .permanent = true},
      DAILY(-7),
      DAILY(-6),
      DAILY(-5),
      DAILY(-4),
      DAILY(-3),
      DAILY(-2),
      DAILY(-1),
      DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"8 backups + 1 permanent"},
     8,
     0,
     0},
    {"backups lost in between",
     {DAILY(-4), DAILY(-3), DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"only 3 backups while BACKUP_NUM_TO_RETAIN is 5: about 2 scheduled runs since the oldest "
      "(base_00000001000000000000004C, 2025-03-06T01:00:30Z) left no backup"},
     3,
     0,
     0},
    {"young cluster",
     {{.seg = 0x03, .start = AT(-1, 14, 3, 21), .finish = AT(-1, 14, 3, 44)}, DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_OK,
     {"2 backups, the latest finished 2025-03-10T01:00:30Z (slot 01:00 UTC)"},
     2,
     0,
     0},
    {"retain 0 turns the count checks off",
     {DAILY(-4), DAILY(0)},
     AT(0, 9, 30, 0),
     0,
     false,
     false,
     VERDICT_OK,
     {"2 backups"},
     2,
     0,
     0},
    {"WAL-E",
     {{.seg = 0x20, .wale = true, .start = AT(-1, 1, 0, 0), .finish = AT(-1, 1, 2, 0)},
      {.seg = 0x30, .wale = true, .start = AT(0, 1, 0, 0), .finish = AT(0, 1, 2, 0)}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"the latest backup base_000000010000000000000030_00000040 was made by WAL-E, not WAL-G: "
      "set USE_WALG_BACKUP=true"},
     2,
     0,
     0},
    {"malformed latest sentinel",
     {DAILY(-1),
      {.seg = 0x60, .start = AT(0, 1, 0, 1), .finish = AT(0, 1, 0, 30), .sentinel = "{\"LSN\":"}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"the latest backup base_000000010000000000000060 cannot be restored: its sentinel is "
      "unreadable (sentinel is not valid JSON"},
     2,
     0,
     0},
    {"malformed older sentinel",
     {{.seg = 0x40, .start = AT(-1, 1, 0, 1), .finish = AT(-1, 1, 0, 30), .sentinel = "[]"},
      DAILY(0)},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"the sentinel of 1 older backup could not be read (newest "
      "base_000000010000000000000040: sentinel is an array, not a JSON object)"},
     2,
     0,
     0},
    {"sentinel without folder",
     {DAILY(-1),
      {.seg = 0x60, .start = AT(0, 1, 0, 1), .finish = AT(0, 1, 0, 30), .no_folder = true}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_CRITICAL,
     {"the latest backup base_000000010000000000000060 has a sentinel but no data folder " GEN_BASE
      "base_000000010000000000000060/"},
     2,
     0,
     0},
    {"metadata.json missing",
     {DAILY(-1),
      {.seg = 0x60, .start = AT(0, 1, 0, 1), .finish = AT(0, 1, 0, 30), .meta_missing = true}},
     AT(0, 9, 30, 0),
     5,
     false,
     false,
     VERDICT_WARNING,
     {"metadata.json is missing or unreadable for 1 backup (newest "
      "base_000000010000000000000060: GET failed: 404 Not Found)"},
     2,
     0,
     0},
};

static void test_generated(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(gcases); i++) {
        const struct gcase *c = &gcases[i];
        size_t n = 0;
        struct backups_list *l;
        struct backups_input in;
        struct check_result r;

        while (n < MAXB && (c->b[n].seg || c->b[n].finish))
            n++;
        l = gb_list(c->b, n);
        backups_input_init(&in);
        in.prefix = GEN_PREFIX "/";
        in.list = l;
        in.now_s = c->now;
        in.schedule = "0 1 * * *";
        in.previous_scheduled_s = daily_prev(c->now);
        in.next_scheduled_s = in.previous_scheduled_s + 86400;
        in.grace_s = 3600;
        in.retain = c->retain;
        in.old_layout = c->old_layout;
        in.role = "replica";
        if (!c->no_cron) {
            in.due_slot_s = daily_prev(c->now - in.grace_s);
            in.count_slots = daily_count;
        }
        check_result_init(&r);
        backups_evaluate(&in, &r);
        if (getenv("TEST_BACKUPS_VERBOSE"))
            print_message("%s: %s: %s\n", c->what, verdict_name(r.status), r.summary);
        if (r.status != c->v)
            fail_msg("%s: %s: %s", c->what, verdict_name(r.status), r.summary);
        for (size_t w = 0; w < ARRAY_LEN(c->want) && c->want[w]; w++) {
            if (!strstr(r.summary, c->want[w]))
                fail_msg("%s: \"%s\" lacks \"%s\"", c->what, r.summary, c->want[w]);
        }
        assert_true(strlen(r.summary) < sizeof(r.summary) - 1); /* never cut */
        assert_int_equal(dint(r.details, "count"), c->count);
        assert_string_equal(dstr(r.details, "role"), "replica");
        if (dbool(r.details, "missed") != c->missed)
            fail_msg("%s: missed", c->what);
        if (dbool(r.details, "in_progress") != c->in_progress)
            fail_msg("%s: in_progress", c->what);
        assert_int_equal(json_array_size(dget(r.details, "problems")) > 0, c->v != VERDICT_OK);
        check_result_cleanup(&r);
        backups_list_free(l);
    }
}

/* Details of the special cases. */
static void test_generated_details(void **state)
{
    const struct gb delta[] = {
        DAILY(-3),
        {.seg = 0x4F, .base_seg = 0x4D, .start = AT(-2, 1, 0, 1), .finish = AT(-2, 1, 0, 30)},
        {.seg = 0x50,
         .base_seg = 0x4F,
         .start = AT(-1, 1, 0, 1),
         .finish = AT(-1, 1, 0, 30),
         .permanent = true},
        {.seg = 0x51, .base_seg = 0x50, .start = AT(0, 1, 0, 1), .finish = AT(0, 1, 0, 30)},
        {.seg = 0x70, .last_object = AT(-1, 9, 0, 0)},
    };
    const struct gb wale[] = {
        {.seg = 0x30, .wale = true, .start = AT(0, 1, 0, 0), .finish = AT(0, 1, 2, 0)},
    };
    struct backups_list *l = gb_list(delta, ARRAY_LEN(delta));
    struct backups_input in;
    struct check_result r;
    json_t *ab;

    (void)state;
    backups_input_init(&in);
    assert_int_equal(in.retain, 5);
    assert_int_equal(in.previous_scheduled_s, -1);
    in.list = l;
    in.now_s = AT(0, 9, 30, 0);
    check_result_init(&r);
    backups_evaluate(&in, &r); /* no schedule at all */
    assert_int_equal(r.status, VERDICT_WARNING);
    assert_string_equal(dstr(r.details, "latest.name"),
                        "base_000000010000000000000051_D_000000010000000000000050");
    assert_true(dbool(r.details, "latest.delta"));
    assert_string_equal(dstr(r.details, "latest.delta_from"),
                        "base_000000010000000000000050_D_00000001000000000000004F");
    assert_string_equal(dstr(r.details, "latest.delta_full_name"), "base_00000001000000000000004D");
    assert_string_equal(dstr(r.details, "latest.start_lsn"), "0/51000028");
    assert_int_equal(dint(r.details, "count"), 1);
    assert_int_equal(dint(r.details, "delta_count"), 2);
    assert_int_equal(dint(r.details, "permanent_count"), 1);
    assert_true(json_is_null(dget(r.details, "previous_scheduled_at")));
    assert_true(json_is_null(dget(r.details, "expected_timestamp")));
    assert_true(json_is_null(dget(r.details, "role")));
    assert_true(json_is_null(dget(r.details, "prefix")));
    assert_false(dbool(r.details, "missed"));
    ab = dget(r.details, "abandoned");
    assert_int_equal(json_array_size(ab), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ab, 0), "name")),
                        "base_000000010000000000000070");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ab, 0), "folder")),
                        GEN_BASE "base_000000010000000000000070/");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ab, 0), "last_object_at")),
                        "2025-03-09T09:00:00Z");
    assert_contains(r.summary, "base_000000010000000000000070 was started but never finished");
    check_result_cleanup(&r);
    backups_list_free(l);

    l = gb_list(wale, ARRAY_LEN(wale));
    backups_input_init(&in);
    in.list = l;
    in.now_s = AT(0, 9, 30, 0);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_string_equal(dstr(r.details, "latest.tool"), "wal-e");
    assert_string_equal(dstr(r.details, "latest.sentinel_format"), "wal-e");
    assert_string_equal(dstr(r.details, "latest.start_lsn"), "0/30000028");
    assert_string_equal(dstr(r.details, "latest.finish_lsn"), "0/31000128");
    assert_string_equal(dstr(r.details, "latest.finish_time"), "2025-03-10T01:02:01Z");
    assert_string_equal(dstr(r.details, "latest.finish_time_source"), "last_modified");
    assert_int_equal(dint(r.details, "latest.uncompressed_size"), 5000);
    assert_true(json_is_null(dget(r.details, "latest.compressed_size")));
    assert_true(json_is_null(dget(r.details, "last_compressed_bytes")));
    assert_string_equal(dstr(r.details, "tool"), "wal-e");
    check_result_cleanup(&r);
    backups_list_free(l);

    /* no list at all is an empty listing */
    backups_input_init(&in);
    in.now_s = AT(0, 9, 30, 0);
    check_result_init(&r);
    backups_evaluate(&in, &r);
    assert_int_equal(r.status, VERDICT_CRITICAL);
    assert_true(r.causes[CAUSE_BACKUPS_NO_BACKUP]);
    assert_contains(r.summary, "no base backup under basebackups_005/");
    assert_contains(r.summary, "('BACKUP_SCHEDULE')");
    assert_true(json_is_null(dget(r.details, "latest")));
    assert_true(json_is_null(dget(r.details, "latest_finish_timestamp")));
    check_result_cleanup(&r);
}

/* ---- the listing API ------------------------------------------------------------------------ */

static void test_listing_api(void **state)
{
    struct s3_object objs[] = {
        {.key = (char *)"r/basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json",
         .mtime_s = 100},
        {.key = (char *)"r/basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json",
         .mtime_s = 100}, /* a page repeated */
        {.key = (char *)"r/basebackups_005/base_000000010000000000000004_00000040"
                        "_backup_stop_sentinel.json",
         .mtime_s = 50},
        {.key = (char *)"r/basebackups_005/README", .mtime_s = 1},
        {.key = (char *)"r/basebackups_005/base_nothex_backup_stop_sentinel.json", .mtime_s = 1},
        {.key = (char *)"r/wal_005/000000010000000000000003.lz4", .mtime_s = 1},
        {.key = NULL},
    };
    const char *prefixes[] = {
        "r/basebackups_005/base_000000010000000000000003/",
        "r/basebackups_005/base_000000010000000000000009/",
        "r/basebackups_005/junk/",
        NULL,
    };
    struct backups_list *l;
    struct backups_fetch want[4];
    char err[256];

    (void)state;
    assert_int_equal(backups_list_build(NULL, NULL, 0, NULL, 0, &l), -EINVAL);
    assert_null(l);
    assert_int_equal(
        backups_list_build("r/basebackups_005", objs, ARRAY_LEN(objs), prefixes, 4, &l), 0);
    assert_string_equal(l->base, "r/basebackups_005/");
    assert_int_equal(l->n, 3);
    assert_int_equal(l->n_ignored, 4);
    assert_string_equal(l->ignored_sample, "README");
    assert_true(backups_list_find(l, "base_000000010000000000000004_00000040")->wale);
    assert_null(backups_list_find(l, "base_000000010000000000000004_00000040")->metadata_key);
    assert_null(backups_list_find(l, "nope"));
    /* newest sentinel, metadata of the WAL-G one, the folder without sentinel */
    assert_int_equal(backups_list_wanted(l, want, 1), 3);
    assert_int_equal(backups_list_wanted(l, want, ARRAY_LEN(want)), 3);
    assert_int_equal(want[0].kind, BACKUPS_FETCH_SENTINEL);
    assert_string_equal(want[0].name, "base_000000010000000000000003");
    assert_int_equal(want[1].kind, BACKUPS_FETCH_METADATA);
    assert_string_equal(want[1].key,
                        "r/basebackups_005/base_000000010000000000000003/metadata.json");
    assert_int_equal(want[2].kind, BACKUPS_FETCH_FOLDER);
    assert_string_equal(want[2].key, "r/basebackups_005/base_000000010000000000000009/");
    assert_int_equal(backups_list_attach(l, "r/basebackups_005/x", "{}", 2, err, sizeof(err)),
                     -ENOENT);
    assert_contains(err, "no listed backup has the key");
    assert_int_equal(backups_list_attach_error(l, "r/basebackups_005/x", "boom"), -ENOENT);
    assert_int_equal(backups_list_attach(l, want[0].key, "{\"LSN\":", 7, err, sizeof(err)),
                     -EINVAL);
    assert_contains(backups_list_find(l, "base_000000010000000000000003")->sentinel_error,
                    "not valid JSON");
    /* attaching again replaces the result */
    assert_int_equal(backups_list_attach(l, want[0].key, "{\"LSN\":5}", 9, err, sizeof(err)), 0);
    assert_null(backups_list_find(l, "base_000000010000000000000003")->sentinel_error);
    assert_non_null(backups_list_find(l, "base_000000010000000000000003")->sentinel);
    assert_int_equal(backups_list_attach_error(l, want[1].key, "403 \x01 Forbidden"), 0);
    assert_string_equal(backups_list_find(l, "base_000000010000000000000003")->metadata_error,
                        "GET failed: 403 ? Forbidden");
    assert_int_equal(backups_list_set_folder_newest(l, want[2].key, 1234), 0);
    assert_int_equal(backups_list_set_folder_newest(l, "base_000000010000000000000009", 99), 0);
    assert_int_equal(backups_list_find(l, "base_000000010000000000000009")->folder_newest_s, 1234);
    assert_int_equal(backups_list_set_folder_newest(l, "base_00000001000000000000000A/", 1),
                     -ENOENT);
    assert_int_equal(backups_list_wanted(l, want, ARRAY_LEN(want)), 0);
    backups_list_free(l);
    backups_list_free(NULL);

    /* a bucket-root prefix: base is just "basebackups_005/" */
    assert_int_equal(backups_list_build("basebackups_005/", objs, 1, NULL, 0, &l), 0);
    assert_int_equal(l->n, 0);
    assert_int_equal(l->n_ignored, 1);
    assert_false(l->folders_listed);
    backups_list_free(l);
}

/* The listing with BACKUPS_LIST_DELIMITER ("/tar_partitions/", WAL-G's TarPartitionFolderName,
 * internal/storage_tar_ball.go line 16): each folder's tar_partitions/ is one common prefix, and
 * metadata.json is listed beside it with its LastModified and ETag, which become the cache key of
 * its GET. A complete backup without metadata.json in that listing has none (WAL-G uploads it
 * before the sentinel: internal/databases/postgres/backup_push_handler.go lines 472-489). */
static void test_metadata_in_listing(void **state)
{
    struct s3_object objs[] = {
        {.key = "r/basebackups_005/base_000000010000000000000003/files_metadata.json",
         .mtime_s = 1000},
        {.key = "r/basebackups_005/base_000000010000000000000003/metadata.json",
         .mtime_s = 1001,
         .etag = 77},
        {.key = "r/basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json",
         .mtime_s = 1002},
        {.key = "r/basebackups_005/base_000000010000000000000005_backup_stop_sentinel.json",
         .mtime_s = 2002},
    };
    const char *prefixes[] = {
        "r/basebackups_005/base_000000010000000000000003/tar_partitions/",
        "r/basebackups_005/base_000000010000000000000005/tar_partitions/",
        "r/basebackups_005/base_000000010000000000000009/tar_partitions/", /* running */
    };
    struct backups_list *l;
    struct backups_fetch want[8];
    const struct backups_backup *b3, *b5, *b9;

    (void)state;
    assert_int_equal(backups_list_build("r/basebackups_005/", objs, ARRAY_LEN(objs), prefixes,
                                        ARRAY_LEN(prefixes), &l),
                     0);
    backups_list_set_metadata_listed(l, 2002 + BACKUPS_LISTING_SETTLE_S);
    assert_int_equal(l->n, 3);
    assert_int_equal(l->n_ignored, 0);
    b3 = backups_list_find(l, "base_000000010000000000000003");
    b5 = backups_list_find(l, "base_000000010000000000000005");
    b9 = backups_list_find(l, "base_000000010000000000000009");
    assert_string_equal(b3->folder, "r/basebackups_005/base_000000010000000000000003/");
    assert_string_equal(b9->folder, "r/basebackups_005/base_000000010000000000000009/");
    assert_int_equal(b3->metadata_mtime_s, 1001);
    assert_true(b3->metadata_etag == 77);
    assert_int_equal(b3->folder_newest_s, 1001);
    assert_null(b3->metadata_error);
    assert_contains(b5->metadata_error, "not in the listing of r/basebackups_005/"
                                        "base_000000010000000000000005/");
    assert_null(b9->sentinel_key);
    backups_list_free(l);
    /* a sentinel younger than that: it may have landed after its metadata.json's page */
    assert_int_equal(backups_list_build("r/basebackups_005/", objs, ARRAY_LEN(objs), prefixes,
                                        ARRAY_LEN(prefixes), &l),
                     0);
    backups_list_set_metadata_listed(l, 2002 + BACKUPS_LISTING_SETTLE_S - 1);
    b5 = backups_list_find(l, "base_000000010000000000000005");
    assert_null(b5->metadata_error);
    assert_int_equal(backups_list_wanted(l, want, ARRAY_LEN(want)), 4); /* its GET is wanted */
    backups_list_free(l);
    assert_int_equal(backups_list_build("r/basebackups_005/", objs, ARRAY_LEN(objs), prefixes,
                                        ARRAY_LEN(prefixes), &l),
                     0);
    backups_list_set_metadata_listed(l, 2002 + BACKUPS_LISTING_SETTLE_S);
    b3 = backups_list_find(l, "base_000000010000000000000003");
    b9 = backups_list_find(l, "base_000000010000000000000009");
    /* the newest sentinel, b3's metadata.json with its listed key, the running folder */
    assert_int_equal(backups_list_wanted(l, want, ARRAY_LEN(want)), 3);
    assert_int_equal(want[0].kind, BACKUPS_FETCH_SENTINEL);
    assert_string_equal(want[0].name, "base_000000010000000000000005");
    assert_int_equal(want[1].kind, BACKUPS_FETCH_METADATA);
    assert_string_equal(want[1].name, "base_000000010000000000000003");
    assert_int_equal(want[1].mtime_s, 1001);
    assert_true(want[1].etag == 77);
    assert_int_equal(want[2].kind, BACKUPS_FETCH_FOLDER);
    assert_string_equal(want[2].key, b9->folder);
    backups_list_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lsn_text),
        cmocka_unit_test(test_fixture_sentinels),
        cmocka_unit_test(test_fixture_metadata),
        cmocka_unit_test(test_other_formats),
        cmocka_unit_test(test_big_integers),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fixture_tree),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_generated_details),
        cmocka_unit_test(test_listing_api),
        cmocka_unit_test(test_metadata_in_listing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* backups.c - WAL-G (and WAL-E) base backups under <prefix>/basebackups_005/: backup names, stop
 * sentinels and metadata.json, the backup set a listing shows, and the `backups` verdict
 * (freshness against BACKUP_SCHEDULE, Spilo's retention, in-progress and abandoned uploads, delta
 * chains). Pure: it owns no I/O, reads no clock and keeps nothing between runs; the S3 requests,
 * the cron arithmetic and the caching of objects belong to the caller. */
#include "backups.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "schedule.h"
#include "util.h"

#define DAY_S        INT64_C(86400)
#define WAL_SEG_SIZE UINT64_C(0x1000000) /* 16 MiB: Spilo never changes wal_segment_size */
#define NAME_LEN     29                  /* "base_" + 24 hex */
#define MAX_FINDINGS 16

/* ---- names ---------------------------------------------------------------------------------- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_hex(s[i]))
            return false;
    }
    return true;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return n > 0;
}

static uint32_t hex32(const char *s)
{
    uint32_t v = 0;

    for (int i = 0; i < 8; i++) {
        char c = s[i];

        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

bool backups_name_valid(const char *name, size_t len, bool *wale, bool *delta)
{
    bool w = false, d = false;

    if (!name || len < NAME_LEN || memcmp(name, "base_", 5) != 0 || !all_hex(name + 5, 24))
        return false;
    if (len == NAME_LEN) {
        /* a full WAL-G backup */
    } else if (len == NAME_LEN + 3 + 24 && memcmp(name + NAME_LEN, "_D_", 3) == 0 &&
               all_hex(name + NAME_LEN + 3, 24)) {
        d = true;
    } else if (len == NAME_LEN + 1 + 8 && name[NAME_LEN] == '_' &&
               all_hex(name + NAME_LEN + 1, 8)) {
        w = true;
    } else {
        return false;
    }
    if (wale)
        *wale = w;
    if (delta)
        *delta = d;
    return true;
}

/* Start of a 24-hex segment name as an LSN, for 16 MiB segments. */
static bool segment_lsn(const char *seg, uint64_t *lsn)
{
    uint32_t log, num;

    if (!all_hex(seg, 24))
        return false;
    log = hex32(seg + 8);
    num = hex32(seg + 16);
    if (num >= (uint32_t)(UINT64_C(0x100000000) / WAL_SEG_SIZE))
        return false;
    *lsn = ((uint64_t)log << 32) + (uint64_t)num * WAL_SEG_SIZE;
    return true;
}

void backups_format_lsn(uint64_t lsn, char *out, size_t outlen)
{
    snprintf(out, outlen, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xFFFFFFFFu));
}

const char *backups_format_name(enum backups_format f)
{
    switch (f) {
    case BACKUPS_FORMAT_WALG:
        return "wal-g";
    case BACKUPS_FORMAT_WALG_LEGACY:
        return "wal-g-legacy";
    case BACKUPS_FORMAT_WALE:
        return "wal-e";
    case BACKUPS_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- JSON reading --------------------------------------------------------------------------- */

/* Messages quote parts of the input: keep them printable ASCII. */
static void sanitize(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
    }
}

static bool json_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether an integer literal (optional '-', digits) lies outside int64. */
static bool int_literal_overflows(const char *t, size_t n)
{
    bool neg = t[0] == '-';
    const char *d = t + neg;
    size_t nd = n - neg;

    if (nd != 19)
        return nd > 19;
    return memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/* jansson reads integers as long long and refuses larger ones, while WAL-G writes LSNs and the
 * system identifier as uint64 (a system identifier passes 2^63 for clusters initialised after
 * 2038-01-19). This copy quotes every integer literal that does not fit in int64, where a value
 * stands (after ':', '[' or ','; before ',', '}', ']' or the end), so that jansson reads it as a
 * string of digits; the getters below accept such strings for numbers. Anything that is not valid
 * JSON is copied unchanged and jansson refuses it as before. */
static char *quote_big_integers(const char *in, size_t len, size_t *outlen)
{
    char *out = xmalloc(len + len / 8 + 3); /* a quoted literal has >= 19 digits */
    size_t o = 0, i = 0;
    char prev = '\0';
    bool in_str = false;

    while (i < len) {
        char c = in[i];

        if (in_str) {
            out[o++] = c;
            i++;
            if (c == '\\' && i < len) {
                out[o++] = in[i++];
            } else if (c == '"') {
                in_str = false;
                prev = '"';
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
            out[o++] = c;
            i++;
            continue;
        }
        if ((c == '-' || (c >= '0' && c <= '9')) && (prev == ':' || prev == '[' || prev == ',')) {
            size_t j = i + (c == '-'), k = j, m;
            bool plain;

            while (k < len && in[k] >= '0' && in[k] <= '9')
                k++;
            m = k;
            while (m < len && json_blank(in[m]))
                m++;
            plain = k > j && !(in[j] == '0' && k - j > 1) &&
                    (k == len || (in[k] != '.' && in[k] != 'e' && in[k] != 'E')) &&
                    (m == len || in[m] == ',' || in[m] == '}' || in[m] == ']');
            if (plain && int_literal_overflows(in + i, k - i)) {
                out[o++] = '"';
                memcpy(out + o, in + i, k - i);
                o += k - i;
                out[o++] = '"';
            } else {
                memcpy(out + o, in + i, k - i);
                o += k - i;
            }
            prev = '0';
            i = k > i ? k : i + 1;
            continue;
        }
        out[o++] = c;
        i++;
        if (!json_blank(c))
            prev = c;
    }
    *outlen = o;
    return out;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static json_t *load_object(const char *data, size_t len, const char *what, char *err, size_t errlen)
{
    json_error_t e;
    json_t *root;

    if (!data) {
        data = "";
        len = 0;
    }
    root = json_loadb(data, len, 0, &e);
    if (!root && json_error_code(&e) == json_error_numeric_overflow) {
        size_t n;
        char *copy = quote_big_integers(data, len, &n);

        root = json_loadb(copy, n, 0, &e);
        free(copy);
    }
    if (!root) {
        snprintf(err, errlen, "%s is not valid JSON: %s (line %d, column %d)", what, e.text, e.line,
                 e.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s is %s, not a JSON object", what, json_kind(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Field getters. Go's encoding/json, which WAL-G reads with, matches keys case-insensitively
 * (preferring the exact spelling) and leaves a field alone for null; so do these. A type Go could
 * not store in the field is an error, the first one sticks. */
struct jget {
    const json_t *obj;
    const char *what;
    char *err;
    size_t errlen;
    int rc;
};

static const json_t *jget_value(struct jget *g, const char *key)
{
    const char *k;
    json_t *it;
    const json_t *v = json_object_get(g->obj, key);

    if (g->rc < 0)
        return NULL;
    if (!v) {
        json_object_foreach((json_t *)g->obj, k, it)
        {
            if (strcasecmp(k, key) == 0) {
                v = it;
                break;
            }
        }
    }
    return v && !json_is_null(v) ? v : NULL;
}

static void PRINTF(2, 3) jget_fail(struct jget *g, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(g->err, g->errlen, "%s: ", g->what);

    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < g->errlen)
        vsnprintf(g->err + n, g->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    g->rc = -EINVAL;
}

static bool parse_u64_text(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *slash;

    if (!*s)
        return false;
    slash = strchr(s, '/');
    if (slash) { /* "X/Y", as PostgreSQL prints an LSN */
        size_t hi_n = (size_t)(slash - s), lo_n = strlen(slash + 1);
        char pad[9];

        if (hi_n < 1 || hi_n > 8 || lo_n < 1 || lo_n > 8 || !all_hex(s, hi_n) ||
            !all_hex(slash + 1, lo_n))
            return false;
        snprintf(pad, sizeof(pad), "%08d", 0);
        memcpy(pad + 8 - hi_n, s, hi_n);
        v = (uint64_t)hex32(pad) << 32;
        snprintf(pad, sizeof(pad), "%08d", 0);
        memcpy(pad + 8 - lo_n, slash + 1, lo_n);
        *out = v | hex32(pad);
        return true;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static void get_u64(struct jget *g, const char *key, uint64_t *out, bool *has)
{
    const json_t *v = jget_value(g, key);

    if (!v)
        return;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return jget_fail(g, "\"%s\" is negative (%lld)", key, (long long)json_integer_value(v));
        *out = (uint64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double r = json_real_value(v);

        if (!(r >= 0 && r < 18446744073709551616.0) || (double)(uint64_t)r != r)
            return jget_fail(g, "\"%s\" is not an unsigned integer (%g)", key, r);
        *out = (uint64_t)r;
    } else if (json_is_string(v)) {
        if (!parse_u64_text(json_string_value(v), out))
            return jget_fail(g, "\"%s\" is a string that is not an unsigned 64-bit number", key);
    } else {
        return jget_fail(g, "\"%s\" is %s, expected a number", key, json_kind(v));
    }
    if (has)
        *has = true;
}

static void get_i64(struct jget *g, const char *key, int64_t *out, bool *has)
{
    const json_t *v = jget_value(g, key);

    if (!v)
        return;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double r = json_real_value(v);

        if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0) || (double)(int64_t)r != r)
            return jget_fail(g, "\"%s\" is not an integer (%g)", key, r);
        *out = (int64_t)r;
    } else if (json_is_string(v) && json_string_length(v) >= 19 &&
               all_digits(json_string_value(v) + (json_string_value(v)[0] == '-'),
                          json_string_length(v) - (json_string_value(v)[0] == '-')) &&
               int_literal_overflows(json_string_value(v), json_string_length(v))) {
        /* a literal quote_big_integers() found too big for int64 */
        return jget_fail(g, "\"%s\" is out of range (%.24s)", key, json_string_value(v));
    } else {
        return jget_fail(g, "\"%s\" is %s, expected a number", key, json_kind(v));
    }
    if (has)
        *has = true;
}

static void get_bool(struct jget *g, const char *key, int *out)
{
    const json_t *v = jget_value(g, key);

    if (!v)
        return;
    if (!json_is_boolean(v))
        return jget_fail(g, "\"%s\" is %s, expected true or false", key, json_kind(v));
    *out = json_is_true(v) ? 1 : 0;
}

static void get_str(struct jget *g, const char *key, char **out)
{
    const json_t *v = jget_value(g, key);

    if (!v)
        return;
    if (!json_is_string(v))
        return jget_fail(g, "\"%s\" is %s, expected a string", key, json_kind(v));
    free(*out);
    *out = NULL;
    if (json_string_length(v) > 0)
        *out = xstrndup(json_string_value(v), json_string_length(v));
}

static void get_time(struct jget *g, const char *key, int64_t *t_s, int32_t *us)
{
    const json_t *v = jget_value(g, key);
    int64_t t;
    int32_t frac;

    if (!v)
        return;
    if (!json_is_string(v))
        return jget_fail(g, "\"%s\" is %s, expected an RFC 3339 time", key, json_kind(v));
    if (json_string_length(v) == 0)
        return;
    if (strlen(json_string_value(v)) != json_string_length(v) ||
        util_parse_rfc3339(json_string_value(v), &t, &frac) != 0)
        return jget_fail(g, "\"%s\" is not an RFC 3339 time (\"%.40s\")", key,
                         json_string_value(v));
    if (t <= 0) /* Go's zero time.Time, "0001-01-01T00:00:00Z": not set */
        return;
    *t_s = t;
    *us = frac;
}

static bool has_any_key(struct jget *g, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (jget_value(g, keys[i]))
            return true;
    }
    return false;
}

/* ---- sentinel and metadata.json ------------------------------------------------------------- */

static void sentinel_init(struct backups_sentinel *s)
{
    memset(s, 0, sizeof(*s));
    s->start_time_s = BACKUPS_NO_TIME;
    s->finish_time_s = BACKUPS_NO_TIME;
    s->is_permanent = -1;
    s->compressed_size = -1;
    s->uncompressed_size = -1;
}

void backups_sentinel_cleanup(struct backups_sentinel *s)
{
    if (!s)
        return;
    free(s->delta_from);
    free(s->delta_full_name);
    free(s->hostname);
    free(s->data_dir);
    free(s->wale_stop_segment);
    sentinel_init(s);
}

static void parse_wale(struct jget *g, struct backups_sentinel *s)
{
    const json_t *off;
    uint64_t seg_lsn, offset = 0;
    bool has_offset = false;

    s->format = BACKUPS_FORMAT_WALE;
    get_str(g, "wal_segment_backup_stop", &s->wale_stop_segment);
    if (g->rc < 0)
        return;
    if (!s->wale_stop_segment || strlen(s->wale_stop_segment) != 24 ||
        !segment_lsn(s->wale_stop_segment, &seg_lsn))
        return jget_fail(g, "\"wal_segment_backup_stop\" is not a WAL segment name");
    /* WAL-E stores pg_xlogfile_name_offset()'s offset as lpad(offset::text, 8, '0'): decimal */
    off = jget_value(g, "wal_segment_offset_backup_stop");
    if (off && json_is_string(off)) {
        has_offset = all_digits(json_string_value(off), json_string_length(off)) &&
                     json_string_length(off) <= 9 &&
                     parse_u64_text(json_string_value(off), &offset);
        if (!has_offset)
            return jget_fail(g, "\"wal_segment_offset_backup_stop\" is not a decimal offset");
    } else if (off) {
        get_u64(g, "wal_segment_offset_backup_stop", &offset, &has_offset);
    }
    if (has_offset && offset < WAL_SEG_SIZE) {
        s->finish_lsn = seg_lsn + offset;
        s->has_finish_lsn = true;
    }
    get_i64(g, "expanded_size_bytes", &s->uncompressed_size, NULL);
}

static void parse_walg(struct jget *g, struct backups_sentinel *s)
{
    bool has_version = false;

    get_i64(g, "Version", &s->version, &has_version);
    s->format = has_version ? BACKUPS_FORMAT_WALG : BACKUPS_FORMAT_WALG_LEGACY;
    get_u64(g, "LSN", &s->start_lsn, &s->has_start_lsn);
    get_u64(g, "FinishLSN", &s->finish_lsn, &s->has_finish_lsn);
    get_u64(g, "DeltaLSN", &s->delta_lsn, NULL);
    if (!s->delta_lsn) /* WAL-G v0.2 */
        get_u64(g, "DeltaFromLSN", &s->delta_lsn, NULL);
    get_str(g, "DeltaFrom", &s->delta_from);
    get_str(g, "DeltaFullName", &s->delta_full_name);
    get_i64(g, "DeltaCount", &s->delta_count, NULL);
    get_i64(g, "PgVersion", &s->pg_version, NULL);
    get_u64(g, "SystemIdentifier", &s->system_identifier, &s->has_system_identifier);
    get_i64(g, "UncompressedSize", &s->uncompressed_size, NULL);
    get_i64(g, "CompressedSize", &s->compressed_size, NULL);
    get_time(g, "StartTime", &s->start_time_s, &s->start_time_us);
    get_time(g, "FinishTime", &s->finish_time_s, &s->finish_time_us);
    get_str(g, "Hostname", &s->hostname);
    get_str(g, "DataDir", &s->data_dir);
    get_bool(g, "IsPermanent", &s->is_permanent);
}

int backups_sentinel_parse(const char *data, size_t len, struct backups_sentinel *out, char *err,
                           size_t errlen)
{
    static const char *const walg_keys[] = {"LSN", "FinishLSN"};
    char buf[256];
    struct jget g = {.what = "sentinel", .err = buf, .errlen = sizeof(buf)};
    json_t *root;

    sentinel_init(out);
    buf[0] = '\0';
    root = load_object(data, len, "sentinel", buf, sizeof(buf));
    if (!root) {
        g.rc = -EINVAL;
        goto out;
    }
    g.obj = root;
    if (jget_value(&g, "wal_segment_backup_stop"))
        parse_wale(&g, out);
    else if (has_any_key(&g, walg_keys, ARRAY_LEN(walg_keys)))
        parse_walg(&g, out);
    else
        jget_fail(&g, "neither WAL-G's \"LSN\"/\"FinishLSN\" nor WAL-E's "
                      "\"wal_segment_backup_stop\" is set");
    json_decref(root);
out:
    if (g.rc < 0)
        backups_sentinel_cleanup(out);
    sanitize(buf);
    if (err && errlen)
        snprintf(err, errlen, "%s", buf);
    return g.rc;
}

void backups_metadata_cleanup(struct backups_metadata *m)
{
    if (!m)
        return;
    free(m->hostname);
    free(m->data_dir);
    memset(m, 0, sizeof(*m));
    m->start_time_s = BACKUPS_NO_TIME;
    m->finish_time_s = BACKUPS_NO_TIME;
    m->is_permanent = -1;
    m->compressed_size = -1;
    m->uncompressed_size = -1;
}

int backups_metadata_parse(const char *data, size_t len, struct backups_metadata *m, char *err,
                           size_t errlen)
{
    static const char *const keys[] = {
        "start_time", "finish_time",       "hostname",          "data_dir",
        "pg_version", "start_lsn",         "finish_lsn",        "is_permanent",
        "date_fmt",   "system_identifier", "uncompressed_size", "compressed_size",
    };
    char buf[256];
    struct jget g = {.what = "metadata.json", .err = buf, .errlen = sizeof(buf)};
    json_t *root;

    memset(m, 0, sizeof(*m));
    backups_metadata_cleanup(m);
    buf[0] = '\0';
    root = load_object(data, len, "metadata.json", buf, sizeof(buf));
    if (!root) {
        g.rc = -EINVAL;
        goto out;
    }
    g.obj = root;
    if (!has_any_key(&g, keys, ARRAY_LEN(keys)))
        jget_fail(&g, "none of WAL-G's keys (start_lsn, finish_time, is_permanent, ...) is set");
    get_time(&g, "start_time", &m->start_time_s, &m->start_time_us);
    get_time(&g, "finish_time", &m->finish_time_s, &m->finish_time_us);
    get_str(&g, "hostname", &m->hostname);
    get_str(&g, "data_dir", &m->data_dir);
    get_i64(&g, "pg_version", &m->pg_version, NULL);
    get_u64(&g, "start_lsn", &m->start_lsn, &m->has_start_lsn);
    get_u64(&g, "finish_lsn", &m->finish_lsn, &m->has_finish_lsn);
    get_bool(&g, "is_permanent", &m->is_permanent);
    get_u64(&g, "system_identifier", &m->system_identifier, &m->has_system_identifier);
    get_i64(&g, "uncompressed_size", &m->uncompressed_size, NULL);
    get_i64(&g, "compressed_size", &m->compressed_size, NULL);
    json_decref(root);
out:
    if (g.rc < 0)
        backups_metadata_cleanup(m);
    sanitize(buf);
    if (err && errlen)
        snprintf(err, errlen, "%s", buf);
    return g.rc;
}

/* ---- the backup set ------------------------------------------------------------------------- */

static void backup_release(struct backups_backup *b)
{
    free(b->sentinel_key);
    free(b->folder);
    free(b->metadata_key);
    backups_sentinel_cleanup(b->sentinel);
    free(b->sentinel);
    backups_metadata_cleanup(b->metadata);
    free(b->metadata);
    free(b->sentinel_error);
    free(b->metadata_error);
}

void backups_list_free(struct backups_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        backup_release(&l->items[i]);
    free(l->items);
    free(l->base);
    free(l->ignored_sample);
    free(l);
}

static void list_ignore(struct backups_list *l, const char *what, size_t len)
{
    if (l->n_ignored++ == 0) {
        l->ignored_sample = xstrndup(what, len > 200 ? 200 : len);
        sanitize(l->ignored_sample);
    }
}

/* The backup called name[0..len), added if new. *hint caches the last index (listings are
 * sorted, so consecutive keys usually belong to the same backup). NULL when not a backup name. */
static struct backups_backup *list_get(struct backups_list *l, const char *name, size_t len,
                                       size_t *hint)
{
    struct backups_backup *b;
    bool wale, delta;

    if (!backups_name_valid(name, len, &wale, &delta))
        return NULL;
    if (*hint < l->n && strlen(l->items[*hint].name) == len &&
        memcmp(l->items[*hint].name, name, len) == 0)
        return &l->items[*hint];
    if (!l->unsorted) {
        /* S3 lists keys in order, so the items usually are: a binary search, and a new name
         * after the last one keeps them in order. */
        size_t lo = 0, hi = l->n;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strncmp(l->items[mid].name, name, len);

            if (c == 0 && l->items[mid].name[len] != '\0')
                c = 1;
            if (c == 0) {
                *hint = mid;
                return &l->items[mid];
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < l->n)
            l->unsorted = true; /* the new one goes at the end, out of order */
    } else {
        for (size_t i = 0; i < l->n; i++) {
            if (strlen(l->items[i].name) == len && memcmp(l->items[i].name, name, len) == 0) {
                *hint = i;
                return &l->items[i];
            }
        }
    }
    if ((l->n & (l->n - 1)) == 0) /* 0, 1, 2, 4, ...: double */
        l->items = xrealloc(l->items, (l->n ? 2 * l->n : 1) * sizeof(*l->items));
    b = &l->items[l->n];
    memset(b, 0, sizeof(*b));
    memcpy(b->name, name, len);
    b->name[len] = '\0';
    b->wale = wale;
    b->delta = delta;
    b->sentinel_mtime_s = BACKUPS_NO_TIME;
    b->folder_newest_s = BACKUPS_NO_TIME;
    b->metadata_mtime_s = BACKUPS_NO_TIME;
    if (!wale)
        b->metadata_key = xasprintf("%s%s/%s", l->base, b->name, BACKUPS_METADATA_NAME);
    *hint = l->n++;
    return b;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct backups_backup *)a)->name,
                  ((const struct backups_backup *)b)->name);
}

static void list_add_object(struct backups_list *l, const struct s3_object *o, size_t *hint)
{
    size_t blen = strlen(l->base), slen = strlen(BACKUPS_SENTINEL_SUFFIX), rlen;
    const char *rest, *slash;
    struct backups_backup *b;

    if (!o->key || strncmp(o->key, l->base, blen) != 0) {
        if (o->key)
            list_ignore(l, o->key, strlen(o->key));
        return;
    }
    rest = o->key + blen;
    rlen = strlen(rest);
    slash = strchr(rest, '/');
    if (slash) { /* inside a folder: a listing without delimiter */
        b = list_get(l, rest, (size_t)(slash - rest), hint);
        if (!b) {
            list_ignore(l, rest, rlen);
            return;
        }
        l->folders_listed = true;
        if (!b->folder)
            b->folder = xasprintf("%s%s/", l->base, b->name);
        if (b->folder_newest_s == BACKUPS_NO_TIME || o->mtime_s > b->folder_newest_s)
            b->folder_newest_s = o->mtime_s;
        if (b->metadata_key && strcmp(slash + 1, BACKUPS_METADATA_NAME) == 0) {
            b->metadata_mtime_s = o->mtime_s;
            b->metadata_etag = o->etag;
        }
        return;
    }
    if (rlen > slen && strcmp(rest + rlen - slen, BACKUPS_SENTINEL_SUFFIX) == 0) {
        b = list_get(l, rest, rlen - slen, hint);
        if (b) {
            if (b->sentinel_key &&
                (o->mtime_s < b->sentinel_mtime_s ||
                 (o->mtime_s == b->sentinel_mtime_s && o->mtime_ms <= b->sentinel_mtime_ms)))
                return; /* the same object twice (overlapping pages) */
            free(b->sentinel_key);
            b->sentinel_key = xstrdup(o->key);
            b->sentinel_mtime_s = o->mtime_s;
            b->sentinel_mtime_ms = o->mtime_ms;
            return;
        }
    }
    list_ignore(l, rest, rlen);
}

int backups_list_build(const char *base, const struct s3_object *objects, size_t n_objects,
                       const char *const *prefixes, size_t n_prefixes, struct backups_list **out)
{
    struct backups_list *l;
    size_t hint = 0, blen;

    *out = NULL;
    if (!base)
        return -EINVAL;
    l = xcalloc(1, sizeof(*l));
    blen = strlen(base);
    l->base = blen == 0 || base[blen - 1] == '/' ? xstrdup(base) : xasprintf("%s/", base);
    blen = strlen(l->base);
    for (size_t i = 0; objects && i < n_objects; i++)
        list_add_object(l, &objects[i], &hint);
    if (prefixes) {
        l->folders_listed = true;
        for (size_t i = 0; i < n_prefixes; i++) {
            const char *p = prefixes[i];
            size_t plen = p ? strlen(p) : 0;
            struct backups_backup *b = NULL;

            if (!p)
                continue;
            if (plen > blen + 1 && strncmp(p, l->base, blen) == 0 && p[plen - 1] == '/') {
                /* "<base><name>/", or "<base><name>/tar_partitions/" (BACKUPS_LIST_DELIMITER) */
                const char *end = memchr(p + blen, '/', plen - blen);

                b = list_get(l, p + blen, (size_t)(end - (p + blen)), &hint);
            }
            if (!b) {
                list_ignore(l, plen >= blen && strncmp(p, l->base, blen) == 0 ? p + blen : p,
                            plen >= blen ? plen - blen : plen);
                continue;
            }
            if (!b->folder)
                b->folder = xasprintf("%s%s/", l->base, b->name);
        }
    }
    if (l->n > 1 && l->unsorted)
        qsort(l->items, l->n, sizeof(*l->items), cmp_name);
    l->unsorted = false;
    *out = l;
    return 0;
}

/* The items are sorted by name once built: a lookup is a binary search (10,000 backups mean
 * 10,000 lookups per run, which a linear scan would make quadratic). */
static struct backups_backup *item_by_name(const struct backups_list *l, const char *name,
                                           size_t len)
{
    size_t lo = 0, hi = l ? l->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(l->items[mid].name, name, len);

        if (c == 0 && l->items[mid].name[len] != '\0')
            c = 1;
        if (c == 0)
            return &l->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The backup whose sentinel or metadata.json is key: by the name in the key, else by a scan. */
static struct backups_backup *item_by_key(const struct backups_list *l, const char *key)
{
    size_t blen, slen = strlen(BACKUPS_SENTINEL_SUFFIX);
    const char *rest, *slash;
    struct backups_backup *b = NULL;

    if (!l || !key)
        return NULL;
    blen = strlen(l->base);
    if (strncmp(key, l->base, blen) == 0) {
        rest = key + blen;
        slash = strchr(rest, '/');
        if (slash)
            b = item_by_name(l, rest, (size_t)(slash - rest));
        else if (strlen(rest) > slen &&
                 strcmp(rest + strlen(rest) - slen, BACKUPS_SENTINEL_SUFFIX) == 0)
            b = item_by_name(l, rest, strlen(rest) - slen);
        if (b && ((b->sentinel_key && strcmp(b->sentinel_key, key) == 0) ||
                  (b->metadata_key && strcmp(b->metadata_key, key) == 0)))
            return b;
    }
    for (size_t i = 0; i < l->n; i++) {
        b = &l->items[i];
        if ((b->sentinel_key && strcmp(b->sentinel_key, key) == 0) ||
            (b->metadata_key && strcmp(b->metadata_key, key) == 0))
            return b;
    }
    return NULL;
}

const struct backups_backup *backups_list_find(const struct backups_list *l, const char *name)
{
    return name ? item_by_name(l, name, strlen(name)) : NULL;
}

static bool later(const struct backups_backup *a, const struct backups_backup *b)
{
    if (a->sentinel_mtime_s != b->sentinel_mtime_s)
        return a->sentinel_mtime_s > b->sentinel_mtime_s;
    if (a->sentinel_mtime_ms != b->sentinel_mtime_ms)
        return a->sentinel_mtime_ms > b->sentinel_mtime_ms;
    return strcmp(a->name, b->name) > 0;
}

static int cmp_complete_desc(const void *pa, const void *pb)
{
    const struct backups_backup *a = *(const struct backups_backup *const *)pa;
    const struct backups_backup *b = *(const struct backups_backup *const *)pb;

    return later(a, b) ? -1 : later(b, a) ? 1 : 0;
}

static void add_fetch(struct backups_fetch *out, size_t max, size_t *n,
                      enum backups_fetch_kind kind, const struct backups_backup *b, const char *key,
                      int64_t mtime_s)
{
    if (*n < max) {
        memset(&out[*n], 0, sizeof(out[*n]));
        out[*n].kind = kind;
        out[*n].key = key;
        out[*n].name = b->name;
        out[*n].mtime_s = mtime_s;
    }
    (*n)++;
}

size_t backups_list_wanted(const struct backups_list *l, struct backups_fetch *out, size_t max)
{
    const struct backups_backup **c;
    size_t nc = 0, n = 0;

    if (!l || l->n == 0)
        return 0;
    c = xcalloc(l->n, sizeof(*c));
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].sentinel_key)
            c[nc++] = &l->items[i];
    }
    qsort(c, nc, sizeof(*c), cmp_complete_desc);
    if (nc > 0 && !c[0]->sentinel && !c[0]->sentinel_error)
        add_fetch(out, max, &n, BACKUPS_FETCH_SENTINEL, c[0], c[0]->sentinel_key,
                  c[0]->sentinel_mtime_s);
    for (size_t i = 0; i < nc; i++) {
        if (c[i]->metadata_key && !c[i]->metadata && !c[i]->metadata_error &&
            !c[i]->metadata_deferred) {
            add_fetch(out, max, &n, BACKUPS_FETCH_METADATA, c[i], c[i]->metadata_key,
                      c[i]->metadata_mtime_s);
            if (n <= max)
                out[n - 1].etag = c[i]->metadata_etag;
        }
    }
    for (size_t i = l->n; i-- > 0;) { /* by name, descending: newest start segment first */
        const struct backups_backup *b = &l->items[i];

        if (!b->sentinel_key && b->folder && b->folder_newest_s == BACKUPS_NO_TIME)
            add_fetch(out, max, &n, BACKUPS_FETCH_FOLDER, b, b->folder, BACKUPS_NO_TIME);
    }
    free(c);
    return n;
}

static char *error_text(const char *prefix, const char *msg)
{
    char *s = xasprintf("%s%.200s", prefix, msg && *msg ? msg : "unknown error");

    sanitize(s);
    return s;
}

int backups_list_attach(struct backups_list *l, const char *key, const char *data, size_t len,
                        char *err, size_t errlen)
{
    struct backups_backup *b = item_by_key(l, key);
    char buf[256] = "";
    int rc;

    if (b) {
        if (b->sentinel_key && strcmp(b->sentinel_key, key) == 0) {
            struct backups_sentinel *s = xmalloc(sizeof(*s));

            backups_sentinel_cleanup(b->sentinel);
            free(b->sentinel);
            b->sentinel = NULL;
            free(b->sentinel_error);
            b->sentinel_error = NULL;
            rc = backups_sentinel_parse(data, len, s, buf, sizeof(buf));
            if (rc == 0) {
                b->sentinel = s;
            } else {
                free(s);
                b->sentinel_error = error_text("", buf);
            }
            goto out;
        }
        if (b->metadata_key && strcmp(b->metadata_key, key) == 0) {
            struct backups_metadata *m = xmalloc(sizeof(*m));

            backups_metadata_cleanup(b->metadata);
            free(b->metadata);
            b->metadata = NULL;
            free(b->metadata_error);
            b->metadata_error = NULL;
            rc = backups_metadata_parse(data, len, m, buf, sizeof(buf));
            if (rc == 0) {
                b->metadata = m;
            } else {
                free(m);
                b->metadata_error = error_text("", buf);
            }
            goto out;
        }
    }
    rc = -ENOENT;
    snprintf(buf, sizeof(buf), "no listed backup has the key %.200s", key ? key : "(null)");
    sanitize(buf);
out:
    if (err && errlen)
        snprintf(err, errlen, "%s", rc == 0 ? "" : buf);
    return rc;
}

void backups_list_set_metadata_listed(struct backups_list *l, int64_t now_s)
{
    if (!l)
        return;
    l->metadata_listed = true;
    for (size_t i = 0; i < l->n; i++) {
        struct backups_backup *b = &l->items[i];

        /* A sentinel younger than BACKUPS_LISTING_SETTLE_S may have landed between two pages of
         * the listing, after the page where its metadata.json sorts ("<name>/" before
         * "<name>_"): that one is fetched rather than called missing. */
        if (b->sentinel_key && b->metadata_key && b->metadata_mtime_s == BACKUPS_NO_TIME &&
            !b->metadata && !b->metadata_error &&
            now_s - b->sentinel_mtime_s >= BACKUPS_LISTING_SETTLE_S) {
            char *folder = xasprintf("%s%s/", l->base, b->name);

            b->metadata_error = error_text("not in the listing of ", folder);
            free(folder);
        }
    }
}

int backups_list_defer_metadata(struct backups_list *l, const char *key)
{
    struct backups_backup *b = item_by_key(l, key);

    if (!b || !b->metadata_key || strcmp(b->metadata_key, key) != 0)
        return -ENOENT;
    b->metadata_deferred = true;
    return 0;
}

int backups_list_attach_error(struct backups_list *l, const char *key, const char *error)
{
    struct backups_backup *b = item_by_key(l, key);

    if (b) {
        if (b->sentinel_key && strcmp(b->sentinel_key, key) == 0) {
            free(b->sentinel_error);
            b->sentinel_error = error_text("GET failed: ", error);
            return 0;
        }
        if (b->metadata_key && strcmp(b->metadata_key, key) == 0) {
            free(b->metadata_error);
            b->metadata_error = error_text("GET failed: ", error);
            return 0;
        }
    }
    return -ENOENT;
}

int backups_list_set_folder_newest(struct backups_list *l, const char *folder, int64_t mtime_s)
{
    size_t blen, flen;

    if (!l || !folder)
        return -ENOENT;
    blen = strlen(l->base);
    flen = strlen(folder);
    if (flen > blen && strncmp(folder, l->base, blen) == 0) {
        folder += blen;
        flen -= blen;
    }
    if (flen > 0 && folder[flen - 1] == '/')
        flen--;
    {
        struct backups_backup *b = item_by_name(l, folder, flen);

        if (!b)
            return -ENOENT;
        if (!b->folder)
            b->folder = xasprintf("%s%s/", l->base, b->name);
        if (b->folder_newest_s == BACKUPS_NO_TIME || mtime_s > b->folder_newest_s)
            b->folder_newest_s = mtime_s;
        return 0;
    }
    return -ENOENT;
}

/* ---- the verdict ---------------------------------------------------------------------------- */

bool backups_is_sentinel_key(const char *key)
{
    size_t n = strlen(key), m = strlen(BACKUPS_SENTINEL_SUFFIX);

    return n > m && strcmp(key + n - m, BACKUPS_SENTINEL_SUFFIX) == 0;
}

void backups_input_init(struct backups_input *in)
{
    memset(in, 0, sizeof(*in));
    in->previous_scheduled_s = -1;
    in->next_scheduled_s = -1;
    in->due_slot_s = -1;
    in->grace_s = 3600;
    in->retain = 5;
}

/* What is known about one complete backup, the sentinel first, then metadata.json (which decides
 * is_permanent), then the listing. */
struct bk {
    const struct backups_backup *b;
    int64_t landed_s; /* sentinel LastModified */
    int64_t start_s;  /* BACKUPS_NO_TIME */
    int64_t finish_s; /* FinishTime, else metadata finish_time, else landed_s */
    bool finish_known;
    bool permanent;
    bool has_start_lsn, has_finish_lsn;
    uint64_t start_lsn, finish_lsn;
    int64_t compressed, uncompressed; /* -1 */
    const char *base_name;            /* DeltaFrom, NULL */
    const char *full_name;            /* DeltaFullName, NULL */
    const struct bk *base;            /* resolved base of a delta */
    const struct bk *root;            /* full backup at the root of its chain; NULL broken */
    char missing[BACKUPS_NAME_MAX];   /* what broke the chain */
};

static void bk_fill(struct bk *k, const struct backups_backup *b)
{
    const struct backups_sentinel *s = b->sentinel;
    const struct backups_metadata *m = b->metadata;

    memset(k, 0, sizeof(*k));
    k->b = b;
    k->landed_s = b->sentinel_mtime_s;
    k->start_s = BACKUPS_NO_TIME;
    k->compressed = -1;
    k->uncompressed = -1;
    if (s) {
        k->start_s = s->start_time_s;
        k->finish_s = s->finish_time_s;
        k->has_start_lsn = s->has_start_lsn;
        k->start_lsn = s->start_lsn;
        k->has_finish_lsn = s->has_finish_lsn;
        k->finish_lsn = s->finish_lsn;
        k->compressed = s->compressed_size;
        k->uncompressed = s->uncompressed_size;
        k->permanent = s->is_permanent == 1;
        k->base_name = s->delta_from;
        k->full_name = s->delta_full_name;
    } else {
        k->finish_s = BACKUPS_NO_TIME;
    }
    if (m) {
        if (k->start_s == BACKUPS_NO_TIME)
            k->start_s = m->start_time_s;
        if (k->finish_s == BACKUPS_NO_TIME)
            k->finish_s = m->finish_time_s;
        if (!k->has_start_lsn && m->has_start_lsn) {
            k->has_start_lsn = true;
            k->start_lsn = m->start_lsn;
        }
        if (!k->has_finish_lsn && m->has_finish_lsn) {
            k->has_finish_lsn = true;
            k->finish_lsn = m->finish_lsn;
        }
        if (k->compressed < 0)
            k->compressed = m->compressed_size;
        if (k->uncompressed < 0)
            k->uncompressed = m->uncompressed_size;
        if (m->is_permanent >= 0)
            k->permanent = m->is_permanent == 1;
    }
    if (b->wale && !k->has_start_lsn && all_digits(b->name + NAME_LEN + 1, 8) &&
        strtoull(b->name + NAME_LEN + 1, NULL, 10) < WAL_SEG_SIZE &&
        segment_lsn(b->name + 5, &k->start_lsn)) {
        k->start_lsn += strtoull(b->name + NAME_LEN + 1, NULL, 10);
        k->has_start_lsn = true;
    }
    k->finish_known = k->finish_s != BACKUPS_NO_TIME;
    if (!k->finish_known)
        k->finish_s = k->landed_s;
}

/* The backup a delta was taken on: DeltaFrom when the sentinel was read, else the backup whose
 * own start segment is the one after "_D_" in the name. */
static const struct bk *bk_base(const struct bk *c, size_t n, const struct bk *k)
{
    const char *seg = k->b->name + NAME_LEN + 3;
    const struct bk *found = NULL;

    for (size_t i = 0; i < n; i++) {
        const char *name = c[i].b->name;

        if (&c[i] == k)
            continue;
        if (k->base_name) {
            if (strcmp(name, k->base_name) == 0)
                return &c[i];
        } else if (strncasecmp(name + 5, seg, 24) == 0 &&
                   (found == NULL || c[i].landed_s > found->landed_s)) {
            found = &c[i];
        }
    }
    return found;
}

static void resolve_chains(struct bk *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct bk *cur = &c[i];
        size_t steps = 0;

        if (c[i].b->delta)
            c[i].base = bk_base(c, n, &c[i]);
        while (cur && cur->b->delta && steps++ <= n) {
            const struct bk *next = bk_base(c, n, cur);

            if (!next) {
                if (cur->base_name)
                    snprintf(c[i].missing, sizeof(c[i].missing), "%.60s", cur->base_name);
                else
                    snprintf(c[i].missing, sizeof(c[i].missing), "base_%.24s",
                             cur->b->name + NAME_LEN + 3);
                sanitize(c[i].missing);
            }
            cur = next;
        }
        c[i].root = cur && !cur->b->delta ? cur : NULL;
        if (!c[i].root && !c[i].missing[0])
            snprintf(c[i].missing, sizeof(c[i].missing), "a full backup (the chain loops)");
    }
}

static int cmp_bk_asc(const void *pa, const void *pb)
{
    const struct bk *a = pa, *b = pb;

    return later(a->b, b->b) ? 1 : later(b->b, a->b) ? -1 : 0;
}

struct finding {
    enum verdict v;
    int cause; /* enum cause of a critical finding, -1 for none */
    char text[sizeof(((struct check_result *)0)->summary)];
};

struct findings {
    struct finding f[MAX_FINDINGS];
    size_t n;
};

static void PRINTF(4, 5)
    add_cause(struct findings *fs, int cause, enum verdict v, const char *fmt, ...)
{
    va_list ap;

    if (fs->n >= MAX_FINDINGS)
        return;
    fs->f[fs->n].v = v;
    fs->f[fs->n].cause = cause;
    va_start(ap, fmt);
    vsnprintf(fs->f[fs->n].text, sizeof(fs->f[fs->n].text), fmt, ap);
    va_end(ap);
    fs->n++;
}

#define add(fs, ...) add_cause(fs, -1, __VA_ARGS__)

static void fmt_time(int64_t t, char *buf, size_t len)
{
    if (t == BACKUPS_NO_TIME)
        snprintf(buf, len, "%s", "an unknown time");
    else
        util_format_rfc3339(t, buf, len);
}

static void slot_text(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%H:%M UTC", &tm) == 0)
        snprintf(buf, len, "?");
}

static void age_text(int64_t s, char *buf, size_t len)
{
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 2 * 3600)
        snprintf(buf, len, "%lldm", (long long)(s / 60));
    else if (s < 2 * DAY_S)
        snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(buf, len, "%lldd", (long long)(s / DAY_S));
}

static json_t *time_json(int64_t t)
{
    char buf[32];

    if (t == BACKUPS_NO_TIME || t < 0)
        return json_null();
    util_format_rfc3339(t, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *lsn_json(bool has, uint64_t lsn)
{
    char buf[BACKUPS_LSN_TEXT_MAX];

    if (!has)
        return json_null();
    backups_format_lsn(lsn, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *size_json(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *str_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Scheduled instants in (from, to]: the caller's cron, else evenly spaced slots. -1 unknown. */
static int64_t slots_between(const struct backups_input *in, int64_t from, int64_t to)
{
    int64_t p = in->next_scheduled_s - in->previous_scheduled_s;

    if (to <= from)
        return 0;
    if (in->count_slots)
        return in->count_slots(in->count_slots_ctx, from, to);
    if (in->previous_scheduled_s < 0 || in->next_scheduled_s < 0 || p <= 0)
        return -1;
    return floor_div(to - in->previous_scheduled_s, p) -
           floor_div(from - in->previous_scheduled_s, p);
}

/* The latest slot whose grace has run out. */
static int64_t due_slot(const struct backups_input *in, int64_t grace)
{
    int64_t prev = in->previous_scheduled_s, p = in->next_scheduled_s - prev, k;

    if (in->due_slot_s >= 0)
        return in->due_slot_s;
    if (prev < 0)
        return -1;
    if (prev + grace <= in->now_s)
        return prev;
    if (in->next_scheduled_s < 0 || p <= 0)
        return -1;
    k = (prev + grace - in->now_s + p - 1) / p;
    return prev - k * p;
}

/* Spilo's retention (postgres_backup.sh): D = max(BACKUP_NUM_TO_RETAIN, 2); from `wal-g
 * backup-list` (every complete backup, by sentinel LastModified) the ones at least D days old are
 * "old"; if there are old ones and at least D young ones, `wal-g delete before FIND_FULL <newest
 * old one>` removes everything (not permanent) older than that backup's full base. It runs with
 * every backup, so this evaluates the rule as of the start of the newest backup, with one day of
 * slack for the script's variants (delete before or after the push) and for timing jitter.
 * Marks the backups that should be gone and returns how many; *keep is the newest old one. */
static size_t beyond_retention(const struct bk *c, size_t n, int64_t retain, bool *excess,
                               const struct bk **keep)
{
    int64_t d = retain < 2 ? 2 : retain, t;
    size_t young = 0, first_young = n, count = 0;
    const struct bk *cut;

    *keep = NULL;
    if (n == 0 || retain <= 0)
        return 0;
    t = (c[n - 1].start_s != BACKUPS_NO_TIME ? c[n - 1].start_s : c[n - 1].landed_s) - DAY_S;
    for (size_t i = n; i-- > 0;) {
        if (t - c[i].landed_s < d * DAY_S) {
            young++;
            first_young = i;
        } else {
            break;
        }
    }
    if (first_young == 0 || (int64_t)young < d)
        return 0;
    *keep = &c[first_young - 1];
    cut = (*keep)->root ? (*keep)->root : *keep;
    for (size_t i = 0; &c[i] < cut; i++) {
        if (!c[i].permanent) {
            excess[i] = true;
            count++;
        }
    }
    return count;
}

struct folder_state {
    const struct backups_backup *b;
    bool abandoned;
};

static json_t *folder_json(const struct backups_backup *b, int64_t now)
{
    json_t *o = json_object();

    json_object_set_new(o, "name", json_string(b->name));
    json_object_set_new(o, "folder", str_json(b->folder));
    json_object_set_new(o, "last_object_at", time_json(b->folder_newest_s));
    json_object_set_new(o, "age_seconds",
                        b->folder_newest_s == BACKUPS_NO_TIME
                            ? json_null()
                            : json_integer(now - b->folder_newest_s));
    return o;
}

static json_t *latest_json(const struct bk *k)
{
    const struct backups_backup *b = k->b;
    const struct backups_sentinel *s = b->sentinel;
    const struct backups_metadata *m = b->metadata;
    json_t *o = json_object();
    char sysid[24];
    int64_t pg_version = s && s->pg_version ? s->pg_version : m ? m->pg_version : 0;
    const char *host = s && s->hostname ? s->hostname : m ? m->hostname : NULL;

    json_object_set_new(o, "name", json_string(b->name));
    json_object_set_new(o, "start_time", time_json(k->start_s));
    json_object_set_new(o, "finish_time", time_json(k->finish_s));
    json_object_set_new(o, "start_lsn", lsn_json(k->has_start_lsn, k->start_lsn));
    json_object_set_new(o, "finish_lsn", lsn_json(k->has_finish_lsn, k->finish_lsn));
    json_object_set_new(o, "compressed_size", size_json(k->compressed));
    json_object_set_new(o, "uncompressed_size", size_json(k->uncompressed));
    json_object_set_new(o, "permanent", json_boolean(k->permanent));
    json_object_set_new(o, "delta", json_boolean(b->delta));
    json_object_set_new(o, "landed_at", time_json(k->landed_s));
    json_object_set_new(o, "finish_time_source",
                        json_string(!k->finish_known                           ? "last_modified"
                                    : s && s->finish_time_s != BACKUPS_NO_TIME ? "sentinel"
                                                                               : "metadata"));
    json_object_set_new(o, "tool", json_string(b->wale ? "wal-e" : "wal-g"));
    json_object_set_new(o, "sentinel_format",
                        s ? json_string(backups_format_name(s->format)) : json_null());
    if (k->base) {
        json_object_set_new(o, "delta_from", json_string(k->base->b->name));
    } else if (k->base_name) {
        json_object_set_new(o, "delta_from", json_string(k->base_name));
    } else if (b->delta) {
        char derived[BACKUPS_NAME_MAX];

        snprintf(derived, sizeof(derived), "base_%.24s", b->name + NAME_LEN + 3);
        json_object_set_new(o, "delta_from", json_string(derived));
    } else {
        json_object_set_new(o, "delta_from", json_null());
    }
    json_object_set_new(o, "delta_full_name",
                        str_json(k->root && b->delta ? k->root->b->name : k->full_name));
    json_object_set_new(o, "hostname", str_json(host));
    json_object_set_new(o, "pg_version", pg_version ? json_integer(pg_version) : json_null());
    if (s && s->has_system_identifier) {
        snprintf(sysid, sizeof(sysid), "%llu", (unsigned long long)s->system_identifier);
        json_object_set_new(o, "system_identifier", json_string(sysid));
    } else if (m && m->has_system_identifier) {
        snprintf(sysid, sizeof(sysid), "%llu", (unsigned long long)m->system_identifier);
        json_object_set_new(o, "system_identifier", json_string(sysid));
    } else {
        json_object_set_new(o, "system_identifier", json_null());
    }
    return o;
}

/* Everything evaluate() works out before it writes. */
struct eval {
    const struct backups_input *in;
    const struct backups_list *l;
    char where[320];  /* "<prefix>/basebackups_005/" for messages */
    char prefix[300]; /* the prefix without trailing "/", or the listed base */
    const char *schedule;
    int64_t now, grace, prev, next, due;
    struct bk *c; /* complete backups, oldest first */
    size_t nc;
    const struct bk *latest;
    int64_t newest_done; /* latest finish over all complete backups; BACKUPS_NO_TIME */
    size_t count, deltas, permanents;
    struct folder_state *f; /* folders without sentinel, newest first */
    size_t nf, running, abandoned;
    const struct backups_backup *running_newest;
    bool *excess;
    size_t n_excess;
    const struct bk *keep;
    bool missed;
};

static void eval_collect(struct eval *e)
{
    const struct backups_list *l = e->l;
    int64_t abandon_after = e->grace > BACKUPS_ABANDON_MIN_S ? e->grace : BACKUPS_ABANDON_MIN_S;

    e->c = xcalloc(l->n ? l->n : 1, sizeof(*e->c));
    e->f = xcalloc(l->n ? l->n : 1, sizeof(*e->f));
    for (size_t i = 0; i < l->n; i++) {
        const struct backups_backup *b = &l->items[i];

        if (b->sentinel_key) {
            bk_fill(&e->c[e->nc++], b);
        } else if (b->folder || b->folder_newest_s != BACKUPS_NO_TIME) {
            struct folder_state *fs = &e->f[e->nf++];

            fs->b = b;
            fs->abandoned = b->folder_newest_s != BACKUPS_NO_TIME &&
                            e->now - b->folder_newest_s > abandon_after;
            if (fs->abandoned) {
                e->abandoned++;
            } else {
                e->running++;
                if (!e->running_newest || strcmp(b->name, e->running_newest->name) > 0)
                    e->running_newest = b;
            }
        }
    }
    qsort(e->c, e->nc, sizeof(*e->c), cmp_bk_asc);
    resolve_chains(e->c, e->nc);
    e->newest_done = BACKUPS_NO_TIME;
    for (size_t i = 0; i < e->nc; i++) {
        if (e->c[i].permanent)
            e->permanents++;
        else if (e->c[i].b->delta)
            e->deltas++;
        else
            e->count++;
        if (e->newest_done == BACKUPS_NO_TIME || e->c[i].finish_s > e->newest_done)
            e->newest_done = e->c[i].finish_s;
    }
    e->latest = e->nc ? &e->c[e->nc - 1] : NULL;
    e->excess = xcalloc(e->nc ? e->nc : 1, sizeof(*e->excess));
    e->n_excess = beyond_retention(e->c, e->nc, e->in->retain, e->excess, &e->keep);
    e->missed = e->due >= 0 && (e->nc == 0 || e->newest_done < e->due);
}

/* The newest abandoned folder (by name, i.e. start segment). */
static const struct backups_backup *newest_abandoned(const struct eval *e)
{
    const struct backups_backup *best = NULL;

    for (size_t i = 0; i < e->nf; i++) {
        if (e->f[i].abandoned && (!best || strcmp(e->f[i].b->name, best->name) > 0))
            best = e->f[i].b;
    }
    return best;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static const char *replica_note(const struct eval *e)
{
    return e->in->role && strcmp(e->in->role, "replica") == 0
               ? " (this pod is a replica: the leader takes the backups)"
               : "";
}

static void find_freshness(struct eval *e, struct findings *fs)
{
    char t1[32], t2[32], t3[32], age[32], age2[32];
    const struct backups_backup *ab = newest_abandoned(e);

    if (e->nc == 0) {
        if (e->running) {
            const struct backups_backup *r = e->running_newest;

            fmt_time(r->folder_newest_s, t1, sizeof(t1));
            add(fs, VERDICT_WARNING,
                "no complete base backup under %s yet: the first, %s, is being uploaded (last "
                "object written %s); it counts once its sentinel is written",
                e->where, r->name,
                r->folder_newest_s == BACKUPS_NO_TIME ? "at an unknown time" : t1);
        } else if (ab) {
            fmt_time(ab->folder_newest_s, t1, sizeof(t1));
            add_cause(
                fs, CAUSE_BACKUPS_ONLY_ABANDONED, VERDICT_CRITICAL,
                "no complete base backup under %s: %zu were started but never finished (newest "
                "%s, last object %s); read postgres_backup.sh's output in the leader's Spilo "
                "container, then remove them with 'wal-g delete garbage --confirm'%s",
                e->where, e->abandoned, ab->name, t1, replica_note(e));
        } else {
            add_cause(
                fs, CAUSE_BACKUPS_NO_BACKUP, VERDICT_CRITICAL,
                "no base backup under %s: check USE_WALG_BACKUP=true in the pod environment, a "
                "'local all all trust' line in pg_hba (without it postgres_backup.sh fails "
                "silently) and the backup cron ('%s')%s%s",
                e->where, e->schedule,
                e->in->old_layout ? "; the prefix lacks the PostgreSQL major version (newer "
                                    "Spilo backs up to .../wal/<major>)"
                                  : "",
                replica_note(e));
        }
        return;
    }
    if (e->in->schedule_parsed && e->prev < 0 && e->next < 0) {
        add_cause(
            fs, CAUSE_BACKUPS_SCHEDULE_NEVER_FIRES, VERDICT_CRITICAL,
            "'%s' never fires (no day matches it within %d years either way), so cron never "
            "starts postgres_backup.sh and no scheduled base backup is taken; the latest, %s, is "
            "from a pod start or by hand; fix BACKUP_SCHEDULE in the pod environment ConfigMap",
            e->schedule, CRON_HORIZON_MONTHS / 12, e->latest->b->name);
        return;
    }
    if (!e->missed)
        return;
    fmt_time(e->due, t1, sizeof(t1));
    fmt_time(e->due + e->grace, t2, sizeof(t2));
    fmt_time(e->latest->finish_s, t3, sizeof(t3));
    age_text(e->now - e->latest->finish_s, age, sizeof(age));
    if (e->running && e->running_newest->folder_newest_s != BACKUPS_NO_TIME &&
        e->running_newest->folder_newest_s >= e->due) {
        age_text(e->now - e->running_newest->folder_newest_s, age2, sizeof(age2));
        add_cause(
            fs, CAUSE_BACKUPS_MISSED_UPLOADING, VERDICT_CRITICAL,
            "no base backup landed for the %s run of '%s' (due by %s): the latest, %s, finished "
            "%s (%s ago); %s is still being uploaded (last object %s ago): if backups take that "
            "long, raise [backups] grace",
            t1, e->schedule, t2, e->latest->b->name, t3, age, e->running_newest->name, age2);
        return;
    }
    add_cause(
        fs, CAUSE_BACKUPS_MISSED, VERDICT_CRITICAL,
        "no base backup landed for the %s run of '%s' (due by %s): the latest, %s, finished %s "
        "(%s ago); run postgres_backup.sh by hand in the leader's Spilo container to see why "
        "(pg_hba 'local' rules, USE_WALG_BACKUP, cron)%s",
        t1, e->schedule, t2, e->latest->b->name, t3, age, replica_note(e));
}

static void find_latest_usable(struct eval *e, struct findings *fs)
{
    const struct bk *k = e->latest;
    const struct backups_backup *b;

    if (!k)
        return;
    b = k->b;
    if (b->sentinel_error && !strncmp(b->sentinel_error, "GET failed: ", 12)) {
        add(fs, VERDICT_WARNING, "could not read the sentinel of the latest backup %s (%s)",
            b->name, b->sentinel_error);
    } else if (b->sentinel_error) {
        add_cause(
            fs, CAUSE_BACKUPS_SENTINEL_UNREADABLE, VERDICT_CRITICAL,
            "the latest backup %s cannot be restored: its sentinel is unreadable (%s); take a new "
            "backup (run postgres_backup.sh in the leader's Spilo container)",
            b->name, b->sentinel_error);
    }
    if (b->delta && !k->root)
        add_cause(
            fs, CAUSE_BACKUPS_DELTA_BASE_MISSING, VERDICT_CRITICAL,
            "the latest backup %s is a delta whose chain needs %s, which is missing: it cannot be "
            "restored; run 'wal-g backup-push --full $PGDATA' in the leader's Spilo container",
            b->name, k->missing);
    if (e->l->folders_listed && !b->folder && b->folder_newest_s == BACKUPS_NO_TIME)
        add_cause(
            fs, CAUSE_BACKUPS_DATA_MISSING, VERDICT_CRITICAL,
            "the latest backup %s has a sentinel but no data folder %s%s/: it cannot be "
            "restored; take a new backup (run postgres_backup.sh in the leader's Spilo container)",
            b->name, e->l->base, b->name);
}

static void find_warnings(struct eval *e, struct findings *fs)
{
    char t1[32], age[32];
    const struct backups_backup *ab = newest_abandoned(e);
    size_t orphans = 0, broken = 0, bad_sentinels = 0, bad_meta = 0;
    const struct bk *orphan = NULL, *brk = NULL, *bads = NULL, *badm = NULL;
    int64_t d = e->in->retain < 2 ? 2 : e->in->retain;

    if (e->abandoned && e->nc > 0) {
        fmt_time(ab->folder_newest_s, t1, sizeof(t1));
        age_text(e->now - ab->folder_newest_s, age, sizeof(age));
        if (e->abandoned == 1)
            add(fs, VERDICT_WARNING,
                "%s was started but never finished (no sentinel, last object %s, %s ago): "
                "backup-push failed or was killed; see postgres_backup.sh's output in the leader's "
                "Spilo container, then remove the leftover with 'wal-g delete garbage --confirm' "
                "while no backup runs",
                ab->name, t1, age);
        else
            add(fs, VERDICT_WARNING,
                "%zu backups were started but never finished (newest %s, last object %s, %s ago): "
                "backup-push failed or was killed; see postgres_backup.sh's output in the leader's "
                "Spilo container, then remove the leftovers with 'wal-g delete garbage --confirm' "
                "while no backup runs",
                e->abandoned, ab->name, t1, age);
    }
    if (e->n_excess > 0) {
        const struct bk *oldest = NULL;

        for (size_t i = 0; i < e->nc && !oldest; i++) {
            if (e->excess[i])
                oldest = &e->c[i];
        }
        fmt_time(oldest->finish_s, t1, sizeof(t1));
        add(fs, VERDICT_WARNING,
            "%zu backups are older than Spilo's retention keeps (BACKUP_NUM_TO_RETAIN=%lld: the "
            "%lld newest, all younger than %lld days and one more), oldest %s from %s: "
            "postgres_backup.sh's cleanup fails or does not run; it would run 'wal-g delete "
            "before FIND_FULL %s --confirm'",
            e->n_excess, (long long)e->in->retain, (long long)d, (long long)d, oldest->b->name, t1,
            e->keep->b->name);
    }
    if (e->in->retain > 0 && e->nc > 0 && (int64_t)(e->count + e->deltas) < e->in->retain) {
        const struct bk *oldest = NULL;
        int64_t slots, expected;

        for (size_t i = 0; i < e->nc && !oldest; i++) {
            if (!e->c[i].permanent)
                oldest = &e->c[i];
        }
        slots = oldest ? slots_between(e->in, oldest->finish_s, e->newest_done) : -1;
        expected = slots < 0 ? 0 : slots + 1 < e->in->retain ? slots + 1 : e->in->retain;
        if ((int64_t)(e->count + e->deltas) < expected) {
            fmt_time(oldest->finish_s, t1, sizeof(t1));
            add(fs, VERDICT_WARNING,
                "only %zu backups while BACKUP_NUM_TO_RETAIN is %lld: about %lld scheduled runs "
                "since the oldest (%s, %s) left no backup, or backups were deleted outside Spilo "
                "(a bucket lifecycle rule?); look at earlier postgres_backup.sh runs",
                e->count + e->deltas, (long long)e->in->retain,
                (long long)(expected - (int64_t)(e->count + e->deltas)), oldest->b->name, t1);
        }
    }
    if (e->latest && e->latest->b->wale)
        add(fs, VERDICT_WARNING,
            "the latest backup %s was made by WAL-E, not WAL-G: set USE_WALG_BACKUP=true in the "
            "pod environment ConfigMap (Spilo then backs up with wal-g)",
            e->latest->b->name);
    if (e->in->old_layout)
        add(fs, VERDICT_WARNING,
            "backups are under the old layout %s (no PostgreSQL major version: Spilo before "
            "2.0-p2 or a hand-set WALG_S3_PREFIX); current Spilo backs up to .../wal/<major> "
            "and does not clean up the old place: plan the move",
            e->prefix);
    for (size_t i = 0; i < e->nc; i++) {
        const struct bk *k = &e->c[i];

        if (k == e->latest)
            continue;
        if (e->l->folders_listed && !k->b->folder && k->b->folder_newest_s == BACKUPS_NO_TIME) {
            orphans++;
            orphan = k;
        }
        if (k->b->delta && !k->root) {
            broken++;
            brk = k;
        }
        if (k->b->sentinel_error) {
            bad_sentinels++;
            bads = k;
        }
    }
    for (size_t i = 0; i < e->nc; i++) {
        if (e->c[i].b->metadata_error) {
            bad_meta++;
            badm = &e->c[i];
        }
    }
    if (orphans)
        add(fs, VERDICT_WARNING,
            "%zu older backup%s without data folder (newest %s) cannot be restored: delete the "
            "stray sentinel%s (%s)",
            orphans, plural(orphans), orphan->b->name, plural(orphans), BACKUPS_SENTINEL_SUFFIX);
    if (broken)
        add(fs, VERDICT_WARNING,
            "%zu older delta backup%s cannot be restored because a base is missing (newest %s "
            "needs %s)",
            broken, plural(broken), brk->b->name, brk->missing);
    if (bad_sentinels)
        add(fs, VERDICT_WARNING,
            "the sentinel%s of %zu older backup%s could not be read (newest "
            "%s: %s)",
            plural(bad_sentinels), bad_sentinels, plural(bad_sentinels), bads->b->name,
            bads->b->sentinel_error);
    if (bad_meta)
        add(fs, VERDICT_WARNING,
            "metadata.json is missing or unreadable for %zu backup%s (newest %s: %s): 'wal-g "
            "backup-list --detail' fails on this prefix and permanence comes from the sentinel",
            bad_meta, plural(bad_meta), badm->b->name, badm->b->metadata_error);
}

static void ok_summary(struct eval *e, struct check_result *out)
{
    char counts[96] = "", fin[32], slot[64] = "", tail[200] = "", t1[32], t2[32];
    const struct bk *k = e->latest;
    int64_t start = k->start_s != BACKUPS_NO_TIME ? k->start_s : k->finish_s;
    const int64_t slots[2] = {e->prev, e->due};

    if (e->deltas)
        snprintf(counts + strlen(counts), sizeof(counts) - strlen(counts), " + %zu delta%s",
                 e->deltas, e->deltas == 1 ? "" : "s");
    if (e->permanents)
        snprintf(counts + strlen(counts), sizeof(counts) - strlen(counts), " + %zu permanent",
                 e->permanents);
    util_format_rfc3339(k->finish_s, fin, sizeof(fin));
    /* The slot a backup was started for is the latest scheduled instant at or before its start
     * (Spilo's cron starts postgres_backup.sh at the slot; the sentinel lands when it ends). */
    if (e->in->slot_of && start != BACKUPS_NO_TIME) {
        int64_t s0 = e->in->slot_of(e->in->count_slots_ctx, start);

        if (s0 >= 0 && start - s0 <= e->grace) {
            char hm[24];

            slot_text(s0, hm, sizeof(hm));
            snprintf(slot, sizeof(slot), " (slot %s)", hm);
        }
    }
    for (size_t i = 0; !slot[0] && i < ARRAY_LEN(slots); i++) {
        if (slots[i] >= 0 && start >= slots[i] && start <= slots[i] + e->grace) {
            char hm[24];

            slot_text(slots[i], hm, sizeof(hm));
            snprintf(slot, sizeof(slot), " (slot %s)", hm);
            break;
        }
    }
    if (e->prev >= 0 && e->newest_done < e->prev && e->prev + e->grace > e->now) {
        fmt_time(e->prev, t1, sizeof(t1));
        fmt_time(e->prev + e->grace, t2, sizeof(t2));
        snprintf(tail, sizeof(tail), "; the backup of the %s run is due by %s", t1, t2);
    } else if (e->next >= 0) {
        fmt_time(e->next, t1, sizeof(t1));
        snprintf(tail, sizeof(tail), "; next due %s", t1);
    } else if (e->due < 0) {
        snprintf(tail, sizeof(tail), "; no schedule to check freshness against");
    }
    if (e->running) {
        const struct backups_backup *r = e->running_newest;

        fmt_time(r->folder_newest_s, t1, sizeof(t1));
        snprintf(tail + strlen(tail), sizeof(tail) - strlen(tail),
                 "; %s is being uploaded (last object %s)", r->name,
                 r->folder_newest_s == BACKUPS_NO_TIME ? "at an unknown time" : t1);
    }
    check_result_set(out, VERDICT_OK, "%zu backup%s%s, the latest finished %s%s%s", e->count,
                     e->count == 1 ? "" : "s", counts, fin, slot, tail);
}

static void write_details(struct eval *e, json_t *d, const struct findings *fs)
{
    json_t *ab = json_array(), *run = json_array(), *ex = json_array(), *pr = json_array();
    const struct bk *k = e->latest;
    const char *tool = NULL;

    json_object_set_new(d, "prefix", str_json(e->in->prefix));
    json_object_set_new(d, "count", json_integer((json_int_t)e->count));
    json_object_set_new(d, "retain", json_integer(e->in->retain));
    json_object_set_new(d, "schedule", str_json(e->in->schedule));
    json_object_set_new(d, "previous_scheduled_at", time_json(e->prev));
    json_object_set_new(d, "next_scheduled_at", time_json(e->next));
    json_object_set_new(d, "missed", json_boolean(e->missed));
    json_object_set_new(d, "in_progress", json_boolean(e->running > 0));
    json_object_set_new(d, "latest", k ? latest_json(k) : json_null());
    json_object_set_new(d, "permanent_count", json_integer((json_int_t)e->permanents));
    json_object_set_new(d, "delta_count", json_integer((json_int_t)e->deltas));
    json_object_set_new(d, "total", json_integer((json_int_t)e->nc));
    for (size_t i = 0; i < e->nf; i++)
        json_array_append_new(e->f[i].abandoned ? ab : run, folder_json(e->f[i].b, e->now));
    json_object_set_new(d, "abandoned", ab);
    {
        const struct backups_backup *na = newest_abandoned(e);

        json_object_set_new(d, "last_abandoned_at",
                            na && na->folder_newest_s != BACKUPS_NO_TIME
                                ? time_json(na->folder_newest_s)
                                : json_null());
    }
    json_object_set_new(d, "running", run);
    for (size_t i = 0; i < e->nc; i++) {
        if (e->excess[i])
            json_array_append_new(ex, json_string(e->c[i].b->name));
    }
    json_object_set_new(d, "beyond_retention", ex);
    json_object_set_new(d, "checked_slot", time_json(e->due));
    json_object_set_new(d, "expected_by", time_json(e->prev >= 0 ? e->prev + e->grace : -1));
    json_object_set_new(d, "grace_seconds", json_integer(e->grace));
    json_object_set_new(d, "grace_from",
                        json_string(e->in->grace_from_schedule ? "schedule" : "config"));
    json_object_set_new(d, "role", str_json(e->in->role));
    json_object_set_new(d, "layout", json_string(e->in->old_layout ? "old" : "current"));
    for (size_t i = 0; i < e->nc; i++) {
        const char *t = e->c[i].b->wale ? "wal-e" : "wal-g";

        tool = !tool || strcmp(tool, t) == 0 ? t : "mixed";
    }
    json_object_set_new(d, "tool", str_json(tool));
    json_object_set_new(d, "latest_finish_timestamp", k ? json_integer(k->finish_s) : json_null());
    json_object_set_new(d, "expected_timestamp",
                        e->prev >= 0 ? json_integer(e->prev) : json_null());
    json_object_set_new(d, "last_compressed_bytes", k ? size_json(k->compressed) : json_null());
    json_object_set_new(d, "ignored_keys", json_integer((json_int_t)e->l->n_ignored));
    {
        size_t deferred = 0;

        for (size_t i = 0; i < e->l->n; i++)
            deferred += e->l->items[i].metadata_deferred && !e->l->items[i].metadata;
        json_object_set_new(d, "metadata_deferred", json_integer((json_int_t)deferred));
    }
    for (size_t i = 0; i < fs->n; i++) {
        json_t *p = json_object();

        json_object_set_new(p, "status", json_string(verdict_name(fs->f[i].v)));
        json_object_set_new(p, "summary", json_string(fs->f[i].text));
        json_array_append_new(pr, p);
    }
    json_object_set_new(d, "problems", pr);
}

void backups_evaluate(const struct backups_input *in, struct check_result *out)
{
    static const struct backups_list empty = {.base = (char *)BACKUPS_DIR};
    struct findings fs = {.n = 0};
    struct eval e = {.in = in, .l = in->list ? in->list : &empty};
    size_t plen;
    const struct finding *worst = NULL;

    e.now = in->now_s;
    e.grace = in->grace_s > 0 ? in->grace_s : 0;
    e.prev = in->previous_scheduled_s;
    e.next = in->next_scheduled_s;
    e.due = due_slot(in, e.grace);
    e.schedule = in->schedule && *in->schedule ? in->schedule : "BACKUP_SCHEDULE";
    plen = in->prefix ? strlen(in->prefix) : 0;
    while (plen > 0 && in->prefix[plen - 1] == '/')
        plen--;
    if (plen) {
        snprintf(e.prefix, sizeof(e.prefix), "%.*s", (int)(plen > 250 ? 250 : plen), in->prefix);
        snprintf(e.where, sizeof(e.where), "%s/%s", e.prefix, BACKUPS_DIR);
    } else {
        snprintf(e.prefix, sizeof(e.prefix), "%.250s", e.l->base);
        snprintf(e.where, sizeof(e.where), "%.250s", e.l->base);
    }
    sanitize(e.prefix);
    sanitize(e.where);

    eval_collect(&e);
    find_freshness(&e, &fs);
    find_latest_usable(&e, &fs);
    find_warnings(&e, &fs);
    write_details(&e, out->details, &fs);
    for (size_t i = 0; i < fs.n; i++) {
        if (!worst || fs.f[i].v > worst->v)
            worst = &fs.f[i];
    }
    if (worst) {
        check_result_set(out, worst->v, "%s", worst->text);
        for (size_t i = 0; i < fs.n; i++) {
            if (fs.f[i].v == VERDICT_CRITICAL && fs.f[i].cause >= 0)
                check_result_cause(out, (enum cause)fs.f[i].cause);
        }
    } else
        ok_summary(&e, out);
    free(e.c);
    free(e.f);
    free(e.excess);
}

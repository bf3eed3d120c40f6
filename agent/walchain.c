/* walchain.c - the WAL chain as ranges per timeline, timeline ancestry, what each backup reaches,
 * gaps and the recovery window. Pure: owns only the chain it is given; no I/O, no clock. */
#include "walchain.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_TIMELINES   4096 /* ancestry walks stop here (a timeline id is 32 bits) */
#define REPORT_RANGES   20   /* per timeline in the JSON */
#define REPORT_GAPS     50
#define REPORT_BACKUPS  100
#define REPORT_CUT_NAME 20 /* backup names per gap */

struct wc_range {
    uint64_t first, last; /* segment numbers, inclusive */
    int64_t mtime_s;      /* newest LastModified in the range */
};

struct wc_switch {
    uint32_t parent;
    uint64_t lsn; /* where parent ended: the child starts at this LSN */
};

struct wc_tl {
    uint32_t tli;
    struct wc_range *r;
    size_t n, cap;
    bool has_history;
    struct wc_switch *sw; /* parsed history: the whole ancestry, oldest first */
    size_t nsw;
    bool has_partial;
    uint64_t partial_segno; /* the highest .partial of this timeline */
};

struct walchain {
    uint64_t seg_size;
    struct wc_tl *tl; /* sorted by tli */
    size_t ntl, captl;
    struct walchain_stats st;
};

/* One step of the ancestry of a timeline: segments [from, to) of tli are on the way. */
struct wc_step {
    uint32_t tli;
    uint64_t from, to; /* to = UINT64_MAX on the last step */
    bool assumed;      /* the switch point is a guess (no parsed history) */
};

/* ---- names ------------------------------------------------------------------------------ */

static const char *const exts[] = {"lz4", "br", "zst", "lzma", "lzo", "gz"};

static bool hexn(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        if (!isxdigit(c))
            return false;
        v = v * 16 + (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *out = v;
    return true;
}

enum walchain_kind walchain_parse_name(const char *name, struct walchain_name *out)
{
    struct walchain_name tmp;
    size_t len;
    const char *dot;

    if (!out)
        out = &tmp;
    memset(out, 0, sizeof(*out));
    if (!name)
        return WALCHAIN_OTHER;
    len = strlen(name);
    /* A compression extension comes last (WAL-G: "<file>.<ext>"; WAL-E: "<file>.lzo"). */
    dot = strrchr(name, '.');
    if (dot) {
        for (size_t i = 0; i < ARRAY_LEN(exts); i++) {
            if (strcmp(dot + 1, exts[i]) == 0) {
                snprintf(out->ext, sizeof(out->ext), "%s", exts[i]);
                len = (size_t)(dot - name);
                break;
            }
        }
    }
    if (len == 8 + 8 && strncmp(name + 8, ".history", 8) == 0 && hexn(name, 8, &out->tli)) {
        out->kind = WALCHAIN_HISTORY;
        return out->kind;
    }
    if (len < 24 || !hexn(name, 8, &out->tli) || !hexn(name + 8, 8, &out->log) ||
        !hexn(name + 16, 8, &out->seg))
        return WALCHAIN_OTHER;
    if (len == 24)
        out->kind = WALCHAIN_SEGMENT;
    else if (len == 24 + 8 && strncmp(name + 24, ".partial", 8) == 0)
        out->kind = WALCHAIN_PARTIAL;
    else if (len == 24 + 1 + 8 + 7 && name[24] == '.' && strncmp(name + 33, ".backup", 7) == 0 &&
             hexn(name + 25, 8, &(uint32_t){0}))
        out->kind = WALCHAIN_BACKUP_HISTORY;
    return out->kind;
}

uint64_t walchain_segno(uint32_t log, uint32_t seg, uint64_t seg_size)
{
    uint64_t per_log = 0x100000000ULL / seg_size;

    if (!seg_size || seg >= per_log)
        return UINT64_MAX;
    return (uint64_t)log * per_log + seg;
}

void walchain_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char *out)
{
    uint64_t per_log = 0x100000000ULL / seg_size;

    snprintf(out, WALCHAIN_NAME_LEN + 1, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, tli,
             (uint32_t)(segno / per_log), (uint32_t)(segno % per_log));
}

uint64_t walchain_infer_seg_size(uint32_t log, uint32_t seg, uint64_t start_lsn)
{
    uint64_t found = 0;

    for (uint64_t size = 1ULL << 20; size <= 1ULL << 30; size <<= 1) {
        if (walchain_segno(log, seg, size) == start_lsn / size) {
            if (found)
                return 0;
            found = size;
        }
    }
    return found;
}

/* ---- the chain -------------------------------------------------------------------------- */

struct walchain *walchain_new(uint64_t seg_size)
{
    struct walchain *c = xcalloc(1, sizeof(*c));

    c->seg_size = seg_size ? seg_size : WALCHAIN_SEG_SIZE_DEFAULT;
    c->st.newest_mtime_s = WALCHAIN_NO_TIME;
    return c;
}

void walchain_free(struct walchain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ntl; i++) {
        free(c->tl[i].r);
        free(c->tl[i].sw);
    }
    free(c->tl);
    free(c);
}

uint64_t walchain_seg_size(const struct walchain *c)
{
    return c->seg_size;
}

static struct wc_tl *tl_find(const struct walchain *c, uint32_t tli)
{
    size_t lo = 0, hi = c->ntl;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (c->tl[mid].tli == tli)
            return &c->tl[mid];
        if (c->tl[mid].tli < tli)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static struct wc_tl *tl_get(struct walchain *c, uint32_t tli)
{
    struct wc_tl *t = tl_find(c, tli);
    size_t at = 0;

    if (t)
        return t;
    while (at < c->ntl && c->tl[at].tli < tli)
        at++;
    if (c->ntl == c->captl) {
        c->captl = c->captl ? c->captl * 2 : 4;
        c->tl = xrealloc(c->tl, c->captl * sizeof(*c->tl));
    }
    memmove(&c->tl[at + 1], &c->tl[at], (c->ntl - at) * sizeof(*c->tl));
    memset(&c->tl[at], 0, sizeof(*c->tl));
    c->tl[at].tli = tli;
    c->ntl++;
    return &c->tl[at];
}

/* Index of the first range whose first segment is > segno. */
static size_t range_upper(const struct wc_tl *t, uint64_t segno)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (t->r[mid].first <= segno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The range holding segno, or NULL. */
static const struct wc_range *range_of(const struct wc_tl *t, uint64_t segno)
{
    size_t i = range_upper(t, segno);

    if (i == 0 || t->r[i - 1].last < segno)
        return NULL;
    return &t->r[i - 1];
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Inserts segno; returns whether it was new. */
static bool range_insert(struct wc_tl *t, uint64_t segno, int64_t mtime_s)
{
    size_t i = range_upper(t, segno);
    struct wc_range *prev = i > 0 ? &t->r[i - 1] : NULL;
    struct wc_range *next = i < t->n ? &t->r[i] : NULL;

    if (prev && prev->last >= segno) {
        prev->mtime_s = max64(prev->mtime_s, mtime_s);
        return false;
    }
    if (prev && prev->last + 1 == segno) {
        prev->last = segno;
        prev->mtime_s = max64(prev->mtime_s, mtime_s);
        if (next && next->first == segno + 1) {
            prev->last = next->last;
            prev->mtime_s = max64(prev->mtime_s, next->mtime_s);
            memmove(next, next + 1, (t->n - i - 1) * sizeof(*next));
            t->n--;
        }
        return true;
    }
    if (next && next->first == segno + 1) {
        next->first = segno;
        next->mtime_s = max64(next->mtime_s, mtime_s);
        return true;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4;
        t->r = xrealloc(t->r, t->cap * sizeof(*t->r));
    }
    memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(*t->r));
    t->r[i] = (struct wc_range){.first = segno, .last = segno, .mtime_s = mtime_s};
    t->n++;
    return true;
}

enum walchain_kind walchain_add(struct walchain *c, const char *name, int64_t mtime_s)
{
    struct walchain_name nm;
    enum walchain_kind k = walchain_parse_name(name, &nm);
    uint64_t segno = k == WALCHAIN_HISTORY || k == WALCHAIN_OTHER
                         ? 0
                         : walchain_segno(nm.log, nm.seg, c->seg_size);
    struct wc_tl *t;

    if (k != WALCHAIN_OTHER && k != WALCHAIN_HISTORY && segno == UINT64_MAX)
        k = WALCHAIN_OTHER; /* a segment number beyond the segment size */
    switch (k) {
    case WALCHAIN_SEGMENT:
        t = tl_get(c, nm.tli);
        if (range_insert(t, segno, mtime_s))
            c->st.segments++;
        if (mtime_s != WALCHAIN_NO_TIME)
            c->st.newest_mtime_s = max64(c->st.newest_mtime_s, mtime_s);
        break;
    case WALCHAIN_PARTIAL:
        t = tl_get(c, nm.tli);
        if (!t->has_partial || segno > t->partial_segno) {
            t->has_partial = true;
            t->partial_segno = segno;
        }
        c->st.partials++;
        break;
    case WALCHAIN_HISTORY:
        t = tl_get(c, nm.tli);
        if (!t->has_history)
            c->st.histories++;
        t->has_history = true;
        break;
    case WALCHAIN_BACKUP_HISTORY:
        c->st.backup_histories++;
        break;
    case WALCHAIN_OTHER:
        if (!c->st.other++)
            snprintf(c->st.other_sample, sizeof(c->st.other_sample), "%s", name ? name : "");
        break;
    }
    return k;
}

static int parse_lsn(const char *s, uint64_t *out)
{
    unsigned long long hi, lo;
    int n = 0;

    if (sscanf(s, "%llx/%llx%n", &hi, &lo, &n) != 2 || s[n] || hi > UINT32_MAX || lo > UINT32_MAX)
        return -EINVAL;
    *out = (hi << 32) | lo;
    return 0;
}

int walchain_set_history(struct walchain *c, uint32_t tli, const char *data, size_t len, char *err,
                         size_t errlen)
{
    struct wc_switch *sw = NULL;
    size_t nsw = 0;
    char line[512];
    size_t pos = 0;
    int lineno = 0;
    struct wc_tl *t;

    while (pos < len) {
        size_t e = pos;
        char a[32], b[32];
        unsigned long parent;
        char *end;

        while (e < len && data[e] != '\n')
            e++;
        lineno++;
        snprintf(line, sizeof(line), "%.*s", (int)(e - pos < 511 ? e - pos : 511), data + pos);
        pos = e + 1;
        if (strchr(line, '#'))
            *strchr(line, '#') = '\0';
        if (sscanf(line, "%31s %31s", a, b) < 1)
            continue; /* blank */
        if (sscanf(line, "%31s %31s", a, b) != 2) {
            snprintf(err, errlen, "history file of timeline %" PRIu32 ", line %d: no switch LSN",
                     tli, lineno);
            free(sw);
            return -EINVAL;
        }
        errno = 0;
        parent = strtoul(a, &end, 10);
        if (errno || *end || parent == 0 || parent >= tli) {
            snprintf(err, errlen,
                     "history file of timeline %" PRIu32 ", line %d: parent timeline '%s' is not "
                     "a number below %" PRIu32,
                     tli, lineno, a, tli);
            free(sw);
            return -EINVAL;
        }
        sw = xrealloc(sw, (nsw + 1) * sizeof(*sw));
        sw[nsw].parent = (uint32_t)parent;
        if (parse_lsn(b, &sw[nsw].lsn) < 0) {
            snprintf(err, errlen,
                     "history file of timeline %" PRIu32 ", line %d: '%s' is not an LSN", tli,
                     lineno, b);
            free(sw);
            return -EINVAL;
        }
        nsw++;
    }
    t = tl_get(c, tli);
    if (!t->has_history)
        c->st.histories++;
    t->has_history = true;
    free(t->sw);
    t->sw = sw;
    t->nsw = nsw;
    return 0;
}

/* The newest timeline: recovery follows it (recovery_target_timeline 'latest'). */
static uint32_t target_tli(const struct walchain *c)
{
    for (size_t i = c->ntl; i > 0; i--) {
        if (c->tl[i - 1].n > 0 || c->tl[i - 1].has_history)
            return c->tl[i - 1].tli;
    }
    return 0;
}

/* The ancestry of tli, oldest first, into out (up to max); returns the number of steps. With the
 * timeline's parsed history the switch points are exact; otherwise each timeline's parent is the
 * highest timeline below it in the chain and the switch is at the child's first segment (or the
 * parent's .partial when the child has none yet). */
static size_t lineage(const struct walchain *c, uint32_t tli, struct wc_step *out, size_t max)
{
    const struct wc_tl *t = tl_find(c, tli);
    struct wc_step rev[64];
    size_t n = 0;

    if (!max)
        return 0;
    if (t && t->nsw > 0 && t->nsw < max) {
        uint64_t from = 0;

        for (size_t i = 0; i < t->nsw; i++) {
            uint64_t to = t->sw[i].lsn / c->seg_size;

            out[n++] = (struct wc_step){.tli = t->sw[i].parent, .from = from, .to = to};
            from = to;
        }
        out[n++] = (struct wc_step){.tli = tli, .from = from, .to = UINT64_MAX};
        return n;
    }
    /* Heuristic, newest first into rev. */
    rev[n++] = (struct wc_step){.tli = tli, .from = 0, .to = UINT64_MAX};
    while (n < ARRAY_LEN(rev) && n < max) {
        const struct wc_tl *child = tl_find(c, rev[n - 1].tli);
        const struct wc_tl *parent = NULL;
        uint64_t at;

        for (size_t i = c->ntl; i > 0; i--) {
            if (c->tl[i - 1].tli < rev[n - 1].tli) {
                parent = &c->tl[i - 1];
                break;
            }
        }
        if (!parent)
            break;
        if (child && child->n > 0)
            at = child->r[0].first;
        else if (parent->has_partial)
            at = parent->partial_segno;
        else if (parent->n > 0)
            at = parent->r[parent->n - 1].last + 1;
        else
            at = 0;
        rev[n - 1].from = at;
        rev[n - 1].assumed = true;
        rev[n++] = (struct wc_step){.tli = parent->tli, .from = 0, .to = at};
    }
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

void walchain_stats(const struct walchain *c, struct walchain_stats *out)
{
    uint32_t tgt = target_tli(c);
    const struct wc_tl *t = tl_find(c, tgt);

    *out = c->st;
    out->timelines = 0;
    out->ranges = 0;
    out->memory_bytes = sizeof(*c) + c->captl * sizeof(*c->tl);
    for (size_t i = 0; i < c->ntl; i++) {
        if (c->tl[i].n > 0 || c->tl[i].has_history)
            out->timelines++;
        out->ranges += c->tl[i].n;
        out->memory_bytes +=
            c->tl[i].cap * sizeof(struct wc_range) + c->tl[i].nsw * sizeof(struct wc_switch);
    }
    out->target_tli = tgt;
    out->newest_segment[0] = '\0';
    if (t && t->n > 0)
        walchain_segment_name(tgt, t->r[t->n - 1].last, c->seg_size, out->newest_segment);
}

/* ---- reach -------------------------------------------------------------------------------- */

/* Walks steps[i..n) from segment pos up to limit (inclusive; UINT64_MAX: the newest segment of
 * the last step). Fills the missing and reach fields of out; returns whether nothing was
 * missing. */
static bool walk(const struct walchain *c, const struct wc_step *steps, size_t n, size_t i,
                 uint64_t pos, uint64_t limit, struct walchain_reach *out)
{
    out->has_missing = false;
    out->reach_time_s = WALCHAIN_NO_TIME;
    out->reach_tli = steps[i].tli;
    out->reach_segno = pos > 0 ? pos - 1 : 0;
    for (; i < n; i++) {
        const struct wc_tl *t = tl_find(c, steps[i].tli);
        uint64_t end;

        if (pos < steps[i].from)
            pos = steps[i].from;
        if (i == n - 1) {
            if (!t || t->n == 0)
                break; /* nothing archived on the newest timeline yet */
            end = t->r[t->n - 1].last;
        } else {
            if (steps[i].to == 0)
                continue;
            end = steps[i].to - 1;
        }
        if (limit != UINT64_MAX && end > limit)
            end = limit;
        while (pos <= end) {
            const struct wc_range *r = t ? range_of(t, pos) : NULL;

            if (!r) {
                size_t k = t ? range_upper(t, pos) : 0;
                uint64_t next = t && k < t->n ? t->r[k].first : UINT64_MAX;

                out->has_missing = true;
                out->missing_tli = steps[i].tli;
                out->missing_first = pos;
                out->missing_last = next != UINT64_MAX && next - 1 < end ? next - 1 : end;
                return false;
            }
            out->reach_tli = steps[i].tli;
            out->reach_segno = r->last < end ? r->last : end;
            out->reach_time_s = r->mtime_s;
            pos = r->last + 1;
        }
        if (limit != UINT64_MAX && pos > limit)
            return true;
    }
    return true;
}

void walchain_reach(const struct walchain *c, const struct walchain_backup *b,
                    struct walchain_reach *out)
{
    struct wc_step steps[64];
    uint32_t tgt = target_tli(c);
    size_t n = lineage(c, tgt, steps, ARRAY_LEN(steps));
    uint64_t s = b->start_lsn / c->seg_size;
    size_t at = n;
    struct walchain_reach cons;

    memset(out, 0, sizeof(*out));
    out->reach_time_s = WALCHAIN_NO_TIME;
    for (size_t i = 0; i < n; i++) {
        if (steps[i].tli == b->tli && s < steps[i].to) {
            at = i;
            break;
        }
    }
    if (at == n) {
        /* Not on the way to the newest timeline: judge it along its own timeline's ancestry. */
        out->off_target = true;
        n = lineage(c, b->tli, steps, ARRAY_LEN(steps));
        at = n - 1;
    }
    if (b->finish_lsn > b->start_lsn) {
        uint64_t f = (b->finish_lsn - 1) / c->seg_size;

        out->consistent = walk(c, steps, n, at, s, f, &cons) ? 1 : 0;
    } else {
        out->consistent = -1;
    }
    out->to_now = walk(c, steps, n, at, s, UINT64_MAX, out) && !out->off_target;
    if (out->consistent == 0 && !out->has_missing) {
        out->has_missing = true;
        out->missing_tli = cons.missing_tli;
        out->missing_first = cons.missing_first;
        out->missing_last = cons.missing_last;
    }
    if (!out->off_target && out->to_now) {
        /* the newest segment of the newest timeline must exist at all */
        const struct wc_tl *t = tl_find(c, steps[n - 1].tli);

        if ((!t || t->n == 0) && out->reach_time_s == WALCHAIN_NO_TIME)
            out->to_now = false;
    }
}

/* ---- gaps --------------------------------------------------------------------------------- */

size_t walchain_gaps(const struct walchain *c, struct walchain_gap *out, size_t max)
{
    size_t count = 0;
    struct wc_step steps[64];
    size_t n = lineage(c, target_tli(c), steps, ARRAY_LEN(steps));

    for (size_t i = 0; i < c->ntl; i++) {
        const struct wc_tl *t = &c->tl[i];

        for (size_t k = 0; k + 1 < t->n; k++) {
            if (count < max)
                out[count] = (struct walchain_gap){
                    .tli = t->tli,
                    .first = t->r[k].last + 1,
                    .last = t->r[k + 1].first - 1,
                    .before_mtime_s = t->r[k].mtime_s,
                    .after_mtime_s = t->r[k + 1].mtime_s,
                };
            count++;
        }
    }
    /* At a switch: the parent ends before the switch point (with nothing of it after), or, with
     * an exact switch point from the history file, the child starts after it. */
    for (size_t j = 0; j + 1 < n; j++) {
        const struct wc_tl *t = tl_find(c, steps[j].tli);
        const struct wc_tl *child = tl_find(c, steps[j + 1].tli);
        uint64_t end = steps[j].to > 0 ? steps[j].to - 1 : 0;

        if (t && t->n > 0 && steps[j].to > 0 && t->r[0].first <= end && !range_of(t, end)) {
            size_t u = range_upper(t, end);

            if (u == t->n) {
                if (count < max)
                    out[count] = (struct walchain_gap){
                        .tli = t->tli,
                        .first = t->r[u - 1].last + 1,
                        .last = end,
                        .before_mtime_s = t->r[u - 1].mtime_s,
                        .after_mtime_s = child && child->n ? child->r[0].mtime_s : WALCHAIN_NO_TIME,
                        .at_switch = true,
                    };
                count++;
            }
        }
        if (!steps[j + 1].assumed && child && child->n > 0 &&
            child->r[0].first > steps[j + 1].from) {
            if (count < max)
                out[count] = (struct walchain_gap){
                    .tli = child->tli,
                    .first = steps[j + 1].from,
                    .last = child->r[0].first - 1,
                    .before_mtime_s = t && t->n ? t->r[t->n - 1].mtime_s : WALCHAIN_NO_TIME,
                    .after_mtime_s = child->r[0].mtime_s,
                    .at_switch = true,
                };
            count++;
        }
    }
    return count;
}

/* ---- the report --------------------------------------------------------------------------- */

json_t *walchain_time_json(int64_t t_s)
{
    char buf[40];

    if (t_s == WALCHAIN_NO_TIME)
        return json_null();
    util_format_rfc3339(t_s, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *segname(const struct walchain *c, uint32_t tli, uint64_t segno)
{
    char name[WALCHAIN_NAME_LEN + 1];

    walchain_segment_name(tli, segno, c->seg_size, name);
    return json_string(name);
}

/* Whether the way of backup b (its reach walk from its start) passes the gap g. */
static bool crosses(const struct walchain *c, const struct walchain_backup *b,
                    const struct walchain_reach *r, const struct walchain_gap *g)
{
    struct wc_step steps[64];
    size_t n = lineage(c, r->off_target ? b->tli : target_tli(c), steps, ARRAY_LEN(steps));
    uint64_t s = b->start_lsn / c->seg_size;
    bool on = false;

    for (size_t i = 0; i < n; i++) {
        uint64_t from = steps[i].from, to = steps[i].to;

        if (steps[i].tli == b->tli && s < to)
            on = true;
        if (!on)
            continue;
        if (steps[i].tli == b->tli && s > from)
            from = s;
        if (steps[i].tli == g->tli && g->last >= from && g->first < to)
            return true;
    }
    return false;
}

json_t *walchain_report(const struct walchain *c, const struct walchain_backup *backups, size_t n,
                        bool complete, struct walchain_summary *sum)
{
    struct walchain_stats st;
    json_t *o = json_object(), *tls = json_array(), *gaps = json_array(), *bk = json_array();
    struct walchain_reach *reach = n ? xcalloc(n, sizeof(*reach)) : NULL;
    struct walchain_gap *g;
    size_t ng, relevant = 0;
    struct wc_step steps[64];
    size_t nsteps;
    const char *from_backup = NULL;

    walchain_stats(c, &st);
    memset(sum, 0, sizeof(*sum));
    sum->latest_consistent = -1;
    sum->first_recoverability_s = WALCHAIN_NO_TIME;
    sum->last_archived_s = st.newest_mtime_s;
    nsteps = lineage(c, st.target_tli, steps, ARRAY_LEN(steps));

    json_object_set_new(o, "complete", json_boolean(complete));
    json_object_set_new(o, "segment_size", json_integer((json_int_t)c->seg_size));
    json_object_set_new(o, "segments", json_integer((json_int_t)st.segments));
    json_object_set_new(o, "ranges", json_integer((json_int_t)st.ranges));
    json_object_set_new(o, "partial", json_integer((json_int_t)st.partials));
    json_object_set_new(o, "history_files", json_integer((json_int_t)st.histories));
    json_object_set_new(o, "backup_history_files", json_integer((json_int_t)st.backup_histories));
    json_object_set_new(o, "ignored", json_integer((json_int_t)st.other));
    if (st.other)
        json_object_set_new(o, "ignored_sample", json_string(st.other_sample));
    json_object_set_new(o, "target_timeline", json_integer(st.target_tli));
    json_object_set_new(o, "newest_segment",
                        *st.newest_segment ? json_string(st.newest_segment) : json_null());
    json_object_set_new(o, "memory_bytes", json_integer((json_int_t)st.memory_bytes));

    for (size_t i = 0; i < c->ntl; i++) {
        const struct wc_tl *t = &c->tl[i];
        json_t *jt = json_object(), *jr = json_array();

        json_object_set_new(jt, "timeline", json_integer(t->tli));
        json_object_set_new(jt, "history", json_boolean(t->has_history));
        for (size_t k = 0; k < t->n && k < REPORT_RANGES; k++) {
            const struct wc_range *r = &t->r[k];

            json_array_append_new(jr, json_pack("{s:o, s:o, s:I, s:o}", "first",
                                                segname(c, t->tli, r->first), "last",
                                                segname(c, t->tli, r->last), "segments",
                                                (json_int_t)(r->last - r->first + 1),
                                                "last_modified", walchain_time_json(r->mtime_s)));
        }
        json_object_set_new(jt, "ranges", jr);
        if (t->n > REPORT_RANGES)
            json_object_set_new(jt, "ranges_not_shown",
                                json_integer((json_int_t)(t->n - REPORT_RANGES)));
        for (size_t j = 1; j < nsteps; j++) {
            if (steps[j].tli == t->tli)
                json_object_set_new(jt, "switched_from",
                                    json_pack("{s:i, s:o, s:b}", "timeline", (int)steps[j - 1].tli,
                                              "at", segname(c, t->tli, steps[j].from), "assumed",
                                              (int)steps[j].assumed));
        }
        json_object_set_new(jt, "on_way_to_latest", json_boolean(false));
        for (size_t j = 0; j < nsteps; j++) {
            if (steps[j].tli == t->tli)
                json_object_set_new(jt, "on_way_to_latest", json_boolean(true));
        }
        json_array_append_new(tls, jt);
    }
    json_object_set_new(o, "timelines", tls);

    for (size_t i = 0; i < n; i++)
        walchain_reach(c, &backups[i], &reach[i]);

    ng = walchain_gaps(c, NULL, 0);
    g = ng ? xcalloc(ng, sizeof(*g)) : NULL;
    (void)walchain_gaps(c, g, ng);
    for (size_t k = 0; k < ng; k++) {
        json_t *jg, *cut = json_array();
        size_t ncut = 0;

        for (size_t i = n; i > 0; i--) {
            if (!crosses(c, &backups[i - 1], &reach[i - 1], &g[k]))
                continue;
            if (ncut++ < REPORT_CUT_NAME)
                json_array_append_new(cut, json_string(backups[i - 1].name));
        }
        if (ncut)
            relevant++;
        if (json_array_size(gaps) >= REPORT_GAPS) {
            json_decref(cut);
            continue;
        }
        jg = json_pack("{s:i, s:o, s:o, s:I, s:o, s:o, s:b, s:o, s:I}", "timeline", (int)g[k].tli,
                       "first", segname(c, g[k].tli, g[k].first), "last",
                       segname(c, g[k].tli, g[k].last), "segments",
                       (json_int_t)(g[k].last - g[k].first + 1), "wal_before_at",
                       walchain_time_json(g[k].before_mtime_s), "wal_after_at",
                       walchain_time_json(g[k].after_mtime_s), "at_switch", (int)g[k].at_switch,
                       "cuts_off", cut, "cuts_off_count", (json_int_t)ncut);
        json_array_append_new(gaps, jg);
    }
    free(g);
    json_object_set_new(o, "gaps", gaps);
    json_object_set_new(o, "gaps_total", json_integer((json_int_t)ng));
    sum->gaps = relevant;

    for (size_t i = 0; i < n; i++) {
        const struct walchain_reach *r = &reach[i];

        if (r->to_now) {
            sum->restorable++;
            if (sum->first_recoverability_s == WALCHAIN_NO_TIME) {
                sum->first_recoverability_s = backups[i].start_time_s != WALCHAIN_NO_TIME
                                                  ? backups[i].start_time_s
                                                  : backups[i].finish_time_s;
                from_backup = backups[i].name;
            }
        }
    }
    if (n)
        sum->latest_consistent = reach[n - 1].consistent;
    for (size_t i = n > REPORT_BACKUPS ? n - REPORT_BACKUPS : 0; i < n; i++) {
        const struct walchain_reach *r = &reach[i];
        json_t *jb = json_object();

        json_object_set_new(jb, "name", json_string(backups[i].name));
        json_object_set_new(jb, "timeline", json_integer(backups[i].tli));
        json_object_set_new(jb, "consistent",
                            r->consistent < 0 ? json_null() : json_boolean(r->consistent));
        json_object_set_new(jb, "restorable_to_now", json_boolean(r->to_now));
        json_object_set_new(jb, "reaches_wal_of", walchain_time_json(r->reach_time_s));
        if (r->off_target)
            json_object_set_new(jb, "off_latest_timeline", json_true());
        if (r->has_missing)
            json_object_set_new(jb, "first_missing",
                                json_pack("{s:i, s:o, s:o}", "timeline", (int)r->missing_tli,
                                          "first", segname(c, r->missing_tli, r->missing_first),
                                          "last", segname(c, r->missing_tli, r->missing_last)));
        json_array_append_new(bk, jb);
    }
    json_object_set_new(o, "backups", bk);
    json_object_set_new(o, "restorable_backups", json_integer((json_int_t)sum->restorable));
    json_object_set_new(o, "relevant_gaps", json_integer((json_int_t)sum->gaps));
    json_object_set_new(o, "window",
                        json_pack("{s:o, s:o, s:o}", "first_recoverability_at",
                                  walchain_time_json(sum->first_recoverability_s),
                                  "last_archived_at", walchain_time_json(sum->last_archived_s),
                                  "from_backup",
                                  from_backup ? json_string(from_backup) : json_null()));
    free(reach);
    return o;
}

void walchain_apply(struct check_result *r, const struct walchain *c,
                    const struct walchain_backup *backups, size_t n, bool complete)
{
    struct walchain_summary sum;
    json_t *o = walchain_report(c, backups, n, complete, &sum);
    char old[sizeof(r->summary)];
    char first[40] = "never";
    json_t *gap = NULL;

    snprintf(old, sizeof(old), "%s", r->summary);
    if (!complete) {
        /* what is listed so far, but no judgement (and so no metric) before the end */
        const char *const unjudged[] = {"gaps", "backups", "window", "restorable_backups",
                                        "relevant_gaps"};

        for (size_t i = 0; i < ARRAY_LEN(unjudged); i++)
            json_object_del(o, unjudged[i]);
        json_object_set_new(r->details, "wal_chain", o);
        return;
    }
    if (sum.first_recoverability_s != WALCHAIN_NO_TIME)
        util_format_rfc3339(sum.first_recoverability_s, first, sizeof(first));
    for (size_t i = 0; i < json_array_size(json_object_get(o, "gaps")); i++) {
        json_t *jg = json_array_get(json_object_get(o, "gaps"), i);

        if (json_integer_value(json_object_get(jg, "cuts_off_count")) > 0) {
            gap = jg;
            break;
        }
    }
    if (n && sum.latest_consistent == 0) {
        struct walchain_reach rr;
        char a[WALCHAIN_NAME_LEN + 1], b[WALCHAIN_NAME_LEN + 1];

        walchain_reach(c, &backups[n - 1], &rr);
        walchain_segment_name(rr.missing_tli, rr.missing_first, c->seg_size, a);
        walchain_segment_name(rr.missing_tli, rr.missing_last, c->seg_size, b);
        check_result_set(r, VERDICT_CRITICAL,
                         "the newest backup %s cannot reach consistency: WAL %s..%s is not in "
                         "S3 (restoring it would fail); recovery window starts %s. %s",
                         backups[n - 1].name, a, b, first, old);
        check_result_cause(r, CAUSE_BACKUPS_WAL_INCOMPLETE);
    } else if (gap) {
        json_t *cut = json_object_get(gap, "cuts_off");

        check_result_set(
            r, verdict_worst(r->status, VERDICT_WARNING),
            "WAL gap on timeline %d: %s..%s missing in S3, so %d backup(s) (newest %s) cannot "
            "recover past %s; recovery window starts %s. %s",
            (int)json_integer_value(json_object_get(gap, "timeline")),
            json_string_value(json_object_get(gap, "first")),
            json_string_value(json_object_get(gap, "last")),
            (int)json_integer_value(json_object_get(gap, "cuts_off_count")),
            json_string_value(json_array_get(cut, 0)),
            json_is_string(json_object_get(gap, "wal_before_at"))
                ? json_string_value(json_object_get(gap, "wal_before_at"))
                : "their start",
            first, old);
    }
    json_object_set_new(r->details, "wal_chain", o);
}

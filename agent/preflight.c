/* preflight.c - the CLONE_TARGET_TIME pre-flight (see preflight.h): the sentinel reads, the WAL
 * listing and the verdict. Owns its copies of the backups and the chain; keeps nothing across
 * runs. */
#include "preflight.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backups.h"
#include "buf.h"
#include "s3.h"
#include "util.h"
#include "walchain.h"

#define SENTINEL_MAX_BYTES (256 * 1024)

struct preflight {
    struct s3_client *s3;
    struct s3_request *req;
    char *bb_prefix; /* "<root>/basebackups_005/" */
    char *wal_prefix;
    struct restore_target_backup *b;
    char **names;
    size_t n;
    bool listing_complete;
    int64_t target_s;
    size_t want[PREFLIGHT_MAX_READS];
    size_t n_want, at;
    bool metadata; /* the read in flight is metadata.json */
    unsigned requests;
    preflight_fn cb;
    void *arg;
};

static void preflight_free(struct preflight *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->b[i].read_error);
    }
    free(p->names);
    free(p->b);
    free(p->bb_prefix);
    free(p->wal_prefix);
    free(p);
}

void preflight_cancel(struct preflight *p)
{
    if (!p)
        return;
    if (p->req)
        s3_cancel(p->req);
    preflight_free(p);
}

static void done(struct preflight *p, const struct walchain *chain, bool wal_complete,
                 const char *wal_error, size_t wal_objects)
{
    struct preflight_result res = {.wal_objects = wal_objects, .requests = p->requests};

    restore_target_evaluate(chain, wal_complete, wal_error, p->b, p->n, p->listing_complete,
                            p->target_s, &res.t);
    json_object_set_new(res.t.details, "wal_objects", json_integer((json_int_t)wal_objects));
    json_object_set_new(res.t.details, "s3_requests", json_integer((json_int_t)p->requests));
    p->cb(&res, p->arg);
    json_decref(res.t.details);
    preflight_free(p);
}

static void wal_listed_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct preflight *p = arg;
    struct walchain *chain;
    size_t plen = strlen(p->wal_prefix);

    p->req = NULL;
    p->requests += l->pages;
    if (err) {
        char why[700];

        snprintf(why, sizeof(why), "listing %s failed (%s)", p->wal_prefix, err->summary);
        done(p, NULL, false, why, l->n_objects);
        return;
    }
    chain = walchain_new(0);
    for (size_t i = 0; i < l->n_objects; i++) {
        if (strncmp(l->objects[i].key, p->wal_prefix, plen) == 0)
            (void)walchain_add(chain, l->objects[i].key + plen, l->objects[i].mtime_s);
    }
    done(p, chain, !l->truncated, NULL, l->n_objects);
    walchain_free(chain);
}

/* The WAL from the picked backup's start segment on: what comes before it cannot matter, and
 * "<segment before>.~" sorts after every name of that segment (any extension, .partial,
 * .backup) and before the next one. Higher timelines (and their .history files) sort after. */
static void list_wal(struct preflight *p)
{
    struct s3_list_opts o = {0};
    size_t picked = restore_target_picked(p->b, p->n, p->target_s);
    char *after = NULL;

    if (picked == p->n) {
        done(p, NULL, false, NULL, 0); /* no backup to start from: the WAL does not matter */
        return;
    }
    {
        const struct restore_target_backup *b = &p->b[picked];
        uint64_t segno = b->start_lsn / WALCHAIN_SEG_SIZE_DEFAULT;
        char seg[WALCHAIN_NAME_LEN + 1];

        if (segno > 0) {
            walchain_segment_name(b->tli, segno - 1, WALCHAIN_SEG_SIZE_DEFAULT, seg);
            after = xasprintf("%s%s.~", p->wal_prefix, seg);
        }
    }
    o.prefix = p->wal_prefix;
    o.start_after = after;
    o.max_pages = PREFLIGHT_WAL_PAGES;
    if (s3_list(p->s3, &o, wal_listed_cb, p, &p->req) < 0) {
        free(after);
        done(p, NULL, false, "the WAL listing could not start", 0);
        return;
    }
    free(after);
}

static void read_next(struct preflight *p);

static void read_cb(const struct aws_error *err, const struct buf *body, void *arg)
{
    struct preflight *p = arg;
    struct restore_target_backup *b = &p->b[p->want[p->at]];
    char why[512];

    p->req = NULL;
    p->requests++;
    if (!p->metadata) {
        struct backups_sentinel s;

        if (err) {
            b->read_error = xasprintf("sentinel: %s", err->summary);
        } else if (backups_sentinel_parse(body->data, body->len, &s, why, sizeof(why)) < 0) {
            b->read_error = xasprintf("sentinel: %s", why);
            backups_sentinel_cleanup(&s);
        } else {
            if (s.has_start_lsn)
                b->start_lsn = s.start_lsn;
            if (s.has_finish_lsn)
                b->finish_lsn = s.finish_lsn;
            if (s.finish_time_s != BACKUPS_NO_TIME) {
                b->finish_s = s.finish_time_s;
                b->finish_from = RESTORE_TIME_SENTINEL;
            }
            backups_sentinel_cleanup(&s);
        }
        if (b->finish_from == RESTORE_TIME_UNREAD && !b->read_error) {
            /* WAL-G before V2 sentinels (v0.2.x - v1.1): the finish time is in metadata.json */
            char *key = xasprintf("%s%s/%s", p->bb_prefix, b->name, BACKUPS_METADATA_NAME);
            int rc;

            p->metadata = true;
            rc = s3_get(p->s3, key, SENTINEL_MAX_BYTES, read_cb, p, &p->req);
            free(key);
            if (rc == 0)
                return;
        }
    } else {
        struct backups_metadata m;

        if (!err && backups_metadata_parse(body->data, body->len, &m, why, sizeof(why)) == 0 &&
            m.finish_time_s != BACKUPS_NO_TIME) {
            b->finish_s = m.finish_time_s;
            b->finish_from = RESTORE_TIME_METADATA;
        }
        if (!err)
            backups_metadata_cleanup(&m);
    }
    if (b->finish_from == RESTORE_TIME_UNREAD)
        b->finish_from = RESTORE_TIME_LAST_MODIFIED; /* read, but neither object has a time */
    p->metadata = false;
    p->at++;
    read_next(p);
}

static void read_next(struct preflight *p)
{
    while (p->at < p->n_want) {
        char *key =
            xasprintf("%s%s%s", p->bb_prefix, p->b[p->want[p->at]].name, BACKUPS_SENTINEL_SUFFIX);
        int rc = s3_get(p->s3, key, SENTINEL_MAX_BYTES, read_cb, p, &p->req);

        free(key);
        if (rc == 0)
            return;
        p->b[p->want[p->at]].read_error = xstrdup("the sentinel GET could not start");
        p->at++;
    }
    list_wal(p);
}

int preflight_start(struct s3_client *s3, const char *bb_prefix, const struct s3_object *objects,
                    size_t n_objects, bool listing_complete, int64_t target_s, preflight_fn cb,
                    void *arg, struct preflight **out)
{
    struct preflight *p;
    size_t plen, rootlen;

    if (out)
        *out = NULL;
    if (!s3 || !bb_prefix || !cb)
        return -EINVAL;
    plen = strlen(bb_prefix);
    if (plen < strlen(BACKUPS_DIR) || strcmp(bb_prefix + plen - strlen(BACKUPS_DIR), BACKUPS_DIR))
        return -EINVAL;
    rootlen = plen - strlen(BACKUPS_DIR);
    p = xcalloc(1, sizeof(*p));
    p->b = xcalloc(n_objects + 1, sizeof(*p->b));
    p->names = xcalloc(n_objects + 1, sizeof(char *));
    for (size_t i = 0; i < n_objects; i++) {
        const char *key = objects[i].key, *base;
        struct walchain_name nm;
        char seg[WALCHAIN_NAME_LEN + 1];

        if (strncmp(key, bb_prefix, plen) != 0 || !backups_is_sentinel_key(key))
            continue;
        base = key + plen;
        if (strchr(base, '/') || strncmp(base, "base_", 5) != 0 ||
            strlen(base) < 5 + WALCHAIN_NAME_LEN + strlen(BACKUPS_SENTINEL_SUFFIX))
            continue;
        snprintf(seg, sizeof(seg), "%.24s", base + 5);
        if (walchain_parse_name(seg, &nm) != WALCHAIN_SEGMENT)
            continue;
        p->names[p->n] = xstrndup(base, strlen(base) - strlen(BACKUPS_SENTINEL_SUFFIX));
        p->b[p->n] = (struct restore_target_backup){
            .name = p->names[p->n],
            .tli = nm.tli,
            .start_lsn = walchain_segno(nm.log, nm.seg, WALCHAIN_SEG_SIZE_DEFAULT) *
                         WALCHAIN_SEG_SIZE_DEFAULT,
            .listed_s = objects[i].mtime_s,
            .finish_s = objects[i].mtime_s,
        };
        p->n++;
    }
    if (p->n == 0) {
        preflight_free(p);
        return -ENOENT;
    }
    restore_target_sort(p->b, p->n);
    p->n_want = restore_target_wanted(p->b, p->n, target_s, p->want, PREFLIGHT_MAX_READS);
    p->s3 = s3;
    p->bb_prefix = xstrdup(bb_prefix);
    p->wal_prefix = xasprintf("%.*s%s", (int)rootlen, bb_prefix, WALCHAIN_DIR);
    p->listing_complete = listing_complete;
    p->target_s = target_s;
    p->cb = cb;
    p->arg = arg;
    if (out)
        *out = p;
    read_next(p);
    return 0;
}

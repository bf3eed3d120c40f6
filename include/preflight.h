/* preflight.h - the CLONE_TARGET_TIME pre-flight against a clone source in S3, shared by the
 * restore check and `install --mode restore`: from the listing of the source's basebackups_005/
 * it reads only the sentinels that decide the answer (the backup Spilo picks and the next newer
 * ones, at most PREFLIGHT_MAX_READS, with metadata.json for sentinels without FinishTime), lists
 * wal_005/ from the picked backup's start segment on, and hands the chain to
 * restore_target_evaluate() (see restore.h for whose rules it follows). */
#ifndef AGENT_PREFLIGHT_H
#define AGENT_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "common.h"
#include "restore.h"

#define PREFLIGHT_MAX_READS 3   /* sentinels read per run */
#define PREFLIGHT_WAL_PAGES 100 /* wal_005/ pages listed: 100,000 keys after the picked backup */

struct s3_client;
struct preflight;

/* res->details is the caller's to keep (set it to NULL) or is freed after the callback; res->
 * wal_objects and res->s3_requests say what it cost. */
struct preflight_result {
    struct restore_target_result t;
    size_t wal_objects;
    unsigned requests;
};
typedef void (*preflight_fn)(struct preflight_result *res, void *arg);

/* bb_prefix: "<root>/basebackups_005/" (or "basebackups_005/"); objects: its listing (copied; the
 * stop sentinels directly under bb_prefix are the backups); listing_complete: that listing was
 * not cut short. Returns 0 (cb runs later, on the loop; *out identifies the run until then),
 * -ENOENT when the listing holds no backup name to check (no callback), -EINVAL. */
MUSTCHECK int preflight_start(struct s3_client *s3, const char *bb_prefix,
                              const struct s3_object *objects, size_t n_objects,
                              bool listing_complete, int64_t target_s, preflight_fn cb, void *arg,
                              struct preflight **out);
/* Stops a run: no callback. */
void preflight_cancel(struct preflight *p);

#endif

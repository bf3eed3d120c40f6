/* walscan.h - the backups check's incremental listing of <root>/wal_005/ into a walchain: a cold
 * start lists a bounded number of pages per run and continues where it stopped in the next run;
 * once the end was reached, each run lists only what is new (start-after the newest key seen),
 * plus one short page at each young gap (WAL-G uploads segments in parallel, so a segment can
 * land after a newer one). Start-after never sees a deletion, so every sweep interval
 * ([backups] wal_sweep_interval, WALSCAN_SWEEP_S by default) the chain
 * is listed anew from the start into a fresh chain, WALSCAN_SWEEP_PAGES_PER_RUN pages per run
 * after the new keys, which replaces the chain once it reaches the end: segments deleted by a
 * lifecycle rule or by hand leave it within a day (S3 applies lifecycle expiration about once a
 * day). `wal-g delete` needs no sweep: it deletes the WAL before the oldest backup it keeps, and
 * the window starts at a backup that is listed. The state is a struct walscan_keep, which the
 * backups check keeps in its registry (check_run_kept); it starts over when the target or the
 * segment size changes. Loop thread only. */
#ifndef AGENT_WALSCAN_H
#define AGENT_WALSCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backups.h"
#include "common.h"
#include "s3.h"
#include "walchain.h"

#define WALSCAN_PAGES_PER_RUN       20 /* 20,000 keys: a cold start over 100,000 objects takes 5 runs */
#define WALSCAN_RECHECK_S           3600 /* gaps younger than this are listed again */
#define WALSCAN_RECHECK_MAX         4    /* gap pages per run */
#define WALSCAN_SWEEP_S             86400 /* the chain is listed anew this long after the last time */
#define WALSCAN_SWEEP_PAGES_PER_RUN 5     /* 5,000 keys: 100,000 segments take 20 runs */
#define WALSCAN_FAILING_RUNS        3     /* runs in a row with a failed listing: a warning */

typedef void (*walscan_fn)(void *arg);

struct walscan_keep;
struct walscan_keep *walscan_keep_new(void);
/* Stops the scan in flight and frees the state (the registry's free hook: a void *). */
void walscan_keep_free(void *k);

/* Lists the next part of "<root>/wal_005/" (root may be "") with client, then the sweep's pages
 * when one is under way or due (sweep_s after the last; 0: WALSCAN_SWEEP_S); cb runs on the loop
 * thread when done (the listing error, if any, is kept for walscan_details()). seg_size 0: keep
 * the current one (16 MiB at first). Returns 0, or -EBUSY when a scan is in flight, -EINVAL when
 * the request cannot start (no callback then). */
MUSTCHECK int walscan_run(struct walscan_keep *k, struct s3_client *client, const char *root,
                          uint64_t seg_size, int64_t now_s, int64_t sweep_s, walscan_fn cb,
                          void *arg);
/* Stops the scan in flight (its callback will not run). */
void walscan_cancel(struct walscan_keep *k);
/* The last listing error while the last *runs runs in a row each had a failed request (*runs
 * 0: the last run listed everything it asked for, NULL is returned). */
const char *walscan_failing(const struct walscan_keep *k, unsigned *runs);
/* The chain (NULL before the first run) and whether the listing has reached the end once. */
const struct walchain *walscan_chain(const struct walscan_keep *k, bool *complete);
/* {"objects","pages","runs","complete","error","sweep":{"in_progress","started_at",
 * "completed_at","completed","dropped_segments"}}: how the listing goes, for the details. */
json_t *walscan_details(const struct walscan_keep *k);

/* The complete backups of l as the chain sees them, sorted by start LSN (the newest last);
 * *out is malloc'd (free it), the names are borrowed from l. *seg_size is set from the newest
 * backup with a start LSN when its name tells the segment size, else left alone. */
size_t walscan_backups(const struct backups_list *l, struct walchain_backup **out,
                       uint64_t *seg_size);

#endif

/* walg_s3.h - where WAL-G writes, with an S3 client ready to look there: the target is resolved
 * on the thread pool (it reads the envdir), the client comes from a small cache kept per set of
 * settings (so connections stay warm and web-identity credentials are reused until they near
 * expiry). Used by the backups, wal_archive and restore checks. Loop thread only. */
#ifndef AGENT_WALG_S3_H
#define AGENT_WALG_S3_H

#include <stdbool.h>

#include "causes.h"
#include "check.h"
#include "s3.h"
#include "walg_env.h"

struct walg_s3 {
    struct walg_target target;
    struct s3_client *client; /* borrowed from the cache; NULL when error is set */
    enum verdict error_verdict;
    char error[512]; /* why there is no client, "" when there is one */
};

/* ws is valid until walg_s3_release(); when cancelled is true the run is over (end it). */
typedef void (*walg_s3_fn)(struct check_run *run, struct walg_s3 *ws, bool cancelled, void *arg);

/* Resolves the target of run->cfg (the cluster's own settings) and calls cb on the loop thread. */
void walg_s3_open(struct check_run *run, walg_s3_fn cb, void *arg);
/* A client for any other settings (a clone's source), from the same cache. 0 or -EINVAL (err). */
MUSTCHECK int walg_s3_client_for(struct check_run *run, const struct walg_target *t,
                                 struct s3_client **out, char *err, size_t errlen);
void walg_s3_release(struct walg_s3 *ws);

/* Verdict for an S3 error: settings problems that stop WAL-G too (access denied, no such bucket,
 * bad keys, wrong region, expired token) are critical; S3 being unreachable or broken is unknown
 * (the agent could not look). */
enum verdict walg_s3_error_verdict(const struct aws_error *e);
/* The catalogued cause of the backups check for a critical S3 error (CAUSE_COUNT for none). */
enum cause walg_s3_error_cause(const struct aws_error *e);

#endif

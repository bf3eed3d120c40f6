/* status.h - the published state: an immutable snapshot of the last completed run of every check.
 * Checks publish through status_publish() on the loop thread; HTTP handlers and the `check`
 * command only read status_current() and format it. A snapshot holds no pointers into checks or
 * the config, so it can be replaced at any time. Pure: no I/O, no clock reads. */
#ifndef AGENT_STATUS_H
#define AGENT_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "check_result.h"
#include "common.h"

#define STATUS_MAX_CHECKS 8

struct check_snap {
    char name[32];
    bool has_run;
    enum verdict status;
    char summary[512];
    int64_t checked_at_s;
    uint64_t duration_ms;
    uint64_t runs;
    uint64_t overlaps;        /* ticks skipped because the previous run was still going */
    json_t *details;          /* immutable once published; NULL before the first run */
    bool causes[CAUSE_COUNT]; /* catalogued causes of a critical verdict */
};

struct snapshot {
    uint64_t generation;
    int64_t started_at_s;
    bool config_loaded;
    int64_t stale_after_s; /* a result older than this is stale; 0: never (one-shot runs) */
    char role[16];         /* "leader", "replica" or "unknown" */
    size_t n_checks;
    struct check_snap checks[STATUS_MAX_CHECKS];
};

/* Starts a fresh state with the given check names (in report order), none run yet. */
void status_init(const char *const *names, size_t n, int64_t started_at_s);
void status_shutdown(void);
const struct snapshot *status_current(void);

/* Publishes one check's result (its details are taken over: res->details is NULL afterwards); a
 * role in the result becomes the snapshot's role. */
void status_publish(const char *name, struct check_result *res, int64_t checked_at_s,
                    uint64_t duration_ms);
void status_count_overlap(const char *name);
void status_set_config_loaded(bool loaded);
/* Daemon mode: results older than s seconds are stale (the check has not completed since). */
void status_set_stale_after(int64_t s);

const struct check_snap *status_find(const struct snapshot *s, const char *name);
/* THE overall status (/status, the report header, the exit code of `check`, the
 * spilo_agent_status metric): verdict_worst() over the checks in `only` (NULL: all), a check
 * that has not run counting as unknown; unknown when no check is selected. */
enum verdict status_overall(const struct snapshot *s, int64_t now_s, const char *const *only,
                            size_t n_only);
/* Readiness: true once the config is loaded and every check has run once; else the reason. */
bool status_ready(const struct snapshot *s, char *reason, size_t len);
/* Whether c's last result is older than s->stale_after_s at now_s. */
bool status_check_stale(const struct snapshot *s, const struct check_snap *c, int64_t now_s);
/* The first check whose result is stale at now_s, or NULL. */
const struct check_snap *status_first_stale(const struct snapshot *s, int64_t now_s);

/* The /status document (SPEC section 5); `only` (NULL for all) limits the checks shown. A stale
 * check has "stale": true, a summary that says so first, and counts as unknown overall. */
json_t *status_to_json(const struct snapshot *s, int64_t now_s, const char *const *only,
                       size_t n_only);
json_t *status_check_to_json(const struct snapshot *s, const struct check_snap *c, int64_t now_s);

#endif

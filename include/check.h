/* check.h - the check registry: one uv_timer per check (interval + jitter), single-flight runs,
 * a deadline per run, and the hand-off of each result to status_publish(). A check implementation
 * gets a struct check_run, does its work asynchronously on the loop (pgconn, curlm) or on the
 * thread pool (check_run_in_worker), and ends the run with check_run_done() exactly once. */
#ifndef AGENT_CHECK_H
#define AGENT_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "check_result.h"
#include "config.h"
#include "curlm.h"

struct check_run;

struct check_def {
    const char *name;
    /* Starts a run. Must end, now or later, in check_run_done(run, ...) exactly once. */
    void (*start)(struct check_run *run);
    /* Optional: asks a running check to finish early (deadline passed, or shutdown). The check
     * still ends with check_run_done(). */
    void (*cancel)(struct check_run *run);
};

struct check_run {
    uv_loop_t *loop;
    struct config *cfg;  /* referenced for the run's lifetime */
    int64_t now_s;       /* evaluation instant (wall clock, or --now) */
    struct curlm *curlm; /* the process's curl multi handle, for HTTP/S3/Kubernetes */
    const struct check_def *def;
    void *state; /* the implementation's own */
    bool cancelled;
    /* private */
    struct check *check;
    bool abandoned;
};

/* The work function of check_run_in_worker: runs on a thread-pool thread with the run's config and
 * instant; touches no uv_*, no globals, no logging. */
typedef void (*check_work_fn)(const struct config *cfg, int64_t now_s, struct check_result *out);

struct checks; /* opaque registry */

/* Runs the checks defs[0..n_defs) (report order; the list is check_defs.h's, or a selection of
 * it). now_override_s: 0 = wall clock, else the instant every run evaluates at (--now). */
struct checks *checks_new(uv_loop_t *loop, struct config *cfg, const struct check_def *const *defs,
                          size_t n_defs, int64_t now_override_s);
/* The curl multi handle runs hand to checks (owned by the caller, closed after checks_stop). */
void checks_set_curlm(struct checks *cs, struct curlm *cm);
/* Daemon mode: first runs staggered over a second, then every interval with up to 10% jitter.
 * Each check's status changes are logged (check.c log_transition): once per change, info for a
 * recovery, warn for warning/unknown, error for critical, a status that stays bad again hourly. */
void checks_start_timers(struct checks *cs);
/* One-shot mode: starts every check once; checks_all_done() tells when they have finished. */
void checks_run_once(struct checks *cs);
bool checks_all_done(const struct checks *cs);
/* Replaces the config used from the next run on. A timer is re-armed only when the new interval
 * brings its next run forward: a reload never postpones a due run. */
void checks_set_config(struct checks *cs, struct config *cfg);
/* Stops the timers and cancels running checks; closes its handles. checks_free() once closed. */
void checks_stop(struct checks *cs);
bool checks_closed(const struct checks *cs);
void checks_free(struct checks *cs);

/* What a module keeps across the runs of one registry (a cache, a listing position, a check's
 * previous reading) lives in the registry, not in file statics: one slot per tag (the address of
 * the module's own static const), NULL until the module stores something. The registry frees each
 * slot with its free_fn, newest first, in checks_release() (which checks_free() calls), so that
 * what holds curl handles goes before the curl multi handle. Loop thread only. */
void **check_run_kept(struct check_run *run, const void *tag, void (*free_fn)(void *));
/* Frees what the checks kept; call once checks_closed(), before the curl multi handle goes. */
void checks_release(struct checks *cs);

void check_run_done(struct check_run *run, struct check_result *res);
/* How long a session (a PostgreSQL round trip) of this run may take: the run's deadline less a
 * margin, so that the check can still report why before the deadline does. */
uint64_t check_run_session_ms(const struct check_run *run);
/* Runs work(arg) on the thread pool (blocking file reads), then then(run, arg, cancelled) on the
 * loop thread, where the check goes on (or, when cancelled is true, ends the run at once). */
typedef void (*check_then_fn)(struct check_run *run, void *arg, bool cancelled);
void check_run_work(struct check_run *run, void (*work)(void *arg), check_then_fn then, void *arg);
void check_run_in_worker(struct check_run *run, check_work_fn fn);

#endif

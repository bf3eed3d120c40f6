/* pgjob.h - the session both PostgreSQL checks (wal_archive, pg_hba) run: one pgconn session of
 * the check's statements (the first is pg_is_in_recovery()), a Patroni GET beside it for the role,
 * then the check's evaluate() on the answers. The run ends when the session, the Patroni request
 * and the check's own extra part (wal_archive's S3 lookup) are all done; the member's role goes
 * into the result (check_result.role), which status_publish() copies. */
#ifndef AGENT_PGJOB_H
#define AGENT_PGJOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "pgconn.h"

struct patroni_request;
struct pg_job;

/* What a check plugs into the session. */
struct pg_job_ops {
    size_t size;            /* of the check's job struct, which starts with a struct pg_job */
    const char *const *sql; /* the statements; the first is pg_is_in_recovery() */
    size_t n_sql;
    bool patroni; /* also GET /patroni (when [patroni] url is set) */
    void (*evaluate)(struct pg_job *job, struct pgconn_result *res); /* the answers */
    void (*cancel_extra)(struct pg_job *job); /* stops the extra part (sets extra_done), or NULL */
    void (*release)(struct pg_job *job);      /* frees what the check added, or NULL */
};

struct pg_job {
    struct check_run *run;
    struct pgconn *pc;
    struct patroni_request *patroni_req;
    bool pg_done;
    bool patroni_done;
    bool extra_done; /* the check's own asynchronous part; true when it has none */
    const struct pg_job_ops *ops;
    struct check_result res;
    json_t *patroni_doc;     /* the /patroni document, or NULL */
    char patroni_error[256]; /* why there is none */
    bool in_recovery;
    bool role_known;
};

/* Allocates ops->size bytes, starts the session and, when ops->patroni is true and [patroni] url
 * is set, the Patroni request; run->state is the job. The run may have ended (and run be freed)
 * when this returns: the caller must not touch run afterwards. */
void pg_job_start(struct check_run *run, const struct pg_job_ops *ops);
/* Ends the run once every part is done (and frees the job). */
void pg_job_finish_if_done(struct pg_job *job);
/* The check_def cancel hook of both checks. */
void pg_job_cancel(struct check_run *run);
/* A session that did not get its facts: unknown, with the reason and the fix. */
void pg_job_failed(struct pg_job *job, struct pgconn_result *res);
/* "host:port as user" of [postgres] conninfo, for sentences. */
void pg_job_describe_target(const struct config *cfg, char *out, size_t len);
/* A number from a result value, def when NULL or not a number. */
int64_t pg_job_num_or(const char *v, int64_t def);

#endif

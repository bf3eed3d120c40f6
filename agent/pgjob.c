/* pgjob.c - the session both PostgreSQL checks run (see pgjob.h): pgconn, the Patroni GET, the
 * role, and the sentences for a session that failed. */
#include "pgjob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patroni.h"
#include "util.h"

int64_t pg_job_num_or(const char *v, int64_t def)
{
    int64_t n;

    return v && util_parse_i64(v, &n) == 0 ? n : def;
}

/* ---- the role -------------------------------------------------------------------------------- */

/* The role (Patroni's word first, else pg_is_in_recovery()) into the result and its details. */
static void job_role(struct pg_job *job)
{
    const char *role = NULL;
    json_t *d = job->res.details;

    if (job->patroni_doc) {
        role = patroni_member_role(job->patroni_doc);
        json_object_set_new(
            d, "patroni",
            json_pack("{s:O*, s:O*, s:O*, s:O*}", "role", json_object_get(job->patroni_doc, "role"),
                      "state", json_object_get(job->patroni_doc, "state"), "timeline",
                      json_object_get(job->patroni_doc, "timeline"), "cluster_unlocked",
                      json_object_get(job->patroni_doc, "cluster_unlocked")));
    } else {
        json_object_set_new(d, "patroni", json_null());
        if (job->patroni_error[0])
            json_object_set_new(d, "patroni_error", json_string(job->patroni_error));
    }
    if (!role && job->role_known)
        role = job->in_recovery ? "replica" : "leader";
    json_object_set_new(d, "role", json_string(role ? role : "unknown"));
    if (role)
        snprintf(job->res.role, sizeof(job->res.role), "%s", role);
}

/* ---- the session and its end ----------------------------------------------------------------- */

void pg_job_finish_if_done(struct pg_job *job)
{
    struct check_run *run = job->run;

    if (!job->pg_done || !job->patroni_done || !job->extra_done)
        return;
    job_role(job);
    run->state = NULL;
    check_run_done(run, &job->res);
    json_decref(job->patroni_doc);
    if (job->ops->release)
        job->ops->release(job);
    free(job);
}

void pg_job_describe_target(const struct config *cfg, char *out, size_t len)
{
    PQconninfoOption *opts = PQconninfoParse(cfg->conninfo_effective, NULL);
    const char *host = NULL, *port = NULL, *user = NULL;

    if (opts) {
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            if (strcmp(o->keyword, "host") == 0 && o->val)
                host = o->val;
            else if (strcmp(o->keyword, "hostaddr") == 0 && o->val && !host)
                host = o->val;
            else if (strcmp(o->keyword, "port") == 0 && o->val)
                port = o->val;
            else if (strcmp(o->keyword, "user") == 0 && o->val)
                user = o->val;
        }
    }
    snprintf(out, len, "%s%s%s as %s", host ? host : "the default socket", port ? ":" : "",
             port ? port : "", user ? user : "the default user");
    PQconninfoFree(opts);
}

/* A session that did not get its facts: unknown (or, for a refused login, the caller decides). */
void pg_job_failed(struct pg_job *job, struct pgconn_result *res)
{
    char target[256];

    pg_job_describe_target(job->run->cfg, target, sizeof(target));
    json_object_set_new(job->res.details, "error", json_string(res->error));
    json_object_set_new(job->res.details, "error_kind", json_string(pgconn_err_name(res->kind)));
    if (res->sqlstate[0])
        json_object_set_new(job->res.details, "sqlstate", json_string(res->sqlstate));
    switch (res->kind) {
    case PGCONN_ERR_AUTH:
        check_result_set(&job->res, VERDICT_UNKNOWN,
                         "PostgreSQL at %s refused the agent's login: %s; fix pg_hba or "
                         "[postgres] conninfo (see the pg_hba check)",
                         target, res->error);
        break;
    case PGCONN_ERR_TIMEOUT:
        check_result_set(&job->res, VERDICT_UNKNOWN, "PostgreSQL at %s did not answer in time (%s)",
                         target, res->error);
        break;
    case PGCONN_ERR_CANCELED:
        check_result_set(&job->res, VERDICT_UNKNOWN, "the check was cancelled");
        break;
    case PGCONN_ERR_QUERY:
        check_result_set(&job->res, VERDICT_UNKNOWN,
                         "PostgreSQL at %s could not answer the %s check's query: %s%s", target,
                         job->run->def->name, res->error,
                         strcmp(res->sqlstate, "42501") == 0
                             ? " (the agent's user needs to be superuser or a member of "
                               "pg_monitor/pg_read_all_settings)"
                             : "");
        break;
    default:
        check_result_set(&job->res, VERDICT_UNKNOWN,
                         "cannot reach PostgreSQL at %s: %s; is it running, and is [postgres] "
                         "conninfo right?",
                         target, res->error);
        break;
    }
}

static void pg_done_cb(struct pgconn_result *res, void *arg)
{
    struct pg_job *job = arg;

    job->pc = NULL;
    if (res->n_results > 0 && pgconn_rows(res, 0) == 1) {
        const char *v = pgconn_value(res, 0, 0, 0);

        job->role_known = v != NULL;
        job->in_recovery = v && strcmp(v, "t") == 0;
    }
    if (res->connected)
        json_object_set_new(job->res.details, "server_version", json_string(res->server_version));
    job->ops->evaluate(job, res);
    job->pg_done = true;
    pg_job_finish_if_done(job);
}

static void patroni_cb(json_t *doc, const char *error, void *arg)
{
    struct pg_job *job = arg;

    job->patroni_req = NULL;
    job->patroni_doc = doc;
    if (!doc)
        snprintf(job->patroni_error, sizeof(job->patroni_error), "%s", error);
    job->patroni_done = true;
    pg_job_finish_if_done(job);
}

void pg_job_start(struct check_run *run, const struct pg_job_ops *ops)
{
    struct pg_job *job = xcalloc(1, ops->size);
    const struct config *cfg = run->cfg;
    int rc;

    job->run = run;
    job->ops = ops;
    check_result_init(&job->res);
    run->state = job;
    job->patroni_done = true;
    job->extra_done = true;
    if (ops->patroni && *cfg->patroni_url && run->curlm) {
        job->patroni_done = false;
        if (patroni_get_member(run->curlm, cfg->patroni_url, patroni_cb, job, &job->patroni_req) <
            0) {
            job->patroni_done = true;
            snprintf(job->patroni_error, sizeof(job->patroni_error), "could not start the request");
        }
    }
    rc = pgconn_run(run->loop, cfg->conninfo_effective, ops->sql, ops->n_sql,
                    check_run_session_ms(run), pg_done_cb, job, &job->pc);
    if (rc < 0) {
        check_result_set(&job->res, VERDICT_UNKNOWN,
                         "[postgres] conninfo cannot be used; check its syntax");
        job->pg_done = true;
        pg_job_finish_if_done(job);
    }
}

void pg_job_cancel(struct check_run *run)
{
    struct pg_job *job = run->state;

    if (!job)
        return;
    if (job->patroni_req) {
        patroni_cancel(job->patroni_req);
        job->patroni_req = NULL;
        snprintf(job->patroni_error, sizeof(job->patroni_error), "cancelled");
        job->patroni_done = true;
    }
    if (job->ops->cancel_extra)
        job->ops->cancel_extra(job);
    if (job->pc)
        pgconn_cancel(job->pc); /* pg_done_cb follows and finishes the run */
    else if (!job->extra_done)
        return; /* the extra part is on the thread pool: its callback ends the run */
    else
        pg_job_finish_if_done(job);
}

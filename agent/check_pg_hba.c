/* check_pg_hba.c - glue of the pg_hba check: pg_hba_file_rules through a pgjob session, then the
 * pure hba_evaluate_spilo() decides. */
#include "check_pg_hba.h"

#include "hba.h"
#include "log.h"
#include "pgjob.h"
#include "util.h"

/* ---- the session ----------------------------------------------------------------------------- */

static const char *const pg_hba_sql[] = {
    "SELECT pg_catalog.pg_is_in_recovery()",
    "SELECT line_number, type, database, user_name, address, netmask, auth_method, error "
    "FROM pg_catalog.pg_hba_file_rules ORDER BY line_number",
};

extern char **environ;

static void pg_hba_from_session(struct pg_job *job, struct pgconn_result *res)
{
    const struct config *cfg = job->run->cfg;
    struct hba_rules rules;
    const char *peer = util_env_get(environ, "POD_IP");
    int rows;

    if (res->kind == PGCONN_ERR_AUTH) {
        /* The agent's own login was refused: that is this check's verdict, in the server's
         * words (the agent logs in like Patroni and postgres_backup.sh do). */
        char target[256];

        pg_job_describe_target(cfg, target, sizeof(target));
        json_object_set_new(job->res.details, "error", json_string(res->error));
        json_object_set_new(job->res.details, "sqlstate", json_string(res->sqlstate));
        check_result_set(&job->res, VERDICT_CRITICAL,
                         "PostgreSQL at %s refused the login: %s; pg_hba has no rule that lets "
                         "this connection in - add one (Spilo needs \"local all all trust\" and "
                         "\"local replication %s trust\")",
                         target, res->error, cfg->pg_replication_user);
        check_result_cause(&job->res, CAUSE_PG_HBA_LOGIN_REFUSED);
        return;
    }
    if (res->rc < 0) {
        pg_job_failed(job, res);
        return;
    }
    hba_rules_init(&rules);
    rows = pgconn_rows(res, 1);
    for (int i = 0; i < rows; i++) {
        int64_t line = pg_job_num_or(pgconn_value(res, 1, i, 0), 0);

        if (hba_rules_add_view_row(&rules, (int)line, pgconn_value(res, 1, i, 1),
                                   pgconn_value(res, 1, i, 2), pgconn_value(res, 1, i, 3),
                                   pgconn_value(res, 1, i, 4), pgconn_value(res, 1, i, 5),
                                   pgconn_value(res, 1, i, 6), pgconn_value(res, 1, i, 7)) < 0) {
            log_warn("pg_hba", "row %d of pg_hba_file_rules could not be read", i);
        }
    }
    {
        /* hba_evaluate_spilo fills details; keep what the session already put there. */
        json_t *keep = json_incref(job->res.details);

        hba_evaluate_spilo(&rules, cfg->pg_superuser, cfg->pg_replication_user,
                           peer && *peer ? peer : NULL, &job->res);
        if (job->res.details != keep)
            json_object_update_missing(job->res.details, keep);
        json_decref(keep);
    }
    json_object_set_new(job->res.details, "source", json_string("pg_hba_file_rules"));
    hba_rules_cleanup(&rules);
}

static const struct pg_job_ops pg_hba_ops = {
    .size = sizeof(struct pg_job),
    .sql = pg_hba_sql,
    .n_sql = ARRAY_LEN(pg_hba_sql),
    .patroni = false,
    .evaluate = pg_hba_from_session,
};

static void pg_hba_start(struct check_run *run)
{
    pg_job_start(run, &pg_hba_ops);
}

const struct check_def check_pg_hba = {
    .name = "pg_hba",
    .start = pg_hba_start,
    .cancel = pg_job_cancel,
};

/* check_pg.c - glue of the PostgreSQL checks: one pgconn session per run (statements below), a
 * Patroni GET beside it for the role, then the pure evaluators (walarchive.c, hba.c) decide. Owns
 * the little state kept between runs (the previous failed_count). */
#include "check_pg.h"

#include "hba.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgconn.h"
#include "status.h"
#include "util.h"
#include "walarchive.h"
#include "walg_s3.h"

#define PATRONI_TIMEOUT_MS 2000
#define PATRONI_MAX_BYTES  65536

struct pg_job {
    struct check_run *run;
    struct pgconn *pc;
    struct curlm_get *patroni_req;
    bool pg_done;
    bool patroni_done;
    void (*evaluate)(struct pg_job *job, struct pgconn_result *res);
    struct check_result res;
    json_t *patroni_doc;     /* the /patroni document, or NULL */
    char patroni_error[256]; /* why there is none */
    bool in_recovery;
    bool role_known;
    /* wal_archive's S3 half: the facts wait here while the segment is looked up */
    bool s3_done;
    struct walarchive_facts facts;
    char *fact_strings[8]; /* copies the facts point to */
    struct walg_s3 *ws;
    struct s3_request *s3_req;
    char *segment_base; /* <root>/wal_005/<segment> */
};

static int64_t prev_failed_count = -1;

/* ---- role ---------------------------------------------------------------------------------- */

static const char *patroni_role(const json_t *doc)
{
    const char *r = json_string_value(json_object_get(doc, "role"));

    if (!r)
        return NULL;
    if (strcmp(r, "master") == 0 || strcmp(r, "primary") == 0)
        return "leader";
    return "replica"; /* replica, standby_leader, ... */
}

/* Publishes the role (Patroni's word first, else pg_is_in_recovery()) and notes it in details. */
static void job_role(struct pg_job *job)
{
    const char *role = NULL;
    json_t *d = job->res.details;

    if (job->patroni_doc) {
        role = patroni_role(job->patroni_doc);
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
        status_set_role(role);
}

/* ---- the session and its end ----------------------------------------------------------------- */

static void job_finish_if_done(struct pg_job *job)
{
    struct check_run *run = job->run;

    if (!job->pg_done || !job->patroni_done || !job->s3_done)
        return;
    job_role(job);
    run->state = NULL;
    check_run_done(run, &job->res);
    json_decref(job->patroni_doc);
    for (size_t i = 0; i < ARRAY_LEN(job->fact_strings); i++)
        free(job->fact_strings[i]);
    walg_s3_release(job->ws);
    free(job->segment_base);
    free(job);
}

static void describe_target(const struct config *cfg, char *out, size_t len)
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
static void pg_failed(struct pg_job *job, struct pgconn_result *res)
{
    char target[256];

    describe_target(job->run->cfg, target, sizeof(target));
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
    job->evaluate(job, res);
    job->pg_done = true;
    job_finish_if_done(job);
}

static void patroni_cb(long status, CURLcode rc, const char *error, const struct buf *body,
                       void *arg)
{
    struct pg_job *job = arg;
    json_error_t jerr;

    job->patroni_req = NULL;
    if (rc != CURLE_OK) {
        snprintf(job->patroni_error, sizeof(job->patroni_error), "%s", error ? error : "error");
    } else if (!body->data) {
        snprintf(job->patroni_error, sizeof(job->patroni_error), "HTTP %ld with no body", status);
    } else {
        /* /patroni answers 200 on the leader and 503 on replicas, with the same document */
        job->patroni_doc = json_loadb(body->data, body->len, 0, &jerr);
        if (!json_is_object(job->patroni_doc)) {
            json_decref(job->patroni_doc);
            job->patroni_doc = NULL;
            snprintf(job->patroni_error, sizeof(job->patroni_error),
                     "HTTP %ld, not a JSON document", status);
        }
    }
    job->patroni_done = true;
    job_finish_if_done(job);
}

static void pg_job_start(struct check_run *run, const char *const *sql, size_t n_sql,
                         void (*evaluate)(struct pg_job *, struct pgconn_result *), bool patroni)
{
    struct pg_job *job = xcalloc(1, sizeof(*job));
    const struct config *cfg = run->cfg;
    int rc;

    job->run = run;
    job->evaluate = evaluate;
    check_result_init(&job->res);
    run->state = job;
    job->patroni_done = true;
    job->s3_done = true;
    if (patroni && *cfg->patroni_url && run->curlm) {
        char *url = xasprintf("%s/patroni", cfg->patroni_url);

        job->patroni_done = false;
        if (curlm_get(run->curlm, url, PATRONI_TIMEOUT_MS, PATRONI_MAX_BYTES, patroni_cb, job,
                      &job->patroni_req) < 0) {
            job->patroni_done = true;
            snprintf(job->patroni_error, sizeof(job->patroni_error), "could not start the request");
        }
        free(url);
    }
    rc = pgconn_run(run->loop, cfg->conninfo_effective, sql, n_sql, check_run_session_ms(run),
                    pg_done_cb, job, &job->pc);
    if (rc < 0) {
        check_result_set(&job->res, VERDICT_UNKNOWN,
                         "[postgres] conninfo cannot be used; check its syntax");
        job->pg_done = true;
        job_finish_if_done(job);
    }
}

static void pg_job_cancel(struct check_run *run)
{
    struct pg_job *job = run->state;

    if (!job)
        return;
    if (job->patroni_req) {
        curlm_get_cancel(run->curlm, job->patroni_req);
        job->patroni_req = NULL;
        snprintf(job->patroni_error, sizeof(job->patroni_error), "cancelled");
        job->patroni_done = true;
    }
    if (job->s3_req) {
        s3_cancel(job->s3_req);
        job->s3_req = NULL;
        job->facts.s3_segment_found = -1;
        walarchive_evaluate(&job->facts, &job->res);
        job->s3_done = true;
    }
    if (job->pc)
        pgconn_cancel(job->pc); /* pg_done_cb follows and finishes the run */
    else if (!job->s3_done && !job->s3_req)
        return; /* resolving the S3 target on the thread pool: wal_s3_opened() ends the run */
    else
        job_finish_if_done(job);
}

/* ---- wal_archive ----------------------------------------------------------------------------- */

static const char *const wal_archive_sql[] = {
    "SELECT pg_catalog.pg_is_in_recovery()",
    "SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN ('archive_mode', "
    "'archive_command', 'archive_timeout', 'archive_library')",
    "SELECT archived_count, last_archived_wal, extract(epoch FROM last_archived_time)::bigint, "
    "failed_count, last_failed_wal, extract(epoch FROM last_failed_time)::bigint, "
    "extract(epoch FROM stats_reset)::bigint, extract(epoch FROM now())::bigint, "
    "CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL "
    "ELSE pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()) END "
    "FROM pg_catalog.pg_stat_archiver",
    /* Last: it needs superuser or pg_monitor; without it only the backlog is unknown. */
    "SELECT count(*), extract(epoch FROM now() - min(modification))::bigint "
    "FROM pg_catalog.pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
};

static int64_t num_or(const char *v, int64_t def)
{
    int64_t n;

    return v && util_parse_i64(v, &n) == 0 ? n : def;
}

/* WAL-G's key for a segment: "<segment>.<compression ext>" (any of lz4, lzma, zst, br, ...). */
static bool is_segment_object(const char *key, const char *base)
{
    size_t n = strlen(base);

    if (strncmp(key, base, n) != 0)
        return false;
    if (key[n] == '\0')
        return true;
    return key[n] == '.' && key[n + 1] && !strchr(key + n + 1, '.');
}

static void wal_s3_listed(const struct s3_error *err, struct s3_listing *l, void *arg)
{
    struct pg_job *job = arg;

    job->s3_req = NULL;
    if (err) {
        job->facts.s3_segment_found = -1;
        json_object_set_new(job->res.details, "s3_error", json_string(err->summary));
    } else {
        job->facts.s3_segment_found = 0;
        for (size_t i = 0; i < l->n_objects; i++) {
            if (is_segment_object(l->objects[i].key, job->segment_base)) {
                job->facts.s3_segment_found = 1;
                job->facts.s3_segment_key = job->fact_strings[6] = xstrdup(l->objects[i].key);
                break;
            }
        }
        if (!job->facts.s3_segment_found)
            job->facts.s3_segment_key = job->segment_base;
    }
    walarchive_evaluate(&job->facts, &job->res);
    json_object_set_new(job->res.details, "s3_prefix", json_string(job->ws->target.prefix));
    job->s3_done = true;
    job_finish_if_done(job);
}

static void wal_s3_opened(struct check_run *run, struct walg_s3 *ws, bool cancelled, void *arg)
{
    struct pg_job *job = arg;
    const char *root = ws->target.root;
    struct s3_list_opts o = {0};

    job->ws = ws;
    if (cancelled || !ws->client) {
        job->facts.s3_segment_found = -1;
        walarchive_evaluate(&job->facts, &job->res);
        if (!cancelled)
            json_object_set_new(job->res.details, "s3_error", json_string(ws->error));
        job->s3_done = true;
        job_finish_if_done(job);
        return;
    }
    job->segment_base = *root ? xasprintf("%s/wal_005/%s", root, job->facts.last_archived_wal)
                              : xasprintf("wal_005/%s", job->facts.last_archived_wal);
    o.prefix = job->segment_base;
    o.page_size = 20;
    o.max_pages = 1;
    if (s3_list(ws->client, &o, wal_s3_listed, job, &job->s3_req) < 0) {
        job->facts.s3_segment_found = -1;
        walarchive_evaluate(&job->facts, &job->res);
        job->s3_done = true;
        job_finish_if_done(job);
    }
    (void)run;
}

static void wal_archive_evaluate(struct pg_job *job, struct pgconn_result *res)
{
    struct walarchive_facts f;
    bool backlog_known = res->n_results == ARRAY_LEN(wal_archive_sql) && res->rc == 0;

    /* Every statement but the backlog one must have answered. */
    if (res->n_results < 3 || (res->rc < 0 && res->n_results < ARRAY_LEN(wal_archive_sql))) {
        pg_failed(job, res);
        return;
    }
    walarchive_facts_init(&f);
    f.in_recovery = job->in_recovery;
    for (int i = 0; i < pgconn_rows(res, 1); i++) {
        const char *name = pgconn_value(res, 1, i, 0), *v = pgconn_value(res, 1, i, 1);

        if (!name || !v)
            continue;
        if (strcmp(name, "archive_mode") == 0)
            f.archive_mode = v;
        else if (strcmp(name, "archive_command") == 0)
            f.archive_command = v;
        else if (strcmp(name, "archive_library") == 0)
            f.archive_library = v;
        else if (strcmp(name, "archive_timeout") == 0)
            f.archive_timeout_s = num_or(v, 0);
    }
    f.archived_count = num_or(pgconn_value(res, 2, 0, 0), 0);
    f.last_archived_wal = pgconn_value(res, 2, 0, 1);
    f.last_archived_at_s = num_or(pgconn_value(res, 2, 0, 2), WALARCHIVE_UNKNOWN_TIME);
    f.failed_count = num_or(pgconn_value(res, 2, 0, 3), 0);
    f.last_failed_wal = pgconn_value(res, 2, 0, 4);
    f.last_failed_at_s = num_or(pgconn_value(res, 2, 0, 5), WALARCHIVE_UNKNOWN_TIME);
    f.stats_reset_at_s = num_or(pgconn_value(res, 2, 0, 6), WALARCHIVE_UNKNOWN_TIME);
    f.now_s = num_or(pgconn_value(res, 2, 0, 7), job->run->now_s);
    f.current_wal = pgconn_value(res, 2, 0, 8);
    if (backlog_known) {
        f.ready_count = num_or(pgconn_value(res, 3, 0, 0), 0);
        f.oldest_ready_age_s = num_or(pgconn_value(res, 3, 0, 1), -1);
    }
    f.prev_failed_count = prev_failed_count;
    prev_failed_count = f.failed_count;
    if (f.last_archived_wal && *f.last_archived_wal && job->run->curlm && !job->run->cancelled) {
        /* The S3 half: keep copies of the facts (res goes away) and look the segment up. */
        const char **strs[] = {&f.archive_mode,      &f.archive_command, &f.archive_library,
                               &f.last_archived_wal, &f.last_failed_wal, &f.current_wal};

        for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
            if (*strs[i]) {
                job->fact_strings[i] = xstrdup(*strs[i]);
                *strs[i] = job->fact_strings[i];
            }
        }
        job->facts = f;
        job->s3_done = false;
        walg_s3_open(job->run, wal_s3_opened, job);
        return;
    }
    walarchive_evaluate(&f, &job->res);
}

static void wal_archive_start(struct check_run *run)
{
    pg_job_start(run, wal_archive_sql, ARRAY_LEN(wal_archive_sql), wal_archive_evaluate, true);
}

const struct check_def check_wal_archive = {
    .name = "wal_archive",
    .start = wal_archive_start,
    .cancel = pg_job_cancel,
};

/* ---- pg_hba ---------------------------------------------------------------------------------- */

static const char *const pg_hba_sql[] = {
    "SELECT pg_catalog.pg_is_in_recovery()",
    "SELECT line_number, type, database, user_name, address, netmask, auth_method, error "
    "FROM pg_catalog.pg_hba_file_rules ORDER BY line_number",
};

extern char **environ;

static void pg_hba_evaluate(struct pg_job *job, struct pgconn_result *res)
{
    const struct config *cfg = job->run->cfg;
    struct hba_rules rules;
    const char *peer = util_env_get(environ, "POD_IP");
    int rows;

    if (res->kind == PGCONN_ERR_AUTH) {
        /* The agent's own login was refused: that is this check's verdict, in the server's
         * words (the agent logs in like Patroni and postgres_backup.sh do). */
        char target[256];

        describe_target(cfg, target, sizeof(target));
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
        pg_failed(job, res);
        return;
    }
    hba_rules_init(&rules);
    rows = pgconn_rows(res, 1);
    for (int i = 0; i < rows; i++) {
        int64_t line = num_or(pgconn_value(res, 1, i, 0), 0);

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

static void pg_hba_start(struct check_run *run)
{
    pg_job_start(run, pg_hba_sql, ARRAY_LEN(pg_hba_sql), pg_hba_evaluate, false);
}

const struct check_def check_pg_hba = {
    .name = "pg_hba",
    .start = pg_hba_start,
    .cancel = pg_job_cancel,
};

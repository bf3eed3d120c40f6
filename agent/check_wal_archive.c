/* check_wal_archive.c - glue of the wal_archive check: the pgjob session (statements below), then,
 * when PostgreSQL names a last archived segment, a look for it in S3 (walg_s3), then the pure
 * walarchive_evaluate() decides. Owns the little state kept between runs (the previous
 * failed_count). */
#include "check_wal_archive.h"

#include <stdlib.h>
#include <string.h>

#include "pgjob.h"
#include "util.h"
#include "walarchive.h"
#include "walg_s3.h"

struct wal_job {
    struct pg_job pg; /* first: pgjob allocates and frees the whole struct */
    /* the S3 half: the facts wait here while the segment is looked up */
    struct walarchive_facts facts;
    char *fact_strings[8]; /* copies the facts point to */
    struct walg_s3 *ws;
    struct s3_request *s3_req;
    char *segment_base; /* <root>/wal_005/<segment> */
};

/* failed_count of the previous run, to tell failures new since then: kept by the registry
 * (check_run_kept) as a malloc'd int64_t. */
static const char prev_failed_tag = 0;

static int64_t *prev_failed(struct check_run *run)
{
    void **kept = check_run_kept(run, &prev_failed_tag, free);

    if (!*kept) {
        int64_t *v = xmalloc(sizeof(*v));

        *v = -1;
        *kept = v;
    }
    return *kept;
}

/* ---- the session ----------------------------------------------------------------------------- */

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

static void wal_s3_listed_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct wal_job *job = arg;

    job->s3_req = NULL;
    if (err) {
        job->facts.s3_segment_found = -1;
        json_object_set_new(job->pg.res.details, "s3_error", json_string(err->summary));
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
    walarchive_evaluate(&job->facts, &job->pg.res);
    json_object_set_new(job->pg.res.details, "s3_prefix", json_string(job->ws->target.prefix));
    job->pg.extra_done = true;
    pg_job_finish_if_done(&job->pg);
}

static void wal_s3_opened_cb(struct check_run *run, struct walg_s3 *ws, bool cancelled, void *arg)
{
    struct wal_job *job = arg;
    const char *root = ws->target.root;
    struct s3_list_opts o = {0};

    job->ws = ws;
    if (cancelled || !ws->client) {
        job->facts.s3_segment_found = -1;
        walarchive_evaluate(&job->facts, &job->pg.res);
        if (!cancelled)
            json_object_set_new(job->pg.res.details, "s3_error", json_string(ws->error));
        job->pg.extra_done = true;
        pg_job_finish_if_done(&job->pg);
        return;
    }
    job->segment_base = *root ? xasprintf("%s/wal_005/%s", root, job->facts.last_archived_wal)
                              : xasprintf("wal_005/%s", job->facts.last_archived_wal);
    o.prefix = job->segment_base;
    o.page_size = 20;
    o.max_pages = 1;
    if (s3_list(ws->client, &o, wal_s3_listed_cb, job, &job->s3_req) < 0) {
        job->facts.s3_segment_found = -1;
        walarchive_evaluate(&job->facts, &job->pg.res);
        job->pg.extra_done = true;
        pg_job_finish_if_done(&job->pg);
    }
    (void)run;
}

/* The session's answers into facts; then the S3 half, or walarchive_evaluate() at once. */
static void wal_archive_from_session(struct pg_job *pg, struct pgconn_result *res)
{
    struct wal_job *job = (struct wal_job *)pg;
    struct walarchive_facts f;
    int64_t *prev;
    bool backlog_known = res->n_results == ARRAY_LEN(wal_archive_sql) && res->rc == 0;

    /* Every statement but the backlog one must have answered. */
    if (res->n_results < 3 || (res->rc < 0 && res->n_results < ARRAY_LEN(wal_archive_sql))) {
        pg_job_failed(pg, res);
        return;
    }
    walarchive_facts_init(&f);
    f.in_recovery = pg->in_recovery;
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
            f.archive_timeout_s = pg_job_num_or(v, 0);
    }
    f.archived_count = pg_job_num_or(pgconn_value(res, 2, 0, 0), 0);
    f.last_archived_wal = pgconn_value(res, 2, 0, 1);
    f.last_archived_at_s = pg_job_num_or(pgconn_value(res, 2, 0, 2), WALARCHIVE_UNKNOWN_TIME);
    f.failed_count = pg_job_num_or(pgconn_value(res, 2, 0, 3), 0);
    f.last_failed_wal = pgconn_value(res, 2, 0, 4);
    f.last_failed_at_s = pg_job_num_or(pgconn_value(res, 2, 0, 5), WALARCHIVE_UNKNOWN_TIME);
    f.stats_reset_at_s = pg_job_num_or(pgconn_value(res, 2, 0, 6), WALARCHIVE_UNKNOWN_TIME);
    f.now_s = pg_job_num_or(pgconn_value(res, 2, 0, 7), pg->run->now_s);
    f.current_wal = pgconn_value(res, 2, 0, 8);
    if (backlog_known) {
        f.ready_count = pg_job_num_or(pgconn_value(res, 3, 0, 0), 0);
        f.oldest_ready_age_s = pg_job_num_or(pgconn_value(res, 3, 0, 1), -1);
    }
    prev = prev_failed(pg->run);
    f.prev_failed_count = *prev;
    *prev = f.failed_count;
    if (f.last_archived_wal && *f.last_archived_wal && pg->run->curlm && !pg->run->cancelled) {
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
        job->pg.extra_done = false;
        walg_s3_open(job->pg.run, wal_s3_opened_cb, job);
        return;
    }
    walarchive_evaluate(&f, &job->pg.res);
}

static void wal_archive_cancel_extra(struct pg_job *pg)
{
    struct wal_job *job = (struct wal_job *)pg;

    if (job->s3_req) {
        s3_cancel(job->s3_req);
        job->s3_req = NULL;
        job->facts.s3_segment_found = -1;
        walarchive_evaluate(&job->facts, &pg->res);
        pg->extra_done = true;
    }
}

static void wal_archive_release(struct pg_job *pg)
{
    struct wal_job *job = (struct wal_job *)pg;

    for (size_t i = 0; i < ARRAY_LEN(job->fact_strings); i++)
        free(job->fact_strings[i]);
    walg_s3_release(job->ws);
    free(job->segment_base);
}

static const struct pg_job_ops wal_archive_ops = {
    .size = sizeof(struct wal_job),
    .sql = wal_archive_sql,
    .n_sql = ARRAY_LEN(wal_archive_sql),
    .patroni = true,
    .evaluate = wal_archive_from_session,
    .cancel_extra = wal_archive_cancel_extra,
    .release = wal_archive_release,
};

static void wal_archive_start(struct check_run *run)
{
    pg_job_start(run, &wal_archive_ops);
}

const struct check_def check_wal_archive = {
    .name = "wal_archive",
    .start = wal_archive_start,
    .cancel = pg_job_cancel,
};

/* metrics.c - renders /metrics from a snapshot: one HELP/TYPE pair per family, label values
 * escaped, families whose source check has not produced the value yet are left out (absent, not
 * zero, so that alerts with absent() guards can tell "no data" from "0"). */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(struct buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            buf_puts(out, "\\\\");
        else if (*v == '"')
            buf_puts(out, "\\\"");
        else if (*v == '\n')
            buf_puts(out, "\\n");
        else
            buf_append(out, v, 1);
    }
}

static void sample(struct buf *out, const char *name, const char *label, const char *lvalue,
                   double value)
{
    buf_puts(out, name);
    if (label) {
        buf_printf(out, "{%s=\"", label);
        label_value(out, lvalue);
        buf_puts(out, "\"}");
    }
    {
        char num[32];

        metrics_format_number(value, num, sizeof(num));
        buf_printf(out, " %s\n", num);
    }
}

void metrics_format_number(double v, char *out, size_t len)
{
    if (isnan(v)) {
        snprintf(out, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        /* exact integers (counts, Unix times) stay plain, as every scraper and test expects */
        snprintf(out, len, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static json_t *details_of(const struct snapshot *s, const char *check)
{
    const struct check_snap *c = status_find(s, check);

    return c && c->has_run && c->details ? c->details : NULL;
}

/* Value at a dotted path of a check's details: numbers, booleans (1/0) and RFC 3339 strings
 * (seconds since the epoch). Returns false when absent or null. */
static bool detail_number(const struct snapshot *s, const char *check, const char *path,
                          double *out)
{
    json_t *v = details_of(s, check);
    char key[64];
    const char *p = path;

    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);

        if (n >= sizeof(key))
            return false;
        memcpy(key, p, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        p = dot ? dot + 1 : p + n;
    }
    if (!v)
        return false;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? 1 : 0;
        return true;
    }
    if (json_is_string(v)) {
        int64_t t;

        if (util_parse_rfc3339(json_string_value(v), &t, NULL) == 0) {
            *out = (double)t;
            return true;
        }
    }
    return false;
}

struct detail_metric {
    const char *name;
    const char *type;
    const char *check;
    const char *path;
    const char *help;
};

static const struct detail_metric detail_metrics[] = {
    {"spilo_agent_backup_last_finish_timestamp_seconds", "gauge", "backups", "latest.finish_time",
     "Finish time of the newest complete base backup."},
    {"spilo_agent_backup_expected_timestamp_seconds", "gauge", "backups", "previous_scheduled_at",
     "Latest time BACKUP_SCHEDULE wanted a base backup."},
    {"spilo_agent_backup_next_expected_timestamp_seconds", "gauge", "backups", "next_scheduled_at",
     "Next time BACKUP_SCHEDULE wants a base backup."},
    {"spilo_agent_backup_missed", "gauge", "backups", "missed",
     "1 when no base backup finished since the latest scheduled time plus grace."},
    {"spilo_agent_backups", "gauge", "backups", "count",
     "Number of complete full base backups under the prefix."},
    {"spilo_agent_backup_count", "untyped", "backups", "count",
     "Deprecated: use spilo_agent_backups (same value); removed in the next release."},
    {"spilo_agent_backup_last_abandoned_timestamp_seconds", "gauge", "backups", "last_abandoned_at",
     "Newest object of the newest backup that was started but never finished; absent when none."},
    {"spilo_agent_wal_first_recoverability_timestamp_seconds", "gauge", "backups",
     "wal_chain.window.first_recoverability_at",
     "Start of the oldest base backup restorable to now (WAL unbroken from it to the newest "
     "archived segment): the recovery window starts here."},
    {"spilo_agent_wal_last_archived_timestamp_seconds", "gauge", "backups",
     "wal_chain.window.last_archived_at", "LastModified of the newest WAL segment in wal_005/."},
    {"spilo_agent_wal_gaps", "gauge", "backups", "wal_chain.relevant_gaps",
     "Gaps in wal_005/ that cut at least one base backup off from recovery past them."},
    {"spilo_agent_backups_restorable", "gauge", "backups", "wal_chain.restorable_backups",
     "Complete base backups restorable to now (WAL unbroken to the newest segment)."},
    {"spilo_agent_backup_retain", "gauge", "backups", "retain",
     "Expected number of full base backups (BACKUP_NUM_TO_RETAIN)."},
    {"spilo_agent_backup_in_progress", "gauge", "backups", "in_progress",
     "1 while a base backup without sentinel is being uploaded."},
    {"spilo_agent_backup_last_compressed_bytes", "gauge", "backups", "latest.compressed_size",
     "Compressed size of the newest base backup."},
    {"spilo_agent_backup_last_uncompressed_bytes", "gauge", "backups", "latest.uncompressed_size",
     "Uncompressed size of the newest base backup."},
    {"spilo_agent_wal_archive_failed_total", "counter", "wal_archive", "failed_count",
     "WAL segments PostgreSQL failed to archive (pg_stat_archiver.failed_count)."},
    {"spilo_agent_wal_archive_archived_total", "counter", "wal_archive", "archived_count",
     "WAL segments PostgreSQL archived (pg_stat_archiver.archived_count)."},
    {"spilo_agent_wal_archive_last_success_timestamp_seconds", "gauge", "wal_archive",
     "last_archived_time", "Time of the last successful WAL archive."},
    {"spilo_agent_wal_archive_last_failure_timestamp_seconds", "gauge", "wal_archive",
     "last_failed_time", "Time of the last failed WAL archive attempt."},
    {"spilo_agent_restore_cleanup_pending", "gauge", "restore", "cleanup_pending",
     "1 when a finished restore left CLONE_* settings to remove."},
};

/* One 0/1 series per catalogued cause of every check that has run (the state-set pattern of
 * kube_pod_status_phase): the alert for a cause selects it, and the series stays put when the
 * cause goes away, so the alert resolves on the next evaluation. */
static void causes_render(const struct snapshot *s, struct buf *out)
{
    bool any = false;

    for (size_t i = 0; i < s->n_checks; i++) {
        const struct check_snap *c = &s->checks[i];

        if (!c->has_run)
            continue;
        for (size_t k = 0; k < CAUSE_COUNT; k++) {
            if (strcmp(cause_catalogue[k].check, c->name) != 0)
                continue;
            if (!any)
                family(out, "spilo_agent_check_cause", "gauge",
                       "1 while this catalogued cause makes the check critical, else 0 "
                       "(docs/checks/catalogue.md).");
            any = true;
            buf_printf(out, "spilo_agent_check_cause{check=\"");
            label_value(out, c->name);
            buf_puts(out, "\",cause=\"");
            label_value(out, cause_catalogue[k].id);
            buf_printf(out, "\"} %d\n", c->causes[k] ? 1 : 0);
        }
    }
}

static void process_render(const struct procstat *p, struct buf *out)
{
    if (p->ok) {
        family(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        sample(out, "process_cpu_seconds_total", NULL, NULL, p->cpu_seconds);
        family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        sample(out, "process_resident_memory_bytes", NULL, NULL, p->resident_bytes);
        family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        sample(out, "process_virtual_memory_bytes", NULL, NULL, p->virtual_bytes);
        family(out, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.");
        sample(out, "process_start_time_seconds", NULL, NULL, p->start_time_s);
    }
    if (p->open_fds >= 0) {
        family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
        sample(out, "process_open_fds", NULL, NULL, p->open_fds);
    }
    if (p->max_fds >= 0) {
        family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        sample(out, "process_max_fds", NULL, NULL, p->max_fds);
    }
}

void metrics_render(const struct snapshot *s, const struct procstat *proc, struct buf *out)
{
    char reason[128];
    double v;

    family(out, "spilo_agent_up", "gauge", "1 while the agent's event loop answers.");
    sample(out, "spilo_agent_up", NULL, NULL, 1);
    family(out, "spilo_agent_build_info", "gauge", "Build information; always 1.");
    sample(out, "spilo_agent_build_info", "version", agent_version, 1);
    family(out, "spilo_agent_ready", "gauge",
           "1 once the configuration is loaded and every check has run once.");
    sample(out, "spilo_agent_ready", NULL, NULL, status_ready(s, reason, sizeof(reason)));
    family(out, "spilo_agent_start_time_seconds", "gauge", "Start time of the agent.");
    sample(out, "spilo_agent_start_time_seconds", NULL, NULL, (double)s->started_at_s);

    family(
        out, "spilo_agent_status", "gauge",
        "Overall status, as /status and the exit code of `check`: 0 ok, 1 warning, 2 critical, 3 "
        "unknown (critical > warning > unknown > ok).");
    sample(out, "spilo_agent_status", NULL, NULL, status_overall(s, util_now_s(), NULL, 0));
    family(out, "spilo_agent_check_status", "gauge",
           "Verdict of the last run: 0 ok, 1 warning, 2 critical, 3 unknown.");
    for (size_t i = 0; i < s->n_checks; i++)
        sample(out, "spilo_agent_check_status", "check", s->checks[i].name,
               s->checks[i].has_run ? s->checks[i].status : VERDICT_UNKNOWN);
    family(out, "spilo_agent_check_duration_seconds", "gauge", "Duration of the last run.");
    for (size_t i = 0; i < s->n_checks; i++)
        sample(out, "spilo_agent_check_duration_seconds", "check", s->checks[i].name,
               (double)s->checks[i].duration_ms / 1000.0);
    family(out, "spilo_agent_check_last_run_timestamp_seconds", "gauge",
           "When the last run finished; absent before the first run.");
    for (size_t i = 0; i < s->n_checks; i++) {
        if (s->checks[i].has_run)
            sample(out, "spilo_agent_check_last_run_timestamp_seconds", "check", s->checks[i].name,
                   (double)s->checks[i].checked_at_s);
    }
    family(out, "spilo_agent_check_runs_total", "counter", "Completed runs per check.");
    for (size_t i = 0; i < s->n_checks; i++)
        sample(out, "spilo_agent_check_runs_total", "check", s->checks[i].name,
               (double)s->checks[i].runs);
    family(out, "spilo_agent_check_overlaps_total", "counter",
           "Scheduled runs skipped because the previous run was still going.");
    for (size_t i = 0; i < s->n_checks; i++)
        sample(out, "spilo_agent_check_overlaps_total", "check", s->checks[i].name,
               (double)s->checks[i].overlaps);
    if (proc)
        process_render(proc, out);

    causes_render(s, out);
    {
        const struct check_snap *hba = status_find(s, "pg_hba");

        if (hba && hba->has_run && hba->status != VERDICT_UNKNOWN) {
            family(out, "spilo_agent_pg_hba_ok", "gauge",
                   "1 when pg_hba lets every connection Spilo needs in.");
            sample(out, "spilo_agent_pg_hba_ok", NULL, NULL, hba->status != VERDICT_CRITICAL);
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(detail_metrics); i++) {
        const struct detail_metric *m = &detail_metrics[i];

        if (!detail_number(s, m->check, m->path, &v))
            continue;
        family(out, m->name, m->type, m->help);
        sample(out, m->name, NULL, NULL, v);
    }
}

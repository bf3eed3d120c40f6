/* walarchive.c - decides the wal_archive verdict from what PostgreSQL says about archiving: is it
 * on, does it use WAL-G, is it failing (failed_count rising, last failure newer than last
 * success), is a backlog of .ready segments growing. Pure. */
#include "walarchive.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define BACKLOG_WARN_S (10 * 60)
#define BACKLOG_CRIT_S (60 * 60)

void walarchive_facts_init(struct walarchive_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->archive_mode = "";
    f->archive_command = "";
    f->archive_library = "";
    f->last_archived_at_s = WALARCHIVE_UNKNOWN_TIME;
    f->last_failed_at_s = WALARCHIVE_UNKNOWN_TIME;
    f->stats_reset_at_s = WALARCHIVE_UNKNOWN_TIME;
    f->ready_count = -1;
    f->oldest_ready_age_s = -1;
    f->prev_failed_count = -1;
    f->s3_segment_found = -1;
}

const char *walarchive_shown_command(const char *cmd)
{
    static const char *const secret_words[] = {"SECRET", "PASSWORD", "TOKEN", "ACCESS_KEY"};

    for (size_t i = 0; i < ARRAY_LEN(secret_words); i++) {
        if (strcasestr(cmd, secret_words[i]))
            return "***";
    }
    return cmd;
}

static json_t *time_or_null(int64_t t)
{
    char buf[32];

    if (t == WALARCHIVE_UNKNOWN_TIME)
        return json_null();
    util_format_rfc3339(t, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void age_text(int64_t s, char *buf, size_t len)
{
    if (s < 120)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 2 * 3600)
        snprintf(buf, len, "%lldm", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(buf, len, "%lldd", (long long)(s / 86400));
}

/* Whether a word of the command (quotes stripped, any directory dropped) is the program NAME.
 * Spilo's command is `envdir "/run/etc/wal-e.d/env" wal-g wal-push "%p"`: the envdir's path
 * holds "wal-e" whichever program archives (spilo configure_spilo.py: archive_command is
 * 'envdir "{WALE_ENV_DIR}" {WALE_BINARY} wal-push "%p"'), so a substring test is not enough. */
static bool command_runs(const char *cmd, const char *name)
{
    size_t n = strlen(name);
    const char *p = cmd;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '"' && *p != '\'')
            p++;
        const char *base = w;
        for (const char *q = w; q < p; q++)
            if (*q == '/')
                base = q + 1;
        if ((size_t)(p - base) == n && memcmp(base, name, n) == 0)
            return true;
    }
    return false;
}

void walarchive_evaluate(const struct walarchive_facts *f, struct check_result *out)
{
    json_t *d = out->details;
    char at[32], at2[32], age[32];
    bool walg = command_runs(f->archive_command, "wal-g");
    bool wale = !walg && command_runs(f->archive_command, "wal-e");
    bool noop =
        (strcmp(f->archive_command, "/bin/true") == 0 || strcmp(f->archive_command, "true") == 0 ||
         strcmp(f->archive_command, "") == 0 || strcmp(f->archive_command, ":") == 0) &&
        !*f->archive_library;
    bool archiver_active = !f->in_recovery || strcmp(f->archive_mode, "always") == 0;
    int64_t new_failures = f->prev_failed_count >= 0 && f->failed_count >= f->prev_failed_count
                               ? f->failed_count - f->prev_failed_count
                               : 0;
    bool failing_now = f->last_failed_at_s != WALARCHIVE_UNKNOWN_TIME &&
                       (f->last_archived_at_s == WALARCHIVE_UNKNOWN_TIME ||
                        f->last_failed_at_s > f->last_archived_at_s);

    json_object_set_new(d, "role", json_string(f->in_recovery ? "replica" : "leader"));
    json_object_set_new(d, "archive_mode", json_string(f->archive_mode));
    json_object_set_new(d, "archive_command",
                        json_string(walarchive_shown_command(f->archive_command)));
    json_object_set_new(d, "archiver",
                        json_string(walg   ? "wal-g"
                                    : wale ? "wal-e"
                                    : noop ? "none"
                                           : "other"));
    json_object_set_new(d, "archive_timeout_seconds", json_integer(f->archive_timeout_s));
    json_object_set_new(d, "archived_count", json_integer(f->archived_count));
    json_object_set_new(d, "last_archived_wal", str_or_null(f->last_archived_wal));
    json_object_set_new(d, "last_archived_time", time_or_null(f->last_archived_at_s));
    json_object_set_new(d, "failed_count", json_integer(f->failed_count));
    json_object_set_new(d, "failed_since_last_check", json_integer(new_failures));
    json_object_set_new(d, "last_failed_wal", str_or_null(f->last_failed_wal));
    json_object_set_new(d, "last_failed_time", time_or_null(f->last_failed_at_s));
    json_object_set_new(d, "stats_reset", time_or_null(f->stats_reset_at_s));
    json_object_set_new(d, "ready_count",
                        f->ready_count >= 0 ? json_integer(f->ready_count) : json_null());
    json_object_set_new(d, "oldest_ready_age_seconds",
                        f->oldest_ready_age_s >= 0 ? json_integer(f->oldest_ready_age_s)
                                                   : json_null());
    json_object_set_new(d, "current_wal", str_or_null(f->current_wal));
    if (f->last_archived_at_s != WALARCHIVE_UNKNOWN_TIME)
        json_object_set_new(d, "last_archived_age_seconds",
                            json_integer(f->now_s - f->last_archived_at_s));
    else
        json_object_set_new(d, "last_archived_age_seconds", json_null());
    json_object_set_new(d, "s3_segment_key", str_or_null(f->s3_segment_key));
    json_object_set_new(d, "s3_segment_found",
                        f->s3_segment_found < 0 ? json_null() : json_boolean(f->s3_segment_found));

    if (strcmp(f->archive_mode, "off") == 0) {
        check_result_set(out, VERDICT_CRITICAL,
                         "archive_mode is off: no WAL reaches S3, so a restore can only go back to "
                         "the last base backup; Spilo turns archiving on when a WAL bucket is "
                         "configured (WAL_S3_BUCKET or WALG_S3_PREFIX in the pod environment)");
        check_result_cause(out, CAUSE_WAL_ARCHIVE_MODE_OFF);
        return;
    }
    if (noop) {
        check_result_set(out, VERDICT_CRITICAL,
                         "archive_command is '%s': Spilo found no WAL storage when it started and "
                         "archives nothing; set WAL_S3_BUCKET or WALG_S3_PREFIX in the pod "
                         "environment ConfigMap and restart the pod",
                         f->archive_command);
        check_result_cause(out, CAUSE_WAL_ARCHIVE_NOOP);
        return;
    }
    if (!archiver_active) {
        check_result_set(out, VERDICT_OK,
                         "replica: WAL is archived by the leader (archive_mode=%s); last archive "
                         "statistics of this member are in details",
                         f->archive_mode);
        return;
    }
    if (failing_now) {
        util_format_rfc3339(f->last_failed_at_s, at, sizeof(at));
        if (f->last_archived_at_s != WALARCHIVE_UNKNOWN_TIME) {
            util_format_rfc3339(f->last_archived_at_s, at2, sizeof(at2));
            check_result_set(out, VERDICT_CRITICAL,
                             "WAL archiving is failing: segment %s failed at %s (%lld failures in "
                             "all), the last success was %s at %s; see the PostgreSQL log for "
                             "wal-push errors (credentials, bucket, endpoint)",
                             f->last_failed_wal ? f->last_failed_wal : "?", at,
                             (long long)f->failed_count,
                             f->last_archived_wal ? f->last_archived_wal : "?", at2);
            check_result_cause(out, CAUSE_WAL_ARCHIVE_FAILING);
        } else {
            check_result_set(out, VERDICT_CRITICAL,
                             "WAL archiving has never succeeded: segment %s failed at %s (%lld "
                             "failures); see the PostgreSQL log for wal-push errors (credentials, "
                             "bucket, endpoint)",
                             f->last_failed_wal ? f->last_failed_wal : "?", at,
                             (long long)f->failed_count);
            check_result_cause(out, CAUSE_WAL_ARCHIVE_NEVER);
        }
        return;
    }
    if (f->oldest_ready_age_s >= BACKLOG_CRIT_S ||
        (f->archive_timeout_s > 0 && f->oldest_ready_age_s >= 2 * f->archive_timeout_s &&
         f->oldest_ready_age_s >= BACKLOG_WARN_S)) {
        age_text(f->oldest_ready_age_s, age, sizeof(age));
        check_result_set(
            out, f->oldest_ready_age_s >= BACKLOG_CRIT_S ? VERDICT_CRITICAL : VERDICT_WARNING,
            "%lld WAL segments wait for archiving, the oldest for %s: wal-push is "
            "too slow or stuck; check the PostgreSQL log and S3 throughput",
            (long long)f->ready_count, age);
        check_result_cause(out, CAUSE_WAL_ARCHIVE_BACKLOG);
        return;
    }
    if (new_failures > 0) {
        check_result_set(out, VERDICT_WARNING,
                         "%lld WAL archive attempts failed since the last check, but the latest "
                         "segment %s was archived after them; watch the PostgreSQL log",
                         (long long)new_failures,
                         f->last_archived_wal ? f->last_archived_wal : "?");
        return;
    }
    if (f->s3_segment_found == 0) {
        check_result_set(out, VERDICT_CRITICAL,
                         "PostgreSQL archived %s, but it is not under %s in S3: WAL goes "
                         "somewhere else than the prefix the backups are checked in (compare "
                         "WALG_S3_PREFIX with the archive_command's envdir)",
                         f->last_archived_wal ? f->last_archived_wal : "?",
                         f->s3_segment_key ? f->s3_segment_key : "wal_005/");
        check_result_cause(out, CAUSE_WAL_ARCHIVE_ELSEWHERE);
        return;
    }
    if (wale) {
        check_result_set(out, VERDICT_WARNING,
                         "WAL is archived with WAL-E, not WAL-G; set USE_WALG_BACKUP=true in the "
                         "pod environment ConfigMap");
        return;
    }
    if (f->last_archived_at_s == WALARCHIVE_UNKNOWN_TIME) {
        check_result_set(out, VERDICT_OK,
                         "archiving is on (%s) and has not failed; no WAL segment completed since "
                         "the statistics were reset",
                         walg ? "wal-g" : "archive_command");
        return;
    }
    util_format_rfc3339(f->last_archived_at_s, at, sizeof(at));
    age_text(f->now_s - f->last_archived_at_s, age, sizeof(age));
    check_result_set(
        out, VERDICT_OK, "WAL archiving works: %s archived at %s (%s ago), %lld failures in all",
        f->last_archived_wal ? f->last_archived_wal : "?", at, age, (long long)f->failed_count);
}

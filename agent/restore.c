/* restore.c - the restore verdict from gathered facts. */
#include "restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void restore_facts_init(struct restore_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->in_recovery = -1;
    f->own_backups = -1;
    f->source_backups = -1;
    f->own_first_backup_s = RESTORE_NO_TIME;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* "CLONE_A, CLONE_B and 3 more" */
static void key_list(const struct restore_facts *f, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < f->n_clone_keys && used < len; i++) {
        if (i == 6) {
            snprintf(out + used, len - used, " and %zu more", f->n_clone_keys - i);
            return;
        }
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", f->clone_keys[i]);
    }
}

static bool scheme_bad(const char *ep)
{
    const char *sep = ep ? strstr(ep, "://") : NULL;

    if (!ep || !*ep)
        return false;
    if (!sep)
        return true;
    if (memchr(ep, '+', (size_t)(sep - ep)))
        return true;
    return !((sep - ep == 5 && strncmp(ep, "https", 5) == 0) ||
             (sep - ep == 4 && strncmp(ep, "http", 4) == 0));
}

/* Two prefixes whose object keys overlap: WAL-G writes <root>/basebackups_005/... and
 * <root>/wal_005/... only, so the keys of two roots meet only when the roots are the same (an
 * old-layout source .../wal and a cluster writing .../wal/14 do not share a key). */
static bool same_prefix(const char *a, const char *b)
{
    size_t la, lb;

    if (!a || !b)
        return false;
    la = strlen(a);
    lb = strlen(b);
    while (la > 0 && a[la - 1] == '/')
        la--;
    while (lb > 0 && b[lb - 1] == '/')
        lb--;
    return la && la == lb && strncmp(a, b, la) == 0;
}

bool restore_scope_settings(const char *root, const char *scope, char *prefix, size_t plen,
                            char *suffix, size_t slen)
{
    const char *p, *end, *at;
    size_t n = scope ? strlen(scope) : 0;

    if (!root || n == 0)
        return false;
    p = strncmp(root, "s3://", 5) == 0 ? strchr(root + 5, '/') : root - 1;
    if (!p || strncmp(p + 1, "spilo/", 6) != 0)
        return false;
    p += 7;
    end = strstr(p, "/wal");
    if (!end || (end[4] != '\0' && end[4] != '/'))
        return false;
    for (at = p; at + n <= end; at++) {
        if (strncmp(at, scope, n) == 0 && (at + n == end || at[n] == '/')) {
            snprintf(prefix, plen, "%.*s", (int)(at - p), p);
            snprintf(suffix, slen, "%.*s", (int)(end - at - (long)n), at + n);
            return true;
        }
    }
    return false;
}

/* Why a clone source holds no base backup, and where the backups probably are. */
static void no_backup_hint(const struct restore_facts *f, char *out, size_t len)
{
    size_t used = 0;
    const char *scope = f->clone_scope ? f->clone_scope : "<scope>";

    out[0] = '\0';
    if (f->n_siblings > 0) {
        used += (size_t)snprintf(out + used, len - used, "; backups are under");
        for (size_t i = 0; i < f->n_siblings && used < len; i++) {
            char pfx[128], sfx[256];

            if (restore_scope_settings(f->siblings[i], f->clone_scope, pfx, sizeof(pfx), sfx,
                                       sizeof(sfx)))
                used += (size_t)snprintf(out + used, len - used,
                                         "%s %s (reached with CLONE_WAL_BUCKET_SCOPE_PREFIX=%s "
                                         "and CLONE_WAL_BUCKET_SCOPE_SUFFIX=%s%s)",
                                         i ? ";" : "", f->siblings[i], *pfx ? pfx : "\"\"",
                                         *sfx ? sfx : "\"\"", *sfx ? "" : " (empty)");
            else
                used += (size_t)snprintf(out + used, len - used,
                                         "%s %s (reached with CLONE_WALG_S3_PREFIX=%s)",
                                         i ? ";" : "", f->siblings[i], f->siblings[i]);
        }
        return;
    }
    if (f->bucket_in_pod_env && f->namespace && *f->namespace &&
        strcmp(f->namespace, "default") != 0)
        snprintf(out, len,
                 "; likely cause: with WAL_S3_BUCKET in the pod environment and namespace %s, "
                 "Spilo writes to spilo/%s-%s/wal/<major> (WAL_BUCKET_SCOPE_PREFIX defaults to "
                 "\"%s-\", no uid suffix), so the restore needs "
                 "CLONE_WAL_BUCKET_SCOPE_PREFIX=%s- and an empty CLONE_WAL_BUCKET_SCOPE_SUFFIX",
                 f->namespace, f->namespace, scope, f->namespace, f->namespace);
    else
        snprintf(out, len,
                 "; check CLONE_SCOPE, the uid in CLONE_WAL_BUCKET_SCOPE_SUFFIX and the "
                 "bucket");
}

void restore_evaluate(const struct restore_facts *f, struct check_result *out)
{
    json_t *d = out->details;
    bool cloned = f->n_clone_keys > 0 || f->n_clone_envdirs > 0;
    int finished = -1; /* -1 unknown */
    char keys[300], when[32] = "";

    json_object_set_new(d, "cloned", json_boolean(cloned));
    json_object_set_new(d, "clone_keys", string_array(f->clone_keys, f->n_clone_keys));
    json_object_set_new(d, "clone_envdirs", string_array(f->clone_envdirs, f->n_clone_envdirs));
    json_object_set_new(d, "clone_scope", str_or_null(f->clone_scope));
    json_object_set_new(d, "clone_method", str_or_null(f->clone_method));
    json_object_set_new(d, "clone_target_time", str_or_null(f->clone_target_time));
    json_object_set_new(d, "source_prefix", str_or_null(f->source_prefix));
    json_object_set_new(d, "own_prefix", str_or_null(f->own_prefix));
    json_object_set_new(d, "in_recovery",
                        f->in_recovery < 0 ? json_null() : json_boolean(f->in_recovery));
    json_object_set_new(d, "patroni_state", str_or_null(f->patroni_state));
    json_object_set_new(d, "own_backups",
                        f->own_backups < 0 ? json_null() : json_integer(f->own_backups));
    json_object_set_new(d, "source_backups",
                        f->source_backups < 0 ? json_null() : json_integer(f->source_backups));
    if (f->own_first_backup_s != RESTORE_NO_TIME)
        util_format_rfc3339(f->own_first_backup_s, when, sizeof(when));
    json_object_set_new(d, "own_first_backup",
                        f->own_first_backup ? json_pack("{s:s, s:s}", "name", f->own_first_backup,
                                                        "finished_at", when)
                                            : json_null());

    if (!cloned) {
        json_object_set_new(d, "finished", json_null());
        json_object_set_new(d, "cleanup_pending", json_false());
        check_result_set(out, VERDICT_OK,
                         "this cluster is not a clone: no CLONE_* settings and no clone envdir");
        return;
    }
    /* Finished and promoted are PostgreSQL's word (pg_is_in_recovery()), never inferred. */
    if (f->in_recovery == 0 && f->own_backups > 0 &&
        (!f->patroni_state || strcmp(f->patroni_state, "running") == 0))
        finished = 1;
    else if (f->in_recovery == 1 ||
             (f->in_recovery == 0 &&
              (f->own_backups == 0 ||
               (f->patroni_state && strcmp(f->patroni_state, "running") != 0))))
        finished = 0;
    json_object_set_new(d, "restore_state",
                        json_string(f->in_recovery < 0    ? "unknown"
                                    : finished == 1       ? "finished"
                                    : f->in_recovery      ? "in_recovery"
                                    : f->own_backups == 0 ? "promoted"
                                                          : "starting"));
    json_object_set_new(d, "source_found", str_or_null(f->source_found));
    json_object_set_new(d, "siblings", string_array(f->siblings, f->n_siblings));
    json_object_set_new(d, "finished", finished < 0 ? json_null() : json_boolean(finished == 1));
    json_object_set_new(d, "cleanup_pending", json_boolean(finished == 1 && f->n_clone_keys > 0));
    key_list(f, keys, sizeof(keys));

    /* Traps that make (or made) the clone go wrong, worst first. */
    if (same_prefix(f->own_prefix, f->source_found ? f->source_found : f->source_prefix)) {
        check_result_set(
            out, VERDICT_CRITICAL,
            "this cluster writes WAL and backups into the prefix it was cloned from "
            "(%s): it overwrites the source's history; give it its own prefix "
            "(WAL_BUCKET_SCOPE_SUFFIX=/<uid> or WALG_S3_PREFIX) before it archives more",
            f->own_prefix);
        check_result_cause(out, CAUSE_RESTORE_WRITES_INTO_SOURCE);
        return;
    }
    if (finished != 1) {
        char hint[900];

        if (f->scope_suffix && *f->scope_suffix && f->scope_suffix[0] != '/') {
            check_result_set(out, VERDICT_CRITICAL,
                             "CLONE_WAL_BUCKET_SCOPE_SUFFIX \"%s\" does not start with \"/\": the "
                             "clone looks under spilo/%s%s/... where no backup is; set it to "
                             "\"/%s\" (the source cluster's uid)",
                             f->scope_suffix, f->clone_scope ? f->clone_scope : "<scope>",
                             f->scope_suffix, f->scope_suffix);
            check_result_cause(out, CAUSE_RESTORE_SCOPE_SUFFIX);
            return;
        }
        if (scheme_bad(f->endpoint)) {
            check_result_set(out, VERDICT_CRITICAL,
                             "CLONE_AWS_ENDPOINT \"%s\" has a scheme WAL-G rejects (\"unsupported "
                             "protocol scheme\"), so the restore cannot fetch anything; use "
                             "https://<host>[:port] in CLONE_AWS_ENDPOINT (the pod environment "
                             "ConfigMap; spec.clone.s3_endpoint where the manifest has a clone "
                             "section)",
                             f->endpoint);
            check_result_cause(out, CAUSE_RESTORE_ENDPOINT_SCHEME);
            return;
        }
        if (f->source_backups == 0) {
            no_backup_hint(f, hint, sizeof(hint));
            json_object_set_new(d, "source_checked", str_or_null(f->source_checked));
            json_object_set_new(d, "hint", json_string(hint[0] ? hint + 2 : ""));
            check_result_set(out, VERDICT_CRITICAL,
                             "the clone source %s holds no base backup (looked at /wal/<major>/ "
                             "for each major, newest first, then the prefix itself, as "
                             "clone_with_wale.py does), so the restore has nothing to start "
                             "from%s",
                             f->source_prefix ? f->source_prefix : "prefix", hint);
            check_result_cause(out, CAUSE_RESTORE_SOURCE_EMPTY);
            return;
        }
        /* Before the promotion the target decides how recovery ends: unreachable, Spilo's
         * clone_with_wale.py finds no backup to start from, or PostgreSQL stops with "recovery
         * ended before configured recovery target was reached" (xlogrecovery.c, PostgreSQL 13 and
         * later). Once promoted, the target is behind it. */
        if (f->target_unreachable && f->in_recovery < 0) {
            check_result_set(out, VERDICT_CRITICAL, "%s", f->target_unreachable);
            check_result_cause(out, CAUSE_RESTORE_TARGET_UNREACHABLE);
            return;
        }
    }
    if (finished == 1) {
        if (f->n_clone_keys > 0) {
            check_result_set(out, VERDICT_WARNING,
                             "the restore has finished (first own base backup %s at %s), but "
                             "CLONE_* settings are left: %s; remove them with `spilo-agent "
                             "cleanup` (it saves a copy first)",
                             f->own_first_backup ? f->own_first_backup : "?", when, keys);
            return;
        }
        check_result_set(out, VERDICT_OK,
                         "the restore has finished (first own base backup %s at %s) and no "
                         "CLONE_* settings are left",
                         f->own_first_backup ? f->own_first_backup : "?", when);
        return;
    }
    if (finished < 0) {
        check_result_set(out, VERDICT_UNKNOWN,
                         "cannot tell whether the restore from %s has finished: %s",
                         f->source_prefix ? f->source_prefix : "the clone source",
                         f->in_recovery < 0 ? (f->pg_error ? f->pg_error : "PostgreSQL did not say")
                         : f->own_error     ? f->own_error
                                            : "the own prefix could not be listed");
        return;
    }
    if (f->in_recovery == 1)
        check_result_set(out, VERDICT_OK,
                         "restore in progress: PostgreSQL is replaying WAL from %s%s%s; keep the "
                         "CLONE_* settings until it has finished",
                         f->source_prefix ? f->source_prefix : "the clone source",
                         f->clone_target_time ? " up to " : "",
                         f->clone_target_time ? f->clone_target_time : "");
    else if (f->own_backups == 0)
        check_result_set(out, VERDICT_OK,
                         "restore almost done: PostgreSQL is promoted, waiting for the first own "
                         "base backup under %s (Spilo takes it after promotion); keep the CLONE_* "
                         "settings until then",
                         f->own_prefix ? f->own_prefix : "the own prefix");
    else
        check_result_set(out, VERDICT_OK, "restore in progress: Patroni is %s",
                         f->patroni_state ? f->patroni_state : "starting");
}

/* ---- CLONE_TARGET_TIME pre-flight ---------------------------------------------------------- */

const char *restore_time_from_name(enum restore_time_from f)
{
    switch (f) {
    case RESTORE_TIME_SENTINEL:
        return "sentinel FinishTime";
    case RESTORE_TIME_METADATA:
        return "metadata.json finish_time";
    case RESTORE_TIME_LAST_MODIFIED:
        return "sentinel LastModified";
    case RESTORE_TIME_UNREAD:
        break;
    }
    return "sentinel LastModified (not read)";
}

static int cmp_target_backup(const void *a, const void *b)
{
    const struct restore_target_backup *x = a, *y = b;

    if (x->listed_s != y->listed_s)
        return x->listed_s < y->listed_s ? -1 : 1;
    return strcmp(x->name, y->name);
}

void restore_target_sort(struct restore_target_backup *b, size_t n)
{
    if (n > 1)
        qsort(b, n, sizeof(*b), cmp_target_backup);
}

size_t restore_target_picked(const struct restore_target_backup *b, size_t n, int64_t target_s)
{
    size_t picked = n;

    /* clone_with_wale.py choose_backup: last_modified < recovery_target_time, the newest wins */
    for (size_t i = 0; i < n; i++) {
        if (b[i].listed_s < target_s)
            picked = i;
    }
    return picked;
}

size_t restore_target_wanted(const struct restore_target_backup *b, size_t n, int64_t target_s,
                             size_t *want, size_t max_want)
{
    size_t picked = restore_target_picked(b, n, target_s), first, k = 0;

    first = picked < n ? picked : 0;
    for (size_t i = first; i < n && k < max_want; i++)
        want[k++] = i;
    return k;
}

void restore_target_evaluate(const struct walchain *chain, bool wal_complete, const char *wal_error,
                             const struct restore_target_backup *b, size_t n, bool backups_complete,
                             int64_t target_s, struct restore_target_result *out)
{
    size_t picked = restore_target_picked(b, n, target_s);
    char tt[40], a[40], c[40];
    json_t *read = json_array();
    const char *fix = "set clone_target_time (CLONE_TARGET_TIME) to that time or earlier, or omit "
                      "it to restore to the latest WAL";

    memset(out, 0, sizeof(*out));
    out->latest_reachable_s = RESTORE_NO_TIME;
    out->decided = true;
    util_format_rfc3339(target_s, tt, sizeof(tt));
    for (size_t i = 0; i < n; i++) {
        if (b[i].finish_from == RESTORE_TIME_UNREAD && !b[i].read_error)
            continue;
        json_array_append_new(read, json_pack("{s:s, s:o, s:o, s:s, s:b}", "name", b[i].name,
                                              "last_modified", walchain_time_json(b[i].listed_s),
                                              "finish_time", walchain_time_json(b[i].finish_s),
                                              "finish_time_from",
                                              restore_time_from_name(b[i].finish_from), "picked",
                                              (int)(i == picked)));
        if (b[i].read_error)
            json_object_set_new(json_array_get(read, json_array_size(read) - 1), "error",
                                json_string(b[i].read_error));
    }
    if (picked == n) {
        const struct restore_target_backup *o = &b[0];

        util_format_rfc3339(o->listed_s, a, sizeof(a));
        util_format_rfc3339(o->finish_s, c, sizeof(c));
        if (n == 0) {
            out->decided = false; /* the restore check says so: source_without_backup */
            snprintf(out->problem, sizeof(out->problem),
                     "CLONE_TARGET_TIME %s cannot be checked: the source lists no base backup", tt);
        } else if (o->finish_from != RESTORE_TIME_UNREAD &&
                   o->finish_from != RESTORE_TIME_LAST_MODIFIED && o->finish_s <= target_s)
            snprintf(out->problem, sizeof(out->problem),
                     "CLONE_TARGET_TIME %s is before every base backup in the source that Spilo "
                     "can pick: clone_with_wale.py takes the newest backup whose sentinel was "
                     "written (S3 LastModified) before the target, and the oldest, %s, was "
                     "written at %s although it finished at %s (%s): the bucket was copied and "
                     "keeps the copy's times; set clone_target_time (CLONE_TARGET_TIME) after %s, "
                     "or omit it to restore to the latest WAL",
                     tt, o->name, a, c, restore_time_from_name(o->finish_from), a);
        else
            snprintf(out->problem, sizeof(out->problem),
                     "CLONE_TARGET_TIME %s is before every base backup in the source: the oldest, "
                     "%s, finished at %s (%s) and its sentinel was written at %s; the clone "
                     "cannot start from it; set clone_target_time (CLONE_TARGET_TIME) after %s, "
                     "or omit it to restore to the latest WAL",
                     tt, o->name, c, restore_time_from_name(o->finish_from), a, a);
    } else {
        const struct restore_target_backup *p = &b[picked];
        struct walchain_backup wb = {
            .name = p->name,
            .tli = p->tli,
            .start_lsn = p->start_lsn,
            .finish_lsn = p->finish_lsn,
            .start_time_s = WALCHAIN_NO_TIME,
            .finish_time_s = p->finish_s,
        };
        struct walchain_reach r;

        out->from_backup = p->name;
        out->from_finish_s = p->finish_s;
        out->from_finish_from = p->finish_from;
        util_format_rfc3339(p->finish_s, c, sizeof(c));
        if (p->finish_s > target_s) {
            util_format_rfc3339(p->listed_s, a, sizeof(a));
            snprintf(out->problem, sizeof(out->problem),
                     "CLONE_TARGET_TIME %s is not reachable: Spilo picks backup %s (its sentinel "
                     "was written at %s, before the target), but it finished at %s (%s), after "
                     "the target, and PostgreSQL cannot stop before a backup's end (\"requested "
                     "recovery stop point is before consistent recovery point\"); set "
                     "clone_target_time (CLONE_TARGET_TIME) after %s, or omit it to restore to "
                     "the latest WAL",
                     tt, p->name, a, c, restore_time_from_name(p->finish_from), c);
        } else if (!chain) {
            out->decided = false;
            snprintf(out->problem, sizeof(out->problem),
                     "CLONE_TARGET_TIME %s could not be checked: %s", tt,
                     wal_error ? wal_error : "the source's WAL could not be listed");
        } else {
            char seg[WALCHAIN_NAME_LEN + 1];

            walchain_reach(chain, &wb, &r);
            if (r.consistent != 0 && r.reach_time_s != WALCHAIN_NO_TIME)
                out->latest_reachable_s = r.reach_time_s;
            if (r.consistent != 0 && r.reach_time_s != WALCHAIN_NO_TIME &&
                r.reach_time_s >= target_s) {
                out->reachable = true;
            } else if (r.consistent == 0) {
                walchain_segment_name(r.missing_tli, r.missing_first, walchain_seg_size(chain),
                                      seg);
                snprintf(out->problem, sizeof(out->problem),
                         "CLONE_TARGET_TIME %s is not reachable: the source's WAL of backup %s "
                         "(the one Spilo picks) is incomplete from segment %s on, so it never "
                         "reaches consistency; set clone_target_time (CLONE_TARGET_TIME) after a "
                         "newer backup, or omit it to restore from the latest one",
                         tt, p->name, seg);
            } else if (!wal_complete) {
                out->decided = false;
                snprintf(out->problem, sizeof(out->problem),
                         "CLONE_TARGET_TIME %s could not be checked: the source's wal_005/ has "
                         "more objects than one listing reads",
                         tt);
            } else {
                util_format_rfc3339(out->latest_reachable_s == RESTORE_NO_TIME
                                        ? p->finish_s
                                        : out->latest_reachable_s,
                                    a, sizeof(a));
                if (r.has_missing) {
                    walchain_segment_name(r.missing_tli, r.missing_first, walchain_seg_size(chain),
                                          seg);
                    snprintf(out->problem, sizeof(out->problem),
                             "CLONE_TARGET_TIME %s is not reachable: the source's WAL breaks off "
                             "after backup %s (the one Spilo picks), segment %s is missing; the "
                             "latest reachable time is %s; %s",
                             tt, p->name, seg, a, fix);
                } else {
                    snprintf(out->problem, sizeof(out->problem),
                             "CLONE_TARGET_TIME %s is not reachable: the source's WAL from backup "
                             "%s (the one Spilo picks) ends before it; the latest reachable time "
                             "is %s; %s",
                             tt, p->name, a, fix);
                }
            }
        }
    }
    out->details =
        json_pack("{s:s, s:b, s:o, s:o, s:s, s:o, s:b, s:b}", "target_time", tt, "reachable",
                  (int)out->reachable, "from_backup",
                  out->from_backup ? json_string(out->from_backup) : json_null(),
                  "latest_reachable_at", walchain_time_json(out->latest_reachable_s), "picked_by",
                  "the newest sentinel LastModified before the target (Spilo's clone_with_wale.py)",
                  "backups_read", read, "backups_listing_complete", (int)backups_complete,
                  "wal_listing_complete", (int)(chain && wal_complete));
    if (out->problem[0])
        json_object_set_new(out->details, "problem", json_string(out->problem));
}

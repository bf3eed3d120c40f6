/* status.c - owns the current snapshot. Publishing copies the previous snapshot, replaces one
 * check's entry and swaps; the old snapshot is freed at once because readers (HTTP handlers, the
 * report) use it only synchronously on the loop thread. */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "secret.h"
#include "util.h"

static struct snapshot *current;

static void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_checks; i++)
        json_decref(s->checks[i].details);
    free(s);
}

static struct snapshot *snapshot_copy(const struct snapshot *s)
{
    struct snapshot *n = xmalloc(sizeof(*n));

    *n = *s;
    for (size_t i = 0; i < n->n_checks; i++)
        json_incref(n->checks[i].details);
    n->generation++;
    return n;
}

static void swap_in(struct snapshot *n)
{
    snapshot_free(current);
    current = n;
}

void status_init(const char *const *names, size_t n, int64_t started_at_s)
{
    struct snapshot *s = xcalloc(1, sizeof(*s));

    if (n > STATUS_MAX_CHECKS)
        n = STATUS_MAX_CHECKS;
    s->started_at_s = started_at_s;
    snprintf(s->role, sizeof(s->role), "unknown");
    for (size_t i = 0; i < n; i++) {
        snprintf(s->checks[i].name, sizeof(s->checks[i].name), "%s", names[i]);
        s->checks[i].status = VERDICT_UNKNOWN;
        snprintf(s->checks[i].summary, sizeof(s->checks[i].summary), "not run yet");
    }
    s->n_checks = n;
    swap_in(s);
}

void status_shutdown(void)
{
    swap_in(NULL);
}

const struct snapshot *status_current(void)
{
    return current;
}

static struct check_snap *find_mut(struct snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_checks; i++) {
        if (strcmp(s->checks[i].name, name) == 0)
            return &s->checks[i];
    }
    return NULL;
}

const struct check_snap *status_find(const struct snapshot *s, const char *name)
{
    return find_mut((struct snapshot *)s, name);
}

/* Scrubs every string in a details tree of known secrets and URL passwords (secret.h). */
static void scrub_json(json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_string(j)) {
        char *s = xstrdup(json_string_value(j));

        if (secret_scrub(s))
            json_string_set(j, s);
        free(s);
    } else if (json_is_object(j)) {
        json_object_foreach(j, k, v) scrub_json(v);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) scrub_json(v);
    }
}

void status_publish(const char *name, struct check_result *res, int64_t checked_at_s,
                    uint64_t duration_ms)
{
    struct snapshot *n;
    struct check_snap *c;

    if (!current)
        return;
    n = snapshot_copy(current);
    c = find_mut(n, name);
    if (!c) {
        snapshot_free(n);
        return;
    }
    json_decref(c->details);
    c->details = res->details;
    res->details = NULL;
    scrub_json(c->details); /* whatever a server or a file put in them */
    c->has_run = true;
    c->status = res->status;
    memcpy(c->causes, res->causes, sizeof(c->causes));
    secret_scrub_copy(res->summary, c->summary, sizeof(c->summary));
    /* A summary cut in a UTF-8 sequence, or quoting bytes that are not UTF-8, would vanish from
     * the JSON (jansson refuses it): mark them instead. */
    (void)util_utf8_repair(c->summary);
    c->checked_at_s = checked_at_s;
    c->duration_ms = duration_ms;
    c->runs++;
    if (res->role[0])
        snprintf(n->role, sizeof(n->role), "%s", res->role);
    swap_in(n);
}

void status_count_overlap(const char *name)
{
    struct snapshot *n;
    struct check_snap *c;

    if (!current)
        return;
    n = snapshot_copy(current);
    c = find_mut(n, name);
    if (c)
        c->overlaps++;
    swap_in(n);
}

void status_set_config_loaded(bool loaded)
{
    struct snapshot *n;

    if (!current)
        return;
    n = snapshot_copy(current);
    n->config_loaded = loaded;
    swap_in(n);
}

void status_set_stale_after(int64_t s)
{
    struct snapshot *n;

    if (!current || current->stale_after_s == s)
        return;
    n = snapshot_copy(current);
    n->stale_after_s = s;
    swap_in(n);
}

bool status_check_stale(const struct snapshot *s, const struct check_snap *c, int64_t now_s)
{
    return s->stale_after_s > 0 && c->has_run && now_s - c->checked_at_s > s->stale_after_s;
}

const struct check_snap *status_first_stale(const struct snapshot *s, int64_t now_s)
{
    for (size_t i = 0; s && i < s->n_checks; i++) {
        if (status_check_stale(s, &s->checks[i], now_s))
            return &s->checks[i];
    }
    return NULL;
}

static bool wanted(const char *name, const char *const *only, size_t n_only);

enum verdict status_overall(const struct snapshot *s, int64_t now_s, const char *const *only,
                            size_t n_only)
{
    enum verdict v = VERDICT_OK;
    bool any = false;

    for (size_t i = 0; s && i < s->n_checks; i++) {
        const struct check_snap *c = &s->checks[i];

        if (!wanted(c->name, only, n_only))
            continue;
        any = true;
        /* A result that went stale says nothing about now: unknown. */
        v = verdict_worst(v, c->has_run && !status_check_stale(s, c, now_s) ? c->status
                                                                            : VERDICT_UNKNOWN);
    }
    return any ? v : VERDICT_UNKNOWN;
}

bool status_ready(const struct snapshot *s, char *reason, size_t len)
{
    if (!s || !s->config_loaded) {
        snprintf(reason, len, "configuration not loaded yet");
        return false;
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        if (!s->checks[i].has_run) {
            snprintf(reason, len, "check %s has not completed its first run yet",
                     s->checks[i].name);
            return false;
        }
    }
    snprintf(reason, len, "ok");
    return true;
}

json_t *status_check_to_json(const struct snapshot *s, const struct check_snap *c, int64_t now_s)
{
    char at[32];
    json_t *o = json_object();
    bool stale = status_check_stale(s, c, now_s);

    json_object_set_new(o, "status", json_string(verdict_name(c->status)));
    if (stale) {
        char note[640];

        snprintf(note, sizeof(note),
                 "stale: this result is %llds old and the check has not completed since; %s",
                 (long long)(now_s - c->checked_at_s), c->summary);
        json_object_set_new(o, "summary", json_string(note));
    } else {
        json_object_set_new(o, "summary", json_string(c->summary));
    }
    json_object_set_new(o, "stale", json_boolean(stale));
    if (c->has_run) {
        util_format_rfc3339(c->checked_at_s, at, sizeof(at));
        json_object_set_new(o, "checked_at", json_string(at));
    } else {
        json_object_set_new(o, "checked_at", json_null());
    }
    json_object_set_new(o, "duration_ms", json_integer((json_int_t)c->duration_ms));
    json_object_set_new(o, "details", c->details ? json_incref(c->details) : json_object());
    return o;
}

static bool wanted(const char *name, const char *const *only, size_t n_only)
{
    if (!only)
        return true;
    for (size_t i = 0; i < n_only; i++) {
        if (strcmp(only[i], name) == 0)
            return true;
    }
    return false;
}

json_t *status_to_json(const struct snapshot *s, int64_t now_s, const char *const *only,
                       size_t n_only)
{
    char now[32];
    json_t *o = json_object(), *checks = json_object();

    for (size_t i = 0; i < s->n_checks; i++) {
        const struct check_snap *c = &s->checks[i];

        if (!wanted(c->name, only, n_only))
            continue;
        json_object_set_new(checks, c->name, status_check_to_json(s, c, now_s));
    }
    util_format_rfc3339(now_s, now, sizeof(now));
    json_object_set_new(o, "status",
                        json_string(verdict_name(status_overall(s, now_s, only, n_only))));
    json_object_set_new(o, "version", json_string(agent_version));
    json_object_set_new(o, "now", json_string(now));
    json_object_set_new(o, "role", json_string(s->role));
    json_object_set_new(o, "checks", checks);
    return o;
}

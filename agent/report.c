/* report.c - the text report: one line per check (verdict, name, summary), then the findings a
 * check lists in details.findings, so a person sees every problem and its fix at once. */
#include "report.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

static const char *upper(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    for (; s[i] && i + 1 < len; i++)
        buf[i] = (char)toupper((unsigned char)s[i]);
    buf[i] = '\0';
    return buf;
}

/* Writes s with every control character (C0, DEL, C1) as \xNN: a value quoted
 * from an envdir or a server must not move the cursor or recolour the operator's terminal. */
static void put_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            fprintf(out, "\\u%04x", p[1]), p++;
        else
            fputc(*p, out);
    }
}

static void put_line(FILE *out, const char *s)
{
    put_text(out, s);
    fputc('\n', out);
}

static const char *paint(enum verdict v, bool color)
{
    if (!color)
        return "";
    switch (v) {
    case VERDICT_OK:
        return "\033[32m";
    case VERDICT_WARNING:
        return "\033[33m";
    case VERDICT_CRITICAL:
        return "\033[31m";
    case VERDICT_UNKNOWN:
        break;
    }
    return "\033[35m";
}

/* The findings of a check, but the one its summary line already says (no sentence twice). */
static void findings(FILE *out, json_t *list, const char *indent, const char *summary)
{
    size_t i;
    json_t *f;

    if (!json_is_array(list) || json_array_size(list) < 2)
        return; /* a single finding is the summary already */
    json_array_foreach(list, i, f)
    {
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *msg = json_string_value(json_object_get(f, "message"));

        if (msg && summary && *msg && strncmp(summary, msg, strlen(msg)) == 0)
            continue;
        if (msg) {
            fprintf(out, "%s- %s: ", indent, sev ? sev : "note");
            put_line(out, msg);
        }
    }
}

/* The WAL chain of the backups check: one line, and a line per gap that cuts backups off. */
static void wal_chain(FILE *out, json_t *wc, const char *indent)
{
    char line[512];
    size_t i;
    json_t *g;

    if (!json_is_object(wc))
        return;
    if (!json_is_true(json_object_get(wc, "complete"))) {
        snprintf(line, sizeof(line), "WAL chain: still listing wal_005/ (%lld segments so far)",
                 (long long)json_integer_value(json_object_get(wc, "segments")));
        fprintf(out, "%s", indent);
        put_line(out, line);
        return;
    }
    {
        json_t *w = json_object_get(wc, "window");
        const char *first = json_string_value(json_object_get(w, "first_recoverability_at"));
        const char *last = json_string_value(json_object_get(w, "last_archived_at"));

        snprintf(line, sizeof(line),
                 "WAL chain: timeline %lld, newest %s, %lld gap(s) cutting backups off, %lld "
                 "backup(s) restorable to now; recovery window %s .. %s",
                 (long long)json_integer_value(json_object_get(wc, "target_timeline")),
                 json_is_string(json_object_get(wc, "newest_segment"))
                     ? json_string_value(json_object_get(wc, "newest_segment"))
                     : "none",
                 (long long)json_integer_value(json_object_get(wc, "relevant_gaps")),
                 (long long)json_integer_value(json_object_get(wc, "restorable_backups")),
                 first ? first : "none", last ? last : "none");
    }
    fprintf(out, "%s", indent);
    put_line(out, line);
    json_array_foreach(json_object_get(wc, "gaps"), i, g)
    {
        json_int_t cut = json_integer_value(json_object_get(g, "cuts_off_count"));

        if (!cut)
            continue;
        snprintf(line, sizeof(line), "- gap on timeline %lld: %s..%s, cuts off %lld backup(s)",
                 (long long)json_integer_value(json_object_get(g, "timeline")),
                 json_string_value(json_object_get(g, "first")),
                 json_string_value(json_object_get(g, "last")), (long long)cut);
        fprintf(out, "%s", indent);
        put_line(out, line);
    }
}

void report_write(FILE *out, const struct snapshot *s, int64_t now_s, bool color)
{
    char at[32], up[16];
    enum verdict overall = status_overall(s, now_s, NULL, 0);
    const char *reset = color ? "\033[0m" : "";

    util_format_rfc3339(now_s, at, sizeof(at));
    fprintf(out, "spilo-agent %s at %s: %s%s%s (role: %s)\n\n", agent_version, at,
            paint(overall, color), upper(verdict_name(overall), up, sizeof(up)), reset, s->role);
    for (size_t i = 0; i < s->n_checks; i++) {
        const struct check_snap *c = &s->checks[i];
        enum verdict v = c->has_run ? c->status : VERDICT_UNKNOWN;
        json_t *clones;
        size_t j;
        json_t *cl;

        fprintf(out, "%s%-8s%s  %-12s ", paint(v, color), upper(verdict_name(v), up, sizeof(up)),
                reset, c->name);
        put_line(out, c->summary);
        if (!c->details)
            continue;
        findings(out, json_object_get(c->details, "findings"), "                        ",
                 c->summary);
        wal_chain(out, json_object_get(c->details, "wal_chain"), "                        ");
        clones = json_object_get(c->details, "clones");
        if (json_is_array(clones)) {
            json_array_foreach(clones, j, cl)
            {
                json_t *fl = json_object_get(cl, "findings");

                if (json_is_array(fl) && json_array_size(fl) > 0) {
                    const char *ed = json_string_value(json_object_get(cl, "envdir"));

                    fprintf(out, "                        clone envdir ");
                    put_text(out, ed ? ed : "?");
                    fprintf(out, ":\n");
                    findings(out, fl, "                          ", c->summary);
                    if (json_array_size(fl) == 1) {
                        const char *m =
                            json_string_value(json_object_get(json_array_get(fl, 0), "message"));

                        if (m && strncmp(c->summary, m, strlen(m)) != 0) {
                            fprintf(out, "                          - ");
                            put_line(out, m);
                        }
                    }
                }
            }
        }
    }
    fprintf(out, "\nDetails: spilo-agent check --json, or GET /status on the running agent.\n");
}

/* Plugin output may not hold '|' (it starts the perfdata) nor a newline. */
static void plugin_text(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s == '|' ? '/' : *s == '\n' || *s == '\r' ? ' ' : *s, out);
}

void report_write_nagios(FILE *out, const struct snapshot *s)
{
    static const enum verdict order[] = {VERDICT_CRITICAL, VERDICT_WARNING, VERDICT_UNKNOWN};
    enum verdict overall = status_overall(s, util_now_s(), NULL, 0);
    char up[16];
    size_t shown = 0;

    fprintf(out, "SPILO-AGENT %s - ", upper(verdict_name(overall), up, sizeof(up)));
    for (size_t k = 0; k < ARRAY_LEN(order); k++) {
        for (size_t i = 0; i < s->n_checks; i++) {
            const struct check_snap *c = &s->checks[i];
            enum verdict v = c->has_run ? c->status : VERDICT_UNKNOWN;

            if (v != order[k])
                continue;
            fprintf(out, "%s%s %s: ", shown++ ? "; " : "", c->name, verdict_name(v));
            plugin_text(out, c->summary);
        }
    }
    if (!shown)
        fprintf(out, "%zu checks ok", s->n_checks);
    fputs(" |", out);
    for (size_t i = 0; i < s->n_checks; i++) {
        const struct check_snap *c = &s->checks[i];

        fprintf(out, " '%s'=%d;1;2;0;3", c->name, (int)(c->has_run ? c->status : VERDICT_UNKNOWN));
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        const struct check_snap *c = &s->checks[i];

        fprintf(out, " '%s_duration'=%.3fs;;;0;", c->name, (double)c->duration_ms / 1000.0);
    }
    fputc('\n', out);
}

/* log.c - leveled single-line logging on stderr. JSON lines are built with jansson so every
 * message and field is escaped; text lines are "ts level comp message key=value...". Owns the
 * rate-limit table of log_limited() (file-scope state: the log is process-wide by nature). */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "secret.h"

static enum log_level cur_level = LOG_LEVEL_INFO;
static enum log_format cur_format = LOG_FORMAT_JSON;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

#define LIMIT_SLOTS 32

struct limit_slot {
    char key[48];
    double window_start_s;
    unsigned long long suppressed;
};

static struct limit_slot limits[LIMIT_SLOTS];
static double (*limit_clock)(void);

void log_setup(enum log_level level, enum log_format format)
{
    cur_level = level;
    cur_format = format;
}

bool log_enabled(enum log_level level)
{
    return level <= cur_level;
}

static void timestamp(char *ts, size_t len)
{
    char date[32];
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, len, "%s.%03dZ", date, (int)(tv.tv_usec / 1000));
}

static bool reserved(const char *key)
{
    return !strcmp(key, "ts") || !strcmp(key, "level") || !strcmp(key, "comp") ||
           !strcmp(key, "msg");
}

/* A text value: bare when it has no space, quote or '=', else in quotes with " and \ escaped. */
static void text_value(const char *v)
{
    if (*v && !strpbrk(v, " \"=\\\t\n")) {
        fputs(v, stderr);
        return;
    }
    fputc('"', stderr);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', stderr);
        fputc(*v == '\n' ? ' ' : *v, stderr);
    }
    fputc('"', stderr);
}

void log_kv_write(enum log_level level, const char *comp, const char *msg, const struct log_kv *kv,
                  size_t n)
{
    char ts[40], m[2048], v[2048];

    if (!log_enabled(level))
        return;
    /* Scrubbed here too: fields carry texts of servers (errors) as well as the agent's own. */
    secret_scrub_copy(msg, m, sizeof(m));
    msg = m;
    timestamp(ts, sizeof(ts));
    if (cur_format == LOG_FORMAT_TEXT) {
        fprintf(stderr, "%s %-5s %-7s %s", ts, level_names[level], comp, msg);
        for (size_t i = 0; i < n; i++) {
            if (reserved(kv[i].key))
                continue;
            fprintf(stderr, " %s=", kv[i].key);
            if (!kv[i].is_num) {
                secret_scrub_copy(kv[i].str ? kv[i].str : "", v, sizeof(v));
                text_value(v);
            } else
                fprintf(stderr, "%lld", kv[i].num);
        }
        fputc('\n', stderr);
    } else {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "comp",
                              comp, "msg", msg);
        char *line;

        for (size_t i = 0; o && i < n; i++) {
            if (reserved(kv[i].key))
                continue;
            if (!kv[i].is_num)
                secret_scrub_copy(kv[i].str ? kv[i].str : "", v, sizeof(v));
            json_object_set_new(
                o, kv[i].key, !kv[i].is_num ? json_string(v) : json_integer((json_int_t)kv[i].num));
        }
        line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (line)
            fprintf(stderr, "%s\n", line);
        free(line);
        json_decref(o);
    }
    fflush(stderr);
}

void log_write(enum log_level level, const char *comp, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    secret_vformat(msg, sizeof(msg), fmt, ap); /* no known secret leaves in a log line */
    va_end(ap);
    log_kv_write(level, comp, msg, NULL, 0);
}

static double monotonic_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void log_limit_reset(double (*now_s)(void))
{
    memset(limits, 0, sizeof(limits));
    limit_clock = now_s;
}

static struct limit_slot *limit_slot(const char *key, double now)
{
    struct limit_slot *oldest = &limits[0];

    for (size_t i = 0; i < LIMIT_SLOTS; i++) {
        if (strncmp(limits[i].key, key, sizeof(limits[i].key) - 1) == 0)
            return &limits[i];
        if (limits[i].window_start_s < oldest->window_start_s)
            oldest = &limits[i];
    }
    /* A new key takes the slot used longest ago (its pending count is dropped). */
    snprintf(oldest->key, sizeof(oldest->key), "%s", key);
    oldest->window_start_s = now - LOG_LIMIT_WINDOW_S - 1;
    oldest->suppressed = 0;
    return oldest;
}

void log_limited(enum log_level level, const char *comp, const char *key, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    double now;
    struct limit_slot *s;

    if (!log_enabled(level))
        return;
    now = limit_clock ? limit_clock() : monotonic_s();
    s = limit_slot(key, now);
    if (now - s->window_start_s < LOG_LIMIT_WINDOW_S) {
        s->suppressed++;
        return;
    }
    va_start(ap, fmt);
    secret_vformat(msg, sizeof(msg), fmt, ap); /* no known secret leaves in a log line */
    va_end(ap);
    if (s->suppressed) {
        char tail[96];

        snprintf(tail, sizeof(tail), " (suppressed %llu similar lines in the last %ds)",
                 s->suppressed, LOG_LIMIT_WINDOW_S);
        strncat(msg, tail, sizeof(msg) - strlen(msg) - 1);
        log_fields(level, comp, msg, LOG_I("suppressed", s->suppressed));
    } else {
        log_kv_write(level, comp, msg, NULL, 0);
    }
    s->window_start_s = now;
    s->suppressed = 0;
}

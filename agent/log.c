/* log.c - leveled single-line logging on stderr. JSON lines are built with jansson so every
 * message is escaped; text lines are "ts level comp message". */
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

void log_setup(enum log_level level, enum log_format format)
{
    cur_level = level;
    cur_format = format;
}

bool log_enabled(enum log_level level)
{
    return level <= cur_level;
}

void log_write(enum log_level level, const char *comp, const char *fmt, ...)
{
    char msg[2048], ts[40], date[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    secret_vformat(msg, sizeof(msg), fmt, ap); /* no known secret leaves in a log line */
    va_end(ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, sizeof(ts), "%s.%03dZ", date, (int)(tv.tv_usec / 1000));

    if (cur_format == LOG_FORMAT_TEXT) {
        fprintf(stderr, "%s %-5s %-7s %s\n", ts, level_names[level], comp, msg);
    } else {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "comp",
                              comp, "msg", msg);
        char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

        if (line)
            fprintf(stderr, "%s\n", line);
        free(line);
        json_decref(o);
    }
    fflush(stderr);
}

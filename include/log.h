/* log.h - one line per event on stderr: JSON (default) or logfmt-like text, with a level and a
 * fixed component word per module. Debug lines are gated before formatting. Never pass secret
 * values: envdir secrets, passwords, tokens and connection strings are redacted by the caller.
 *
 * Structured events: log_fields(level, comp, msg, LOG_S("check", name), LOG_I("duration_ms", n))
 * writes the fields as JSON keys next to ts/level/comp/msg (text format: key=value after msg).
 * Repeated lines: log_limited(level, comp, key, fmt, ...) writes the first line of a key, then at
 * most one per LOG_LIMIT_WINDOW_S; the next one written carries "suppressed": N, the lines
 * dropped since. */
#ifndef AGENT_LOG_H
#define AGENT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

#define LOG_LIMIT_WINDOW_S 60

struct log_kv {
    const char *key;
    const char *str; /* a string field (NULL is written as "") */
    long long num;
    bool is_num;
};

#define LOG_S(k, v) ((struct log_kv){(k), (v), 0, false})
#define LOG_I(k, v) ((struct log_kv){(k), NULL, (long long)(v), true})

void log_setup(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);
void log_write(enum log_level level, const char *comp, const char *fmt, ...) PRINTF(3, 4);
/* msg plus n fields (keys ts, level, comp, msg are reserved). */
void log_kv_write(enum log_level level, const char *comp, const char *msg, const struct log_kv *kv,
                  size_t n);
/* Rate-limited log_write: lines of the same key (e.g. "http.conn_limit") within the window are
 * counted, not written. */
void log_limited(enum log_level level, const char *comp, const char *key, const char *fmt, ...)
    PRINTF(4, 5);
/* For tests: forget the rate-limit state and use this clock (0: the monotonic clock). */
void log_limit_reset(double (*now_s)(void));

#define log_fields(level, comp, msg, ...)                                                          \
    log_kv_write(level, comp, msg, (const struct log_kv[]){__VA_ARGS__},                           \
                 sizeof((const struct log_kv[]){__VA_ARGS__}) / sizeof(struct log_kv))

#define log_error(comp, ...) log_write(LOG_LEVEL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_write(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_write(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...)                                                                       \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                          \
            log_write(LOG_LEVEL_DEBUG, comp, __VA_ARGS__);                                         \
    } while (0)

#endif

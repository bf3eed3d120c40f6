/* log.h - one line per event on stderr: JSON (default) or logfmt-like text, with a level and a
 * fixed component word per module. Debug lines are gated before formatting. Never pass secret
 * values: envdir secrets, passwords, tokens and connection strings are redacted by the caller. */
#ifndef AGENT_LOG_H
#define AGENT_LOG_H

#include <stdbool.h>

#include "common.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

void log_setup(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);
void log_write(enum log_level level, const char *comp, const char *fmt, ...) PRINTF(3, 4);

#define log_error(comp, ...) log_write(LOG_LEVEL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_write(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_write(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...)                                                                       \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                          \
            log_write(LOG_LEVEL_DEBUG, comp, __VA_ARGS__);                                         \
    } while (0)

#endif

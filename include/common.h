/* common.h - attributes, small macros and the verdict enum shared by every module. */
#ifndef AGENT_COMMON_H
#define AGENT_COMMON_H

#include <stddef.h>

#define MUSTCHECK                       __attribute__((warn_unused_result))
#define PRINTF(f, a)                    __attribute__((format(printf, f, a)))
#define UNUSED(x)                       ((void)(x))
#define ARRAY_LEN(a)                    (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* The version, from `git describe` at build time (agent/version.c, rebuilt when it changes). */
extern const char agent_version[];
extern const char agent_user_agent[]; /* "spilo-agent/<version>" */

/* Check verdicts, ordered by severity so that max() gives the worst one. The numeric values are
 * the Nagios plugin exit codes and the value of spilo_agent_check_status. */
enum verdict {
    VERDICT_OK = 0,
    VERDICT_WARNING = 1,
    VERDICT_CRITICAL = 2,
    VERDICT_UNKNOWN = 3,
};

/* "ok", "warning", "critical", "unknown" */
const char *verdict_name(enum verdict v);
/* Worst of two verdicts the way monitoring-plugins' max_state_alt combines plugin states:
 * critical > warning > unknown > ok (a check that cannot run does not hide one that found a
 * problem). */
enum verdict verdict_worst(enum verdict a, enum verdict b);

#endif

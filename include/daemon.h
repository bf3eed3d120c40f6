/* daemon.h - `spilo-agent run`: the libuv loop, the checks on their timers, the HTTP endpoint,
 * signals (SIGTERM/SIGINT stop, SIGHUP reload) and an orderly shutdown. */
#ifndef AGENT_DAEMON_H
#define AGENT_DAEMON_H

#include <stddef.h>

#include "config.h"

/* Returns the process exit status: 0 clean stop, 78 config error at start, 1 other failure. */
int daemon_run(const char *config_file, const struct config_override *ovr, size_t n_ovr);

#endif

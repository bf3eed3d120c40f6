/* check_walg_env.h - the walg_env check: walg_env_evaluate() on the thread pool (it reads files).
 */
#ifndef AGENT_CHECK_WALG_ENV_H
#define AGENT_CHECK_WALG_ENV_H

#include "check.h"

struct walg_env_input;

extern const struct check_def check_walg_env;

/* The walg_env_input of a config (and this process's environment), for every check that needs
 * to know where WAL-G writes. */
void walg_input_from_config(const struct config *cfg, struct walg_env_input *in);

#endif

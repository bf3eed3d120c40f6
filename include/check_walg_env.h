/* check_walg_env.h - the walg_env check: walg_env_evaluate() on the thread pool (it reads files).
 */
#ifndef AGENT_CHECK_WALG_ENV_H
#define AGENT_CHECK_WALG_ENV_H

#include "check.h"

extern const struct check_def check_walg_env;

#endif

/* check_walg_env.c - the walg_env check: walg_env_evaluate() on the thread pool, since it reads
 * the envdir files. */
#include "check_walg_env.h"

#include "walg_env.h"

static void walg_env_work(const struct config *cfg, int64_t now_s, struct check_result *out)
{
    struct walg_env_input in;

    (void)now_s;
    walg_env_input_from_config(cfg, &in);
    walg_env_evaluate(&in, out);
}

static void walg_env_start(struct check_run *run)
{
    check_run_in_worker(run, walg_env_work);
}

const struct check_def check_walg_env = {
    .name = "walg_env",
    .start = walg_env_start,
    .cancel = NULL,
};

/* check_walg_env.c - the walg_env check: walg_env_evaluate() on the thread pool, since it reads
 * the envdir files. */
#include "check_walg_env.h"

#include "walg_env.h"

extern char **environ;

void walg_input_from_config(const struct config *cfg, struct walg_env_input *in)
{
    in->envdir = cfg->envdir;
    in->clone_glob = cfg->clone_envdir;
    in->prefix = cfg->prefix;
    in->s3_endpoint = cfg->s3_endpoint;
    in->s3_region = cfg->s3_region;
    in->s3_force_path_style = cfg->s3_force_path_style;
    in->environ = environ;
    in->pgroot = NULL;
}

static void walg_env_work(const struct config *cfg, int64_t now_s, struct check_result *out)
{
    struct walg_env_input in;

    (void)now_s;
    walg_input_from_config(cfg, &in);
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

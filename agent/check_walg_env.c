/* check_walg_env.c - the walg_env check: walg_env_evaluate() on the thread pool, since it reads
 * the envdir files. When the envdir is not mounted, the Spilo container's environment is first
 * read from this pod's spec through the Kubernetes API (the operator gives it settings the
 * sidecar does not get); when that is not possible the sidecar's own environment is used and the
 * verdict says what is unknown. */
#include "check_walg_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "k8s.h"
#include "util.h"
#include "walg_env.h"

#define SPILO_CONTAINER                                                                            \
    "postgres" /* postgres-operator pkg/util/constants: PostgresContainerName                      \
                */

extern char **environ;

struct we_job {
    struct check_run *run;
    struct check_result res;
    struct k8s_client *kc;
    struct k8s_call *call;
    char **pod_env;
    char *from;
    json_t *unknown;
    char pod_error[512];
};

static void we_work(void *arg)
{
    struct we_job *job = arg;
    struct walg_env_input in;

    walg_env_input_from_config(job->run->cfg, &in);
    if (job->pod_env) {
        in.environ = job->pod_env;
        in.environ_from = job->from;
        in.unknown = job->unknown;
    }
    in.pod_error = job->pod_error[0] ? job->pod_error : NULL;
    walg_env_evaluate(&in, &job->res);
}

static void we_free(struct we_job *job)
{
    k8s_client_free(job->kc);
    k8s_env_free(job->pod_env);
    free(job->from);
    json_decref(job->unknown);
    free(job);
}

static void we_done_cb(struct check_run *run, void *arg, bool cancelled)
{
    struct we_job *job = arg;

    if (cancelled)
        check_result_set(&job->res, VERDICT_UNKNOWN, "the check was cancelled");
    run->state = NULL;
    check_run_done(run, &job->res);
    we_free(job);
}

static void pod_got_cb(const struct k8s_reply *reply, void *arg)
{
    struct we_job *job = arg;

    job->call = NULL;
    if (reply->rc == 0) {
        job->unknown = json_array();
        job->pod_env = k8s_pod_container_env(reply->object, SPILO_CONTAINER, job->unknown);
        if (job->pod_env)
            job->from = xasprintf("pod %s, container " SPILO_CONTAINER,
                                  json_string_value(json_object_get(
                                      json_object_get(reply->object, "metadata"), "name")));
        else
            snprintf(job->pod_error, sizeof(job->pod_error),
                     "the pod has no container named " SPILO_CONTAINER);
    } else {
        snprintf(job->pod_error, sizeof(job->pod_error), "%s", reply->error);
    }
    check_run_work(job->run, we_work, we_done_cb, job);
}

static void walg_env_start(struct check_run *run)
{
    struct we_job *job = xcalloc(1, sizeof(*job));
    const struct config *cfg = run->cfg;
    struct stat st;
    char err[512];

    job->run = run;
    check_result_init(&job->res);
    run->state = job;
    /* The envdir is there, or [walg] prefix says where: nothing to read from the pod. */
    if (stat(cfg->envdir, &st) == 0 || *cfg->prefix || !run->curlm) {
        check_run_work(run, we_work, we_done_cb, job);
        return;
    }
    if (k8s_client_new(run->curlm, cfg, &job->kc, err, sizeof(err)) < 0 ||
        k8s_get_own_pod(job->kc, environ, pod_got_cb, job, &job->call, err, sizeof(err)) < 0) {
        snprintf(job->pod_error, sizeof(job->pod_error), "%s", err);
        check_run_work(run, we_work, we_done_cb, job);
    }
}

static void walg_env_cancel(struct check_run *run)
{
    struct we_job *job = run->state;

    if (!job || !job->call)
        return; /* on the thread pool: we_done_cb sees cancelled */
    k8s_call_cancel(job->call);
    job->call = NULL;
    check_result_set(&job->res, VERDICT_UNKNOWN,
                     "the Kubernetes API did not answer in time (GET of this pod)");
    run->state = NULL;
    check_run_done(run, &job->res);
    we_free(job);
}

const struct check_def check_walg_env = {
    .name = "walg_env",
    .start = walg_env_start,
    .cancel = walg_env_cancel,
};

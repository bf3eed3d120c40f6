/* walg_s3.c - the cluster's WAL-G target and a cached S3 client for it. */
#include "walg_s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define CACHE_SLOTS 4

struct cached {
    char *key; /* every setting the client was made from (holds secrets: compare, never print) */
    struct s3_client *client;
    uint64_t used;
};

/* The S3 clients of one check registry (check_run_kept): warm connections and STS credentials
 * until near expiry, shared by the checks that reach the same settings. */
struct client_cache {
    struct cached slot[CACHE_SLOTS];
    uint64_t use_counter;
};

static const char client_cache_tag = 0;

struct open_job {
    struct walg_s3 ws;
    struct walg_env_input in;
    int rc;
    walg_s3_fn cb;
    void *arg;
};

static void secure_free(char *s)
{
    if (s) {
        volatile char *p = s;

        while (*p)
            *p++ = '\0';
        free(s);
    }
}

static char *cache_key(const struct walg_target *t)
{
    return xasprintf("%s\n%s\n%s\n%s\n%d\n%s\n%s\n%s\n%s\n%s\n%s",
                     t->sts_endpoint ? t->sts_endpoint : "", t->endpoint, t->region, t->bucket,
                     t->path_style, t->ca_file, t->access_key ? t->access_key : "",
                     t->secret_key ? t->secret_key : "", t->session_token ? t->session_token : "",
                     t->role_arn ? t->role_arn : "",
                     t->web_identity_token_file ? t->web_identity_token_file : "");
}

static void client_cache_free(void *p)
{
    struct client_cache *cc = p;

    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (cc->slot[i].key) {
            s3_client_free(cc->slot[i].client);
            secure_free(cc->slot[i].key);
        }
    }
    free(cc);
}

int walg_s3_client_for(struct check_run *run, const struct walg_target *t, struct s3_client **out,
                       char *err, size_t errlen)
{
    void **kept = check_run_kept(run, &client_cache_tag, client_cache_free);
    struct client_cache *cc = *kept ? *kept : (*kept = xcalloc(1, sizeof(struct client_cache)));
    struct cached *cache = cc->slot;
    char *key = cache_key(t);
    struct s3_config sc;
    size_t victim = 0;
    int rc;

    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].key && strcmp(cache[i].key, key) == 0) {
            cache[i].used = ++cc->use_counter;
            secure_free(key);
            *out = cache[i].client;
            return 0;
        }
        if (!cache[i].key || cache[i].used < cache[victim].used)
            victim = i;
        if (!cache[i].key)
            break;
    }
    memset(&sc, 0, sizeof(sc));
    sc.endpoint = t->endpoint;
    sc.region = t->region;
    sc.bucket = t->bucket;
    sc.path_style = t->path_style || *t->endpoint;
    sc.ca_file = t->ca_file;
    sc.credentials.access_key = t->access_key;
    sc.credentials.secret_key = t->secret_key;
    sc.credentials.session_token = t->session_token;
    sc.credentials.role_arn = t->role_arn;
    sc.credentials.web_identity_token_file = t->web_identity_token_file;
    sc.credentials.sts_endpoint = t->sts_endpoint;
    rc = s3_client_new(run->loop, run->curlm, &sc, out, err, errlen);
    if (rc < 0) {
        secure_free(key);
        return rc;
    }
    if (cache[victim].key) {
        s3_client_free(cache[victim].client);
        secure_free(cache[victim].key);
    }
    cache[victim].key = key;
    cache[victim].client = *out;
    cache[victim].used = ++cc->use_counter;
    return 0;
}

static void open_work(void *arg)
{
    struct open_job *job = arg;

    job->rc = walg_target_resolve(&job->in, &job->ws.target, job->ws.error, sizeof(job->ws.error));
}

static void open_done_cb(struct check_run *run, void *arg, bool cancelled)
{
    struct open_job *job = arg;
    struct walg_s3 *ws = xmalloc(sizeof(*ws));
    walg_s3_fn cb = job->cb;
    void *cb_arg = job->arg;

    *ws = job->ws;
    if (!cancelled) {
        if (job->rc < 0) {
            ws->error_verdict = VERDICT_UNKNOWN;
        } else if (!run->curlm) {
            ws->error_verdict = VERDICT_UNKNOWN;
            snprintf(ws->error, sizeof(ws->error), "no HTTP client in this mode");
        } else {
            char why[400];

            if (walg_s3_client_for(run, &ws->target, &ws->client, why, sizeof(why)) < 0) {
                ws->error_verdict = VERDICT_CRITICAL; /* CAUSE_BACKUPS_S3_CREDENTIALS */
                snprintf(ws->error, sizeof(ws->error), "%s", why);
                ws->client = NULL;
            } else {
                ws->error[0] = '\0';
            }
        }
    }
    free(job);
    cb(run, ws, cancelled, cb_arg);
}

void walg_s3_open(struct check_run *run, walg_s3_fn cb, void *arg)
{
    struct open_job *job = xcalloc(1, sizeof(*job));

    walg_env_input_from_config(run->cfg, &job->in);
    job->cb = cb;
    job->arg = arg;
    check_run_work(run, open_work, open_done_cb, job);
}

void walg_s3_release(struct walg_s3 *ws)
{
    if (!ws)
        return;
    walg_target_free(&ws->target);
    free(ws);
}

enum verdict walg_s3_error_verdict(const struct aws_error *e)
{
    switch (e->kind) {
    case AWS_ERR_ACCESS_DENIED:
    case AWS_ERR_NO_SUCH_BUCKET:
    case AWS_ERR_SIGNATURE:
    case AWS_ERR_INVALID_ACCESS_KEY:
    case AWS_ERR_WRONG_REGION:
    case AWS_ERR_EXPIRED_TOKEN:
        return VERDICT_CRITICAL;
    case AWS_ERR_CREDENTIALS:
        /* STS said no, or the token file is unreadable: critical. STS unreachable: unknown. */
        return e->curl_code != 0 && e->http_status == 0 ? VERDICT_UNKNOWN : VERDICT_CRITICAL;
    default:
        return VERDICT_UNKNOWN;
    }
}

enum cause walg_s3_error_cause(const struct aws_error *e)
{
    switch (e->kind) {
    case AWS_ERR_ACCESS_DENIED:
        return CAUSE_BACKUPS_S3_ACCESS_DENIED;
    case AWS_ERR_NO_SUCH_BUCKET:
        return CAUSE_BACKUPS_S3_NO_SUCH_BUCKET;
    case AWS_ERR_SIGNATURE:
        return CAUSE_BACKUPS_S3_SIGNATURE;
    case AWS_ERR_INVALID_ACCESS_KEY:
        return CAUSE_BACKUPS_S3_INVALID_KEY;
    case AWS_ERR_WRONG_REGION:
        return CAUSE_BACKUPS_S3_WRONG_REGION;
    case AWS_ERR_EXPIRED_TOKEN:
        return CAUSE_BACKUPS_S3_EXPIRED_TOKEN;
    case AWS_ERR_CREDENTIALS:
        return CAUSE_BACKUPS_S3_CREDENTIALS;
    default:
        return CAUSE_COUNT;
    }
}

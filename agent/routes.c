/* routes.c - path -> handler table for /livez, /readyz, /status, /checks/NAME, /metrics. The
 * handlers read status_current() and format it; they never block and never start a check.
 * POST /cleanup (only with [cleanup] allow_http and the bearer token) is the one route that
 * starts work: a cleanup run on the loop, answered through http_defer() when it finishes. */
#include "routes.h"

#include <strings.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "util.h"

typedef void (*route_fn)(const struct http_request *req, struct http_response *resp,
                         struct routes_ctx *ctx);

static void text(struct http_response *resp, int status, const char *body)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    buf_puts(&resp->body, body);
}

static void json_body(struct http_response *resp, int status, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

    resp->status = status;
    resp->content_type = "application/json";
    if (s) {
        buf_puts(&resp->body, s);
        buf_puts(&resp->body, "\n");
    }
    free(s);
    json_decref(doc);
}

static void route_livez(const struct http_request *req, struct http_response *resp,
                        struct routes_ctx *ctx)
{
    (void)req;
    (void)ctx;
    text(resp, 200, "ok\n");
}

static void route_readyz(const struct http_request *req, struct http_response *resp,
                         struct routes_ctx *ctx)
{
    char reason[256];
    const struct snapshot *s = status_current();

    (void)req;
    (void)ctx;
    /* Stale results do not fail readiness either (docs/endpoints.md): /status and /checks say. */
    if (status_ready(s, reason, sizeof(reason))) {
        text(resp, 200, "ok\n");
        return;
    }
    text(resp, 503, "not ready: ");
    buf_puts(&resp->body, reason);
    buf_puts(&resp->body, "\n");
}

/* The last rendered /status and /metrics bodies: a snapshot changes when a check publishes (at
 * most a few times per interval), /status also shows the current second, so under a burst of
 * requests each body is rendered once and copied out many times. */
struct rendered {
    uint64_t generation;
    int64_t at_s; /* /status: the second it shows; /metrics: unused */
    bool valid;
    struct buf body;
};

static struct rendered status_cache, metrics_cache;

static bool rendered_fresh(const struct rendered *r, const struct snapshot *s, int64_t at_s)
{
    return r->valid && r->generation == s->generation && r->at_s == at_s;
}

static void rendered_keep(struct rendered *r, const struct snapshot *s, int64_t at_s,
                          const struct buf *body)
{
    if (r->body.max == 0)
        buf_init(&r->body, HTTP_RESPONSE_MAX);
    buf_reset(&r->body);
    buf_append(&r->body, body->data, body->len);
    r->valid = !r->body.overflow;
    r->generation = s->generation;
    r->at_s = at_s;
}

void routes_cache_clear(void)
{
    if (status_cache.body.max)
        buf_cleanup(&status_cache.body);
    if (metrics_cache.body.max)
        buf_cleanup(&metrics_cache.body);
    memset(&status_cache, 0, sizeof(status_cache));
    memset(&metrics_cache, 0, sizeof(metrics_cache));
}

static void route_status(const struct http_request *req, struct http_response *resp,
                         struct routes_ctx *ctx)
{
    const struct snapshot *s = status_current();
    int64_t now = util_now_s();

    (void)req;
    (void)ctx;
    if (rendered_fresh(&status_cache, s, now)) {
        resp->status = 200;
        resp->content_type = "application/json";
        buf_append(&resp->body, status_cache.body.data, status_cache.body.len);
        return;
    }
    json_body(resp, 200, status_to_json(s, now, NULL, 0));
    if (resp->status == 200)
        rendered_keep(&status_cache, s, now, &resp->body);
}

static void route_check(const struct http_request *req, struct http_response *resp,
                        struct routes_ctx *ctx)
{
    const char *name = req->path + strlen("/checks/");
    const struct check_snap *c = status_find(status_current(), name);
    json_t *doc;

    (void)ctx;
    if (!c) {
        text(resp, 404, "no such check; see /status for the check names\n");
        return;
    }
    doc = status_check_to_json(status_current(), c, util_now_s());
    json_object_set_new(doc, "name", json_string(c->name));
    json_body(resp,
              c->has_run && c->status <= VERDICT_WARNING &&
                      !status_check_stale(status_current(), c, util_now_s())
                  ? 200
                  : 503,
              doc);
}

static void route_metrics(const struct http_request *req, struct http_response *resp,
                          struct routes_ctx *ctx)
{
    const struct snapshot *s = status_current();

    (void)req;
    (void)ctx;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (rendered_fresh(&metrics_cache, s, 0)) {
        buf_append(&resp->body, metrics_cache.body.data, metrics_cache.body.len);
        return;
    }
    {
        struct procstat ps;

        procstat_read(&ps);
        metrics_render(s, &ps, &resp->body);
    }
    rendered_keep(&metrics_cache, s, 0, &resp->body);
}

/* ---- POST /cleanup -------------------------------------------------------------------------- */

struct routes_cleanup {
    struct routes_ctx *ctx;
    struct http_deferred *deferred;
    struct cleanup *run;
    json_t *steps;
};

static void cleanup_line_cb(const char *line, void *arg)
{
    struct routes_cleanup *rc = arg;

    json_array_append_new(rc->steps, json_string(line));
}

static void cleanup_done_cb(const struct cleanup_result *res, void *arg)
{
    struct routes_cleanup *rc = arg;
    struct http_response resp = {.status = 200};
    json_t *doc;

    doc = json_pack("{s:s,s:b,s:s?,s:s?,s:s?,s:O,s:O,s:s,s:O}", "status",
                    cleanup_status_name(res->status), "dry_run", res->dry_run, "namespace",
                    res->namespace, "configmap", res->configmap, "saved_as", res->saved_as,
                    "removed", res->removed, "clone_keys", res->clone_keys, "message", res->message,
                    "steps", rc->steps);
    if (res->dry_run && res->patch)
        json_object_set(doc, "patch", res->patch);
    if (res->dry_run && res->backup)
        json_object_set(doc, "backup", res->backup);
    log_info("cleanup", "POST /cleanup status=%s dry_run=%s: %s", cleanup_status_name(res->status),
             res->dry_run ? "true" : "false", res->message);
    buf_init(&resp.body, HTTP_RESPONSE_MAX);
    json_body(&resp,
              res->status == CLEANUP_DONE || res->status == CLEANUP_NOTHING ? 200
              : res->status == CLEANUP_REFUSED                              ? 409
                                                                            : 500,
              doc);
    http_deferred_reply(rc->deferred, &resp);
    buf_cleanup(&resp.body);
    rc->ctx->cleanup = NULL;
    json_decref(rc->steps);
    free(rc);
}

/* The connection went away first (the server is stopping): drop the run. */
static void cleanup_abort_cb(void *arg)
{
    struct routes_cleanup *rc = arg;

    log_warn("cleanup", "POST /cleanup abandoned: the connection closed before it finished");
    cleanup_cancel(rc->run);
    rc->ctx->cleanup = NULL;
    json_decref(rc->steps);
    free(rc);
}

static void cleanup_error(struct http_response *resp, int status, const char *message)
{
    json_body(resp, status, json_pack("{s:s,s:s}", "status", "failed", "message", message));
}

/* ?dry_run=1&force=true: each flag alone, =1/true/yes or =0/false/no. */
static int parse_cleanup_query(const char *query, struct cleanup_opts *o, char *err, size_t len)
{
    char q[HTTP_URL_MAX + 1];

    if (!query || !*query)
        return 0;
    snprintf(q, sizeof(q), "%s", query);
    for (char *save = NULL, *tok = strtok_r(q, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        const char *v = eq ? eq + 1 : "1";
        bool b;

        if (eq)
            *eq = '\0';
        if (util_parse_bool(v, &b) < 0) {
            snprintf(err, len, "query parameter %s=%s: accepted values are 1/true or 0/false", tok,
                     v);
            return -1;
        }
        if (strcmp(tok, "dry_run") == 0) {
            o->dry_run = b;
        } else if (strcmp(tok, "force") == 0) {
            o->force = b;
        } else {
            snprintf(err, len, "unknown query parameter '%s'; accepted: dry_run, force", tok);
            return -1;
        }
    }
    return 0;
}

static bool bearer_ok(const char *authorization, const char *token)
{
    const char *t;

    /* An empty configured token never matches (config refuses one shorter than 16 characters). */
    if (!authorization || !token || !*token || strncasecmp(authorization, "Bearer ", 7) != 0)
        return false;
    t = authorization + 7;
    while (*t == ' ')
        t++;
    return util_const_eq(t, token);
}

static void route_cleanup(const struct http_request *req, struct http_response *resp,
                          struct routes_ctx *ctx)
{
    struct config *cfg = *ctx->cfg;
    struct cleanup_opts opts = {0};
    struct cleanup_gate gate;
    struct routes_cleanup *rc;
    char err[1024];

    if (strcmp(req->method, "POST") != 0) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: POST\r\n");
        text(resp, 405, "method not allowed; use POST\n");
        return;
    }
    if (!bearer_ok(req->authorization, cfg->cleanup_token)) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                 "WWW-Authenticate: Bearer realm=\"spilo-agent\"\r\n");
        log_limited(LOG_LEVEL_WARN, "cleanup", "cleanup.bad_token",
                    "POST /cleanup refused: %s bearer token", req->authorization ? "wrong" : "no");
        text(resp, 401,
             "unauthorized: send Authorization: Bearer <the token in [cleanup] "
             "token_file>\n");
        return;
    }
    if (parse_cleanup_query(req->query, &opts, err, sizeof(err)) < 0) {
        cleanup_error(resp, 400, err);
        return;
    }
    if (ctx->cleanup) {
        cleanup_error(resp, 409, "another cleanup is running; retry when it has finished");
        return;
    }
    if (!ctx->curlm) {
        cleanup_error(resp, 503, "cleanup is not available in this process");
        return;
    }
    /* The restore check's last published result decides (the daemon runs it every interval). */
    cleanup_gate_from_snapshot(status_current(), &gate);
    rc = xcalloc(1, sizeof(*rc));
    rc->ctx = ctx;
    rc->steps = json_array();
    if (cleanup_start(ctx->curlm, cfg, &opts, &gate, util_now_s(), cleanup_line_cb, cleanup_done_cb,
                      rc, &rc->run, err, sizeof(err)) < 0) {
        json_decref(rc->steps);
        free(rc);
        log_warn("cleanup", "POST /cleanup failed: %s", err);
        cleanup_error(resp, 500, err);
        return;
    }
    log_info("cleanup", "POST /cleanup started dry_run=%s force=%s",
             opts.dry_run ? "true" : "false", opts.force ? "true" : "false");
    ctx->cleanup = rc;
    rc->deferred = http_defer(resp, cleanup_abort_cb, rc);
}

static const struct route {
    const char *path;
    bool prefix;
    route_fn fn;
} routes[] = {
    {"/livez", false, route_livez},     {"/readyz", false, route_readyz},
    {"/status", false, route_status},   {"/checks/", true, route_check},
    {"/metrics", false, route_metrics},
};

void routes_handle(const struct http_request *req, struct http_response *resp, void *arg)
{
    struct routes_ctx *ctx = arg;

    if (strcmp(req->path, "/cleanup") == 0 && (*ctx->cfg)->cleanup_allow_http) {
        route_cleanup(req, resp, ctx);
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
        const struct route *r = &routes[i];
        bool hit = r->prefix ? strncmp(req->path, r->path, strlen(r->path)) == 0
                             : strcmp(req->path, r->path) == 0;

        if (!hit)
            continue;
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
            snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: GET, HEAD\r\n");
            text(resp, 405, "method not allowed; use GET\n");
            return;
        }
        r->fn(req, resp, ctx);
        return;
    }
    text(resp, 404, "not found; try /livez, /readyz, /status, /checks/NAME or /metrics\n");
}

/* routes.c - path -> handler table for /livez, /readyz, /status, /checks/NAME, /metrics. The
 * handlers read status_current() and format it; they never block and never start a check. */
#include "routes.h"

#include <string.h>

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
    if (status_ready(s, reason, sizeof(reason))) {
        text(resp, 200, "ok\n");
        return;
    }
    text(resp, 503, "not ready: ");
    buf_puts(&resp->body, reason);
    buf_puts(&resp->body, "\n");
}

static void route_status(const struct http_request *req, struct http_response *resp,
                         struct routes_ctx *ctx)
{
    (void)req;
    (void)ctx;
    json_body(resp, 200, status_to_json(status_current(), util_now_s(), NULL, 0));
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
    doc = status_check_to_json(c);
    json_object_set_new(doc, "name", json_string(c->name));
    json_body(resp, c->has_run && c->status <= VERDICT_WARNING ? 200 : 503, doc);
}

static void route_metrics(const struct http_request *req, struct http_response *resp,
                          struct routes_ctx *ctx)
{
    (void)req;
    (void)ctx;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_render(status_current(), &resp->body);
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

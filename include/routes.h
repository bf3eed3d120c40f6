/* routes.h - the HTTP routes: a table of pure renderers over the current snapshot. */
#ifndef AGENT_ROUTES_H
#define AGENT_ROUTES_H

#include "config.h"
#include "http.h"

struct routes_ctx {
    struct config **cfg; /* the daemon's current config (swapped on SIGHUP) */
};

/* The http_handler_fn of the agent; arg is a struct routes_ctx. */
void routes_handle(const struct http_request *req, struct http_response *resp, void *arg);

#endif

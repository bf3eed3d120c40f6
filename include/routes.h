/* routes.h - the HTTP routes: a table of pure renderers over the current snapshot, plus POST
 * /cleanup, which runs the post-restore cleanup on the loop and answers when it has finished. */
#ifndef AGENT_ROUTES_H
#define AGENT_ROUTES_H

#include "config.h"
#include "curlm.h"
#include "http.h"

struct routes_cleanup;

struct routes_ctx {
    struct config **cfg; /* the daemon's current config (swapped on SIGHUP) */
    struct curlm *curlm; /* for POST /cleanup's Kubernetes requests (NULL: it answers 503) */
    struct routes_cleanup *cleanup; /* private: the POST /cleanup in flight (one at a time) */
};

/* The http_handler_fn of the agent; arg is a struct routes_ctx. */
void routes_handle(const struct http_request *req, struct http_response *resp, void *arg);
/* Frees the cached /status and /metrics bodies (at shutdown). */
void routes_cache_clear(void);

#endif

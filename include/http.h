/* http.h - a small HTTP/1.1 server on libuv with http-parser: keep-alive and pipelining, bounded
 * request heads and bodies (431/413/414), a per-request deadline against slow clients, an idle
 * keep-alive timeout and a connection cap. Handlers run synchronously on the loop thread and only
 * format an answer; the one exception defers its answer with http_defer() (see below). */
#ifndef AGENT_HTTP_H
#define AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "buf.h"
#include "common.h"

#define HTTP_HEAD_MAX     8192
#define HTTP_URL_MAX      2048
#define HTTP_BODY_MAX     65536
#define HTTP_RESPONSE_MAX (4u << 20)

struct http_request {
    const char *method;        /* "GET", "HEAD", "POST", ... */
    const char *path;          /* decoded of nothing: the raw path without the query */
    const char *query;         /* NULL when absent */
    const char *authorization; /* Authorization header value, NULL when absent */
    const char *body;
    size_t body_len;
};

struct http_conn;
struct http_deferred;

struct http_response {
    int status;
    const char *content_type;
    char extra_headers[256]; /* e.g. "Allow: GET, HEAD\r\n" */
    struct buf body;
    /* private: set by the server and by http_defer() */
    struct http_conn *conn;
    struct http_deferred *deferred;
};

typedef void (*http_handler_fn)(const struct http_request *req, struct http_response *resp,
                                void *arg);

struct http_limits {
    uint64_t request_timeout_ms; /* a request head+body must arrive within this */
    uint64_t idle_timeout_ms;    /* keep-alive connections idle longer are closed */
    size_t max_connections;
};

struct http_server;

/* Binds host:port and starts listening. Returns 0 or a negative libuv error. */
MUSTCHECK int http_server_start(uv_loop_t *loop, const char *host, int port,
                                const struct http_limits *limits, http_handler_fn handler,
                                void *arg, struct http_server **out);
/* Takes limits' request_timeout_ms, idle_timeout_ms and max_connections (a reload): a timer armed
 * from now on and the next accepted connection use them; open connections stay open. */
void http_server_set_limits(struct http_server *srv, const struct http_limits *limits);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* Stops accepting and closes every connection; http_server_closed() tells when all are gone. */
void http_server_stop(struct http_server *srv);
bool http_server_closed(const struct http_server *srv);
void http_server_free(struct http_server *srv);

const char *http_reason(int status);

/* Answering later. A handler that must wait for I/O (POST /cleanup waits for the Kubernetes API)
 * calls http_defer() instead of filling resp and answers later, on the loop thread, with
 * http_deferred_reply(). Meanwhile the connection is not read and its timers are stopped (the
 * caller bounds the wait), and it is closed after that answer: nothing is pipelined behind a
 * deferred request. If the connection is closed first (server stopping), on_abort(arg) is called
 * once, from inside the close, and the handle is gone: the caller drops its work. */
typedef void (*http_abort_fn)(void *arg);
struct http_deferred *http_defer(struct http_response *resp, http_abort_fn on_abort, void *arg);
/* Sends resp (status, content type, extra headers, body; resp stays the caller's to clean up)
 * on the deferred connection, if it is still open, and frees d. */
void http_deferred_reply(struct http_deferred *d, struct http_response *resp);

#endif

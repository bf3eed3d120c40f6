/* http.h - a small HTTP/1.1 server on libuv with http-parser: keep-alive and pipelining, bounded
 * request heads and bodies (431/413/414), a per-request deadline against slow clients, an idle
 * keep-alive timeout and a connection cap. Handlers run synchronously on the loop thread and only
 * format an answer; they never start I/O. */
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

struct http_response {
    int status;
    const char *content_type;
    char extra_headers[256]; /* e.g. "Allow: GET, HEAD\r\n" */
    struct buf body;
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
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* Stops accepting and closes every connection; http_server_closed() tells when all are gone. */
void http_server_stop(struct http_server *srv);
bool http_server_closed(const struct http_server *srv);
void http_server_free(struct http_server *srv);

const char *http_reason(int status);

#endif

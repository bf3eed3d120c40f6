/* http.c - owns the listening socket and the connections: accept, bounded read and parse with
 * http-parser, dispatch to one handler, write, timeouts and orderly close. It knows no routes.
 *
 * Each connection has two handles (tcp + timer) and is freed when the second close callback has
 * run. Requests are answered in order as http-parser completes them, so pipelined requests get
 * their responses in order on the same stream. */
#include "http.h"

#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

struct http_conn;

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listener_open;
    bool stopping;
    http_handler_fn handler;
    void *arg;
    struct http_limits limits;
    size_t n_conns;
    struct http_conn *conns; /* doubly linked list of open connections */
    size_t queued;        /* bytes of answers written but not yet taken by the kernel, all conns */
    size_t n_paused;      /* connections not parsed because of queued answers */
    char read_buf[65536]; /* shared: reads are consumed synchronously in read_cb */
    bool read_buf_busy;
};

struct http_conn {
    struct http_server *srv;
    struct http_conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    int open_handles;
    bool closing;
    bool in_message;
    bool close_after_write;
    bool reading;
    bool paused;   /* parser paused: too many answers queued (here or in the whole process) */
    size_t queued; /* bytes of this connection's answers not yet taken by the kernel */
    char *pending; /* bytes read but not parsed while paused (at most one read) */
    size_t pending_len;
    http_parser parser;
    int error_status; /* set by a callback that stops the parser: 400, 413, 414, 431 */
    bool upgrade_refused;
    size_t head_bytes;
    char url[HTTP_URL_MAX + 1];
    size_t url_len;
    bool header_is_auth;
    bool in_field;
    struct buf field;
    struct buf auth;
    struct buf body;
    struct http_deferred *deferred; /* an answer owed by a handler, see http_defer() */
};

struct http_deferred {
    struct http_conn *conn; /* NULL once the connection is gone */
    bool head_only;
    http_abort_fn on_abort;
    void *arg;
};

struct write_req {
    uv_write_t req;
    struct http_conn *conn;
    char *data;
    size_t len;
};

/* What answers may wait for a client that pipelines and does not read: past CONN_QUEUE_HIGH on one
 * connection, or PROCESS_QUEUE_HIGH over all of them, a connection's requests are no longer parsed
 * (nor its socket read) until its answers drain below the low marks. One answer is always sent
 * whole, so one connection holds at most CONN_QUEUE_HIGH + one answer + one read. */
#define CONN_QUEUE_HIGH    (256u << 10)
#define CONN_QUEUE_LOW     (64u << 10)
#define PROCESS_QUEUE_HIGH (16u << 20)
#define PROCESS_QUEUE_LOW  (8u << 20)

static http_parser_settings parser_settings;

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct http_conn *c = h->data;

    if (--c->open_handles > 0)
        return;
    buf_cleanup(&c->field);
    buf_cleanup(&c->auth);
    buf_cleanup(&c->body);
    free(c->pending);
    free(c);
}

static void conn_close(struct http_conn *c)
{
    struct http_server *srv = c->srv;

    if (c->closing)
        return;
    c->closing = true;
    if (c->deferred) {
        struct http_deferred *d = c->deferred;

        c->deferred = NULL;
        d->conn = NULL;
        if (d->on_abort)
            d->on_abort(d->arg);
        free(d);
    }
    if (c->paused) {
        c->paused = false;
        srv->n_paused--;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
    uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
}

static void conn_timeout_cb(uv_timer_t *t);

static void conn_arm_timer(struct http_conn *c, uint64_t ms)
{
    if (!c->closing)
        (void)uv_timer_start(&c->timer, conn_timeout_cb, ms, 0);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_resume_reading(struct http_conn *c)
{
    if (!c->reading && !c->closing) {
        c->reading = true;
        (void)uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    }
}

static void conn_parse(struct http_conn *c, const char *data, size_t len);

static bool conn_over(const struct http_conn *c)
{
    return c->queued >= CONN_QUEUE_HIGH || c->srv->queued >= PROCESS_QUEUE_HIGH;
}

static bool conn_under(const struct http_conn *c)
{
    return c->queued < CONN_QUEUE_LOW && c->srv->queued < PROCESS_QUEUE_LOW;
}

static void conn_stop_reading(struct http_conn *c)
{
    if (c->reading) {
        (void)uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Parses what was read while paused, then reads again (unless it paused once more). */
static void conn_unpause(struct http_conn *c)
{
    char *data = c->pending;
    size_t len = c->pending_len;

    if (!c->paused || c->closing)
        return;
    c->paused = false;
    c->srv->n_paused--;
    c->pending = NULL;
    c->pending_len = 0;
    http_parser_pause(&c->parser, 0);
    if (len)
        conn_parse(c, data, len);
    free(data);
    if (!c->closing && !c->paused && !c->close_after_write && !conn_over(c))
        conn_resume_reading(c);
}

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct http_conn *c = w->conn;
    struct http_server *srv = c->srv;
    bool was_over = srv->queued >= PROCESS_QUEUE_LOW;

    srv->queued -= w->len;
    c->queued -= w->len;
    free(w->data);
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->close_after_write && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        conn_close(c);
        return;
    }
    if (c->paused && conn_under(c))
        conn_unpause(c);
    else if (!c->paused && !c->close_after_write && !c->deferred && !conn_over(c))
        conn_resume_reading(c);
    /* The process dropped below its mark: the connections it paused may go on. */
    if (was_over && srv->queued < PROCESS_QUEUE_LOW && srv->n_paused) {
        struct http_conn *n;

        for (struct http_conn *p = srv->conns; p && srv->queued < PROCESS_QUEUE_LOW; p = n) {
            n = p->next;
            if (p->paused && conn_under(p))
                conn_unpause(p);
        }
    }
}

static void conn_send(struct http_conn *c, struct http_response *resp, bool head_only)
{
    struct write_req *w;
    struct buf out;
    uv_buf_t b;
    int rc;

    if (c->closing)
        return;
    if (resp->body.overflow) {
        buf_reset(&resp->body);
        resp->status = 500;
        resp->content_type = "text/plain; charset=utf-8";
        buf_puts(&resp->body, "response too large\n");
    }
    buf_init(&out, HTTP_RESPONSE_MAX + 1024);
    buf_printf(&out,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
               "Connection: %s\r\n\r\n",
               resp->status, http_reason(resp->status), resp->content_type, resp->body.len,
               resp->extra_headers, c->close_after_write ? "close" : "keep-alive");
    if (!head_only && resp->body.len)
        buf_append(&out, resp->body.data, resp->body.len);
    w = xcalloc(1, sizeof(*w));
    w->conn = c;
    w->data = out.data;
    w->len = out.len;
    b = uv_buf_init(out.data, (unsigned int)out.len);
    c->queued += w->len;
    c->srv->queued += w->len;
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (rc < 0) {
        c->queued -= w->len;
        c->srv->queued -= w->len;
        free(w->data);
        free(w);
        conn_close(c);
        return;
    }
    /* Backpressure: a client that pipelines without reading stops being read. */
    if (conn_over(c))
        conn_stop_reading(c);
}

static void send_error(struct http_conn *c, int status, const char *msg)
{
    struct http_response resp = {.status = status, .content_type = "text/plain; charset=utf-8"};

    buf_init(&resp.body, 4096);
    buf_puts(&resp.body, msg);
    buf_puts(&resp.body, "\n");
    c->close_after_write = true;
    conn_send(c, &resp, false);
    buf_cleanup(&resp.body);
    if (c->reading) {
        (void)uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void conn_timeout_cb(uv_timer_t *t)
{
    struct http_conn *c = t->data;

    if (c->in_message && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        send_error(c, 408, "request not received in time");
        /* write_cb closes; a client that does not read gets closed by the next timeout */
        conn_arm_timer(c, 1000);
        c->in_message = false;
        return;
    }
    conn_close(c);
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = p->data;

    c->in_message = true;
    c->head_bytes = 0;
    c->url_len = 0;
    c->url[0] = '\0';
    c->header_is_auth = false;
    c->in_field = false;
    buf_reset(&c->auth);
    buf_reset(&c->body);
    conn_arm_timer(c, c->srv->limits.request_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;

    if (c->url_len + len > HTTP_URL_MAX) {
        c->error_status = 414;
        return 1;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    c->url[c->url_len] = '\0';
    return 0;
}

static int count_head(struct http_conn *c, size_t len)
{
    c->head_bytes += len;
    if (c->head_bytes > HTTP_HEAD_MAX) {
        c->error_status = 431;
        return 1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;

    if (count_head(c, len + 4))
        return 1;
    /* A field name may arrive in pieces; compare only the complete name. */
    if (!c->in_field) {
        c->in_field = true;
        buf_reset(&c->field);
    }
    buf_append(&c->field, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;

    if (count_head(c, len))
        return 1;
    if (c->in_field) {
        c->in_field = false;
        c->header_is_auth =
            c->field.len == 13 && strncasecmp(c->field.data, "authorization", 13) == 0;
        if (c->header_is_auth)
            buf_reset(&c->auth); /* a repeated Authorization header: the last one counts */
    }
    if (c->header_is_auth)
        buf_append(&c->auth, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = p->data;

    buf_reset(&c->body);
    if (p->upgrade) {
        /* "Connection: Upgrade" with "Upgrade:", or CONNECT: refused before any handler answers,
         * so the client gets exactly one answer. */
        c->error_status = 400;
        c->upgrade_refused = true;
        return -1;
    }
    if (p->content_length != ULLONG_MAX && p->content_length > HTTP_BODY_MAX) {
        c->error_status = 413;
        return -1; /* http-parser: error */
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;

    buf_append(&c->body, at, len);
    if (c->body.overflow) {
        c->error_status = 413;
        return 1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    struct http_server *srv = c->srv;
    struct http_response resp = {.status = 200, .content_type = "text/plain; charset=utf-8"};
    struct http_request req = {0};
    char *q;

    c->in_message = false;
    if (!http_should_keep_alive(p) || srv->stopping)
        c->close_after_write = true;
    q = strchr(c->url, '?');
    if (q)
        *q = '\0';
    req.method = http_method_str((enum http_method)p->method);
    req.path = c->url;
    req.query = q ? q + 1 : NULL;
    req.authorization = c->auth.len ? c->auth.data : NULL;
    req.body = c->body.data;
    req.body_len = c->body.len;
    buf_init(&resp.body, HTTP_RESPONSE_MAX);
    resp.conn = c;
    srv->handler(&req, &resp, srv->arg);
    if (c->auth.data)
        explicit_bzero(c->auth.data, c->auth.len);
    if (resp.deferred) {
        /* Answered later: stop reading and timing; close after the answer. */
        buf_cleanup(&resp.body);
        c->deferred = resp.deferred;
        c->deferred->head_only = p->method == HTTP_HEAD;
        c->close_after_write = true;
        if (c->reading) {
            (void)uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        (void)uv_timer_stop(&c->timer);
        return 1; /* stop parsing whatever follows */
    }
    conn_send(c, &resp, p->method == HTTP_HEAD);
    buf_cleanup(&resp.body);
    conn_arm_timer(c, srv->limits.idle_timeout_ms);
    if (c->close_after_write)
        return 1; /* stop parsing whatever follows */
    if (!c->closing && conn_over(c)) {
        /* Answers pile up unread: parse no further until they drain (write_cb). */
        http_parser_pause(p, 1);
        c->paused = true;
        srv->n_paused++;
        conn_stop_reading(c);
    }
    return 0;
}

struct http_deferred *http_defer(struct http_response *resp, http_abort_fn on_abort, void *arg)
{
    struct http_deferred *d = xcalloc(1, sizeof(*d));

    d->conn = resp->conn;
    d->on_abort = on_abort;
    d->arg = arg;
    resp->deferred = d;
    return d;
}

void http_deferred_reply(struct http_deferred *d, struct http_response *resp)
{
    struct http_conn *c = d->conn;

    if (c) {
        c->deferred = NULL;
        conn_send(c, resp, d->head_only);
        if (!c->closing)
            conn_arm_timer(c, c->srv->limits.idle_timeout_ms); /* a client that does not read */
    }
    free(d);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct http_conn *c = h->data;

    (void)suggested;
    /* One shared buffer: every read is parsed to completion before the next one. */
    if (c->srv->read_buf_busy) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    c->srv->read_buf_busy = true;
    buf->base = c->srv->read_buf;
    buf->len = sizeof(c->srv->read_buf);
}

static void conn_parse(struct http_conn *c, const char *data, size_t len)
{
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, data, len);

    if (c->closing || c->close_after_write)
        return;
    if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED) {
        /* Keep what follows for conn_unpause(); at most one read's worth. */
        c->pending_len = len - parsed;
        c->pending = c->pending_len ? xmalloc(c->pending_len) : NULL;
        if (c->pending_len)
            memcpy(c->pending, data + parsed, c->pending_len);
        return;
    }
    if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || parsed != len) {
        int st = c->error_status ? c->error_status : 400;

        log_debug("http", "bad request status=%d error=%s", st,
                  http_errno_name(HTTP_PARSER_ERRNO(&c->parser)));
        send_error(c, st,
                   st == 431            ? "request head too large (limit 8 KiB)"
                   : st == 413          ? "request body too large (limit 64 KiB)"
                   : st == 414          ? "request URI too long (limit 2 KiB)"
                   : c->upgrade_refused ? "protocol upgrades and CONNECT are not supported"
                                        : "malformed HTTP request");
    }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct http_conn *c = s->data;

    if (buf->base == c->srv->read_buf)
        c->srv->read_buf_busy = false;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        conn_close(c); /* EOF or error; nothing more to answer */
        return;
    }
    if (c->close_after_write)
        return; /* already answering the last request */
    if (c->paused) {
        /* Not expected (reading stops on pause), but never drop a client's bytes. */
        c->pending = xrealloc(c->pending, c->pending_len + (size_t)nread);
        memcpy(c->pending + c->pending_len, buf->base, (size_t)nread);
        c->pending_len += (size_t)nread;
        conn_stop_reading(c);
        return;
    }
    conn_parse(c, buf->base, (size_t)nread);
}

static void connection_cb(uv_stream_t *server, int status)
{
    struct http_server *srv = server->data;
    struct http_conn *c;

    if (status < 0) {
        log_warn("http", "accept failed: %s", uv_strerror(status));
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    buf_init(&c->field, HTTP_HEAD_MAX);
    buf_init(&c->auth, 4096);
    buf_init(&c->body, HTTP_BODY_MAX);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (srv->n_conns > srv->limits.max_connections || srv->stopping) {
        log_limited(LOG_LEVEL_WARN, "http", "http.conn_limit",
                    "connection limit %zu reached, closing new connection",
                    srv->limits.max_connections);
        conn_close(c);
        return;
    }
    (void)uv_tcp_nodelay(&c->tcp, 1);
    conn_arm_timer(c, srv->limits.request_timeout_ms);
    conn_resume_reading(c);
}

void http_server_set_limits(struct http_server *srv, const struct http_limits *limits)
{
    srv->limits.request_timeout_ms = limits->request_timeout_ms;
    srv->limits.idle_timeout_ms = limits->idle_timeout_ms;
    srv->limits.max_connections = limits->max_connections;
}

int http_server_start(uv_loop_t *loop, const char *host, int port, const struct http_limits *limits,
                      http_handler_fn handler, void *arg, struct http_server **out)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_storage addr;
    int rc;

    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;

    srv->loop = loop;
    srv->handler = handler;
    srv->arg = arg;
    srv->limits = *limits;
    if (strchr(host, ':'))
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc < 0) {
        free(srv);
        return rc;
    }
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    srv->listener_open = true;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, connection_cb);
    if (rc < 0) {
        srv->stopping = true;
        http_server_stop(srv);
        *out = srv; /* caller runs the loop until closed, then frees */
        return rc;
    }
    *out = srv;
    return 0;
}

int http_server_port(const struct http_server *srv)
{
    struct sockaddr_storage addr;
    int len = sizeof(addr);

    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static void listener_closed_cb(uv_handle_t *h)
{
    struct http_server *srv = h->data;

    srv->listener_open = false;
}

void http_server_stop(struct http_server *srv)
{
    srv->stopping = true;
    if (srv->listener_open && !uv_is_closing((uv_handle_t *)&srv->listener))
        uv_close((uv_handle_t *)&srv->listener, listener_closed_cb);
    while (srv->conns)
        conn_close(srv->conns);
}

bool http_server_closed(const struct http_server *srv)
{
    return !srv->listener_open && srv->conns == NULL;
}

void http_server_free(struct http_server *srv)
{
    free(srv);
}

/* curlm.c - owns the CURLM and its libuv glue (libcurl's multi_socket API): the socket callback
 * maps curl sockets to uv_poll handles, the timer callback only arms a uv timer, and after every
 * curl_multi_socket_action the finished transfers are drained and their callbacks called. */
#include "curlm.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct curlm {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int open_handles; /* the timer + socket polls being closed */
    bool closing;
    size_t active;
    struct transfer *transfers;
    struct curlm_sock *socks;
};

struct curlm_sock {
    uv_poll_t poll;
    struct curlm *cm;
    curl_socket_t fd;
    bool closing;
    struct curlm_sock *prev, *next; /* every watched socket, for shutdown */
};

struct transfer {
    curlm_done_fn cb;
    void *arg;
    CURL *easy;
    struct transfer *prev, *next; /* every transfer in flight, for shutdown */
};

static void transfer_unlink(struct curlm *cm, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        cm->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    cm->active--;
}

static void curlm_maybe_free(struct curlm *cm)
{
    if (cm->closing && cm->open_handles == 0)
        free(cm);
}

static void sock_closed_cb(uv_handle_t *h)
{
    struct curlm_sock *s = h->data;
    struct curlm *cm = s->cm;

    if (s->prev)
        s->prev->next = s->next;
    else
        cm->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
    cm->open_handles--;
    curlm_maybe_free(cm);
}

static void drain(struct curlm *cm)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(cm->multi, &left)) != NULL) {
        CURL *easy;
        struct transfer *t = NULL;
        CURLcode rc;

        if (msg->msg != CURLMSG_DONE)
            continue;
        easy = msg->easy_handle;
        rc = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(cm->multi, easy);
        if (t) {
            transfer_unlink(cm, t);
            curlm_done_fn cb = t->cb;
            void *arg = t->arg;

            free(t);
            curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
            cb(easy, rc, arg);
        }
    }
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct curlm_sock *s = p->data;
    struct curlm *cm = s->cm;
    int running, flags = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(cm->multi, s->fd, flags, &running);
    drain(cm);
}

static void timer_due_cb(uv_timer_t *t)
{
    struct curlm *cm = t->data;
    int running;

    curl_multi_socket_action(cm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(cm);
}

/* CURLMOPT_TIMERFUNCTION: re-arm only; curl must not be re-entered from here. */
static int timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
    struct curlm *cm = arg;

    (void)multi;
    if (cm->closing)
        return 0;
    if (timeout_ms < 0)
        return uv_timer_stop(&cm->timer) == 0 ? 0 : -1;
    return uv_timer_start(&cm->timer, timer_due_cb, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms,
                          0) == 0
               ? 0
               : -1;
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    struct curlm *cm = arg;
    struct curlm_sock *s = sockp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s && !s->closing) {
            s->closing = true;
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed_cb);
            curl_multi_assign(cm->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->cm = cm;
        s->fd = fd;
        if (uv_poll_init_socket(cm->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->next = cm->socks;
        if (s->next)
            s->next->prev = s;
        cm->socks = s;
        cm->open_handles++;
        curl_multi_assign(cm->multi, fd, s);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, poll_cb) == 0 ? 0 : -1;
}

struct curlm *curlm_new(uv_loop_t *loop)
{
    struct curlm *cm = xcalloc(1, sizeof(*cm));

    cm->loop = loop;
    cm->multi = curl_multi_init();
    if (!cm->multi)
        abort();
    uv_timer_init(loop, &cm->timer);
    cm->timer.data = cm;
    cm->open_handles = 1;
    curl_multi_setopt(cm->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(cm->multi, CURLMOPT_SOCKETDATA, cm);
    curl_multi_setopt(cm->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(cm->multi, CURLMOPT_TIMERDATA, cm);
    curl_multi_setopt(cm->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    return cm;
}

static void timer_closed_cb(uv_handle_t *h)
{
    struct curlm *cm = h->data;

    cm->open_handles--;
    curlm_maybe_free(cm);
}

void curlm_close(struct curlm *cm)
{
    int n = 0;

    if (!cm || cm->closing)
        return;
    /* Remove the transfers that are left (their owners should have cancelled them first). */
    while (cm->transfers) {
        struct transfer *t = cm->transfers;

        transfer_unlink(cm, t);
        curl_multi_remove_handle(cm->multi, t->easy);
        free(t);
        n++;
    }
    if (n)
        log_warn("curl", "%d transfers still open at shutdown were dropped", n);
    curl_multi_cleanup(cm->multi);
    cm->closing = true;
    for (struct curlm_sock *s = cm->socks; s; s = s->next) {
        if (!s->closing) {
            s->closing = true;
            uv_close((uv_handle_t *)&s->poll, sock_closed_cb);
        }
    }
    uv_close((uv_handle_t *)&cm->timer, timer_closed_cb);
}

int curlm_add(struct curlm *cm, CURL *easy, curlm_done_fn cb, void *arg)
{
    struct transfer *t = xcalloc(1, sizeof(*t));
    CURLMcode mc;

    t->cb = cb;
    t->arg = arg;
    t->easy = easy;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    mc = curl_multi_add_handle(cm->multi, easy);
    if (mc != CURLM_OK) {
        free(t);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        return -EINVAL;
    }
    t->next = cm->transfers;
    if (t->next)
        t->next->prev = t;
    cm->transfers = t;
    cm->active++;
    return 0;
}

void curlm_remove(struct curlm *cm, CURL *easy)
{
    struct transfer *t = NULL;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    if (!t)
        return;
    transfer_unlink(cm, t);
    free(t);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    curl_multi_remove_handle(cm->multi, easy);
}

size_t curlm_active(const struct curlm *cm)
{
    return cm->active;
}

/* ---- a simple GET ------------------------------------------------------------------------ */

struct curlm_get {
    CURL *easy;
    struct buf body;
    char error[CURL_ERROR_SIZE];
    curlm_get_fn cb;
    void *arg;
};

size_t curlm_write_cb(char *data, size_t size, size_t n, void *buf)
{
    struct buf *b = buf;

    buf_append(b, data, size * n);
    return b->overflow ? 0 : size * n;
}

void curlm_write_to(CURL *easy, struct buf *body)
{
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, curlm_write_cb);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
}

static void get_done_cb(CURL *easy, CURLcode rc, void *arg)
{
    struct curlm_get *g = arg;
    long status = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    g->cb(status, rc, rc == CURLE_OK ? NULL : (g->error[0] ? g->error : curl_easy_strerror(rc)),
          &g->body, g->arg);
    curl_easy_cleanup(easy);
    buf_cleanup(&g->body);
    free(g);
}

int curlm_get(struct curlm *cm, const char *url, long timeout_ms, size_t max, curlm_get_fn cb,
              void *arg, struct curlm_get **out)
{
    struct curlm_get *g = xcalloc(1, sizeof(*g));
    int rc;

    g->easy = curl_easy_init();
    if (!g->easy)
        abort();
    g->cb = cb;
    g->arg = arg;
    buf_init(&g->body, max);
    curl_easy_setopt(g->easy, CURLOPT_URL, url);
    curl_easy_setopt(g->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(g->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(g->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(g->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(g->easy, CURLOPT_USERAGENT, (const char *)agent_user_agent);
    curlm_write_to(g->easy, &g->body);
    curl_easy_setopt(g->easy, CURLOPT_ERRORBUFFER, g->error);
    rc = curlm_add(cm, g->easy, get_done_cb, g);
    if (rc < 0) {
        curl_easy_cleanup(g->easy);
        buf_cleanup(&g->body);
        free(g);
        return rc;
    }
    if (out)
        *out = g;
    return 0;
}

void curlm_get_cancel(struct curlm *cm, struct curlm_get *g)
{
    curlm_remove(cm, g->easy);
    curl_easy_cleanup(g->easy);
    buf_cleanup(&g->body);
    free(g);
}

/* pgconn.c - owns every libpq connection of the process and drives it without blocking: one
 * uv_poll per socket (replaced when libpq switches sockets), one timer that is first the session's
 * deadline and then the deferred delivery of its outcome. Nothing else calls PQconnectPoll,
 * PQsendQuery or PQfinish. Must not block the loop (no PQexec, no PQcancel) and must not put the
 * connection string or a password into any message or log line. */
#include "pgconn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

enum pgconn_stage {
    PGCONN_STAGE_CONNECTING,
    PGCONN_STAGE_QUERYING,
    PGCONN_STAGE_ENDED,     /* outcome known, connection closed; delivery queued on the timer */
    PGCONN_STAGE_DELIVERED, /* callback called; the handles are closing */
};

/* The watched socket. On the heap, not inside struct pgconn, because a replacement can be needed
 * while the previous handle's close callback is still pending. The socket is identified by fd and
 * inode: libpq closes a socket and opens the next one (next host or address, SSL refused then
 * plain) inside one PQconnectPoll call, and the new socket usually gets the same fd number. */
struct pgconn_watch {
    uv_poll_t poll;
    struct pgconn *pc;
    int fd;
    dev_t dev;
    ino_t ino;
    int events; /* what the poll handle was started with, 0 = not yet */
};

struct pgconn {
    uv_loop_t *loop;
    PGconn *conn;               /* NULL once finished */
    uv_timer_t timer;           /* deadline, then delivery */
    struct pgconn_watch *watch; /* NULL when not watching */
    int open_handles;           /* timer + poll handles whose close callback has not run */
    enum pgconn_stage stage;
    uint64_t timeout_ms;
    char **sql; /* n_sql copies */
    size_t n_sql;
    size_t cur; /* the statement being run */
    pgconn_done_cb cb;
    void *arg;
    struct pgconn_result res; /* res.results has n_sql slots (at least one) */
};

static void pgconn_query_step(struct pgconn *pc);

static int pgconn_err_rc(enum pgconn_err kind)
{
    switch (kind) {
    case PGCONN_ERR_NONE:
        return 0;
    case PGCONN_ERR_AUTH:
        return -EACCES;
    case PGCONN_ERR_QUERY:
        return -EIO;
    case PGCONN_ERR_TIMEOUT:
        return -ETIMEDOUT;
    case PGCONN_ERR_CANCELED:
        return -ECANCELED;
    case PGCONN_ERR_CONNECT:
    default:
        return -ENOTCONN;
    }
}

const char *pgconn_err_name(enum pgconn_err kind)
{
    switch (kind) {
    case PGCONN_ERR_NONE:
        return "none";
    case PGCONN_ERR_CONNECT:
        return "connect";
    case PGCONN_ERR_AUTH:
        return "auth";
    case PGCONN_ERR_QUERY:
        return "query";
    case PGCONN_ERR_TIMEOUT:
        return "timeout";
    case PGCONN_ERR_CANCELED:
        return "canceled";
    }
    return "unknown";
}

/* ---- message text ------------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_sqlstate_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

/* Copies in to out on one line: whitespace runs become one space, ends trimmed, truncated to
 * fit. */
static void text_one_line(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    bool space = false;

    if (outlen == 0)
        return;
    for (const char *p = in; *p && n + 1 < outlen; p++) {
        if (is_space(*p)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < outlen)
            out[n++] = ' ';
        space = false;
        out[n++] = *p;
    }
    out[n] = '\0';
}

/* Makes libpq's connection error message (built with PQERRORS_VERBOSE) readable, and collects the
 * SQLSTATEs in it. During the connection there is no PGresult to ask, but in verbose mode each
 * server error reads "SEVERITY:  XXXXX: text" followed by a "LOCATION:  ..." line: the code comes
 * from the server's C field, so it does not depend on lc_messages. The codes and the LOCATION
 * lines are removed; sqlstate gets the last code; returns whether any was of class 28
 * (invalid_authorization_specification, invalid_password). */
static bool text_connect_error(const char *in, char *out, size_t outlen, char sqlstate[6])
{
    size_t len = strlen(in);
    char *tmp = xmalloc(len + 1);
    size_t n = 0;
    bool auth = false, line_start = true;

    sqlstate[0] = '\0';
    for (size_t i = 0; i < len;) {
        if (line_start && strncmp(in + i, "LOCATION:  ", 11) == 0) {
            while (i < len && in[i] != '\n')
                i++;
            continue;
        }
        line_start = in[i] == '\n';
        if (i >= 3 && strncmp(in + i - 3, ":  ", 3) == 0 && i + 7 <= len && in[i + 5] == ':' &&
            in[i + 6] == ' ') {
            bool code = true;

            for (size_t k = 0; k < 5; k++)
                code = code && is_sqlstate_char(in[i + k]);
            if (code) {
                memcpy(sqlstate, in + i, 5);
                sqlstate[5] = '\0';
                auth = auth || strncmp(sqlstate, "28", 2) == 0;
                i += 7;
                continue;
            }
        }
        tmp[n++] = in[i++];
    }
    tmp[n] = '\0';
    text_one_line(tmp, out, outlen);
    free(tmp);
    return auth;
}

/* libpq's parse errors quote pieces of the connection string, which may be a password: every
 * quoted piece except "=" becomes "***". */
static void text_mask_quoted(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    char *tmp = xmalloc(len * 3 + 4); /* "" becomes "***" */
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        const char *end;

        tmp[n++] = in[i];
        if (in[i] != '"')
            continue;
        end = strchr(in + i + 1, '"');
        if (!end)
            break;
        if (end - (in + i + 1) == 1 && in[i + 1] == '=') {
            tmp[n++] = '=';
        } else {
            memcpy(tmp + n, "***", 3);
            n += 3;
        }
        tmp[n++] = '"';
        i = (size_t)(end - in);
    }
    tmp[n] = '\0';
    text_one_line(tmp, out, outlen);
    free(tmp);
}

/* libpq's own rule (recognized_connection_string): otherwise the string is a database name. */
static bool looks_like_conninfo(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 ||
           strchr(s, '=') != NULL;
}

/* ---- ending a session ----------------------------------------------------------------------- */

static void pgconn_maybe_free(struct pgconn *pc)
{
    if (pc->stage != PGCONN_STAGE_DELIVERED || pc->open_handles > 0)
        return;
    for (size_t i = 0; i < pc->n_sql; i++)
        free(pc->sql[i]);
    free(pc->sql);
    free(pc->res.results);
    free(pc);
}

static void pgconn_watch_closed_cb(uv_handle_t *h)
{
    struct pgconn_watch *w = h->data;
    struct pgconn *pc = w->pc;

    free(w);
    pc->open_handles--;
    pgconn_maybe_free(pc);
}

static void pgconn_timer_closed_cb(uv_handle_t *h)
{
    struct pgconn *pc = h->data;

    pc->open_handles--;
    pgconn_maybe_free(pc);
}

static void pgconn_unwatch(struct pgconn *pc)
{
    struct pgconn_watch *w = pc->watch;

    if (!w)
        return;
    pc->watch = NULL;
    /* Stopping also drops the fd from epoll at once, so a new handle may watch the same number. */
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, pgconn_watch_closed_cb);
}

static void pgconn_deliver_cb(uv_timer_t *t)
{
    struct pgconn *pc = t->data;

    pc->stage = PGCONN_STAGE_DELIVERED;
    pc->cb(&pc->res, pc->arg);
    for (size_t i = 0; i < pc->n_sql; i++)
        PQclear(pc->res.results[i]); /* NULL (stolen or never run) is fine */
    uv_close((uv_handle_t *)&pc->timer, pgconn_timer_closed_cb);
}

/* Records the outcome (the first one wins), closes the connection and queues the callback. */
static void pgconn_end(struct pgconn *pc, enum pgconn_err kind, const char *error)
{
    if (pc->stage >= PGCONN_STAGE_ENDED)
        return;
    pc->res.kind = kind;
    pc->res.rc = pgconn_err_rc(kind);
    if (error)
        text_one_line(error, pc->res.error, sizeof(pc->res.error));
    pgconn_unwatch(pc); /* stop polling before PQfinish closes the socket */
    if (pc->conn) {
        PQfinish(pc->conn);
        pc->conn = NULL;
    }
    pc->stage = PGCONN_STAGE_ENDED;
    /* Delivered from the timer phase, never from inside pgconn_run() or pgconn_cancel(), so
     * callers need not be re-entrant. Cannot fail: the timer is initialised and not closing. */
    uv_timer_stop(&pc->timer);
    (void)uv_timer_start(&pc->timer, pgconn_deliver_cb, 0, 0);
    if (kind != PGCONN_ERR_NONE)
        log_debug("pgconn", "session failed kind=%s error=\"%s\"", pgconn_err_name(kind),
                  pc->res.error);
}

static void pgconn_fail(struct pgconn *pc, enum pgconn_err kind, const char *fmt, ...) PRINTF(3, 4);
static void pgconn_fail(struct pgconn *pc, enum pgconn_err kind, const char *fmt, ...)
{
    char msg[sizeof(pc->res.error)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pgconn_end(pc, kind, msg);
}

/* Where the session is, for timeout and cancel messages. */
static void pgconn_describe(const struct pgconn *pc, char *out, size_t outlen)
{
    const char *what;

    if (pc->stage == PGCONN_STAGE_QUERYING) {
        snprintf(out, outlen, "while running statement %zu of %zu", pc->cur + 1, pc->n_sql);
        return;
    }
    switch (pc->conn ? PQstatus(pc->conn) : CONNECTION_BAD) {
    case CONNECTION_STARTED:
        what = "waiting for the server to accept the connection";
        break;
    case CONNECTION_MADE:
        what = "sending the startup packet";
        break;
    case CONNECTION_SSL_STARTUP:
        what = "negotiating SSL";
        break;
    case CONNECTION_GSS_STARTUP:
        what = "negotiating GSSAPI encryption";
        break;
    case CONNECTION_AWAITING_RESPONSE:
    case CONNECTION_AUTH_OK:
        what = "waiting for the server to answer the login";
        break;
    default:
        what = "connecting";
        break;
    }
    if (pc->conn && PQhost(pc->conn))
        snprintf(out, outlen, "while connecting to host %s port %s (%s)", PQhost(pc->conn),
                 PQport(pc->conn) ? PQport(pc->conn) : "?", what);
    else
        snprintf(out, outlen, "while connecting (%s)", what);
}

static void pgconn_deadline_cb(uv_timer_t *t)
{
    struct pgconn *pc = t->data;
    char where[256];

    pgconn_describe(pc, where, sizeof(where));
    pgconn_fail(pc, PGCONN_ERR_TIMEOUT, "PostgreSQL did not answer within %llu ms %s",
                (unsigned long long)pc->timeout_ms, where);
}

/* The connection failed: classify from libpq's message, which holds the server's text. */
static void pgconn_fail_connect(struct pgconn *pc)
{
    char msg[sizeof(pc->res.error)];
    bool auth = text_connect_error(PQerrorMessage(pc->conn), msg, sizeof(msg), pc->res.sqlstate);

    /* "fe_sendauth: no password supplied": the server asked for a password there is none of. */
    if (PQconnectionNeedsPassword(pc->conn))
        auth = true;
    /* No server code at all (should not happen with protocol 3): fall back to the English text. */
    if (!auth && !pc->res.sqlstate[0])
        auth = strstr(msg, "no pg_hba.conf entry") || strstr(msg, "pg_hba.conf rejects") ||
               strstr(msg, "password authentication failed") ||
               strstr(msg, "authentication failed for user");
    if (!msg[0])
        snprintf(msg, sizeof(msg), "connection failed (libpq gave no reason)");
    pgconn_end(pc, auth ? PGCONN_ERR_AUTH : PGCONN_ERR_CONNECT, msg);
}

/* Connection lost or unusable after the login. */
static void pgconn_fail_lost(struct pgconn *pc)
{
    char msg[sizeof(pc->res.error)];

    text_one_line(PQerrorMessage(pc->conn), msg, sizeof(msg));
    pgconn_fail(pc, PGCONN_ERR_CONNECT, "connection lost during statement %zu of %zu: %s",
                pc->cur + 1, pc->n_sql, msg[0] ? msg : "no reason given");
}

/* ---- the socket --------------------------------------------------------------------------- */

static void pgconn_poll_cb(uv_poll_t *p, int status, int events);

/* Watches PQsocket() for events. Called after every PQconnectPoll and query step: if libpq now
 * uses another socket, the old handle is stopped and closed and a new one started. */
static void pgconn_watch(struct pgconn *pc, int events)
{
    struct pgconn_watch *w = pc->watch;
    int fd = PQsocket(pc->conn), rc;
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0) {
        pgconn_fail(pc, PGCONN_ERR_CONNECT, "libpq has no usable socket %s",
                    pc->stage == PGCONN_STAGE_CONNECTING ? "while connecting" : "after the login");
        return;
    }
    if (w && (w->fd != fd || w->dev != st.st_dev || w->ino != st.st_ino)) {
        pgconn_unwatch(pc);
        w = NULL;
    }
    if (!w) {
        w = xcalloc(1, sizeof(*w));
        w->pc = pc;
        w->fd = fd;
        w->dev = st.st_dev;
        w->ino = st.st_ino;
        rc = uv_poll_init_socket(pc->loop, &w->poll, fd);
        if (rc < 0) {
            free(w); /* never initialised: no close callback */
            pgconn_fail(pc, PGCONN_ERR_CONNECT, "cannot watch the PostgreSQL socket: %s",
                        uv_strerror(rc));
            return;
        }
        w->poll.data = w;
        pc->watch = w;
        pc->open_handles++;
    }
    if (w->events == events)
        return;
    rc = uv_poll_start(&w->poll, events, pgconn_poll_cb);
    if (rc < 0) {
        pgconn_fail(pc, PGCONN_ERR_CONNECT, "cannot watch the PostgreSQL socket: %s",
                    uv_strerror(rc));
        return;
    }
    w->events = events;
}

/* ---- statements ----------------------------------------------------------------------------- */

static bool pgconn_send_current(struct pgconn *pc)
{
    if (PQsendQuery(pc->conn, pc->sql[pc->cur]) == 1)
        return true;
    pgconn_fail_lost(pc);
    return false;
}

/* A statement's result: kept (replacing the previous one of the same statement), or the end. */
static bool pgconn_take_result(struct pgconn *pc, PGresult *r)
{
    const char *state, *primary, *detail, *hint;

    switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_EMPTY_QUERY:
        PQclear(pc->res.results[pc->cur]);
        pc->res.results[pc->cur] = r;
        return true;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        PQclear(r);
        pgconn_fail(pc, PGCONN_ERR_QUERY,
                    "statement %zu of %zu starts a COPY, which is not supported", pc->cur + 1,
                    pc->n_sql);
        return false;
    default:
        break;
    }
    PQclear(pc->res.results[pc->cur]);
    pc->res.results[pc->cur] = r;
    pc->res.n_results = pc->cur + 1;
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
    if (state)
        snprintf(pc->res.sqlstate, sizeof(pc->res.sqlstate), "%s", state);
    if (!primary)
        primary =
            PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQresStatus(PQresultStatus(r));
    pgconn_fail(pc, PGCONN_ERR_QUERY, "statement %zu of %zu failed: %s%s%s%s%s (SQLSTATE %s)",
                pc->cur + 1, pc->n_sql, primary, detail ? " DETAIL: " : "", detail ? detail : "",
                hint ? " HINT: " : "", hint ? hint : "", state ? state : "none");
    return false;
}

enum pgconn_drain { PGCONN_DRAIN_BUSY, PGCONN_DRAIN_NEXT, PGCONN_DRAIN_ENDED };

/* Takes every result libpq has complete. At the end of a statement (PQgetResult NULL) sends the
 * next one, or ends the session after the last. */
static enum pgconn_drain pgconn_drain(struct pgconn *pc)
{
    while (!PQisBusy(pc->conn)) {
        PGresult *r = PQgetResult(pc->conn);

        if (r) {
            if (!pgconn_take_result(pc, r))
                return PGCONN_DRAIN_ENDED;
            continue;
        }
        pc->cur++;
        pc->res.n_results = pc->cur;
        if (pc->cur == pc->n_sql) {
            pgconn_end(pc, PGCONN_ERR_NONE, NULL);
            return PGCONN_DRAIN_ENDED;
        }
        return pgconn_send_current(pc) ? PGCONN_DRAIN_NEXT : PGCONN_DRAIN_ENDED;
    }
    return PGCONN_DRAIN_BUSY;
}

/* One round of libpq's non-blocking protocol: flush what is queued (PQflush 1 = more to send:
 * wait for writable, and readable because the server may need us to read first), read what has
 * arrived, take complete results. */
static void pgconn_query_step(struct pgconn *pc)
{
    for (;;) {
        int flushed = PQflush(pc->conn);

        if (flushed < 0 || PQconsumeInput(pc->conn) == 0) {
            pgconn_fail_lost(pc);
            return;
        }
        if (flushed == 1) {
            pgconn_watch(pc, UV_READABLE | UV_WRITABLE);
            return;
        }
        switch (pgconn_drain(pc)) {
        case PGCONN_DRAIN_BUSY:
            pgconn_watch(pc, UV_READABLE);
            return;
        case PGCONN_DRAIN_ENDED:
            return;
        case PGCONN_DRAIN_NEXT:
            break; /* the next statement was queued: flush it */
        }
    }
}

static void pgconn_connected(struct pgconn *pc)
{
    const char *v = PQparameterStatus(pc->conn, "server_version");

    /* From here on errors come as PGresults with fields: default text, no LOCATION lines. */
    PQsetErrorVerbosity(pc->conn, PQERRORS_DEFAULT);
    pc->res.connected = true;
    snprintf(pc->res.server_version, sizeof(pc->res.server_version), "%s", v ? v : "");
    pc->res.server_version_num = PQserverVersion(pc->conn);
    pc->res.used_password = PQconnectionUsedPassword(pc->conn) == 1;
    pc->res.ssl_in_use = PQsslInUse(pc->conn) == 1;
    log_debug("pgconn", "connected host=%s port=%s server_version=%s ssl=%d",
              PQhost(pc->conn) ? PQhost(pc->conn) : "", PQport(pc->conn) ? PQport(pc->conn) : "",
              pc->res.server_version, pc->res.ssl_in_use);
    if (PQsetnonblocking(pc->conn, 1) != 0) {
        pgconn_fail(pc, PGCONN_ERR_CONNECT, "cannot switch the connection to non-blocking mode");
        return;
    }
    pc->stage = PGCONN_STAGE_QUERYING;
    pc->cur = 0;
    if (pc->n_sql == 0) {
        pgconn_end(pc, PGCONN_ERR_NONE, NULL);
        return;
    }
    if (pgconn_send_current(pc))
        pgconn_query_step(pc);
}

static void pgconn_poll_cb(uv_poll_t *p, int status, int events)
{
    struct pgconn_watch *w = p->data;
    struct pgconn *pc = w->pc;

    /* An error on the socket (status < 0) is left for libpq to find and report; the events do not
     * matter either: libpq knows what it waits for. */
    (void)status;
    (void)events;
    if (pc->stage == PGCONN_STAGE_CONNECTING) {
        switch (PQconnectPoll(pc->conn)) {
        case PGRES_POLLING_READING:
            pgconn_watch(pc, UV_READABLE);
            break;
        case PGRES_POLLING_WRITING:
            pgconn_watch(pc, UV_WRITABLE);
            break;
        case PGRES_POLLING_OK:
            pgconn_connected(pc);
            break;
        default:
            pgconn_fail_connect(pc);
            break;
        }
    } else if (pc->stage == PGCONN_STAGE_QUERYING) {
        pgconn_query_step(pc);
    }
}

/* ---- starting ----------------------------------------------------------------------------- */

static void pgconn_notice_cb(void *arg, const char *message)
{
    char line[512];

    (void)arg;
    if (!log_enabled(LOG_LEVEL_DEBUG))
        return; /* libpq's default processor would print to stderr, breaking the log format */
    text_one_line(message, line, sizeof(line));
    log_debug("pgconn", "server notice: %s", line);
}

static void pgconn_start(struct pgconn *pc, const char *conninfo)
{
    /* fallback_application_name: used unless the string or PGAPPNAME sets application_name.
     * dbname is expanded (expand_dbname = 1) when it is a key=value string or a URI. */
    const char *const keys[] = {"fallback_application_name", "dbname", NULL};
    const char *const values[] = {"spilo-agent", conninfo, NULL};

    if (looks_like_conninfo(conninfo)) {
        char *perr = NULL, msg[sizeof(pc->res.error)];
        PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);

        if (!opts) {
            text_mask_quoted(perr ? perr : "", msg, sizeof(msg));
            PQfreemem(perr);
            pgconn_fail(pc, PGCONN_ERR_CONNECT,
                        "the connection string is invalid: %s (quoted parts hidden)", msg);
            return;
        }
        PQconninfoFree(opts);
    }
    pc->conn = PQconnectStartParams(keys, values, 1);
    if (!pc->conn) {
        pgconn_fail(pc, PGCONN_ERR_CONNECT, "libpq is out of memory");
        return;
    }
    PQsetNoticeProcessor(pc->conn, pgconn_notice_cb, NULL);
    /* Server errors during the login then carry their SQLSTATE in the message text. */
    PQsetErrorVerbosity(pc->conn, PQERRORS_VERBOSE);
    if (PQstatus(pc->conn) == CONNECTION_BAD) {
        pgconn_fail_connect(pc);
        return;
    }
    /* libpq's documented start: behave as if PQconnectPoll had returned PGRES_POLLING_WRITING. */
    pgconn_watch(pc, UV_WRITABLE);
}

int pgconn_run(uv_loop_t *loop, const char *conninfo, const char *const *sql, size_t n_sql,
               uint64_t timeout_ms, pgconn_done_cb cb, void *arg, struct pgconn **out_handle)
{
    struct pgconn *pc;
    int rc;

    if (out_handle)
        *out_handle = NULL;
    if (!loop || !cb || timeout_ms == 0 || (n_sql > 0 && !sql))
        return -EINVAL;
    for (size_t i = 0; i < n_sql; i++) {
        if (!sql[i])
            return -EINVAL;
    }
    pc = xcalloc(1, sizeof(*pc));
    pc->loop = loop;
    pc->cb = cb;
    pc->arg = arg;
    pc->timeout_ms = timeout_ms;
    rc = uv_timer_init(loop, &pc->timer);
    if (rc < 0) {
        free(pc);
        return rc;
    }
    pc->timer.data = pc;
    pc->open_handles = 1;
    pc->n_sql = n_sql;
    pc->sql = xcalloc(n_sql ? n_sql : 1, sizeof(*pc->sql));
    for (size_t i = 0; i < n_sql; i++)
        pc->sql[i] = xstrdup(sql[i]);
    pc->res.results = xcalloc(n_sql ? n_sql : 1, sizeof(*pc->res.results));
    /* Cannot fail: the timer is initialised and not closing. */
    (void)uv_timer_start(&pc->timer, pgconn_deadline_cb, timeout_ms, 0);
    pgconn_start(pc, conninfo ? conninfo : "");
    if (out_handle)
        *out_handle = pc;
    return 0;
}

void pgconn_cancel(struct pgconn *pc)
{
    char where[256];

    if (!pc || pc->stage >= PGCONN_STAGE_ENDED)
        return;
    pgconn_describe(pc, where, sizeof(where));
    pgconn_fail(pc, PGCONN_ERR_CANCELED, "canceled %s", where);
}

/* ---- results ------------------------------------------------------------------------------ */

PGresult *pgconn_result_steal(struct pgconn_result *res, size_t i)
{
    PGresult *r;

    if (!res || i >= res->n_results)
        return NULL;
    r = res->results[i];
    res->results[i] = NULL;
    return r;
}

static const PGresult *pgconn_rows_of(const struct pgconn_result *res, size_t stmt)
{
    const PGresult *r;

    if (!res || stmt >= res->n_results)
        return NULL;
    r = res->results[stmt];
    if (!r || (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_SINGLE_TUPLE))
        return NULL;
    return r;
}

int pgconn_rows(const struct pgconn_result *res, size_t stmt)
{
    const PGresult *r = pgconn_rows_of(res, stmt);

    return r ? PQntuples(r) : 0;
}

const char *pgconn_value(const struct pgconn_result *res, size_t stmt, int row, int col)
{
    const PGresult *r = pgconn_rows_of(res, stmt);

    if (!r || row < 0 || col < 0 || row >= PQntuples(r) || col >= PQnfields(r) ||
        PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}

/* ---- redaction ---------------------------------------------------------------------------- */

/* Appends " key=value" (value quoted the libpq way when needed); false when it does not fit. */
static bool redact_append(char *out, size_t outlen, size_t *used, const char *key, const char *val)
{
    bool quote = !*val || strpbrk(val, " \t\n\r'\\") != NULL;
    size_t need = (*used ? 1 : 0) + strlen(key) + 1 + (quote ? 2 : 0);
    size_t n = *used;

    for (const char *v = val; *v; v++)
        need += (*v == '\'' || *v == '\\') ? 2 : 1;
    if (n + need + 1 > outlen)
        return false;
    n += (size_t)snprintf(out + n, outlen - n, "%s%s=", n ? " " : "", key);
    if (quote)
        out[n++] = '\'';
    for (const char *v = val; *v; v++) {
        if (*v == '\'' || *v == '\\')
            out[n++] = '\\';
        out[n++] = *v;
    }
    if (quote)
        out[n++] = '\'';
    out[n] = '\0';
    *used = n;
    return true;
}

void pgconn_redact_conninfo(const char *conninfo, char *out, size_t outlen)
{
    PQconninfoOption *opts;
    size_t used = 0;

    if (!out || outlen == 0)
        return;
    out[0] = '\0';
    if (!conninfo)
        conninfo = "";
    if (!looks_like_conninfo(conninfo)) {
        if (*conninfo)
            (void)redact_append(out, outlen, &used, "dbname", conninfo);
        return;
    }
    opts = PQconninfoParse(conninfo, NULL);
    if (!opts) {
        snprintf(out, outlen, "(unparsable connection string)");
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        /* password, sslpassword and any later *password* keyword */
        if (!redact_append(out, outlen, &used, o->keyword,
                           strstr(o->keyword, "password") ? "***" : o->val))
            break;
    }
    PQconninfoFree(opts);
}

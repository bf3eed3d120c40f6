/* pgconn.h - the only driver of libpq: one session = connect, run a list of SQL statements one
 * after another, report once. Fully non-blocking on a libuv loop (uv_poll on PQsocket() plus a
 * deadline timer), so a stuck or unreachable server never stalls the loop.
 *
 * Limitation: libpq resolves host names with a blocking getaddrinfo() inside PQconnectPoll; use a
 * socket directory, an IP address, "localhost" (/etc/hosts) or hostaddr= to keep the loop free. */
#ifndef AGENT_PGCONN_H
#define AGENT_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common.h"

struct pgconn; /* opaque: one session */

enum pgconn_err {
    PGCONN_ERR_NONE = 0,
    PGCONN_ERR_CONNECT,  /* refused, unreachable, bad connection string, lost, server error */
    PGCONN_ERR_AUTH,     /* the server refused the login: SQLSTATE class 28 or no password */
    PGCONN_ERR_QUERY,    /* a statement failed; sqlstate says why */
    PGCONN_ERR_TIMEOUT,  /* the session's deadline passed */
    PGCONN_ERR_CANCELED, /* pgconn_cancel() */
};

struct pgconn_result {
    int rc;               /* 0, or -ENOTCONN/-EACCES/-EIO/-ETIMEDOUT/-ECANCELED, one per kind */
    enum pgconn_err kind; /* PGCONN_ERR_NONE when rc == 0 */
    /* One line: libpq's or the server's text, whitespace collapsed; never the password or the
     * connection string. Empty on success. */
    char error[512];
    char sqlstate[6]; /* server's SQLSTATE when it sent one ("28P01", "42P01"), else "" */
    /* results[i] is the last PGresult of statement i, for i < n_results. On PGCONN_ERR_QUERY the
     * last one is the failed statement's error result. Valid only during the callback, unless
     * taken with pgconn_result_steal(). */
    PGresult **results;
    size_t n_results;
    /* Filled once the login succeeded (also when a statement failed later). */
    bool connected;
    char server_version[64]; /* "15.4 (Debian 15.4-1.pgdg120+1)": parameter server_version */
    int server_version_num;  /* 150004 */
    bool used_password;      /* PQconnectionUsedPassword(): the server asked for a password */
    bool ssl_in_use;
};

/* Called exactly once per session, on the loop thread, never from inside pgconn_run() or
 * pgconn_cancel(). When it returns, the session is closing: its handle must not be used again. */
typedef void (*pgconn_done_cb)(struct pgconn_result *res, void *arg);

/* Starts a session: connects with conninfo (a "key=value ..." string, a postgresql:// URI or a
 * bare database name; application_name defaults to spilo-agent, which PGAPPNAME or the string
 * override), then runs sql[0..n_sql) in order, each with PQsendQuery (one string may hold several
 * statements; its last result is kept). n_sql may be 0 to only log in. The SQL texts are copied.
 * timeout_ms (> 0) bounds the whole session; connect_timeout in conninfo is not used by libpq's
 * non-blocking connect. *out_handle (may be NULL) is valid until the callback returns.
 * Returns 0 (the callback will run), or -EINVAL for bad arguments (it will not). */
MUSTCHECK int pgconn_run(uv_loop_t *loop, const char *conninfo, const char *const *sql,
                         size_t n_sql, uint64_t timeout_ms, pgconn_done_cb cb, void *arg,
                         struct pgconn **out_handle);

/* Ends the session early (shutdown, a check's own deadline): stops polling, closes the connection,
 * and the callback then runs from the loop with rc -ECANCELED and PGCONN_ERR_CANCELED, unless the
 * session had already finished, in which case it reports that outcome. A statement already sent
 * is not cancelled on the server (PQcancel blocks); the backend ends when it notices the closed
 * connection. Calling it again, or from inside the callback, does nothing. */
void pgconn_cancel(struct pgconn *pc);

/* Takes results[i] out of res: the caller must PQclear() it. NULL when i is out of range. */
PGresult *pgconn_result_steal(struct pgconn_result *res, size_t i);

/* Value of row, col in statement stmt's result; NULL when out of range, not rows, or SQL NULL. */
const char *pgconn_value(const struct pgconn_result *res, size_t stmt, int row, int col);
/* Rows in statement stmt's result (0 when it has none or did not run). */
int pgconn_rows(const struct pgconn_result *res, size_t stmt);

/* "PGCONN_ERR_AUTH" -> "auth": for logs and details. */
const char *pgconn_err_name(enum pgconn_err kind);

/* Writes conninfo as "keyword=value ..." with every *password* keyword shown as ***, for logs and
 * summaries. A string libpq cannot parse is shown as "(unparsable connection string)". */
void pgconn_redact_conninfo(const char *conninfo, char *out, size_t outlen);

#endif

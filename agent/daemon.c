/* daemon.c - owns the loop of `spilo-agent run`: starts config, checks and HTTP in order, turns
 * signals into loop events, and shuts down by closing every handle so that uv_loop_close()
 * returns 0. */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "check.h"
#include "check_defs.h"
#include "curlm.h"
#include "http.h"
#include "check_backups.h"
#include "log.h"
#include "walg_s3.h"
#include "routes.h"
#include "status.h"

extern char **environ;

#define SHUTDOWN_GRACE_MS 5000

struct daemon {
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t drain;
    const char *config_file;
    const struct config_override *ovr;
    size_t n_ovr;
    struct config *cfg;
    struct checks *checks;
    struct curlm *curlm;
    struct http_server *http;
    struct routes_ctx routes;
    bool stopping;
    uint64_t stop_started_ms;
};

static void daemon_closed_cb(uv_handle_t *h)
{
    (void)h;
}

static void drain_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;
    bool checks_done = checks_closed(d->checks);
    bool http_done = !d->http || http_server_closed(d->http);

    if (checks_done && http_done) {
        /* The checks have cancelled their transfers: what they kept (S3 clients, caches) and
         * then the curl handles can go now. */
        checks_release(d->checks);
        curlm_close(d->curlm);
        d->curlm = NULL;
        uv_close((uv_handle_t *)&d->drain, daemon_closed_cb);
        return;
    }
    if (uv_now(&d->loop) - d->stop_started_ms > SHUTDOWN_GRACE_MS) {
        log_warn("main", "shutdown: %s still busy after %dms, stopping anyway",
                 checks_done ? "HTTP connections" : "checks", SHUTDOWN_GRACE_MS);
        uv_stop(&d->loop);
    }
}

static void daemon_stop(struct daemon *d, int signum)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_info("main", "signal %d received, stopping", signum);
    checks_stop(d->checks);
    if (d->http)
        http_server_stop(d->http);
    uv_close((uv_handle_t *)&d->sig_term, daemon_closed_cb);
    uv_close((uv_handle_t *)&d->sig_int, daemon_closed_cb);
    uv_close((uv_handle_t *)&d->sig_hup, daemon_closed_cb);
    d->stop_started_ms = uv_now(&d->loop);
    (void)uv_timer_start(&d->drain, drain_cb, 0, 20);
}

static void http_limits_from(const struct config *c, struct http_limits *limits)
{
    limits->request_timeout_ms = c->request_timeout_ms;
    limits->idle_timeout_ms = c->idle_timeout_ms;
    limits->max_connections = (size_t)c->max_connections;
}

static void log_config_warnings(const struct config *c)
{
    for (size_t i = 0; i < c->n_warnings; i++)
        log_warn("config", "%s", c->warnings[i]);
}

static void daemon_reload(struct daemon *d)
{
    struct http_limits limits;
    struct config *n;
    char err[1024], changed[1024];

    if (config_load(d->config_file, d->ovr, d->n_ovr, environ, &n, err, sizeof(err)) < 0) {
        log_error("config", "reload failed, keeping the running configuration: %s", err);
        return;
    }
    if (config_restart_changes(d->cfg, n, changed, sizeof(changed)) > 0)
        log_warn("config", "%s; a reload does not apply this, it takes effect at the next restart",
                 changed);
    log_setup(n->log_level, n->log_format);
    log_config_warnings(n);
    checks_set_config(d->checks, n);
    if (d->http) {
        http_limits_from(n, &limits);
        http_server_set_limits(d->http, &limits);
    }
    config_unref(d->cfg);
    d->cfg = n;
    log_info("config", "reloaded%s%s", n->file ? " from " : "", n->file ? n->file : "");
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;

    if (signum == SIGHUP)
        daemon_reload(d);
    else
        daemon_stop(d, signum);
}

static void walk_close_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int daemon_run(const char *config_file, const struct config_override *ovr, size_t n_ovr)
{
    struct daemon d = {.config_file = config_file, .ovr = ovr, .n_ovr = n_ovr};
    struct http_limits limits;
    char err[1024];
    int rc;

    if (config_load(config_file, ovr, n_ovr, environ, &d.cfg, err, sizeof(err)) < 0) {
        /* A person at a terminal reads a sentence; a pod's log gets the JSON line. */
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "spilo-agent: configuration error: %s\n", err);
        else
            log_error("config", "%s", err);
        return 78;
    }
    log_setup(d.cfg->log_level, d.cfg->log_format);
    log_config_warnings(d.cfg);
    http_limits_from(d.cfg, &limits);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&d.loop);
    d.curlm = curlm_new(&d.loop);
    d.checks = checks_new(&d.loop, d.cfg, check_defs, check_defs_count, 0);
    checks_set_curlm(d.checks, d.curlm);
    d.routes.cfg = &d.cfg;
    d.routes.curlm = d.curlm;
    uv_timer_init(&d.loop, &d.drain);
    d.drain.data = &d;

    rc = http_server_start(&d.loop, d.cfg->listen_host, d.cfg->listen_port, &limits, routes_handle,
                           &d.routes, &d.http);
    if (rc < 0) {
        log_error("http", "cannot listen on %s: %s; free the port or set [agent] listen",
                  d.cfg->listen, uv_strerror(rc));
        checks_stop(d.checks);
        checks_release(d.checks);
        curlm_close(d.curlm);
        uv_close((uv_handle_t *)&d.drain, NULL);
        uv_run(&d.loop, UV_RUN_DEFAULT);
        rc = 1;
        goto out;
    }
    status_set_config_loaded(true);
    uv_signal_init(&d.loop, &d.sig_term);
    uv_signal_init(&d.loop, &d.sig_int);
    uv_signal_init(&d.loop, &d.sig_hup);
    d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
    uv_signal_start(&d.sig_term, signal_cb, SIGTERM);
    uv_signal_start(&d.sig_int, signal_cb, SIGINT);
    uv_signal_start(&d.sig_hup, signal_cb, SIGHUP);
    checks_start_timers(d.checks);
    log_info("main", "spilo-agent %s listening on %s:%d", agent_version, d.cfg->listen_host,
             http_server_port(d.http));

    uv_run(&d.loop, UV_RUN_DEFAULT);
    rc = 0;
out:
    if (uv_loop_alive(&d.loop)) {
        /* Only after the grace period: close what is left so the loop can be closed. */
        uv_walk(&d.loop, walk_close_cb, NULL);
        uv_run(&d.loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&d.loop) != 0)
        log_error("main", "event loop still had open handles at exit");
    checks_free(d.checks);
    if (d.http)
        http_server_free(d.http);
    status_shutdown();
    routes_cache_clear();
    config_unref(d.cfg);
    if (rc == 0)
        log_info("main", "stopped");
    return rc;
}

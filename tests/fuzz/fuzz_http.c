/* fuzz_http.c - libFuzzer harness for the HTTP request path: the input is sent as raw bytes over a
 * real loopback TCP connection to the agent's HTTP server (http.c + http-parser + routes.c, with
 * a status snapshot of every check), then the write side is shut. Whatever the bytes - partial,
 * pipelined, oversized, binary - the server must answer or close, never crash, leak or hang. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "check_defs.h"
#include "config.h"
#include "http.h"
#include "routes.h"
#include "status.h"
#include "util.h"

static uv_loop_t loop;
static struct http_server *srv;
static struct config *cfg;
static struct routes_ctx routes;
static int port;

static void setup(void)
{
    const char *names[16];
    char err[512];
    char *envp[] = {NULL};
    struct http_limits lim = {
        .request_timeout_ms = 200, .idle_timeout_ms = 200, .max_connections = 64};
    struct check_result r;

    uv_loop_init(&loop);
    if (config_load(NULL, NULL, 0, envp, &cfg, err, sizeof(err)) < 0)
        abort();
    for (size_t i = 0; i < check_defs_count; i++)
        names[i] = check_defs[i]->name;
    status_init(names, check_defs_count, 1700000000);
    status_set_config_loaded(true);
    check_result_init(&r);
    check_result_set(&r, VERDICT_WARNING, "fuzz \"summary\" with <html> & \\ escapes \x01");
    json_object_set_new(r.details, "count", json_integer(3));
    status_publish(names[0], &r, 1700000000, 5);
    check_result_cleanup(&r);
    routes.cfg = &cfg;
    routes.curlm = NULL;
    if (http_server_start(&loop, "127.0.0.1", 0, &lim, routes_handle, &routes, &srv) < 0)
        abort();
    port = http_server_port(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in sa;
    int fd;
    size_t off = 0;
    char buf[65536];
    uint64_t start;

    if (!srv)
        setup();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return 0;
    }
    start = uv_hrtime();
    /* Send everything (the server reads as we go), then half-close, then drain the answers until
     * the server closes. A stuck server is a bug: give up after 2 s and abort. */
    for (;;) {
        ssize_t n;

        uv_run(&loop, UV_RUN_NOWAIT);
        if (off < size) {
            n = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                off = size; /* the server closed on us: fine */
            if (off == size)
                shutdown(fd, SHUT_WR);
        }
        n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            break;
        if (uv_hrtime() - start > 2000000000ULL)
            abort();
        if (n < 0) {
            struct pollfd p = {.fd = fd, .events = POLLIN};

            uv_run(&loop, UV_RUN_NOWAIT);
            poll(&p, 1, 1);
        }
    }
    close(fd);
    uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}

/* curlm.h - the process's single curl multi handle, driven by the libuv loop: one uv_poll per
 * curl socket and one uv_timer. Other modules add easy handles with a completion callback; no
 * other module calls curl_multi_*. */
#ifndef AGENT_CURLM_H
#define AGENT_CURLM_H

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

#include "buf.h"
#include "common.h"

struct curlm;

/* Called once per transfer, on the loop thread, after the easy handle was removed from the multi
 * handle. The callback owns the easy handle (usually curl_easy_cleanup()). */
typedef void (*curlm_done_fn)(CURL *easy, CURLcode rc, void *arg);

struct curlm *curlm_new(uv_loop_t *loop);
/* Removes every transfer (their callbacks are not called), closes the handles; the struct is
 * freed when the last handle's close callback has run. */
void curlm_close(struct curlm *cm);
MUSTCHECK int curlm_add(struct curlm *cm, CURL *easy, curlm_done_fn cb, void *arg);
/* Aborts one transfer without calling its callback; the caller still owns the easy handle. */
void curlm_remove(struct curlm *cm, CURL *easy);
size_t curlm_active(const struct curlm *cm);

/* The one curl write callback of the agent: appends to the struct buf given as CURLOPT_WRITEDATA
 * and, once the buf's ceiling (its max) is passed, makes curl end the transfer with
 * CURLE_WRITE_ERROR (buf->overflow tells). curlm_write_to() sets both options. */
size_t curlm_write_cb(char *data, size_t size, size_t n, void *buf);
void curlm_write_to(CURL *easy, struct buf *body);

/* A ready-made GET that collects the body (up to `max` bytes) - for small JSON APIs. */
struct curlm_get;
typedef void (*curlm_get_fn)(long http_status, CURLcode rc, const char *error,
                             const struct buf *body, void *arg);
MUSTCHECK int curlm_get(struct curlm *cm, const char *url, long timeout_ms, size_t max,
                        curlm_get_fn cb, void *arg, struct curlm_get **out);
void curlm_get_cancel(struct curlm *cm, struct curlm_get *g);

#endif

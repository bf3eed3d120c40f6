/* patroni.h - the Patroni REST client: GET <patroni_url>/patroni (the member document: role, state,
 * timeline, ...) on the curl multi handle, for the pg checks and the restore check. Patroni answers
 * 200 on the leader and 503 on replicas, both with the same document, so any HTTP status with a
 * JSON object body counts. Loop thread only; keeps nothing between requests. */
#ifndef AGENT_PATRONI_H
#define AGENT_PATRONI_H

#include <jansson.h>

#include "common.h"

#define PATRONI_TIMEOUT_MS 2000
#define PATRONI_MAX_BYTES  65536

struct curlm;
struct patroni_request;

/* doc is the member document (the callback owns it: json_decref()), or NULL with error saying why
 * ("HTTP 502 with no body", "HTTP 200, not a JSON document", curl's sentence). */
typedef void (*patroni_member_fn)(json_t *doc, const char *error, void *arg);

/* Starts the GET of base_url + "/patroni". Returns 0 (cb runs once, on the loop, unless cancelled)
 * or -errno (no callback). */
MUSTCHECK int patroni_get_member(struct curlm *cm, const char *base_url, patroni_member_fn cb,
                                 void *arg, struct patroni_request **out);
/* Stops a request before its callback (which then never runs) and frees it. */
void patroni_cancel(struct patroni_request *r);

/* "leader" (Patroni's master or primary), "replica" (replica, standby_leader, ...), or NULL when
 * the document has no role. */
const char *patroni_member_role(const json_t *doc);

#endif

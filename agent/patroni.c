/* patroni.c - the Patroni REST client (see patroni.h): a curlm_get() and the document's parsing. */
#include "patroni.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curlm.h"
#include "util.h"

struct patroni_request {
    struct curlm *cm;
    struct curlm_get *get;
    patroni_member_fn cb;
    void *arg;
};

static void member_cb(long status, CURLcode rc, const char *error, const struct buf *body,
                      void *arg)
{
    struct patroni_request *r = arg;
    json_t *doc = NULL;
    char why[256] = "";

    if (rc != CURLE_OK) {
        snprintf(why, sizeof(why), "%s", error ? error : "error");
    } else if (!body->data) {
        snprintf(why, sizeof(why), "HTTP %ld with no body", status);
    } else {
        doc = json_loadb(body->data, body->len, 0, NULL);
        if (!json_is_object(doc)) {
            json_decref(doc);
            doc = NULL;
            snprintf(why, sizeof(why), "HTTP %ld, not a JSON document", status);
        }
    }
    r->cb(doc, doc ? NULL : why, r->arg);
    free(r);
}

int patroni_get_member(struct curlm *cm, const char *base_url, patroni_member_fn cb, void *arg,
                       struct patroni_request **out)
{
    struct patroni_request *r = xcalloc(1, sizeof(*r));
    char *url = xasprintf("%s/patroni", base_url);
    int rc;

    r->cm = cm;
    r->cb = cb;
    r->arg = arg;
    rc = curlm_get(cm, url, PATRONI_TIMEOUT_MS, PATRONI_MAX_BYTES, member_cb, r, &r->get);
    free(url);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void patroni_cancel(struct patroni_request *r)
{
    if (!r)
        return;
    curlm_get_cancel(r->cm, r->get);
    free(r);
}

const char *patroni_member_role(const json_t *doc)
{
    const char *r = json_string_value(json_object_get(doc, "role"));

    if (!r)
        return NULL;
    if (strcmp(r, "master") == 0 || strcmp(r, "primary") == 0)
        return "leader";
    return "replica"; /* replica, standby_leader, ... */
}

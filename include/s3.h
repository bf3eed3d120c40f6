/* s3.h - the S3 client: ListObjectsV2 and GetObject on the process's curl multi handle, signed
 * with CURLOPT_AWS_SIGV4, static/session/web-identity credentials.
 * The error type (struct aws_error) and the plain listing entry (struct s3_object) live in aws.h.
 *
 * Every request runs on the libuv loop through curlm_add() and ends in exactly one callback, on
 * the loop thread, never from inside the call that started it - unless it is cancelled first
 * (s3_cancel(), s3_client_free()), then it ends in none. A client is meant to live as long as its
 * configuration: it keeps the connection cache warm (curl's, in the multi handle) and caches the
 * credentials obtained from STS. Secret values (secret key, session token, web identity token)
 * are copied into the client, zeroed when it is freed, and never appear in an error, a summary or
 * a log line. Details in docs/s3.md. */
#ifndef AGENT_S3_H
#define AGENT_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "common.h"

struct buf;
struct curlm;
struct uv_loop_s;

/* ---- configuration -------------------------------------------------------------------------- */

/* Credentials, in WAL-G's order: static keys when access_key and secret_key are set (plus
 * session_token for temporary keys), else web identity (IRSA) when role_arn and
 * web_identity_token_file are set. */
struct s3_credentials {
    const char *access_key;              /* AWS_ACCESS_KEY_ID */
    const char *secret_key;              /* AWS_SECRET_ACCESS_KEY (secret) */
    const char *session_token;           /* AWS_SESSION_TOKEN (secret), optional */
    const char *role_arn;                /* AWS_ROLE_ARN */
    const char *web_identity_token_file; /* AWS_WEB_IDENTITY_TOKEN_FILE, re-read per exchange */
    const char *sts_endpoint;            /* default https://sts.<region>.amazonaws.com */
    const char *role_session_name;       /* default "spilo-agent" */
};

/* Everything is copied by s3_client_new(); NULL and "" mean "not set". */
struct s3_config {
    const char *endpoint;    /* AWS_ENDPOINT: "https://minio:9000", "http://127.0.0.1:9000"; default
                                https://s3.<region>.amazonaws.com; no scheme means https */
    const char *region;      /* AWS_REGION, default us-east-1 (also what a custom endpoint is signed
                                for when none is given) */
    const char *bucket;      /* required */
    bool path_style;         /* AWS_S3_FORCE_PATH_STYLE: https://host/bucket/key. Without it
                                virtual-host style (https://bucket.host/key) is used, except for an
                                IP-address endpoint, a bucket name that is no DNS label, or one
                                with dots over https */
    const char *ca_file;     /* WALG_S3_CA_CERT_FILE: PEM bundle that replaces the system CAs */
    long connect_timeout_ms; /* per request, default 5000 */
    long timeout_ms;         /* per request (one page, one object), default 10000 */
    struct s3_credentials credentials;
};

/* ---- the client ----------------------------------------------------------------------------- */

struct s3_client;
struct s3_request;

/* Validates and copies cfg. Returns 0, or -EINVAL with a sentence in err that names the setting
 * to fix (no secret in it). The client adds its transfers to cm and defers callbacks on loop;
 * both must outlive it. */
MUSTCHECK int s3_client_new(struct uv_loop_s *loop, struct curlm *cm, const struct s3_config *cfg,
                            struct s3_client **out, char *err, size_t errlen);
/* Cancels every outstanding request (no callbacks), zeroes the secrets. NULL is fine. The memory
 * goes when the loop has run the close callback of the client's timer. May be called from inside
 * any s3 callback. */
void s3_client_free(struct s3_client *c);

struct s3_stats {
    uint64_t requests;     /* S3 HTTP requests sent (one per listing page, one per GET) */
    uint64_t sts_requests; /* STS exchanges sent */
    uint64_t errors;       /* requests that ended in an error callback */
    uint64_t bytes;        /* response body bytes received from S3 */
};
void s3_client_stats(const struct s3_client *c, struct s3_stats *out);
/* "https://s3.eu-central-1.amazonaws.com (bucket b, virtual-host style, region eu-central-1)":
 * where the client goes, for details and logs. */
const char *s3_client_describe(const struct s3_client *c);

/* ---- ListObjectsV2 -------------------------------------------------------------------------- */

struct s3_list_opts {
    const char *prefix;      /* "" or NULL: the whole bucket */
    const char *delimiter;   /* "/" to group keys into common prefixes; NULL: none */
    const char *start_after; /* list keys after this one only; NULL: from the start */
    unsigned page_size;      /* max-keys per request, default and maximum 1000 */
    unsigned max_pages;      /* stop after this many pages, default 1000 */
    size_t max_objects;      /* stop once this many objects + prefixes were collected,
                                default 1,000,000 */
};

/* The result, in S3's order (keys ascending in UTF-8 byte order). */
struct s3_listing {
    struct s3_object *objects; /* n_objects, owned */
    size_t n_objects;
    char **prefixes; /* common prefixes ("basebackups_005/base_.../"), owned */
    size_t n_prefixes;
    unsigned pages; /* requests it took */
    bool truncated; /* stopped by max_pages or max_objects: S3 has more */
};

/* err is NULL on success; then listing holds everything. On error listing holds the pages that
 * arrived before it (often none). The listing belongs to the client and is freed after the
 * callback returns; to keep it, move it out (copy the struct and zero the original). */
typedef void (*s3_list_fn)(const struct aws_error *err, struct s3_listing *listing, void *arg);

/* Lists opts->prefix, following continuation tokens. Returns 0 (the callback will run, *req if
 * req is not NULL identifies the request until then) or -EINVAL for bad arguments (no callback). */
MUSTCHECK int s3_list(struct s3_client *c, const struct s3_list_opts *opts, s3_list_fn cb,
                      void *arg, struct s3_request **req);
/* Frees the arrays of a listing moved out of a callback. NULL is fine. */
void s3_listing_cleanup(struct s3_listing *listing);

/* ---- GetObject ------------------------------------------------------------------------------ */

/* err is NULL on success; body holds the object: body->len bytes, NUL-terminated for convenience
 * (binary data may hold NULs: use len). body is freed after the callback returns. */
typedef void (*s3_get_fn)(const struct aws_error *err, const struct buf *body, void *arg);

/* Fetches key (a full key, not URL-encoded). An object larger than max_bytes (0: 1 MiB) ends in
 * AWS_ERR_TOO_LARGE. Returns 0 or -EINVAL like s3_list(). */
MUSTCHECK int s3_get(struct s3_client *c, const char *key, size_t max_bytes, s3_get_fn cb,
                     void *arg, struct s3_request **req);

/* Stops an outstanding request: its callback will not run, its memory is freed now. Must not be
 * called after the callback started. */
void s3_cancel(struct s3_request *req);

/* ---- helpers, exposed for tests ------------------------------------------------------------- */

/* Fills err->kind (unless already set) and err->summary from the facts already in err
 * (http_status, curl_code, code, region_hint, ...) for an operation on the client's bucket: op is
 * "list", "get" (what: the prefix or key) or "sts" (the web identity exchange). Scrubs the client's
 * secrets from every field. Used by the client for every error; exposed so that the sentences can
 * be tested without a server. */
void s3_error_explain(const struct s3_client *c, struct aws_error *err, const char *op,
                      const char *what);

#endif

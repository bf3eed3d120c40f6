/* aws.h - the bottom of the AWS clients (s3, sts): the error of one request and its kinds, SigV4's
 * URI encoding, and the plain data of a listing (struct s3_object), so that pure modules (s3xml,
 * backups) use them without the network client. No I/O, no state. */
#ifndef AGENT_AWS_H
#define AGENT_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* One object of a listing. */
struct s3_object {
    char *key;        /* full key, owned */
    int64_t size;     /* bytes */
    int64_t mtime_s;  /* LastModified, seconds since the epoch (UTC) */
    int32_t mtime_ms; /* LastModified milliseconds */
    uint64_t etag;    /* util_hash64 of the ETag without its quotes; 0 when the listing gave none */
};

/* ---- errors of S3 and STS
 * --------------------------------------------------------------------------------- */

enum aws_error_kind {
    AWS_ERR_NONE = 0,
    AWS_ERR_CREDENTIALS,        /* web identity token file unreadable, STS refused or unreachable */
    AWS_ERR_ACCESS_DENIED,      /* AccessDenied, other 403 */
    AWS_ERR_NO_SUCH_BUCKET,     /* NoSuchBucket */
    AWS_ERR_NO_SUCH_KEY,        /* NoSuchKey, other 404 of a GET */
    AWS_ERR_SIGNATURE,          /* SignatureDoesNotMatch, RequestTimeTooSkewed */
    AWS_ERR_INVALID_ACCESS_KEY, /* InvalidAccessKeyId */
    AWS_ERR_WRONG_REGION,       /* 301 PermanentRedirect, AuthorizationHeaderMalformed */
    AWS_ERR_EXPIRED_TOKEN,      /* ExpiredToken, InvalidToken, TokenRefreshRequired */
    AWS_ERR_TIMEOUT,            /* no complete answer within the timeouts */
    AWS_ERR_UNREACHABLE,        /* DNS, connection refused or reset */
    AWS_ERR_TLS,                /* certificate not verified, handshake failed, bad CA file */
    AWS_ERR_UNAVAILABLE,        /* HTTP 5xx, SlowDown */
    AWS_ERR_MALFORMED,          /* the answer is not an S3 reply */
    AWS_ERR_TOO_LARGE,          /* the answer passed its size ceiling */
    AWS_ERR_HTTP,               /* any other HTTP or transfer error */
};

/* What went wrong with one request. Every string is NUL-terminated, sanitised (no control
 * characters) and free of secrets. */
struct aws_error {
    enum aws_error_kind kind;
    long http_status;        /* 0 when no HTTP answer arrived */
    int curl_code;           /* CURLcode of the transfer, 0 = CURLE_OK */
    char code[64];           /* S3/STS error <Code>, "" when none */
    char message[256];       /* S3/STS error <Message> */
    char request_id[96];     /* x-amz-request-id or <RequestId> */
    char region_hint[48];    /* where the bucket is: x-amz-bucket-region, <Region>, <Endpoint> */
    char endpoint_hint[128]; /* <Endpoint> of a PermanentRedirect */
    char host[256];          /* the host that was asked (S3 or STS), with :port when given */
    char summary[512];       /* one sentence: what is wrong and the fix */
};

/* "access_denied", "no_such_bucket", ... (stable words for JSON details and metric labels). */
const char *aws_error_kind_name(enum aws_error_kind kind);

/* SigV4 URI encoding: A-Z a-z 0-9 - _ . ~ kept, every other byte %XX (upper case hex); '/' kept
 * when keep_slash (keys in paths), encoded otherwise (query values). Returns a new string. */
char *aws_uri_encode(const char *s, bool keep_slash);

struct aws_query_param {
    const char *name;
    const char *value; /* NULL is the same as "" */
};
/* The SigV4 canonical query string: names and values encoded, sorted by name then value, joined
 * as "a=1&b=&c=x%2Fy". Returns a new string ("" for n == 0). */
char *aws_canonical_query(const struct aws_query_param *params, size_t n);

#endif

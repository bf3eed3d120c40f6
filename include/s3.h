/* s3.h - the S3 client: ListObjectsV2 and GetObject on the process's curl multi handle, signed
 * with CURLOPT_AWS_SIGV4, static/session/web-identity credentials. (Owned by the S3 module; the
 * rest of the API is declared below struct s3_object.) */
#ifndef AGENT_S3_H
#define AGENT_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* One object of a listing. */
struct s3_object {
    char *key;           /* full key, owned */
    int64_t size;        /* bytes */
    int64_t mtime_s;     /* LastModified, seconds since the epoch (UTC) */
    int32_t mtime_ms;    /* LastModified milliseconds */
};

#endif

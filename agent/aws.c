/* aws.c - what S3 and STS share: SigV4's URI encoding and canonical query, and the names of the
 * error kinds. Pure. */
#include "aws.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

char *aws_uri_encode(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

struct enc_param {
    char *name, *value;
};

static int cmp_enc_param(const void *a, const void *b)
{
    const struct enc_param *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    return r ? r : strcmp(x->value, y->value);
}

char *aws_canonical_query(const struct aws_query_param *params, size_t n)
{
    struct enc_param *e = xcalloc(n ? n : 1, sizeof(*e));
    struct buf b;
    char *out;

    buf_init(&b, (size_t)-1 / 2);
    for (size_t i = 0; i < n; i++) {
        e[i].name = aws_uri_encode(params[i].name, false);
        e[i].value = aws_uri_encode(params[i].value ? params[i].value : "", false);
    }
    qsort(e, n, sizeof(*e), cmp_enc_param);
    for (size_t i = 0; i < n; i++) {
        buf_printf(&b, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
    out = b.data ? b.data : xstrdup("");
    return out;
}

const char *aws_error_kind_name(enum aws_error_kind kind)
{
    static const char *const names[] = {
        [AWS_ERR_NONE] = "none",
        [AWS_ERR_CREDENTIALS] = "credentials",
        [AWS_ERR_ACCESS_DENIED] = "access_denied",
        [AWS_ERR_NO_SUCH_BUCKET] = "no_such_bucket",
        [AWS_ERR_NO_SUCH_KEY] = "no_such_key",
        [AWS_ERR_SIGNATURE] = "signature",
        [AWS_ERR_INVALID_ACCESS_KEY] = "invalid_access_key",
        [AWS_ERR_WRONG_REGION] = "wrong_region",
        [AWS_ERR_EXPIRED_TOKEN] = "expired_token",
        [AWS_ERR_TIMEOUT] = "timeout",
        [AWS_ERR_UNREACHABLE] = "unreachable",
        [AWS_ERR_TLS] = "tls",
        [AWS_ERR_UNAVAILABLE] = "unavailable",
        [AWS_ERR_MALFORMED] = "malformed",
        [AWS_ERR_TOO_LARGE] = "too_large",
        [AWS_ERR_HTTP] = "http",
    };

    return (unsigned)kind < ARRAY_LEN(names) && names[kind] ? names[kind] : "unknown";
}

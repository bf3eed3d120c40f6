/* s3.c - the S3 client. Owns the client's copy of the configuration and credentials (secrets
 * zeroed on free), the cached STS credentials, and every outstanding request. Requests are curl
 * easy handles added with curlm_add() and signed by curl (CURLOPT_AWS_SIGV4); what curl 7.88 does
 * not do for SigV4 is done here: the canonical query string (sorted, encoded) goes into the URL
 * as is, object keys are encoded per S3's rules, and the x-amz-content-sha256 and
 * x-amz-security-token headers are added so that curl signs them. Error replies become a
 * struct aws_error with one sentence a person can act on. Must not: block the loop, call
 * curl_multi_* itself, follow redirects, or let a secret reach an error, a log line or a URL. */
#include "s3.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "buf.h"
#include "curlm.h"
#include "log.h"
#include "s3xml.h"
#include "secret.h"
#include "sts.h"
#include "util.h"

#define EMPTY_SHA256          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define REFRESH_MARGIN_S      300 /* refresh STS credentials this long before they expire */
#define STALE_OK_MARGIN_S     60  /* a failed refresh may keep using credentials this fresh */
#define LIST_PAGE_MAX_BYTES   (16u << 20)
#define ERROR_BODY_MAX_BYTES  (256u << 10)
#define DEFAULT_GET_MAX_BYTES (1u << 20)

enum creds_mode { CREDS_STATIC, CREDS_WEB_IDENTITY };
enum req_op { OP_LIST, OP_GET };
enum req_state {
    REQ_WAIT_CREDS, /* queued until the STS exchange ends */
    REQ_RUNNING,    /* a transfer is in curlm */
    REQ_FAILED,     /* failed before any transfer: the callback runs from the defer timer */
};

struct s3_client {
    uv_loop_t *loop;
    struct curlm *cm;
    uv_timer_t defer; /* runs the callbacks of requests that failed before a transfer */
    bool closing;

    char *scheme;    /* "https" or "http" */
    char *host;      /* endpoint host[:port] */
    char *base_path; /* "" or "/path" of a custom endpoint */
    char *bucket;
    char *region;
    char *sigv4; /* "aws:amz:<region>:s3" */
    char *ca_file;
    char *describe;
    bool path_style;
    bool custom_endpoint;
    long connect_timeout_ms;
    long timeout_ms;

    enum creds_mode mode;
    char *access_key;    /* current credentials (static, or from STS) */
    char *secret_key;    /* secret */
    char *session_token; /* secret */
    int64_t expires_s;   /* 0: does not expire */
    char *role_arn;
    char *token_file;
    char *sts_url;
    char *session_name;
    struct sts_request *sts; /* exchange in flight */

    struct s3_request *reqs; /* every outstanding request */
    struct s3_stats stats;
};

struct s3_request {
    struct s3_client *c;
    struct s3_request *prev, *next;
    enum req_op op;
    enum req_state state;
    s3_list_fn list_cb;
    s3_get_fn get_cb;
    void *arg;

    /* the transfer in flight */
    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    struct buf body;
    size_t body_max; /* for a 2xx answer; error documents get ERROR_BODY_MAX_BYTES */
    bool too_large;  /* Content-Length of a 2xx answer passed body_max (or the body did) */
    long hdr_status;
    char hdr_region[48];
    char hdr_request_id[96];
    struct aws_error err; /* of a REQ_FAILED request */

    /* list */
    char *prefix;
    char *delimiter;
    char *start_after;
    char *token;           /* NextContinuationToken of the previous page */
    uint64_t *seen_tokens; /* hashes of every token sent: a repeat is a loop */
    size_t n_seen_tokens;
    unsigned page_size;
    unsigned max_pages;
    size_t max_objects;
    struct s3_listing listing;
    size_t cap_objects, cap_prefixes;

    /* get */
    char *key;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s && s[0] ? xstrdup(s) : NULL;
}

static bool set(const char *s)
{
    return s && s[0];
}

static void free_secret(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static bool has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F)
            return true;
    return false;
}

/* ---- configuration ----------------------------------------------------------------------- */

static bool region_ok(const char *r)
{
    if (!r[0] || strlen(r) > 40)
        return false;
    for (; *r; r++)
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '-')
            return false;
    return true;
}

static const char *aws_domain(const char *region)
{
    return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

/* A bucket name that can be the first label of a host name (and, over TLS, be covered by the
 * endpoint's wildcard certificate: no dots). */
static bool bucket_dns_ok(const char *b, bool tls)
{
    size_t n = strlen(b);

    if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
        return false;
    for (const char *p = b; *p; p++) {
        if (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')
            continue;
        if (*p == '.' && !tls && p[1] != '.')
            continue;
        return false;
    }
    return true;
}

static bool host_is_ip(const char *hostport)
{
    char h[256];
    struct in_addr a4;
    const char *colon;
    size_t n;

    if (hostport[0] == '[')
        return true;
    colon = strrchr(hostport, ':');
    n = colon ? (size_t)(colon - hostport) : strlen(hostport);
    if (n >= sizeof(h))
        return false;
    memcpy(h, hostport, n);
    h[n] = '\0';
    return inet_pton(AF_INET, h, &a4) == 1;
}

/* "scheme://host[:port][/base]" into the client. */
static int parse_endpoint(struct s3_client *c, const char *ep, char *err, size_t errlen)
{
    const char *sep = strstr(ep, "://");
    const char *rest = sep ? sep + 3 : ep;
    const char *slash;
    size_t n;

    if (strchr(ep, '@')) { /* never echo it: it may hold a password */
        snprintf(err, errlen,
                 "AWS_ENDPOINT (with a user name) is not a URL like "
                 "https://host[:port]: credentials do not belong in the endpoint");
        return -EINVAL;
    }
    if (sep) {
        n = (size_t)(sep - ep);
        if (n == 4 && strncasecmp(ep, "http", 4) == 0) {
            c->scheme = xstrdup("http");
        } else if (n == 5 && strncasecmp(ep, "https", 5) == 0) {
            c->scheme = xstrdup("https");
        } else {
            snprintf(
                err, errlen,
                "AWS_ENDPOINT '%.100s' has the scheme '%.*s': use http:// or https:// (WAL-E's "
                "'https+path://' becomes https:// with AWS_S3_FORCE_PATH_STYLE=true)",
                ep, (int)(n > 20 ? 20 : n), ep);
            return -EINVAL;
        }
    } else {
        c->scheme = xstrdup("https");
    }
    slash = strchr(rest, '/');
    n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || strpbrk(rest, "?# \t") || has_ctl(rest)) {
        snprintf(err, errlen,
                 "AWS_ENDPOINT '%.100s' is not a URL like https://host[:port] (no query or "
                 "fragment)",
                 ep);
        return -EINVAL;
    }
    c->host = xstrndup(rest, n);
    c->base_path = xstrdup(slash ? slash : "");
    n = strlen(c->base_path);
    while (n > 0 && c->base_path[n - 1] == '/')
        c->base_path[--n] = '\0';
    return 0;
}

static int setup_credentials(struct s3_client *c, const struct s3_credentials *cr, char *err,
                             size_t errlen)
{
    if (set(cr->access_key) || set(cr->secret_key)) {
        if (!set(cr->access_key) || !set(cr->secret_key)) {
            snprintf(err, errlen,
                     "%s is set but %s is not: set both, or neither and use "
                     "AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE",
                     set(cr->access_key) ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                     set(cr->access_key) ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            return -EINVAL;
        }
        if (has_ctl(cr->access_key) || has_ctl(cr->secret_key) || has_ctl(cr->session_token)) {
            snprintf(err, errlen,
                     "the AWS credentials hold control characters (a newline "
                     "copied into the secret?)");
            return -EINVAL;
        }
        c->mode = CREDS_STATIC;
        c->access_key = xstrdup(cr->access_key);
        c->secret_key = xstrdup(cr->secret_key);
        c->session_token = dup_or_null(cr->session_token);
        secret_register(c->access_key);
        secret_register(c->secret_key);
        secret_register(c->session_token);
        return 0;
    }
    if (set(cr->role_arn) || set(cr->web_identity_token_file)) {
        if (!set(cr->role_arn) || !set(cr->web_identity_token_file)) {
            snprintf(err, errlen, "%s is set but %s is not: web identity needs both",
                     set(cr->role_arn) ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                     set(cr->role_arn) ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN");
            return -EINVAL;
        }
        if (has_ctl(cr->role_arn)) {
            snprintf(err, errlen, "AWS_ROLE_ARN holds control characters");
            return -EINVAL;
        }
        c->mode = CREDS_WEB_IDENTITY;
        c->role_arn = xstrdup(cr->role_arn);
        c->token_file = xstrdup(cr->web_identity_token_file);
        c->session_name =
            xstrdup(set(cr->role_session_name) ? cr->role_session_name : "spilo-agent");
        if (set(cr->sts_endpoint)) {
            const char *ep = cr->sts_endpoint;
            bool scheme = strstr(ep, "://") != NULL;
            bool path = strchr(scheme ? strstr(ep, "://") + 3 : ep, '/') != NULL;

            if (has_ctl(ep) || strchr(ep, ' ')) {
                snprintf(err, errlen, "the STS endpoint '%.100s' is not a URL", ep);
                return -EINVAL;
            }
            c->sts_url = xasprintf("%s%s%s", scheme ? "" : "https://", ep, path ? "" : "/");
        } else {
            c->sts_url = xasprintf("https://sts.%s.%s/", c->region, aws_domain(c->region));
        }
        return 0;
    }
    snprintf(err, errlen,
             "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
             "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IRSA)");
    return -EINVAL;
}

static void defer_cb(uv_timer_t *t);

static void client_destroy(struct s3_client *c)
{
    free(c->scheme);
    free(c->host);
    free(c->base_path);
    free(c->bucket);
    free(c->region);
    free(c->sigv4);
    free(c->ca_file);
    free(c->describe);
    free(c->access_key);
    free_secret(&c->secret_key);
    free_secret(&c->session_token);
    free(c->role_arn);
    free(c->token_file);
    free(c->sts_url);
    free(c->session_name);
    free(c);
}

int s3_client_new(struct uv_loop_s *loop, struct curlm *cm, const struct s3_config *cfg,
                  struct s3_client **out, char *err, size_t errlen)
{
    struct s3_client *c = xcalloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    c->loop = loop;
    c->cm = cm;
    if (!set(cfg->bucket) || strchr(cfg->bucket, '/') || strpbrk(cfg->bucket, " \t") ||
        has_ctl(cfg->bucket) || strlen(cfg->bucket) > 255) {
        snprintf(err, errlen,
                 "the S3 bucket '%.100s' is not a bucket name (it is the first part of "
                 "WALG_S3_PREFIX s3://BUCKET/path)",
                 cfg->bucket ? cfg->bucket : "");
        rc = -EINVAL;
        goto fail;
    }
    c->bucket = xstrdup(cfg->bucket);
    c->region = xstrdup(set(cfg->region) ? cfg->region : "us-east-1");
    if (!region_ok(c->region)) {
        snprintf(err, errlen, "AWS_REGION '%.60s' is not a region name like eu-central-1",
                 c->region);
        rc = -EINVAL;
        goto fail;
    }
    if (set(cfg->endpoint)) {
        rc = parse_endpoint(c, cfg->endpoint, err, errlen);
        if (rc < 0)
            goto fail;
        c->custom_endpoint = true;
    } else {
        c->scheme = xstrdup("https");
        c->host = xasprintf("s3.%s.%s", c->region, aws_domain(c->region));
        c->base_path = xstrdup("");
    }
    c->path_style = cfg->path_style || host_is_ip(c->host) ||
                    !bucket_dns_ok(c->bucket, strcmp(c->scheme, "https") == 0);
    c->sigv4 = xasprintf("aws:amz:%s:s3", c->region);
    if (set(cfg->ca_file)) {
        if (access(cfg->ca_file, R_OK) < 0) {
            snprintf(err, errlen, "WALG_S3_CA_CERT_FILE %.200s is not readable: %s", cfg->ca_file,
                     strerror(errno));
            rc = -EINVAL;
            goto fail;
        }
        if (util_regular_file(cfg->ca_file) < 0) { /* a FIFO would block the loop in TLS setup */
            snprintf(err, errlen, "WALG_S3_CA_CERT_FILE %.200s is not a regular file",
                     cfg->ca_file);
            rc = -EINVAL;
            goto fail;
        }
        c->ca_file = xstrdup(cfg->ca_file);
    }
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    rc = setup_credentials(c, &cfg->credentials, err, errlen);
    if (rc < 0)
        goto fail;
    c->describe =
        xasprintf("%s://%s%s (bucket %s, %s style, region %s)", c->scheme, c->host, c->base_path,
                  c->bucket, c->path_style ? "path" : "virtual-host", c->region);
    if (uv_timer_init(loop, &c->defer) < 0)
        abort();
    c->defer.data = c;
    *out = c;
    return 0;
fail:
    client_destroy(c);
    return rc;
}

static void client_closed_cb(uv_handle_t *h)
{
    client_destroy(h->data);
}

static void req_free(struct s3_request *r);

static void req_unlink(struct s3_request *r)
{
    struct s3_client *c = r->c;

    if (r->prev)
        r->prev->next = r->next;
    else if (c->reqs == r)
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

void s3_client_free(struct s3_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    while (c->reqs)
        s3_cancel(c->reqs);
    if (c->sts) {
        sts_cancel(c->sts);
        c->sts = NULL;
    }
    free_secret(&c->secret_key);
    free_secret(&c->session_token);
    uv_close((uv_handle_t *)&c->defer, client_closed_cb);
}

void s3_client_stats(const struct s3_client *c, struct s3_stats *out)
{
    *out = c->stats;
}

const char *s3_client_describe(const struct s3_client *c)
{
    return c->describe;
}

/* ---- error sentences --------------------------------------------------------------------- */

static void scrub(char *s, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *p;

    if (n < 4)
        return;
    while ((p = strstr(s, secret)) != NULL) {
        memmove(p + 3, p + n, strlen(p + n) + 1);
        memcpy(p, "***", 3);
    }
}

static void scrub_all(const struct s3_client *c, struct aws_error *e)
{
    const char *secrets[] = {c->secret_key, c->session_token, c->access_key};
    char *fields[] = {e->code,          e->message, e->request_id, e->region_hint,
                      e->endpoint_hint, e->host,    e->summary};

    /* Every registered secret and URL password (secret.h), then this client's own keys. */
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        secret_scrub(fields[i]);
    for (size_t i = 0; i < ARRAY_LEN(secrets); i++) {
        scrub(e->code, secrets[i]);
        scrub(e->message, secrets[i]);
        scrub(e->request_id, secrets[i]);
        scrub(e->region_hint, secrets[i]);
        scrub(e->endpoint_hint, secrets[i]);
        scrub(e->host, secrets[i]);
        scrub(e->summary, secrets[i]);
    }
}

/* The last 4 characters of the access key id: enough to tell keys apart, not a secret. */
static const char *key_tail(const struct s3_client *c)
{
    size_t n = c->access_key ? strlen(c->access_key) : 0;

    return n >= 4 ? c->access_key + n - 4 : "?";
}

static bool code_is(const struct aws_error *e, const char *a)
{
    return strcmp(e->code, a) == 0;
}

static enum aws_error_kind classify(const struct aws_error *e, bool get)
{
    switch (e->curl_code) {
    case CURLE_OK:
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return AWS_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return AWS_ERR_UNREACHABLE;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return AWS_ERR_TLS;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return AWS_ERR_MALFORMED;
    default:
        if (e->http_status == 0)
            return AWS_ERR_HTTP;
    }
    if (code_is(e, "AccessDenied") || code_is(e, "AllAccessDisabled") ||
        code_is(e, "AccountProblem"))
        return AWS_ERR_ACCESS_DENIED;
    if (code_is(e, "NoSuchBucket"))
        return AWS_ERR_NO_SUCH_BUCKET;
    if (code_is(e, "NoSuchKey"))
        return AWS_ERR_NO_SUCH_KEY;
    if (code_is(e, "SignatureDoesNotMatch") || code_is(e, "RequestTimeTooSkewed"))
        return AWS_ERR_SIGNATURE;
    if (code_is(e, "InvalidAccessKeyId"))
        return AWS_ERR_INVALID_ACCESS_KEY;
    if (code_is(e, "PermanentRedirect") || code_is(e, "TemporaryRedirect") ||
        code_is(e, "IllegalLocationConstraintException") ||
        (code_is(e, "AuthorizationHeaderMalformed") && e->region_hint[0]))
        return AWS_ERR_WRONG_REGION;
    if (code_is(e, "ExpiredToken") || code_is(e, "InvalidToken") ||
        code_is(e, "TokenRefreshRequired"))
        return AWS_ERR_EXPIRED_TOKEN;
    if (code_is(e, "InternalError") || code_is(e, "ServiceUnavailable") || code_is(e, "SlowDown") ||
        e->http_status >= 500)
        return AWS_ERR_UNAVAILABLE;
    if (e->http_status == 301 || e->http_status == 307)
        return AWS_ERR_WRONG_REGION;
    if (e->http_status == 403)
        return AWS_ERR_ACCESS_DENIED;
    if (e->http_status == 404)
        return get ? AWS_ERR_NO_SUCH_KEY : AWS_ERR_NO_SUCH_BUCKET;
    return AWS_ERR_HTTP;
}

/* " (Code, request id X)" or " (HTTP 403)" - the facts behind a sentence. */
static void facts(const struct aws_error *e, char *out, size_t outlen)
{
    if (e->code[0])
        snprintf(out, outlen, " (%s%s%s)", e->code, e->request_id[0] ? ", request id " : "",
                 e->request_id);
    else if (e->http_status)
        snprintf(out, outlen, " (HTTP %ld%s%s)", e->http_status,
                 e->request_id[0] ? ", request id " : "", e->request_id);
    else
        out[0] = '\0';
}

/* The summary sentence; a long one is cut (the fields it quotes are bounded anyway). */
static void say(struct aws_error *e, const char *fmt, ...) PRINTF(2, 3);

static void say(struct aws_error *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->summary, sizeof(e->summary), fmt, ap);
    va_end(ap);
}

/* Copies src into a fixed field, cut to fit. */
static void copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strnlen(src, dstlen - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void explain_sts(const struct s3_client *c, struct aws_error *e)
{
    char f[200];
    const char *role = c->role_arn ? c->role_arn : "?";

    facts(e, f, sizeof(f));
    e->kind = AWS_ERR_CREDENTIALS;
    if (e->http_status == 0 && e->curl_code == 0) {
        say(e,
            "Cannot use AWS_WEB_IDENTITY_TOKEN_FILE: %s; check the projected service account "
            "token volume of the pod.",
            e->message);
    } else if (e->curl_code == CURLE_OPERATION_TIMEDOUT) {
        say(e,
            "STS endpoint %s did not answer within %lds: check egress to STS (network "
            "policy, proxy) or set the STS endpoint.",
            e->host, c->timeout_ms / 1000);
    } else if (e->curl_code != 0) {
        say(e,
            "Cannot reach STS endpoint %s (%s): check egress to STS (network policy, proxy, "
            "DNS).",
            e->host, e->message[0] ? e->message : curl_easy_strerror(e->curl_code));
    } else if (code_is(e, "InvalidIdentityToken") || code_is(e, "IDPRejectedClaim")) {
        say(e,
            "STS refused the web identity token of %s for role %s%s: register the "
            "cluster's OIDC provider in IAM and check the token audience (sts.amazonaws.com).",
            c->token_file, role, f);
    } else if (code_is(e, "ExpiredTokenException")) {
        say(e,
            "The web identity token in %s has expired%s: the kubelet should rotate it; "
            "check the projected token volume.",
            c->token_file, f);
    } else if (code_is(e, "AccessDenied")) {
        say(e,
            "STS denied AssumeRoleWithWebIdentity on role %s%s: the role's trust policy must "
            "allow this service account (sts:AssumeRoleWithWebIdentity, condition on "
            "the :sub claim).",
            role, f);
    } else if (e->http_status >= 500) {
        say(e,
            "STS endpoint %s is unavailable%s: temporary credentials for role %s are "
            "retried on the next run.",
            e->host, f, role);
    } else if (e->code[0]) {
        say(e, "STS AssumeRoleWithWebIdentity for role %s failed%s: %s.", role, f,
            e->message[0] ? e->message : "see the STS documentation for the code");
    } else {
        say(e,
            "STS endpoint %s did not give credentials for role %s%s: %s; wrong STS "
            "endpoint?",
            e->host, role, f, e->message[0] ? e->message : "empty answer");
    }
}

void s3_error_explain(const struct s3_client *c, struct aws_error *e, const char *op,
                      const char *what)
{
    char f[200], target[400];
    bool get = op && strcmp(op, "get") == 0;
    const char *w = what ? what : "";

    if (op && strcmp(op, "sts") == 0) {
        explain_sts(c, e);
        scrub_all(c, e);
        return;
    }
    if (e->kind == AWS_ERR_NONE)
        e->kind = classify(e, get);
    facts(e, f, sizeof(f));
    snprintf(target, sizeof(target), "s3://%s/%s", c->bucket, w);
    switch (e->kind) {
    case AWS_ERR_NONE:
        e->summary[0] = '\0';
        break;
    case AWS_ERR_CREDENTIALS:
        explain_sts(c, e);
        break;
    case AWS_ERR_ACCESS_DENIED:
        if (get)
            say(e,
                "S3 denied reading %s%s: the credentials lack s3:GetObject on "
                "arn:aws:s3:::%s/%s (IAM, bucket or KMS key policy), or the object is missing "
                "and s3:ListBucket is not granted.",
                target, f, c->bucket, w);
        else
            say(e,
                "S3 denied listing %s%s: the credentials lack s3:ListBucket on "
                "arn:aws:s3:::%s (allow the s3:prefix '%s*' in the IAM or bucket policy).",
                target, f, c->bucket, w);
        break;
    case AWS_ERR_NO_SUCH_BUCKET:
        say(e,
            "Bucket '%s' does not exist at %s%s: the bucket name is the first part of "
            "WALG_S3_PREFIX (s3://%s/...); check WALG_S3_PREFIX%s.",
            c->bucket, c->host, f, c->bucket,
            c->custom_endpoint ? " and AWS_ENDPOINT" : " and AWS_REGION");
        break;
    case AWS_ERR_NO_SUCH_KEY:
        say(e, "Object %s does not exist%s: it was deleted or never uploaded.", target, f);
        break;
    case AWS_ERR_SIGNATURE:
        if (code_is(e, "RequestTimeTooSkewed"))
            say(e,
                "S3 rejected the request time%s: this node's clock differs from S3's by more "
                "than 15 minutes; fix NTP on the node.",
                f);
        else
            say(e,
                "S3 rejected the request signature%s: AWS_SECRET_ACCESS_KEY does not belong "
                "to the access key ending in %s, or the node's clock is off; check the "
                "secret and NTP.",
                f, key_tail(c));
        break;
    case AWS_ERR_INVALID_ACCESS_KEY:
        say(e,
            "%s does not know the access key ending in %s%s: check AWS_ACCESS_KEY_ID "
            "(keys of MinIO/Ceph do not work on AWS and the other way round).",
            c->custom_endpoint ? c->host : "S3", key_tail(c), f);
        break;
    case AWS_ERR_WRONG_REGION:
        if (e->region_hint[0] && c->custom_endpoint)
            say(e,
                "Bucket '%s' is in region %s, not %s%s: set AWS_REGION=%s and point "
                "AWS_ENDPOINT at that region.",
                c->bucket, e->region_hint, c->region, f, e->region_hint);
        else if (e->region_hint[0])
            say(e, "Bucket '%s' is in region %s, not %s%s: set AWS_REGION=%s.", c->bucket,
                e->region_hint, c->region, f, e->region_hint);
        else
            say(e,
                "Bucket '%s' must be reached through another endpoint%s%s%s: set AWS_REGION "
                "to the bucket's region (or AWS_ENDPOINT).",
                c->bucket, e->endpoint_hint[0] ? " (" : "", e->endpoint_hint,
                e->endpoint_hint[0] ? ")" : "");
        break;
    case AWS_ERR_EXPIRED_TOKEN:
        if (c->mode == CREDS_WEB_IDENTITY)
            say(e,
                "S3 refused the session token from STS%s: the temporary credentials of role "
                "%s expired; they are renewed on the next run.",
                f, c->role_arn);
        else
            say(e,
                "S3 refused AWS_SESSION_TOKEN%s: temporary credentials expire; renew them, or "
                "use AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (IRSA), which renews "
                "itself.",
                f);
        break;
    case AWS_ERR_TIMEOUT:
        say(e,
            "S3 endpoint %s did not answer within %lds: the endpoint is unreachable "
            "from this pod (network policy, proxy, firewall) or wrong (AWS_ENDPOINT).",
            e->host, c->timeout_ms / 1000 ? c->timeout_ms / 1000 : 1);
        break;
    case AWS_ERR_UNREACHABLE:
        say(e,
            "Cannot reach S3 endpoint %s (%s): check AWS_ENDPOINT/AWS_REGION, DNS and that "
            "the service is up.",
            e->host, e->message[0] ? e->message : curl_easy_strerror(e->curl_code));
        break;
    case AWS_ERR_TLS:
        say(e,
            "TLS with S3 endpoint %s failed (%s): for a private CA set "
            "WALG_S3_CA_CERT_FILE to its PEM bundle; check the endpoint's host name.",
            e->host, e->message[0] ? e->message : curl_easy_strerror(e->curl_code));
        break;
    case AWS_ERR_UNAVAILABLE:
        say(e,
            "S3 endpoint %s is unavailable%s: S3 is failing or throttling; the check "
            "retries on the next run.",
            e->host, f);
        break;
    case AWS_ERR_MALFORMED:
        say(e,
            "The answer of %s is not an S3 reply%s: %s; wrong endpoint (AWS_ENDPOINT) or a "
            "proxy in between?",
            e->host, f, e->message[0] ? e->message : "not XML");
        break;
    case AWS_ERR_TOO_LARGE:
        say(e, "The answer of %s for %s is too large%s: %s.", e->host, target, f,
            e->message[0] ? e->message : "it passed the size limit");
        break;
    case AWS_ERR_HTTP:
    default:
        say(e, "S3 request for %s failed%s%s%s.", target, f, e->message[0] ? ": " : "", e->message);
        break;
    }
    scrub_all(c, e);
}

/* "bucket.s3.eu-west-1.amazonaws.com" -> "eu-west-1"; "bucket.s3.amazonaws.com" -> "us-east-1". */
static void region_from_endpoint(const char *ep, char *out, size_t outlen)
{
    const char *end = strstr(ep, ".amazonaws.com");
    const char *start;
    char label[64];
    size_t n;

    if (!end)
        return;
    start = end;
    while (start > ep && start[-1] != '.')
        start--;
    n = (size_t)(end - start);
    if (n == 0 || n >= sizeof(label))
        return;
    memcpy(label, start, n);
    label[n] = '\0';
    if (strcmp(label, "s3") == 0 || strcmp(label, "s3-external-1") == 0)
        snprintf(out, outlen, "us-east-1");
    else if (strncmp(label, "s3-", 3) == 0 && region_ok(label + 3))
        copy_str(out, outlen, label + 3);
    else if (region_ok(label) && strchr(label, '-'))
        copy_str(out, outlen, label);
}

/* ---- requests ------------------------------------------------------------------------------ */

static void req_release_transfer(struct s3_request *r)
{
    if (r->easy) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    if (r->headers) {
        for (struct curl_slist *h = r->headers; h; h = h->next)
            explicit_bzero(h->data, strlen(h->data));
        curl_slist_free_all(r->headers);
        r->headers = NULL;
    }
}

static void req_free(struct s3_request *r)
{
    req_release_transfer(r);
    buf_cleanup(&r->body);
    free(r->prefix);
    free(r->delimiter);
    free(r->start_after);
    free(r->token);
    free(r->seen_tokens);
    free(r->key);
    s3_listing_cleanup(&r->listing);
    free(r);
}

void s3_listing_cleanup(struct s3_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_objects; i++)
        free(l->objects[i].key);
    for (size_t i = 0; i < l->n_prefixes; i++)
        free(l->prefixes[i]);
    free(l->objects);
    free(l->prefixes);
    memset(l, 0, sizeof(*l));
}

void s3_cancel(struct s3_request *r)
{
    if (!r)
        return;
    if (r->state == REQ_RUNNING && r->easy)
        curlm_remove(r->c->cm, r->easy);
    req_unlink(r);
    req_free(r);
}

/* Ends a request: unlinks it, runs its callback (err NULL on success), frees it. The client may
 * be freed by the callback; nothing here touches it afterwards. */
static void req_finish(struct s3_request *r, struct aws_error *err)
{
    struct s3_client *c = r->c;

    req_unlink(r);
    if (err) {
        c->stats.errors++;
        log_debug("s3", "request failed kind=%s http=%ld code=%s", aws_error_kind_name(err->kind),
                  err->http_status, err->code[0] ? err->code : "-");
    }
    if (r->op == OP_LIST)
        r->list_cb(err, &r->listing, r->arg);
    else
        r->get_cb(err, &r->body, r->arg);
    req_free(r);
}

static const char *req_what(const struct s3_request *r)
{
    return r->op == OP_GET ? r->key : (r->prefix ? r->prefix : "");
}

/* Fails a request that has no transfer: the callback runs from the defer timer. */
static void req_fail_later(struct s3_request *r, struct aws_error *err)
{
    r->state = REQ_FAILED;
    r->err = *err;
    if (uv_timer_start(&r->c->defer, defer_cb, 0, 0) < 0)
        abort();
}

static void defer_cb(uv_timer_t *t)
{
    struct s3_client *c = t->data;

    while (!c->closing) {
        struct s3_request *r = c->reqs;

        while (r && r->state != REQ_FAILED)
            r = r->next;
        if (!r)
            break;
        req_finish(r, &r->err);
    }
}

static bool creds_need_refresh(const struct s3_client *c)
{
    return c->mode == CREDS_WEB_IDENTITY &&
           (!c->access_key || c->expires_s - util_now_s() < REFRESH_MARGIN_S);
}

static void sts_start(struct s3_client *c);
static void req_send(struct s3_request *r);

/* Starts (or continues with the next page of) a request: waits for credentials if needed. */
static void req_begin(struct s3_request *r)
{
    struct s3_client *c = r->c;

    if (creds_need_refresh(c)) {
        r->state = REQ_WAIT_CREDS;
        if (!c->sts)
            sts_start(c);
        return;
    }
    req_send(r);
}

/* Starts the requests that wait for credentials, or fails them with err. */
static void release_waiting(struct s3_client *c, struct aws_error *err)
{
    while (!c->closing) {
        struct s3_request *r = c->reqs;

        while (r && r->state != REQ_WAIT_CREDS)
            r = r->next;
        if (!r)
            break;
        if (err) {
            struct aws_error e = *err;

            req_finish(r, &e);
        } else {
            req_send(r);
        }
    }
}

static void sts_done_cb(const struct aws_error *err, struct s3xml_sts_creds *creds, void *arg)
{
    struct s3_client *c = arg;

    c->sts = NULL;
    if (creds) {
        free(c->access_key);
        free_secret(&c->secret_key);
        free_secret(&c->session_token);
        c->access_key = creds->access_key_id;
        c->secret_key = creds->secret_access_key;
        c->session_token = creds->session_token;
        secret_register(c->access_key);
        secret_register(c->secret_key);
        secret_register(c->session_token);
        creds->access_key_id = creds->secret_access_key = creds->session_token = NULL;
        c->expires_s = creds->expiration_s;
        {
            char when[32];

            util_format_rfc3339(c->expires_s, when, sizeof(when));
            log_info("s3", "assumed role=%s session=%s expires=%s", c->role_arn, c->session_name,
                     when);
        }
        release_waiting(c, NULL);
        return;
    }
    {
        struct aws_error e = *err;

        s3_error_explain(c, &e, "sts", NULL);
        if (c->access_key && c->expires_s - util_now_s() > STALE_OK_MARGIN_S) {
            log_warn("s3",
                     "credential refresh failed, using the current ones until they expire: "
                     "%s",
                     e.summary);
            release_waiting(c, NULL);
            return;
        }
        log_warn("s3", "%s", e.summary);
        release_waiting(c, &e);
    }
}

static void sts_start(struct s3_client *c)
{
    struct sts_params p = {
        .url = c->sts_url,
        .role_arn = c->role_arn,
        .session_name = c->session_name,
        .token_file = c->token_file,
        .ca_file = c->ca_file,
        .connect_timeout_ms = c->connect_timeout_ms,
        .timeout_ms = c->timeout_ms,
    };
    struct aws_error err;
    int rc;

    rc = sts_assume_role_with_web_identity(c->cm, &p, sts_done_cb, c, &c->sts, &err);
    if (rc == 0) {
        c->stats.sts_requests++;
        return;
    }
    c->sts = NULL;
    s3_error_explain(c, &err, "sts", NULL);
    /* Every waiting request fails, from the defer timer (never inside s3_list()). */
    for (struct s3_request *r = c->reqs; r; r = r->next)
        if (r->state == REQ_WAIT_CREDS)
            req_fail_later(r, &err);
}

/* Copies a header value (trimmed, printable ASCII only) if the line is "name: value". */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name), i, j = 0;

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
        ;
    while (i < len && j + 1 < outlen && (unsigned char)line[i] > 0x20 &&
           (unsigned char)line[i] < 0x7F)
        out[j++] = line[i++];
    out[j] = '\0';
    return true;
}

static size_t req_header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct s3_request *r = arg;
    size_t len = size * n;
    char value[32];

    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);

        r->hdr_status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->hdr_region[0] = r->hdr_request_id[0] = '\0';
        /* the body that follows this status line: a 2xx answer or an error document */
        r->body.max =
            r->hdr_status >= 200 && r->hdr_status < 300 ? r->body_max : ERROR_BODY_MAX_BYTES;
        return len;
    }
    if (header_value(data, len, "x-amz-bucket-region", r->hdr_region, sizeof(r->hdr_region)) ||
        header_value(data, len, "x-amz-request-id", r->hdr_request_id, sizeof(r->hdr_request_id)))
        return len;
    if (r->hdr_status >= 200 && r->hdr_status < 300 &&
        header_value(data, len, "content-length", value, sizeof(value))) {
        int64_t cl;

        if (util_parse_i64(value, &cl) == 0 && cl >= 0 && (uint64_t)cl > r->body_max) {
            r->too_large = true;
            return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
        }
    }
    return len;
}

static void req_fail_transfer(struct s3_request *r, CURLcode rc, long status)
{
    struct s3_client *c = r->c;
    struct aws_error e;
    struct s3xml_error xe;

    memset(&e, 0, sizeof(e));
    e.http_status = status;
    e.curl_code = (int)rc;
    snprintf(e.host, sizeof(e.host), "%s%s%s", c->path_style ? "" : c->bucket,
             c->path_style ? "" : ".", c->host);
    snprintf(e.request_id, sizeof(e.request_id), "%s", r->hdr_request_id);
    snprintf(e.region_hint, sizeof(e.region_hint), "%s", r->hdr_region);
    if (r->too_large || r->body.overflow) {
        e.kind = AWS_ERR_TOO_LARGE;
        e.curl_code = 0;
        snprintf(e.message, sizeof(e.message), "more than %zu bytes",
                 status >= 200 && status < 300 ? r->body_max : (size_t)ERROR_BODY_MAX_BYTES);
    } else if (rc != CURLE_OK) {
        snprintf(e.message, sizeof(e.message), "%s",
                 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
        e.http_status = 0; /* no complete answer */
    } else if (r->body.len > 0) {
        if (s3xml_parse_error(r->body.data, r->body.len, &xe) == 0) {
            snprintf(e.code, sizeof(e.code), "%s", xe.code);
            snprintf(e.message, sizeof(e.message), "%s", xe.message);
            if (!e.request_id[0])
                snprintf(e.request_id, sizeof(e.request_id), "%s", xe.request_id);
            if (xe.endpoint[0]) {
                snprintf(e.endpoint_hint, sizeof(e.endpoint_hint), "%s", xe.endpoint);
                if (!e.region_hint[0])
                    region_from_endpoint(xe.endpoint, e.region_hint, sizeof(e.region_hint));
            }
            if (xe.region[0] && !e.region_hint[0])
                snprintf(e.region_hint, sizeof(e.region_hint), "%s", xe.region);
        } else if (status < 500) {
            e.kind = AWS_ERR_MALFORMED;
            snprintf(e.message, sizeof(e.message),
                     "HTTP %ld with a body that is not an S3 error "
                     "document",
                     status);
        }
    }
    if (e.region_hint[0] && strcmp(e.region_hint, c->region) == 0 &&
        !code_is(&e, "PermanentRedirect") && status != 301)
        e.region_hint[0] = '\0'; /* the header is also sent when the region is right */
    s3_error_explain(c, &e, r->op == OP_GET ? "get" : "list", req_what(r));
    if (c->mode == CREDS_WEB_IDENTITY && e.kind == AWS_ERR_EXPIRED_TOKEN) {
        free(c->access_key); /* exchange again on the next request */
        c->access_key = NULL;
    }
    req_finish(r, &e);
}

static void list_append(struct s3_request *r, struct s3xml_list_page *pg)
{
    struct s3_listing *l = &r->listing;

    if (pg->n_objects) {
        if (l->n_objects + pg->n_objects > r->cap_objects) {
            while (r->cap_objects < l->n_objects + pg->n_objects)
                r->cap_objects = r->cap_objects ? r->cap_objects * 2 : 1024;
            l->objects = xrealloc(l->objects, r->cap_objects * sizeof(*l->objects));
        }
        memcpy(l->objects + l->n_objects, pg->objects, pg->n_objects * sizeof(*pg->objects));
        l->n_objects += pg->n_objects;
        pg->n_objects = 0;
    }
    if (pg->n_prefixes) {
        if (l->n_prefixes + pg->n_prefixes > r->cap_prefixes) {
            while (r->cap_prefixes < l->n_prefixes + pg->n_prefixes)
                r->cap_prefixes = r->cap_prefixes ? r->cap_prefixes * 2 : 64;
            l->prefixes = xrealloc(l->prefixes, r->cap_prefixes * sizeof(*l->prefixes));
        }
        memcpy(l->prefixes + l->n_prefixes, pg->prefixes, pg->n_prefixes * sizeof(char *));
        l->n_prefixes += pg->n_prefixes;
        pg->n_prefixes = 0;
    }
}

/* Tokens are compared by hash (a collision only ends a listing early, with a reason). */
static uint64_t token_hash(const char *s)
{
    return util_hash64(s);
}

static bool token_seen(const struct s3_request *r, const char *token)
{
    uint64_t h = token_hash(token);

    for (size_t i = 0; i < r->n_seen_tokens; i++)
        if (r->seen_tokens[i] == h)
            return true;
    return false;
}

static void list_page_done(struct s3_request *r)
{
    struct s3_client *c = r->c;
    struct s3xml_list_page pg;
    char why[200];
    bool more;
    int rc;

    rc = s3xml_parse_list(r->body.data, r->body.len, &pg, why, sizeof(why));
    buf_cleanup(&r->body);
    if (rc < 0) {
        struct aws_error e;

        memset(&e, 0, sizeof(e));
        e.kind = rc == -E2BIG ? AWS_ERR_TOO_LARGE : AWS_ERR_MALFORMED;
        e.http_status = 200;
        snprintf(e.host, sizeof(e.host), "%s%s%s", c->path_style ? "" : c->bucket,
                 c->path_style ? "" : ".", c->host);
        snprintf(e.request_id, sizeof(e.request_id), "%s", r->hdr_request_id);
        snprintf(e.message, sizeof(e.message), "%s", why);
        s3_error_explain(c, &e, "list", req_what(r));
        req_finish(r, &e);
        return;
    }
    r->listing.pages++;
    list_append(r, &pg);
    if (r->token) {
        r->seen_tokens = xrealloc(r->seen_tokens, (r->n_seen_tokens + 1) * sizeof(uint64_t));
        r->seen_tokens[r->n_seen_tokens++] = token_hash(r->token);
    }
    free(r->token);
    r->token = pg.next_token;
    pg.next_token = NULL;
    if (pg.is_truncated && r->token && token_seen(r, r->token)) {
        struct aws_error e;

        memset(&e, 0, sizeof(e));
        e.kind = AWS_ERR_MALFORMED;
        e.http_status = 200;
        snprintf(e.host, sizeof(e.host), "%s", c->host);
        snprintf(e.message, sizeof(e.message),
                 "page %u of the listing gave a NextContinuationToken that S3 already gave "
                 "before: the server's ListObjectsV2 continuation loops, so the listing can "
                 "never finish",
                 r->listing.pages);
        s3xml_list_page_cleanup(&pg);
        s3_error_explain(c, &e, "list", req_what(r));
        req_finish(r, &e);
        return;
    }
    if (pg.is_truncated && !r->token) {
        struct aws_error e;

        memset(&e, 0, sizeof(e));
        e.kind = AWS_ERR_MALFORMED;
        e.http_status = 200;
        snprintf(e.host, sizeof(e.host), "%s", c->host);
        snprintf(e.message, sizeof(e.message),
                 "IsTruncated is true without a NextContinuationToken (ListObjectsV2 not "
                 "supported?)");
        s3xml_list_page_cleanup(&pg);
        s3_error_explain(c, &e, "list", req_what(r));
        req_finish(r, &e);
        return;
    }
    more = pg.is_truncated;
    s3xml_list_page_cleanup(&pg);
    if (!more) {
        req_finish(r, NULL);
        return;
    }
    if (r->listing.pages >= r->max_pages ||
        r->listing.n_objects + r->listing.n_prefixes >= r->max_objects) {
        r->listing.truncated = true;
        req_finish(r, NULL);
        return;
    }
    req_begin(r);
}

static void req_done_cb(CURL *easy, CURLcode rc, void *arg)
{
    struct s3_request *r = arg;
    long status = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    req_release_transfer(r);
    r->c->stats.bytes += r->body.len;
    if (rc != CURLE_OK || status < 200 || status > 299) {
        req_fail_transfer(r, rc, status);
        return;
    }
    if (r->op == OP_GET) {
        if (!r->body.data)
            buf_append(&r->body, "", 0); /* an empty object is "" */
        req_finish(r, NULL);
        return;
    }
    list_page_done(r);
}

/* The URL of the next request: canonical query string built here, key encoded here. */
static char *req_url(const struct s3_request *r)
{
    const struct s3_client *c = r->c;
    char *bucket = aws_uri_encode(c->bucket, false);
    char *path, *query = NULL, *url;

    if (r->op == OP_GET) {
        char *key = aws_uri_encode(r->key, true);

        path = xasprintf("/%s", key);
        free(key);
    } else {
        struct aws_query_param q[7];
        size_t n = 0;
        char max_keys[16];

        snprintf(max_keys, sizeof(max_keys), "%u", r->page_size);
        q[n++] = (struct aws_query_param){"list-type", "2"};
        q[n++] = (struct aws_query_param){"max-keys", max_keys};
        q[n++] = (struct aws_query_param){"encoding-type", "url"};
        q[n++] = (struct aws_query_param){"prefix", r->prefix ? r->prefix : ""};
        if (r->delimiter)
            q[n++] = (struct aws_query_param){"delimiter", r->delimiter};
        if (r->token)
            q[n++] = (struct aws_query_param){"continuation-token", r->token};
        else if (r->start_after)
            q[n++] = (struct aws_query_param){"start-after", r->start_after};
        query = aws_canonical_query(q, n);
        path = xstrdup("/");
    }
    if (c->path_style)
        url = xasprintf("%s://%s%s/%s%s%s%s", c->scheme, c->host, c->base_path, bucket,
                        r->op == OP_GET ? path : "", query ? "?" : "", query ? query : "");
    else
        url = xasprintf("%s://%s.%s%s%s%s%s", c->scheme, c->bucket, c->host, c->base_path, path,
                        query ? "?" : "", query ? query : "");
    free(bucket);
    free(path);
    free(query);
    return url;
}

static void req_send(struct s3_request *r)
{
    struct s3_client *c = r->c;
    char *url, *tok;
    int rc;

    r->state = REQ_RUNNING;
    r->too_large = false;
    r->hdr_status = 0;
    r->hdr_region[0] = r->hdr_request_id[0] = r->errbuf[0] = '\0';
    buf_cleanup(&r->body);
    buf_init(&r->body, r->body_max);
    r->easy = curl_easy_init();
    if (!r->easy)
        abort();
    url = req_url(r);
    r->headers = curl_slist_append(NULL, "x-amz-content-sha256: " EMPTY_SHA256);
    if (c->session_token) {
        tok = xasprintf("x-amz-security-token: %s", c->session_token);
        r->headers = curl_slist_append(r->headers, tok);
        explicit_bzero(tok, strlen(tok));
        free(tok);
    }
    if (!r->headers)
        abort();
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(r->easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(r->easy, CURLOPT_USERNAME, c->access_key);
    curl_easy_setopt(r->easy, CURLOPT_PASSWORD, c->secret_key);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, (const char *)agent_user_agent);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file);
    curlm_write_to(r->easy, &r->body);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, req_header_cb);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    rc = curlm_add(c->cm, r->easy, req_done_cb, r);
    if (rc < 0) {
        struct aws_error e;

        req_release_transfer(r);
        memset(&e, 0, sizeof(e));
        e.kind = AWS_ERR_HTTP;
        snprintf(e.host, sizeof(e.host), "%s", c->host);
        snprintf(e.message, sizeof(e.message), "cannot start the transfer: %s", strerror(-rc));
        s3_error_explain(c, &e, r->op == OP_GET ? "get" : "list", req_what(r));
        req_fail_later(r, &e);
        return;
    }
    c->stats.requests++;
}

static struct s3_request *req_new(struct s3_client *c, enum req_op op)
{
    struct s3_request *r = xcalloc(1, sizeof(*r));

    r->c = c;
    r->op = op;
    r->next = c->reqs;
    if (r->next)
        r->next->prev = r;
    c->reqs = r;
    return r;
}

int s3_list(struct s3_client *c, const struct s3_list_opts *opts, s3_list_fn cb, void *arg,
            struct s3_request **req)
{
    struct s3_request *r;

    if (!c || c->closing || !opts || !cb || (opts->prefix && has_ctl(opts->prefix)) ||
        (opts->delimiter && has_ctl(opts->delimiter)) ||
        (opts->start_after && has_ctl(opts->start_after)) || opts->page_size > 1000)
        return -EINVAL;
    r = req_new(c, OP_LIST);
    r->list_cb = cb;
    r->arg = arg;
    r->prefix = dup_or_null(opts->prefix);
    r->delimiter = dup_or_null(opts->delimiter);
    r->start_after = dup_or_null(opts->start_after);
    r->page_size = opts->page_size ? opts->page_size : 1000;
    r->max_pages = opts->max_pages ? opts->max_pages : 1000;
    r->max_objects = opts->max_objects ? opts->max_objects : 1000000;
    r->body_max = LIST_PAGE_MAX_BYTES;
    if (req)
        *req = r;
    req_begin(r);
    return 0;
}

int s3_get(struct s3_client *c, const char *key, size_t max_bytes, s3_get_fn cb, void *arg,
           struct s3_request **req)
{
    struct s3_request *r;

    if (!c || c->closing || !set(key) || has_ctl(key) || !cb || strlen(key) > 4096)
        return -EINVAL;
    r = req_new(c, OP_GET);
    r->get_cb = cb;
    r->arg = arg;
    r->key = xstrdup(key);
    r->body_max = max_bytes ? max_bytes : DEFAULT_GET_MAX_BYTES;
    if (req)
        *req = r;
    req_begin(r);
    return 0;
}

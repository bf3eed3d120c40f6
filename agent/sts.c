/* sts.c - one AssumeRoleWithWebIdentity exchange on curlm. The call is not signed (the web
 * identity token is the proof); it is a POST so that the token stays out of URLs and access logs.
 * Owns the token copy (zeroed when done), never logs it, and scrubs it from anything it reports.
 * The token file is small and local (a projected service account token on tmpfs), so it is read
 * with plain blocking calls; everything on the network goes through curlm. */
#include "sts.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "curlm.h"
#include "secret.h"
#include "util.h"

#define STS_MAX_ANSWER_BYTES (256u << 10)

struct sts_request {
    struct curlm *cm;
    CURL *easy;
    struct buf body;
    char errbuf[CURL_ERROR_SIZE];
    char request_id[96];
    char host[256];
    char *token; /* secret: for scrubbing what the server echoes */
    sts_fn cb;
    void *arg;
};

int sts_read_token(const char *path, char **token, char *err, size_t errlen)
{
    return secret_file_read(path, STS_MAX_TOKEN_BYTES, token, err, errlen);
}

char *sts_form(const char *role_arn, const char *session_name, const char *token)
{
    char *arn = aws_uri_encode(role_arn, false);
    char *name = aws_uri_encode(session_name, false);
    char *tok = aws_uri_encode(token, false);
    char *form = xasprintf("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s"
                           "&RoleSessionName=%s&WebIdentityToken=%s",
                           arn, name, tok);

    explicit_bzero(tok, strlen(tok));
    free(tok);
    free(name);
    free(arn);
    return form;
}

/* Replaces every occurrence of secret in the fixed field s by "***". */
static void scrub(char *s, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *p;

    if (n < 4)
        return;
    while ((p = strstr(s, secret)) != NULL) {
        size_t rest = strlen(p + n);

        memmove(p + 3, p + n, rest + 1);
        memcpy(p, "***", 3);
    }
}

static void sts_free(struct sts_request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    if (r->body.data)
        explicit_bzero(r->body.data, r->body.cap);
    buf_cleanup(&r->body);
    if (r->token) {
        explicit_bzero(r->token, strlen(r->token));
        free(r->token);
    }
    free(r);
}

static size_t sts_header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct sts_request *r = arg;
    size_t len = size * n;
    static const char name[] = "x-amzn-requestid:";

    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1, j = 0;

        while (i < len && (data[i] == ' ' || data[i] == '\t'))
            i++;
        while (i < len && j + 1 < sizeof(r->request_id) && (unsigned char)data[i] > 0x20 &&
               (unsigned char)data[i] < 0x7F)
            r->request_id[j++] = data[i++];
        r->request_id[j] = '\0';
    }
    return len;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7F)
            return false;
    return true;
}

static void sts_done_cb(CURL *easy, CURLcode rc, void *arg)
{
    struct sts_request *r = arg;
    struct aws_error err;
    struct s3xml_sts_creds creds;
    struct s3xml_error xe;
    char why[200];
    long status = 0;

    memset(&err, 0, sizeof(err));
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    err.http_status = status;
    err.curl_code = (int)rc;
    snprintf(err.host, sizeof(err.host), "%s", r->host);
    snprintf(err.request_id, sizeof(err.request_id), "%s", r->request_id);
    if (rc == CURLE_OK && status == 200) {
        int prc = s3xml_parse_sts(r->body.data, r->body.len, &creds, why, sizeof(why));

        if (prc == 0 && printable(creds.access_key_id) && printable(creds.secret_access_key) &&
            printable(creds.session_token)) {
            r->cb(NULL, &creds, r->arg);
            s3xml_sts_creds_cleanup(&creds);
            sts_free(r);
            return;
        }
        if (prc == 0) {
            s3xml_sts_creds_cleanup(&creds);
            snprintf(why, sizeof(why), "the credentials hold control characters");
        }
        err.kind = AWS_ERR_MALFORMED;
        snprintf(err.message, sizeof(err.message), "not an AssumeRoleWithWebIdentity reply: %s",
                 why);
    } else if (rc == CURLE_WRITE_ERROR && r->body.overflow) {
        err.kind = AWS_ERR_TOO_LARGE;
        snprintf(err.message, sizeof(err.message), "the STS answer passed %u bytes",
                 STS_MAX_ANSWER_BYTES);
    } else if (rc != CURLE_OK) {
        snprintf(err.message, sizeof(err.message), "%s",
                 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
    } else if (s3xml_parse_error(r->body.data, r->body.len, &xe) == 0) {
        snprintf(err.code, sizeof(err.code), "%s", xe.code);
        snprintf(err.message, sizeof(err.message), "%s", xe.message);
        if (xe.request_id[0])
            snprintf(err.request_id, sizeof(err.request_id), "%s", xe.request_id);
    } else if (r->body.len > 0) {
        err.kind = status >= 500 ? AWS_ERR_NONE : AWS_ERR_MALFORMED;
        snprintf(err.message, sizeof(err.message),
                 "HTTP %ld with a body that is not an STS "
                 "error document",
                 status);
    }
    scrub(err.message, r->token);
    scrub(err.code, r->token);
    secret_scrub(err.message); /* every registered secret and URL password */
    secret_scrub(err.code);
    secret_scrub(err.request_id);
    r->cb(&err, NULL, r->arg);
    sts_free(r);
}

int sts_assume_role_with_web_identity(struct curlm *cm, const struct sts_params *p, sts_fn cb,
                                      void *arg, struct sts_request **out, struct aws_error *err)
{
    struct sts_request *r;
    char *form;
    CURLU *u;
    char *host = NULL, *port = NULL;
    int rc;

    memset(err, 0, sizeof(*err));
    r = xcalloc(1, sizeof(*r));
    rc = sts_read_token(p->token_file, &r->token, err->message, sizeof(err->message));
    if (rc < 0) {
        free(r);
        return rc;
    }
    u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, p->url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
            snprintf(r->host, sizeof(r->host), "%s:%s", host, port);
        else
            snprintf(r->host, sizeof(r->host), "%s", host);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    snprintf(err->host, sizeof(err->host), "%s", r->host);

    r->cm = cm;
    r->cb = cb;
    r->arg = arg;
    buf_init(&r->body, STS_MAX_ANSWER_BYTES);
    r->easy = curl_easy_init();
    if (!r->easy)
        abort();
    form = sts_form(p->role_arn, p->session_name, r->token);
    curl_easy_setopt(r->easy, CURLOPT_URL, p->url);
    curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, form);
    explicit_bzero(form, strlen(form));
    free(form);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, (const char *)agent_user_agent);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (p->ca_file && p->ca_file[0])
        curl_easy_setopt(r->easy, CURLOPT_CAINFO, p->ca_file);
    curlm_write_to(r->easy, &r->body);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, sts_header_cb);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    rc = curlm_add(cm, r->easy, sts_done_cb, r);
    if (rc < 0) {
        snprintf(err->message, sizeof(err->message), "cannot start the STS request");
        sts_free(r);
        return rc;
    }
    if (out)
        *out = r;
    return 0;
}

void sts_cancel(struct sts_request *r)
{
    if (!r)
        return;
    curlm_remove(r->cm, r->easy);
    sts_free(r);
}

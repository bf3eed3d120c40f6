/* sts.h - AssumeRoleWithWebIdentity (IRSA) over the curl multi handle: reads the web identity
 * token file, POSTs the unsigned form to STS, parses the temporary credentials. Used by s3.c, which
 * caches the result; this module keeps nothing between exchanges. */
#ifndef AGENT_STS_H
#define AGENT_STS_H

#include <stddef.h>

#include "aws.h"
#include "common.h"
#include "s3xml.h"

#define STS_MAX_TOKEN_BYTES (64u << 10)

struct curlm;
struct sts_request;

struct sts_params {
    const char *url;          /* "https://sts.eu-central-1.amazonaws.com/" */
    const char *role_arn;     /* AWS_ROLE_ARN */
    const char *session_name; /* RoleSessionName */
    const char *token_file;   /* AWS_WEB_IDENTITY_TOKEN_FILE, read now (it rotates) */
    const char *ca_file;      /* NULL: the system CAs */
    long connect_timeout_ms;
    long timeout_ms;
};

/* creds is NULL on error; err then holds the facts (http_status, curl_code, code, message,
 * request_id, host) but no kind or summary (s3_error_explain() adds them). creds belongs to the
 * STS module and is cleaned up after the callback returns; the callback may move it out. */
typedef void (*sts_fn)(const struct aws_error *err, struct s3xml_sts_creds *creds, void *arg);

/* Starts one exchange. Returns 0 (the callback will run unless sts_cancel()) or -errno when the
 * token file cannot be used: err->message then names the file and the reason (no callback). */
MUSTCHECK int sts_assume_role_with_web_identity(struct curlm *cm, const struct sts_params *p,
                                                sts_fn cb, void *arg, struct sts_request **out,
                                                struct aws_error *err);
/* Aborts an exchange before its callback; frees it. */
void sts_cancel(struct sts_request *r);

/* The request body: Action, Version, RoleArn, RoleSessionName, WebIdentityToken, form-encoded
 * with SigV4's URI encoding. Returns a new string. Exposed for tests. */
char *sts_form(const char *role_arn, const char *session_name, const char *token);

/* Reads a token file with secret_file_read() (regular file, printable, trailing newline removed, at
 * most STS_MAX_TOKEN_BYTES). Returns 0 and a new string, or -errno with a reason in err. */
MUSTCHECK int sts_read_token(const char *path, char **token, char *err, size_t errlen);

#endif

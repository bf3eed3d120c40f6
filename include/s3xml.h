/* s3xml.h - the XML documents of S3 and STS, read with expat: a ListObjectsV2 page
 * (ListBucketResult), an error document (S3 <Error>, STS <ErrorResponse>) and the
 * AssumeRoleWithWebIdentity answer. Pure: no I/O, no clock. Element names are matched by their
 * local name (any namespace prefix is ignored), unknown elements are skipped, a DOCTYPE is refused
 * (S3 never sends one: no entity expansion), and every size has a ceiling, so any input gives a
 * result or an error, never a crash or an unbounded allocation. */
#ifndef AGENT_S3XML_H
#define AGENT_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "aws.h"

#define S3XML_MAX_INPUT_BYTES  (64u << 20) /* a document larger than this is refused */
#define S3XML_MAX_TEXT_BYTES   (64u << 10) /* text of one element */
#define S3XML_MAX_KEY_BYTES    4096u       /* S3 allows 1024; decoded keys longer are refused */
#define S3XML_MAX_PAGE_ENTRIES 100000u     /* Contents + CommonPrefixes in one page (S3: 1000) */
#define S3XML_MAX_DEPTH        16

/* One ListObjectsV2 page. */
struct s3xml_list_page {
    struct s3_object *objects; /* owned, n_objects entries */
    size_t n_objects;
    char **prefixes; /* CommonPrefixes/Prefix values, owned */
    size_t n_prefixes;
    bool is_truncated;
    char *next_token; /* NextContinuationToken, NULL when absent */
    long key_count;   /* KeyCount, -1 when absent */
    bool url_encoded; /* EncodingType was "url": keys and prefixes were decoded */
};

/* Parses a ListBucketResult. Returns 0, -EPROTO for malformed XML or a value that does not parse
 * (err says what and where), -ENOMSG when the root element is not ListBucketResult (err names it),
 * -E2BIG when a ceiling was hit. On error *out is empty (nothing to free). */
MUSTCHECK int s3xml_parse_list(const char *data, size_t len, struct s3xml_list_page *out, char *err,
                               size_t errlen);
void s3xml_list_page_cleanup(struct s3xml_list_page *page);

/* An error document: S3's <Error><Code/><Message/><RequestId/>...</Error> or STS's
 * <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>. Values are
 * truncated to the fields' sizes; control characters are replaced by spaces. */
struct s3xml_error {
    char code[64];
    char message[256];
    char request_id[96];
    char region[48];    /* <Region> (AuthorizationHeaderMalformed, IllegalLocationConstraint) */
    char endpoint[128]; /* <Endpoint> (PermanentRedirect, TemporaryRedirect) */
    char bucket[64];    /* <BucketName> or <Bucket> */
};

/* Returns 0 when the document is an error document with a Code, -EPROTO for malformed XML, -ENOMSG
 * for another root element or no Code. */
MUSTCHECK int s3xml_parse_error(const char *data, size_t len, struct s3xml_error *out);

/* Credentials of an AssumeRoleWithWebIdentityResponse. */
struct s3xml_sts_creds {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret */
    int64_t expiration_s;    /* seconds since the epoch */
    char *role_arn;          /* AssumedRoleUser/Arn, NULL when absent */
};

/* Returns 0 when all four credential fields are present and the expiration parses, -EPROTO
 * (malformed, or a field missing: err names it), -ENOMSG (another root element). */
MUSTCHECK int s3xml_parse_sts(const char *data, size_t len, struct s3xml_sts_creds *out, char *err,
                              size_t errlen);
/* Frees the fields; the secret ones are zeroed first. */
void s3xml_sts_creds_cleanup(struct s3xml_sts_creds *creds);

#endif

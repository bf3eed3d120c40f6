/* s3xml.c - S3/STS XML documents with expat. One small "walker" keeps the stack of open element
 * names (local names, namespace prefix stripped) and the text of the innermost element; each
 * document type is a pair of start/end handlers that look at that stack. A handler that meets a
 * bad value stops the parser with an error sentence. Owns no I/O and keeps no state between
 * calls. */
#include "s3xml.h"

#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "secret.h"
#include "util.h"

struct walker;
typedef void (*walk_start_fn)(struct walker *w);
typedef void (*walk_end_fn)(struct walker *w);

struct walker {
    XML_Parser parser;
    int depth; /* elements open, the innermost at names[depth - 1] */
    char names[S3XML_MAX_DEPTH][40];
    struct buf text; /* character data of the innermost element so far */
    int rc;
    char *err;
    size_t errlen;
    walk_start_fn on_start;
    walk_end_fn on_end;
    void *ctx;
};

static void walk_fail(struct walker *w, int rc, const char *fmt, ...) PRINTF(3, 4);

static void walk_fail(struct walker *w, int rc, const char *fmt, ...)
{
    va_list ap;

    if (w->rc)
        return;
    w->rc = rc;
    if (w->err && w->errlen) {
        va_start(ap, fmt);
        vsnprintf(w->err, w->errlen, fmt, ap);
        va_end(ap);
    }
    if (w->parser)
        XML_StopParser(w->parser, XML_FALSE);
}

/* Is the open element path exactly these names (from the root)? */
static bool walk_at(const struct walker *w, int n, ...)
{
    va_list ap;
    bool eq = w->depth == n;

    va_start(ap, n);
    for (int i = 0; i < n && eq; i++)
        eq = strcmp(w->names[i], va_arg(ap, const char *)) == 0;
    va_end(ap);
    return eq;
}

static const char *walk_name(const struct walker *w)
{
    return w->names[w->depth - 1];
}

/* The innermost element's text, or NULL (after failing) when it passed the ceiling. */
static const char *walk_text(struct walker *w)
{
    if (w->text.overflow) {
        walk_fail(w, -E2BIG, "<%s> holds more than %u bytes of text", walk_name(w),
                  S3XML_MAX_TEXT_BYTES);
        return NULL;
    }
    return w->text.data ? w->text.data : "";
}

static void XMLCALL walk_start_cb(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct walker *w = ud;
    const char *local = strrchr(name, ':');

    (void)attrs;
    if (w->rc)
        return;
    if (w->depth >= S3XML_MAX_DEPTH) {
        walk_fail(w, -E2BIG, "elements nested deeper than %d", S3XML_MAX_DEPTH);
        return;
    }
    snprintf(w->names[w->depth], sizeof(w->names[0]), "%s", local ? local + 1 : name);
    w->depth++;
    buf_reset(&w->text);
    if (w->on_start)
        w->on_start(w);
}

static void XMLCALL walk_end_cb(void *ud, const XML_Char *name)
{
    struct walker *w = ud;

    (void)name;
    if (w->rc || w->depth == 0)
        return;
    if (w->on_end)
        w->on_end(w);
    w->depth--;
    buf_reset(&w->text);
}

static void XMLCALL walk_text_cb(void *ud, const XML_Char *s, int len)
{
    struct walker *w = ud;

    if (!w->rc && len > 0)
        buf_append(&w->text, s, (size_t)len);
}

static void XMLCALL walk_doctype_cb(void *ud, const XML_Char *name, const XML_Char *sysid,
                                    const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    walk_fail(ud, -EPROTO, "a DOCTYPE declaration is not allowed in an S3 reply");
}

static void XMLCALL walk_entity_cb(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    walk_fail(ud, -EPROTO, "an entity declaration is not allowed in an S3 reply");
}

/* Runs the parser over the whole input. Returns w->rc (0 when the handlers were content). */
static int walk(struct walker *w, const char *data, size_t len)
{
    if (len > S3XML_MAX_INPUT_BYTES) {
        walk_fail(w, -E2BIG, "the document has %zu bytes, more than the %u accepted", len,
                  S3XML_MAX_INPUT_BYTES);
        return w->rc;
    }
    buf_init(&w->text, S3XML_MAX_TEXT_BYTES);
    w->parser = XML_ParserCreate(NULL);
    if (!w->parser)
        abort();
    XML_SetUserData(w->parser, w);
    XML_SetElementHandler(w->parser, walk_start_cb, walk_end_cb);
    XML_SetCharacterDataHandler(w->parser, walk_text_cb);
    XML_SetStartDoctypeDeclHandler(w->parser, walk_doctype_cb);
    XML_SetEntityDeclHandler(w->parser, walk_entity_cb);
    XML_SetParamEntityParsing(w->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    if (XML_Parse(w->parser, data ? data : "", (int)len, XML_TRUE) == XML_STATUS_ERROR && !w->rc) {
        enum XML_Error e = XML_GetErrorCode(w->parser);
        unsigned long line = XML_GetCurrentLineNumber(w->parser);
        unsigned long col = XML_GetCurrentColumnNumber(w->parser);
        XML_Parser p = w->parser;

        w->parser = NULL; /* nothing left to stop */
        walk_fail(w, -EPROTO, "not well-formed XML (line %lu, column %lu: %s)", line, col,
                  XML_ErrorString(e));
        w->parser = p;
    }
    XML_ParserFree(w->parser);
    w->parser = NULL;
    if (w->text.data)
        explicit_bzero(w->text.data, w->text.cap);
    buf_cleanup(&w->text);
    return w->rc;
}

/* Copies text into a fixed field: control characters become spaces, a cut never splits a UTF-8
 * sequence. */
static void copy_field(char *dst, size_t dstlen, const char *src)
{
    char *scrubbed = NULL;
    size_t n = strlen(src);

    /* A server may echo a secret (the secret key, a token): scrub before the cut, so that no
     * prefix of one survives it. */
    if (n >= SECRET_MIN_SCRUB_LEN) {
        scrubbed = xstrdup(src);
        if (secret_scrub(scrubbed)) {
            src = scrubbed;
            n = strlen(src);
        }
    }
    if (n >= dstlen) {
        n = dstlen - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];

        dst[i] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
    }
    dst[n] = '\0';
    free(scrubbed);
}

/* ---- ListBucketResult --------------------------------------------------------------------- */

struct list_ctx {
    struct s3xml_list_page *page;
    size_t cap_objects, cap_prefixes;
    struct s3_object cur;
    bool has_size, has_mtime;
};

static void list_start(struct walker *w)
{
    struct list_ctx *lc = w->ctx;

    if (w->depth == 1 && strcmp(walk_name(w), "ListBucketResult") != 0) {
        walk_fail(w, -ENOMSG, "the root element is <%s>, not <ListBucketResult>", walk_name(w));
        return;
    }
    if (walk_at(w, 2, "ListBucketResult", "Contents")) {
        free(lc->cur.key);
        memset(&lc->cur, 0, sizeof(lc->cur));
        lc->has_size = lc->has_mtime = false;
    }
}

static bool list_room(struct walker *w, struct list_ctx *lc)
{
    if (lc->page->n_objects + lc->page->n_prefixes >= S3XML_MAX_PAGE_ENTRIES) {
        walk_fail(w, -E2BIG, "more than %u entries in one page", S3XML_MAX_PAGE_ENTRIES);
        return false;
    }
    return true;
}

static void list_contents_field(struct walker *w, struct list_ctx *lc, const char *text)
{
    const char *name = walk_name(w);

    if (strcmp(name, "Key") == 0) {
        if (strlen(text) > 3 * S3XML_MAX_KEY_BYTES) {
            walk_fail(w, -E2BIG, "a key is longer than %u bytes", S3XML_MAX_KEY_BYTES);
            return;
        }
        free(lc->cur.key);
        lc->cur.key = xstrdup(text);
    } else if (strcmp(name, "Size") == 0) {
        if (util_parse_i64(text, &lc->cur.size) < 0 || lc->cur.size < 0) {
            walk_fail(w, -EPROTO, "<Size> '%.40s' is not a byte count", text);
            return;
        }
        lc->has_size = true;
    } else if (strcmp(name, "LastModified") == 0) {
        int32_t us;

        if (util_parse_rfc3339(text, &lc->cur.mtime_s, &us) < 0) {
            walk_fail(w, -EPROTO, "<LastModified> '%.40s' is not an ISO 8601 time", text);
            return;
        }
        lc->cur.mtime_ms = us / 1000;
        lc->has_mtime = true;
    } else if (strcmp(name, "ETag") == 0) {
        /* S3 quotes it ("&quot;" in the XML); a store that does not is read the same way. */
        char tag[128];
        size_t n = strlen(text);

        if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
            text++;
            n -= 2;
        }
        snprintf(tag, sizeof(tag), "%.*s", (int)(n < sizeof(tag) - 1 ? n : sizeof(tag) - 1), text);
        lc->cur.etag = *tag ? util_hash64(tag) : 0;
        if (*tag && lc->cur.etag == 0)
            lc->cur.etag = 1;
    }
}

static void list_contents_done(struct walker *w, struct list_ctx *lc)
{
    struct s3xml_list_page *pg = lc->page;

    if (!lc->cur.key || !lc->cur.key[0] || !lc->has_size || !lc->has_mtime) {
        walk_fail(w, -EPROTO, "<Contents> number %zu lacks %s", pg->n_objects + 1,
                  !lc->cur.key || !lc->cur.key[0] ? "a <Key>"
                  : !lc->has_size                 ? "<Size>"
                                                  : "<LastModified>");
        return;
    }
    if (!list_room(w, lc))
        return;
    if (pg->n_objects == lc->cap_objects) {
        lc->cap_objects = lc->cap_objects ? lc->cap_objects * 2 : 64;
        pg->objects = xrealloc(pg->objects, lc->cap_objects * sizeof(*pg->objects));
    }
    pg->objects[pg->n_objects++] = lc->cur;
    memset(&lc->cur, 0, sizeof(lc->cur));
}

static void list_end(struct walker *w)
{
    struct list_ctx *lc = w->ctx;
    struct s3xml_list_page *pg = lc->page;
    const char *text;

    if (w->depth == 3 && walk_at(w, 3, "ListBucketResult", "Contents", walk_name(w))) {
        if ((text = walk_text(w)) != NULL)
            list_contents_field(w, lc, text);
    } else if (walk_at(w, 2, "ListBucketResult", "Contents")) {
        list_contents_done(w, lc);
    } else if (walk_at(w, 3, "ListBucketResult", "CommonPrefixes", "Prefix")) {
        if ((text = walk_text(w)) == NULL || !list_room(w, lc))
            return;
        if (strlen(text) > 3 * S3XML_MAX_KEY_BYTES) {
            walk_fail(w, -E2BIG, "a common prefix is longer than %u bytes", S3XML_MAX_KEY_BYTES);
            return;
        }
        if (pg->n_prefixes == lc->cap_prefixes) {
            lc->cap_prefixes = lc->cap_prefixes ? lc->cap_prefixes * 2 : 16;
            pg->prefixes = xrealloc(pg->prefixes, lc->cap_prefixes * sizeof(*pg->prefixes));
        }
        pg->prefixes[pg->n_prefixes++] = xstrdup(text);
    } else if (w->depth == 2) {
        const char *name = walk_name(w);

        if ((text = walk_text(w)) == NULL)
            return;
        if (strcmp(name, "IsTruncated") == 0) {
            if (util_parse_bool(text, &pg->is_truncated) < 0)
                walk_fail(w, -EPROTO, "<IsTruncated> '%.20s' is not true or false", text);
        } else if (strcmp(name, "NextContinuationToken") == 0) {
            free(pg->next_token);
            pg->next_token = text[0] ? xstrdup(text) : NULL;
        } else if (strcmp(name, "KeyCount") == 0) {
            int64_t v;

            if (util_parse_i64(text, &v) < 0 || v < 0 || v > 0x7fffffff)
                walk_fail(w, -EPROTO, "<KeyCount> '%.20s' is not a count", text);
            else
                pg->key_count = (long)v;
        } else if (strcmp(name, "EncodingType") == 0) {
            pg->url_encoded = strcmp(text, "url") == 0;
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In place: %XX and '+' (S3's encoding-type=url is form encoding). Refuses a bad escape and a NUL
 * byte. */
static int url_decode_inplace(char *s)
{
    char *out = s;

    for (const char *p = s; *p; p++) {
        if (*p == '+') {
            *out++ = ' ';
        } else if (*p == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -EPROTO;
            *out++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
    return 0;
}

static int list_decode(struct s3xml_list_page *pg, char *err, size_t errlen)
{
    for (size_t i = 0; i < pg->n_objects + pg->n_prefixes; i++) {
        char *s = i < pg->n_objects ? pg->objects[i].key : pg->prefixes[i - pg->n_objects];

        if (pg->url_encoded && url_decode_inplace(s) < 0) {
            snprintf(err, errlen, "the url-encoded key '%.80s' has a bad escape", s);
            return -EPROTO;
        }
        if (strlen(s) > S3XML_MAX_KEY_BYTES) {
            snprintf(err, errlen, "a key is longer than %u bytes", S3XML_MAX_KEY_BYTES);
            return -E2BIG;
        }
    }
    return 0;
}

int s3xml_parse_list(const char *data, size_t len, struct s3xml_list_page *out, char *err,
                     size_t errlen)
{
    struct list_ctx lc = {.page = out};
    struct walker w = {.err = err, .errlen = errlen, .on_start = list_start, .on_end = list_end};
    int rc;

    memset(out, 0, sizeof(*out));
    out->key_count = -1;
    w.ctx = &lc;
    rc = walk(&w, data, len);
    free(lc.cur.key);
    if (rc == 0 && w.names[0][0] == '\0') {
        snprintf(err, errlen, "the document has no root element");
        rc = -EPROTO;
    }
    if (rc == 0)
        rc = list_decode(out, err, errlen);
    if (rc < 0)
        s3xml_list_page_cleanup(out);
    return rc;
}

void s3xml_list_page_cleanup(struct s3xml_list_page *page)
{
    if (!page)
        return;
    for (size_t i = 0; i < page->n_objects; i++)
        free(page->objects[i].key);
    for (size_t i = 0; i < page->n_prefixes; i++)
        free(page->prefixes[i]);
    free(page->objects);
    free(page->prefixes);
    free(page->next_token);
    memset(page, 0, sizeof(*page));
    page->key_count = -1;
}

/* ---- error documents ----------------------------------------------------------------------- */

static void error_start(struct walker *w)
{
    const char *name = walk_name(w);

    if (w->depth == 1 && strcmp(name, "Error") != 0 && strcmp(name, "ErrorResponse") != 0)
        walk_fail(w, -ENOMSG, "the root element is <%s>, not <Error>", name);
}

static void error_end(struct walker *w)
{
    struct s3xml_error *e = w->ctx;
    const char *name = walk_name(w);
    const char *text;
    /* S3: <Error><Code/>...; STS: <ErrorResponse><Error><Code/>...</Error><RequestId/>. */
    bool field = walk_at(w, 2, "Error", name) || walk_at(w, 3, "ErrorResponse", "Error", name) ||
                 walk_at(w, 2, "ErrorResponse", name);

    if (!field || (text = walk_text(w)) == NULL)
        return;
    if (strcmp(name, "Code") == 0)
        copy_field(e->code, sizeof(e->code), text);
    else if (strcmp(name, "Message") == 0)
        copy_field(e->message, sizeof(e->message), text);
    else if (strcmp(name, "RequestId") == 0)
        copy_field(e->request_id, sizeof(e->request_id), text);
    else if (strcmp(name, "Region") == 0)
        copy_field(e->region, sizeof(e->region), text);
    else if (strcmp(name, "Endpoint") == 0)
        copy_field(e->endpoint, sizeof(e->endpoint), text);
    else if (strcmp(name, "BucketName") == 0 || strcmp(name, "Bucket") == 0)
        copy_field(e->bucket, sizeof(e->bucket), text);
}

int s3xml_parse_error(const char *data, size_t len, struct s3xml_error *out)
{
    char err[160];
    struct walker w = {
        .err = err, .errlen = sizeof(err), .on_start = error_start, .on_end = error_end};
    int rc;

    memset(out, 0, sizeof(*out));
    w.ctx = out;
    rc = walk(&w, data, len);
    if (rc == -E2BIG)
        rc = -EPROTO;
    if (rc == 0 && out->code[0] == '\0')
        rc = -ENOMSG;
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- AssumeRoleWithWebIdentityResponse ----------------------------------------------------- */

struct sts_ctx {
    struct s3xml_sts_creds *creds;
    char expiration[64];
};

static void sts_start(struct walker *w)
{
    if (w->depth == 1 && strcmp(walk_name(w), "AssumeRoleWithWebIdentityResponse") != 0)
        walk_fail(w, -ENOMSG, "the root element is <%s>, not <AssumeRoleWithWebIdentityResponse>",
                  walk_name(w));
}

static void set_secret(char **dst, const char *text)
{
    if (*dst) {
        explicit_bzero(*dst, strlen(*dst));
        free(*dst);
    }
    *dst = xstrdup(text);
}

static void sts_end(struct walker *w)
{
    struct sts_ctx *sc = w->ctx;
    struct s3xml_sts_creds *c = sc->creds;
    const char *name = walk_name(w);
    const char *text;

    if (walk_at(w, 4, "AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
                "Credentials", name)) {
        if ((text = walk_text(w)) == NULL)
            return;
        if (strcmp(name, "AccessKeyId") == 0)
            set_secret(&c->access_key_id, text);
        else if (strcmp(name, "SecretAccessKey") == 0)
            set_secret(&c->secret_access_key, text);
        else if (strcmp(name, "SessionToken") == 0)
            set_secret(&c->session_token, text);
        else if (strcmp(name, "Expiration") == 0)
            snprintf(sc->expiration, sizeof(sc->expiration), "%s", text);
    } else if (walk_at(w, 4, "AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
                       "AssumedRoleUser", "Arn")) {
        if ((text = walk_text(w)) != NULL)
            set_secret(&c->role_arn, text);
    }
}

int s3xml_parse_sts(const char *data, size_t len, struct s3xml_sts_creds *out, char *err,
                    size_t errlen)
{
    struct sts_ctx sc = {.creds = out};
    struct walker w = {.err = err, .errlen = errlen, .on_start = sts_start, .on_end = sts_end};
    int rc;
    const char *missing = NULL;

    memset(out, 0, sizeof(*out));
    w.ctx = &sc;
    rc = walk(&w, data, len);
    if (rc == 0) {
        if (!out->access_key_id || !out->access_key_id[0])
            missing = "AccessKeyId";
        else if (!out->secret_access_key || !out->secret_access_key[0])
            missing = "SecretAccessKey";
        else if (!out->session_token || !out->session_token[0])
            missing = "SessionToken";
        else if (!sc.expiration[0])
            missing = "Expiration";
        if (missing) {
            snprintf(err, errlen, "the STS answer has no Credentials/%s", missing);
            rc = -EPROTO;
        } else if (util_parse_rfc3339(sc.expiration, &out->expiration_s, NULL) < 0) {
            snprintf(err, errlen, "the STS Expiration '%.40s' is not an ISO 8601 time",
                     sc.expiration);
            rc = -EPROTO;
        }
    }
    if (rc < 0)
        s3xml_sts_creds_cleanup(out);
    return rc;
}

void s3xml_sts_creds_cleanup(struct s3xml_sts_creds *creds)
{
    if (!creds)
        return;
    set_secret(&creds->secret_access_key, "");
    set_secret(&creds->session_token, "");
    free(creds->secret_access_key);
    free(creds->session_token);
    free(creds->access_key_id);
    free(creds->role_arn);
    memset(creds, 0, sizeof(creds[0]));
}

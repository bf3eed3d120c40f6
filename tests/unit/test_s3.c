/* test_s3.c - the S3 client without an S3 server: SigV4 URI and canonical query encoding, the XML
 * documents of S3 and STS (shapes of the AWS API reference), the web identity token file, client
 * configuration, addressing, the error sentences (and that no secret reaches them), and the
 * request life cycle on a real loop (deferred callbacks, cancel, free with requests outstanding;
 * only 127.0.0.1 is contacted). Every loop test ends with uv_loop_close() == 0. */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include "buf.h"
#include "curlm.h"
#include "s3.h"
#include "s3xml.h"
#include "sts.h"
#include "util.h"

#define SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SESSION "FwoGZXIvYXdzEXAMPLEsessionTOKEN+/=="

/* ---- encoding ------------------------------------------------------------------------------- */

static void test_uri_encode(void **state)
{
    static const struct {
        const char *in;
        bool keep_slash;
        const char *out;
    } cases[] = {
        {"", false, ""},
        {"AZaz09-_.~", false, "AZaz09-_.~"},
        {"a b", false, "a%20b"},
        {"a/b/c", true, "a/b/c"},
        {"a/b/c", false, "a%2Fb%2Fc"},
        {"+=&?#%", false, "%2B%3D%26%3F%23%25"},
        {"*'()!$,;:@", true, "%2A%27%28%29%21%24%2C%3B%3A%40"},
        {"\xc3\xa9t\xc3\xa9", true, "%C3%A9t%C3%A9"},
        {"\x01\x7f\xff", false, "%01%7F%FF"},
        {"basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json", true,
         "basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json"},
        {"1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", false,
         "1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *got = aws_uri_encode(cases[i].in, cases[i].keep_slash);

        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

static void test_canonical_query(void **state)
{
    struct aws_query_param list[] = {
        {"prefix", "spilo/x y/wal/15/basebackups_005/"},
        {"list-type", "2"},
        {"max-keys", "1000"},
        {"encoding-type", "url"},
        {"delimiter", "/"},
        {"continuation-token", "1ueG/abc+="},
    };
    struct aws_query_param dup[] = {{"b", "2"}, {"a", NULL}, {"b", "1"}, {"A", "x"}, {"a-b", ""}};
    char *q;

    (void)state;
    q = aws_canonical_query(list, ARRAY_LEN(list));
    assert_string_equal(q, "continuation-token=1ueG%2Fabc%2B%3D&delimiter=%2F&encoding-type=url&"
                           "list-type=2&max-keys=1000&prefix=spilo%2Fx%20y%2Fwal%2F15%2F"
                           "basebackups_005%2F");
    free(q);
    /* byte order: upper case first; a repeated name is ordered by value; NULL is empty */
    q = aws_canonical_query(dup, ARRAY_LEN(dup));
    assert_string_equal(q, "A=x&a=&a-b=&b=1&b=2");
    free(q);
    q = aws_canonical_query(NULL, 0);
    assert_string_equal(q, "");
    free(q);
}

/* ---- ListBucketResult -------------------------------------------------------------------------
 */

static const char page1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <Name>acme-harbor-pg-backups</Name>\n"
    "  <Prefix>spilo/c/wal/15/basebackups_005/</Prefix>\n"
    "  <KeyCount>3</KeyCount>\n"
    "  <MaxKeys>2</MaxKeys>\n"
    "  <Delimiter>/</Delimiter>\n"
    "  <IsTruncated>true</IsTruncated>\n"
    "  "
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
    "  <Contents>\n"
    "    <Key>spilo/c/wal/15/basebackups_005/base_000000010000000000000003_backup_stop_sentinel."
    "json</Key>\n"
    "    <LastModified>2025-03-08T14:03:45.087Z</LastModified>\n"
    "    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>\n"
    "    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>\n"
    "    <Size>446</Size>\n"
    "    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
    "<DisplayName>webfile</DisplayName></Owner>\n"
    "    <StorageClass>STANDARD</StorageClass>\n"
    "  </Contents>\n"
    "  <Contents>\n"
    "    <Key>spilo/c/wal/15/basebackups_005/base_000000010000000000000016_backup_stop_sentinel."
    "json</Key>\n"
    "    <LastModified>2025-03-09T01:00:30.999Z</LastModified>\n"
    "    <ETag>\"a\"</ETag><Size>449</Size><StorageClass>STANDARD_IA</StorageClass>\n"
    "  </Contents>\n"
    "  <CommonPrefixes><Prefix>spilo/c/wal/15/basebackups_005/base_000000010000000000000003/"
    "</Prefix></CommonPrefixes>\n"
    "  <CommonPrefixes><Prefix>spilo/c/wal/15/basebackups_005/base_000000010000000000000016/"
    "</Prefix></CommonPrefixes>\n"
    "  <Unknown><Nested><Deeper>ignored</Deeper></Nested></Unknown>\n"
    "</ListBucketResult>\n";

static void test_list_page(void **state)
{
    struct s3xml_list_page pg;
    char err[200];

    (void)state;
    assert_int_equal(s3xml_parse_list(page1, strlen(page1), &pg, err, sizeof(err)), 0);
    assert_int_equal(pg.n_objects, 2);
    assert_string_equal(pg.objects[0].key,
                        "spilo/c/wal/15/basebackups_005/"
                        "base_000000010000000000000003_backup_stop_sentinel.json");
    assert_int_equal(pg.objects[0].size, 446);
    assert_int_equal(pg.objects[0].mtime_s, 1741442625); /* 2025-03-08T14:03:45Z */
    assert_int_equal(pg.objects[0].mtime_ms, 87);
    assert_int_equal(pg.objects[1].size, 449);
    assert_int_equal(pg.objects[1].mtime_ms, 999);
    /* the ETag without its quotes, whether the XML escapes them or not */
    assert_true(pg.objects[0].etag == util_hash64("599bab3ed2c697f1d26842727561fd94"));
    assert_true(pg.objects[1].etag == util_hash64("a"));
    assert_int_equal(pg.n_prefixes, 2);
    assert_string_equal(pg.prefixes[1],
                        "spilo/c/wal/15/basebackups_005/base_000000010000000000000016/");
    assert_true(pg.is_truncated);
    assert_string_equal(pg.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    assert_int_equal(pg.key_count, 3);
    assert_false(pg.url_encoded);
    s3xml_list_page_cleanup(&pg);
}

static void test_list_last_and_empty(void **state)
{
    static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                               "<Contents><Key>k</Key><LastModified>2025-01-01T00:00:00Z"
                               "</LastModified><Size>0</Size></Contents></ListBucketResult>";
    static const char empty[] = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3."
                                "amazonaws.com/doc/2006-03-01/\"><Name>b</Name><KeyCount>0"
                                "</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>";
    struct s3xml_list_page pg;
    char err[200];

    (void)state;
    assert_int_equal(s3xml_parse_list(last, strlen(last), &pg, err, sizeof(err)), 0);
    assert_int_equal(pg.n_objects, 1);
    assert_int_equal(pg.objects[0].mtime_ms, 0);
    assert_true(pg.objects[0].etag == 0); /* no <ETag> */
    assert_false(pg.is_truncated);
    assert_null(pg.next_token);
    assert_int_equal(pg.key_count, -1);
    s3xml_list_page_cleanup(&pg);
    assert_int_equal(s3xml_parse_list(empty, strlen(empty), &pg, err, sizeof(err)), 0);
    assert_int_equal(pg.n_objects + pg.n_prefixes, 0);
    assert_int_equal(pg.key_count, 0);
    s3xml_list_page_cleanup(&pg);
}

static void test_list_namespace_prefix_and_url_encoding(void **state)
{
    static const char doc[] =
        "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<s3:Contents><s3:Key>odd%20keys/a+b%2Bc%3D%C3%A9</s3:Key>"
        "<s3:LastModified>2025-03-08T14:03:45.5Z</s3:LastModified><s3:Size>7</s3:Size>"
        "</s3:Contents><s3:CommonPrefixes><s3:Prefix>dir%2Fx/</s3:Prefix></s3:CommonPrefixes>"
        "<s3:EncodingType>url</s3:EncodingType><s3:IsTruncated>false</s3:IsTruncated>"
        "</s3:ListBucketResult>";
    static const char bad_escape[] =
        "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%zz</Key>"
        "<LastModified>2025-03-08T14:03:45Z</LastModified><Size>1</Size></Contents>"
        "</ListBucketResult>";
    static const char nul_escape[] =
        "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00b</Key>"
        "<LastModified>2025-03-08T14:03:45Z</LastModified><Size>1</Size></Contents>"
        "</ListBucketResult>";
    struct s3xml_list_page pg;
    char err[200];

    (void)state;
    assert_int_equal(s3xml_parse_list(doc, strlen(doc), &pg, err, sizeof(err)), 0);
    assert_true(pg.url_encoded);
    assert_string_equal(pg.objects[0].key, "odd keys/a b+c=\xc3\xa9");
    assert_int_equal(pg.objects[0].mtime_ms, 500);
    assert_string_equal(pg.prefixes[0], "dir/x/");
    s3xml_list_page_cleanup(&pg);
    assert_int_equal(s3xml_parse_list(bad_escape, strlen(bad_escape), &pg, err, sizeof(err)),
                     -EPROTO);
    assert_non_null(strstr(err, "bad escape"));
    assert_int_equal(s3xml_parse_list(nul_escape, strlen(nul_escape), &pg, err, sizeof(err)),
                     -EPROTO);
}

static void test_list_rejects(void **state)
{
    static const struct {
        const char *doc;
        int rc;
        const char *why;
    } cases[] = {
        {"", -EPROTO, "not well-formed"},
        {"<ListBucketResult><Contents><Key>a</Key>", -EPROTO, "not well-formed"},
        {"<html><body>Welcome to nginx!</body></html>", -ENOMSG, "<html>"},
        {"<Error><Code>AccessDenied</Code></Error>", -ENOMSG, "<Error>"},
        {"<ListBucketResult><Contents><Key>a</Key><LastModified>2025-01-01T00:00:00Z"
         "</LastModified></Contents></ListBucketResult>",
         -EPROTO, "<Size>"},
        {"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
         -EPROTO, "not a byte count"},
        {"<ListBucketResult><Contents><Key>a</Key><Size>1</Size><LastModified>yesterday"
         "</LastModified></Contents></ListBucketResult>",
         -EPROTO, "ISO 8601"},
        {"<ListBucketResult><Contents><Size>1</Size><LastModified>2025-01-01T00:00:00Z"
         "</LastModified></Contents></ListBucketResult>",
         -EPROTO, "<Key>"},
        {"<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>", -EPROTO,
         "IsTruncated"},
        {"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
         "\"&lol;&lol;&lol;&lol;\">]><ListBucketResult><Name>&lol2;</Name></ListBucketResult>",
         -EPROTO, "DOCTYPE"},
        {"<ListBucketResult><a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q>x</q></p></o></n>"
         "</m></l></k></j></i></h></g></f></e></d></c></b></a></ListBucketResult>",
         -E2BIG, "nested"},
    };
    struct s3xml_list_page pg;
    char err[200];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        err[0] = '\0';
        assert_int_equal(
            s3xml_parse_list(cases[i].doc, strlen(cases[i].doc), &pg, err, sizeof(err)),
            cases[i].rc);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].why);
        assert_int_equal(pg.n_objects, 0);
        assert_null(pg.objects);
    }
}

static void test_list_caps(void **state)
{
    struct buf b;
    struct s3xml_list_page pg;
    char err[200];

    (void)state;
    /* a Key of 70,000 bytes: over the per-element text ceiling */
    buf_init(&b, 1 << 20);
    buf_puts(&b, "<ListBucketResult><Contents><Key>");
    for (int i = 0; i < 70000; i++)
        buf_puts(&b, "k");
    buf_puts(&b, "</Key><Size>1</Size><LastModified>2025-01-01T00:00:00Z</LastModified>"
                 "</Contents></ListBucketResult>");
    assert_int_equal(s3xml_parse_list(b.data, b.len, &pg, err, sizeof(err)), -E2BIG);
    buf_reset(&b);
    /* a 5,000-byte key is below the text ceiling but over the key ceiling */
    buf_puts(&b, "<ListBucketResult><Contents><Key>");
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, "k");
    buf_puts(&b, "</Key><Size>1</Size><LastModified>2025-01-01T00:00:00Z</LastModified>"
                 "</Contents></ListBucketResult>");
    assert_int_equal(s3xml_parse_list(b.data, b.len, &pg, err, sizeof(err)), -E2BIG);
    /* an input over the document ceiling is refused before parsing */
    assert_int_equal(
        s3xml_parse_list(b.data, (size_t)S3XML_MAX_INPUT_BYTES + 1, &pg, err, sizeof(err)), -E2BIG);
    buf_cleanup(&b);
}

/* ---- error documents ---------------------------------------------------------------------------
 */

static void test_error_documents(void **state)
{
    static const char denied[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                                 "AccessDenied</Code><Message>Access Denied</Message><RequestId>"
                                 "4442587FB7D0A2F9</RequestId><HostId>aGVsbG8=</HostId></Error>";
    static const char redirect[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code>"
        "<Message>The bucket you are attempting to access must be addressed using the specified "
        "endpoint. Please send all future requests to this endpoint.</Message>"
        "<Endpoint>acme.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>acme</Bucket>"
        "<RequestId>R1</RequestId></Error>";
    static const char authregion[] =
        "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is "
        "malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'</Message>"
        "<Region>eu-central-1</Region><RequestId>R2</RequestId></Error>";
    static const char sts[] =
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender"
        "</Type><Code>InvalidIdentityToken</Code><Message>No OpenIDConnect provider found in "
        "your account for https://oidc.eks.example</Message></Error><RequestId>"
        "c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>";
    static const char ctl[] =
        "<Error><Code>X</Code><Message>line1&#10;line2\tend</Message></Error>";
    struct s3xml_error e;

    (void)state;
    assert_int_equal(s3xml_parse_error(denied, strlen(denied), &e), 0);
    assert_string_equal(e.code, "AccessDenied");
    assert_string_equal(e.message, "Access Denied");
    assert_string_equal(e.request_id, "4442587FB7D0A2F9");
    assert_int_equal(s3xml_parse_error(redirect, strlen(redirect), &e), 0);
    assert_string_equal(e.endpoint, "acme.s3.eu-west-1.amazonaws.com");
    assert_string_equal(e.bucket, "acme");
    assert_int_equal(s3xml_parse_error(authregion, strlen(authregion), &e), 0);
    assert_string_equal(e.region, "eu-central-1");
    assert_int_equal(s3xml_parse_error(sts, strlen(sts), &e), 0);
    assert_string_equal(e.code, "InvalidIdentityToken");
    assert_string_equal(e.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
    assert_non_null(strstr(e.message, "OpenIDConnect"));
    assert_int_equal(s3xml_parse_error(ctl, strlen(ctl), &e), 0);
    assert_string_equal(e.message, "line1 line2 end");
    assert_int_equal(s3xml_parse_error(page1, strlen(page1), &e), -ENOMSG);
    assert_int_equal(s3xml_parse_error("<Error></Error>", 15, &e), -ENOMSG);
    assert_int_equal(s3xml_parse_error("<Error><Code>", 13, &e), -EPROTO);
    assert_string_equal(e.code, "");
}

static void test_error_truncates_utf8(void **state)
{
    struct buf b;
    struct s3xml_error e;

    (void)state;
    buf_init(&b, 1 << 16);
    buf_puts(&b, "<Error><Code>C</Code><Message>");
    for (int i = 0; i < 400; i++)
        buf_puts(&b, "\xc3\xa9"); /* é */
    buf_puts(&b, "</Message></Error>");
    assert_int_equal(s3xml_parse_error(b.data, b.len, &e), 0);
    assert_true(strlen(e.message) < sizeof(e.message));
    assert_int_equal(strlen(e.message) % 2, 0); /* never half a character */
    buf_cleanup(&b);
}

/* ---- STS
 * ------------------------------------------------------------------------------------------ */

static const char sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    "
    "<SubjectFromWebIdentityToken>system:serviceaccount:harbor:pg</SubjectFromWebIdentityToken>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/spilo/spilo-agent</Arn>\n"
    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:spilo-agent</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>" SESSION "</SessionToken>\n"
    "      <SecretAccessKey>" SECRET "</SecretAccessKey>\n"
    "      <Expiration>2026-11-24T11:00:00Z</Expiration>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <SourceIdentity>x</SourceIdentity>\n"
    "    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.example</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>"
    "</ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_sts_response(void **state)
{
    struct s3xml_sts_creds c;
    char err[200];
    const char *missing = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                          "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
                          "</SecretAccessKey><Expiration>2026-11-24T11:00:00Z</Expiration>"
                          "</Credentials></AssumeRoleWithWebIdentityResult>"
                          "</AssumeRoleWithWebIdentityResponse>";
    const char *bad_exp = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                          "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
                          "</SecretAccessKey><SessionToken>T</SessionToken><Expiration>soon"
                          "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                          "</AssumeRoleWithWebIdentityResponse>";
    const char *sts_err = "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>";

    (void)state;
    assert_int_equal(s3xml_parse_sts(sts_ok, strlen(sts_ok), &c, err, sizeof(err)), 0);
    assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(c.secret_access_key, SECRET);
    assert_string_equal(c.session_token, SESSION);
    assert_int_equal(c.expiration_s, 1795518000); /* 2026-11-24T11:00:00Z */
    assert_string_equal(c.role_arn, "arn:aws:sts::123456789012:assumed-role/spilo/spilo-agent");
    s3xml_sts_creds_cleanup(&c);
    assert_null(c.secret_access_key);

    assert_int_equal(s3xml_parse_sts(missing, strlen(missing), &c, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "SessionToken"));
    assert_null(c.access_key_id);
    assert_int_equal(s3xml_parse_sts(bad_exp, strlen(bad_exp), &c, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "Expiration"));
    assert_int_equal(s3xml_parse_sts(sts_err, strlen(sts_err), &c, err, sizeof(err)), -ENOMSG);
    assert_null(strstr(err, SECRET));
}

static void test_sts_form_and_token_file(void **state)
{
    char path[] = "/tmp/test-s3-token-XXXXXX";
    int fd = mkstemp(path);
    char *form, *tok = NULL, err[300];
    struct buf big;

    (void)state;
    form = sts_form("arn:aws:iam::123456789012:role/spilo backup", "spilo-agent", "eyJ.a+b/c=");
    assert_string_equal(form, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn="
                              "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fspilo%20backup"
                              "&RoleSessionName=spilo-agent&WebIdentityToken=eyJ.a%2Bb%2Fc%3D");
    free(form);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "eyJhbGciOiJSUzI1NiJ9.e30.sig\n\n", 30), 30);
    close(fd);
    assert_int_equal(sts_read_token(path, &tok, err, sizeof(err)), 0);
    assert_string_equal(tok, "eyJhbGciOiJSUzI1NiJ9.e30.sig");
    free(tok);

    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    assert_int_equal(sts_read_token(path, &tok, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "empty"));
    assert_null(tok);

    buf_init(&big, STS_MAX_TOKEN_BYTES + 10);
    for (size_t i = 0; i < STS_MAX_TOKEN_BYTES + 1; i++)
        buf_append(&big, "x", 1);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, big.data, big.len), (ssize_t)big.len);
    close(fd);
    buf_cleanup(&big);
    assert_int_equal(sts_read_token(path, &tok, err, sizeof(err)), -E2BIG);
    unlink(path);
    assert_int_equal(sts_read_token(path, &tok, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, path));
}

/* ---- clients ------------------------------------------------------------------------------------
 */

struct env {
    uv_loop_t loop;
    struct curlm *cm;
};

static void env_init(struct env *e)
{
    assert_int_equal(uv_loop_init(&e->loop), 0);
    e->cm = curlm_new(&e->loop);
}

static void env_finish(struct env *e)
{
    curlm_close(e->cm);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
}

static struct s3_config static_cfg(void)
{
    struct s3_config cfg = {
        .region = "eu-central-1",
        .bucket = "acme-harbor-pg-backups",
        .credentials = {.access_key = "AKIAIOSFODNN7EXAMPLE",
                        .secret_key = SECRET,
                        .session_token = SESSION},
    };
    return cfg;
}

static void test_client_config_errors(void **state)
{
    static const struct {
        const char *endpoint, *region, *bucket, *ak, *sk, *role, *tokf, *ca;
        const char *want;
    } cases[] = {
        {NULL, NULL, "", "AK", SECRET, NULL, NULL, NULL, "not a bucket name"},
        {NULL, NULL, "s3://b/x", "AK", SECRET, NULL, NULL, NULL, "WALG_S3_PREFIX"},
        {NULL, "eu_central:1", "b", "AK", SECRET, NULL, NULL, NULL, "AWS_REGION"},
        {"https+path://s3.eu-central-1.amazonaws.com:443", NULL, "b", "AK", SECRET, NULL, NULL,
         NULL, "AWS_S3_FORCE_PATH_STYLE=true"},
        {"ftp://h", NULL, "b", "AK", SECRET, NULL, NULL, NULL, "use http:// or https://"},
        {"https://user:" SECRET "@h", NULL, "b", "AK", SECRET, NULL, NULL, NULL, "user name"},
        {NULL, NULL, "b", NULL, NULL, NULL, NULL, NULL, "no S3 credentials"},
        {NULL, NULL, "b", "AK", NULL, NULL, NULL, NULL, "AWS_SECRET_ACCESS_KEY is not"},
        {NULL, NULL, "b", NULL, SECRET, NULL, NULL, NULL, "AWS_ACCESS_KEY_ID is not"},
        {NULL, NULL, "b", "AK", SECRET "\n", NULL, NULL, NULL, "control characters"},
        {NULL, NULL, "b", NULL, NULL, "arn:aws:iam::1:role/r", NULL, NULL,
         "AWS_WEB_IDENTITY_TOKEN_FILE is not"},
        {NULL, NULL, "b", "AK", SECRET, NULL, NULL, "/nonexistent/ca.pem",
         "WALG_S3_CA_CERT_FILE /nonexistent/ca.pem is not readable"},
    };
    struct env e;

    (void)state;
    env_init(&e);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct s3_config cfg = {
            .endpoint = cases[i].endpoint,
            .region = cases[i].region,
            .bucket = cases[i].bucket,
            .ca_file = cases[i].ca,
            .credentials = {.access_key = cases[i].ak,
                            .secret_key = cases[i].sk,
                            .role_arn = cases[i].role,
                            .web_identity_token_file = cases[i].tokf},
        };
        struct s3_client *c = (struct s3_client *)&e; /* must be reset to NULL */
        char err[512] = "";

        if (s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)) != -EINVAL)
            fail_msg("case %zu: accepted", i);
        assert_null(c);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
        if (strstr(err, SECRET))
            fail_msg("case %zu: the secret is in '%s'", i, err);
    }
    env_finish(&e);
}

static void test_client_addressing(void **state)
{
    static const struct {
        const char *endpoint, *region, *bucket;
        bool path_style;
        const char *want;
    } cases[] = {
        {NULL, "eu-central-1", "acme", false,
         "https://s3.eu-central-1.amazonaws.com (bucket acme, virtual-host style, region "
         "eu-central-1)"},
        {NULL, NULL, "acme", false,
         "https://s3.us-east-1.amazonaws.com (bucket acme, "
         "virtual-host style, region us-east-1)"},
        {NULL, "cn-north-1", "acme", false, "https://s3.cn-north-1.amazonaws.com.cn (bucket"},
        {NULL, "eu-west-1", "my.dotted.bucket", false, "(bucket my.dotted.bucket, path style"},
        {NULL, "eu-west-1", "Upper_Case", false, "path style"},
        {"https://minio.example:9000/", NULL, "acme", true,
         "https://minio.example:9000 (bucket acme, path style, region us-east-1)"},
        {"minio.example:9000", "eu-west-1", "acme", false,
         "https://minio.example:9000 (bucket acme, virtual-host style, region eu-west-1)"},
        {"http://127.0.0.1:9000", NULL, "acme", false, "http://127.0.0.1:9000 (bucket acme, path"},
        {"HTTP://ceph.local/base/", NULL, "acme", true, "http://ceph.local/base (bucket acme"},
    };
    struct env e;

    (void)state;
    env_init(&e);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct s3_config cfg = static_cfg();
        struct s3_client *c;
        char err[512];

        cfg.endpoint = cases[i].endpoint;
        cfg.region = cases[i].region;
        cfg.bucket = cases[i].bucket;
        cfg.path_style = cases[i].path_style;
        assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
        if (!strstr(s3_client_describe(c), cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, s3_client_describe(c), cases[i].want);
        s3_client_free(c);
    }
    env_finish(&e);
}

/* ---- error sentences ----------------------------------------------------------------------------
 */

static void test_error_summaries(void **state)
{
    static const struct {
        const char *op;
        long status;
        int curl;
        const char *code, *region;
        enum aws_error_kind kind;
        const char *want;
    } cases[] = {
        {"list", 403, 0, "AccessDenied", "", AWS_ERR_ACCESS_DENIED,
         "lack s3:ListBucket on arn:aws:s3:::acme-harbor-pg-backups (allow the s3:prefix "
         "'spilo/x/*'"},
        {"get", 403, 0, "AccessDenied", "", AWS_ERR_ACCESS_DENIED,
         "lack s3:GetObject on arn:aws:s3:::acme-harbor-pg-backups/spilo/x/"},
        {"list", 403, 0, "", "", AWS_ERR_ACCESS_DENIED, "(HTTP 403, request id REQ1)"},
        {"list", 404, 0, "NoSuchBucket", "", AWS_ERR_NO_SUCH_BUCKET, "check WALG_S3_PREFIX"},
        {"get", 404, 0, "", "", AWS_ERR_NO_SUCH_KEY, "does not exist"},
        {"list", 403, 0, "SignatureDoesNotMatch", "", AWS_ERR_SIGNATURE,
         "AWS_SECRET_ACCESS_KEY does not belong to the access key ending in MPLE"},
        {"list", 403, 0, "RequestTimeTooSkewed", "", AWS_ERR_SIGNATURE, "fix NTP"},
        {"list", 403, 0, "InvalidAccessKeyId", "", AWS_ERR_INVALID_ACCESS_KEY,
         "check AWS_ACCESS_KEY_ID"},
        {"list", 301, 0, "PermanentRedirect", "ap-southeast-2", AWS_ERR_WRONG_REGION,
         "is in region ap-southeast-2, not eu-central-1 (PermanentRedirect, request id REQ1): "
         "set AWS_REGION=ap-southeast-2."},
        {"list", 301, 0, "", "", AWS_ERR_WRONG_REGION, "must be reached through another endpoint"},
        {"list", 400, 0, "AuthorizationHeaderMalformed", "us-west-2", AWS_ERR_WRONG_REGION,
         "set AWS_REGION=us-west-2"},
        {"list", 400, 0, "ExpiredToken", "", AWS_ERR_EXPIRED_TOKEN, "S3 refused AWS_SESSION_TOKEN"},
        {"list", 0, CURLE_OPERATION_TIMEDOUT, "", "", AWS_ERR_TIMEOUT,
         "S3 endpoint acme.s3.example did not answer within 10s"},
        {"list", 0, CURLE_COULDNT_CONNECT, "", "", AWS_ERR_UNREACHABLE,
         "Cannot reach S3 endpoint acme.s3.example"},
        {"list", 0, CURLE_COULDNT_RESOLVE_HOST, "", "", AWS_ERR_UNREACHABLE, "DNS"},
        {"list", 0, CURLE_PEER_FAILED_VERIFICATION, "", "", AWS_ERR_TLS, "WALG_S3_CA_CERT_FILE"},
        {"list", 503, 0, "SlowDown", "", AWS_ERR_UNAVAILABLE, "is unavailable (SlowDown"},
        {"list", 500, 0, "", "", AWS_ERR_UNAVAILABLE, "is unavailable (HTTP 500"},
        {"list", 418, 0, "Teapot", "", AWS_ERR_HTTP, "failed (Teapot"},
    };
    struct env e;
    struct s3_config cfg = static_cfg();
    struct s3_client *c;
    char err[512];

    (void)state;
    env_init(&e);
    assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct aws_error x;

        memset(&x, 0, sizeof(x));
        x.http_status = cases[i].status;
        x.curl_code = cases[i].curl;
        snprintf(x.code, sizeof(x.code), "%s", cases[i].code);
        snprintf(x.region_hint, sizeof(x.region_hint), "%s", cases[i].region);
        snprintf(x.request_id, sizeof(x.request_id), "REQ1");
        snprintf(x.host, sizeof(x.host), "acme.s3.example");
        /* a server that echoes the secrets: they must be scrubbed everywhere */
        snprintf(x.message, sizeof(x.message), "echo %s and %s", SECRET, SESSION);
        s3_error_explain(c, &x, cases[i].op, "spilo/x/");
        if (x.kind != cases[i].kind)
            fail_msg("case %zu: kind %s, want %s", i, aws_error_kind_name(x.kind),
                     aws_error_kind_name(cases[i].kind));
        if (!strstr(x.summary, cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, x.summary, cases[i].want);
        if (strstr(x.summary, SECRET) || strstr(x.summary, SESSION) || strstr(x.message, SECRET) ||
            strstr(x.message, SESSION))
            fail_msg("case %zu: a secret is in '%s' / '%s'", i, x.summary, x.message);
        assert_string_equal(x.message, "echo *** and ***");
    }
    s3_client_free(c);
    env_finish(&e);
}

static void test_error_summaries_web_identity(void **state)
{
    struct env e;
    struct s3_config cfg = {
        .region = "eu-central-1",
        .bucket = "acme",
        .credentials = {.role_arn = "arn:aws:iam::123456789012:role/spilo",
                        .web_identity_token_file = "/var/run/secrets/eks/token"},
    };
    struct s3_client *c;
    struct aws_error x;
    char err[512];

    (void)state;
    env_init(&e);
    assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
    assert_non_null(strstr(s3_client_describe(c), "virtual-host"));

    memset(&x, 0, sizeof(x));
    x.http_status = 403;
    snprintf(x.code, sizeof(x.code), "AccessDenied");
    s3_error_explain(c, &x, "sts", NULL);
    assert_int_equal(x.kind, AWS_ERR_CREDENTIALS);
    assert_non_null(strstr(x.summary, "role arn:aws:iam::123456789012:role/spilo"));
    assert_non_null(strstr(x.summary, "trust policy"));

    memset(&x, 0, sizeof(x));
    x.http_status = 400;
    snprintf(x.code, sizeof(x.code), "InvalidIdentityToken");
    s3_error_explain(c, &x, "sts", NULL);
    assert_non_null(strstr(x.summary, "OIDC provider"));

    memset(&x, 0, sizeof(x));
    snprintf(x.message, sizeof(x.message), "cannot open /var/run/secrets/eks/token: No such file");
    s3_error_explain(c, &x, "sts", NULL);
    assert_non_null(strstr(x.summary, "Cannot use AWS_WEB_IDENTITY_TOKEN_FILE: cannot open"));

    memset(&x, 0, sizeof(x));
    x.http_status = 400;
    snprintf(x.code, sizeof(x.code), "ExpiredToken");
    s3_error_explain(c, &x, "list", "p/");
    assert_int_equal(x.kind, AWS_ERR_EXPIRED_TOKEN);
    assert_non_null(strstr(x.summary, "renewed on the next run"));
    s3_client_free(c);
    env_finish(&e);
}

/* ---- request life cycle on a loop -------------------------------------------------------------
 */

struct outcome {
    int calls;
    enum aws_error_kind kind;
    char summary[512];
};

static void list_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct outcome *o = arg;

    o->calls++;
    o->kind = err ? err->kind : AWS_ERR_NONE;
    snprintf(o->summary, sizeof(o->summary), "%s", err ? err->summary : "");
    (void)l;
}

static void get_cb(const struct aws_error *err, const struct buf *body, void *arg)
{
    struct outcome *o = arg;

    o->calls++;
    o->kind = err ? err->kind : AWS_ERR_NONE;
    (void)body;
}

/* Web identity with a missing token file: the error arrives from the loop, never from s3_list(). */
static void test_deferred_credentials_error(void **state)
{
    struct env e;
    struct s3_config cfg = {
        .bucket = "acme",
        .credentials = {.role_arn = "arn:aws:iam::1:role/r",
                        .web_identity_token_file = "/nonexistent/token"},
    };
    struct s3_client *c;
    struct s3_list_opts lo = {.prefix = "p/"};
    struct outcome o1 = {0}, o2 = {0};
    struct s3_stats st;
    char err[512];

    (void)state;
    env_init(&e);
    assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
    assert_int_equal(s3_list(c, &lo, list_cb, &o1, NULL), 0);
    assert_int_equal(s3_get(c, "p/k", 0, get_cb, &o2, NULL), 0);
    assert_int_equal(o1.calls + o2.calls, 0);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_int_equal(o1.calls, 1);
    assert_int_equal(o2.calls, 1);
    assert_int_equal(o1.kind, AWS_ERR_CREDENTIALS);
    assert_non_null(strstr(o1.summary, "/nonexistent/token"));
    s3_client_stats(c, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(st.errors, 2);
    s3_client_free(c);
    env_finish(&e);
}

static void free_client_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct s3_client **c = arg;

    (void)err;
    (void)l;
    s3_client_free(*c); /* from inside a callback: the other requests are cancelled */
    *c = NULL;
}

static void test_cancel_and_free(void **state)
{
    struct env e;
    struct s3_config cfg = static_cfg();
    struct s3_client *c;
    struct s3_request *r1, *r2;
    struct s3_list_opts lo = {.prefix = "p/"};
    struct outcome o1 = {0}, o2 = {0}, o3 = {0};
    char err[512];
    int port;
    char ep[64];
    uv_tcp_t probe;
    struct sockaddr_in sa;
    int len = sizeof(sa);

    (void)state;
    env_init(&e);
    /* a port with nothing listening: connection refused at once */
    uv_tcp_init(&e.loop, &probe);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&probe, (const struct sockaddr *)&sa, 0), 0);
    uv_tcp_getsockname(&probe, (struct sockaddr *)&sa, &len);
    port = ntohs(sa.sin_port);
    uv_close((uv_handle_t *)&probe, NULL);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    cfg.endpoint = ep;

    /* cancel: no callback */
    assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
    assert_int_equal(s3_list(c, &lo, list_cb, &o1, &r1), 0);
    assert_int_equal(s3_get(c, "p/k", 10, get_cb, &o2, &r2), 0);
    s3_cancel(r1);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_int_equal(o1.calls, 0);
    assert_int_equal(o2.calls, 1);
    assert_int_equal(o2.kind, AWS_ERR_UNREACHABLE);

    /* free with requests outstanding: no callback */
    assert_int_equal(s3_list(c, &lo, list_cb, &o3, NULL), 0);
    s3_client_free(c);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_int_equal(o3.calls, 0);

    /* free from inside a callback while another request is outstanding */
    memset(&o1, 0, sizeof(o1));
    assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
    assert_int_equal(s3_list(c, &lo, free_client_cb, &c, NULL), 0);
    assert_int_equal(s3_list(c, &lo, list_cb, &o1, NULL), 0);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_null(c);
    assert_true(o1.calls <= 1); /* it may have finished first; never after the free */

    /* bad arguments: -EINVAL, no callback */
    assert_int_equal(s3_client_new(&e.loop, e.cm, &cfg, &c, err, sizeof(err)), 0);
    assert_int_equal(s3_get(c, "", 0, get_cb, &o2, NULL), -EINVAL);
    assert_int_equal(s3_get(c, "a\nb", 0, get_cb, &o2, NULL), -EINVAL);
    lo.page_size = 1001;
    assert_int_equal(s3_list(c, &lo, list_cb, &o2, NULL), -EINVAL);
    s3_client_free(c);
    env_finish(&e);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(aws_error_kind_name(AWS_ERR_ACCESS_DENIED), "access_denied");
    assert_string_equal(aws_error_kind_name(AWS_ERR_WRONG_REGION), "wrong_region");
    assert_string_equal(aws_error_kind_name(AWS_ERR_HTTP), "http");
    assert_string_equal(aws_error_kind_name((enum aws_error_kind)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_list_last_and_empty),
        cmocka_unit_test(test_list_namespace_prefix_and_url_encoding),
        cmocka_unit_test(test_list_rejects),
        cmocka_unit_test(test_list_caps),
        cmocka_unit_test(test_error_documents),
        cmocka_unit_test(test_error_truncates_utf8),
        cmocka_unit_test(test_sts_response),
        cmocka_unit_test(test_sts_form_and_token_file),
        cmocka_unit_test(test_client_config_errors),
        cmocka_unit_test(test_client_addressing),
        cmocka_unit_test(test_error_summaries),
        cmocka_unit_test(test_error_summaries_web_identity),
        cmocka_unit_test(test_deferred_credentials_error),
        cmocka_unit_test(test_cancel_and_free),
        cmocka_unit_test(test_kind_names),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("s3", tests, NULL, NULL);
}

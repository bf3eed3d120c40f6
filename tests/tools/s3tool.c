/* s3tool.c - drives the S3 client (agent/s3.c) on a real libuv loop and curl multi handle, for the
 * integration tests and by hand:
 *
 *   s3tool [options] list PREFIX [DELIMITER]   one line per object "key<TAB>size<TAB>mtime",
 *                                              "prefix<TAB>P" per common prefix, then counters
 *   s3tool [options] get KEY                   the object on stdout (or --out FILE)
 *
 * Counters: "requests<TAB>N" (S3 requests), "sts_requests<TAB>N" when STS was used, on stdout
 * after a listing and on stderr after a get. An error prints "s3tool: SUMMARY" and
 * "error<TAB>kind<TAB>http<TAB>code<TAB>region_hint" on stderr and exits 1; a bad command line
 * exits 64, a bad configuration 78. The loop must close cleanly (uv_loop_close() == 0, else exit
 * 3). Options fall back to the environment variables WAL-G reads (AWS_ENDPOINT, AWS_REGION,
 * AWS_S3_FORCE_PATH_STYLE, WALG_S3_CA_CERT_FILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) plus S3_BUCKET and
 * AWS_ENDPOINT_URL_STS. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "buf.h"
#include "curlm.h"
#include "log.h"
#include "s3.h"
#include "util.h"

struct tool {
    uv_loop_t loop;
    struct curlm *cm;
    struct s3_client *client;
    uv_timer_t cancel_timer;
    bool cancel_timer_used;
    uv_timer_t finish_timer; /* closes everything outside any curl callback */
    struct s3_request *req;
    const char *cmd;
    const char *arg1, *arg2;
    const char *out_path;
    const char *start_after;
    unsigned page_size, max_pages;
    size_t max_objects, max_bytes;
    int repeat;
    long cancel_after_ms;
    int exit_code;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: s3tool [--endpoint URL] [--region R] --bucket B [--path-style] [--ca-file F]\n"
            "              [--access-key K --secret-key S [--session-token T]]\n"
            "              [--role-arn ARN --token-file F [--sts-endpoint URL]]\n"
            "              [--timeout-ms N] [--connect-timeout-ms N] [--page-size N]\n"
            "              [--max-pages N] [--max-objects N] [--max-bytes N] [--start-after K]\n"
            "              [--repeat N] [--cancel-after-ms N] [--out FILE]\n"
            "              list PREFIX [DELIMITER] | get KEY\n");
}

static const char *opt_env(const char *opt, const char *env)
{
    const char *v = opt ? opt : getenv(env);

    return v && v[0] ? v : NULL;
}

static void print_error(const struct aws_error *err)
{
    fprintf(stderr, "s3tool: %s\n", err->summary);
    fprintf(stderr, "error\t%s\t%ld\t%s\t%s\n", aws_error_kind_name(err->kind), err->http_status,
            err->code[0] ? err->code : "-", err->region_hint[0] ? err->region_hint : "-");
    if (err->message[0])
        fprintf(stderr, "message\t%s\n", err->message);
}

static void counters(struct tool *t, FILE *f)
{
    struct s3_stats st;

    s3_client_stats(t->client, &st);
    fprintf(f, "requests\t%" PRIu64 "\n", st.requests);
    if (st.sts_requests)
        fprintf(f, "sts_requests\t%" PRIu64 "\n", st.sts_requests);
}

static void finish_cb(uv_timer_t *timer)
{
    struct tool *t = timer->data;

    if (t->cancel_timer_used) {
        uv_close((uv_handle_t *)&t->cancel_timer, NULL);
        t->cancel_timer_used = false;
    }
    uv_close((uv_handle_t *)&t->finish_timer, NULL);
    s3_client_free(t->client);
    t->client = NULL;
    curlm_close(t->cm);
    t->cm = NULL;
}

/* curlm_close() must not run inside a transfer's callback: finish from the next loop turn. */
static void tool_finish(struct tool *t)
{
    if (t->cancel_timer_used)
        uv_timer_stop(&t->cancel_timer);
    uv_timer_start(&t->finish_timer, finish_cb, 0, 0);
}

static int tool_start(struct tool *t);

/* One round done: start the next one, or finish. */
static void tool_next(struct tool *t)
{
    if (--t->repeat > 0 && t->exit_code == 0) {
        if (tool_start(t) == 0)
            return;
        t->exit_code = 1;
    }
    tool_finish(t);
}

static void list_cb(const struct aws_error *err, struct s3_listing *l, void *arg)
{
    struct tool *t = arg;

    t->req = NULL;
    if (err) {
        print_error(err);
        t->exit_code = 1;
        tool_finish(t);
        return;
    }
    if (t->repeat == 1) {
        for (size_t i = 0; i < l->n_objects; i++) {
            char when[32];

            util_format_rfc3339(l->objects[i].mtime_s, when, sizeof(when));
            when[strlen(when) - 1] = '\0'; /* drop the Z */
            printf("%s\t%" PRId64 "\t%s.%03dZ\n", l->objects[i].key, l->objects[i].size, when,
                   (int)l->objects[i].mtime_ms);
        }
        for (size_t i = 0; i < l->n_prefixes; i++)
            printf("prefix\t%s\n", l->prefixes[i]);
        printf("pages\t%u\n", l->pages);
        if (l->truncated)
            printf("truncated\t1\n");
        counters(t, stdout);
    }
    tool_next(t);
}

static void get_cb(const struct aws_error *err, const struct buf *body, void *arg)
{
    struct tool *t = arg;

    t->req = NULL;
    if (err) {
        print_error(err);
        t->exit_code = 1;
        tool_finish(t);
        return;
    }
    if (t->repeat == 1) {
        FILE *f = t->out_path ? fopen(t->out_path, "wb") : stdout;

        if (!f || fwrite(body->data, 1, body->len, f) != body->len) {
            fprintf(stderr, "s3tool: cannot write %s: %s\n", t->out_path ? t->out_path : "stdout",
                    strerror(errno));
            t->exit_code = 1;
        }
        if (f && f != stdout)
            fclose(f);
        fprintf(stderr, "bytes\t%zu\n", body->len);
        counters(t, stderr);
    }
    tool_next(t);
}

static void cancel_cb(uv_timer_t *timer)
{
    struct tool *t = timer->data;

    if (t->req) {
        s3_cancel(t->req);
        t->req = NULL;
        printf("cancelled\n");
        counters(t, stdout);
    }
    tool_finish(t);
}

static int tool_start(struct tool *t)
{
    int rc;

    if (strcmp(t->cmd, "list") == 0) {
        struct s3_list_opts o = {
            .prefix = t->arg1,
            .delimiter = t->arg2,
            .start_after = t->start_after,
            .page_size = t->page_size,
            .max_pages = t->max_pages,
            .max_objects = t->max_objects,
        };

        rc = s3_list(t->client, &o, list_cb, t, &t->req);
    } else {
        rc = s3_get(t->client, t->arg1, t->max_bytes, get_cb, t, &t->req);
    }
    if (rc < 0)
        fprintf(stderr, "s3tool: cannot start the request: %s\n", strerror(-rc));
    return rc;
}

static long num(const char *s, const char *what)
{
    int64_t v;

    if (util_parse_i64(s, &v) < 0 || v < 0) {
        fprintf(stderr, "s3tool: %s must be a non-negative number, not '%s'\n", what, s);
        exit(64);
    }
    return (long)v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"region", required_argument, NULL, 'r'},
        {"bucket", required_argument, NULL, 'b'},
        {"path-style", no_argument, NULL, 'P'},
        {"ca-file", required_argument, NULL, 'C'},
        {"access-key", required_argument, NULL, 'a'},
        {"secret-key", required_argument, NULL, 's'},
        {"session-token", required_argument, NULL, 't'},
        {"role-arn", required_argument, NULL, 'R'},
        {"token-file", required_argument, NULL, 'T'},
        {"sts-endpoint", required_argument, NULL, 'S'},
        {"timeout-ms", required_argument, NULL, 1},
        {"connect-timeout-ms", required_argument, NULL, 2},
        {"page-size", required_argument, NULL, 3},
        {"max-pages", required_argument, NULL, 4},
        {"max-objects", required_argument, NULL, 5},
        {"max-bytes", required_argument, NULL, 6},
        {"repeat", required_argument, NULL, 7},
        {"cancel-after-ms", required_argument, NULL, 8},
        {"out", required_argument, NULL, 9},
        {"start-after", required_argument, NULL, 10},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL, *region = NULL, *bucket = NULL, *ca = NULL, *ak = NULL, *sk = NULL,
               *st = NULL, *role = NULL, *tokf = NULL, *sts = NULL;
    bool path_style = false;
    struct s3_config cfg;
    struct tool t;
    char err[512];
    int c, rc;
    bool ps_env = false;

    memset(&cfg, 0, sizeof(cfg));
    memset(&t, 0, sizeof(t));
    t.repeat = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            endpoint = optarg;
            break;
        case 'r':
            region = optarg;
            break;
        case 'b':
            bucket = optarg;
            break;
        case 'P':
            path_style = true;
            break;
        case 'C':
            ca = optarg;
            break;
        case 'a':
            ak = optarg;
            break;
        case 's':
            sk = optarg;
            break;
        case 't':
            st = optarg;
            break;
        case 'R':
            role = optarg;
            break;
        case 'T':
            tokf = optarg;
            break;
        case 'S':
            sts = optarg;
            break;
        case 1:
            cfg.timeout_ms = num(optarg, "--timeout-ms");
            break;
        case 2:
            cfg.connect_timeout_ms = num(optarg, "--connect-timeout-ms");
            break;
        case 3:
            t.page_size = (unsigned)num(optarg, "--page-size");
            break;
        case 4:
            t.max_pages = (unsigned)num(optarg, "--max-pages");
            break;
        case 5:
            t.max_objects = (size_t)num(optarg, "--max-objects");
            break;
        case 6:
            t.max_bytes = (size_t)num(optarg, "--max-bytes");
            break;
        case 7:
            t.repeat = (int)num(optarg, "--repeat");
            break;
        case 8:
            t.cancel_after_ms = num(optarg, "--cancel-after-ms");
            break;
        case 9:
            t.out_path = optarg;
            break;
        case 10:
            t.start_after = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 64;
        }
    }
    if (optind >= argc || t.repeat < 1 ||
        !((strcmp(argv[optind], "list") == 0 && argc - optind >= 2 && argc - optind <= 3) ||
          (strcmp(argv[optind], "get") == 0 && argc - optind == 2))) {
        usage(stderr);
        return 64;
    }
    t.cmd = argv[optind];
    t.arg1 = argv[optind + 1];
    t.arg2 = argc - optind == 3 ? argv[optind + 2] : NULL;
    if (getenv("AWS_S3_FORCE_PATH_STYLE") &&
        util_parse_bool(getenv("AWS_S3_FORCE_PATH_STYLE"), &ps_env) == 0 && ps_env)
        path_style = true;

    cfg.endpoint = opt_env(endpoint, "AWS_ENDPOINT");
    cfg.region = opt_env(region, "AWS_REGION");
    cfg.bucket = opt_env(bucket, "S3_BUCKET");
    cfg.path_style = path_style;
    cfg.ca_file = opt_env(ca, "WALG_S3_CA_CERT_FILE");
    cfg.credentials.access_key = opt_env(ak, "AWS_ACCESS_KEY_ID");
    cfg.credentials.secret_key = opt_env(sk, "AWS_SECRET_ACCESS_KEY");
    cfg.credentials.session_token = opt_env(st, "AWS_SESSION_TOKEN");
    cfg.credentials.role_arn = opt_env(role, "AWS_ROLE_ARN");
    cfg.credentials.web_identity_token_file = opt_env(tokf, "AWS_WEB_IDENTITY_TOKEN_FILE");
    cfg.credentials.sts_endpoint = opt_env(sts, "AWS_ENDPOINT_URL_STS");

    log_setup(getenv("S3TOOL_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (uv_loop_init(&t.loop) < 0)
        return 70;
    t.cm = curlm_new(&t.loop);
    uv_timer_init(&t.loop, &t.finish_timer);
    t.finish_timer.data = &t;
    rc = s3_client_new(&t.loop, t.cm, &cfg, &t.client, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "s3tool: %s\n", err);
        uv_close((uv_handle_t *)&t.finish_timer, NULL);
        curlm_close(t.cm);
        uv_run(&t.loop, UV_RUN_DEFAULT);
        uv_loop_close(&t.loop);
        curl_global_cleanup();
        return 78;
    }
    if (tool_start(&t) < 0) {
        t.exit_code = 64;
        tool_finish(&t);
    } else if (t.cancel_after_ms > 0) {
        uv_timer_init(&t.loop, &t.cancel_timer);
        t.cancel_timer.data = &t;
        t.cancel_timer_used = true;
        uv_timer_start(&t.cancel_timer, cancel_cb, (uint64_t)t.cancel_after_ms, 0);
    }
    uv_run(&t.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&t.loop);
    curl_global_cleanup();
    fflush(stdout);
    if (rc != 0) {
        fprintf(stderr, "s3tool: the loop did not close: %s\n", uv_strerror(rc));
        return 3;
    }
    return t.exit_code;
}

/* walg_env.c - reads (or derives, like configure_spilo.py's write_wale_environment) the WAL-G
 * settings of this cluster and of its clone sources, and says what would not work for WAL-G. */
#include "walg_env.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define SPILO_PGROOT "/home/postgres/pgdata/pgroot"

/* ---- prefix ------------------------------------------------------------------------------ */

int walg_parse_prefix(const char *url, char **bucket, char **root, char *err, size_t errlen)
{
    const char *host, *path;
    size_t hl, pl;

    *bucket = NULL;
    *root = NULL;
    if (strncmp(url, "s3://", 5) != 0) {
        snprintf(err, errlen, "is not an S3 URL (expected s3://bucket/path)");
        return -EINVAL;
    }
    host = url + 5;
    path = strchr(host, '/');
    hl = path ? (size_t)(path - host) : strlen(host);
    if (hl == 0) {
        snprintf(err, errlen, "has no bucket (s3:///...)");
        return -EINVAL;
    }
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)host[i];

        if (!(islower(c) || isdigit(c) || c == '-' || c == '.' || c == '_' || isupper(c))) {
            snprintf(err, errlen,
                     "has a bucket name with the character '%c' (%#x), which S3 "
                     "bucket names cannot contain",
                     isprint(c) ? c : '?', c);
            return -EINVAL;
        }
    }
    if (!path)
        path = "";
    while (*path == '/')
        path++;
    pl = strlen(path);
    while (pl > 0 && path[pl - 1] == '/')
        pl--;
    *bucket = xstrndup(host, hl);
    *root = xstrndup(path, pl);
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]) && s[i] != '.')
            return false;
    }
    return true;
}

enum walg_layout walg_layout_of(const char *root)
{
    const char *w;
    size_t n = strlen(root);

    if (n == 0)
        return WALG_LAYOUT_BUCKET_ROOT;
    if (strncmp(root, "spilo/", 6) != 0 && !strstr(root, "/spilo/"))
        return WALG_LAYOUT_CUSTOM;
    if (n >= 4 && strcmp(root + n - 4, "/wal") == 0)
        return WALG_LAYOUT_SPILO_OLD;
    w = strrchr(root, '/');
    if (w && w - root >= 4 && strncmp(w - 4, "/wal/", 5) == 0 && all_digits(w + 1, strlen(w + 1)))
        return WALG_LAYOUT_SPILO;
    return WALG_LAYOUT_CUSTOM;
}

const char *walg_layout_name(enum walg_layout l)
{
    switch (l) {
    case WALG_LAYOUT_SPILO:
        return "spilo";
    case WALG_LAYOUT_SPILO_OLD:
        return "spilo-old";
    case WALG_LAYOUT_BUCKET_ROOT:
        return "bucket-root";
    case WALG_LAYOUT_CUSTOM:
        break;
    }
    return "custom";
}

const char *walg_credentials_name(enum walg_credentials c)
{
    switch (c) {
    case WALG_CREDS_STATIC:
        return "static keys";
    case WALG_CREDS_SESSION:
        return "session keys";
    case WALG_CREDS_WEB_IDENTITY:
        return "web identity";
    case WALG_CREDS_INSTANCE_PROFILE:
        return "instance profile";
    case WALG_CREDS_NONE:
        break;
    }
    return "none";
}

/* ---- derivation like configure_spilo.py ------------------------------------------------- */

struct derive_ctx {
    char *const *envp;
    const char *pfx;
};

/* CLONE_<name> (or <name>) when set and not empty, as Spilo's placeholders treat empty. */
static const char *dget(const struct derive_ctx *d, const char *name)
{
    char key[128];
    const char *v;

    snprintf(key, sizeof(key), "%s%s", d->pfx, name);
    v = util_env_get(d->envp, key);
    return v && *v ? v : NULL;
}

/* set and possibly empty */
static const char *dget_raw(const struct derive_ctx *d, const char *name)
{
    char key[128];

    snprintf(key, sizeof(key), "%s%s", d->pfx, name);
    return util_env_get(d->envp, key);
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Spilo's region guess: re.search(r'.*(\w{2}-\w+-\d)-.*', name) (configure_spilo.py:714 1.6-p5,
 * :829 2.1-p7, :897 4.0-p3). The greedy leading .* makes it the LAST start position where
 * \w{2}-\w+-\d- matches; \w+ cannot cross '-', so it is a whole word followed by -<digit>-. */
static bool region_at(const char *s, size_t i, size_t *end)
{
    size_t j;

    if (!is_word(s[i]) || !is_word(s[i + 1]) || s[i + 2] != '-')
        return false;
    j = i + 3;
    while (is_word(s[j]))
        j++;
    if (j == i + 3 || s[j] != '-' || !isdigit((unsigned char)s[j + 1]) || s[j + 2] != '-')
        return false;
    *end = j + 2;
    return true;
}

static char *guess_region(const char *s)
{
    size_t n = s ? strlen(s) : 0, end;

    for (size_t i = n; i-- > 0;) {
        if (region_at(s, i, &end))
            return xstrndup(s + i, end - i);
    }
    return NULL;
}

/* The variables write_wale_environment copies verbatim when they are set. */
static const char *const copied[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_INSTANCE_PROFILE",
    "WALE_DISABLE_S3_SSE",
    "WALG_S3_SSE_KMS_ID",
    "WALG_S3_SSE",
    "WALG_DISABLE_S3_SSE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_ENDPOINT_URL_STS",
    "WALG_DELTA_MAX_STEPS",
    "WALG_DELTA_ORIGIN",
    "WALG_DOWNLOAD_CONCURRENCY",
    "WALG_UPLOAD_CONCURRENCY",
    "WALG_UPLOAD_DISK_CONCURRENCY",
    "WALG_DISK_RATE_LIMIT",
    "WALG_NETWORK_RATE_LIMIT",
    "WALG_COMPRESSION_METHOD",
    "WALG_BACKUP_COMPRESSION_METHOD",
    "WALG_BACKUP_FROM_REPLICA",
    "WALG_SENTINEL_USER_DATA",
    "WALG_PREVENT_WAL_OVERWRITE",
    "WALG_S3_CA_CERT_FILE",
    "WALG_LIBSODIUM_KEY",
    "WALG_LIBSODIUM_KEY_PATH",
    "WALG_LIBSODIUM_KEY_TRANSFORM",
    "WALG_PGP_KEY",
    "WALG_PGP_KEY_PATH",
    "WALG_PGP_KEY_PASSPHRASE",
    "no_proxy",
    "http_proxy",
    "https_proxy",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
};

/* set_walg_placeholders (configure_spilo.py:415-422 1.6-p5, :483-490 2.1-p7, :493-500 4.0-p3):
 * the flag as set in the environment, even empty, else USE_WALG, lower-cased, "true" or nothing.
 * dflt is the setdefault Spilo applies before: USE_WALG_RESTORE=true for S3 (:551 1.6-p5, :627
 * 2.1-p7, :651 4.0-p3), CLONE_USE_WALG=true for a clone from S3 (:622 4.0-p3). */
static bool walg_flag(const struct derive_ctx *d, const char *name, const char *dflt)
{
    const char *v = dget_raw(d, name);
    char low[16];
    size_t i;

    if (!v && dflt)
        v = dflt;
    if (!v)
        v = dget_raw(d, "USE_WALG");
    if (!v && *d->pfx)
        v = "true"; /* CLONE_USE_WALG defaults to true for S3 */
    if (!v)
        return false;
    for (i = 0; v[i] && i < sizeof(low) - 1; i++)
        low[i] = (char)tolower((unsigned char)v[i]);
    low[i] = '\0';
    return strcmp(low, "true") == 0;
}

/* The cluster name when SCOPE is not in the sidecar's environment: the StatefulSet pod name
 * without its ordinal ("<cluster>-0"). */
static char *scope_from_pod(char *const *envp)
{
    const char *pod = util_env_get(envp, "POD_NAME");
    const char *dash;

    if (!pod || !*pod)
        return NULL;
    dash = strrchr(pod, '-');
    if (!dash || dash == pod || !all_digits(dash + 1, strlen(dash + 1)))
        return NULL;
    return xstrndup(pod, (size_t)(dash - pod));
}

bool walg_derive(char *const *envp, const char *var_prefix, const char *pg_version,
                 struct envdir *out)
{
    struct derive_ctx d = {envp, var_prefix ? var_prefix : ""};
    bool clone = *d.pfx != '\0';
    const char *bucket = dget(&d, "WAL_S3_BUCKET");
    const char *wale = dget(&d, "WALE_S3_PREFIX");
    const char *walg = dget(&d, "WALG_S3_PREFIX");
    const char *aws_ep = dget(&d, "AWS_ENDPOINT");
    const char *wale_ep = dget(&d, "WALE_S3_ENDPOINT");
    const char *region = dget(&d, "AWS_REGION");
    char *built = NULL, *scope = NULL;
    bool use_backup, use_restore;

    envdir_init(out, clone ? "environment (CLONE_*)" : "environment");
    if (!bucket && !wale && !walg)
        return false;

    /* USE_WALG_*: S3 defaults restore to WAL-G; a clone from S3 defaults both (CLONE_USE_WALG). */
    use_backup = walg_flag(&d, "USE_WALG_BACKUP", NULL);
    use_restore = walg_flag(&d, "USE_WALG_RESTORE", clone ? NULL : "true");

    if (!wale) {
        const char *sp = dget_raw(&d, "WAL_BUCKET_SCOPE_PREFIX");
        const char *suffix = dget_raw(&d, "WAL_BUCKET_SCOPE_SUFFIX");
        const char *version = clone ? dget(&d, "PGVERSION") : pg_version;
        char *ns_prefix = NULL;

        scope = xstrdup(clone ? (dget(&d, "SCOPE") ? dget(&d, "SCOPE") : "")
                              : (util_env_get(envp, "SCOPE") ? util_env_get(envp, "SCOPE") : ""));
        if (!*scope && !clone) {
            free(scope);
            scope = scope_from_pod(envp);
        }
        if (!sp && !clone) {
            const char *ns = util_env_get(envp, "POD_NAMESPACE");

            if (ns && *ns && strcmp(ns, "default") != 0)
                sp = ns_prefix = xasprintf("%s-", ns);
        }
        /* Without the cluster name, or (for the cluster itself) its major version, the prefix
         * cannot be rebuilt; the caller reports which variable is missing. */
        if (scope && *scope && (clone || version))
            built = xasprintf("s3://%s/spilo/%s%s%s/wal/%s", bucket ? bucket : "", sp ? sp : "",
                              scope, suffix ? suffix : "", version ? version : "");
        free(ns_prefix);
        wale = built;
    }
    if (wale)
        envdir_set(out, "WALE_S3_PREFIX", wale);
    if (!walg)
        walg = wale;
    if (walg)
        envdir_set(out, "WALG_S3_PREFIX", walg);

    for (size_t i = 0; i < ARRAY_LEN(copied); i++) {
        const char *v = dget(&d, copied[i]);

        if (v)
            envdir_set(out, copied[i], v);
    }

    if (aws_ep || wale_ep) {
        const char *convention = "path";
        char *ep_aws = NULL, *ep_wale = NULL, *conv = NULL;

        if (!wale_ep) {
            const char *sep = strstr(aws_ep, "://");

            ep_wale =
                sep ? xasprintf("%.*s+path%s", (int)(sep - aws_ep), aws_ep, sep) : xstrdup(aws_ep);
        } else {
            const char *plus = strchr(wale_ep, '+');
            const char *sep = strstr(wale_ep, "://");

            ep_wale = xstrdup(wale_ep);
            if (plus && sep && plus < sep) {
                conv = xstrndup(plus + 1, (size_t)(sep - plus - 1));
                convention = conv;
                if (!aws_ep)
                    ep_aws = xasprintf("%.*s%s", (int)(plus - wale_ep), wale_ep, sep);
            } else if (!aws_ep) {
                ep_aws = xstrdup(wale_ep);
            }
        }
        envdir_set(out, "WALE_S3_ENDPOINT", ep_wale);
        envdir_set(out, "AWS_ENDPOINT", aws_ep ? aws_ep : ep_aws);
        if (!envdir_get(out, "WALE_DISABLE_S3_SSE"))
            envdir_set(out, "WALE_DISABLE_S3_SSE", "true");
        if (!envdir_get(out, "WALG_DISABLE_S3_SSE"))
            envdir_set(out, "WALG_DISABLE_S3_SSE", "true");
        envdir_set(out, "AWS_S3_FORCE_PATH_STYLE",
                   strcmp(convention, "path") == 0 ? "true" : "false");
        envdir_set(out, "AWS_REGION", region && use_backup ? region : NULL);
        free(ep_aws);
        free(ep_wale);
        free(conv);
    } else {
        char *guess = NULL;

        envdir_set(out, "AWS_S3_FORCE_PATH_STYLE", dget(&d, "AWS_S3_FORCE_PATH_STYLE"));
        if (!region) {
            /* name = WAL_S3_BUCKET or WALE_S3_PREFIX: the prefix only when there is no bucket;
             * without a match Spilo takes the availability zone minus its last letter ("loca"
             * off-cloud), which the sidecar cannot see: the region stays unknown and the
             * evaluation says so. */
            guess = guess_region(bucket ? bucket : dget(&d, "WALE_S3_PREFIX"));
        }
        envdir_set(out, "AWS_REGION", region ? region : guess);
        free(guess);
    }
    if (!(dget(&d, "AWS_SECRET_ACCESS_KEY") && dget(&d, "AWS_ACCESS_KEY_ID")))
        envdir_set(out, "AWS_INSTANCE_PROFILE", "true");
    if (envdir_get(out, "WALE_DISABLE_S3_SSE") && !envdir_get(out, "WALG_DISABLE_S3_SSE"))
        envdir_set(out, "WALG_DISABLE_S3_SSE", envdir_get(out, "WALE_DISABLE_S3_SSE"));
    envdir_set(out, "USE_WALG_BACKUP", use_backup ? "true" : NULL);
    envdir_set(out, "USE_WALG_RESTORE", use_restore ? "true" : NULL);
    if (use_backup && !envdir_get(out, "WALG_S3_SSE")) {
        const char *dis = envdir_get(out, "WALG_DISABLE_S3_SSE");

        if (!dis || strcmp(dis, "true") != 0)
            envdir_set(out, "WALG_S3_SSE", "AES256");
    }
    envdir_set(out, "WALE_LOG_DESTINATION", "stderr");
    if (clone) {
        envdir_set(out, "PGPORT", dget(&d, "PGPORT"));
    } else {
        envdir_set(out, "PGPORT", dget(&d, "PGPORT") ? dget(&d, "PGPORT") : "5432");
        envdir_set(out, "BACKUP_NUM_TO_RETAIN",
                   dget(&d, "BACKUP_NUM_TO_RETAIN") ? dget(&d, "BACKUP_NUM_TO_RETAIN") : "5");
    }
    {
        const char *pgroot = util_env_get(envp, "PGROOT");
        char *tmp, *slash;

        tmp = xstrdup(pgroot && *pgroot ? pgroot : SPILO_PGROOT);
        slash = strrchr(tmp, '/');
        if (slash && slash != tmp)
            *slash = '\0';
        {
            char *t = xasprintf("%s/tmp", tmp);

            envdir_set(out, "TMPDIR", t);
            free(t);
        }
        free(tmp);
    }
    free(built);
    free(scope);
    return true;
}

/* ---- evaluation ------------------------------------------------------------------------- */

struct findings {
    json_t *arr;
    enum verdict worst;
    char summary[512]; /* as check_result's */
};

static void findings_init(struct findings *f)
{
    f->arr = json_array();
    f->worst = VERDICT_OK;
    f->summary[0] = '\0';
}

/* sev VERDICT_OK is a note: listed, no effect on the verdict. */
PRINTF(4, 5)
static void finding(struct findings *f, enum verdict sev, const char *var, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(f->arr, json_pack("{s:s, s:s?, s:s}", "severity",
                                            sev == VERDICT_OK ? "info" : verdict_name(sev),
                                            "variable", var, "message", msg));
    if (sev != VERDICT_OK && (sev > f->worst || !f->summary[0])) {
        f->worst = sev;
        util_copy_cut(f->summary, sizeof(f->summary), msg);
    }
}

/* What one envdir is evaluated as. */
struct scope_info {
    bool clone;
    bool derived;
    const char *label; /* "" or "clone envdir env-clone-x: " */
    const char *vp;    /* "" or "CLONE_": how the user spells the variable */
};

static bool go_bool(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        if (strcmp(v, t[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(v, f[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* ^[a-z]{2}(-[a-z]+)+-[0-9]+$ : us-east-1, eu-central-1, us-gov-west-1, cn-northwest-1 */
static bool aws_region_like(const char *r)
{
    size_t i = 0, parts = 0;

    if (!islower((unsigned char)r[0]) || !islower((unsigned char)r[1]))
        return false;
    i = 2;
    for (;;) {
        size_t start;

        if (r[i] != '-')
            return false;
        start = ++i;
        if (isdigit((unsigned char)r[i])) {
            while (isdigit((unsigned char)r[i]))
                i++;
            return r[i] == '\0' && parts > 0 && i > start;
        }
        while (islower((unsigned char)r[i]))
            i++;
        if (i == start)
            return false;
        parts++;
    }
}

static char *trimmed(const char *v)
{
    size_t n;

    if (!v)
        return NULL;
    while (isspace((unsigned char)*v))
        v++;
    n = strlen(v);
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    return n ? xstrndup(v, n) : NULL;
}

static char *var(const struct scope_info *s, const char *name)
{
    return xasprintf("%s%s", s->vp, name);
}

static void fill_target(const struct envdir *e, const struct walg_env_input *in, bool apply_config,
                        struct walg_target *t)
{
    const char *v;

    v = envdir_get(e, "WALG_S3_PREFIX");
    t->prefix_var = xstrdup(v ? "WALG_S3_PREFIX" : "WALE_S3_PREFIX");
    if (!v)
        v = envdir_get(e, "WALE_S3_PREFIX");
    if (apply_config && in->prefix && *in->prefix) {
        v = in->prefix;
        free(t->prefix_var);
        t->prefix_var = xstrdup("[walg] prefix");
    }
    t->prefix = xstrdup(v ? v : "");
    v = envdir_get(e, "AWS_ENDPOINT");
    if (apply_config && in->s3_endpoint && *in->s3_endpoint)
        v = in->s3_endpoint;
    t->endpoint = xstrdup(v ? v : "");
    v = envdir_get(e, "AWS_REGION");
    if (apply_config && in->s3_region && *in->s3_region)
        v = in->s3_region;
    t->region = xstrdup(v ? v : "");
    v = envdir_get(e, "AWS_S3_FORCE_PATH_STYLE");
    t->path_style = false;
    if (v)
        (void)go_bool(v, &t->path_style);
    if (apply_config && in->s3_force_path_style >= 0)
        t->path_style = in->s3_force_path_style > 0;
    v = envdir_get(e, "WALG_S3_CA_CERT_FILE");
    t->ca_file = xstrdup(v ? v : "");

    t->access_key = trimmed(envdir_get(e, "AWS_ACCESS_KEY_ID"));
    if (!t->access_key)
        t->access_key = trimmed(envdir_get(e, "AWS_ACCESS_KEY"));
    t->secret_key = trimmed(envdir_get(e, "AWS_SECRET_ACCESS_KEY"));
    if (!t->secret_key)
        t->secret_key = trimmed(envdir_get(e, "AWS_SECRET_KEY"));
    t->session_token = trimmed(envdir_get(e, "AWS_SESSION_TOKEN"));
    t->role_arn = trimmed(envdir_get(e, "AWS_ROLE_ARN"));
    t->web_identity_token_file = trimmed(envdir_get(e, "AWS_WEB_IDENTITY_TOKEN_FILE"));
    v = envdir_get(e, "AWS_ENDPOINT_URL_STS");
    t->sts_endpoint = xstrdup(v ? v : "");
    if (t->access_key && t->secret_key)
        t->creds = t->session_token ? WALG_CREDS_SESSION : WALG_CREDS_STATIC;
    else if (!t->access_key && !t->secret_key && t->role_arn && t->web_identity_token_file)
        t->creds = WALG_CREDS_WEB_IDENTITY;
    else if (!t->access_key && !t->secret_key && (v = envdir_get(e, "AWS_INSTANCE_PROFILE")) &&
             strcmp(v, "true") == 0)
        t->creds = WALG_CREDS_INSTANCE_PROFILE;
    else
        t->creds = WALG_CREDS_NONE;
    v = envdir_get(e, "USE_WALG_BACKUP");
    t->walg_backup = v && strcmp(v, "true") == 0;
    v = envdir_get(e, "USE_WALG_RESTORE");
    t->walg_restore = v && strcmp(v, "true") == 0;
    t->retain = -1;
    v = envdir_get(e, "BACKUP_NUM_TO_RETAIN");
    if (v && util_parse_i64(v, &t->retain) < 0)
        t->retain = -1;
    t->bucket = xstrdup("");
    t->root = xstrdup("");
    t->layout = WALG_LAYOUT_CUSTOM;
}

void walg_target_free(struct walg_target *t)
{
    free(t->where);
    free(t->prefix);
    free(t->prefix_var);
    free(t->bucket);
    free(t->root);
    free(t->endpoint);
    free(t->region);
    free(t->ca_file);
    free(t->access_key);
    free(t->secret_key);
    free(t->session_token);
    free(t->role_arn);
    free(t->web_identity_token_file);
    free(t->sts_endpoint);
    memset(t, 0, sizeof(*t));
}

/* The prefix checks; fills t->bucket/root/layout. */
static void eval_prefix(const struct envdir *e, const struct scope_info *s, struct walg_target *t,
                        struct findings *f)
{
    char why[200], *b = NULL, *r = NULL, *vn = var(s, t->prefix_var);
    static const char *const other[] = {"WALG_GS_PREFIX",   "WALG_AZ_PREFIX", "WALG_SSH_PREFIX",
                                        "WALG_FILE_PREFIX", "WALE_GS_PREFIX", "WALE_SWIFT_PREFIX"};

    if (!*t->prefix) {
        for (size_t i = 0; i < ARRAY_LEN(other); i++) {
            if (envdir_get(e, other[i])) {
                finding(f, VERDICT_WARNING, other[i],
                        "%sWAL-G writes to %s (not S3); this agent verifies S3 only", s->label,
                        other[i]);
                free(vn);
                return;
            }
        }
        if (s->derived && !s->clone)
            finding(f, VERDICT_CRITICAL, "WALG_S3_PREFIX",
                    "%sno S3 prefix can be derived: the sidecar's environment lacks SCOPE (or "
                    "POD_NAME) or PGVERSION; add them, or set [walg] prefix",
                    s->label);
        else
            finding(f, VERDICT_CRITICAL, "WALG_S3_PREFIX",
                    "%sneither %sWALG_S3_PREFIX nor %sWALE_S3_PREFIX is set: WAL-G has nowhere to "
                    "write; set WAL_S3_BUCKET (the operator's wal_s3_bucket) or WALG_S3_PREFIX in "
                    "the pod environment ConfigMap",
                    s->label, s->vp, s->vp);
        free(vn);
        return;
    }
    if (walg_parse_prefix(t->prefix, &b, &r, why, sizeof(why)) < 0) {
        finding(f, VERDICT_CRITICAL, vn,
                "%s%s \"%s\" %s, so WAL-G cannot use it; set it to "
                "s3://<bucket>/spilo/<cluster>/<uid>/wal/<major>",
                s->label, vn, t->prefix, why);
        free(vn);
        return;
    }
    free(t->bucket);
    free(t->root);
    t->bucket = b;
    t->root = r;
    t->layout = walg_layout_of(r);
    switch (t->layout) {
    case WALG_LAYOUT_BUCKET_ROOT:
        finding(f, s->clone ? VERDICT_WARNING : VERDICT_CRITICAL, vn,
                "%s%s %s points at the bucket root: every cluster using bucket %s shares one "
                "basebackups_005/ and wal_005/, and one cluster's retention deletes the others' "
                "backups; use s3://%s/spilo/<cluster>/<uid>/wal/<major> (set WAL_S3_BUCKET "
                "instead of %s)",
                s->label, vn, t->prefix, b, b, vn);
        break;
    case WALG_LAYOUT_SPILO_OLD:
        if (s->clone)
            finding(f, VERDICT_OK, vn,
                    "%sthe clone prefix ends in /wal: clone_with_wale.py tries /wal/<major>/ "
                    "for each installed major, newest first, then /wal/ itself",
                    s->label);
        else
            finding(f, VERDICT_WARNING, vn,
                    "%s%s ends in /wal without the PostgreSQL major: the layout of Spilo images "
                    "before 2.0-p2 (harbor-operator up to v1.3 runs spilo-12:1.6-p3); update the "
                    "Spilo image so that backups go to .../wal/<major> (old backups stay where "
                    "they are)",
                    s->label, vn);
        break;
    case WALG_LAYOUT_CUSTOM:
        finding(f, VERDICT_OK, vn,
                "%s%s is not Spilo's layout spilo/<cluster>/<uid>/wal/<major>; make sure no "
                "other cluster writes under it",
                s->label, vn);
        break;
    case WALG_LAYOUT_SPILO:
        break;
    }
    /* WAL-E reads WALE_S3_PREFIX: broken there while WAL-G is fine is a trap for WAL-E and for
     * scripts (Spilo builds it from an empty WAL_S3_BUCKET when only WALG_S3_PREFIX is given). */
    if (strcmp(t->prefix_var, "WALG_S3_PREFIX") == 0 && envdir_get(e, "WALE_S3_PREFIX")) {
        char *wb = NULL, *wr = NULL, *wn = var(s, "WALE_S3_PREFIX");

        if (walg_parse_prefix(envdir_get(e, "WALE_S3_PREFIX"), &wb, &wr, why, sizeof(why)) < 0)
            finding(f, VERDICT_WARNING, wn,
                    "%s%s \"%s\" %s: harmless for WAL-G, which reads WALG_S3_PREFIX, but WAL-E "
                    "and scripts that read %s fail; set WAL_S3_BUCKET so that Spilo builds both",
                    s->label, wn, envdir_get(e, "WALE_S3_PREFIX"), why, wn);
        free(wb);
        free(wr);
        free(wn);
    }
    free(vn);
}

/* The endpoint's host (no scheme, no port, no path) into out. */
static void endpoint_host(const char *ep, char *out, size_t len)
{
    const char *h = strstr(ep, "://");
    size_t n;

    h = h ? h + 3 : ep;
    n = strcspn(h, ":/?");
    snprintf(out, len, "%.*s", (int)n, h);
}

/* A host no virtual-host name <bucket>.<host> can resolve under: an IP address, a single label
 * (a Service name), localhost or a cluster-internal name. */
static bool host_needs_path_style(const char *h)
{
    size_t n = strlen(h);
    bool ip = n > 0;

    for (size_t i = 0; i < n; i++)
        ip = ip && (isdigit((unsigned char)h[i]) || h[i] == '.');
    if (ip || h[0] == '[' || !strchr(h, '.') || strcmp(h, "localhost") == 0)
        return true;
    return (n > 4 && strcmp(h + n - 4, ".svc") == 0) ||
           (n > 14 && strcmp(h + n - 14, ".cluster.local") == 0);
}

/* How WAL-G addresses the bucket at this endpoint: path style comes only from
 * AWS_S3_FORCE_PATH_STYLE (wal-g pkg/storages/s3/configure.go); Spilo writes that file with every
 * endpoint since 2.1-p4 (configure_spilo.py:823 2.1-p7, :891 4.0-p3; commit c41394b, #670) but not
 * before (1.6-p5 :705-710 writes none). */
static void eval_addressing(const struct envdir *e, const struct scope_info *s,
                            const struct walg_target *t, struct findings *f)
{
    char host[256], why[200], *vn, *bucket = NULL, *root = NULL;
    /* what WAL-G gets from the envdir, not the agent's own [s3] overrides */
    const char *ep = envdir_get(e, "AWS_ENDPOINT"), *fps = envdir_get(e, "AWS_S3_FORCE_PATH_STYLE");
    bool path_style = false;
    size_t bl;

    if (!ep || !*ep)
        return;
    if (fps)
        (void)go_bool(fps, &path_style);
    vn = var(s, "AWS_ENDPOINT");
    if (walg_parse_prefix(t->prefix, &bucket, &root, why, sizeof(why)) < 0) {
        free(bucket);
        bucket = xstrdup("<bucket>");
    }
    bl = strlen(bucket);
    endpoint_host(ep, host, sizeof(host));
    if (path_style && bl && strncmp(host, bucket, bl) == 0 && host[bl] == '.') {
        const char *sep = strstr(ep, "://");
        const char *rest = sep ? sep + 3 + bl + 1 : ep + bl + 1;

        finding(f, VERDICT_CRITICAL, vn,
                "%s%s \"%s\" already holds the bucket %s in its host name, and path style is "
                "forced (AWS_S3_FORCE_PATH_STYLE=true, which Spilo writes with every endpoint "
                "since 2.1-p4): WAL-G sends the bucket twice (%s/%s/<key>); set %s=%.*s%s",
                s->label, vn, ep, bucket, ep, bucket, vn, sep ? (int)(sep - ep + 3) : 0, ep, rest);
    } else if (!fps && !strstr(host, "amazonaws.com")) {
        bool must = host_needs_path_style(host);

        finding(
            f, must ? VERDICT_CRITICAL : VERDICT_WARNING, s->clone ? vn : "AWS_S3_FORCE_PATH_STYLE",
            "%sthe envdir has no AWS_S3_FORCE_PATH_STYLE with the S3-compatible endpoint %s "
            "(Spilo before 2.1-p4 does not write it): WAL-G addresses the bucket by virtual "
            "host, %s.%s%s; set %sAWS_S3_FORCE_PATH_STYLE=true in the pod environment "
            "ConfigMap, or update the Spilo image",
            s->label, ep, bucket, host,
            must ? ", a name that cannot resolve" : ", which works only with wildcard DNS", s->vp);
    }
    free(vn);
    free(bucket);
    free(root);
}

static void eval_endpoint(const struct envdir *e, const struct scope_info *s,
                          const struct walg_target *t, struct findings *f)
{
    const char *fpv = envdir_get(e, "AWS_S3_FORCE_PATH_STYLE");
    bool dummy;

    if (*t->endpoint) {
        const char *sep = strstr(t->endpoint, "://");
        char *vn = var(s, "AWS_ENDPOINT");
        char scheme[32] = "";

        if (sep && (size_t)(sep - t->endpoint) < sizeof(scheme))
            snprintf(scheme, sizeof(scheme), "%.*s", (int)(sep - t->endpoint), t->endpoint);
        if (sep && strchr(scheme, '+')) {
            char *plus = strchr(scheme, '+');

            *plus = '\0';
            if (s->clone)
                finding(f, VERDICT_CRITICAL, vn,
                        "%s%s \"%s\" has WAL-E's scheme %s+%s, which WAL-G rejects (\"unsupported "
                        "protocol scheme\"): the clone cannot restore; set CLONE_AWS_ENDPOINT=%s%s "
                        "in the pod environment ConfigMap (spec.clone.s3_endpoint where the "
                        "postgresql manifest has a clone section; harbor-operator's has none)",
                        s->label, vn, t->endpoint, scheme, plus + 1, scheme, sep);
            else
                finding(f, VERDICT_CRITICAL, vn,
                        "%s%s \"%s\" has WAL-E's scheme %s+%s, which WAL-G rejects (\"unsupported "
                        "protocol scheme\"); set AWS_ENDPOINT=%s%s and keep the convention in "
                        "WALE_S3_ENDPOINT only",
                        s->label, vn, t->endpoint, scheme, plus + 1, scheme, sep);
        } else if (!sep || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
            finding(f, VERDICT_CRITICAL, vn,
                    "%s%s \"%s\" is not an http:// or https:// URL, which WAL-G needs; set it to "
                    "https://<host>[:port]",
                    s->label, vn, t->endpoint);
        } else if (strcmp(scheme, "http") == 0) {
            finding(f, VERDICT_OK, vn,
                    "%s%s uses plain HTTP: credentials and data are not "
                    "encrypted in transit",
                    s->label, vn);
        }
        eval_addressing(e, s, t, f);
        if (*t->region && strcmp(t->region, "loca") == 0)
            finding(f, VERDICT_WARNING, "AWS_REGION",
                    "%s%sAWS_REGION \"loca\" is Spilo's off-cloud guess; with an endpoint it is "
                    "only used for signing, set the region your S3 service expects",
                    s->label, s->vp);
        free(vn);
    } else {
        char *vn = var(s, "AWS_REGION");

        if (!*t->region) {
            finding(f, s->derived ? VERDICT_WARNING : VERDICT_CRITICAL, vn,
                    s->derived
                        ? "%s%s is not set and there is no AWS_ENDPOINT: Spilo then guesses "
                          "the region from the node's availability zone, which off-cloud "
                          "gives \"loca\"; set %s (or AWS_ENDPOINT for S3-compatible storage)"
                        : "%s%s is not set and there is no AWS_ENDPOINT: WAL-G cannot tell "
                          "which S3 region to use; set %s (or AWS_ENDPOINT for "
                          "S3-compatible storage) in the pod environment",
                    s->label, vn, vn);
        } else if (strcmp(t->region, "loca") == 0) {
            finding(f, VERDICT_CRITICAL, vn,
                    "%s%s \"loca\" is Spilo's off-cloud guess (availability zone \"local\" minus "
                    "its last letter), not an S3 region; set %s (e.g. eu-central-1) in the pod "
                    "environment ConfigMap, or AWS_ENDPOINT for S3-compatible storage",
                    s->label, vn, vn);
        } else if (!aws_region_like(t->region)) {
            finding(f, VERDICT_CRITICAL, vn,
                    "%s%s \"%s\" is not an AWS region name (like eu-central-1); set the bucket's "
                    "region, or AWS_ENDPOINT for S3-compatible storage",
                    s->label, vn, t->region);
        }
        free(vn);
    }
    if (fpv && !go_bool(fpv, &dummy)) {
        char *vn = var(s, "AWS_S3_FORCE_PATH_STYLE");

        finding(f, VERDICT_CRITICAL, vn,
                "%s%s \"%s\" is not a boolean WAL-G accepts; use true or false", s->label, vn, fpv);
        free(vn);
    }
}

static bool arn_like(const char *a)
{
    const char *p = a;
    int digits = 0;

    if (strncmp(p, "arn:aws", 7) != 0)
        return false;
    p = strstr(p, ":iam::");
    if (!p)
        return false;
    p += 6;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    return digits == 12 && strncmp(p, ":role/", 6) == 0 && p[6];
}

static void eval_credentials(const struct envdir *e, const struct scope_info *s,
                             const struct walg_target *t, struct findings *f)
{
    char *ak = var(s, "AWS_ACCESS_KEY_ID"), *sk = var(s, "AWS_SECRET_ACCESS_KEY");
    char *role = var(s, "AWS_ROLE_ARN"), *tok = var(s, "AWS_WEB_IDENTITY_TOKEN_FILE");

    if (!!t->access_key != !!t->secret_key) {
        finding(f, VERDICT_CRITICAL, t->access_key ? sk : ak,
                "%s%s is set but %s is not: WAL-G needs both static keys; add the missing one to "
                "the pod environment Secret",
                s->label, t->access_key ? ak : sk, t->access_key ? sk : ak);
    } else if (!t->access_key && (!!t->role_arn != !!t->web_identity_token_file)) {
        finding(f, VERDICT_CRITICAL, t->role_arn ? tok : role,
                "%s%s is set but %s is not: web identity (IRSA) needs both; annotate the service "
                "account with the role and let the pod identity webhook mount the token",
                s->label, t->role_arn ? role : tok, t->role_arn ? tok : role);
    } else if (t->creds == WALG_CREDS_NONE) {
        finding(f, VERDICT_CRITICAL, ak,
                "%sno S3 credentials: set %s and %s, or %s and %s (IRSA), or "
                "AWS_INSTANCE_PROFILE=true on EC2",
                s->label, ak, sk, role, tok);
    } else if (t->creds == WALG_CREDS_WEB_IDENTITY && !arn_like(t->role_arn)) {
        finding(f, VERDICT_CRITICAL, role,
                "%s%s \"%s\" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", s->label,
                role, t->role_arn);
    } else if (t->creds == WALG_CREDS_INSTANCE_PROFILE) {
        finding(f, VERDICT_OK, "AWS_INSTANCE_PROFILE",
                "%scredentials come from the node's instance profile (EC2 metadata); off EC2 this "
                "fails",
                s->label);
    } else if (t->creds == WALG_CREDS_SESSION) {
        finding(f, VERDICT_OK, "AWS_SESSION_TOKEN",
                "%sstatic keys with a session token: temporary credentials that expire", s->label);
    }
    (void)e;
    free(ak);
    free(sk);
    free(role);
    free(tok);
}

static void eval_tools(const struct envdir *e, const struct scope_info *s,
                       const struct walg_target *t, struct findings *f)
{
    const char *sse = envdir_get(e, "WALG_S3_SSE");

    if (!s->clone) {
        if (!t->walg_backup)
            finding(f, VERDICT_WARNING, "USE_WALG_BACKUP",
                    "%sbase backups and WAL archiving (archive_command) go through WAL-E, not "
                    "WAL-G (USE_WALG_BACKUP is not \"true\"; Spilo defaults to WAL-E on S3); set "
                    "USE_WALG_BACKUP=true in the pod environment ConfigMap",
                    s->label);
        else if (!t->walg_restore)
            finding(f, VERDICT_CRITICAL, "USE_WALG_RESTORE",
                    "%sWAL-G takes the backups but USE_WALG_RESTORE is not \"true\", so restores "
                    "would use WAL-E, which cannot read them; set USE_WALG_RESTORE=true",
                    s->label);
    } else if (!t->walg_restore) {
        finding(f, VERDICT_WARNING, "CLONE_USE_WALG_RESTORE",
                "%sthe clone restores with WAL-E (CLONE_USE_WALG_RESTORE is not \"true\"), which "
                "cannot read WAL-G backups",
                s->label);
    }
    if (sse && strcmp(sse, "aws:kms") == 0 && !envdir_get(e, "WALG_S3_SSE_KMS_ID"))
        finding(f, VERDICT_WARNING, "WALG_S3_SSE_KMS_ID",
                "%sWALG_S3_SSE=aws:kms without WALG_S3_SSE_KMS_ID; set the KMS key id", s->label);
}

static json_t *env_json(const struct envdir *e)
{
    json_t *o = json_object();

    for (size_t i = 0; i < e->n; i++)
        json_object_set_new(o, e->vars[i].name,
                            json_string(envdir_shown(e->vars[i].name, e->vars[i].value)));
    return o;
}

/* Evaluates one envdir into details (object) and f. */
static void eval_one(const struct envdir *e, const struct scope_info *s,
                     const struct walg_env_input *in, struct walg_target *t, struct findings *f,
                     json_t *d)
{
    fill_target(e, in, !s->clone, t);
    /* Entries the envdir reader left out (symlinks, unreadable files, too many files). */
    for (size_t i = 0; i < e->n_findings; i++)
        finding(f, VERDICT_WARNING, NULL, "%senvdir %s: %s", s->label, e->path, e->findings[i]);
    if (e->findings_dropped)
        finding(f, VERDICT_WARNING, NULL, "%senvdir %s: %zu more entries were ignored", s->label,
                e->path, e->findings_dropped);
    /* Whether WAL-G reaches S3 at all comes first: it leads the summary when several fail. */
    eval_endpoint(e, s, t, f);
    eval_credentials(e, s, t, f);
    eval_prefix(e, s, t, f);
    eval_tools(e, s, t, f);

    json_object_set_new(d, "prefix", json_string(t->prefix));
    json_object_set_new(d, "prefix_variable", json_string(t->prefix_var));
    json_object_set_new(d, "bucket", json_string(t->bucket));
    json_object_set_new(d, "root", json_string(t->root));
    json_object_set_new(d, "layout", json_string(walg_layout_name(t->layout)));
    json_object_set_new(d, "region", *t->region ? json_string(t->region) : json_null());
    json_object_set_new(d, "endpoint", *t->endpoint ? json_string(t->endpoint) : json_null());
    json_object_set_new(d, "force_path_style", json_boolean(t->path_style));
    json_object_set_new(d, "force_path_style_set",
                        json_boolean(envdir_get(e, "AWS_S3_FORCE_PATH_STYLE") != NULL));
    json_object_set_new(d, "credentials", json_string(walg_credentials_name(t->creds)));
    json_object_set_new(d, "backup_tool", json_string(t->walg_backup ? "wal-g" : "wal-e"));
    json_object_set_new(d, "restore_tool", json_string(t->walg_restore ? "wal-g" : "wal-e"));
    if (!s->clone)
        json_object_set_new(d, "retain", t->retain >= 0 ? json_integer(t->retain) : json_null());
    json_object_set_new(d, "env", env_json(e));
}

static const char *pg_version_of(const struct walg_env_input *in, char *buf, size_t len)
{
    const char *v = util_env_get(in->environ, "PGVERSION");
    const char *root = in->pgroot;
    char path[4096];
    FILE *fp;

    if (v && *v)
        return v;
    if (!root)
        root = util_env_get(in->environ, "PGROOT");
    if (!root || !*root)
        root = SPILO_PGROOT;
    snprintf(path, sizeof(path), "%s/data/PG_VERSION", root);
    fp = fopen(path, "r");
    if (!fp)
        return NULL;
    if (!fgets(buf, (int)len, fp)) {
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    buf[strcspn(buf, "\r\n")] = '\0';
    return *buf ? buf : NULL;
}

/* Loads the main settings: envdir, else derived. Returns the source. */
static enum walg_source load_main(const struct walg_env_input *in, struct envdir *e, char *err,
                                  size_t errlen, int *load_rc)
{
    char ver[32];

    *load_rc = envdir_load(in->envdir, e, err, errlen);
    if (*load_rc == 0)
        return WALG_SOURCE_ENVDIR;
    if (*load_rc != -ENOENT)
        return WALG_SOURCE_NONE;
    envdir_free(e);
    if (walg_derive(in->environ, "", pg_version_of(in, ver, sizeof(ver)), e))
        return WALG_SOURCE_ENVIRONMENT;
    if (in->prefix && *in->prefix)
        return WALG_SOURCE_ENVIRONMENT; /* [walg] prefix alone, credentials from the env */
    return WALG_SOURCE_NONE;
}

int walg_target_resolve(const struct walg_env_input *in, struct walg_target *t, char *err,
                        size_t errlen)
{
    struct envdir e;
    int load_rc;
    enum walg_source src;
    char why[200];

    memset(t, 0, sizeof(*t));
    src = load_main(in, &e, err, errlen, &load_rc);
    if (src == WALG_SOURCE_ENVIRONMENT && e.n == 0) {
        /* [walg] prefix alone: the credentials are the process's own AWS_* variables */
        for (char *const *p = in->environ; p && *p; p++) {
            const char *eq = strchr(*p, '=');

            if (eq && strncmp(*p, "AWS_", 4) == 0) {
                char *name = xstrndup(*p, (size_t)(eq - *p));

                envdir_set(&e, name, eq + 1);
                free(name);
            }
        }
    }
    fill_target(&e, in, true, t);
    t->source = src;
    t->where = xstrdup(src == WALG_SOURCE_ENVDIR ? in->envdir : "environment");
    envdir_free(&e);
    if (src == WALG_SOURCE_NONE) {
        if (load_rc == -ENOENT)
            snprintf(err, errlen,
                     "envdir %s does not exist and the environment has no WAL_S3_BUCKET, "
                     "WALE_S3_PREFIX or WALG_S3_PREFIX",
                     in->envdir);
        return load_rc;
    }
    if (!*t->prefix) {
        snprintf(err, errlen, "no S3 prefix in %s (see the walg_env check)", t->where);
        return -EINVAL;
    }
    free(t->bucket);
    free(t->root);
    if (walg_parse_prefix(t->prefix, &t->bucket, &t->root, why, sizeof(why)) < 0) {
        t->bucket = xstrdup("");
        t->root = xstrdup("");
        snprintf(err, errlen, "%s \"%s\" %s", t->prefix_var, t->prefix, why);
        return -EINVAL;
    }
    t->layout = walg_layout_of(t->root);
    return 0;
}

void walg_target_from_envdir(const struct envdir *e, const char *where, struct walg_target *t)
{
    struct walg_env_input none;
    char why[200];

    memset(&none, 0, sizeof(none));
    memset(t, 0, sizeof(*t));
    none.s3_force_path_style = -1;
    fill_target(e, &none, false, t);
    t->source = WALG_SOURCE_ENVDIR;
    t->where = xstrdup(where);
    if (*t->prefix) {
        free(t->bucket);
        free(t->root);
        if (walg_parse_prefix(t->prefix, &t->bucket, &t->root, why, sizeof(why)) < 0) {
            t->bucket = xstrdup("");
            t->root = xstrdup("");
        }
        t->layout = walg_layout_of(t->root);
    }
}

/* ---- the check -------------------------------------------------------------------------- */

const char *const walg_spilo_majors[] = {"17", "16", "15", "14", "13", "12", "11", "10", "9.6"};
const size_t walg_spilo_majors_count = ARRAY_LEN(walg_spilo_majors);

char *walg_clone_glob(const char *configured, const char *envdir)
{
    const char *slash = strrchr(envdir, '/');

    if (configured && *configured)
        return xstrdup(configured);
    return slash ? xasprintf("%.*s/env-clone-*", (int)(slash - envdir), envdir)
                 : xstrdup("env-clone-*");
}

/* A clone scope suffix without its leading '/': Spilo builds the clone prefix as
 * spilo/{WAL_BUCKET_SCOPE_PREFIX}{SCOPE}{WAL_BUCKET_SCOPE_SUFFIX}/wal/ (configure_spilo.py:866
 * 2.1-p7, :964 4.0-p3), so in a written envdir it shows as the scope glued to the uid
 * (spilo/<scope><uid>/wal/); the envdir is named env-clone-<scope> (:477-490 4.0-p3). */
static void clone_suffix_glued(const char *scope, const char *prefix, const char *label,
                               struct findings *f)
{
    const char *sp = prefix ? strstr(prefix, "/spilo/") : NULL;
    const char *end, *at;
    size_t n = scope ? strlen(scope) : 0;

    if (!sp || n == 0)
        return;
    sp += 7;
    end = strchr(sp, '/');
    if (!end)
        return;
    for (at = sp; at + n <= end; at++) {
        if (strncmp(at, scope, n) == 0 && at + n < end) {
            int sl = (int)(end - at - (ptrdiff_t)n);

            finding(f, VERDICT_CRITICAL, "CLONE_WAL_BUCKET_SCOPE_SUFFIX",
                    "%sthe clone prefix %s has \"%.*s\" glued to the scope %s: "
                    "CLONE_WAL_BUCKET_SCOPE_SUFFIX does not start with \"/\", so the clone looks "
                    "under spilo/%.*s/ where no backup is; set it to \"/%.*s\"",
                    label, prefix, sl, at + n, scope, (int)(end - sp), sp, sl, at + n);
            return;
        }
    }
}

static void eval_clones(const struct walg_env_input *in, enum walg_source main_src, json_t *arr,
                        struct findings *all)
{
    char *pattern = walg_clone_glob(in->clone_glob, in->envdir);
    glob_t g;

    memset(&g, 0, sizeof(g));
    if (glob(pattern, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) == 0) {
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *),
              (int (*)(const void *, const void *))(void *)strcmp);
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        struct envdir e;
        struct findings f;
        struct walg_target t;
        char err[512], *label = xasprintf("clone envdir %s: ", base);
        struct scope_info s = {true, false, label, "CLONE_"};
        json_t *d = json_object();

        if (strcmp(path, in->envdir) == 0) {
            free(label);
            json_decref(d);
            continue;
        }
        findings_init(&f);
        memset(&t, 0, sizeof(t));
        json_object_set_new(d, "envdir", json_string(path));
        if (envdir_load(path, &e, err, sizeof(err)) < 0) {
            finding(&f, VERDICT_CRITICAL, NULL, "%s%s", label, err);
        } else {
            eval_one(&e, &s, in, &t, &f, d);
            if (strncmp(base, "env-clone-", 10) == 0)
                clone_suffix_glued(base + 10, t.prefix, label, &f);
            walg_target_free(&t);
        }
        envdir_free(&e);
        json_object_set_new(d, "status", json_string(verdict_name(f.worst)));
        json_object_set_new(d, "findings", f.arr);
        json_array_append_new(arr, d);
        for (size_t k = 0; k < json_array_size(f.arr); k++) {
            json_t *x = json_array_get(f.arr, k);
            const char *sev = json_string_value(json_object_get(x, "severity"));
            enum verdict v = strcmp(sev, "critical") == 0  ? VERDICT_CRITICAL
                             : strcmp(sev, "warning") == 0 ? VERDICT_WARNING
                                                           : VERDICT_OK;

            if (v != VERDICT_OK && (v > all->worst || !all->summary[0])) {
                all->worst = v;
                util_copy_cut(all->summary, sizeof(all->summary),
                              json_string_value(json_object_get(x, "message")));
            }
        }
        free(label);
    }
    globfree(&g);
    free(pattern);

    /* Not mounted: a clone described by CLONE_* variables in the environment. */
    if (main_src == WALG_SOURCE_ENVIRONMENT && json_array_size(arr) == 0) {
        struct envdir e;

        if (walg_derive(in->environ, "CLONE_", NULL, &e)) {
            struct scope_info s = {true, true, "clone (from CLONE_* variables): ", "CLONE_"};
            struct findings f;
            struct walg_target t;
            json_t *d = json_object();

            findings_init(&f);
            memset(&t, 0, sizeof(t));
            json_object_set_new(d, "envdir", json_null());
            json_object_set_new(d, "source", json_string("environment"));
            eval_one(&e, &s, in, &t, &f, d);
            walg_target_free(&t);
            {
                const char *sfx = util_env_get(in->environ, "CLONE_WAL_BUCKET_SCOPE_SUFFIX");

                if (sfx && *sfx && *sfx != '/')
                    finding(&f, VERDICT_CRITICAL, "CLONE_WAL_BUCKET_SCOPE_SUFFIX",
                            "%sCLONE_WAL_BUCKET_SCOPE_SUFFIX \"%s\" does not start with \"/\": "
                            "Spilo appends it to the scope, so the clone looks under "
                            "spilo/<scope>%s/; set it to \"/%s\"",
                            s.label, sfx, sfx, sfx);
            }
            json_object_set_new(d, "status", json_string(verdict_name(f.worst)));
            json_object_set_new(d, "findings", json_incref(f.arr));
            json_array_append_new(arr, d);
            if (f.worst > all->worst || (f.worst != VERDICT_OK && !all->summary[0])) {
                all->worst = f.worst;
                util_copy_cut(all->summary, sizeof(all->summary), f.summary);
            }
            json_decref(f.arr);
        }
        envdir_free(&e);
    }
}

/* What the sidecar cannot see when it derives from its own environment: the operator injects
 * WAL_S3_BUCKET, WAL_BUCKET_SCOPE_SUFFIX=/<uid> and WAL_BUCKET_SCOPE_PREFIX="" (with its
 * wal_s3_bucket) and the CLONE_* of spec.clone into the Spilo container only (postgres-operator
 * pkg/cluster/k8sres.go:1076-1080, :2129-2225 v2.0.1-1-ga7aaad0a). */
static void eval_unknown(const struct walg_env_input *in, const struct walg_target *t,
                         struct findings *f, json_t *d)
{
    json_t *u = json_array();
    char list[300] = "";
    size_t used = 0;

    if (in->environ_from) {
        /* read from the pod's spec: only what it takes from unread sources is unknown */
        for (size_t i = 0; in->unknown && i < json_array_size(in->unknown); i++)
            json_array_append(u, json_array_get(in->unknown, i));
    } else {
        if (!util_env_get(in->environ, "WAL_BUCKET_SCOPE_SUFFIX"))
            json_array_append_new(u, json_string("WAL_BUCKET_SCOPE_SUFFIX"));
        if (!util_env_get(in->environ, "WAL_BUCKET_SCOPE_PREFIX"))
            json_array_append_new(u, json_string("WAL_BUCKET_SCOPE_PREFIX"));
        if (!util_env_get(in->environ, "CLONE_METHOD"))
            json_array_append_new(u, json_string("CLONE_* of spec.clone"));
    }
    for (size_t i = 0; i < json_array_size(u) && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                 json_string_value(json_array_get(u, i)));
    json_object_set_new(d, "unknown", u);
    if (in->pod_error)
        json_object_set_new(d, "pod_error", json_string(in->pod_error));
    /* only a prefix built from WAL_S3_BUCKET depends on the scope prefix and suffix */
    if (!in->environ_from && !util_env_get(in->environ, "WAL_BUCKET_SCOPE_SUFFIX") && *t->prefix &&
        strcmp(t->prefix_var, "[walg] prefix") != 0 &&
        !util_env_get(in->environ, "WALG_S3_PREFIX") &&
        !util_env_get(in->environ, "WALE_S3_PREFIX"))
        finding(f, VERDICT_WARNING, "WAL_BUCKET_SCOPE_SUFFIX",
                "the prefix %s is not certain: derived from the sidecar's environment, which "
                "lacks what the operator gives the Spilo container only (unknown: %s; with the "
                "operator's wal_s3_bucket it is spilo/<cluster>/<uid>/wal/<major>); %slet the "
                "agent get its pod (RBAC) or set [walg] prefix",
                t->prefix, list,
                in->pod_error ? "reading the pod failed (details.pod_error); " : "");
    else if (in->environ_from && json_array_size(u) > 0)
        finding(f, VERDICT_OK, NULL,
                "%s takes %s from sources the agent does not read; the derivation assumes they "
                "hold nothing that changes the prefix",
                in->environ_from, list);
}

void walg_env_evaluate(const struct walg_env_input *in, struct check_result *out)
{
    struct envdir e;
    struct findings f;
    struct walg_target t;
    char err[512] = "";
    int load_rc;
    enum walg_source src = load_main(in, &e, err, sizeof(err), &load_rc);
    struct scope_info s = {false, src == WALG_SOURCE_ENVIRONMENT, "", ""};
    json_t *d = out->details, *clones = json_array();
    struct findings cf;

    findings_init(&f);
    memset(&t, 0, sizeof(t));
    json_object_set_new(d, "source",
                        json_string(src == WALG_SOURCE_ENVDIR        ? "envdir"
                                    : src == WALG_SOURCE_ENVIRONMENT ? "environment"
                                                                     : "none"));
    json_object_set_new(d, "envdir", json_string(in->envdir));
    if (src == WALG_SOURCE_NONE) {
        if (load_rc == -ENOENT)
            check_result_set(out, VERDICT_CRITICAL,
                             "no WAL-G settings: envdir %s is not mounted and the environment has "
                             "none of WAL_S3_BUCKET, WALE_S3_PREFIX, WALG_S3_PREFIX (a bucket set "
                             "only as the operator's wal_s3_bucket reaches the Spilo container "
                             "alone); set WAL_S3_BUCKET and WAL_BUCKET_SCOPE_SUFFIX=/<uid of the "
                             "postgresql object> in the pod environment ConfigMap, or [walg] "
                             "prefix (docs/checks/walg_env.md)",
                             in->envdir);
        else
            check_result_set(out, VERDICT_CRITICAL, "%s", err);
        check_result_cause(out, CAUSE_WALG_ENV_NO_SETTINGS);
        json_object_set_new(d, "findings", f.arr);
        json_object_set_new(d, "clones", clones);
        envdir_free(&e);
        return;
    }
    eval_one(&e, &s, in, &t, &f, d);
    if (src == WALG_SOURCE_ENVIRONMENT) {
        json_object_set_new(d, "derived_from",
                            json_string("the environment, the way Spilo's configure_spilo.py "
                                        "writes the envdir (the envdir is not mounted here)"));
        json_object_set_new(d, "environment",
                            json_string(in->environ_from ? in->environ_from : "the sidecar's own"));
        eval_unknown(in, &t, &f, d);
    }

    findings_init(&cf);
    eval_clones(in, src, clones, &cf);
    json_decref(cf.arr);
    json_object_set_new(d, "findings", f.arr);
    json_object_set_new(d, "clones", clones);

    if (f.worst >= cf.worst && f.worst != VERDICT_OK) {
        size_t more = 0;

        for (size_t i = 0; i < json_array_size(f.arr); i++) {
            const char *sev =
                json_string_value(json_object_get(json_array_get(f.arr, i), "severity"));

            more += strcmp(sev, "info") != 0;
        }
        if (more > 1)
            check_result_set(out, f.worst, "%s (and %zu more findings in details)", f.summary,
                             more - 1);
        else
            check_result_set(out, f.worst, "%s", f.summary);
    } else if (cf.worst != VERDICT_OK) {
        check_result_set(out, cf.worst, "%s", cf.summary);
    } else {
        size_t nc = json_array_size(clones);

        check_result_set(out, VERDICT_OK, "WAL-G writes to %s (%s, %s)%s%s", t.prefix,
                         *t.endpoint ? t.endpoint : t.region, walg_credentials_name(t.creds),
                         src == WALG_SOURCE_ENVIRONMENT ? ", settings derived from the environment"
                                                        : "",
                         nc ? "; the clone settings work too" : "");
    }
    /* Every critical finding is one of two catalogued causes; details.findings names the
     * variable. */
    if (f.worst == VERDICT_CRITICAL)
        check_result_cause(out, CAUSE_WALG_ENV_INVALID);
    if (cf.worst == VERDICT_CRITICAL)
        check_result_cause(out, CAUSE_WALG_ENV_CLONE_INVALID);
    walg_target_free(&t);
    envdir_free(&e);
}

extern char **environ;

void walg_env_input_from_config(const struct config *cfg, struct walg_env_input *in)
{
    in->envdir = cfg->envdir;
    in->clone_glob = cfg->clone_envdir;
    in->prefix = cfg->prefix;
    in->s3_endpoint = cfg->s3_endpoint;
    in->s3_region = cfg->s3_region;
    in->s3_force_path_style = cfg->s3_force_path_style;
    in->environ = environ;
    in->pgroot = NULL;
    in->environ_from = NULL;
    in->pod_error = NULL;
    in->unknown = NULL;
}

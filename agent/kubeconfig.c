/* kubeconfig.c - owns reading kubeconfig files (libyaml -> jansson), kubectl's merge and context
 * resolution, and running exec credential plugins. It knows nothing of HTTP: k8s.c turns the
 * result into curl options. Merge rules follow client-go's clientcmd (loader.go: "the first file
 * to set a particular map key wins"; relative paths resolved against the file that set them). */
#include "kubeconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "buf.h"
#include "secret.h"
#include "util.h"

extern char **environ;

#define YAML_MAX_DEPTH 64
#define EXEC_MAX_OUT   (1u << 20)

/* ---- YAML -> JSON -------------------------------------------------------------------------- */

struct conv {
    yaml_document_t *doc;
    json_t **done;     /* per node index (1-based): the converted value, shared by aliases */
    bool *in_progress; /* a node whose conversion has not finished: an alias to it is a cycle */
    size_t n;
};

static bool word_in(const char *s, const char *const *words)
{
    for (; *words; words++) {
        if (strcmp(s, *words) == 0)
            return true;
    }
    return false;
}

static json_t *scalar_json(const yaml_node_t *node)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                        "on",   "On",   "ON",   "y",   "Y",   NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO",
                                         "off",   "Off",   "OFF",   "n",  "N",  NULL};
    const char *v = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;

    if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strlen(v) == len) {
        if (word_in(v, nulls))
            return json_null();
        if (word_in(v, trues))
            return json_true();
        if (word_in(v, falses))
            return json_false();
    }
    return json_stringn(v, len);
}

static json_t *node_json(struct conv *c, int index, int depth, char *err, size_t errlen)
{
    yaml_node_t *node = yaml_document_get_node(c->doc, index);
    json_t *v = NULL;

    if (!node || index < 1 || (size_t)index > c->n) {
        snprintf(err, errlen, "a YAML node is missing");
        return NULL;
    }
    if (c->done[index - 1])
        return json_incref(c->done[index - 1]);
    if (c->in_progress[index - 1]) {
        snprintf(err, errlen, "line %lu: an alias refers to a node that contains it",
                 (unsigned long)node->start_mark.line + 1);
        return NULL;
    }
    if (depth > YAML_MAX_DEPTH) {
        snprintf(err, errlen, "line %lu: nested deeper than %d levels",
                 (unsigned long)node->start_mark.line + 1, YAML_MAX_DEPTH);
        return NULL;
    }
    c->in_progress[index - 1] = true;
    switch (node->type) {
    case YAML_SCALAR_NODE:
        v = scalar_json(node);
        if (!v)
            snprintf(err, errlen, "line %lu: a value is not valid UTF-8",
                     (unsigned long)node->start_mark.line + 1);
        break;
    case YAML_SEQUENCE_NODE:
        v = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++) {
            json_t *x = node_json(c, *it, depth + 1, err, errlen);

            if (!x) {
                json_decref(v);
                v = NULL;
                break;
            }
            json_array_append_new(v, x);
        }
        break;
    case YAML_MAPPING_NODE:
        v = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            json_t *x;
            char *key;

            if (!k || k->type != YAML_SCALAR_NODE) {
                snprintf(err, errlen, "line %lu: a mapping key is not a plain value",
                         (unsigned long)node->start_mark.line + 1);
                json_decref(v);
                v = NULL;
                break;
            }
            x = node_json(c, p->value, depth + 1, err, errlen);
            if (!x) {
                json_decref(v);
                v = NULL;
                break;
            }
            key = xstrndup((const char *)k->data.scalar.value, k->data.scalar.length);
            if (json_object_set_new(v, key, x) < 0) {
                snprintf(err, errlen, "line %lu: a mapping key is not valid UTF-8",
                         (unsigned long)k->start_mark.line + 1);
                free(key);
                json_decref(v);
                v = NULL;
                break;
            }
            free(key);
        }
        break;
    default:
        snprintf(err, errlen, "an empty YAML node");
        break;
    }
    c->in_progress[index - 1] = false;
    if (v)
        c->done[index - 1] = json_incref(v);
    return v;
}

int kubeconfig_yaml_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct conv c = {0};
    yaml_node_t *root;
    int rc = 0;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "not valid YAML: %s at line %lu, column %lu",
                 parser.problem ? parser.problem : "syntax error",
                 (unsigned long)parser.problem_mark.line + 1,
                 (unsigned long)parser.problem_mark.column + 1);
        yaml_parser_delete(&parser);
        return -EINVAL;
    }
    root = yaml_document_get_root_node(&doc);
    if (!root) {
        *out = json_object();
        goto out;
    }
    c.doc = &doc;
    c.n = (size_t)(doc.nodes.top - doc.nodes.start);
    c.done = xcalloc(c.n ? c.n : 1, sizeof(*c.done));
    c.in_progress = xcalloc(c.n ? c.n : 1, sizeof(*c.in_progress));
    *out = node_json(&c, 1, 0, err, errlen);
    for (size_t i = 0; i < c.n; i++)
        json_decref(c.done[i]);
    free(c.done);
    free(c.in_progress);
    if (!*out)
        rc = -EINVAL;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- merge and select --------------------------------------------------------------------------
 */

static int b64_val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Standard base64 (blanks and newlines ignored, padding optional) into a new NUL-terminated
 * buffer. Returns 0 or -EINVAL. */
static int b64_decode(const char *s, char **out, size_t *outlen)
{
    size_t n = strlen(s), j = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    char *o = xmalloc(n / 4 * 3 + 4);

    for (size_t i = 0; i < n; i++) {
        int v;

        if (isspace((unsigned char)s[i]))
            continue;
        if (s[i] == '=') {
            pad++;
            continue;
        }
        v = b64_val((unsigned char)s[i]);
        if (v < 0 || pad) {
            free(o);
            return -EINVAL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[j++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6) {
        free(o);
        return -EINVAL;
    }
    o[j] = '\0';
    *out = o;
    *outlen = j;
    return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The entry named name in the list key ("clusters", "users", "contexts") of the first file that
 * has one: whether there is one, its inner object (the "cluster", "user" or "context" member; NULL
 * when it has none, which reads as empty) and the file. */
static bool find_named(const struct kubeconfig_file *files, size_t n, const char *list,
                       const char *inner, const char *name, const json_t **found, const char **file)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *arr = json_object_get(files[i].doc, list), *x;
        size_t j;

        json_array_foreach(arr, j, x)
        {
            const char *nm = jstr(x, "name");

            if (nm && strcmp(nm, name) == 0) {
                const json_t *in = json_object_get(x, inner);

                *file = files[i].path;
                *found = json_is_object(in) ? in : NULL;
                return true;
            }
        }
    }
    *found = NULL;
    return false;
}

/* The names in list across files, for "known: a, b" in messages. */
static void list_names(const struct kubeconfig_file *files, size_t n, const char *list, char *out,
                       size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const json_t *arr = json_object_get(files[i].doc, list), *x;
        size_t j;

        json_array_foreach(arr, j, x)
        {
            const char *nm = jstr(x, "name");
            int w;

            if (!nm || used + 1 >= len)
                continue;
            w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", nm);
            if (w > 0)
                used += (size_t)w < len - used ? (size_t)w : len - used - 1;
        }
    }
    if (!*out)
        snprintf(out, len, "none");
}

/* A path from file relative to that file's directory (client-go ResolveLocalPaths). */
static char *resolve_path(const char *path, const char *file)
{
    const char *slash;

    if (!path || !*path)
        return NULL;
    if (path[0] == '/' || !file || !(slash = strrchr(file, '/')))
        return xstrdup(path);
    return xasprintf("%.*s/%s", (int)(slash - file), file, path);
}

static char *dup_str(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static bool jbool(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    bool b = false;

    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v) && util_parse_bool(json_string_value(v), &b) == 0)
        return b;
    return false;
}

static char **str_array(const json_t *arr, bool env_pairs)
{
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0, k = 0, i;
    char **v = xcalloc(n + 1, sizeof(char *));
    const json_t *x;

    json_array_foreach(arr, i, x)
    {
        if (env_pairs) {
            const char *nm = jstr(x, "name"), *val = jstr(x, "value");

            if (nm && *nm)
                v[k++] = xasprintf("%s=%s", nm, val ? val : "");
        } else if (json_is_string(x)) {
            v[k++] = xstrdup(json_string_value(x));
        }
    }
    return v;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static int take_b64(const json_t *o, const char *key, const char *what, char **pem, size_t *len,
                    char *err, size_t errlen)
{
    const char *v = jstr(o, key);

    if (!v || !*v)
        return 0;
    if (b64_decode(v, pem, len) < 0) {
        snprintf(err, errlen, "%s: %s is not valid base64", what, key);
        return -EINVAL;
    }
    return 0;
}

static int fill_exec(struct kubeconfig *kc, const json_t *ex, const char *file, char *err,
                     size_t errlen)
{
    struct kubeconfig_exec *e;
    const char *ver = jstr(ex, "apiVersion"), *cmd = jstr(ex, "command");
    const char *mode = jstr(ex, "interactiveMode");

    if (!ver || (strcmp(ver, "client.authentication.k8s.io/v1") != 0 &&
                 strcmp(ver, "client.authentication.k8s.io/v1beta1") != 0)) {
        snprintf(err, errlen,
                 "user \"%s\" in %s: exec plugin apiVersion \"%s\" is not supported; accepted: "
                 "client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1",
                 kc->user_name, file, ver ? ver : "");
        return -EINVAL;
    }
    if (!cmd || !*cmd) {
        snprintf(err, errlen, "user \"%s\" in %s: exec plugin has no command", kc->user_name, file);
        return -EINVAL;
    }
    /* client-go: v1 requires interactiveMode; v1beta1 defaults it to IfAvailable. */
    if (!mode && strcmp(ver, "client.authentication.k8s.io/v1") == 0) {
        snprintf(err, errlen,
                 "user \"%s\" in %s: interactiveMode must be specified for %s to use exec "
                 "authentication plugin (Never, IfAvailable or Always)",
                 kc->user_name, file, kc->user_name);
        return -EINVAL;
    }
    if (mode && strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0 &&
        strcmp(mode, "Always") != 0) {
        snprintf(err, errlen,
                 "user \"%s\" in %s: exec plugin interactiveMode \"%s\" is not one of Never, "
                 "IfAvailable, Always",
                 kc->user_name, file, mode);
        return -EINVAL;
    }
    e = xcalloc(1, sizeof(*e));
    e->api_version = xstrdup(ver);
    e->command = strchr(cmd, '/') ? resolve_path(cmd, file) : xstrdup(cmd);
    e->args = str_array(json_object_get(ex, "args"), false);
    e->env = str_array(json_object_get(ex, "env"), true);
    e->install_hint = dup_str(jstr(ex, "installHint"));
    e->interactive_mode = xstrdup(mode ? mode : "IfAvailable");
    e->provide_cluster_info = jbool(ex, "provideClusterInfo");
    kc->exec = e;
    return 0;
}

int kubeconfig_select(const struct kubeconfig_file *files, size_t n, const char *context,
                      struct kubeconfig **out, char *err, size_t errlen)
{
    const char *name = NULL, *cfile = NULL, *clfile = NULL, *ufile = NULL;
    const json_t *ctx, *cl, *user;
    struct kubeconfig *kc;
    char names[512], *fl;
    size_t used = 0;
    int rc = -EINVAL;

    *out = NULL;
    fl = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *t = xasprintf("%s%s%s", fl, used ? ":" : "", files[i].path);

        free(fl);
        fl = t;
        used++;
    }
    if (context && *context) {
        name = context;
    } else {
        bool any = false;

        for (size_t i = 0; i < n && !name; i++) {
            const char *cc = jstr(files[i].doc, "current-context");

            if (cc && *cc)
                name = cc;
            if (json_array_size(json_object_get(files[i].doc, "contexts")))
                any = true;
        }
        if (!name) {
            if (!any) {
                snprintf(err, errlen, "the kubeconfig %s defines no context", *fl ? fl : "(none)");
                free(fl);
                return -ENOENT;
            }
            list_names(files, n, "contexts", names, sizeof(names));
            snprintf(err, errlen,
                     "current-context is not set in the kubeconfig %s; pick one with --context "
                     "(contexts: %s) or run `kubectl config use-context NAME`",
                     fl, names);
            free(fl);
            return -EINVAL;
        }
    }
    if (!find_named(files, n, "contexts", "context", name, &ctx, &cfile)) {
        list_names(files, n, "contexts", names, sizeof(names));
        snprintf(err, errlen,
                 "context \"%s\" not found in the kubeconfig %s (contexts: %s); pick one with "
                 "--context",
                 name, fl, names);
        free(fl);
        return -EINVAL;
    }
    kc = xcalloc(1, sizeof(*kc));
    kc->files = fl;
    kc->context = xstrdup(name);
    kc->cluster_name = xstrdup(jstr(ctx, "cluster") ? jstr(ctx, "cluster") : "");
    kc->user_name = xstrdup(jstr(ctx, "user") ? jstr(ctx, "user") : "");
    kc->namespace = dup_str(jstr(ctx, "namespace"));
    if (!*kc->cluster_name) {
        snprintf(err, errlen, "context \"%s\" in %s names no cluster", name, cfile);
        goto fail;
    }
    if (!find_named(files, n, "clusters", "cluster", kc->cluster_name, &cl, &clfile)) {
        list_names(files, n, "clusters", names, sizeof(names));
        snprintf(err, errlen,
                 "cluster \"%s\" of context \"%s\" not found in the kubeconfig %s (clusters: %s)",
                 kc->cluster_name, name, fl, names);
        goto fail;
    }
    kc->server = dup_str(jstr(cl, "server"));
    if (!kc->server) {
        snprintf(err, errlen, "cluster \"%s\" in %s has no server defined", kc->cluster_name,
                 clfile);
        goto fail;
    }
    kc->insecure = jbool(cl, "insecure-skip-tls-verify");
    kc->ca_file = resolve_path(jstr(cl, "certificate-authority"), clfile);
    kc->ca_data_b64 = dup_str(jstr(cl, "certificate-authority-data"));
    if (take_b64(cl, "certificate-authority-data", kc->cluster_name, &kc->ca_pem, &kc->ca_pem_len,
                 err, errlen) < 0)
        goto fail;
    if (kc->insecure && (kc->ca_file || kc->ca_pem)) {
        /* client-go refuses this combination too */
        snprintf(err, errlen,
                 "cluster \"%s\" in %s: specifying a root certificates file with the insecure "
                 "flag is not allowed; drop insecure-skip-tls-verify or the certificate-authority",
                 kc->cluster_name, clfile);
        goto fail;
    }
    if (!*kc->user_name) {
        /* kubectl allows a context without a user: no credentials */
        user = NULL;
        ufile = cfile;
    } else {
        if (!find_named(files, n, "users", "user", kc->user_name, &user, &ufile)) {
            list_names(files, n, "users", names, sizeof(names));
            snprintf(err, errlen,
                     "user \"%s\" of context \"%s\" not found in the kubeconfig %s (users: %s)",
                     kc->user_name, name, fl, names);
            goto fail;
        }
    }
    if (json_object_get(user, "auth-provider")) {
        const char *ap = jstr(json_object_get(user, "auth-provider"), "name");

        snprintf(err, errlen,
                 "user \"%s\" in %s uses the auth-provider \"%s\", which kubectl no longer "
                 "supports and neither does spilo-agent; use an exec credential plugin (e.g. "
                 "gke-gcloud-auth-plugin, kubelogin)",
                 kc->user_name, ufile, ap ? ap : "?");
        goto fail;
    }
    if (jstr(user, "username") || jstr(user, "password")) {
        snprintf(err, errlen,
                 "user \"%s\" in %s uses basic authentication (username/password), which "
                 "spilo-agent does not send; use a token, a client certificate or an exec plugin",
                 kc->user_name, ufile);
        goto fail;
    }
    kc->token = dup_str(jstr(user, "token"));
    if (kc->token)
        secret_register(kc->token);
    kc->token_file = resolve_path(jstr(user, "tokenFile"), ufile);
    kc->cert_file = resolve_path(jstr(user, "client-certificate"), ufile);
    kc->key_file = resolve_path(jstr(user, "client-key"), ufile);
    if (take_b64(user, "client-certificate-data", kc->user_name, &kc->cert_pem, &kc->cert_pem_len,
                 err, errlen) < 0 ||
        take_b64(user, "client-key-data", kc->user_name, &kc->key_pem, &kc->key_pem_len, err,
                 errlen) < 0)
        goto fail;
    if (kc->key_pem)
        secret_register(kc->key_pem);
    if ((kc->cert_file || kc->cert_pem) != (kc->key_file || kc->key_pem)) {
        snprintf(err, errlen,
                 "user \"%s\" in %s has a client %s but no client %s; set both (data or file)",
                 kc->user_name, ufile, kc->cert_file || kc->cert_pem ? "certificate" : "key",
                 kc->cert_file || kc->cert_pem ? "key" : "certificate");
        goto fail;
    }
    if (json_is_object(json_object_get(user, "exec")) &&
        fill_exec(kc, json_object_get(user, "exec"), ufile, err, errlen) < 0)
        goto fail;
    *out = kc;
    return 0;
fail:
    kubeconfig_free(kc);
    return rc;
}

/* ---- exec credentials ---------------------------------------------------------------------- */

int kubeconfig_exec_parse(const char *out, size_t len, const char *api_version,
                          struct kubeconfig_cred *cred, char *err, size_t errlen)
{
    json_t *doc = json_loadb(out, len, 0, NULL), *st;
    const char *v, *kind, *tok, *cert, *key, *exp;
    int rc = -EINVAL;

    memset(cred, 0, sizeof(*cred));
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "its output is not an ExecCredential JSON object");
        goto out;
    }
    v = jstr(doc, "apiVersion");
    kind = jstr(doc, "kind");
    if (!kind || strcmp(kind, "ExecCredential") != 0) {
        snprintf(err, errlen, "its output is not of kind ExecCredential");
        goto out;
    }
    if (!v || strcmp(v, api_version) != 0) {
        snprintf(err, errlen,
                 "exec plugin is configured to use API version %s, plugin returned version %s",
                 api_version, v ? v : "(none)");
        goto out;
    }
    st = json_object_get(doc, "status");
    if (!json_is_object(st)) {
        snprintf(err, errlen, "its ExecCredential has no status");
        goto out;
    }
    tok = jstr(st, "token");
    cert = jstr(st, "clientCertificateData");
    key = jstr(st, "clientKeyData");
    exp = jstr(st, "expirationTimestamp");
    if (tok && !*tok)
        tok = NULL;
    if (cert && !*cert)
        cert = NULL;
    if (key && !*key)
        key = NULL;
    if (!tok && !cert && !key) {
        snprintf(err, errlen, "exec plugin didn't return a token or cert/key pair");
        goto out;
    }
    if (!!cert != !!key) {
        snprintf(err, errlen,
                 "exec plugin returned only %s; clientCertificateData and clientKeyData must "
                 "both be present",
                 cert ? "clientCertificateData" : "clientKeyData");
        goto out;
    }
    if (exp && *exp && util_parse_rfc3339(exp, &cred->expires_at_s, NULL) < 0) {
        snprintf(err, errlen, "its expirationTimestamp '%.40s' is not an RFC 3339 time", exp);
        goto out;
    }
    if (tok) {
        for (const char *p = tok; *p; p++) {
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
                snprintf(err, errlen, "its token has blanks or control characters");
                goto out;
            }
        }
        cred->token = xstrdup(tok);
        secret_register(cred->token);
    }
    if (cert) {
        cred->cert_pem = xstrdup(cert);
        cred->key_pem = xstrdup(key);
        secret_register(cred->key_pem);
    }
    rc = 0;
out:
    if (rc < 0)
        kubeconfig_cred_cleanup(cred);
    json_decref(doc);
    return rc;
}

char *kubeconfig_exec_info(const struct kubeconfig *kc, bool interactive)
{
    json_t *doc = json_object(), *spec = json_object();
    char *s;

    json_object_set_new(doc, "kind", json_string("ExecCredential"));
    json_object_set_new(
        doc, "apiVersion",
        json_string(kc->exec ? kc->exec->api_version : "client.authentication.k8s.io/v1"));
    json_object_set_new(spec, "interactive", json_boolean(interactive));
    if (kc->exec && kc->exec->provide_cluster_info) {
        json_t *cl = json_object();

        json_object_set_new(cl, "server", json_string(kc->server ? kc->server : ""));
        if (kc->ca_data_b64)
            json_object_set_new(cl, "certificate-authority-data", json_string(kc->ca_data_b64));
        if (kc->insecure)
            json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
        json_object_set_new(spec, "cluster", cl);
    }
    json_object_set_new(doc, "spec", spec);
    s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        abort();
    return s;
}

void kubeconfig_cred_cleanup(struct kubeconfig_cred *cred)
{
    if (!cred)
        return;
    if (cred->token)
        secret_forget(cred->token);
    secret_free(cred->token);
    free(cred->cert_pem);
    secret_free(cred->key_pem);
    memset(cred, 0, sizeof(*cred));
}

void kubeconfig_free(struct kubeconfig *kc)
{
    if (!kc)
        return;
    free(kc->files);
    free(kc->context);
    free(kc->cluster_name);
    free(kc->user_name);
    free(kc->namespace);
    free(kc->server);
    free(kc->ca_file);
    free(kc->ca_pem);
    free(kc->ca_data_b64);
    secret_free(kc->token);
    free(kc->token_file);
    free(kc->cert_file);
    free(kc->key_file);
    free(kc->cert_pem);
    secret_free(kc->key_pem);
    if (kc->exec) {
        free(kc->exec->api_version);
        free(kc->exec->command);
        strv_free(kc->exec->args);
        strv_free(kc->exec->env);
        free(kc->exec->install_hint);
        free(kc->exec->interactive_mode);
        free(kc->exec);
    }
    free(kc);
}

/* ---- files ----------------------------------------------------------------------------------- */

/* Reads and parses one file. Returns 0, -ENOENT (missing) or -EINVAL/-errno with err. */
static int read_file(const char *path, json_t **doc, char *err, size_t errlen)
{
    FILE *f;
    char *text, why[512];
    size_t n;
    struct stat st;
    int rc;

    *doc = NULL;
    f = fopen(path, "r");
    if (!f) {
        rc = -errno;
        if (rc != -ENOENT)
            snprintf(err, errlen, "cannot read the kubeconfig %s: %s", path, strerror(-rc));
        else
            snprintf(err, errlen, "the kubeconfig %s does not exist", path);
        return rc;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(err, errlen, "the kubeconfig %s is not a regular file", path);
        return -EINVAL;
    }
    text = xmalloc(KUBECONFIG_MAX_FILE_BYTES + 1);
    n = fread(text, 1, KUBECONFIG_MAX_FILE_BYTES + 1, f);
    rc = ferror(f) ? -EIO : 0;
    fclose(f);
    if (rc < 0 || n > KUBECONFIG_MAX_FILE_BYTES) {
        snprintf(err, errlen, "cannot read the kubeconfig %s: %s", path,
                 rc < 0 ? "read error" : "larger than 4 MiB");
        explicit_bzero(text, KUBECONFIG_MAX_FILE_BYTES + 1);
        free(text);
        return rc < 0 ? rc : -EFBIG;
    }
    rc = kubeconfig_yaml_parse(text, n, doc, why, sizeof(why));
    explicit_bzero(text, n);
    free(text);
    if (rc < 0) {
        snprintf(err, errlen, "the kubeconfig %s is %s", path, why);
        return rc;
    }
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        snprintf(err, errlen,
                 "the kubeconfig %s is not a YAML mapping (apiVersion: v1, kind: "
                 "Config)",
                 path);
        return -EINVAL;
    }
    return 0;
}

int kubeconfig_load(const char *explicit_path, const char *kubeconfig_env, const char *home,
                    const char *context, struct kubeconfig **out, char *err, size_t errlen)
{
    struct kubeconfig_file files[32];
    json_t *docs[32];
    char *paths[32];
    size_t n = 0;
    int rc = 0;

    *out = NULL;
    if (explicit_path && *explicit_path) {
        rc = read_file(explicit_path, &docs[0], err, errlen);
        if (rc < 0)
            return rc == -ENOENT ? -EINVAL : rc; /* an explicit file must exist */
        paths[n++] = xstrdup(explicit_path);
    } else if (kubeconfig_env && *kubeconfig_env) {
        char *list = xstrdup(kubeconfig_env), *save = NULL;

        for (char *p = strtok_r(list, ":", &save); p && n < 32; p = strtok_r(NULL, ":", &save)) {
            bool seen = false;

            for (size_t i = 0; i < n; i++)
                seen = seen || strcmp(paths[i], p) == 0;
            if (seen)
                continue;
            rc = read_file(p, &docs[n], err, errlen);
            if (rc == -ENOENT)
                continue; /* client-go skips missing files of KUBECONFIG */
            if (rc < 0)
                break;
            paths[n++] = xstrdup(p);
        }
        free(list);
        if (rc < 0 && rc != -ENOENT)
            goto out;
        if (n == 0) {
            snprintf(err, errlen, "none of the KUBECONFIG files exists (%s)", kubeconfig_env);
            rc = -ENOENT;
            goto out;
        }
    } else {
        char *p;

        if (!home || !*home) {
            snprintf(err, errlen,
                     "no kubeconfig: --kubeconfig and KUBECONFIG are unset and "
                     "HOME is not set");
            return -ENOENT;
        }
        p = xasprintf("%s/.kube/config", home);
        rc = read_file(p, &docs[0], err, errlen);
        if (rc < 0) {
            free(p);
            if (rc == -ENOENT)
                snprintf(err, errlen,
                         "no kubeconfig: --kubeconfig and KUBECONFIG are unset "
                         "and %s/.kube/config does not exist",
                         home);
            return rc;
        }
        paths[n++] = p;
    }
    for (size_t i = 0; i < n; i++) {
        files[i].path = paths[i];
        files[i].doc = docs[i];
    }
    rc = kubeconfig_select(files, n, context, out, err, errlen);
out:
    for (size_t i = 0; i < n; i++) {
        json_decref(docs[i]);
        free(paths[i]);
    }
    return rc;
}

/* ---- running the plugin ---------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* environ + the plugin's env (which wins) + KUBERNETES_EXEC_INFO. */
static char **exec_env(const struct kubeconfig *kc, const char *info)
{
    size_t n = 0, k = 0, extra = 0;
    char **v;

    while (environ && environ[n])
        n++;
    while (kc->exec->env[extra])
        extra++;
    v = xcalloc(n + extra + 2, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool over = nl == 20 && strncmp(environ[i], "KUBERNETES_EXEC_INFO", 20) == 0;

        for (size_t j = 0; j < extra && !over; j++)
            over = strncmp(kc->exec->env[j], environ[i], nl) == 0 && kc->exec->env[j][nl] == '=';
        if (!over)
            v[k++] = xstrdup(environ[i]);
    }
    for (size_t j = 0; j < extra; j++)
        v[k++] = xstrdup(kc->exec->env[j]);
    v[k++] = xasprintf("KUBERNETES_EXEC_INFO=%s", info);
    return v;
}

static void first_line(const struct buf *b, char *out, size_t len)
{
    size_t i = 0;

    while (i < b->len && (b->data[i] == '\n' || b->data[i] == '\r'))
        i++;
    {
        size_t j = i;
        char *line;

        while (j < b->len && b->data[j] != '\n' && b->data[j] != '\r')
            j++;
        line = xstrndup(b->data + i, j - i);
        secret_scrub(line);
        for (char *p = line; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        }
        util_utf8_repair(line);
        snprintf(out, len, "%.300s", line);
        free(line);
    }
}

int kubeconfig_exec_run(const struct kubeconfig *kc, long timeout_ms, struct kubeconfig_cred *cred,
                        char *err, size_t errlen)
{
    const struct kubeconfig_exec *e = kc->exec;
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0, rc;
    bool interactive = strcmp(e->interactive_mode, "Never") != 0 && isatty(STDIN_FILENO);
    posix_spawn_file_actions_t fa;
    struct buf bo, be;
    char **argv, **envp, *info, why[512], line[400];
    size_t nargs = 0;
    pid_t pid;
    int64_t deadline;
    bool timed_out = false;

    memset(cred, 0, sizeof(*cred));
    if (strcmp(e->interactive_mode, "Always") == 0 && !interactive) {
        snprintf(err, errlen,
                 "the exec credential plugin %s of user \"%s\" needs an interactive terminal "
                 "(interactiveMode: Always), but standard input is not a terminal",
                 e->command, kc->user_name);
        return -EINVAL;
    }
    while (e->args[nargs])
        nargs++;
    argv = xcalloc(nargs + 2, sizeof(char *));
    argv[0] = e->command;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = e->args[i];
    info = kubeconfig_exec_info(kc, interactive);
    envp = exec_env(kc, info);
    free(info);
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        abort();
    posix_spawn_file_actions_init(&fa);
    if (!interactive)
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
    /* an interactive plugin (a login prompt) talks to the terminal, as under kubectl */
    if (!interactive)
        posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
    rc = posix_spawnp(&pid, e->command, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(outp[1]);
    close(errp[1]);
    strv_free(envp);
    free(argv);
    if (rc != 0) {
        close(outp[0]);
        close(errp[0]);
        snprintf(err, errlen,
                 "the exec credential plugin of user \"%s\" (context \"%s\") cannot be run: "
                 "executable %s %s%s%s",
                 kc->user_name, kc->context, e->command, rc == ENOENT ? "not found" : strerror(rc),
                 e->install_hint ? "; " : "", e->install_hint ? e->install_hint : "");
        return -rc;
    }
    buf_init(&bo, EXEC_MAX_OUT);
    buf_init(&be, 64u << 10);
    deadline = mono_ms() + timeout_ms;
    for (int open_fds = 2; open_fds > 0;) {
        struct pollfd pf[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
        int64_t left = deadline - mono_ms();
        int pr;

        if (left <= 0) {
            timed_out = true;
            break;
        }
        pr = poll(pf, 2, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2 && pr > 0; i++) {
            char chunk[4096];
            ssize_t got;

            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = read(pf[i].fd, chunk, sizeof(chunk));
            if (got > 0) {
                buf_append(i == 0 ? &bo : &be, chunk, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(pf[i].fd);
                if (i == 0)
                    outp[0] = -1;
                else
                    errp[0] = -1;
                open_fds--;
            }
        }
    }
    if (outp[0] >= 0)
        close(outp[0]);
    if (errp[0] >= 0)
        close(errp[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rc = 0;
    if (timed_out) {
        snprintf(err, errlen,
                 "the exec credential plugin %s of user \"%s\" (context \"%s\") did not finish "
                 "within %ld ms and was killed",
                 e->command, kc->user_name, kc->context, timeout_ms);
        rc = -ETIMEDOUT;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && be.len == 0) {
        /* posix_spawnp reported the exec failure through the child (a fork-based spawn) */
        snprintf(err, errlen,
                 "the exec credential plugin of user \"%s\" (context \"%s\") cannot be run: "
                 "executable %s not found%s%s",
                 kc->user_name, kc->context, e->command, e->install_hint ? "; " : "",
                 e->install_hint ? e->install_hint : "");
        rc = -ENOENT;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        first_line(&be, line, sizeof(line));
        if (WIFEXITED(status))
            snprintf(why, sizeof(why), "exit code %d", WEXITSTATUS(status));
        else
            snprintf(why, sizeof(why), "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        snprintf(err, errlen,
                 "getting credentials: the exec credential plugin %s of user \"%s\" (context "
                 "\"%s\") failed with %s%s%s",
                 e->command, kc->user_name, kc->context, why, *line ? ": " : "", line);
        rc = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
    } else if (bo.overflow) {
        snprintf(err, errlen, "the exec credential plugin %s wrote more than 1 MiB", e->command);
        rc = -EIO;
    } else if (kubeconfig_exec_parse(bo.data ? bo.data : "", bo.len, e->api_version, cred, why,
                                     sizeof(why)) < 0) {
        snprintf(err, errlen,
                 "getting credentials: the exec credential plugin %s of user \"%s\" (context "
                 "\"%s\") gave a bad answer: %s",
                 e->command, kc->user_name, kc->context, why);
        rc = -EPROTO; /* the plugin's fault, not the configuration's */
    }
    if (bo.data)
        explicit_bzero(bo.data, bo.len);
    buf_cleanup(&bo);
    buf_cleanup(&be);
    if (rc < 0)
        secret_scrub(err);
    return rc;
}

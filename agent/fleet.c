/* fleet.c - owns the `status` command's work: the pod listing, one pod-proxy GET of /status per
 * pod (a few at a time, each with the Kubernetes client's deadline), the rows and their table,
 * JSON and YAML renderings. It never talks to a pod directly: everything goes through the API
 * server, so it works from a laptop with nothing but a kubeconfig. */
#include "fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_defs.h"
#include "k8s.h"
#include "util.h"
#include "yaml.h"

int fleet_output_parse(const char *s, enum fleet_output *out)
{
    if (!s || !*s || strcmp(s, "table") == 0)
        *out = FLEET_OUT_TABLE;
    else if (strcmp(s, "wide") == 0)
        *out = FLEET_OUT_WIDE;
    else if (strcmp(s, "json") == 0)
        *out = FLEET_OUT_JSON;
    else if (strcmp(s, "yaml") == 0)
        *out = FLEET_OUT_YAML;
    else
        return -EINVAL;
    return 0;
}

/* ---- pure parts ------------------------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *label(const json_t *pod, const char *key)
{
    return jstr(json_object_get(json_object_get(pod, "metadata"), "labels"), key);
}

int fleet_agent_port(const json_t *pod)
{
    const json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers"), *c;
    int found = 0;
    bool sidecar = false;
    size_t i;

    json_array_foreach(cs, i, c)
    {
        const json_t *ports = json_object_get(c, "ports"), *p;
        const char *cname = jstr(c, "name");
        size_t j;

        if (cname && strcmp(cname, "spilo-agent") == 0)
            sidecar = true;
        json_array_foreach(ports, j, p)
        {
            const char *pn = jstr(p, "name");
            json_int_t port = json_integer_value(json_object_get(p, "containerPort"));

            if (!pn || strcmp(pn, FLEET_PORT_NAME) != 0 || port <= 0 || port > 65535)
                continue;
            if (cname && strcmp(cname, "spilo-agent") == 0)
                return (int)port;
            if (!found)
                found = (int)port;
        }
    }
    if (found)
        return found;
    return sidecar || !json_is_array(cs) ? FLEET_DEFAULT_PORT : -1;
}

void fleet_format_age(int64_t s, char *out, size_t len)
{
    if (s < 0)
        snprintf(out, len, "-");
    else if (s < 120)
        snprintf(out, len, "%llds", (long long)s);
    else if (s < 120 * 60)
        snprintf(out, len, "%lldm", (long long)(s / 60));
    else if (s < 48 * 3600)
        snprintf(out, len, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, len, "%lldd", (long long)(s / 86400));
}

static bool parse_time(const json_t *v, int64_t *t)
{
    const char *s = json_string_value(v);

    return s && util_parse_rfc3339(s, t, NULL) == 0;
}

/* The recovery window: the backups check's details.wal_chain.window.first_recoverability_at
 * (walchain.c) up to now; else wherever a check reports details.recovery_window: seconds, an
 * object with "seconds", or with the oldest restorable instant ("from", "start", "oldest"). */
static bool window_seconds(const json_t *checks, int64_t now_s, int64_t *out)
{
    const char *name;
    const json_t *c;
    int64_t first;

    const json_t *details = json_object_get(json_object_get(checks, "backups"), "details");
    const json_t *window = json_object_get(json_object_get(details, "wal_chain"), "window");

    if (parse_time(json_object_get(window, "first_recoverability_at"), &first)) {
        *out = now_s - first;
        return true;
    }
    json_object_foreach((json_t *)checks, name, c)
    {
        const json_t *w = json_object_get(json_object_get(c, "details"), "recovery_window");
        int64_t t;

        if (json_is_integer(w) || json_is_real(w)) {
            *out = (int64_t)json_number_value(w);
            return true;
        }
        if (!json_is_object(w))
            continue;
        if (json_is_number(json_object_get(w, "seconds"))) {
            *out = (int64_t)json_number_value(json_object_get(w, "seconds"));
            return true;
        }
        if (parse_time(json_object_get(w, "from"), &t) ||
            parse_time(json_object_get(w, "start"), &t) ||
            parse_time(json_object_get(w, "oldest"), &t)) {
            *out = now_s - t;
            return true;
        }
    }
    return false;
}

static int verdict_rank(const char *s)
{
    static const char *const names[] = {"ok", "warning", "critical", "unknown"};

    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, names[i]) == 0)
            return i;
    }
    return VERDICT_UNKNOWN;
}

json_t *fleet_row(const json_t *pod, const json_t *status, const char *error, int64_t now_s)
{
    const json_t *meta = json_object_get(pod, "metadata");
    json_t *row = json_object(), *checks = json_object();
    const char *v;
    int64_t now = now_s, t, w;

    json_object_set_new(row, "namespace", json_string(jstr(meta, "namespace") ?: ""));
    json_object_set_new(row, "pod", json_string(jstr(meta, "name") ?: ""));
    v = label(pod, "cluster-name");
    json_object_set_new(row, "cluster", v ? json_string(v) : json_null());
    v = label(pod, "spilo-role");
    json_object_set_new(row, "role", v ? json_string(v) : json_null());
    if (!status) {
        json_object_set_new(row, "status", json_string("unknown"));
        json_object_set_new(row, "checks", checks);
        json_object_set_new(row, "error", json_string(error ? error : "no answer"));
        return row;
    }
    if (parse_time(json_object_get(status, "now"), &t))
        now = t;
    {
        const json_t *cs = json_object_get(status, "checks"), *c;
        const char *name, *worst_summary = NULL;
        enum verdict all = VERDICT_OK;
        bool any = false;

        json_object_foreach((json_t *)cs, name, c)
        {
            const char *st = jstr(c, "status");
            enum verdict cv = (enum verdict)verdict_rank(st);

            json_object_set_new(checks, name, json_string(st ? st : "unknown"));
            /* the summary worth reading first: the worst check's (the first of equals) */
            if (!any || (cv != all && verdict_worst(all, cv) == cv)) {
                worst_summary = jstr(c, "summary");
                all = cv;
            }
            any = true;
        }
        v = jstr(status, "status");
        json_object_set_new(row, "status",
                            json_string(v ? v : (any ? verdict_name(all) : "unknown")));
        json_object_set_new(row, "checks", checks);
        json_object_set_new(row, "summary",
                            worst_summary && all != VERDICT_OK ? json_string(worst_summary)
                                                               : json_null());
        json_object_set_new(row, "agent_version",
                            jstr(status, "version") ? json_string(jstr(status, "version"))
                                                    : json_null());
        if (!jstr(row, "role") && jstr(status, "role"))
            json_object_set_new(row, "role", json_string(jstr(status, "role")));
        {
            const json_t *d = json_object_get(json_object_get(cs, "backups"), "details");
            const json_t *latest = json_object_get(d, "latest");

            if (parse_time(json_object_get(latest, "finish_time"), &t)) {
                json_object_set_new(row, "last_backup_at",
                                    json_string(jstr(latest, "finish_time")));
                json_object_set_new(row, "last_backup_age_seconds", json_integer(now - t));
            } else {
                json_object_set_new(row, "last_backup_at", json_null());
                json_object_set_new(row, "last_backup_age_seconds", json_null());
            }
            if (parse_time(json_object_get(d, "next_scheduled_at"), &t)) {
                json_object_set_new(row, "next_backup_at",
                                    json_string(jstr(d, "next_scheduled_at")));
                json_object_set_new(row, "next_backup_in_seconds", json_integer(t - now));
            } else {
                json_object_set_new(row, "next_backup_at", json_null());
                json_object_set_new(row, "next_backup_in_seconds", json_null());
            }
        }
        json_object_set_new(row, "recovery_window_seconds",
                            window_seconds(cs, now, &w) ? json_integer(w) : json_null());
    }
    return row;
}

enum verdict fleet_worst(const json_t *rows)
{
    enum verdict all = VERDICT_UNKNOWN;
    const json_t *r;
    size_t i;

    json_array_foreach(rows, i, r)
    {
        enum verdict v = (enum verdict)verdict_rank(jstr(r, "status"));

        all = i == 0 ? v : verdict_worst(all, v);
    }
    return all;
}

/* ---- rendering ------------------------------------------------------------------------------- */

#define MAX_COLS 24

struct table {
    size_t ncols;
    const char *head[MAX_COLS];
    size_t width[MAX_COLS];
    char ***cells; /* per row: ncols strings */
    size_t nrows;
};

static void upper_dash(const char *in, char *out, size_t len)
{
    size_t i = 0;

    for (; in[i] && i + 1 < len; i++)
        out[i] = in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 32) : (in[i] == '_' ? '-' : in[i]);
    out[i] = '\0';
}

static void num_age(const json_t *v, bool future, char *out, size_t len)
{
    if (!json_is_integer(v)) {
        snprintf(out, len, "-");
        return;
    }
    if (future && json_integer_value(v) < 0) {
        char a[32];

        fleet_format_age(-json_integer_value(v), a, sizeof(a));
        snprintf(out, len, "overdue %s", a);
        return;
    }
    fleet_format_age(json_integer_value(v), out, len);
    if (future && strcmp(out, "-") != 0) {
        char a[32];

        snprintf(a, sizeof(a), "in %s", out);
        snprintf(out, len, "%s", a);
    }
}

static char *cell_text(const char *s)
{
    return xstrdup(s && *s ? s : "-");
}

static void render_table(struct buf *out, const json_t *rows, bool wide, bool show_ns)
{
    const char *check_names[MAX_COLS];
    char heads[MAX_COLS][32];
    size_t n_checks = 0, ncols = 0, i;
    const json_t *r;
    const char *cols[MAX_COLS];
    size_t width[MAX_COLS];
    char ***cells;

    for (size_t k = 0; k < check_defs_count && n_checks < 8; k++)
        check_names[n_checks++] = check_defs[k]->name;
    /* checks an agent reports that this build does not know (a newer agent) */
    json_array_foreach(rows, i, r)
    {
        const char *name;
        const json_t *x;

        json_object_foreach(json_object_get(r, "checks"), name, x)
        {
            bool known = false;

            for (size_t k = 0; k < n_checks; k++)
                known = known || strcmp(check_names[k], name) == 0;
            if (!known && n_checks < 12)
                check_names[n_checks++] = name;
        }
    }
    if (show_ns)
        cols[ncols++] = "NAMESPACE";
    cols[ncols++] = "CLUSTER";
    cols[ncols++] = "POD";
    cols[ncols++] = "ROLE";
    cols[ncols++] = "STATUS";
    for (size_t k = 0; k < n_checks; k++) {
        upper_dash(check_names[k], heads[k], sizeof(heads[k]));
        cols[ncols++] = heads[k];
    }
    cols[ncols++] = "LAST-BACKUP";
    cols[ncols++] = "NEXT-DUE";
    cols[ncols++] = "WINDOW";
    if (wide) {
        cols[ncols++] = "AGENT";
        cols[ncols++] = "MESSAGE";
    }
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c]);
    cells = xcalloc(json_array_size(rows) + 1, sizeof(*cells));
    json_array_foreach(rows, i, r)
    {
        size_t c = 0;
        char buf[64];
        const char *msg;

        cells[i] = xcalloc(ncols, sizeof(char *));
#define CELL(s) cells[i][c++] = cell_text(s)
        if (show_ns)
            CELL(jstr(r, "namespace"));
        CELL(jstr(r, "cluster"));
        CELL(jstr(r, "pod"));
        CELL(jstr(r, "role"));
        CELL(jstr(r, "status"));
        for (size_t k = 0; k < n_checks; k++)
            CELL(jstr(json_object_get(r, "checks"), check_names[k]));
        num_age(json_object_get(r, "last_backup_age_seconds"), false, buf, sizeof(buf));
        CELL(buf);
        num_age(json_object_get(r, "next_backup_in_seconds"), true, buf, sizeof(buf));
        CELL(buf);
        num_age(json_object_get(r, "recovery_window_seconds"), false, buf, sizeof(buf));
        CELL(buf);
        if (wide) {
            CELL(jstr(r, "agent_version"));
            msg = jstr(r, "error") ? jstr(r, "error") : jstr(r, "summary");
            CELL(msg);
        }
#undef CELL
        for (size_t k = 0; k < ncols; k++) {
            size_t l = strlen(cells[i][k]);

            if (l > width[k] && !(wide && k == ncols - 1))
                width[k] = l;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        if (c + 1 < ncols)
            buf_printf(out, "%-*s   ", (int)width[c], cols[c]);
        else
            buf_printf(out, "%s\n", cols[c]);
    json_array_foreach(rows, i, r)
    {
        for (size_t c = 0; c < ncols; c++)
            if (c + 1 < ncols)
                buf_printf(out, "%-*s   ", (int)width[c], cells[i][c]);
            else
                buf_printf(out, "%s\n", cells[i][c]);
        for (size_t c = 0; c < ncols; c++)
            free(cells[i][c]);
        free(cells[i]);
    }
    free(cells);
}

void fleet_render(struct buf *out, const json_t *rows, enum fleet_output output, bool show_ns)
{
    json_t *doc;
    char *s;

    if (output == FLEET_OUT_TABLE || output == FLEET_OUT_WIDE) {
        render_table(out, rows, output == FLEET_OUT_WIDE, show_ns);
        return;
    }
    doc = json_object();
    json_object_set_new(doc, "status", json_string(verdict_name(fleet_worst(rows))));
    json_object_set(doc, "pods", (json_t *)rows);
    if (output == FLEET_OUT_JSON) {
        s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            abort();
        buf_puts(out, s);
        buf_puts(out, "\n");
        free(s);
    } else {
        yaml_emit(out, doc);
    }
    json_decref(doc);
}

/* ---- the run -----------------------------------------------------------------------------------
 */

struct fleet_ask {
    struct fleet *f;
    size_t index;
    struct k8s_call *call;
    bool done;
};

struct fleet {
    struct k8s_client *kc;
    struct fleet_opts opts;
    char *namespace;
    fleet_done_fn cb;
    void *arg;
    struct k8s_call *list_call;
    json_t *pods; /* the listed items */
    json_t *rows; /* one per pod, filled as answers come */
    struct fleet_ask *asks;
    size_t next, in_flight, n_done;
    bool finished;
};

static void finish(struct fleet *f, int rc, const char *error)
{
    struct fleet_result res = {.rc = rc,
                               .error = error,
                               .rows = f->rows,
                               .namespace = f->opts.all_namespaces ? "" : f->namespace};

    f->finished = true;
    f->cb(&res, f->arg);
}

static void ask_next(struct fleet *f);

static void status_cb(const struct k8s_reply *rep, void *arg)
{
    struct fleet_ask *a = arg;
    struct fleet *f = a->f;
    const json_t *pod = json_array_get(f->pods, a->index);
    char why[1200];

    a->call = NULL;
    a->done = true;
    f->in_flight--;
    f->n_done++;
    if (rep->rc == 0) {
        json_array_set_new(f->rows, a->index, fleet_row(pod, rep->object, NULL, util_now_s()));
    } else {
        snprintf(why, sizeof(why), "the agent did not answer through the pod proxy: %s",
                 rep->error);
        json_array_set_new(f->rows, a->index, fleet_row(pod, NULL, why, util_now_s()));
    }
    ask_next(f);
}

static void ask_next(struct fleet *f)
{
    size_t n = json_array_size(f->pods);

    while (f->next < n && f->in_flight < FLEET_PARALLEL) {
        size_t i = f->next++;
        const json_t *pod = json_array_get(f->pods, i);
        const json_t *meta = json_object_get(pod, "metadata");
        const char *phase = jstr(json_object_get(pod, "status"), "phase");
        char name[320], err[1024];
        struct k8s_ref ref = {.resource = "pods",
                              .kind = "Pod",
                              .namespace = jstr(meta, "namespace"),
                              .name = name,
                              .subresource = "proxy/status"};

        if (phase && strcmp(phase, "Running") != 0) {
            snprintf(err, sizeof(err), "the pod is %s", phase);
            json_array_set_new(f->rows, i, fleet_row(pod, NULL, err, util_now_s()));
            f->n_done++;
            continue;
        }
        if (fleet_agent_port(pod) < 0) {
            snprintf(err, sizeof(err),
                     "the pod has no spilo-agent sidecar (no container spilo-agent, no container "
                     "port named %s); add it to the operator configuration (docs/install.md)",
                     FLEET_PORT_NAME);
            json_array_set_new(f->rows, i, fleet_row(pod, NULL, err, util_now_s()));
            f->n_done++;
            continue;
        }
        snprintf(name, sizeof(name), "%s:%d", jstr(meta, "name") ?: "", fleet_agent_port(pod));
        f->asks[i].f = f;
        f->asks[i].index = i;
        if (k8s_request(f->kc, K8S_GET, &ref, NULL, status_cb, &f->asks[i], &f->asks[i].call, err,
                        sizeof(err)) < 0) {
            json_array_set_new(f->rows, i, fleet_row(pod, NULL, err, util_now_s()));
            f->n_done++;
            continue;
        }
        f->in_flight++;
    }
    if (!f->finished && f->n_done == n)
        finish(f, 0, NULL);
}

static int cmp_pods(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const json_t *mx = json_object_get(x, "metadata"), *my = json_object_get(y, "metadata");
    int c = strcmp(jstr(mx, "namespace") ?: "", jstr(my, "namespace") ?: "");

    if (c)
        return c;
    c = strcmp(label(x, "cluster-name") ?: "", label(y, "cluster-name") ?: "");
    return c ? c : strcmp(jstr(mx, "name") ?: "", jstr(my, "name") ?: "");
}

static void listed_cb(const struct k8s_reply *rep, void *arg)
{
    struct fleet *f = arg;
    const json_t *items;
    json_t **v;
    size_t n;

    f->list_call = NULL;
    if (rep->rc < 0) {
        finish(f, rep->rc, rep->error);
        return;
    }
    items = json_object_get(rep->object, "items");
    n = json_array_size(items);
    v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(items, i);
    qsort(v, n, sizeof(*v), cmp_pods);
    f->pods = json_array();
    f->rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append(f->pods, v[i]);
        json_array_append_new(f->rows, json_null());
    }
    free(v);
    f->asks = xcalloc(n + 1, sizeof(*f->asks));
    ask_next(f);
}

int fleet_start(struct curlm *cm, const struct config *cfg, const struct fleet_opts *o,
                fleet_done_fn cb, void *arg, struct fleet **out, char *err, size_t errlen)
{
    struct fleet *f;
    struct k8s_ref ref = {.resource = "pods", .kind = "Pod", .label_selector = FLEET_SELECTOR};
    int rc;

    *out = NULL;
    f = xcalloc(1, sizeof(*f));
    rc = k8s_client_new(cm, cfg, &f->kc, err, errlen);
    if (rc < 0) {
        free(f);
        return rc;
    }
    f->opts = *o;
    f->namespace =
        xstrdup(o->namespace && *o->namespace ? o->namespace : k8s_client_namespace(f->kc));
    f->cb = cb;
    f->arg = arg;
    if (!o->all_namespaces)
        ref.namespace = f->namespace;
    rc = k8s_request(f->kc, K8S_GET, &ref, NULL, listed_cb, f, &f->list_call, err, errlen);
    if (rc < 0) {
        fleet_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

struct fleet_query {
    struct k8s_client *kc;
    struct k8s_call *call;
    char *cluster;
    char pod[300];
    fleet_pod_status_fn cb;
    void *arg;
};

static void query_status_cb(const struct k8s_reply *rep, void *arg)
{
    struct fleet_query *q = arg;
    char why[1400];

    q->call = NULL;
    if (rep->rc < 0) {
        snprintf(why, sizeof(why), "the agent of pod %s did not answer through the pod proxy: %s",
                 q->pod, rep->error);
        q->cb(rep->rc, NULL, q->pod, why, q->arg);
        return;
    }
    q->cb(0, rep->object, q->pod, NULL, q->arg);
}

static void query_listed_cb(const struct k8s_reply *rep, void *arg)
{
    struct fleet_query *q = arg;
    const json_t *items, *p, *pick = NULL;
    char err[1024], name[320];
    size_t i;
    struct k8s_ref ref = {.resource = "pods",
                          .kind = "Pod",
                          .namespace = k8s_client_namespace(q->kc),
                          .name = name,
                          .subresource = "proxy/status"};
    int rc;

    q->call = NULL;
    if (rep->rc < 0) {
        q->cb(rep->rc, NULL, NULL, rep->error, q->arg);
        return;
    }
    items = json_object_get(rep->object, "items");
    json_array_foreach(items, i, p)
    {
        const char *phase = jstr(json_object_get(p, "status"), "phase");
        const char *role = label(p, "spilo-role");

        if ((phase && strcmp(phase, "Running") != 0) || fleet_agent_port(p) < 0)
            continue;
        if (!pick || (role && (strcmp(role, "master") == 0 || strcmp(role, "primary") == 0)))
            pick = p;
    }
    if (!pick) {
        snprintf(err, sizeof(err),
                 "no running pod of cluster %s with the agent in namespace %s (labels %s, "
                 "cluster-name=%s); check the cluster name and the namespace (-n is "
                 "[kubernetes] namespace or the kubeconfig context's)",
                 q->cluster, k8s_client_namespace(q->kc), FLEET_SELECTOR, q->cluster);
        q->cb(-ENOENT, NULL, NULL, err, q->arg);
        return;
    }
    snprintf(q->pod, sizeof(q->pod), "%s", jstr(json_object_get(pick, "metadata"), "name") ?: "");
    snprintf(name, sizeof(name), "%s:%d", q->pod, fleet_agent_port(pick));
    rc = k8s_request(q->kc, K8S_GET, &ref, NULL, query_status_cb, q, &q->call, err, sizeof(err));
    if (rc < 0)
        q->cb(rc, NULL, q->pod, err, q->arg);
}

int fleet_query_cluster(struct curlm *cm, const struct config *cfg, const char *cluster,
                        fleet_pod_status_fn cb, void *arg, struct fleet_query **out, char *err,
                        size_t errlen)
{
    struct fleet_query *q = xcalloc(1, sizeof(*q));
    char sel[400];
    struct k8s_ref ref = {.resource = "pods", .kind = "Pod", .label_selector = sel};
    int rc;

    *out = NULL;
    rc = k8s_client_new(cm, cfg, &q->kc, err, errlen);
    if (rc < 0) {
        free(q);
        return rc;
    }
    q->cluster = xstrdup(cluster);
    q->cb = cb;
    q->arg = arg;
    snprintf(sel, sizeof(sel), "%s,cluster-name=%s", FLEET_SELECTOR, cluster);
    ref.namespace = k8s_client_namespace(q->kc);
    rc = k8s_request(q->kc, K8S_GET, &ref, NULL, query_listed_cb, q, &q->call, err, errlen);
    if (rc < 0) {
        fleet_query_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

void fleet_query_free(struct fleet_query *q)
{
    if (!q)
        return;
    k8s_call_cancel(q->call);
    k8s_client_free(q->kc);
    free(q->cluster);
    free(q);
}

void fleet_free(struct fleet *f)
{
    size_t n;

    if (!f)
        return;
    k8s_call_cancel(f->list_call);
    n = json_array_size(f->pods);
    for (size_t i = 0; f->asks && i < n; i++) {
        if (f->asks[i].call)
            k8s_call_cancel(f->asks[i].call);
    }
    free(f->asks);
    json_decref(f->pods);
    json_decref(f->rows);
    free(f->namespace);
    k8s_client_free(f->kc);
    free(f);
}

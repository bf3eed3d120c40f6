/* main.c - the command line: argv -> subcommand, exit codes (SPEC section 2). `check` runs every
 * selected check once on a loop of its own and prints the report or the /status JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "causes.h"
#include "check.h"
#include "check_defs.h"
#include "cleanup.h"
#include "config.h"
#include "curlm.h"
#include "fleet.h"
#include "install.h"
#include "daemon.h"
#include "check_backups.h"
#include "log.h"
#include "walg_s3.h"
#include "report.h"
#include "status.h"
#include "util.h"

extern char **environ;

#define EXIT_USAGE  64
#define EXIT_CONFIG 78
#define MAX_SETS    64

static const char usage_main[] =
    "Usage: spilo-agent COMMAND [OPTIONS]\n"
    "\n"
    "Watches a Spilo pod's WAL-G backups to S3, pg_hba and restores, and serves the answers over\n"
    "HTTP (/livez, /readyz, /status, /checks/NAME, /metrics).\n"
    "\n"
    "Commands:\n"
    "  run       run the agent (event loop, periodic checks, HTTP endpoint)\n"
    "  check     run every check once and print a report (Nagios exit codes)\n"
    "  install   install the cluster-level resources\n"
    "  cleanup   remove CLONE_* settings after a finished restore\n"
    "  status    every Spilo pod's agent status, through the Kubernetes API (fleet view)\n"
    "  version   print the version\n"
    "\n"
    "Common options:\n"
    "  -c, --config FILE       INI configuration file (default: none, built-in defaults)\n"
    "  --set SECTION.KEY=VALUE override one configuration key (repeatable)\n"
    "  -h, --help              help for the command\n"
    "\n"
    "Configuration precedence: --set > SPILO_AGENT_<SECTION>_<KEY> > file > default.\n"
    "install, cleanup and status find the API server as kubectl does: --kubeconfig FILE, else\n"
    "KUBECONFIG, else ~/.kube/config (--context NAME, default current-context), else the\n"
    "in-cluster service account (docs/kubeconfig.md).\n"
    "Keys: spilo-agent --help-config, or docs/config.md.\n"
    "Critical causes and their alerts: spilo-agent --help-causes, or docs/checks/catalogue.md.\n";

static const char usage_run[] =
    "Usage: spilo-agent run [-c FILE] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Runs the agent. SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the configuration (a bad\n"
    "configuration keeps the running one and logs why).\n"
    "Exit status: 0 clean stop, 78 configuration error at start, 1 other failure.\n";

static const char usage_check[] =
    "Usage: spilo-agent check [-c FILE] [--json] [--format text|json|nagios] [--only NAME[,NAME]]\n"
    "                         [--now RFC3339] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Runs every check once and prints a report, or the /status JSON with --json.\n"
    "  --format F    text (the report), json (= --json) or nagios: one plugin line\n"
    "                'SPILO-AGENT CRITICAL - <summary> | <perfdata>' for Icinga/Nagios\n"
    "  --only NAMES  only these checks (comma separated)\n"
    "  --now TIME    evaluate schedules and freshness at TIME, e.g. 2025-03-10T09:30:00Z\n"
    "  --color       colour the report (default: when stdout is a terminal)\n"
    "Exit status: 0 all ok, 1 worst is warning, 2 worst is critical, 3 a check could not run\n"
    "(critical > warning > unknown > ok, as monitoring-plugins' max_state_alt), 64 usage error,\n"
    "78 configuration error.\n";

static const char usage_install[] =
    "Usage: spilo-agent install [-c FILE] [--mode backup|restore] [--dry-run]\n"
    "                           [--kubeconfig FILE] [--context NAME] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Applies the cluster-level resources from the [install] section with server-side apply\n"
    "(field manager spilo-agent), in this order: namespace(s), the pod-config ConfigMap with the\n"
    "WAL-G settings, the credentials Secret, RBAC for the sidecar, the operator configuration\n"
    "(Spilo image, pod_environment_configmap, the spilo-agent sidecar), pg_hba in the postgresql\n"
    "resource, PodMonitor and PrometheusRule (when the Prometheus Operator CRDs exist); then\n"
    "restarts the operator pod when its configuration changed. One line per resource on stdout:\n"
    "  <Kind> <namespace>/<name>: created|configured|unchanged|failed: <why>|skipped: <why>\n"
    "  --mode backup   the default\n"
    "  --mode restore  also the CLONE_* settings, after checking that the source prefix in S3\n"
    "                  holds a base backup, and copies of the source cluster's credentials\n"
    "                  Secrets for the new cluster; refuses (nothing applied) otherwise\n"
    "  --dry-run       print the objects as YAML documents (Secret data as ***); contact nothing\n"
    "  --kubeconfig FILE  kubeconfig to use (default: KUBECONFIG, ~/.kube/config, in-cluster)\n"
    "  --context NAME     kubeconfig context (default: its current-context)\n"
    "Keys: docs/installer.md and docs/config.md ([install]).\n"
    "Exit status: 0 all applied, 1 a resource failed (the others are still applied and\n"
    "reported) or the run was refused, 64 usage error, 78 configuration error.\n";

static const char usage_cleanup[] =
    "Usage: spilo-agent cleanup [-c FILE] [--dry-run] [--force] [--cluster NAME]\n"
    "                           [--kubeconfig FILE] [--context NAME] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Removes the CLONE_* keys from the pod environment ConfigMap ([cleanup] configmap, default\n"
    "pod-config in [kubernetes] namespace) through the Kubernetes API once the restore check\n"
    "says the restore finished. First saves the previous data as the ConfigMap\n"
    "<name>-before-cleanup-<utc time> in the same namespace and prints its name; the patch\n"
    "carries the resourceVersion it read, so a concurrent change makes it fail instead of\n"
    "being overwritten. One line per step on stdout; refusals and failures on stderr.\n"
    "  --dry-run  print the backup ConfigMap and the merge patch; change nothing\n"
    "  --force    remove the keys although the restore is not confirmed as finished\n"
    "  --cluster NAME  from outside the pod: ask the agent of cluster NAME (its leader pod,\n"
    "             through the API server's pod proxy) instead of running the restore check here\n"
    "  --kubeconfig FILE  kubeconfig to use (default: KUBECONFIG, ~/.kube/config, in-cluster)\n"
    "  --context NAME     kubeconfig context (default: its current-context)\n"
    "Exit status: 0 done or nothing to do, 1 refused or failed, 64 usage error,\n"
    "78 configuration error.\n";

static const char usage_status[] =
    "Usage: spilo-agent status [-n NAMESPACE | -A] [-o wide|json|yaml] [--kubeconfig FILE]\n"
    "                          [--context NAME] [-c FILE] [--set SECTION.KEY=VALUE]...\n"
    "\n"
    "Lists every Spilo pod (label application=spilo) and asks each pod's agent for its /status\n"
    "through the API server's pod proxy (pods/proxy, port 'agent' of the pod, else 8009); one row\n"
    "per pod: cluster, pod, role, the overall and each check's status, the last backup's age,\n"
    "when the next backup is due, and the recovery window when the agent reports one. A pod\n"
    "whose agent does not answer is 'unknown', with the reason in -o wide.\n"
    "  -n, --namespace NS    the namespace (default: the kubeconfig context's, else\n"
    "                        [kubernetes] namespace, else default)\n"
    "  -A, --all-namespaces  every namespace\n"
    "  -o, --output FORMAT   wide (adds agent version and the worst check's summary), json, yaml\n"
    "  --kubeconfig FILE  kubeconfig to use (default: KUBECONFIG, ~/.kube/config, in-cluster)\n"
    "  --context NAME     kubeconfig context (default: its current-context)\n"
    "RBAC: list pods, get pods/proxy.\n"
    "Exit status: 0 every pod ok, 1 worst is warning, 2 worst is critical, 3 a pod's agent could\n"
    "not be asked or no Spilo pod was found (critical > warning > unknown > ok, as check), 64\n"
    "usage error, 78 configuration error (no API server, a kubeconfig error), 1 the listing\n"
    "failed.\n";

struct cli {
    const char *config;
    struct config_override sets[MAX_SETS];
    size_t n_sets;
    bool json;
    bool nagios;
    int color; /* -1 auto */
    char *only;
    const char *now;
    bool dry_run;
    bool force;
    const char *mode;
    const char *namespace;
    bool all_namespaces;
    const char *output;
    char kubeconfig_set[4200];
    char context_set[300];
    char cluster_set[300];
};

enum {
    OPT_SET = 256,
    OPT_JSON,
    OPT_ONLY,
    OPT_NOW,
    OPT_COLOR,
    OPT_NO_COLOR,
    OPT_DRY_RUN,
    OPT_FORCE,
    OPT_MODE,
    OPT_FORMAT,
    OPT_KUBECONFIG,
    OPT_CONTEXT,
    OPT_CLUSTER
};

/* Which of the subcommand-specific options a command takes. */
enum {
    ALLOW_CHECK = 1 << 0,   /* --json --only --now --color --no-color */
    ALLOW_DRY_RUN = 1 << 1, /* --dry-run */
    ALLOW_FORCE = 1 << 2,   /* --force */
    ALLOW_MODE = 1 << 3,    /* --mode */
    ALLOW_KUBE = 1 << 4,    /* --kubeconfig --context */
    ALLOW_STATUS = 1 << 5,  /* -n -A -o */
};

/* Parses the options of every subcommand (-c, --set, -h, and those `allowed`). Returns -1 to go
 * on, else the exit status to return at once (0 after --help, 64 for a usage error). */
static int parse_common(int argc, char **argv, struct cli *cli, const char *usage, unsigned allowed)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, OPT_SET},
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"only", required_argument, NULL, OPT_ONLY},
        {"now", required_argument, NULL, OPT_NOW},
        {"color", no_argument, NULL, OPT_COLOR},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"force", no_argument, NULL, OPT_FORCE},
        {"mode", required_argument, NULL, OPT_MODE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"namespace", required_argument, NULL, 'n'},
        {"all-namespaces", no_argument, NULL, 'A'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    cli->color = -1;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "c:hn:Ao:", opts, NULL)) != -1) {
        unsigned need = 0;

        switch (ch) {
        case 'c':
            cli->config = optarg;
            continue;
        case OPT_SET:
            if (cli->n_sets == MAX_SETS) {
                fprintf(stderr, "spilo-agent: too many --set options (at most %d)\n", MAX_SETS);
                return EXIT_USAGE;
            }
            cli->sets[cli->n_sets++].assignment = optarg;
            continue;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case OPT_JSON:
        case OPT_ONLY:
        case OPT_NOW:
        case OPT_COLOR:
        case OPT_NO_COLOR:
        case OPT_FORMAT:
            need = ALLOW_CHECK;
            break;
        case OPT_DRY_RUN:
            need = ALLOW_DRY_RUN;
            break;
        case OPT_FORCE:
            need = ALLOW_FORCE;
            break;
        case OPT_MODE:
            need = ALLOW_MODE;
            break;
        case OPT_KUBECONFIG:
        case OPT_CONTEXT:
            need = ALLOW_KUBE;
            break;
        case OPT_CLUSTER:
            need = ALLOW_FORCE; /* cleanup only */
            break;
        case 'n':
        case 'A':
        case 'o':
            need = ALLOW_STATUS;
            break;
        default:
            fprintf(stderr, "spilo-agent: unknown or incomplete option '%s'\n%s", argv[optind - 1],
                    usage);
            return EXIT_USAGE;
        }
        if (!(allowed & need)) {
            fprintf(stderr, "spilo-agent: option '%s' does not belong to this command\n%s",
                    argv[optind - 1], usage);
            return EXIT_USAGE;
        }
        if (ch == OPT_JSON) {
            cli->json = true;
        } else if (ch == OPT_FORMAT) {
            if (strcmp(optarg, "json") == 0) {
                cli->json = true;
            } else if (strcmp(optarg, "nagios") == 0) {
                cli->nagios = true;
            } else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr,
                        "spilo-agent: --format '%s' is not valid; accepted: text, json, nagios\n",
                        optarg);
                return EXIT_USAGE;
            }
        } else if (ch == OPT_ONLY)
            cli->only = optarg;
        else if (ch == OPT_NOW)
            cli->now = optarg;
        else if (ch == OPT_COLOR || ch == OPT_NO_COLOR)
            cli->color = ch == OPT_COLOR;
        else if (ch == OPT_DRY_RUN)
            cli->dry_run = true;
        else if (ch == OPT_FORCE)
            cli->force = true;
        else if (ch == 'n')
            cli->namespace = optarg;
        else if (ch == 'A')
            cli->all_namespaces = true;
        else if (ch == 'o')
            cli->output = optarg;
        else if (ch == OPT_KUBECONFIG || ch == OPT_CONTEXT || ch == OPT_CLUSTER) {
            /* flags are the last word, like --set: kubernetes.kubeconfig / .context,
             * cleanup.cluster */
            char *dst = ch == OPT_KUBECONFIG ? cli->kubeconfig_set
                        : ch == OPT_CONTEXT  ? cli->context_set
                                             : cli->cluster_set;
            size_t len = ch == OPT_KUBECONFIG ? sizeof(cli->kubeconfig_set)
                         : ch == OPT_CONTEXT  ? sizeof(cli->context_set)
                                              : sizeof(cli->cluster_set);
            int w = snprintf(dst, len, "%s=%s",
                             ch == OPT_KUBECONFIG ? "kubernetes.kubeconfig"
                             : ch == OPT_CONTEXT  ? "kubernetes.context"
                                                  : "cleanup.cluster",
                             optarg);

            if (w < 0 || (size_t)w >= len || cli->n_sets == MAX_SETS) {
                fprintf(stderr, "spilo-agent: %s is too long\n", argv[optind - 1]);
                return EXIT_USAGE;
            }
            cli->sets[cli->n_sets++].assignment = dst;
        } else
            cli->mode = optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "spilo-agent: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    return -1;
}

/* The end of a one-shot command's loop: what its check registries kept holds curl handles, so
 * they are released (checks_release) before this; then every handle closes and the loop must be
 * empty. */
static void close_loop(uv_loop_t *loop, struct curlm *cm)
{
    curlm_close(cm);
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0)
        log_error("main", "event loop still had open handles at exit");
}

/* What the load accepted but doubts, for the person who ran the command. */
static void print_config_warnings(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_warnings; i++)
        fprintf(stderr, "spilo-agent: configuration warning: %s\n", cfg->warnings[i]);
}

/* The start of a one-shot command: its configuration (a load error is printed, NULL), its
 * warnings, and logs as text on stderr for a person at a terminal (the command's output is
 * stdout). */
static struct config *command_config(const struct cli *cli)
{
    struct config *cfg;
    char err[1024];

    if (config_load(cli->config, cli->sets, cli->n_sets, environ, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "spilo-agent: configuration error: %s\n", err);
        return NULL;
    }
    print_config_warnings(cfg);
    log_setup(cfg->log_level < LOG_LEVEL_WARN ? cfg->log_level : LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
    return cfg;
}

/* Its loop and the curl multi handle on it; close_loop() ends both. */
static struct curlm *command_loop(uv_loop_t *loop)
{
    uv_loop_init(loop);
    return curlm_new(loop);
}

static int cmd_check(int argc, char **argv)
{
    struct cli cli = {0};
    struct config *cfg;
    struct checks *cs;
    struct curlm *cm;
    uv_loop_t loop;
    const char *only[STATUS_MAX_CHECKS];
    const struct check_def *defs[STATUS_MAX_CHECKS];
    size_t n_only = 0, n_defs;
    int64_t now_s = 0;
    int rc = parse_common(argc, argv, &cli, usage_check, ALLOW_CHECK);
    enum verdict worst;

    if (rc >= 0)
        return rc;
    if (cli.only) {
        for (char *save = NULL, *tok = strtok_r(cli.only, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            if (!check_defs_find(tok) || n_only == STATUS_MAX_CHECKS) {
                fprintf(stderr, "spilo-agent check: --only: unknown check '%s'; checks are:", tok);
                for (size_t i = 0; i < check_defs_count; i++)
                    fprintf(stderr, " %s", check_defs[i]->name);
                fprintf(stderr, "\n");
                return EXIT_USAGE;
            }
            only[n_only++] = tok;
        }
        if (n_only == 0) {
            fprintf(stderr, "spilo-agent check: --only needs at least one check name\n");
            return EXIT_USAGE;
        }
    }
    if (cli.now && util_parse_rfc3339(cli.now, &now_s, NULL) < 0) {
        fprintf(stderr,
                "spilo-agent check: --now '%s' is not an RFC 3339 time; accepted e.g. "
                "2025-03-10T09:30:00Z\n",
                cli.now);
        return EXIT_USAGE;
    }
    if (!(cfg = command_config(&cli)))
        return EXIT_CONFIG;
    cm = command_loop(&loop);
    n_defs = check_defs_select(cli.only ? only : NULL, n_only, defs, STATUS_MAX_CHECKS);
    cs = checks_new(&loop, cfg, defs, n_defs, now_s);
    checks_set_curlm(cs, cm);
    status_set_config_loaded(true);
    checks_run_once(cs);
    while (!checks_all_done(cs))
        uv_run(&loop, UV_RUN_ONCE);
    checks_stop(cs);
    checks_release(cs);
    close_loop(&loop, cm);
    checks_free(cs);

    {
        const struct snapshot *s = status_current();
        int64_t at = now_s ? now_s : util_now_s();

        worst = status_overall(s, at, NULL, 0);
        if (cli.nagios) {
            report_write_nagios(stdout, s);
        } else if (cli.json) {
            json_t *doc = status_to_json(s, at, NULL, 0);

            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(doc);
        } else {
            report_write(stdout, s, at, cli.color < 0 ? isatty(STDOUT_FILENO) : cli.color);
        }
    }
    status_shutdown();
    config_unref(cfg);
    return (int)worst;
}

static int cmd_run(int argc, char **argv)
{
    struct cli cli = {0};
    int rc = parse_common(argc, argv, &cli, usage_run, 0);

    if (rc >= 0)
        return rc;
    return daemon_run(cli.config, cli.sets, cli.n_sets);
}

struct cleanup_cli {
    bool finished;
    enum cleanup_status status;
};

/* The progress lines of cleanup and install: one per step, on stdout as it happens. */
static void print_line_cb(const char *line, void *arg)
{
    (void)arg;
    printf("%s\n", line);
    fflush(stdout);
}

static void cleanup_cli_done_cb(const struct cleanup_result *res, void *arg)
{
    struct cleanup_cli *st = arg;

    st->finished = true;
    st->status = res->status;
    fflush(stdout);
    if (res->status == CLEANUP_DONE || res->status == CLEANUP_NOTHING) {
        printf("%s: %s\n", cleanup_status_name(res->status), res->message);
        fflush(stdout);
    } else {
        fprintf(stderr, "spilo-agent cleanup: %s: %s\n", cleanup_status_name(res->status),
                res->message);
    }
}

/* Runs the restore check once on the loop and turns its result into the cleanup gate. */
static void cleanup_ask_restore(uv_loop_t *loop, struct curlm *cm, struct config *cfg,
                                struct cleanup_gate *gate)
{
    static const char *const only[] = {"restore"};
    const struct check_def *defs[1];
    struct checks *cs;

    if (!check_defs_find("restore")) {
        cleanup_gate_from_snapshot(NULL, gate);
        return;
    }
    cs = checks_new(loop, cfg, defs, check_defs_select(only, 1, defs, 1), 0);
    checks_set_curlm(cs, cm);
    status_set_config_loaded(true);
    checks_run_once(cs);
    while (!checks_all_done(cs))
        uv_run(loop, UV_RUN_ONCE);
    cleanup_gate_from_snapshot(status_current(), gate);
    checks_stop(cs);
    while (!checks_closed(cs))
        uv_run(loop, UV_RUN_ONCE);
    checks_free(cs);
}

struct gate_query {
    bool finished;
    struct cleanup_gate *gate;
};

static void gate_status_cb(int rc, const json_t *status, const char *pod, const char *error,
                           void *arg)
{
    struct gate_query *gq = arg;

    gq->finished = true;
    if (rc == 0) {
        cleanup_gate_from_status(status, pod, gq->gate);
        return;
    }
    memset(gq->gate, 0, sizeof(*gq->gate));
    snprintf(gq->gate->reason, sizeof(gq->gate->reason), "%s", error ? error : "no answer");
}

/* From outside the pod ([cleanup] cluster / --cluster): the cluster's own agent decides, through
 * the API server's pod proxy; the local restore check could not see its PostgreSQL. */
static void cleanup_ask_cluster(uv_loop_t *loop, struct curlm *cm, struct config *cfg,
                                struct cleanup_gate *gate)
{
    struct gate_query gq = {.gate = gate};
    struct fleet_query *q = NULL;
    char err[1024];

    if (fleet_query_cluster(cm, cfg, cfg->cleanup_cluster, gate_status_cb, &gq, &q, err,
                            sizeof(err)) < 0) {
        memset(gate, 0, sizeof(*gate));
        snprintf(gate->reason, sizeof(gate->reason), "%.1400s", err);
        return;
    }
    while (!gq.finished)
        uv_run(loop, UV_RUN_ONCE);
    fleet_query_free(q);
}

static int cmd_cleanup(int argc, char **argv)
{
    struct cli cli = {0};
    struct cleanup_opts copts = {0};
    struct cleanup_gate gate;
    struct cleanup_cli st = {0};
    struct config *cfg;
    struct curlm *cm;
    struct cleanup *run;
    uv_loop_t loop;
    char err[1024];
    int rc =
        parse_common(argc, argv, &cli, usage_cleanup, ALLOW_DRY_RUN | ALLOW_FORCE | ALLOW_KUBE);

    if (rc >= 0)
        return rc;
    copts.dry_run = cli.dry_run;
    copts.force = cli.force;
    if (!(cfg = command_config(&cli)))
        return EXIT_CONFIG;
    cm = command_loop(&loop);
    if (*cfg->cleanup_cluster)
        cleanup_ask_cluster(&loop, cm, cfg, &gate);
    else
        cleanup_ask_restore(&loop, cm, cfg, &gate);
    rc = cleanup_start(cm, cfg, &copts, &gate, util_now_s(), print_line_cb, cleanup_cli_done_cb,
                       &st, &run, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "spilo-agent cleanup: %s%s\n", rc == -EINVAL ? "configuration error: " : "",
                err);
    } else {
        while (!st.finished)
            uv_run(&loop, UV_RUN_ONCE);
    }
    close_loop(&loop, cm);
    status_shutdown();
    config_unref(cfg);
    if (rc < 0)
        return rc == -EINVAL ? EXIT_CONFIG : 1;
    return st.status == CLEANUP_DONE || st.status == CLEANUP_NOTHING ? 0 : 1;
}

struct install_cli {
    bool finished;
    struct install_result res;
    char message[4096];
};

static void install_cli_done_cb(const struct install_result *res, void *arg)
{
    struct install_cli *st = arg;

    st->finished = true;
    st->res = *res;
    snprintf(st->message, sizeof(st->message), "%s", res->message ? res->message : "");
    st->res.message = st->message;
}

static int cmd_install(int argc, char **argv)
{
    struct cli cli = {0};
    enum install_mode mode = INSTALL_MODE_BACKUP;
    bool dry_run = false;
    struct install_settings s;
    struct install_key_files kf;
    struct install_keys keys;
    struct install_cli st = {0};
    struct config *cfg;
    struct curlm *cm;
    uv_loop_t loop;
    char err[2048];
    int rc;

    rc = parse_common(argc, argv, &cli, usage_install, ALLOW_DRY_RUN | ALLOW_MODE | ALLOW_KUBE);
    if (rc >= 0)
        return rc;
    dry_run = cli.dry_run;
    if (cli.mode && install_mode_parse(cli.mode, &mode) < 0) {
        fprintf(stderr,
                "spilo-agent install: --mode '%s' is not valid; accepted: backup or restore\n",
                cli.mode);
        return EXIT_USAGE;
    }
    if (!(cfg = command_config(&cli)))
        return EXIT_CONFIG;
    rc = install_settings_load(cfg, mode, &s, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "spilo-agent install: configuration error: %s\n", err);
        config_unref(cfg);
        return EXIT_CONFIG;
    }
    if (install_keys_read(&s, &kf, err, sizeof(err)) < 0) {
        fprintf(stderr, "spilo-agent install: configuration error: %s\n", err);
        config_unref(cfg);
        return EXIT_CONFIG;
    }
    keys.access_key = kf.access_key;
    keys.secret_key = kf.secret_key;
    if (dry_run) {
        struct buf out;

        buf_init(&out, 64u << 20);
        install_render_dry_run(&s, &keys, &out);
        fwrite(out.data, 1, out.len, stdout);
        buf_cleanup(&out);
        install_keys_cleanup(&kf);
        config_unref(cfg);
        return 0;
    }
    cm = command_loop(&loop);
    rc = install_start(&loop, cm, cfg, &s, &keys, print_line_cb, install_cli_done_cb, &st, NULL,
                       err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "spilo-agent install: %s%s\n",
                rc == -EINVAL ? "configuration error: " : "refused: ", err);
    } else {
        while (!st.finished)
            uv_run(&loop, UV_RUN_ONCE);
    }
    install_keys_cleanup(&kf);
    close_loop(&loop, cm);
    config_unref(cfg);
    if (rc < 0)
        return rc == -EINVAL ? EXIT_CONFIG : 1;
    if (st.res.refused) {
        fprintf(stderr, "spilo-agent install: refused: %s\n", st.message);
        return 1;
    }
    fprintf(stderr,
            "spilo-agent install: %u created, %u configured, %u unchanged, %u skipped, %u "
            "failed\n",
            st.res.created, st.res.configured, st.res.unchanged, st.res.skipped, st.res.failed);
    return st.res.failed ? 1 : 0;
}

struct status_cli {
    bool finished;
    int exit_code;
    enum fleet_output output;
    bool show_ns;
};

static void status_cli_done_cb(const struct fleet_result *res, void *arg)
{
    struct status_cli *st = arg;
    struct buf out;

    st->finished = true;
    if (res->rc < 0) {
        fprintf(stderr, "spilo-agent status: %s\n", res->error);
        st->exit_code = 1;
        return;
    }
    if (json_array_size(res->rows) == 0 &&
        (st->output == FLEET_OUT_TABLE || st->output == FLEET_OUT_WIDE)) {
        if (*res->namespace)
            fprintf(stderr, "No Spilo pods (label %s) found in namespace %s.\n", FLEET_SELECTOR,
                    res->namespace);
        else
            fprintf(stderr, "No Spilo pods (label %s) found in any namespace.\n", FLEET_SELECTOR);
        st->exit_code = VERDICT_UNKNOWN;
        return;
    }
    buf_init(&out, 64u << 20);
    fleet_render(&out, res->rows, st->output, st->show_ns);
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    buf_cleanup(&out);
    if (st->output == FLEET_OUT_TABLE) {
        size_t silent = 0, i;
        const json_t *r;

        json_array_foreach(res->rows, i, r)
        {
            if (json_object_get(r, "error"))
                silent++;
        }
        if (silent)
            fprintf(stderr, "%zu of %zu pods gave no agent status; -o wide says why.\n", silent,
                    json_array_size(res->rows));
    }
    st->exit_code = (int)fleet_worst(res->rows);
}

static int cmd_status(int argc, char **argv)
{
    struct cli cli = {0};
    struct fleet_opts fo = {0};
    struct status_cli st = {0};
    struct config *cfg;
    struct curlm *cm;
    struct fleet *f = NULL;
    uv_loop_t loop;
    char err[2048];
    int rc = parse_common(argc, argv, &cli, usage_status, ALLOW_KUBE | ALLOW_STATUS);

    if (rc >= 0)
        return rc;
    if (fleet_output_parse(cli.output, &fo.output) < 0) {
        fprintf(stderr, "spilo-agent status: -o '%s' is not valid; accepted: wide, json, yaml\n",
                cli.output);
        return EXIT_USAGE;
    }
    if (cli.all_namespaces && cli.namespace) {
        fprintf(stderr, "spilo-agent status: -n and -A exclude each other\n");
        return EXIT_USAGE;
    }
    fo.namespace = cli.namespace;
    fo.all_namespaces = cli.all_namespaces;
    st.output = fo.output;
    st.show_ns = cli.all_namespaces;
    if (!(cfg = command_config(&cli)))
        return EXIT_CONFIG;
    cm = command_loop(&loop);
    rc = fleet_start(cm, cfg, &fo, status_cli_done_cb, &st, &f, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "spilo-agent status: %s%s\n", rc == -EINVAL ? "configuration error: " : "",
                err);
    } else {
        while (!st.finished)
            uv_run(&loop, UV_RUN_ONCE);
    }
    fleet_free(f);
    close_loop(&loop, cm);
    config_unref(cfg);
    if (rc < 0)
        return rc == -EINVAL ? EXIT_CONFIG : 1;
    return st.exit_code;
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "spilo-agent: cannot initialise libcurl\n");
        return 1;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--help-config") == 0) {
        config_write_doc(stdout);
        return 0;
    }
    if (strcmp(cmd, "--help-causes") == 0) {
        cause_write_table(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("spilo-agent %s\n", agent_version);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "cleanup") == 0)
        return cmd_cleanup(argc - 1, argv + 1);
    if (strcmp(cmd, "install") == 0)
        return cmd_install(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    fprintf(stderr, "spilo-agent: unknown command '%s'\n\n%s", cmd, usage_main);
    return EXIT_USAGE;
}

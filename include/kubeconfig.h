/* kubeconfig.h - the user's kubeconfig, read the way kubectl (client-go's clientcmd) reads it:
 * the files (--kubeconfig, else every file of KUBECONFIG, else ~/.kube/config), merged so that the
 * first file to set a value wins, one context picked (--context, else current-context), and its
 * cluster (server, CA data or file, insecure-skip-tls-verify) and user (token, token file, client
 * certificate and key as data or files, exec credential plugin) resolved, relative paths against
 * the file that named them. YAML is parsed with libyaml. Exec plugins
 * (client.authentication.k8s.io/v1 and v1beta1) run here too: the command with its args and env,
 * KUBERNETES_EXEC_INFO, the ExecCredential read back. Secrets read or received are registered
 * with secret.c, so no output ever shows one. */
#ifndef AGENT_KUBECONFIG_H
#define AGENT_KUBECONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define KUBECONFIG_MAX_FILE_BYTES  (4u << 20)
#define KUBECONFIG_EXEC_TIMEOUT_MS 60000L

struct kubeconfig_exec {
    char *api_version;      /* client.authentication.k8s.io/v1 or v1beta1 */
    char *command;          /* resolved against the kubeconfig's directory when it holds a '/' */
    char **args;            /* NULL-terminated */
    char **env;             /* NAME=VALUE, NULL-terminated, added to the agent's environment */
    char *install_hint;     /* shown when the command cannot be run, or NULL */
    char *interactive_mode; /* Never, IfAvailable, Always */
    bool provide_cluster_info;
};

/* One resolved context. Strings are NULL when the kubeconfig does not set them. */
struct kubeconfig {
    char *files;        /* the files read, ':'-separated, for messages */
    char *context;      /* the context's name */
    char *cluster_name; /* its cluster's and user's names, for messages */
    char *user_name;
    char *namespace; /* the context's namespace */
    char *server;    /* https://... */
    char *ca_file;
    char *ca_pem; /* certificate-authority-data, decoded */
    size_t ca_pem_len;
    char *ca_data_b64; /* as written, for KUBERNETES_EXEC_INFO */
    bool insecure;     /* insecure-skip-tls-verify */
    char *token;       /* a secret */
    char *token_file;
    char *cert_file;
    char *key_file;
    char *cert_pem; /* client-certificate-data, decoded */
    size_t cert_pem_len;
    char *key_pem; /* client-key-data, decoded; a secret */
    size_t key_pem_len;
    struct kubeconfig_exec *exec; /* NULL: no exec plugin */
};

/* What an exec plugin handed back. */
struct kubeconfig_cred {
    char *token;          /* a secret, or NULL */
    char *cert_pem;       /* clientCertificateData, or NULL */
    char *key_pem;        /* clientKeyData (a secret), or NULL */
    int64_t expires_at_s; /* expirationTimestamp; 0: none (cached until the process ends) */
};

/* ---- pure parts ------------------------------------------------------------------------------ */

/* The first YAML document of text as JSON: mappings become objects (a later duplicate key wins,
 * as in kubectl's decoder), sequences arrays, plain scalars null / ~ / empty -> null, YAML 1.1
 * booleans (true, false, yes, no, on, off in their three spellings) -> booleans, every other
 * scalar a string. Aliases resolve to their anchor's node (once; a recursive alias is an error).
 * An empty text gives an empty object. Returns 0 and *out, or -EINVAL with err (line and column,
 * libyaml's problem). */
MUSTCHECK int kubeconfig_yaml_parse(const char *text, size_t len, json_t **out, char *err,
                                    size_t errlen);

/* One parsed file of the merge. */
struct kubeconfig_file {
    const char *path;
    const json_t *doc; /* kubeconfig_yaml_parse's result */
};

/* Merges files (in precedence order: the first to set a value wins - a current-context, or a
 * cluster, user or context by name) and resolves context (NULL or "": current-context). Returns
 * 0 and *out; -ENOENT when the files hold no context at all and none was asked for (the caller
 * may fall back to the in-cluster service account, as kubectl does); -EINVAL with a sentence in
 * err (no current-context, context/cluster/user not found, no server, bad base64, an
 * unsupported auth provider, an exec plugin of an unknown API version, ...). */
MUSTCHECK int kubeconfig_select(const struct kubeconfig_file *files, size_t n, const char *context,
                                struct kubeconfig **out, char *err, size_t errlen);

/* Reads an ExecCredential from an exec plugin's stdout. api_version: what the kubeconfig asked
 * for (the answer must carry it). Returns 0 and *cred (token, or certificate and key), or -EINVAL
 * with a sentence (never the secret). */
MUSTCHECK int kubeconfig_exec_parse(const char *out, size_t len, const char *api_version,
                                    struct kubeconfig_cred *cred, char *err, size_t errlen);
/* The KUBERNETES_EXEC_INFO JSON for kc's plugin (new string). */
char *kubeconfig_exec_info(const struct kubeconfig *kc, bool interactive);

void kubeconfig_cred_cleanup(struct kubeconfig_cred *cred);
void kubeconfig_free(struct kubeconfig *kc); /* NULL is fine */

/* ---- files and processes --------------------------------------------------------------------- */

/* kubectl's loading rules: explicit (--kubeconfig: must be readable) else the ':'-separated
 * files of kubeconfig_env (missing ones skipped) else home/.kube/config (when it exists); then
 * kubeconfig_select. -ENOENT (err says where it looked) when no file was found or they hold no
 * context. */
MUSTCHECK int kubeconfig_load(const char *explicit_path, const char *kubeconfig_env,
                              const char *home, const char *context, struct kubeconfig **out,
                              char *err, size_t errlen);

/* Runs kc's exec plugin (blocking, at most timeout_ms) and reads its ExecCredential. Returns 0
 * and *cred, or a negative errno with a sentence: the command not found (with its installHint),
 * its exit status and the first line of its stderr, a timeout, a bad answer. */
MUSTCHECK int kubeconfig_exec_run(const struct kubeconfig *kc, long timeout_ms,
                                  struct kubeconfig_cred *cred, char *err, size_t errlen);

#endif

/* install.h - `spilo-agent install` (SPEC section 7): one asynchronous run on the loop that
 * applies the plan of install_objects.h through the Kubernetes API with server-side apply (field
 * manager spilo-agent), one progress line per resource, the restore-mode checks first (a base
 * backup in the source prefix in S3), and a restart of the operator pod when its configuration
 * changed. The dry run renders the same plan as YAML and touches no network. */
#ifndef AGENT_INSTALL_H
#define AGENT_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "common.h"
#include "config.h"
#include "curlm.h"
#include "install_objects.h"

/* The key material of access_key_file / secret_key_file, read by install_keys_read (NULL when
 * the files are not configured). Wiped by install_keys_cleanup. */
struct install_key_files {
    char *access_key;
    char *secret_key;
};
/* Reads both files (first line, trailing blanks stripped, like WAL-G's TrimSpace). Returns 0 or
 * -EINVAL with a sentence naming the key and file (never the content). */
MUSTCHECK int install_keys_read(const struct install_settings *s, struct install_key_files *k,
                                char *err, size_t errlen);
void install_keys_cleanup(struct install_key_files *k);

/* The --dry-run output: every object of the plan as a YAML document ("---" between them), with
 * Secret data shown as ***, and comments saying what a real run would check or do. */
void install_render_dry_run(const struct install_settings *s, const struct install_keys *keys,
                            struct buf *out);

/* Counts of the lines printed, and how the run ended; valid during the done callback. */
struct install_result {
    unsigned created, configured, unchanged, skipped, failed;
    bool refused;        /* nothing was applied: message says why */
    const char *message; /* one sentence */
};

typedef void (*install_line_fn)(const char *line, void *arg);
typedef void (*install_done_fn)(const struct install_result *res, void *arg);

struct install_run;

/* Starts a run with cfg's [kubernetes] client and the validated settings s (its strings borrow
 * from cfg, which the run references). keys may be NULL. line gets each progress line; done is
 * called exactly once on the loop thread, never from inside install_start, and the run frees
 * itself after it. Returns 0, or -EINVAL (no API URL / namespace: a configuration error) with a
 * sentence in err; done is then not called. */
MUSTCHECK int install_start(uv_loop_t *loop, struct curlm *cm, struct config *cfg,
                            const struct install_settings *s, const struct install_keys *keys,
                            install_line_fn line, install_done_fn done, void *arg,
                            struct install_run **out, char *err, size_t errlen);

#endif

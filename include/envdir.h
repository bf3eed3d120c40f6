/* envdir.h - a WAL-G/WAL-E envdir read the way Spilo's `envdir` (runit `chpst -e`) reads it:
 * one file per variable, the value is the file's first line with trailing blanks (spaces, tabs)
 * removed, NUL bytes read as newlines, a 0-byte file unsets the variable. Entries are read as Spilo
 * writes them: regular files in the directory, opened relative to it without following links (a
 * link to /proc/self/environ or /etc/shadow is never read). A bad entry is a finding, never a
 * reason to treat the envdir as absent. Also the list of
 * variable names whose values are secrets, and the redaction every output goes through. Pure file
 * reading: no uv, no logging. */
#ifndef AGENT_ENVDIR_H
#define AGENT_ENVDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define ENVDIR_REDACTED     "***"
#define ENVDIR_MAX_VARS     256
#define ENVDIR_MAX_VALUE    65536 /* bytes read of one file; longer first lines are cut here */
#define ENVDIR_MAX_ENTRIES  4096  /* directory entries looked at; more is a finding */
#define ENVDIR_MAX_FINDINGS 16

struct envdir_var {
    char *name;
    char *value;
};

struct envdir {
    char *path;              /* the directory read, or a description ("environment") */
    struct envdir_var *vars; /* sorted by name */
    size_t n;
    size_t skipped; /* entries that are not variables: dot files, directories, bad names */
    /* What was wrong with single entries (symlinks, unreadable files, values that are not UTF-8,
     * too many files): one sentence each naming the entry, never its value. */
    char *findings[ENVDIR_MAX_FINDINGS];
    size_t n_findings;
    size_t findings_dropped;
};

/* Reads the directory at path. Returns 0, -ENOENT when it does not exist, -ENOTDIR, or another
 * -errno; err then names the path and the cause. out is empty (but valid) on error. A bad entry
 * does not fail the load: it is left out and described in out->findings. When there are more than
 * ENVDIR_MAX_VARS variables, the ones the agent reads (AWS_*, WALG_*, WALE_*, CLONE_*, STANDBY_*,
 * USE_WALG_*, BACKUP_*, PG*, proxies) are kept first, whatever the directory order. Bytes that are
 * not UTF-8 are replaced by '?'. */
MUSTCHECK int envdir_load(const char *path, struct envdir *out, char *err, size_t errlen);
/* The value of name, or NULL when unset. */
const char *envdir_get(const struct envdir *e, const char *name);
/* Sets (or with value NULL unsets) a variable; keeps the list sorted. */
void envdir_set(struct envdir *e, const char *name, const char *value);
void envdir_init(struct envdir *e, const char *path);
void envdir_free(struct envdir *e);

/* The value of name as `chpst -e` would compute it from the bytes of a file (first line, trailing
 * blanks stripped, NUL -> newline). Returns NULL for a 0-byte file (unset). Caller frees. */
char *envdir_value_from_bytes(const char *data, size_t len);

/* Whether the value of a variable with this name is a secret: keys, passwords, tokens, proxy
 * URLs (they may carry user:password). */
bool envdir_is_secret(const char *name);
/* value, or ENVDIR_REDACTED when name is a secret. */
const char *envdir_shown(const char *name, const char *value);

#endif

/* secret.h - the one reader for files that hold a secret (bearer tokens, web identity tokens,
 * access keys) and the registry of secret values that every string leaving the process is scrubbed
 * of. A bottom module: depends on util only, so the S3, STS and Kubernetes clients, the config and
 * the log can all use it. The registry is locked: check work on the thread pool scrubs too. */
#ifndef AGENT_SECRET_H
#define AGENT_SECRET_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define SECRET_FILE_MAX_BYTES (64u << 10)
/* Values shorter than this are not registered: scrubbing "a" would garble every message. */
#define SECRET_MIN_SCRUB_LEN 8
#define SECRET_REGISTRY_MAX  32

/* Reads a secret file: opened O_NONBLOCK (a FIFO or a device never blocks the caller), must be a
 * regular file (fstat after open; symlinks are followed, as Kubernetes mounts secrets through
 * them), at most max bytes (0: SECRET_FILE_MAX_BYTES). Trailing newlines and blanks are stripped
 * (as the AWS SDKs and kubectl do); what is left must be non-empty and only printable ASCII without
 * blanks (0x21-0x7e): a NUL, a control byte, a blank inside or a non-ASCII byte is refused. The
 * value is registered (secret_register). Returns 0 and *out (free with secret_free), or -errno with
 * err naming path and the reason (never the content). */
MUSTCHECK int secret_file_read(const char *path, size_t max, char **out, char *err, size_t errlen);
/* Zeroes and frees a secret string; NULL is fine. */
void secret_free(char *s);

/* Remembers value (copied) as a secret; strings are scrubbed of it until secret_forget(). The
 * oldest entry is dropped when the registry is full. Short values and NULL are ignored. */
void secret_register(const char *value);
void secret_forget(const char *value);
/* Forgets every value (tests; exit). */
void secret_forget_all(void);

/* Scrubs s in place: every registered value becomes "***", and the password of every URL with
 * user information ("scheme://user:pass@host") becomes "***". Returns true when anything changed.
 * Call before cutting a string to length, so no prefix of a secret survives the cut. */
bool secret_scrub(char *s);
/* Like secret_scrub on a copy of s cut to outlen - 1 bytes AFTER scrubbing. */
void secret_scrub_copy(const char *s, char *out, size_t outlen);
/* vsnprintf into out, scrubbed (secret_scrub) before it is cut to outlen - 1 bytes; a cut never
 * splits a UTF-8 sequence. For every message that leaves the process (log lines, answers). */
void secret_vformat(char *out, size_t outlen, const char *fmt, va_list ap) PRINTF(3, 0);
/* A URL with its password replaced by "***" (new string); s itself when it has none, copied. */
char *secret_redact_url(const char *url);

#endif

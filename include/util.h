/* util.h - allocation that aborts on OOM, time formatting, duration and number parsing. Pure. */
#ifndef AGENT_UTIL_H
#define AGENT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);

/* Wall clock in seconds, honouring nothing but the system clock. */
int64_t util_now_s(void);
/* "2026-11-24T10:00:00Z" into out (at least 21 bytes). */
void util_format_rfc3339(int64_t t_s, char *out, size_t outlen);
/* Parses RFC 3339 / ISO 8601 timestamps: "2026-11-24T10:00:00Z", fractional seconds of any length,
 * "+hh:mm" offsets. On success stores seconds since the epoch (fraction dropped) and, if frac_us is
 * not NULL, the microseconds. Returns 0 or -EINVAL. */
MUSTCHECK int util_parse_rfc3339(const char *s, int64_t *t_s, int32_t *frac_us);

/* "60s", "5m", "1h", "2d", "1500ms", "90" (seconds). Returns 0 or -EINVAL / -ERANGE. */
MUSTCHECK int util_parse_duration_ms(const char *s, uint64_t *ms);
/* FNV-1a of a NUL-terminated string: a hash for tables and change detection, not for security. */
uint64_t util_hash64(const char *s);
/* Decimal int64 with full-string match. Returns 0 or -EINVAL / -ERANGE. */
MUSTCHECK int util_parse_i64(const char *s, int64_t *out);
/* "true/false/yes/no/on/off/1/0", case-insensitive. */
MUSTCHECK int util_parse_bool(const char *s, bool *out);

/* The value of name in an environment block (envp as from main/environ), or NULL when unset. */
const char *util_env_get(char *const *envp, const char *name);

/* 0 when path names a regular file (symlinks followed), -EINVAL when it is something else (a
 * FIFO, a device: reading it could block the loop), or -errno. Never blocks. */
MUSTCHECK int util_regular_file(const char *path);

/* Replaces every byte of s that is not part of valid UTF-8 by '?'; returns how many were. */
size_t util_utf8_repair(char *s);
bool util_utf8_valid(const char *s);
/* Copies s into out; a string that does not fit is cut at a character boundary and ends in "…",
 * so a cut reads as one. */
void util_copy_cut(char *out, size_t outlen, const char *s);

/* Constant-time comparison of two NUL-terminated strings (length is not hidden). */
bool util_const_eq(const char *a, const char *b);

#endif

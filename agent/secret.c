/* secret.c - the secret file reader and the registry of secret values to scrub. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* The registry is read by check work on the thread pool (summaries are scrubbed there too) and
 * changed on the loop thread: one lock. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static char *registry[SECRET_REGISTRY_MAX];
static size_t registry_len;

void secret_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static int fail(int rc, char *err, size_t errlen, const char *fmt, const char *path,
                const char *why)
{
    snprintf(err, errlen, fmt, path, why);
    return rc;
}

/* Reads at most max + 1 bytes of fd into a new buffer of max + 2 bytes. */
static int read_all(int fd, size_t max, char **data, size_t *len)
{
    char *b = xmalloc(max + 2);
    size_t n = 0;

    for (;;) {
        ssize_t r = read(fd, b + n, max + 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno == EAGAIN ? EWOULDBLOCK : errno;

            explicit_bzero(b, max + 2);
            free(b);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max)
            break;
    }
    b[n] = '\0';
    *data = b;
    *len = n;
    return 0;
}

int secret_file_read(const char *path, size_t max, char **out, char *err, size_t errlen)
{
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    int fd, rc;

    *out = NULL;
    if (max == 0)
        max = SECRET_FILE_MAX_BYTES;
    if (!path || !*path)
        return fail(-EINVAL, err, errlen, "%s%s", "no file is named", "");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        return fail(rc, err, errlen, "'%s' cannot be read (%s)", path, strerror(-rc));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(-EINVAL, err, errlen,
                    "'%s' is %s; it must be a regular file holding the secret", path,
                    S_ISFIFO(st.st_mode)   ? "a FIFO"
                    : S_ISDIR(st.st_mode)  ? "a directory"
                    : S_ISSOCK(st.st_mode) ? "a socket"
                                           : "a device or not a regular file");
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        snprintf(err, errlen, "'%s' holds %lld bytes, more than the %zu a secret may have", path,
                 (long long)st.st_size, max);
        return -E2BIG;
    }
    rc = read_all(fd, max, &data, &len);
    close(fd);
    if (rc < 0)
        return fail(rc, err, errlen, "'%s' cannot be read (%s)", path, strerror(-rc));
    if (len > max) {
        explicit_bzero(data, max + 2);
        free(data);
        snprintf(err, errlen, "'%s' holds more than the %zu bytes a secret may have", path, max);
        return -E2BIG;
    }
    while (len > 0 && strchr(" \t\r\n", data[len - 1]) && data[len - 1])
        len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];

        if (c < 0x21 || c > 0x7e) {
            explicit_bzero(data, max + 2);
            free(data);
            snprintf(err, errlen,
                     "'%s' holds %s at byte %zu; a secret file must hold one token of printable "
                     "characters on one line (no NUL, blank, control or non-ASCII byte)",
                     path,
                     c == 0                   ? "a NUL byte"
                     : c == '\n' || c == '\r' ? "a line break"
                     : c == ' ' || c == '\t'  ? "a blank"
                     : c < 0x20 || c == 0x7f  ? "a control byte"
                                              : "a non-ASCII byte",
                     i);
            return -EINVAL;
        }
    }
    data[len] = '\0';
    if (len == 0) {
        free(data);
        return fail(-EINVAL, err, errlen, "'%s' is empty%s; put the secret in it", path, "");
    }
    /* Shrink to what is kept: the rest of the buffer is zeroed first. */
    explicit_bzero(data + len, max + 2 - len);
    *out = data;
    secret_register(data);
    return 0;
}

/* ---- the registry ------------------------------------------------------------------------- */

void secret_register(const char *value)
{
    if (!value || strlen(value) < SECRET_MIN_SCRUB_LEN)
        return;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_len; i++) {
        if (strcmp(registry[i], value) == 0) {
            pthread_mutex_unlock(&registry_lock);
            return;
        }
    }
    if (registry_len == SECRET_REGISTRY_MAX) {
        secret_free(registry[0]);
        memmove(registry, registry + 1, (registry_len - 1) * sizeof(registry[0]));
        registry_len--;
    }
    registry[registry_len++] = xstrdup(value);
    pthread_mutex_unlock(&registry_lock);
}

void secret_forget(const char *value)
{
    if (!value)
        return;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_len; i++) {
        if (strcmp(registry[i], value) == 0) {
            secret_free(registry[i]);
            memmove(registry + i, registry + i + 1, (registry_len - i - 1) * sizeof(registry[0]));
            registry_len--;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

void secret_forget_all(void)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_len; i++)
        secret_free(registry[i]);
    registry_len = 0;
    pthread_mutex_unlock(&registry_lock);
}

/* Replaces [p, p + n) of the string s by "***". */
static void replace(char *p, size_t n)
{
    size_t rest = strlen(p + n);

    if (n >= 3) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, rest + 1);
    }
}

/* "scheme://user:pass@host": the password between the first ':' after "://" and the '@' before the
 * first '/', '?' or '#' (or blank) of the authority. */
static bool scrub_userinfo(char *s)
{
    bool changed = false;
    char *p = s;

    while ((p = strstr(p, "://")) != NULL) {
        char *auth = p + 3, *end = auth, *at = NULL, *colon = NULL;

        while (*end && !strchr("/?# \t\"'<>\r\n", *end)) {
            if (*end == '@')
                at = end;
            end++;
        }
        if (at) {
            for (char *q = auth; q < at; q++)
                if (*q == ':') {
                    colon = q;
                    break;
                }
        }
        if (colon && at - colon - 1 > 0 &&
            !(at - colon - 1 == 3 && !strncmp(colon + 1, "***", 3))) {
            size_t n = (size_t)(at - colon - 1);

            if (n < 3) {
                /* Grow to "***": make room (the string never grows past its terminator in place
                 * for short passwords, so write "*" per byte instead). */
                memset(colon + 1, '*', n);
            } else {
                replace(colon + 1, n);
            }
            changed = true;
        }
        p = auth;
    }
    return changed;
}

bool secret_scrub(char *s)
{
    bool changed = false;

    if (!s)
        return false;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_len; i++) {
        size_t n = strlen(registry[i]);
        char *p = s;

        while ((p = strstr(p, registry[i])) != NULL) {
            replace(p, n);
            p += 3;
            changed = true;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (strstr(s, "://"))
        changed |= scrub_userinfo(s);
    return changed;
}

void secret_scrub_copy(const char *s, char *out, size_t outlen)
{
    char *c;

    if (outlen == 0)
        return;
    c = xstrdup(s ? s : "");
    secret_scrub(c);
    util_copy_cut(out, outlen, c);
    explicit_bzero(c, strlen(c));
    free(c);
}

void secret_vformat(char *out, size_t outlen, const char *fmt, va_list ap)
{
    char *s = NULL;

    if (outlen == 0)
        return;
    if (vasprintf(&s, fmt, ap) < 0 || !s) {
        out[0] = '\0';
        return;
    }
    secret_scrub(s);
    util_copy_cut(out, outlen, s);
    explicit_bzero(s, strlen(s));
    free(s);
}

char *secret_redact_url(const char *url)
{
    char *c = xstrdup(url ? url : "");

    scrub_userinfo(c);
    return c;
}

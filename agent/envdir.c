/* envdir.c - reads an envdir like runit's `chpst -e` (Spilo's /usr/bin/envdir), and knows which
 * variables are secrets. */
#include "envdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void envdir_init(struct envdir *e, const char *path)
{
    memset(e, 0, sizeof(*e));
    e->path = xstrdup(path ? path : "");
}

void envdir_free(struct envdir *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->vars[i].name);
        free(e->vars[i].value);
    }
    free(e->vars);
    free(e->path);
    memset(e, 0, sizeof(*e));
}

static size_t find_slot(const struct envdir *e, const char *name, bool *found)
{
    size_t lo = 0, hi = e->n;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(e->vars[mid].name, name);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *envdir_get(const struct envdir *e, const char *name)
{
    bool found;
    size_t i = find_slot(e, name, &found);

    return found ? e->vars[i].value : NULL;
}

void envdir_set(struct envdir *e, const char *name, const char *value)
{
    bool found;
    size_t i = find_slot(e, name, &found);

    if (found) {
        free(e->vars[i].value);
        if (value) {
            e->vars[i].value = xstrdup(value);
            return;
        }
        free(e->vars[i].name);
        memmove(&e->vars[i], &e->vars[i + 1], (e->n - i - 1) * sizeof(e->vars[0]));
        e->n--;
        return;
    }
    if (!value)
        return;
    e->vars = xrealloc(e->vars, (e->n + 1) * sizeof(e->vars[0]));
    memmove(&e->vars[i + 1], &e->vars[i], (e->n - i) * sizeof(e->vars[0]));
    e->vars[i].name = xstrdup(name);
    e->vars[i].value = xstrdup(value);
    e->n++;
}

char *envdir_value_from_bytes(const char *data, size_t len)
{
    size_t n = 0;
    char *v;

    if (len == 0)
        return NULL;
    while (n < len && data[n] != '\n')
        n++;
    while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == '\t'))
        n--;
    v = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        v[i] = data[i] == '\0' ? '\n' : data[i];
    v[n] = '\0';
    return v;
}

/* A name chpst would export: no '=', not empty. We also refuse control characters, which no
 * Spilo variable has, so that a stray file cannot corrupt the report. */
static bool valid_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++) {
        if (*p == '=' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

static int read_value(int dirfd, const char *name, char **value, bool *is_dir)
{
    char buf[ENVDIR_MAX_VALUE];
    size_t len = 0;
    struct stat st;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    *value = NULL;
    *is_dir = false;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *is_dir = true; /* directories, fifos, sockets: not variables */
        close(fd);
        return 0;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            close(fd);
            return (int)r;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (memchr(buf + len - (size_t)r, '\n', (size_t)r) || len == sizeof(buf))
            break;
    }
    close(fd);
    *value = envdir_value_from_bytes(buf, len);
    return 0;
}

int envdir_load(const char *path, struct envdir *out, char *err, size_t errlen)
{
    DIR *d;
    struct dirent *de;
    int rc = 0;

    envdir_init(out, path);
    d = opendir(path);
    if (!d) {
        rc = -errno;
        if (rc == -ENOENT)
            snprintf(err, errlen, "envdir %s does not exist", path);
        else if (rc == -ENOTDIR)
            snprintf(err, errlen, "envdir %s is not a directory", path);
        else
            snprintf(err, errlen, "envdir %s cannot be read (%s); the agent needs read access",
                     path, strerror(-rc));
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        char *value;
        bool is_dir;
        int r;

        if (de->d_name[0] == '.') /* chpst skips dot files, and so do "." and ".." */
            continue;
        if (!valid_name(de->d_name) || out->n >= ENVDIR_MAX_VARS) {
            out->skipped++;
            continue;
        }
        r = read_value(dirfd(d), de->d_name, &value, &is_dir);
        if (r < 0) {
            snprintf(err, errlen, "envdir %s: %s cannot be read (%s)", path, de->d_name,
                     strerror(-r));
            rc = r;
            break;
        }
        if (is_dir) {
            out->skipped++;
            continue;
        }
        if (value) /* a 0-byte file unsets */
            envdir_set(out, de->d_name, value);
        free(value);
    }
    closedir(d);
    if (rc < 0) {
        char *p = xstrdup(out->path);

        envdir_free(out);
        envdir_init(out, p);
        free(p);
    }
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

bool envdir_is_secret(const char *name)
{
    static const char *const exact[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "AWS_SESSION_TOKEN",
        "WALG_LIBSODIUM_KEY",
        "WALG_PGP_KEY",
        "WALE_GPG_KEY_ID",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "SWIFT_PASSWORD",
    };
    /* The clone and standby variants (CLONE_AWS_SECRET_ACCESS_KEY, ...) are the same secrets. */
    if (strncmp(name, "CLONE_", 6) == 0)
        name += 6;
    else if (strncmp(name, "STANDBY_", 8) == 0)
        name += 8;
    /* A variable naming a file (…_FILE, …_PATH) holds a path, not the secret itself. */
    if (ends_with(name, "_FILE") || ends_with(name, "_PATH"))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(exact); i++) {
        if (strcmp(name, exact[i]) == 0)
            return true;
    }
    return strstr(name, "SECRET") || strstr(name, "PASSWORD") || strstr(name, "PASSPHRASE") ||
           strstr(name, "TOKEN") || ends_with(name, "_KEY");
}

const char *envdir_shown(const char *name, const char *value)
{
    return envdir_is_secret(name) ? ENVDIR_REDACTED : value;
}

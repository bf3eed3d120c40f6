/* envdir.c - reads an envdir like runit's `chpst -e` (Spilo's /usr/bin/envdir), and knows which
 * variables are secrets. */
#include "envdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
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
    for (size_t i = 0; i < e->n_findings; i++)
        free(e->findings[i]);
    free(e->vars);
    free(e->path);
    memset(e, 0, sizeof(*e));
}

static void add_finding(struct envdir *e, const char *fmt, ...) PRINTF(2, 3);

static void add_finding(struct envdir *e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (e->n_findings == ENVDIR_MAX_FINDINGS) {
        e->findings_dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e->findings[e->n_findings++] = xstrdup(msg);
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
    return util_utf8_valid(name);
}

enum entry_kind { ENTRY_VALUE, ENTRY_NOT_A_VARIABLE, ENTRY_BAD };

/* Reads one entry relative to dirfd without following a symlink. ENTRY_BAD adds a finding. */
static enum entry_kind read_value(struct envdir *e, int dirfd, const char *name, char **value)
{
    char buf[ENVDIR_MAX_VALUE];
    size_t len = 0;
    struct stat st;
    int fd;

    *value = NULL;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        add_finding(e,
                    "%s is a symbolic link; the agent reads only regular files in the envdir, as "
                    "Spilo writes them, and ignored it",
                    name);
        return ENTRY_BAD;
    }
    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ELOOP)
            add_finding(e,
                        "%s is a symbolic link; the agent reads only regular files in the "
                        "envdir and ignored it",
                        name);
        else
            add_finding(e, "%s cannot be read (%s) and was ignored; give the agent read access",
                        name, strerror(errno));
        return ENTRY_BAD;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode))
            return ENTRY_NOT_A_VARIABLE;
        add_finding(e, "%s is not a regular file (a FIFO, socket or device) and was ignored", name);
        return ENTRY_BAD;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);

        if (r < 0) {
            int err = errno;

            if (err == EINTR)
                continue;
            close(fd);
            add_finding(e, "%s cannot be read (%s) and was ignored", name, strerror(err));
            return ENTRY_BAD;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (memchr(buf + len - (size_t)r, '\n', (size_t)r) || len == sizeof(buf))
            break;
    }
    close(fd);
    *value = envdir_value_from_bytes(buf, len);
    explicit_bzero(buf, len);
    if (*value && util_utf8_repair(*value))
        add_finding(e, "%s holds bytes that are not UTF-8; they are shown as '?'", name);
    return ENTRY_VALUE;
}

/* The variables the agent reads, kept first when the directory holds more than it keeps. */
static bool wanted_first(const char *name)
{
    static const char *const prefixes[] = {"AWS_",     "WALG_",    "WALE_",   "WAL_", "CLONE_",
                                           "STANDBY_", "USE_WALG", "BACKUP_", "PG"};
    static const char *const exact[] = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                        "ALL_PROXY",  "all_proxy",   "NO_PROXY",   "no_proxy"};

    for (size_t i = 0; i < ARRAY_LEN(prefixes); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    for (size_t i = 0; i < ARRAY_LEN(exact); i++)
        if (strcmp(name, exact[i]) == 0)
            return true;
    return false;
}

static int cmp_names(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    bool wx = wanted_first(x), wy = wanted_first(y);

    if (wx != wy)
        return wx ? -1 : 1;
    return strcmp(x, y);
}

int envdir_load(const char *path, struct envdir *out, char *err, size_t errlen)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n_names = 0, cap = 0, seen = 0, kept = 0, dropped = 0;
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
        if (de->d_name[0] == '.') /* chpst skips dot files, and so do "." and ".." */
            continue;
        if (++seen > ENVDIR_MAX_ENTRIES)
            continue;
        if (!valid_name(de->d_name)) {
            out->skipped++;
            continue;
        }
        if (n_names == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n_names++] = xstrdup(de->d_name);
    }
    /* Directory order must not decide what is kept: the variables the agent reads come first. */
    if (n_names)
        qsort(names, n_names, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n_names; i++) {
        char *value;

        if (kept >= ENVDIR_MAX_VARS) {
            dropped++;
            continue;
        }
        switch (read_value(out, dirfd(d), names[i], &value)) {
        case ENTRY_VALUE:
            if (value) /* a 0-byte file unsets */
                envdir_set(out, names[i], value);
            kept++;
            break;
        case ENTRY_NOT_A_VARIABLE:
            out->skipped++;
            break;
        case ENTRY_BAD:
            out->skipped++;
            break;
        }
        if (value)
            explicit_bzero(value, strlen(value));
        free(value);
    }
    if (seen > ENVDIR_MAX_ENTRIES || dropped)
        add_finding(out,
                    "the envdir holds %zu entries, more than the %d variables the agent reads; "
                    "it kept the WAL-G, AWS and Spilo ones and ignored %zu others",
                    seen, ENVDIR_MAX_VARS,
                    dropped + (seen > ENVDIR_MAX_ENTRIES ? seen - ENVDIR_MAX_ENTRIES : 0));
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    closedir(d);
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
        "ALL_PROXY",
        "all_proxy",
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

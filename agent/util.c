/* util.c - allocation helpers that abort on OOM (the pod restarts; error paths stay readable),
 * time formatting and parsing, duration/number/bool parsing. Pure: no I/O but the OOM message. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof(msg), "spilo-agent: out of memory allocating %zu bytes\n", n);

    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0) {
        /* nothing more we can do */
    }
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(strlen(fmt));
    return p;
}

int64_t util_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

void util_format_rfc3339(int64_t t_s, char *out, size_t outlen)
{
    struct tm tm;
    time_t t = (time_t)t_s;

    if (!gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outlen, "%s", "1970-01-01T00:00:00Z");
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect_char(const char **p, const char *set)
{
    if (**p == '\0' || !strchr(set, **p))
        return -EINVAL;
    (*p)++;
    return 0;
}

int util_parse_rfc3339(const char *s, int64_t *t_s, int32_t *frac_us)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    int32_t us = 0;
    const char *p = s;
    int64_t t;

    if (!s)
        return -EINVAL;
    if (parse_digits(&p, 4, &y) || expect_char(&p, "-") || parse_digits(&p, 2, &mo) ||
        expect_char(&p, "-") || parse_digits(&p, 2, &d) || expect_char(&p, "Tt ") ||
        parse_digits(&p, 2, &h) || expect_char(&p, ":") || parse_digits(&p, 2, &mi) ||
        expect_char(&p, ":") || parse_digits(&p, 2, &se))
        return -EINVAL;
    if (*p == '.') {
        int digits = 0;

        p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        while (isdigit((unsigned char)*p)) {
            if (digits < 6)
                us = us * 10 + (*p - '0');
            digits++;
            p++;
        }
        for (; digits < 6; digits++)
            us *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (parse_digits(&p, 2, &oh) || expect_char(&p, ":") || parse_digits(&p, 2, &om))
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || oh > 23 || om > 59)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = (int64_t)timegm(&tm);
    if (tm.tm_mday != d) /* 2026-02-30 normalised into March */
        return -EINVAL;
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    *t_s = t;
    if (frac_us)
        *frac_us = us;
    return 0;
}

int util_parse_duration_ms(const char *s, uint64_t *ms)
{
    char *end;
    unsigned long long v;
    uint64_t mult;

    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -ERANGE;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(end, "h") == 0)
        mult = 3600 * 1000;
    else if (strcmp(end, "d") == 0)
        mult = 86400 * 1000;
    else
        return -EINVAL;
    if (v > UINT64_MAX / mult)
        return -ERANGE;
    *ms = (uint64_t)v * mult;
    return 0;
}

int util_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *out = (int64_t)v;
    return 0;
}

int util_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned int cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Replaces every byte that is not part of valid UTF-8 by '?'. Returns how many were replaced. */
size_t util_utf8_repair(char *v)
{
    size_t n = strlen(v), bad = 0;

    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)v + i, n - i);

        if (l == 0) {
            v[i++] = '?';
            bad++;
        } else {
            i += l;
        }
    }
    return bad;
}

bool util_utf8_valid(const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i);

        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

int util_regular_file(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -errno;
    return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

bool util_const_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;

    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
    return diff == 0;
}

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_OK:
        return "ok";
    case VERDICT_WARNING:
        return "warning";
    case VERDICT_CRITICAL:
        return "critical";
    case VERDICT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* monitoring-plugins' max_state_alt: critical > warning > unknown > ok. */
static int verdict_rank(enum verdict v)
{
    switch (v) {
    case VERDICT_OK:
        return 0;
    case VERDICT_UNKNOWN:
        return 1;
    case VERDICT_WARNING:
        return 2;
    case VERDICT_CRITICAL:
        return 3;
    }
    return 1;
}

enum verdict verdict_worst(enum verdict a, enum verdict b)
{
    return verdict_rank(a) >= verdict_rank(b) ? a : b;
}

const char *util_env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

void util_copy_cut(char *out, size_t outlen, const char *s)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    size_t n = strlen(s), e = outlen > 2 * sizeof(ellipsis) ? sizeof(ellipsis) - 1 : 0;

    if (outlen == 0)
        return;
    if (n >= outlen) {
        n = outlen - 1 - e;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    } else {
        e = 0;
    }
    memmove(out, s, n);
    memcpy(out + n, ellipsis, e);
    out[n + e] = '\0';
}

uint64_t util_hash64(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

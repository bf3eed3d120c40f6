/* yaml.c - owns the JSON -> YAML rendering of `install --dry-run`. It decides, per string, between
 * plain, double-quoted and literal block style, and lays out block mappings and sequences. It
 * parses no YAML and does no I/O. */
#include "yaml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define YAML_MAX_BYTES (64u << 20)

bool yaml_plain_ok(const char *s)
{
    static const char *const special[] = {"y",  "yes", "n",    "no", "true", "false",
                                          "on", "off", "null", "~",  "="};
    size_t n = s ? strlen(s) : 0;

    if (n == 0)
        return false;
    /* Numbers, dates, sexagesimals, .inf, anchors, tags, flow and block indicators all start
     * with something other than a letter, '_' or '/'. */
    if (!isalpha((unsigned char)s[0]) && s[0] != '_' && s[0] != '/')
        return false;
    if (s[n - 1] == ' ' || s[n - 1] == ':')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!isalnum(c) && !strchr(" _./:=+-", c))
            return false;
        if (c == ':' && s[i + 1] == ' ')
            return false;
    }
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
        if (strcasecmp(s, special[i]) == 0)
            return false;
    }
    return true;
}

bool yaml_block_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || !strchr(s, '\n') || s[0] == ' ' || s[0] == '\n')
        return false;
    if (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n')
        return false; /* would need keep chomping (|+) */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return false;
        /* trailing blanks would be lost to editors and linters */
        if (c == ' ' && (s[i + 1] == '\n' || s[i + 1] == '\0'))
            return false;
    }
    return true;
}

static void put_indent(struct buf *b, int indent)
{
    for (int i = 0; i < indent; i++)
        buf_append(b, " ", 1);
}

static void put_quoted(struct buf *b, const char *s)
{
    buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                buf_printf(b, "\\x%02x", *p);
            else
                buf_append(b, p, 1);
        }
    }
    buf_append(b, "\"", 1);
}

static void put_string(struct buf *b, const char *s)
{
    if (yaml_plain_ok(s))
        buf_puts(b, s);
    else
        put_quoted(b, s);
}

/* A literal block: the header after "key: " or "- ", then the lines at indent. */
static void put_block(struct buf *b, const char *s, int indent)
{
    size_t n = strlen(s);
    const char *p = s, *end = s + n;

    buf_puts(b, s[n - 1] == '\n' ? "|\n" : "|-\n");
    if (s[n - 1] == '\n')
        end--;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (len) {
            put_indent(b, indent);
            buf_append(b, p, len);
        }
        buf_append(b, "\n", 1);
        if (!nl)
            break;
        p = nl + 1;
    }
}

static void put_scalar(struct buf *b, const json_t *v)
{
    char num[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        put_string(b, json_string_value(v));
        break;
    case JSON_INTEGER:
        buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        if (!strpbrk(num, ".eEn"))
            strncat(num, ".0", sizeof(num) - strlen(num) - 1);
        buf_puts(b, num);
        break;
    case JSON_TRUE:
        buf_puts(b, "true");
        break;
    case JSON_FALSE:
        buf_puts(b, "false");
        break;
    case JSON_NULL:
    default:
        buf_puts(b, "null");
        break;
    }
}

static bool is_empty_container(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static void emit_mapping(struct buf *b, const json_t *obj, int indent, bool first_inline);
static void emit_sequence(struct buf *b, const json_t *arr, int indent, bool first_inline);

/* The value after "key:" or "- " (the indicator is written; child content goes to indent). */
static void emit_value(struct buf *b, const json_t *v, int indent, bool in_sequence)
{
    if (json_is_object(v) && json_object_size(v)) {
        if (in_sequence) {
            buf_append(b, " ", 1);
            emit_mapping(b, v, indent, true);
        } else {
            buf_append(b, "\n", 1);
            emit_mapping(b, v, indent, false);
        }
    } else if (json_is_array(v) && json_array_size(v)) {
        if (in_sequence) {
            buf_append(b, " ", 1);
            emit_sequence(b, v, indent, true);
        } else {
            buf_append(b, "\n", 1);
            emit_sequence(b, v, indent, false);
        }
    } else if (is_empty_container(v)) {
        buf_puts(b, json_is_object(v) ? " {}\n" : " []\n");
    } else if (json_is_string(v) && yaml_block_ok(json_string_value(v))) {
        buf_append(b, " ", 1);
        put_block(b, json_string_value(v), indent);
    } else {
        buf_append(b, " ", 1);
        put_scalar(b, v);
        buf_append(b, "\n", 1);
    }
}

static void emit_mapping(struct buf *b, const json_t *obj, int indent, bool first_inline)
{
    const char *key;
    json_t *v;
    bool first = true;

    json_object_foreach((json_t *)obj, key, v)
    {
        if (!(first && first_inline))
            put_indent(b, indent);
        first = false;
        put_string(b, key);
        buf_append(b, ":", 1);
        /* a mapping's children one level deeper; a sequence under a key is indented too */
        emit_value(b, v, indent + 2, false);
    }
}

static void emit_sequence(struct buf *b, const json_t *arr, int indent, bool first_inline)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (!(i == 0 && first_inline))
            put_indent(b, indent);
        buf_append(b, "-", 1);
        emit_value(b, v, indent + 2, true);
    }
}

void yaml_emit(struct buf *out, const json_t *doc)
{
    if (json_is_object(doc) && json_object_size(doc)) {
        emit_mapping(out, doc, 0, false);
    } else if (json_is_array(doc) && json_array_size(doc)) {
        emit_sequence(out, doc, 0, false);
    } else if (is_empty_container(doc)) {
        buf_puts(out, json_is_object(doc) ? "{}\n" : "[]\n");
    } else if (json_is_string(doc) && yaml_block_ok(json_string_value(doc))) {
        put_block(out, json_string_value(doc), 0);
    } else {
        put_scalar(out, doc);
        buf_append(out, "\n", 1);
    }
}

char *yaml_dump(const json_t *doc)
{
    struct buf b;
    char *s;

    buf_init(&b, YAML_MAX_BYTES);
    yaml_emit(&b, doc);
    s = xstrdup(b.data ? b.data : "");
    buf_cleanup(&b);
    return s;
}

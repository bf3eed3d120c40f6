/* yaml.c - owns the JSON -> YAML rendering of `install --dry-run` and `status -o yaml`. It decides,
 * per string, between plain, double-quoted and literal block style; libyaml's emitter writes the
 * document. It parses no YAML and does no I/O. */
#include "yaml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

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

/* ---- libyaml's emitter: it lays out the blocks, indents, escapes and checks every style we ask
 * for (falling back to double quotes where the style cannot hold the string); this file only
 * picks the style, as yaml_plain_ok and yaml_block_ok decide. */

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
    buf_append(data, buffer, size);
    return 1;
}

static bool emit(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev) != 0;
}

static bool emit_scalar(yaml_emitter_t *e, const char *text, yaml_scalar_style_t style, bool plain)
{
    yaml_event_t ev;

    /* plain_implicit: read back by resolution (numbers, booleans, null, plain-safe strings);
     * quoted_implicit: read back as a string because it is quoted. */
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
                                      plain, !plain, style))
        return false;
    return emit(e, &ev);
}

static bool emit_node(yaml_emitter_t *e, const json_t *v, int depth)
{
    yaml_event_t ev;
    char num[64];

    if (depth > 256)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *x;

        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                 json_object_size(v) ? YAML_BLOCK_MAPPING_STYLE
                                                                     : YAML_FLOW_MAPPING_STYLE) ||
            !emit(e, &ev))
            return false;
        json_object_foreach((json_t *)v, key, x)
        {
            bool plain = yaml_plain_ok(key);

            if (!emit_scalar(e, key,
                             plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE,
                             plain) ||
                !emit_node(e, x, depth + 1))
                return false;
        }
        return yaml_mapping_end_event_initialize(&ev) && emit(e, &ev);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;

        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                  json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
                                                                     : YAML_FLOW_SEQUENCE_STYLE) ||
            !emit(e, &ev))
            return false;
        json_array_foreach(v, i, x)
        {
            if (!emit_node(e, x, depth + 1))
                return false;
        }
        return yaml_sequence_end_event_initialize(&ev) && emit(e, &ev);
    }
    case JSON_STRING: {
        const char *str = json_string_value(v);

        if (yaml_plain_ok(str))
            return emit_scalar(e, str, YAML_PLAIN_SCALAR_STYLE, true);
        return emit_scalar(e, str,
                           yaml_block_ok(str) ? YAML_LITERAL_SCALAR_STYLE
                                              : YAML_DOUBLE_QUOTED_SCALAR_STYLE,
                           false);
    }
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE, true);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        if (!strpbrk(num, ".eEn"))
            strncat(num, ".0", sizeof(num) - strlen(num) - 1);
        return emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE, true);
    case JSON_TRUE:
        return emit_scalar(e, "true", YAML_PLAIN_SCALAR_STYLE, true);
    case JSON_FALSE:
        return emit_scalar(e, "false", YAML_PLAIN_SCALAR_STYLE, true);
    case JSON_NULL:
    default:
        return emit_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE, true);
    }
}

void yaml_emit(struct buf *out, const json_t *doc)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    bool ok;

    if (!yaml_emitter_initialize(&e))
        abort();
    yaml_emitter_set_output(&e, write_cb, out);
    yaml_emitter_set_unicode(&e, 1); /* UTF-8 as is, not \u escapes */
    yaml_emitter_set_width(&e, -1);  /* never fold a long string */
    yaml_emitter_set_indent(&e, 2);
    yaml_emitter_set_break(&e, YAML_LN_BREAK);
    ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && emit(&e, &ev) &&
         yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && emit(&e, &ev) &&
         emit_node(&e, doc, 0) && yaml_document_end_event_initialize(&ev, 1) && emit(&e, &ev) &&
         yaml_stream_end_event_initialize(&ev) && emit(&e, &ev);
    if (!ok) {
        /* only invalid UTF-8 gets here (jansson strings are UTF-8) or a nesting past 256 */
        buf_puts(out, "# (this document cannot be written as YAML)\n");
    }
    yaml_emitter_delete(&e);
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

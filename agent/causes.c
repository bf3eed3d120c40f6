/* causes.c - the verdict catalogue as data, from include/causes.def. */
#include "causes.h"

#include <ctype.h>
#include <string.h>

const struct cause_info cause_catalogue[CAUSE_COUNT] = {
#define CAUSE(e, check, id, alert, text) [CAUSE_##e] = {check, id, alert, text},
#include "causes.def"
#undef CAUSE
};

int cause_find(const char *check, const char *id)
{
    for (size_t i = 0; i < CAUSE_COUNT; i++) {
        if (strcmp(cause_catalogue[i].check, check) == 0 && strcmp(cause_catalogue[i].id, id) == 0)
            return (int)i;
    }
    return -1;
}

static const char *lower(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    for (; s[i] && i + 1 < len; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
    return buf;
}

void cause_write_table(FILE *out)
{
    char anchor[64];

    fprintf(out, "| check | cause | alert | what made the check critical |\n");
    fprintf(out, "|---|---|---|---|\n");
    for (size_t i = 0; i < CAUSE_COUNT; i++)
        fprintf(out, "| %s | `%s` | [%s](../alerts.md#%s) | %s |\n", cause_catalogue[i].check,
                cause_catalogue[i].id, cause_catalogue[i].alert,
                lower(cause_catalogue[i].alert, anchor, sizeof(anchor)), cause_catalogue[i].text);
}

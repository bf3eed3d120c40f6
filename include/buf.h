/* buf.h - a growable byte buffer with a hard ceiling and a sticky overflow flag: after the first
 * append that would pass `max`, every append is a no-op and the caller checks once at the end. */
#ifndef AGENT_BUF_H
#define AGENT_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

struct buf {
    char *data; /* always NUL-terminated when not NULL */
    size_t len;
    size_t cap;
    size_t max;
    bool overflow;
};

void buf_init(struct buf *b, size_t max);
void buf_cleanup(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);

#endif

/* yaml.h - the JSON -> YAML emitter of `install --dry-run` and `status -o yaml`, on libyaml's
 * emitter: block style, two-space indents, sequences under a key not indented (as kubectl and
 * libyaml write them), strings left plain only when YAML 1.1 and 1.2 loaders read them back as the
 * same string (else double-quoted with escapes), multi-line strings as literal blocks when that is
 * exact, no line folding. Key order is the object's insertion order. Pure: no I/O. */
#ifndef AGENT_YAML_H
#define AGENT_YAML_H

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"

/* Appends doc (any JSON value) as one YAML document body (no "---"), ending in a newline. */
void yaml_emit(struct buf *out, const json_t *doc);
/* The same into a new string (the caller frees it). */
char *yaml_dump(const json_t *doc);

/* Whether s may be written as a plain scalar (key or value) and read back as that string. */
bool yaml_plain_ok(const char *s);
/* Whether s can be written exactly as a literal block scalar (|, |-). */
bool yaml_block_ok(const char *s);

#endif

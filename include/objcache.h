/* objcache.h - a bounded cache of S3 object bodies by key, with the LastModified they were read
 * at, for objects that never change once written (WAL-G's sentinels) or that a listing says when
 * they changed (metadata.json). Open addressing on string keys; the table is cleared when it
 * would hold more than its bound (a pointer from objcache_get/put is valid until the next put).
 * Pure: no I/O. One instance per check registry (check_run_kept), see docs/design.md. */
#ifndef AGENT_OBJCACHE_H
#define AGENT_OBJCACHE_H

#include <stddef.h>
#include <stdint.h>

struct objcache_entry {
    char *key;
    int64_t mtime_s;   /* the object's LastModified when read, or the caller's "no time" */
    uint64_t etag;     /* the caller's: the listed ETag it was read at (0 after objcache_put) */
    int64_t fetched_s; /* when it was read */
    char *body;        /* NUL-terminated copy, len bytes before the NUL */
    size_t len;
};

struct objcache;

struct objcache *objcache_new(size_t max_entries);
void objcache_free(struct objcache *c);
/* The entry for key, or NULL. */
struct objcache_entry *objcache_get(struct objcache *c, const char *key);
/* Stores a copy of body under key (replacing what was there) and returns the entry. */
struct objcache_entry *objcache_put(struct objcache *c, const char *key, const char *body,
                                    size_t len, int64_t mtime_s, int64_t fetched_s);
size_t objcache_count(const struct objcache *c);
/* Times the table was cleared because it was full. */
uint64_t objcache_clears(const struct objcache *c);

#endif

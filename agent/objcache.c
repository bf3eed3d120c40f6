/* objcache.c - bounded cache of object bodies by key (see objcache.h). */
#include "objcache.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct objcache {
    struct objcache_entry *tab;
    size_t cap, used, max;
    uint64_t clears;
};

struct objcache *objcache_new(size_t max_entries)
{
    struct objcache *c = xcalloc(1, sizeof(*c));

    c->max = max_entries ? max_entries : 1;
    return c;
}

static void clear(struct objcache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        free(c->tab[i].key);
        free(c->tab[i].body);
    }
    free(c->tab);
    c->tab = NULL;
    c->cap = c->used = 0;
}

void objcache_free(struct objcache *c)
{
    if (!c)
        return;
    clear(c);
    free(c);
}

static size_t find(const struct objcache *c, const char *key)
{
    size_t i;

    for (i = util_hash64(key) & (c->cap - 1); c->tab[i].key; i = (i + 1) & (c->cap - 1)) {
        if (strcmp(c->tab[i].key, key) == 0)
            break;
    }
    return i;
}

struct objcache_entry *objcache_get(struct objcache *c, const char *key)
{
    size_t i;

    if (!c->cap)
        return NULL;
    i = find(c, key);
    return c->tab[i].key ? &c->tab[i] : NULL;
}

static void grow(struct objcache *c)
{
    struct objcache_entry *old = c->tab;
    size_t oldcap = c->cap;

    c->cap = oldcap ? oldcap * 2 : 1024;
    c->tab = xcalloc(c->cap, sizeof(*c->tab));
    for (size_t k = 0; k < oldcap; k++) {
        if (old[k].key)
            c->tab[find(c, old[k].key)] = old[k];
    }
    free(old);
}

struct objcache_entry *objcache_put(struct objcache *c, const char *key, const char *body,
                                    size_t len, int64_t mtime_s, int64_t fetched_s)
{
    struct objcache_entry *e = objcache_get(c, key);

    if (!e) {
        if (c->used + 1 > c->max) {
            clear(c);
            c->clears++;
        }
        if (!c->cap || (c->used + 1) * 2 > c->cap)
            grow(c);
        e = &c->tab[find(c, key)];
        e->key = xstrdup(key);
        c->used++;
    }
    free(e->body);
    e->body = xmalloc(len + 1);
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->len = len;
    e->mtime_s = mtime_s;
    e->fetched_s = fetched_s;
    e->etag = 0;
    return e;
}

size_t objcache_count(const struct objcache *c)
{
    return c->used;
}

uint64_t objcache_clears(const struct objcache *c)
{
    return c->clears;
}

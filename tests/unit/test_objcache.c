/* test_objcache.c - the object cache of the backups check (agent/objcache.c). */
#include "harness.h"

#include "objcache.h"

static void test_get_put(void **state)
{
    struct objcache *c = objcache_new(16);
    struct objcache_entry *e;

    (void)state;
    assert_null(objcache_get(c, "a/sentinel.json"));
    e = objcache_put(c, "a/sentinel.json", "{\"x\":1}", 7, 100, 200);
    assert_string_equal(e->body, "{\"x\":1}");
    assert_int_equal(e->len, 7);
    e = objcache_get(c, "a/sentinel.json");
    assert_non_null(e);
    assert_int_equal(e->mtime_s, 100);
    assert_int_equal(e->fetched_s, 200);
    /* a new body under the same key replaces the old one, the count stays */
    e = objcache_put(c, "a/sentinel.json", "{}", 2, 101, 300);
    assert_string_equal(objcache_get(c, "a/sentinel.json")->body, "{}");
    assert_int_equal(objcache_get(c, "a/sentinel.json")->mtime_s, 101);
    assert_int_equal(objcache_count(c), 1);
    /* bodies are copies, NUL-terminated even when the source is not */
    e = objcache_put(c, "b", "abcdef", 3, 0, 0);
    assert_string_equal(e->body, "abc");
    objcache_free(c);
}

/* Many keys: the table grows and finds each again; the bound clears it instead of growing on. */
static void test_growth_and_bound(void **state)
{
    struct objcache *c = objcache_new(5000);
    char key[64], body[32];

    (void)state;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "spilo/x/wal/15/basebackups_005/base_%06d/metadata.json", i);
        snprintf(body, sizeof(body), "%d", i);
        (void)objcache_put(c, key, body, strlen(body), i, 0);
    }
    assert_int_equal(objcache_count(c), 5000);
    assert_int_equal(objcache_clears(c), 0);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(key, sizeof(key), "spilo/x/wal/15/basebackups_005/base_%06d/metadata.json", i);
        snprintf(body, sizeof(body), "%d", i);
        assert_non_null(objcache_get(c, key));
        assert_string_equal(objcache_get(c, key)->body, body);
    }
    (void)objcache_put(c, "one more", "x", 1, 0, 0); /* over the bound: cleared first */
    assert_int_equal(objcache_clears(c), 1);
    assert_int_equal(objcache_count(c), 1);
    assert_null(objcache_get(c, "spilo/x/wal/15/basebackups_005/base_000000/metadata.json"));
    assert_non_null(objcache_get(c, "one more"));
    objcache_free(c);
    objcache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put),
        cmocka_unit_test(test_growth_and_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

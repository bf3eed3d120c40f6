/* test_walchain.c - the WAL chain: names WAL-G and WAL-E write, ranges per timeline, timeline
 * switches, what each backup reaches, gaps and the recovery window.
 *
 * Names followed:
 *  - wal-g/wal-g internal/databases/postgres/timeline.go:68 (segments per xlog id =
 *    0x100000000 / WalSegmentSize, 16 MiB default at :67), :75 (history files
 *    "^([0-9a-fA-F]+)\.history(\.\w+)?$": compressed like any WAL file), :79 (walFileFormat
 *    "%08X%08X%08X"), ParseWALFilename :105-129 (segment below segments-per-id).
 *  - wal-g/wal-g internal/databases/postgres/wal_segment.go:102 (a ".partial" segment name).
 *  - wal-g/wal-g internal/compression/{lz4,lzma,zstd}/compressor.go:12, brotli/compressor.go:15,
 *    lzo/decompressor.go:13 (extensions lz4, lzma, zst, br, lzo).
 *  - wal-e/wal-e wal_e/storage/base.py wal_path(): "wal_005/<segment>.lzo", SEGMENT_REGEXP
 *    (8+8+8 upper hex).
 *  - PostgreSQL src/backend/access/transam/timeline.c: "<parentTLI> <switchpoint> <reason>". */
#include "harness.h"

#include <errno.h>

#include "walchain.h"

#define MB (1024ULL * 1024)
#define T0 1764720000 /* 2025-12-03T00:00:00Z */

static void add_seg(struct walchain *c, uint32_t tli, uint64_t segno, const char *ext, int64_t t)
{
    char name[64], n[WALCHAIN_NAME_LEN + 1];

    walchain_segment_name(tli, segno, walchain_seg_size(c), n);
    snprintf(name, sizeof(name), "%s%s%s", n, *ext ? "." : "", ext);
    assert_int_equal(walchain_add(c, name, t), WALCHAIN_SEGMENT);
}

static void add_run(struct walchain *c, uint32_t tli, uint64_t from, uint64_t to, const char *ext)
{
    for (uint64_t s = from; s <= to; s++)
        add_seg(c, tli, s, ext, T0 + (int64_t)s * 60);
}

static struct walchain_backup bk(const char *name, uint32_t tli, uint64_t start_seg,
                                 uint64_t finish_seg)
{
    struct walchain_backup b = {
        .name = name,
        .tli = tli,
        .start_lsn = start_seg * 16 * MB + 0x28,
        .finish_lsn = finish_seg * 16 * MB + 0x100,
        .start_time_s = T0 + (int64_t)start_seg * 60,
        .finish_time_s = T0 + (int64_t)finish_seg * 60,
    };
    return b;
}

static void test_names(void **state)
{
    struct walchain_name n;

    (void)state;
    assert_int_equal(walchain_parse_name("000000010000000000000002", &n), WALCHAIN_SEGMENT);
    assert_int_equal(n.tli, 1);
    assert_int_equal(n.seg, 2);
    assert_string_equal(n.ext, "");
    const char *exts[] = {"lz4", "br", "zst", "lzma", "lzo", "gz"};
    for (size_t i = 0; i < 6; i++) {
        char name[64];

        snprintf(name, sizeof(name), "00000003000000A1000000FE.%s", exts[i]);
        assert_int_equal(walchain_parse_name(name, &n), WALCHAIN_SEGMENT);
        assert_string_equal(n.ext, exts[i]);
        assert_int_equal(n.tli, 3);
        assert_int_equal(n.log, 0xA1);
        assert_int_equal(n.seg, 0xFE);
    }
    assert_int_equal(walchain_parse_name("0000000200000000000000a3.lz4", &n), WALCHAIN_SEGMENT);
    assert_int_equal(n.seg, 0xA3);
    assert_int_equal(walchain_parse_name("000000010000000000000005.partial.lz4", &n),
                     WALCHAIN_PARTIAL);
    assert_int_equal(walchain_parse_name("000000010000000000000005.partial", &n), WALCHAIN_PARTIAL);
    assert_int_equal(walchain_parse_name("00000002.history.br", &n), WALCHAIN_HISTORY);
    assert_int_equal(n.tli, 2);
    assert_int_equal(walchain_parse_name("00000002.history", &n), WALCHAIN_HISTORY);
    assert_int_equal(walchain_parse_name("000000010000000000000002.00000028.backup.lzo", &n),
                     WALCHAIN_BACKUP_HISTORY);
    assert_int_equal(walchain_parse_name("000000010000000000000002.zip", NULL), WALCHAIN_OTHER);
    assert_int_equal(walchain_parse_name("walg_data/x", NULL), WALCHAIN_OTHER);
    assert_int_equal(walchain_parse_name("00000001000000000000000G", NULL), WALCHAIN_OTHER);
    assert_int_equal(walchain_parse_name("", NULL), WALCHAIN_OTHER);
    assert_int_equal(walchain_parse_name(NULL, NULL), WALCHAIN_OTHER);

    /* numbering: 256 segments of 16 MiB per xlog id, 4 of 1 GiB */
    assert_int_equal(walchain_segno(1, 0, 16 * MB), 256);
    assert_true(walchain_segno(0, 0x100, 16 * MB) == UINT64_MAX);
    assert_int_equal(walchain_segno(1, 3, 1024 * MB), 7);
    char nm[WALCHAIN_NAME_LEN + 1];
    walchain_segment_name(2, 257, 16 * MB, nm);
    assert_string_equal(nm, "000000020000000100000001");
    /* the segment size from a backup name and its start LSN */
    assert_int_equal(walchain_infer_seg_size(0, 0x3A, 0x3A000028ULL), 16 * MB);
    assert_int_equal(walchain_infer_seg_size(1, 3, 7ULL * 1024 * MB + 5), 1024 * MB);
    assert_int_equal(walchain_infer_seg_size(0, 0, 5), 0); /* every size fits: unknown */
}

static void test_ranges_and_duplicates(void **state)
{
    struct walchain *c = walchain_new(0);
    struct walchain_stats st;

    (void)state;
    add_run(c, 1, 10, 20, "lz4");
    add_run(c, 1, 30, 40, "lz4");
    add_run(c, 1, 5, 9, "br"); /* extends the first range downwards */
    add_seg(c, 1, 25, "zst", T0);
    add_run(c, 1, 10, 20, "lz4"); /* listed again */
    walchain_stats(c, &st);
    assert_int_equal(st.segments, 16 + 11 + 1);
    assert_int_equal(st.ranges, 3);
    add_run(c, 1, 21, 24, "lz4");
    add_run(c, 1, 26, 29, "lz4"); /* closes both gaps: one range */
    walchain_stats(c, &st);
    assert_int_equal(st.ranges, 1);
    assert_string_equal(st.newest_segment, "000000010000000000000028");
    assert_int_equal(st.newest_mtime_s, T0 + 40 * 60);
    assert_int_equal(walchain_gaps(c, NULL, 0), 0);
    walchain_free(c);
    walchain_free(NULL);
}

static void test_gap_cuts_off(void **state)
{
    struct walchain *c = walchain_new(0);
    struct walchain_backup b[3] = {bk("base_000000010000000000000002", 1, 2, 3),
                                   bk("base_000000010000000000000010", 1, 0x10, 0x11),
                                   bk("base_000000010000000000000020", 1, 0x20, 0x21)};
    struct walchain_reach r;
    struct walchain_summary sum;
    struct check_result res;
    json_t *o;

    (void)state;
    add_run(c, 1, 2, 0x14, "lz4");
    add_run(c, 1, 0x18, 0x30, "lz4"); /* 0x15..0x17 missing */
    walchain_reach(c, &b[0], &r);
    assert_int_equal(r.consistent, 1);
    assert_false(r.to_now);
    assert_true(r.has_missing);
    assert_int_equal(r.missing_first, 0x15);
    assert_int_equal(r.missing_last, 0x17);
    assert_int_equal(r.reach_time_s, T0 + 0x14 * 60); /* the last segment before the gap */
    walchain_reach(c, &b[2], &r);
    assert_int_equal(r.consistent, 1);
    assert_true(r.to_now);

    o = walchain_report(c, b, 3, true, &sum);
    assert_int_equal(sum.gaps, 1);
    assert_int_equal(sum.restorable, 1);
    assert_int_equal(sum.first_recoverability_s, T0 + 0x20 * 60);
    assert_int_equal(sum.last_archived_s, T0 + 0x30 * 60);
    assert_int_equal(sum.latest_consistent, 1);
    assert_string_equal(json_string_value(dget(o, "gaps.0.first")), "000000010000000000000015");
    assert_int_equal(json_integer_value(dget(o, "gaps.0.cuts_off_count")), 2);
    assert_string_equal(json_string_value(dget(o, "gaps.0.cuts_off.0")),
                        "base_000000010000000000000010");
    json_decref(o);

    check_result_init(&res);
    check_result_set(&res, VERDICT_OK, "fine");
    walchain_apply(&res, c, b, 3, true);
    assert_int_equal(res.status, VERDICT_WARNING);
    assert_non_null(strstr(res.summary, "WAL gap on timeline 1"));
    assert_non_null(strstr(res.summary, "fine"));
    assert_true(json_is_true(dget(res.details, "wal_chain.backups.2.restorable_to_now")));
    check_result_cleanup(&res);

    /* during a cold listing nothing is judged */
    check_result_init(&res);
    check_result_set(&res, VERDICT_OK, "fine");
    walchain_apply(&res, c, b, 3, false);
    assert_int_equal(res.status, VERDICT_OK);
    assert_true(json_is_false(dget(res.details, "wal_chain.complete")));
    check_result_cleanup(&res);
    walchain_free(c);
}

static void test_latest_incomplete(void **state)
{
    struct walchain *c = walchain_new(0);
    struct walchain_backup b[2] = {bk("base_000000010000000000000002", 1, 2, 3),
                                   bk("base_000000010000000000000010", 1, 0x10, 0x13)};
    struct check_result res;

    (void)state;
    add_run(c, 1, 2, 0x11, "");
    add_run(c, 1, 0x13, 0x13, ""); /* 0x12, inside the newest backup, is missing */
    check_result_init(&res);
    check_result_set(&res, VERDICT_OK, "fine");
    walchain_apply(&res, c, b, 2, true);
    assert_int_equal(res.status, VERDICT_CRITICAL);
    assert_true(res.causes[CAUSE_BACKUPS_WAL_INCOMPLETE]);
    assert_non_null(strstr(res.summary, "000000010000000000000012"));
    assert_true(json_is_false(dget(res.details, "wal_chain.backups.1.consistent")));
    assert_true(json_is_null(dget(res.details, "wal_chain.window.first_recoverability_at")));
    check_result_cleanup(&res);
    walchain_free(c);
}

static void test_timeline_switch(void **state)
{
    struct walchain *c = walchain_new(0);
    struct walchain_backup b[1] = {bk("base_000000010000000000000002", 1, 2, 3)};
    struct walchain_reach r;
    struct walchain_summary sum;
    json_t *o;
    char err[200];

    (void)state;
    /* tli 1 up to 0x0F, promotion in 0x10: 0x10.partial on 1, tli 2 from 0x10 on */
    add_run(c, 1, 2, 0x0F, "lz4");
    assert_int_equal(walchain_add(c, "000000010000000000000010.partial.lz4", T0), WALCHAIN_PARTIAL);
    assert_int_equal(walchain_add(c, "00000002.history.lz4", T0), WALCHAIN_HISTORY);
    add_run(c, 2, 0x10, 0x20, "lz4");
    walchain_reach(c, &b[0], &r);
    assert_true(r.to_now);
    assert_false(r.off_target);
    assert_int_equal(r.reach_tli, 2);
    assert_int_equal(walchain_gaps(c, NULL, 0), 0);
    o = walchain_report(c, b, 1, true, &sum);
    assert_int_equal(sum.gaps, 0);
    assert_int_equal(sum.restorable, 1);
    assert_int_equal(json_integer_value(dget(o, "target_timeline")), 2);
    assert_int_equal(json_integer_value(dget(o, "timelines.1.switched_from.timeline")), 1);
    assert_true(json_is_true(dget(o, "timelines.1.switched_from.assumed")));
    json_decref(o);

    /* the exact switch point from the (uncompressed) history file: 0/10000A8 is in 0x10 */
    {
        static const char hist[] = "# c\n1\t0/100000A8\tno recovery target\n\n";

        assert_int_equal(walchain_set_history(c, 2, hist, sizeof(hist) - 1, err, sizeof(err)), 0);
    }
    walchain_reach(c, &b[0], &r);
    assert_true(r.to_now);
    assert_int_equal(walchain_set_history(c, 2, "1\tzz\tx\n", 7, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not an LSN"));
    assert_int_equal(walchain_set_history(c, 2, "3\t0/1\tx\n", 8, err, sizeof(err)), -EINVAL);

    /* the parent stopped archiving before the switch point: a gap at the switch */
    walchain_free(c);
    c = walchain_new(0);
    add_run(c, 1, 2, 0x0B, "lz4");
    add_run(c, 2, 0x10, 0x20, "lz4");
    walchain_reach(c, &b[0], &r);
    assert_false(r.to_now);
    assert_int_equal(r.missing_tli, 1);
    assert_int_equal(r.missing_first, 0x0C);
    assert_int_equal(r.missing_last, 0x0F);
    o = walchain_report(c, b, 1, true, &sum);
    assert_int_equal(sum.gaps, 1);
    assert_true(json_is_true(dget(o, "gaps.0.at_switch")));
    json_decref(o);
    walchain_free(c);
}

static void test_abandoned_timeline(void **state)
{
    struct walchain *c = walchain_new(0);
    char err[200];
    struct walchain_backup b = bk("base_000000010000000000000018", 1, 0x18, 0x19);
    struct walchain_reach r;

    (void)state;
    /* tli 1 went on after the switch to 2 at 0x10 (an old leader kept archiving) */
    add_run(c, 1, 2, 0x1A, "lz4");
    add_run(c, 2, 0x10, 0x20, "lz4");
    assert_int_equal(walchain_set_history(c, 2, "1\t0/10000000\tx\n", 15, err, sizeof(err)), 0);
    walchain_reach(c, &b, &r);
    assert_true(r.off_target);
    assert_false(r.to_now);
    assert_int_equal(r.consistent, 1);
    walchain_free(c);
}

static void test_wale_lzo(void **state)
{
    struct walchain *c = walchain_new(0);
    struct walchain_backup b = bk("base_000000010000000000000004_00000040", 1, 4, 5);
    struct walchain_reach r;
    struct walchain_stats st;

    (void)state;
    add_run(c, 1, 3, 9, "lzo");
    assert_int_equal(walchain_add(c, "000000010000000000000004.00000040.backup.lzo", T0),
                     WALCHAIN_BACKUP_HISTORY);
    assert_int_equal(walchain_add(c, "something_else", T0), WALCHAIN_OTHER);
    walchain_reach(c, &b, &r);
    assert_int_equal(r.consistent, 1);
    assert_true(r.to_now);
    walchain_stats(c, &st);
    assert_int_equal(st.backup_histories, 1);
    assert_int_equal(st.other, 1);
    assert_string_equal(st.other_sample, "something_else");
    walchain_free(c);
}

/* 100,000 segments: memory grows with the gaps, not with the segments. */
static void test_memory_bound(void **state)
{
    struct walchain *c = walchain_new(0);
    struct walchain_stats st;
    struct walchain_backup b = bk("base_000000010000000000000001", 1, 1, 2);
    struct walchain_reach r;

    (void)state;
    for (uint64_t s = 1; s <= 100000; s++)
        add_seg(c, 1, s, "lz4", T0 + (int64_t)s);
    walchain_stats(c, &st);
    assert_int_equal(st.segments, 100000);
    assert_int_equal(st.ranges, 1);
    assert_true(st.memory_bytes < 1024);
    walchain_reach(c, &b, &r);
    assert_true(r.to_now);
    walchain_free(c);

    /* one missing segment in every 1,000: 100 ranges, 99 gaps between them */
    c = walchain_new(0);
    for (uint64_t s = 1; s <= 100000; s++) {
        if (s % 1000 != 0)
            add_seg(c, 1, s, "lz4", T0 + (int64_t)s);
    }
    walchain_stats(c, &st);
    assert_int_equal(st.ranges, 100);
    assert_true(st.memory_bytes < 128 * 32 + 1024);
    assert_int_equal(walchain_gaps(c, NULL, 0), 99);
    walchain_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),           cmocka_unit_test(test_ranges_and_duplicates),
        cmocka_unit_test(test_gap_cuts_off),    cmocka_unit_test(test_latest_incomplete),
        cmocka_unit_test(test_timeline_switch), cmocka_unit_test(test_abandoned_timeline),
        cmocka_unit_test(test_wale_lzo),        cmocka_unit_test(test_memory_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* walchain.h - the WAL chain under <prefix>/wal_005/ as WAL-G and WAL-E leave it: object names
 * (segments with any compression extension, .partial segments, <tli>.history and .backup history
 * files), the chain kept as ranges of segment numbers per timeline (memory grows with gaps and
 * timelines, not with the number of segments), timeline switches, and what each base backup can
 * reach: consistency (every segment from its start LSN to its finish LSN) and now (unbroken to
 * the newest archived segment). Pure: no I/O, no clock reads, no globals. The caller lists
 * wal_005/ (walscan.c does it incrementally) and adds every listed key; see
 * docs/checks/backups.md, "The WAL chain". */
#ifndef AGENT_WALCHAIN_H
#define AGENT_WALCHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check_result.h"
#include "common.h"

#define WALCHAIN_DIR "wal_005/"
#define WALCHAIN_SEG_SIZE_DEFAULT                                                                  \
    (16ULL * 1024 * 1024) /* PostgreSQL's default wal_segment_size                                 \
                           */
#define WALCHAIN_NO_TIME  INT64_MIN
#define WALCHAIN_NAME_LEN 24 /* "TTTTTTTTLLLLLLLLSSSSSSSS" */

enum walchain_kind {
    WALCHAIN_OTHER = 0,     /* not a WAL-G/WAL-E name (counted, ignored) */
    WALCHAIN_SEGMENT,       /* 24 hex [.ext] */
    WALCHAIN_PARTIAL,       /* 24 hex .partial [.ext]: the last segment of a timeline at a switch */
    WALCHAIN_HISTORY,       /* 8 hex .history [.ext]: a timeline was created */
    WALCHAIN_BACKUP_HISTORY /* 24 hex . 8 hex .backup [.ext]: pg_backup_stop's history file */
};

/* A parsed object name (the part after wal_005/). */
struct walchain_name {
    enum walchain_kind kind;
    uint32_t tli;
    uint32_t log, seg; /* the segment's two 8-hex halves (not for HISTORY) */
    char ext[8];       /* compression extension without the dot ("lz4", "lzo", ...), "" none */
};

/* Parses name. Compression extensions: lz4 br zst lzma lzo gz (WAL-G's and WAL-E's), or none.
 * Upper or lower case hex. Returns the kind (WALCHAIN_OTHER for anything else); out may be NULL. */
enum walchain_kind walchain_parse_name(const char *name, struct walchain_name *out);
/* Segment number of log/seg for seg_size (log * (2^32 / seg_size) + seg), or UINT64_MAX when seg
 * is out of range for that size. */
uint64_t walchain_segno(uint32_t log, uint32_t seg, uint64_t seg_size);
/* The 24-hex name of (tli, segno); out holds WALCHAIN_NAME_LEN + 1 bytes. */
void walchain_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char *out);
/* The segment size that makes the segment (log, seg) of a backup's name hold its start LSN, among
 * the sizes PostgreSQL allows (1 MiB .. 1 GiB, powers of two); 0 when none does (or several do,
 * then the caller keeps the default). */
uint64_t walchain_infer_seg_size(uint32_t log, uint32_t seg, uint64_t start_lsn);

struct walchain; /* opaque */

/* t_s as an RFC 3339 string, or JSON null for WALCHAIN_NO_TIME. */
json_t *walchain_time_json(int64_t t_s);
struct walchain *walchain_new(uint64_t seg_size); /* 0: WALCHAIN_SEG_SIZE_DEFAULT */
void walchain_free(struct walchain *c);           /* NULL is fine */
uint64_t walchain_seg_size(const struct walchain *c);

/* Adds one listed object (name: the part after wal_005/, mtime_s its LastModified). Adding the
 * same object again changes nothing. Returns its kind. */
enum walchain_kind walchain_add(struct walchain *c, const char *name, int64_t mtime_s);
/* The content of timeline tli's history file (PostgreSQL's "<parent> <switch LSN> <reason>"
 * lines): the exact switch points of the timeline's ancestry. Without it a switch is taken to be
 * where the new timeline's first segment is (WAL-G compresses history files; the chain does not
 * decompress). 0, or -EINVAL with a sentence in err. */
MUSTCHECK int walchain_set_history(struct walchain *c, uint32_t tli, const char *data, size_t len,
                                   char *err, size_t errlen);

/* Counts, for the report and the memory bound. */
struct walchain_stats {
    size_t segments;  /* distinct segments added */
    size_t partials;  /* .partial objects */
    size_t histories; /* .history objects */
    size_t backup_histories;
    size_t other;            /* names that are none of these */
    size_t timelines;        /* timelines with a segment or a history file */
    size_t ranges;           /* unbroken runs of segments, over all timelines */
    size_t memory_bytes;     /* what the chain holds on the heap */
    int64_t newest_mtime_s;  /* LastModified of the newest segment; WALCHAIN_NO_TIME */
    char other_sample[64];   /* the first other name, "" */
    char newest_segment[25]; /* name of the highest segment of the newest timeline, "" */
    uint32_t target_tli;     /* the newest timeline: where recovery ends up ("latest") */
};
void walchain_stats(const struct walchain *c, struct walchain_stats *out);

/* A base backup as far as the chain is concerned. */
struct walchain_backup {
    const char *name;
    uint32_t tli;        /* from the name: base_<TTTTTTTT>... */
    uint64_t start_lsn;  /* from the sentinel/metadata, or the name's segment (* seg_size) */
    uint64_t finish_lsn; /* 0: unknown */
    int64_t start_time_s, finish_time_s; /* WALCHAIN_NO_TIME: unknown */
};

/* What one backup can reach. */
struct walchain_reach {
    int consistent;   /* 1: every segment start..finish is in S3; 0: one is missing;
                         -1: unknown (no finish LSN) */
    bool to_now;      /* unbroken from its start to the newest segment of the newest
                         timeline (following timeline switches) */
    bool off_target;  /* its timeline is not an ancestor of the newest timeline */
    bool has_missing; /* the first missing run on its way */
    uint32_t missing_tli;
    uint64_t missing_first, missing_last; /* segment numbers */
    int64_t reach_time_s; /* LastModified of the last segment reachable without a break;
                             WALCHAIN_NO_TIME when not even the first one is there */
    uint32_t reach_tli;
    uint64_t reach_segno;
};
void walchain_reach(const struct walchain *c, const struct walchain_backup *b,
                    struct walchain_reach *out);

struct walchain_gap {
    uint32_t tli;
    uint64_t first, last;   /* missing segment numbers, inclusive */
    int64_t before_mtime_s; /* LastModified of the segment before the gap; WALCHAIN_NO_TIME */
    int64_t after_mtime_s;  /* of the segment after it (the chain continues there) */
    bool at_switch;         /* the parent timeline ends before the switch point */
};
/* Gaps inside each timeline (by timeline, oldest first), then those at a switch point; writes
 * up to max,
 * returns how many there are. */
size_t walchain_gaps(const struct walchain *c, struct walchain_gap *out, size_t max);

/* The chain's part of the backups verdict. */
struct walchain_summary {
    size_t gaps;                    /* gaps that cut off at least one backup */
    size_t restorable;              /* backups restorable to now */
    int latest_consistent;          /* the newest backup's reach.consistent; -1 without backups */
    int64_t first_recoverability_s; /* start of the oldest backup restorable to now */
    int64_t last_archived_s;        /* LastModified of the newest segment */
};

/* The "wal_chain" details object for backups[0..n) (oldest first; the last is the newest) and
 * the summary. complete: the listing has seen all of wal_005/ (false during a cold start: then
 * nothing is judged). */
json_t *walchain_report(const struct walchain *c, const struct walchain_backup *backups, size_t n,
                        bool complete, struct walchain_summary *sum);
/* Adds the report to r->details["wal_chain"] and worsens r: the newest backup cannot reach
 * consistency -> critical (CAUSE_BACKUPS_WAL_INCOMPLETE); a gap that cuts off a backup ->
 * warning. */
void walchain_apply(struct check_result *r, const struct walchain *c,
                    const struct walchain_backup *backups, size_t n, bool complete);

#endif

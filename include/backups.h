/* backups.h - WAL-G (and WAL-E) base backups under <prefix>/basebackups_005/: backup names, the
 * stop sentinel and metadata.json formats, the backup set built from a listing, and the verdict of
 * the `backups` check. Pure: no I/O, no clock reads, no globals. The caller lists and GETs through
 * s3.c, computes the schedule instants with schedule.c, and hands the objects in; see
 * docs/checks/backups.md for the verdicts and the details fields.
 *
 * The flow of one check run:
 *   1. list "<root>/basebackups_005/" with delimiter "/" (all pages) → backups_list_build()
 *   2. backups_list_wanted() → GET each SENTINEL / METADATA key and backups_list_attach() the
 *      bytes (or backups_list_attach_error() when the GET failed); list each FOLDER (no
 *      delimiter) and give its newest LastModified to backups_list_set_folder_newest()
 *   3. backups_evaluate() → check_result
 */
#ifndef AGENT_BACKUPS_H
#define AGENT_BACKUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check_result.h"
#include "common.h"
#include "aws.h"

#define BACKUPS_NO_TIME      INT64_MIN
#define BACKUPS_NAME_MAX     64 /* "base_" + 24 hex + "_D_" + 24 hex = 56, plus NUL */
#define BACKUPS_LSN_TEXT_MAX 20 /* "FFFFFFFF/FFFFFFFF" plus NUL */
/* WAL-G's folder and suffixes (wal-g utility/utility.go). */
#define BACKUPS_DIR             "basebackups_005/"
#define BACKUPS_SENTINEL_SUFFIX "_backup_stop_sentinel.json"
#define BACKUPS_METADATA_NAME   "metadata.json"
/* The delimiter of the basebackups_005/ listing: S3 rolls each backup's tar_partitions/ up into
 * one common prefix and lists the objects beside it (metadata.json with its ETag and
 * LastModified, files_metadata.json), so that one listing shows when a metadata.json changed.
 * WAL-G writes the parts under "<name>" + TarPartitionFolderName, which is this string
 * (internal/storage_tar_ball.go line 16), and metadata.json beside them
 * (internal/databases/postgres/backup_push_handler.go, uploadMetadata, lines 472-489). Stores
 * that refuse a delimiter other than "/" are listed with "/". */
#define BACKUPS_LIST_DELIMITER "/tar_partitions/"
/* A folder without sentinel whose newest object is older than max(grace, this) is abandoned. */
#define BACKUPS_ABANDON_MIN_S 3600

/* Which tool wrote a stop sentinel, told apart by its keys. */
enum backups_format {
    BACKUPS_FORMAT_UNKNOWN = 0,
    BACKUPS_FORMAT_WALG,        /* has "Version" (V2: WAL-G >= v1.1.1, Spilo >= 2.1-p9) */
    BACKUPS_FORMAT_WALG_LEGACY, /* "LSN" but no "Version": WAL-G v0.2.x - v1.1 (Spilo 1.6-2.1) */
    BACKUPS_FORMAT_WALE,        /* "wal_segment_backup_stop": WAL-E */
};

/* A parsed stop sentinel (basebackups_005/<name>_backup_stop_sentinel.json). Every field is
 * optional: absent and null keys leave the "unknown" value shown in the comment. Strings owned. */
struct backups_sentinel {
    enum backups_format format;
    int64_t version; /* "Version"; 0 */
    bool has_start_lsn, has_finish_lsn;
    uint64_t start_lsn;    /* "LSN" (WAL-E: none, the start is in the backup name) */
    uint64_t finish_lsn;   /* "FinishLSN" (WAL-E: stop segment + offset, 16 MiB segments) */
    uint64_t delta_lsn;    /* "DeltaLSN", v0.2 "DeltaFromLSN"; 0 */
    char *delta_from;      /* "DeltaFrom": the previous backup of a delta; NULL */
    char *delta_full_name; /* "DeltaFullName": the full backup at the chain root; NULL */
    int64_t delta_count;   /* "DeltaCount"; 0 */
    int64_t start_time_s;  /* "StartTime"; BACKUPS_NO_TIME (also for Go's zero time) */
    int32_t start_time_us;
    int64_t finish_time_s; /* "FinishTime"; BACKUPS_NO_TIME */
    int32_t finish_time_us;
    int is_permanent;          /* "IsPermanent" at push time: 1, 0; -1 */
    int64_t compressed_size;   /* "CompressedSize" bytes; -1 */
    int64_t uncompressed_size; /* "UncompressedSize", WAL-E "expanded_size_bytes"; -1 */
    int64_t pg_version;        /* "PgVersion" (server_version_num); 0 */
    bool has_system_identifier;
    uint64_t system_identifier; /* "SystemIdentifier" */
    char *hostname;             /* "Hostname"; NULL */
    char *data_dir;             /* "DataDir"; NULL */
    char *wale_stop_segment;    /* WAL-E "wal_segment_backup_stop"; NULL */
};

/* A parsed <name>/metadata.json (WAL-G ExtendedMetadataDto): authoritative for is_permanent,
 * because `wal-g backup-mark` rewrites only this object. Same "unknown" values as above. */
struct backups_metadata {
    bool has_start_lsn, has_finish_lsn;
    uint64_t start_lsn, finish_lsn;
    int64_t start_time_s, finish_time_s;
    int32_t start_time_us, finish_time_us;
    int is_permanent;
    int64_t compressed_size, uncompressed_size;
    int64_t pg_version;
    bool has_system_identifier;
    uint64_t system_identifier;
    char *hostname;
    char *data_dir;
};

/* Parse one object. Tolerant of unknown keys, any key order, nulls, missing V2 keys, fractional
 * seconds of any length and integers beyond int64 (uint64 LSNs and system identifiers after 2038
 * are read exactly). A known key with a type WAL-G itself could not read (e.g. "LSN":"abc"), a
 * document that is not a JSON object, or one without any key of the format, is an error: 0 or
 * -EINVAL with one sentence in err. *out is initialised either way; release it with _cleanup. */
MUSTCHECK int backups_sentinel_parse(const char *data, size_t len, struct backups_sentinel *out,
                                     char *err, size_t errlen);
void backups_sentinel_cleanup(struct backups_sentinel *s);
MUSTCHECK int backups_metadata_parse(const char *data, size_t len, struct backups_metadata *out,
                                     char *err, size_t errlen);
void backups_metadata_cleanup(struct backups_metadata *m);

/* "wal-g", "wal-g-legacy", "wal-e", "unknown" */
const char *backups_format_name(enum backups_format f);
/* PostgreSQL's text form of an LSN, "%X/%X": 973078568 → "0/3A000028". */
void backups_format_lsn(uint64_t lsn, char *out, size_t outlen);

/* Whether key (any prefix) names a stop sentinel: it ends in BACKUPS_SENTINEL_SUFFIX. */
bool backups_is_sentinel_key(const char *key);

/* Whether name[0..len) is a backup name: WAL-G "base_" + 24 hex [+ "_D_" + 24 hex] (a delta), or
 * WAL-E "base_" + 24 hex + "_" + 8 hex (WAL-E writes the start offset in the segment as 8
 * zero-padded decimal digits; only such names give a start LSN). Upper or lower case hex. wale and
 * delta may be NULL. */
bool backups_name_valid(const char *name, size_t len, bool *wale, bool *delta);

/* One backup of the set: a sentinel directly under basebackups_005/ (complete), a folder
 * "<name>/" without sentinel (in progress or abandoned), or both. */
struct backups_backup {
    char name[BACKUPS_NAME_MAX];
    bool wale;                /* WAL-E name */
    bool delta;               /* "_D_" in the name */
    char *sentinel_key;       /* full key; NULL when there is no sentinel (not complete) */
    int64_t sentinel_mtime_s; /* the sentinel's LastModified; BACKUPS_NO_TIME without sentinel */
    int32_t sentinel_mtime_ms;
    char *folder;            /* "<base><name>/" when the listing showed it; NULL */
    int64_t folder_newest_s; /* newest object inside the folder; BACKUPS_NO_TIME unknown */
    char *metadata_key;      /* "<base><name>/metadata.json" (WAL-G names only), owned */
    /* metadata.json as the listing shows it (BACKUPS_LIST_DELIMITER): its LastModified, or
     * BACKUPS_NO_TIME when the listing did not show it, and util_hash64 of its ETag (0 none) */
    int64_t metadata_mtime_s;
    uint64_t metadata_etag;
    struct backups_sentinel *sentinel; /* NULL until attached */
    struct backups_metadata *metadata; /* NULL until attached */
    bool metadata_deferred; /* not fetched this run (a per-run budget): permanence from sentinel */
    char *sentinel_error;   /* why the sentinel could not be fetched or read */
    char *metadata_error;
};

struct backups_list {
    char *base; /* the listed prefix, "<root>/basebackups_005/" */
    struct backups_backup *items;
    size_t n;
    bool folders_listed; /* the listing showed folders (common prefixes or keys inside them) */
    /* the listing shows the objects at the top of each folder (BACKUPS_LIST_DELIMITER): a
     * complete WAL-G backup whose metadata.json it does not show has none (WAL-G uploads
     * metadata.json before the sentinel), and is not fetched */
    bool metadata_listed;
    size_t n_ignored;     /* keys and prefixes under base that are not backups */
    bool unsorted;        /* private: items were not added in name order (S3 lists in order) */
    char *ignored_sample; /* the first of them (the part after base), NULL when none */
};

/* Builds the set from a listing of base ("<root>/basebackups_005/"; a missing trailing "/" is
 * added; root may be empty). objects are the listing's Contents (all pages): sentinels directly
 * under base, and, if the listing had no delimiter, keys inside the folders, whose LastModified
 * then gives folder_newest_s directly. prefixes are its CommonPrefixes ("<base><name>/"); pass
 * NULL when the listing did not ask for them, which turns off the "sentinel without folder"
 * finding. Keys outside base and names that are not backups are counted in n_ignored. Returns 0
 * or -EINVAL (base is NULL); *out is then a list to free with backups_list_free(). */
MUSTCHECK int backups_list_build(const char *base, const struct s3_object *objects,
                                 size_t n_objects, const char *const *prefixes, size_t n_prefixes,
                                 struct backups_list **out);
void backups_list_free(struct backups_list *l); /* NULL is fine */
/* The backup of that name, or NULL. */
const struct backups_backup *backups_list_find(const struct backups_list *l, const char *name);

enum backups_fetch_kind {
    BACKUPS_FETCH_SENTINEL, /* GET key, then backups_list_attach() */
    BACKUPS_FETCH_METADATA, /* GET key, then backups_list_attach() */
    BACKUPS_FETCH_FOLDER,   /* list key (no delimiter), then backups_list_set_folder_newest() */
};

struct backups_fetch {
    enum backups_fetch_kind kind;
    const char *key;  /* borrowed from the list */
    const char *name; /* the backup, borrowed */
    /* The LastModified the listing shows. A sentinel never changes once written, so (key,
     * mtime) is a safe cache key for it. metadata.json is rewritten by `wal-g backup-mark`: its
     * (key, mtime, etag) from the listing is the cache key; BACKUPS_NO_TIME when the listing did
     * not show it (a "/" listing), and always for folders. */
    int64_t mtime_s;
    uint64_t etag; /* util_hash64 of the listed ETag; 0 when none */
};

/* What the verdict needs that the listing does not show and that is not attached yet, in this
 * order: the newest complete backup's sentinel (LSNs, times, sizes, delta base); metadata.json of
 * every complete WAL-G backup, newest first (is_permanent, for the counts); every folder without
 * sentinel whose newest object is unknown (running or abandoned), by name descending. Writes up
 * to max entries and returns how many are wanted (which may be more than max). A GET or listing
 * that fails should be reported with backups_list_attach_error(), or simply left out: the verdict
 * then uses what the listing shows. */
size_t backups_list_wanted(const struct backups_list *l, struct backups_fetch *out, size_t max);

/* Parses data as the object at key (a listed backup's sentinel or metadata.json) and keeps the
 * result; a parse error is kept too (it is part of the verdict) and copied into err. Attaching
 * again replaces the previous result. Returns 0, -ENOENT (key belongs to no listed backup) or
 * -EINVAL (malformed; err says why). */
MUSTCHECK int backups_list_attach(struct backups_list *l, const char *key, const char *data,
                                  size_t len, char *err, size_t errlen);
/* The GET of key failed, e.g. "404 Not Found": kept for the verdict. 0 or -ENOENT. */
int backups_list_attach_error(struct backups_list *l, const char *key, const char *error);
/* metadata.json of key is not fetched in this run (the caller bounds the GETs per run and
 * fetches the rest in later runs): no longer wanted, permanence comes from the sentinel, and the
 * details count it in metadata_deferred. 0 or -ENOENT. */
int backups_list_defer_metadata(struct backups_list *l, const char *key);
/* The listing was made with BACKUPS_LIST_DELIMITER and so shows each metadata.json: sets
 * metadata_listed, and marks the complete WAL-G backups the listing shows without one, unless
 * their sentinel is younger than BACKUPS_LISTING_SETTLE_S at now_s (then it is fetched). */
#define BACKUPS_LISTING_SETTLE_S 300
void backups_list_set_metadata_listed(struct backups_list *l, int64_t now_s);
/* The newest LastModified of the objects under folder ("<base><name>/", or just the name), from
 * a listing of that folder. 0 or -ENOENT. */
int backups_list_set_folder_newest(struct backups_list *l, const char *folder, int64_t mtime_s);

struct backups_input {
    const char *prefix;              /* "s3://bucket/root" as configured, for messages */
    const struct backups_list *list; /* NULL counts as an empty listing */
    int64_t now_s;
    const char *schedule;         /* BACKUP_SCHEDULE text for messages; NULL when unknown */
    int64_t previous_scheduled_s; /* cron_prev(now); -1 when none/unknown */
    int64_t next_scheduled_s;     /* cron_next(now); -1 */
    /* The latest slot whose grace has run out, cron_prev(now - grace): the slot a backup must
     * have landed for. -1: derived from previous/next (exact for evenly spaced schedules). */
    int64_t due_slot_s;
    /* Optional: how many scheduled instants lie in (from_s, to_s], e.g. by stepping cron_next();
     * used to tell a young cluster from lost backups. NULL: evenly spaced slots, next - previous
     * apart (wrong for schedules like "0 1 * * 1-5": pass the function for those). */
    int64_t (*count_slots)(void *ctx, int64_t from_s, int64_t to_s);
    void *count_slots_ctx;
    /* Optional: the latest scheduled instant <= t (cron_prev), to attribute a backup to the slot
     * it was started for. NULL: evenly spaced slots from previous_scheduled_s. ctx is
     * count_slots_ctx. */
    int64_t (*slot_of)(void *ctx, int64_t t_s);
    bool schedule_parsed; /* the schedule is valid cron: no instants at all means it never fires */
    int64_t grace_s;      /* [backups] grace, or cron_default_grace_s() when not set */
    bool grace_from_schedule; /* grace_s is the default derived from the schedule */
    int64_t retain;           /* BACKUP_NUM_TO_RETAIN; <= 0 turns the count checks off */
    const char *role;         /* "leader", "replica", NULL when unknown */
    bool old_layout; /* the prefix ends in ".../wal" without the PostgreSQL major version */
};

/* Zeroes in and sets the instants to -1 and retain to 5 (Spilo's default). */
void backups_input_init(struct backups_input *in);
/* The `backups` verdict, summary and details (fields in docs/checks/backups.md). */
void backups_evaluate(const struct backups_input *in, struct check_result *out);

#endif

/* schedule.h - BACKUP_SCHEDULE cron expressions as Vixie cron reads them (Spilo installs the
 * schedule in the container's cron, which runs in UTC): the 5-field parser and the previous / next
 * fire instant of a moment. Pure: no I/O, no clock reads, no globals. */
#ifndef AGENT_SCHEDULE_H
#define AGENT_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Longest accepted expression (after blanks are collapsed), plus the NUL. */
#define CRON_TEXT_MAX 128
/* How far cron_prev and cron_next look: the month of the instant and this many months before
 * (cron_prev) or after it (cron_next), i.e. 8 years. */
#define CRON_HORIZON_MONTHS 96
/* Instants farther than this from the epoch (about 31 million years) neither have fire instants
 * nor are one. */
#define CRON_T_LIMIT_S INT64_C(1000000000000000)

struct cron_schedule {
    uint64_t minute; /* bit m set: minute m, 0-59 */
    uint32_t hour;   /* bit h: hour h, 0-23 */
    uint32_t dom;    /* bit d: day of month d, 1-31 (bit 0 unused) */
    uint16_t month;  /* bit m: month m, 1-12 (bit 0 unused) */
    uint8_t dow;     /* bit d: day of week d, 0-6, 0 = Sunday (a 7 in the text sets bit 0) */
    bool dom_star;   /* the day-of-month field starts with '*' ("*", "*\/2") */
    bool dow_star;   /* the day-of-week field starts with '*' */
    /* The expression without leading and trailing blanks, inner runs of blanks as one space;
     * a macro stays as written ("@daily"). */
    char text[CRON_TEXT_MAX];
};

/* Parses a 5-field expression "minute hour day-of-month month day-of-week" separated by spaces
 * or tabs. A field is a comma-separated list of "*", "N", "N-M", "*\/S", "N-M/S" and "N/S"
 * (= N-max/S); the month field also takes jan..dec and the day-of-week field sun..sat (any case,
 * also as range ends), where 0 and 7 are Sunday. The macros @yearly, @annually, @monthly,
 * @weekly, @daily, @midnight and @hourly stand for their 5-field forms; @reboot, 6-field
 * (seconds) expressions and reversed ranges are errors. On error *out is zeroed and err gets one
 * sentence naming the field and what it accepts, e.g. `hour field "25": values are 0-23`.
 * Returns 0 or -EINVAL. */
MUSTCHECK int cron_parse(const char *expr, struct cron_schedule *out, char *err, size_t errlen);

/* True when a day with day of month dom (1-31) and day of week dow (0-6, 0 = Sunday) is a fire day
 * as far as the day fields go. Vixie cron's rule: when either day field starts with '*', both must
 * match; otherwise one of them is enough ("0 0 1 * mon": the 1st and every Monday). */
bool cron_day_matches(const struct cron_schedule *c, int dom, int dow);

/* The latest fire instant <= t_s, in seconds since the epoch (UTC; always a whole minute), or -1
 * if there is none within CRON_HORIZON_MONTHS months before the month of t_s. */
int64_t cron_prev(const struct cron_schedule *c, int64_t t_s);
/* The earliest fire instant > t_s, or -1 if there is none within CRON_HORIZON_MONTHS months after
 * the month of t_s. */
int64_t cron_next(const struct cron_schedule *c, int64_t t_s);

/* cron_prev() for a callback: ctx is a const struct cron_schedule *. */
int64_t cron_slot_of(void *ctx, int64_t t_s);

/* The default [backups] grace for a schedule at instant t_s: half the shorter of the last two
 * gaps between scheduled instants (cron_prev(t) to cron_next(t), and the one before), at most
 * one hour; one hour when the schedule has no instant near t. "0 1 * * *": 1h; "0 * * * *":
 * 30m; "*\/10 * * * *": 5m. */
int64_t cron_default_grace_s(const struct cron_schedule *c, int64_t t_s);

#endif

/* procstat.h - the agent's own process figures for the process_* metrics (the names and meaning
 * client libraries export: process_cpu_seconds_total, process_resident_memory_bytes, ...), read
 * from /proc/self (Linux procfs: no blocking I/O). */
#ifndef AGENT_PROCSTAT_H
#define AGENT_PROCSTAT_H

#include <stdbool.h>

struct procstat {
    bool ok;               /* false when /proc/self/stat could not be read */
    double cpu_seconds;    /* user + system */
    double resident_bytes; /* RSS */
    double virtual_bytes;  /* VSZ */
    double start_time_s;   /* Unix time the process started */
    double open_fds;       /* -1 when unknown */
    double max_fds;        /* RLIMIT_NOFILE soft limit, -1 when unlimited/unknown */
};

void procstat_read(struct procstat *out);

#endif

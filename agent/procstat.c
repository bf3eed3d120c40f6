/* procstat.c - /proc/self/stat (fields 14-15 utime/stime, 22 starttime, 23 vsize, 24 rss),
 * /proc/stat btime, /proc/self/fd and RLIMIT_NOFILE, the way the Prometheus client libraries'
 * process collectors read them. */
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double boot_time_s(void)
{
    char line[256];
    double bt = 0;
    FILE *f = fopen("/proc/stat", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    }
    fclose(f);
    return bt;
}

static double count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    double n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

void procstat_read(struct procstat *out)
{
    char buf[1024], *p;
    size_t n;
    FILE *f = fopen("/proc/self/stat", "re");
    unsigned long long utime, stime, start, vsize;
    long long rss;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    struct rlimit rl;

    memset(out, 0, sizeof(*out));
    out->open_fds = count_fds();
    out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (double)rl.rlim_cur
                       : -1;
    if (!f)
        return;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name (field 2) is in parentheses and may hold spaces: go past the last ')' */
    p = strrchr(buf, ')');
    if (!p || tick <= 0 || page <= 0)
        return;
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &utime, &stime, &start, &vsize, &rss) != 5)
        return;
    out->cpu_seconds = (double)(utime + stime) / (double)tick;
    out->start_time_s = boot_time_s() + (double)start / (double)tick;
    out->virtual_bytes = (double)vsize;
    out->resident_bytes = (double)rss * (double)page;
    out->ok = true;
}

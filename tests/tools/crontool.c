/* crontool.c - schedule.c on the command line, the peer of the differential test against
 * croniter (tests/integration/test_cron_croniter.sh). Reads lines "EXPR<TAB>EPOCH" on stdin and
 * writes one line per input line: "PREV<TAB>NEXT" (cron_prev and cron_next of EPOCH, -1 for
 * none), or "error<TAB>MESSAGE" when the expression or the epoch does not parse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "util.h"

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        struct cron_schedule c;
        char err[256];
        char *tab;
        int64_t t;

        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        tab = strrchr(line, '\t');
        if (!tab) {
            printf("error\tno tab between the expression and the epoch\n");
            continue;
        }
        *tab = '\0';
        if (util_parse_i64(tab + 1, &t) < 0) {
            printf("error\tepoch \"%s\" is not a number\n", tab + 1);
            continue;
        }
        if (cron_parse(line, &c, err, sizeof(err)) < 0) {
            printf("error\t%s\n", err);
            continue;
        }
        printf("%lld\t%lld\n", (long long)cron_prev(&c, t), (long long)cron_next(&c, t));
    }
    free(line);
    return fflush(stdout) == 0 ? 0 : 1;
}

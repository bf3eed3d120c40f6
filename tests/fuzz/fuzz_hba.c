/* fuzz_hba.c - libFuzzer harness for hba.c. The input is read twice: as pg_hba.conf text, and as
 * pg_hba_file_rules rows (one per line, 8 tab-separated columns type, database, user_name,
 * address, netmask, auth_method, error, spare; "\N" is NULL). Every rule set is then matched
 * against a few connections and given the Spilo verdict.
 * Build: clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -D_GNU_SOURCE
 *        $(pkg-config --cflags jansson) tests/fuzz/fuzz_hba.c agent/hba.c agent/util.c
 *        agent/check_result.c $(pkg-config --libs jansson) -o /tmp/fuzz_hba
 * Run:   /tmp/fuzz_hba -max_total_time=60 tests/fuzz/corpus/hba */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hba.h"

static const char *const members[] = {"admins", "zalandos", NULL};

static void exercise(const struct hba_rules *rules)
{
    static const struct hba_conn conns[] = {
        {.local = true, .database = "postgres", .user = "postgres", .member_of = members},
        {.local = true, .replication = true, .user = "standby"},
        {.ssl = true, .addr = "10.2.3.4", .replication = true, .user = "standby"},
        {.ssl = false, .addr = "::1", .database = "app", .user = "bob", .member_of = members},
        {.ssl = true, .addr = "::ffff:10.0.0.1", .database = "bob", .user = "bob"},
        {.ssl = true, .addr = "not an address", .database = "x", .user = "y"},
    };
    struct check_result res;

    for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
        struct hba_match m;

        hba_match_conn(rules, &conns[i], &m);
        if (m.index >= (int)rules->n || m.maybe_index >= (int)rules->n)
            abort();
        if (m.index >= 0 && !rules->rules[m.index].loaded)
            abort();
    }
    check_result_init(&res);
    hba_evaluate_spilo(rules, "postgres", "standby", "10.2.3.4", &res);
    if (strlen(res.summary) == 0 || res.status == VERDICT_UNKNOWN)
        abort();
    check_result_cleanup(&res);
    check_result_init(&res);
    hba_evaluate_spilo(rules, "postgres", "postgres", NULL, &res);
    check_result_cleanup(&res);
}

static void as_view_rows(char *text)
{
    struct hba_rules rules;
    int line = 0;
    char *save = NULL;

    hba_rules_init(&rules);
    for (char *row = strtok_r(text, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
        char *col[8] = {NULL};
        char *p = row;

        for (int i = 0; i < 8 && p; i++) {
            char *tab = strchr(p, '\t');

            if (tab)
                *tab = '\0';
            col[i] = strcmp(p, "\\N") == 0 ? NULL : p;
            p = tab ? tab + 1 : NULL;
        }
        if (hba_rules_add_view_row(&rules, ++line, col[0], col[1], col[2], col[3], col[4], col[5],
                                   col[6]) < 0)
            continue;
    }
    exercise(&rules);
    hba_rules_cleanup(&rules);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct hba_rules rules;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    hba_rules_init(&rules);
    if (hba_parse_conf(text, &rules) == 0)
        exercise(&rules);
    hba_rules_cleanup(&rules);

    as_view_rows(text);
    free(text);
    return 0;
}

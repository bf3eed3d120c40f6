/* hba.h - pg_hba rules and the "which line matches" decision PostgreSQL 15 makes for a connection
 * (check_hba() in src/backend/libpq/hba.c: the first matching line wins, no match means reject).
 * Rules come from rows of the pg_hba_file_rules view or from pg_hba.conf text. Pure: no I/O, no
 * DNS, no interface list - what only the server can know is reported as "may match". */
#ifndef AGENT_HBA_H
#define AGENT_HBA_H

#include <stdbool.h>
#include <stddef.h>

#include "check_result.h"
#include "common.h"

enum hba_type {
    HBA_LOCAL,
    HBA_HOST,         /* TCP with or without SSL */
    HBA_HOSTSSL,      /* TCP with SSL only */
    HBA_HOSTNOSSL,    /* TCP without SSL only */
    HBA_HOSTGSSENC,   /* GSS-encrypted TCP: never matches here, Spilo does not use GSS encryption */
    HBA_HOSTNOGSSENC, /* TCP without GSS encryption: every TCP connection here */
};

/* How a host* rule compares the client address. */
enum hba_addr {
    HBA_ADDR_NONE,     /* local rule */
    HBA_ADDR_ALL,      /* "all" */
    HBA_ADDR_SAMEHOST, /* any address of the server: not known offline, "may match" */
    HBA_ADDR_SAMENET,  /* any subnet of the server: not known offline, "may match" */
    HBA_ADDR_IP,       /* address + mask (CIDR or separate netmask) */
    HBA_ADDR_HOSTNAME, /* needs DNS: "may match" */
};

/* What of a rule comes from an @file include in a field other than database/user, which only the
 * server can read. Everything from that field on is unknown. */
enum hba_opaque {
    HBA_OPAQUE_NONE,
    HBA_OPAQUE_ALL,     /* @file in the connection-type field */
    HBA_OPAQUE_ADDRESS, /* @file in the address field: address, netmask and method unknown */
    HBA_OPAQUE_METHOD,  /* @file in the method field: method unknown */
};

/* One database or user name of a rule. pg_hba_file_rules drops the quotes, so rows from the view
 * never have quoted set: a name spelled like a keyword ("all", "replication") reads as the
 * keyword there, as anyone reading the view would read it. */
struct hba_token {
    char *text;   /* as written, without the quotes; "@file" for an include */
    bool quoted;  /* written in double quotes: a keyword (all, replication, +role) is a name */
    bool include; /* unquoted "@file": the server reads more names from that file */
};

struct hba_rule {
    int line;    /* line number in pg_hba.conf (first line of a continued record) */
    bool loaded; /* PostgreSQL loads the line: every field is valid and it takes part in matching */
    enum hba_type type;
    struct hba_token *databases;
    size_t n_databases;
    struct hba_token *users;
    size_t n_users;
    enum hba_addr addr_kind;
    int ip_version;         /* 4 or 6 for HBA_ADDR_IP */
    unsigned char addr[16]; /* network byte order; IPv4 in the first 4 bytes */
    unsigned char mask[16]; /* same layout; need not be contiguous, as in PostgreSQL */
    char *address;          /* as written or as the view shows it; NULL for local */
    char *netmask;          /* the separate netmask field, or NULL */
    char *method;           /* "trust", "md5", "reject", ... (local ident reads as peer); NULL if
                             * not loaded or opaque */
    char *error;            /* like pg_hba_file_rules.error: why the line is invalid, or NULL */
    enum hba_opaque opaque; /* HBA_OPAQUE_NONE unless a field is an @file include */
    char *raw;              /* the line as written, or rebuilt from a view row */
};

struct hba_rules {
    size_t n;
    size_t cap;
    struct hba_rule *rules;
};

void hba_rules_init(struct hba_rules *rules);
void hba_rules_cleanup(struct hba_rules *rules);

/* Appends one row of
 *   SELECT line_number, type, database, user_name, address, netmask, auth_method, error
 *   FROM pg_hba_file_rules ORDER BY line_number
 * in libpq text format: database and user_name are text arrays ({all}, {"a b",c}), NULL columns
 * are NULL pointers. A row with error set is kept (loaded only if its other columns are there,
 * which is PostgreSQL's way of showing a warning such as "hostssl record cannot match because SSL
 * is disabled"). Returns 0, or -EINVAL for a row PostgreSQL cannot have produced (unknown type,
 * unreadable array, bad address); nothing is appended then. */
MUSTCHECK int hba_rules_add_view_row(struct hba_rules *rules, int line, const char *type,
                                     const char *database, const char *user_name,
                                     const char *address, const char *netmask,
                                     const char *auth_method, const char *error);

/* Appends the rules of a pg_hba.conf text: comments, blank lines, backslash continuations, quoted
 * tokens, comma lists, @file includes (kept as include tokens), CIDR and address + netmask. A line
 * PostgreSQL would refuse becomes a rule with error set (the message PostgreSQL 15 gives) and
 * loaded false, as the view shows it. Authentication options are checked for the name=value form,
 * known names and the methods they belong to; methods a Debian/Ubuntu build lacks (sspi, bsd) are
 * errors. Returns 0, or -EINVAL if text or rules is NULL. */
MUSTCHECK int hba_parse_conf(const char *text, struct hba_rules *rules);

/* A connection attempt. A physical replication connection (replication=true: streaming replicas,
 * pg_basebackup, Patroni's replication check) sets replication; it matches only rules whose
 * database list has the replication keyword, and database is ignored. A logical replication
 * connection (replication=database) is an ordinary connection to its database for pg_hba: leave
 * replication false and set database. */
struct hba_conn {
    bool local;           /* unix socket */
    bool ssl;             /* TCP with SSL (ignored for local) */
    const char *addr;     /* client address "10.2.3.4" / "::1"; NULL for local or unknown */
    const char *database; /* ignored for physical replication */
    bool replication;     /* physical replication connection */
    const char *user;
    const char *const *member_of; /* NULL-terminated roles the user is a member of (directly or
                                   * not); NULL = not known, so +role and samerole "may match" */
};

struct hba_match {
    int index;        /* rules->rules[index] is the first rule that certainly matches; -1: none */
    int maybe_index;  /* first rule before index (anywhere if none) that may match; -1: none */
    bool uncertain;   /* maybe_index >= 0: the answer holds only if that rule does not match */
    const char *note; /* static text: why rule maybe_index may match; NULL when certain */
};

/* Which rule PostgreSQL would pick for conn. Rules that are not loaded are skipped. */
void hba_match_conn(const struct hba_rules *rules, const struct hba_conn *conn,
                    struct hba_match *out);

/* "local", "host", "hostssl", ... */
const char *hba_type_name(enum hba_type type);

/* The pg_hba check's verdict for a Spilo pod:
 *  - any rule with an error: critical, naming the line and the error;
 *  - the connections Spilo makes, in this order:
 *      local replication <superuser>       informational unless superuser == replication_user
 *                                          (Spilo replicates as replication_user; the superuser
 *                                          needs a replication rule only if it replicates)
 *      local replication <replication_user>  Patroni's replication check (use_unix_socket_repl)
 *      hostssl replication <replication_user> from peer_addr   replicas streaming, pg_basebackup
 *      local all <superuser>, database "postgres"   Patroni's superuser, postgres_backup.sh's psql
 *    a required connection that matches no rule, or a reject rule, is critical and the summary
 *    names it and the exact lines to add; an outcome that holds only if a not-evaluable rule
 *    (@file, samehost, samenet, host name, unknown role membership) does not match is a warning.
 * peer_addr may be NULL (address unknown: rules with addresses "may match"). out must be
 * initialised (check_result_init); its status, summary and details are set.
 * Details: {"rules": n, "errors": [{line, error}], "connections": [{type, database, user, address,
 * required, purpose, matched_line, method, allowed, uncertain, note, fix}]}. */
void hba_evaluate_spilo(const struct hba_rules *rules, const char *superuser,
                        const char *replication_user, const char *peer_addr,
                        struct check_result *out);

#endif

/* hba.c - pg_hba rules and the decision PostgreSQL 15 makes with them (src/backend/libpq/hba.c:
 * the tokenizer next_token/next_field_expand, parse_hba_line, and check_hba with check_db,
 * check_role and check_ip). Owns: the rule list, the pg_hba.conf tokenizer and line parser, the
 * text[] reader for pg_hba_file_rules rows, the matcher and the Spilo verdict.
 * Must not: read files (an @file include stays a token), resolve host names, list the server's
 * interfaces or log. Whatever only the server knows makes a rule "may match", never a guess. */
#include "hba.h"

#include <arpa/inet.h> /* inet_aton/inet_pton only: text to address, no network use */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* ---- the rule list ----------------------------------------------------------------------- */

struct toklist {
    struct hba_token *v;
    size_t n, cap;
};

static void toklist_add(struct toklist *l, const char *text, bool quoted, bool include)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].text = xstrdup(text);
    l->v[l->n].quoted = quoted;
    l->v[l->n].include = include;
    l->n++;
}

static void tokens_free(struct hba_token *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

static void toklist_cleanup(struct toklist *l)
{
    tokens_free(l->v, l->n);
    l->v = NULL;
    l->n = l->cap = 0;
}

static bool toklist_has_include(const struct toklist *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].include)
            return true;
    return false;
}

static void rule_cleanup(struct hba_rule *r)
{
    tokens_free(r->databases, r->n_databases);
    tokens_free(r->users, r->n_users);
    free(r->address);
    free(r->netmask);
    free(r->method);
    free(r->error);
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

void hba_rules_init(struct hba_rules *rules)
{
    rules->n = rules->cap = 0;
    rules->rules = NULL;
}

void hba_rules_cleanup(struct hba_rules *rules)
{
    for (size_t i = 0; i < rules->n; i++)
        rule_cleanup(&rules->rules[i]);
    free(rules->rules);
    hba_rules_init(rules);
}

/* Moves *r (a filled rule) to the end of the list. */
static void rules_append(struct hba_rules *rules, struct hba_rule *r)
{
    if (rules->n == rules->cap) {
        rules->cap = rules->cap ? rules->cap * 2 : 16;
        rules->rules = xrealloc(rules->rules, rules->cap * sizeof(*rules->rules));
    }
    rules->rules[rules->n++] = *r;
    memset(r, 0, sizeof(*r));
}

const char *hba_type_name(enum hba_type type)
{
    switch (type) {
    case HBA_LOCAL:
        return "local";
    case HBA_HOST:
        return "host";
    case HBA_HOSTSSL:
        return "hostssl";
    case HBA_HOSTNOSSL:
        return "hostnossl";
    case HBA_HOSTGSSENC:
        return "hostgssenc";
    case HBA_HOSTNOGSSENC:
        return "hostnogssenc";
    }
    return "?";
}

/* Exact names only, as parse_hba_line's strcmp() (a quoted "local" is still local there). */
static bool type_parse(const char *s, enum hba_type *out)
{
    static const enum hba_type all[] = {HBA_LOCAL,     HBA_HOST,       HBA_HOSTSSL,
                                        HBA_HOSTNOSSL, HBA_HOSTGSSENC, HBA_HOSTNOGSSENC};

    for (size_t i = 0; i < ARRAY_LEN(all); i++) {
        if (strcmp(s, hba_type_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

/* ---- addresses ----------------------------------------------------------------------------- */

/* What getaddrinfo(AI_NUMERICHOST, AF_UNSPEC) accepts, without calling it: IPv4 the way glibc's
 * exact inet_aton reads it ("10.1" and "0x0a.0.0.1" are addresses too), else IPv6 with an
 * optional %zone, which the comparison ignores as PostgreSQL's does. Anything else is a host name
 * to PostgreSQL (EAI_NONAME), so false here. */
static bool ip_parse(const char *s, int *version, unsigned char out[16])
{
    struct in_addr a4;
    struct in6_addr a6;
    char buf[64];
    const char *pct;
    size_t len;

    for (const char *c = s; *c; c++)
        if (isspace((unsigned char)*c))
            return false; /* inet_aton would stop there; the exact form refuses it */
    if (*s != '\0' && inet_aton(s, &a4)) {
        memset(out, 0, 16);
        memcpy(out, &a4, 4);
        *version = 4;
        return true;
    }
    pct = strchr(s, '%');
    len = pct ? (size_t)(pct - s) : strlen(s);
    if (len == 0 || len >= sizeof(buf) || (pct && pct[1] == '\0'))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET6, buf, &a6) != 1)
        return false;
    memcpy(out, &a6, 16);
    *version = 6;
    return true;
}

/* pg_sockaddr_cidr_mask(): strtol() digits, 0..32 or 0..128. */
static bool cidr_mask(const char *bits_s, int version, unsigned char mask[16])
{
    char *end;
    long bits;

    errno = 0;
    bits = strtol(bits_s, &end, 10);
    if (*bits_s == '\0' || *end != '\0')
        return false;
    if (bits < 0 || bits > (version == 4 ? 32 : 128))
        return false;
    memset(mask, 0, 16);
    for (long i = 0; i < bits; i++)
        mask[i / 8] |= (unsigned char)(0x80u >> (i % 8));
    return true;
}

static void full_mask(int version, unsigned char mask[16])
{
    memset(mask, 0, 16);
    memset(mask, 0xff, version == 4 ? 4 : 16);
}

/* ---- pg_hba.conf tokenizer ----------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r'; /* pg_isblank() */
}

/* One token from *lineptr into buf (as long as the line), as next_token() reads it: blanks and
 * commas before it are skipped; it ends at an unquoted blank or comma or at the end; an unquoted
 * '#' ends the line; "" inside quotes is one '"'. Returns true if there was a token (an empty
 * quoted one counts). PostgreSQL 15 releases have no length limit (a 15 beta had 255 bytes). */
static bool next_token(const char **lineptr, char *buf, bool *initial_quote,
                       bool *terminating_comma)
{
    const char *p = *lineptr;
    char *out = buf;
    bool in_quote = false, was_quote = false, saw_quote = false;
    char c;

    *initial_quote = false;
    *terminating_comma = false;

    while ((c = *p++) != '\0' && (is_blank(c) || c == ','))
        ;
    while (c != '\0' && (!is_blank(c) || in_quote)) {
        if (c == '#' && !in_quote) {
            while ((c = *p++) != '\0')
                ;
            break;
        }
        if (c == ',' && !in_quote) {
            *terminating_comma = true;
            break;
        }
        if (c != '"' || was_quote)
            *out++ = c;
        if (in_quote && c == '"')
            was_quote = !was_quote;
        else
            was_quote = false;
        if (c == '"') {
            in_quote = !in_quote;
            saw_quote = true;
            if (out == buf)
                *initial_quote = true;
        }
        c = *p++;
    }
    *lineptr = p - 1; /* give back the character after the token, possibly the NUL */
    *out = '\0';
    return saw_quote || out > buf;
}

/* One field: a comma list of tokens. An unquoted "@name" (not a bare "@") is an include, which
 * the server expands from a file; it stays a token here. buf holds the longest token. */
static void next_field(const char **lineptr, char *buf, struct toklist *field)
{
    bool initial_quote, comma;

    do {
        if (!next_token(lineptr, buf, &initial_quote, &comma))
            break;
        toklist_add(field, buf, initial_quote, !initial_quote && buf[0] == '@' && buf[1] != '\0');
    } while (comma);
}

struct tline {
    struct toklist *fields;
    size_t n, cap;
};

static void tline_cleanup(struct tline *tl)
{
    for (size_t i = 0; i < tl->n; i++)
        toklist_cleanup(&tl->fields[i]);
    free(tl->fields);
    memset(tl, 0, sizeof(*tl));
}

static void tline_tokenize(struct tline *tl, const char *line)
{
    const char *p = line;
    char *buf = xmalloc(strlen(line) + 1);

    while (*p != '\0') {
        struct toklist f = {0};

        next_field(&p, buf, &f);
        if (f.n == 0) {
            toklist_cleanup(&f);
            continue;
        }
        if (tl->n == tl->cap) {
            tl->cap = tl->cap ? tl->cap * 2 : 8;
            tl->fields = xrealloc(tl->fields, tl->cap * sizeof(*tl->fields));
        }
        tl->fields[tl->n++] = f;
    }
    free(buf);
}

/* ---- pg_hba.conf line parser --------------------------------------------------------------- */

enum method {
    M_TRUST,
    M_IDENT,
    M_PEER,
    M_PASSWORD,
    M_GSS,
    M_SSPI,
    M_REJECT,
    M_MD5,
    M_SCRAM,
    M_PAM,
    M_BSD,
    M_LDAP,
    M_CERT,
    M_RADIUS,
};

/* supported: what a PostgreSQL build for Debian/Ubuntu (PGDG packages, used by Spilo) has: gssapi,
 * pam, ldap and SSL yes; sspi (Windows) and bsd (BSD auth) no. */
static const struct {
    const char *name;
    bool supported;
} methods[] = {
    [M_TRUST] = {"trust", true},
    [M_IDENT] = {"ident", true},
    [M_PEER] = {"peer", true},
    [M_PASSWORD] = {"password", true},
    [M_GSS] = {"gss", true},
    [M_SSPI] = {"sspi", false},
    [M_REJECT] = {"reject", true},
    [M_MD5] = {"md5", true},
    [M_SCRAM] = {"scram-sha-256", true},
    [M_PAM] = {"pam", true},
    [M_BSD] = {"bsd", false},
    [M_LDAP] = {"ldap", true},
    [M_CERT] = {"cert", true},
    [M_RADIUS] = {"radius", true},
};

#define MB(m) (1u << (m))

/* parse_hba_auth_opt(): which methods an option belongs to, and how PostgreSQL names them. */
static const struct {
    const char *name;
    unsigned methods;
    const char *valid;
} options[] = {
    {"map", MB(M_IDENT) | MB(M_PEER) | MB(M_GSS) | MB(M_SSPI) | MB(M_CERT),
     "ident, peer, gssapi, sspi, and cert"},
    {"pamservice", MB(M_PAM), "pam"},
    {"pam_use_hostname", MB(M_PAM), "pam"},
    {"ldapurl", MB(M_LDAP), "ldap"},
    {"ldaptls", MB(M_LDAP), "ldap"},
    {"ldapscheme", MB(M_LDAP), "ldap"},
    {"ldapserver", MB(M_LDAP), "ldap"},
    {"ldapport", MB(M_LDAP), "ldap"},
    {"ldapbinddn", MB(M_LDAP), "ldap"},
    {"ldapbindpasswd", MB(M_LDAP), "ldap"},
    {"ldapsearchattribute", MB(M_LDAP), "ldap"},
    {"ldapsearchfilter", MB(M_LDAP), "ldap"},
    {"ldapbasedn", MB(M_LDAP), "ldap"},
    {"ldapprefix", MB(M_LDAP), "ldap"},
    {"ldapsuffix", MB(M_LDAP), "ldap"},
    {"krb_realm", MB(M_GSS) | MB(M_SSPI), "gssapi and sspi"},
    {"include_realm", MB(M_GSS) | MB(M_SSPI), "gssapi and sspi"},
    {"compat_realm", MB(M_SSPI), "sspi"},
    {"upn_username", MB(M_SSPI), "sspi"},
    {"radiusservers", MB(M_RADIUS), "radius"},
    {"radiusports", MB(M_RADIUS), "radius"},
    {"radiussecrets", MB(M_RADIUS), "radius"},
    {"radiusidentifiers", MB(M_RADIUS), "radius"},
};

static bool option_known(const char *name)
{
    if (strcmp(name, "clientcert") == 0 || strcmp(name, "clientname") == 0)
        return true;
    for (size_t i = 0; i < ARRAY_LEN(options); i++)
        if (strcmp(name, options[i].name) == 0)
            return true;
    return false;
}

/* An error as it may be shown. "ldapbindpasswd= hunter2" makes PostgreSQL (and us) say
 * "authentication option not in name=value format: hunter2": a word that is not an option name
 * there may be a password, so it becomes ***. Returns error itself or buf. */
static const char *error_shown(const char *error, char *buf, size_t cap)
{
    static const char prefix[] = "authentication option not in name=value format: ";

    if (strncmp(error, prefix, sizeof(prefix) - 1) != 0 || option_known(error + sizeof(prefix) - 1))
        return error;
    snprintf(buf, cap, "%s***", prefix);
    return buf;
}

/* What the options of one line set, for the checks parse_hba_line() makes after them. */
struct opt_state {
    bool ldap_direct;   /* ldapprefix or ldapsuffix */
    bool ldap_search;   /* ldapbasedn, ldapbinddn, ldapbindpasswd, search attribute or filter */
    bool ldap_basedn;   /* ldapbasedn, or a DN in ldapurl */
    bool ldap_attr;     /* ldapsearchattribute, or attributes in ldapurl */
    bool ldap_filter;   /* ldapsearchfilter, or a filter in ldapurl */
    int radius_servers; /* -1: not set; else list length */
    int radius_secrets;
    int radius_ports;
    int radius_ids;
};

static void PRINTF(2, 3) rule_fail(struct hba_rule *r, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    free(r->error);
    r->error = msg;
    free(r->method);
    r->method = NULL;
    r->loaded = false;
}

/* Length of a comma list as SplitGUCList() would count it (quoting is not looked at). */
static int list_len(const char *s)
{
    int n = 1;

    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s == ',')
            n++;
    return n;
}

/* The parts of "ldap[s]://host[:port]/basedn?attributes?scope?filter" that matter for the
 * mandatory-argument checks. False if the scheme is not ldap or ldaps. */
static bool ldapurl_read(const char *url, struct opt_state *st)
{
    const char *p, *q;
    const char *parts[4] = {NULL, NULL, NULL, NULL};

    if (strncmp(url, "ldap://", 7) == 0)
        p = url + 7;
    else if (strncmp(url, "ldaps://", 8) == 0)
        p = url + 8;
    else
        return false;
    p = strchr(p, '/');
    if (!p)
        return true;
    parts[0] = p + 1;
    for (int i = 1; i < 4; i++) {
        q = strchr(parts[i - 1], '?');
        if (!q)
            break;
        parts[i] = q + 1;
    }
    if (parts[0] && *parts[0] != '?' && *parts[0] != '\0')
        st->ldap_basedn = st->ldap_search = true;
    if (parts[1] && *parts[1] != '?' && *parts[1] != '\0')
        st->ldap_attr = st->ldap_search = true;
    if (parts[3] && *parts[3] != '\0')
        st->ldap_filter = st->ldap_search = true;
    return true;
}

/* One "name=value" option; false (and r->error set) where parse_hba_auth_opt() fails. */
static bool option_check(struct hba_rule *r, enum method m, const char *token, struct opt_state *st)
{
    const char *eq = strchr(token, '=');
    char *name;
    const char *val;
    bool ok = false;

    if (!eq) {
        rule_fail(r, "authentication option not in name=value format: %s", token);
        return false;
    }
    name = xstrndup(token, (size_t)(eq - token));
    val = eq + 1;

    if (strcmp(name, "clientcert") == 0 || strcmp(name, "clientname") == 0) {
        bool cert = strcmp(name, "clientcert") == 0;

        if (r->type != HBA_HOSTSSL) {
            rule_fail(r, "%s can only be configured for \"hostssl\" rows", name);
        } else if (cert && strcmp(val, "verify-ca") == 0 && m == M_CERT) {
            rule_fail(r, "clientcert can only be set to \"verify-full\" when using \"cert\" "
                         "authentication");
        } else if (cert ? (strcmp(val, "verify-full") != 0 && strcmp(val, "verify-ca") != 0)
                        : (strcmp(val, "CN") != 0 && strcmp(val, "DN") != 0)) {
            rule_fail(r, "invalid value for %s: \"%s\"", name, val);
        } else {
            ok = true;
        }
        goto out;
    }
    for (size_t i = 0; i < ARRAY_LEN(options); i++) {
        if (strcmp(name, options[i].name) == 0 && !(options[i].methods & MB(m))) {
            rule_fail(r, "authentication option \"%s\" is only valid for authentication methods %s",
                      name, options[i].valid);
            goto out;
        }
    }
    if (strcmp(name, "ldapurl") == 0) {
        if (!ldapurl_read(val, st)) {
            rule_fail(r, "could not parse LDAP URL \"%s\"", val);
            goto out;
        }
    } else if (strcmp(name, "ldapport") == 0) {
        if (atoi(val) == 0) {
            rule_fail(r, "invalid LDAP port number: \"%s\"", val);
            goto out;
        }
    } else if (strcmp(name, "ldapprefix") == 0 || strcmp(name, "ldapsuffix") == 0) {
        st->ldap_direct = true;
    } else if (strcmp(name, "ldapbasedn") == 0) {
        st->ldap_basedn = st->ldap_search = true;
    } else if (strcmp(name, "ldapbinddn") == 0 || strcmp(name, "ldapbindpasswd") == 0) {
        st->ldap_search = true;
    } else if (strcmp(name, "ldapsearchattribute") == 0) {
        st->ldap_attr = st->ldap_search = true;
    } else if (strcmp(name, "ldapsearchfilter") == 0) {
        st->ldap_filter = st->ldap_search = true;
    } else if (strcmp(name, "radiusservers") == 0) {
        st->radius_servers = list_len(val);
    } else if (strcmp(name, "radiussecrets") == 0) {
        st->radius_secrets = list_len(val);
    } else if (strcmp(name, "radiusidentifiers") == 0) {
        st->radius_ids = list_len(val);
    } else if (strcmp(name, "radiusports") == 0) {
        const char *p = val;

        st->radius_ports = list_len(val);
        while (st->radius_ports > 0) {
            while (isspace((unsigned char)*p))
                p++;
            if (atoi(p) == 0) {
                rule_fail(r, "invalid RADIUS port number: \"%s\"", val);
                goto out;
            }
            p = strchr(p, ',');
            if (!p)
                break;
            p++;
        }
    } else if (!option_known(name)) {
        rule_fail(r, "unrecognized authentication option name: \"%s\"", name);
        goto out;
    }
    ok = true;
out:
    free(name);
    return ok;
}

/* The checks parse_hba_line() makes once every option is read. */
static bool options_final(struct hba_rule *r, enum method m, const struct opt_state *st)
{
    if (m == M_LDAP) {
        if (st->ldap_direct && st->ldap_search) {
            rule_fail(r, "cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, "
                         "ldapsearchfilter, or ldapurl together with ldapprefix");
            return false;
        }
        if (!st->ldap_direct && !st->ldap_basedn) {
            rule_fail(r, "authentication method \"ldap\" requires argument \"ldapbasedn\", "
                         "\"ldapprefix\", or \"ldapsuffix\" to be set");
            return false;
        }
        if (st->ldap_attr && st->ldap_filter) {
            rule_fail(r, "cannot use ldapsearchattribute together with ldapsearchfilter");
            return false;
        }
    }
    if (m == M_RADIUS) {
        int servers = st->radius_servers;

        if (servers < 0 || st->radius_secrets < 0) {
            rule_fail(r, "authentication method \"radius\" requires argument \"%s\" to be set",
                      servers < 0 ? "radiusservers" : "radiussecrets");
            return false;
        }
        if (servers < 1) {
            rule_fail(r, "list of RADIUS servers cannot be empty");
            return false;
        }
        if (st->radius_secrets < 1) {
            rule_fail(r, "list of RADIUS secrets cannot be empty");
            return false;
        }
        if (st->radius_secrets != 1 && st->radius_secrets != servers) {
            rule_fail(r,
                      "the number of RADIUS secrets (%d) must be 1 or the same as the number of "
                      "RADIUS servers (%d)",
                      st->radius_secrets, servers);
            return false;
        }
        if (st->radius_ports > 1 && st->radius_ports != servers) {
            rule_fail(r,
                      "the number of RADIUS ports (%d) must be 1 or the same as the number of "
                      "RADIUS servers (%d)",
                      st->radius_ports, servers);
            return false;
        }
        if (st->radius_ids > 1 && st->radius_ids != servers) {
            rule_fail(r,
                      "the number of RADIUS identifiers (%d) must be 1 or the same as the number "
                      "of RADIUS servers (%d)",
                      st->radius_ids, servers);
            return false;
        }
    }
    return true;
}

static void toklist_move(struct toklist *from, struct hba_token **v, size_t *n)
{
    *v = from->v;
    *n = from->n;
    from->v = NULL;
    from->n = from->cap = 0;
}

/* The address field of a host* line (and the netmask field after it when there is no CIDR
 * suffix). *fi is the index of the address field; on return, of the last field used. */
static bool address_parse(struct hba_rule *r, struct tline *tl, size_t *fi)
{
    const struct hba_token *tok;
    char *str, *slash;
    bool ok = false;

    if (*fi >= tl->n) {
        rule_fail(r, "end-of-line before IP address specification");
        return false;
    }
    if (toklist_has_include(&tl->fields[*fi])) {
        r->opaque = HBA_OPAQUE_ADDRESS;
        return true;
    }
    if (tl->fields[*fi].n > 1) {
        rule_fail(r, "multiple values specified for host address");
        return false;
    }
    tok = &tl->fields[*fi].v[0];
    r->address = xstrdup(tok->text);
    if (!tok->quoted && strcmp(tok->text, "all") == 0) {
        r->addr_kind = HBA_ADDR_ALL;
        return true;
    }
    if (!tok->quoted && strcmp(tok->text, "samehost") == 0) {
        r->addr_kind = HBA_ADDR_SAMEHOST;
        return true;
    }
    if (!tok->quoted && strcmp(tok->text, "samenet") == 0) {
        r->addr_kind = HBA_ADDR_SAMENET;
        return true;
    }

    str = xstrdup(tok->text);
    slash = strchr(str, '/');
    if (slash)
        *slash = '\0';
    if (ip_parse(str, &r->ip_version, r->addr))
        r->addr_kind = HBA_ADDR_IP;
    else
        r->addr_kind = HBA_ADDR_HOSTNAME;

    if (slash) {
        if (r->addr_kind == HBA_ADDR_HOSTNAME) {
            rule_fail(r, "specifying both host name and CIDR mask is invalid: \"%s\"", tok->text);
            goto out;
        }
        if (!cidr_mask(slash + 1, r->ip_version, r->mask)) {
            rule_fail(r, "invalid CIDR mask in address \"%s\"", tok->text);
            goto out;
        }
    } else if (r->addr_kind == HBA_ADDR_IP) {
        int mask_version;

        (*fi)++;
        if (*fi >= tl->n) {
            rule_fail(r, "end-of-line before netmask specification");
            goto out;
        }
        if (toklist_has_include(&tl->fields[*fi])) {
            r->opaque = HBA_OPAQUE_ADDRESS;
            ok = true;
            goto out;
        }
        if (tl->fields[*fi].n > 1) {
            rule_fail(r, "multiple values specified for netmask");
            goto out;
        }
        tok = &tl->fields[*fi].v[0];
        r->netmask = xstrdup(tok->text);
        if (!ip_parse(tok->text, &mask_version, r->mask)) {
            rule_fail(r, "invalid IP mask \"%s\": Name or service not known", tok->text);
            goto out;
        }
        if (mask_version != r->ip_version) {
            rule_fail(r, "IP address and mask do not match");
            goto out;
        }
    }
    ok = true;
out:
    free(str);
    return ok;
}

/* parse_hba_line(): fills r from the fields of one line, or sets r->error. */
static void line_parse(struct hba_rule *r, struct tline *tl)
{
    struct opt_state st = {
        .radius_servers = -1, .radius_secrets = -1, .radius_ports = -1, .radius_ids = -1};
    const char *word;
    size_t fi = 0;
    int m = -1;
    bool opts_known = true;

    r->loaded = true;
    if (toklist_has_include(&tl->fields[0])) {
        r->opaque = HBA_OPAQUE_ALL;
        return;
    }
    if (tl->fields[0].n > 1) {
        rule_fail(r, "multiple values specified for connection type");
        return;
    }
    if (!type_parse(tl->fields[0].v[0].text, &r->type)) {
        rule_fail(r, "invalid connection type \"%s\"", tl->fields[0].v[0].text);
        return;
    }

    if (++fi >= tl->n) {
        rule_fail(r, "end-of-line before database specification");
        return;
    }
    toklist_move(&tl->fields[fi], &r->databases, &r->n_databases);
    if (++fi >= tl->n) {
        rule_fail(r, "end-of-line before role specification");
        return;
    }
    toklist_move(&tl->fields[fi], &r->users, &r->n_users);

    if (r->type != HBA_LOCAL) {
        fi++;
        if (!address_parse(r, tl, &fi) || r->opaque != HBA_OPAQUE_NONE)
            return;
    }

    if (++fi >= tl->n) {
        rule_fail(r, "end-of-line before authentication method");
        return;
    }
    if (toklist_has_include(&tl->fields[fi])) {
        r->opaque = HBA_OPAQUE_METHOD;
        return;
    }
    if (tl->fields[fi].n > 1) {
        rule_fail(r, "multiple values specified for authentication type");
        return;
    }
    word = tl->fields[fi].v[0].text;
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (strcmp(word, methods[i].name) == 0)
            m = (int)i;
    if (m < 0) {
        rule_fail(r, "invalid authentication method \"%s\"", word);
        return;
    }
    if (!methods[m].supported) {
        rule_fail(r, "invalid authentication method \"%s\": not supported by this build", word);
        return;
    }
    if (r->type == HBA_LOCAL && m == M_IDENT)
        m = M_PEER; /* PostgreSQL's backwards compatibility: local ident is peer */
    if (r->type == HBA_LOCAL && m == M_GSS) {
        rule_fail(r, "gssapi authentication is not supported on local sockets");
        return;
    }
    if (r->type != HBA_LOCAL && m == M_PEER) {
        rule_fail(r, "peer authentication is only supported on local sockets");
        return;
    }
    if (r->type != HBA_HOSTSSL && m == M_CERT) {
        rule_fail(r, "cert authentication is only supported on hostssl connections");
        return;
    }
    r->method = xstrdup(methods[m].name);

    while (++fi < tl->n) {
        for (size_t i = 0; i < tl->fields[fi].n; i++) {
            const struct hba_token *tok = &tl->fields[fi].v[i];

            if (tok->include) {
                opts_known = false; /* the server reads options from a file: cannot check */
                continue;
            }
            if (!option_check(r, (enum method)m, tok->text, &st))
                return;
        }
    }
    if (opts_known)
        (void)options_final(r, (enum method)m, &st);
}

/* PostgreSQL's line reading: a line ends at \n; trailing \r and \n are dropped; a backslash at
 * the very end joins the next line (even inside quotes or a comment). The record keeps the number
 * of its first line. */
int hba_parse_conf(const char *text, struct hba_rules *rules)
{
    const char *p = text;
    int line_number = 1;
    char *buf = NULL;
    size_t cap = 0;

    if (!text || !rules)
        return -EINVAL;
    while (*p != '\0') {
        size_t len = 0, last_backslash_len = 0;
        int continuations = 0;
        struct tline tl = {0};

        for (;;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);

            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                buf = xrealloc(buf, cap);
            }
            memcpy(buf + len, p, n);
            len += n;
            buf[len] = '\0';
            p += n + (nl ? 1 : 0);
            while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                buf[--len] = '\0';
            if (len > last_backslash_len && buf[len - 1] == '\\' && nl) {
                buf[--len] = '\0';
                last_backslash_len = len;
                continuations++;
                continue;
            }
            if (len > last_backslash_len && buf[len - 1] == '\\')
                buf[--len] = '\0'; /* a continuation at the end of the text joins nothing */
            break;
        }

        tline_tokenize(&tl, buf);
        if (tl.n > 0) {
            struct hba_rule r = {0};

            r.line = line_number;
            r.raw = xstrdup(buf);
            line_parse(&r, &tl);
            rules_append(rules, &r);
        }
        tline_cleanup(&tl);
        line_number += continuations + 1;
    }
    free(buf);
    return 0;
}

/* ---- pg_hba_file_rules rows ---------------------------------------------------------------- */

/* One element of a text[] at *pp into el (big enough), as array_in() reads it: quoted with
 * backslash escapes, or unquoted with the blanks around it dropped. */
static int array_element(const char **pp, char *el)
{
    const char *p = *pp;
    size_t len = 0, keep = 0;
    bool escaped = false;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '"') {
        for (p++; *p != '"'; p++) {
            if (*p == '\\')
                p++;
            if (*p == '\0')
                return -EINVAL;
            el[len++] = *p;
        }
        p++;
        keep = len;
        escaped = true;
        while (isspace((unsigned char)*p))
            p++;
    } else {
        for (; *p != '\0' && *p != ',' && *p != '}'; p++) {
            bool this_escaped = false;

            if (*p == '{' || *p == '"')
                return -EINVAL;
            if (*p == '\\') {
                if (*++p == '\0')
                    return -EINVAL;
                escaped = this_escaped = true;
            }
            el[len++] = *p;
            if (this_escaped || !isspace((unsigned char)*p))
                keep = len;
        }
        if (keep == 0 && !escaped)
            return -EINVAL; /* an empty unquoted element */
    }
    el[keep] = '\0';
    if (!escaped && strcasecmp(el, "NULL") == 0)
        return -EINVAL; /* a NULL element: never in these columns */
    *pp = p;
    return 0;
}

/* A one-dimensional text[] in array_out() form: {a,b}, {"a b","c\"d"}, {}. */
static int text_array_parse(const char *s, struct toklist *out)
{
    const char *p = s;
    char *el = xmalloc(strlen(s) + 1);
    int rc = -EINVAL;

    if (*p != '{')
        goto out;
    p++;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '}') {
        p++; /* {} */
    } else {
        for (;;) {
            if (array_element(&p, el) < 0)
                goto out;
            toklist_add(out, el, false, false);
            if (*p == '}')
                break;
            if (*p != ',')
                goto out;
            p++;
        }
        p++;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        rc = 0;
out:
    free(el);
    return rc;
}

static void list_append_text(char **s, const struct hba_token *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *next = xasprintf("%s%s%s", *s, i ? "," : "", v[i].text);

        free(*s);
        *s = next;
    }
}

/* "hostssl replication standby all md5", from the columns. */
static char *view_raw(const struct hba_rule *r)
{
    char *s = xasprintf("%s ", hba_type_name(r->type));
    char *next;

    list_append_text(&s, r->databases, r->n_databases);
    next = xasprintf("%s ", s);
    free(s);
    s = next;
    list_append_text(&s, r->users, r->n_users);
    next = xasprintf("%s%s%s%s%s %s", s, r->address ? " " : "", r->address ? r->address : "",
                     r->netmask ? " " : "", r->netmask ? r->netmask : "", r->method);
    free(s);
    return next;
}

static int view_address(struct hba_rule *r, const char *address, const char *netmask)
{
    char *str, *slash;
    int rc = -EINVAL;

    if (!address)
        return -EINVAL;
    r->address = xstrdup(address);
    if (netmask)
        r->netmask = xstrdup(netmask);
    if (strcmp(address, "all") == 0 || strcmp(address, "samehost") == 0 ||
        strcmp(address, "samenet") == 0) {
        r->addr_kind = address[0] == 'a'   ? HBA_ADDR_ALL
                       : address[4] == 'h' ? HBA_ADDR_SAMEHOST
                                           : HBA_ADDR_SAMENET;
        return netmask ? -EINVAL : 0;
    }
    str = xstrdup(address);
    slash = strchr(str, '/');
    if (slash)
        *slash = '\0';
    if (!ip_parse(str, &r->ip_version, r->addr)) {
        r->addr_kind = HBA_ADDR_HOSTNAME;
        if (!slash && !netmask && *address != '\0')
            rc = 0;
        goto out;
    }
    r->addr_kind = HBA_ADDR_IP;
    if (slash) {
        if (!netmask && cidr_mask(slash + 1, r->ip_version, r->mask))
            rc = 0;
    } else if (netmask) {
        int v;

        if (ip_parse(netmask, &v, r->mask) && v == r->ip_version)
            rc = 0;
    } else {
        full_mask(r->ip_version, r->mask);
        rc = 0;
    }
out:
    free(str);
    return rc;
}

int hba_rules_add_view_row(struct hba_rules *rules, int line, const char *type,
                           const char *database, const char *user_name, const char *address,
                           const char *netmask, const char *auth_method, const char *error)
{
    struct hba_rule r = {0};
    struct toklist dbs = {0}, users = {0};
    int rc = -EINVAL;

    if (!rules)
        return -EINVAL;
    r.line = line;
    if (error)
        r.error = xstrdup(error);
    if (!type) {
        /* A line PostgreSQL refuses: the view shows only its number and the error. For a few
         * bad option values (clientcert=1, clientname=XX, radiusports=0) PostgreSQL 15 leaves
         * the error NULL too and says why only in its log. */
        if (database || user_name || address || netmask || auth_method)
            goto out;
        if (!error)
            r.error = xstrdup("PostgreSQL cannot load this line (the reason is in its log, "
                              "often a bad clientcert, clientname or radiusports value)");
        r.raw = xasprintf("(line %d: %s)", line, r.error);
        rules_append(rules, &r);
        return 0;
    }
    if (!type_parse(type, &r.type) || !database || !user_name || !auth_method)
        goto out;
    if (text_array_parse(database, &dbs) < 0 || text_array_parse(user_name, &users) < 0)
        goto out;
    toklist_move(&dbs, &r.databases, &r.n_databases);
    toklist_move(&users, &r.users, &r.n_users);
    if (r.type == HBA_LOCAL) {
        if (address || netmask)
            goto out;
    } else if (view_address(&r, address, netmask) < 0) {
        goto out;
    }
    r.method = xstrdup(auth_method);
    r.loaded = true;
    r.raw = view_raw(&r);
    rules_append(rules, &r);
    rc = 0;
out:
    toklist_cleanup(&dbs);
    toklist_cleanup(&users);
    rule_cleanup(&r);
    return rc;
}

/* ---- matching ------------------------------------------------------------------------------ */

enum tri { T_NO, T_YES, T_MAYBE };

static const char NOTE_INCLUDE[] = "uses an @file include, which only the server can read";
static const char NOTE_SAMEHOST[] = "uses samehost, which depends on the server's own addresses";
static const char NOTE_SAMENET[] = "uses samenet, which depends on the server's subnets";
static const char NOTE_HOSTNAME[] = "names a host, which needs a DNS lookup by the server";
static const char NOTE_ROLE[] = "uses +role or samerole, and the role memberships are not known";
static const char NOTE_NOADDR[] = "compares addresses, and the client address is not known";
static const char NOTE_OPAQUE_ALL[] = "reads its connection type from an @file include";
static const char NOTE_OPAQUE_ADDR[] = "reads its address from an @file include";
static const char NOTE_OPAQUE_METHOD[] = "reads its authentication method from an @file include";

struct client {
    bool have_addr;
    int version;
    unsigned char addr[16];
};

static bool keyword(const struct hba_token *t, const char *k)
{
    return !t->quoted && strcmp(t->text, k) == 0;
}

/* is_member(): a role is a member of itself; a superuser is not a member of everything. */
static enum tri member(const struct hba_conn *c, const char *role)
{
    if (strcmp(role, c->user) == 0)
        return T_YES;
    if (!c->member_of)
        return T_MAYBE;
    for (const char *const *m = c->member_of; *m; m++)
        if (strcmp(*m, role) == 0)
            return T_YES;
    return T_NO;
}

/* check_db(). A physical replication connection matches only the replication keyword; any other
 * connection never matches it (a quoted "replication" is an ordinary database name). */
static enum tri match_db(const struct hba_rule *r, const struct hba_conn *c, const char **why)
{
    const char *db = c->database ? c->database : "";
    enum tri res = T_NO;

    for (size_t i = 0; i < r->n_databases; i++) {
        const struct hba_token *t = &r->databases[i];

        if (t->include) {
            res = T_MAYBE;
            *why = NOTE_INCLUDE;
        } else if (c->replication) {
            if (keyword(t, "replication"))
                return T_YES;
        } else if (keyword(t, "all")) {
            return T_YES;
        } else if (keyword(t, "sameuser")) {
            if (strcmp(db, c->user) == 0)
                return T_YES;
        } else if (keyword(t, "samegroup") || keyword(t, "samerole")) {
            enum tri m = member(c, db);

            if (m == T_YES)
                return T_YES;
            if (m == T_MAYBE) {
                res = T_MAYBE;
                *why = NOTE_ROLE;
            }
        } else if (keyword(t, "replication")) {
            continue;
        } else if (strcmp(t->text, db) == 0) {
            return T_YES;
        }
    }
    return res;
}

/* check_role(): an unquoted +name is membership, "all" is everyone, anything else a name. */
static enum tri match_user(const struct hba_rule *r, const struct hba_conn *c, const char **why)
{
    enum tri res = T_NO;

    for (size_t i = 0; i < r->n_users; i++) {
        const struct hba_token *t = &r->users[i];

        if (t->include) {
            res = T_MAYBE;
            *why = NOTE_INCLUDE;
        } else if (!t->quoted && t->text[0] == '+') {
            enum tri m = member(c, t->text + 1);

            if (m == T_YES)
                return T_YES;
            if (m == T_MAYBE) {
                res = T_MAYBE;
                *why = NOTE_ROLE;
            }
        } else if (strcmp(t->text, c->user) == 0 || keyword(t, "all")) {
            return T_YES;
        }
    }
    return res;
}

static bool type_matches(enum hba_type t, const struct hba_conn *c)
{
    if (c->local)
        return t == HBA_LOCAL;
    switch (t) {
    case HBA_LOCAL:
        return false;
    case HBA_HOST:
        return true;
    case HBA_HOSTSSL:
        return c->ssl;
    case HBA_HOSTNOSSL:
        return !c->ssl;
    case HBA_HOSTGSSENC:
        return false; /* no GSS encryption in use */
    case HBA_HOSTNOGSSENC:
        return true;
    }
    return false;
}

static enum tri match_addr(const struct hba_rule *r, const struct client *cl, const char **why)
{
    switch (r->addr_kind) {
    case HBA_ADDR_ALL:
        return T_YES;
    case HBA_ADDR_SAMEHOST:
        *why = NOTE_SAMEHOST;
        return T_MAYBE;
    case HBA_ADDR_SAMENET:
        *why = NOTE_SAMENET;
        return T_MAYBE;
    case HBA_ADDR_HOSTNAME:
        *why = NOTE_HOSTNAME;
        return T_MAYBE;
    case HBA_ADDR_IP:
        if (!cl->have_addr) {
            *why = NOTE_NOADDR;
            return T_MAYBE;
        }
        if (cl->version != r->ip_version)
            return T_NO; /* check_ip(): the families must be equal, ::ffff:a.b.c.d is IPv6 */
        for (int i = 0; i < 16; i++)
            if ((cl->addr[i] ^ r->addr[i]) & r->mask[i])
                return T_NO;
        return T_YES;
    case HBA_ADDR_NONE:
        break;
    }
    return T_NO;
}

static enum tri tri_and(enum tri a, enum tri b)
{
    if (a == T_NO || b == T_NO)
        return T_NO;
    return a == T_MAYBE || b == T_MAYBE ? T_MAYBE : T_YES;
}

/* One step of check_hba(): does rule r match? *why gets the first reason for T_MAYBE. */
static enum tri rule_test(const struct hba_rule *r, const struct hba_conn *c,
                          const struct client *cl, const char **why)
{
    const char *w_addr = NULL, *w_db = NULL, *w_user = NULL;
    enum tri res;

    *why = NULL;
    if (!r->loaded)
        return T_NO;
    if (r->opaque == HBA_OPAQUE_ALL) {
        *why = NOTE_OPAQUE_ALL;
        return T_MAYBE;
    }
    if (!type_matches(r->type, c))
        return T_NO;
    res = T_YES;
    if (r->type != HBA_LOCAL) {
        if (r->opaque == HBA_OPAQUE_ADDRESS) {
            res = T_MAYBE;
            w_addr = NOTE_OPAQUE_ADDR;
        } else {
            res = match_addr(r, cl, &w_addr);
        }
    }
    res = tri_and(res, match_db(r, c, &w_db));
    res = tri_and(res, match_user(r, c, &w_user));
    if (res == T_MAYBE)
        *why = w_addr ? w_addr : w_db ? w_db : w_user;
    return res;
}

static void client_init(struct client *cl, const struct hba_conn *c)
{
    memset(cl, 0, sizeof(*cl));
    if (!c->local && c->addr)
        cl->have_addr = ip_parse(c->addr, &cl->version, cl->addr);
}

void hba_match_conn(const struct hba_rules *rules, const struct hba_conn *conn,
                    struct hba_match *out)
{
    struct client cl;

    out->index = -1;
    out->maybe_index = -1;
    out->uncertain = false;
    out->note = NULL;
    client_init(&cl, conn);
    for (size_t i = 0; i < rules->n; i++) {
        const char *why;
        enum tri t = rule_test(&rules->rules[i], conn, &cl, &why);

        if (t == T_MAYBE && out->maybe_index < 0) {
            out->maybe_index = (int)i;
            out->uncertain = true;
            out->note = why;
        } else if (t == T_YES) {
            out->index = (int)i;
            return;
        }
    }
}

/* ---- the Spilo verdict ----------------------------------------------------------------------- */

enum outcome { O_ALLOW, O_DENY, O_UNKNOWN };

static enum outcome rule_outcome(const struct hba_rule *r)
{
    if (!r->method)
        return O_UNKNOWN; /* method read from an @file include */
    return strcmp(r->method, "reject") == 0 ? O_DENY : O_ALLOW;
}

struct spilo_conn {
    struct hba_conn conn;
    bool required;
    char what[160]; /* "local replication connections by \"standby\"" */
    const char *purpose;
    char fix[160]; /* the line that lets it in */
    /* results */
    struct hba_match m;
    enum outcome outcome;
    bool uncertain;  /* the outcome depends on a rule that cannot be evaluated */
    int doubt_index; /* that rule, -1 if none */
    const char *doubt_note;
    int before_line; /* where fix goes; 0: the file has no lines */
};

static void spilo_conn_eval(const struct hba_rules *rules, struct spilo_conn *sc)
{
    struct client cl;
    size_t end;

    hba_match_conn(rules, &sc->conn, &sc->m);
    sc->outcome = sc->m.index >= 0 ? rule_outcome(&rules->rules[sc->m.index]) : O_DENY;
    sc->uncertain = false;
    sc->doubt_index = -1;
    sc->doubt_note = NULL;

    /* A rule that may match first changes nothing if it would decide the same way. */
    client_init(&cl, &sc->conn);
    end = sc->m.index >= 0 ? (size_t)sc->m.index : rules->n;
    for (size_t i = 0; i < end; i++) {
        const char *why;

        if (rule_test(&rules->rules[i], &sc->conn, &cl, &why) != T_MAYBE)
            continue;
        if (rule_outcome(&rules->rules[i]) != sc->outcome || sc->outcome == O_UNKNOWN) {
            sc->uncertain = true;
            sc->doubt_index = (int)i;
            sc->doubt_note = why;
            break;
        }
    }
    if (!sc->uncertain && sc->outcome == O_UNKNOWN) {
        sc->uncertain = true;
        sc->doubt_index = sc->m.index;
        sc->doubt_note = NOTE_OPAQUE_METHOD;
    }

    if (sc->doubt_index >= 0)
        sc->before_line = rules->rules[sc->doubt_index].line;
    else if (sc->m.index >= 0)
        sc->before_line = rules->rules[sc->m.index].line;
    else
        sc->before_line = rules->n > 0 ? rules->rules[0].line : 0;
}

/* The rule text as a person reads it: blanks squeezed, comment dropped, at most 80 bytes. */
static void rule_text(const struct hba_rule *r, char *out, size_t outlen)
{
    size_t n = 0;
    bool blank = false;

    for (const char *p = r->raw ? r->raw : ""; *p && n + 1 < outlen && n < 80; p++) {
        if (*p == '#')
            break;
        if (is_blank(*p)) {
            blank = n > 0;
            continue;
        }
        if (blank && n + 2 < outlen)
            out[n++] = ' ';
        blank = false;
        out[n++] = *p;
    }
    out[n] = '\0';
}

static void PRINTF(3, 4) sappend(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;

    if (len + 1 >= cap)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static json_t *json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void details_fill(const struct hba_rules *rules, const struct spilo_conn *sc, size_t nsc,
                         const char *replication_user, json_t *details)
{
    json_t *errors = json_array();
    json_t *conns = json_array();

    for (size_t i = 0; i < rules->n; i++) {
        const struct hba_rule *r = &rules->rules[i];

        char buf[128];

        if (r->error)
            json_array_append_new(errors, json_pack("{s:i, s:s}", "line", r->line, "error",
                                                    error_shown(r->error, buf, sizeof(buf))));
    }
    for (size_t i = 0; i < nsc; i++) {
        const struct spilo_conn *c = &sc[i];
        const struct hba_rule *mr = c->m.index >= 0 ? &rules->rules[c->m.index] : NULL;
        char note[256] = "";
        char fix[256] = "";
        bool allowed = c->outcome == O_ALLOW;

        if (c->uncertain)
            snprintf(note, sizeof(note), "line %d %s and may match first",
                     rules->rules[c->doubt_index].line, c->doubt_note);
        if (!c->required && !allowed)
            sappend(note, sizeof(note), "%snot needed while replication uses \"%s\"",
                    note[0] ? "; " : "", replication_user);
        if (!allowed || c->uncertain) {
            if (c->before_line > 0)
                snprintf(fix, sizeof(fix), "add \"%s\" before line %d", c->fix, c->before_line);
            else
                snprintf(fix, sizeof(fix), "add \"%s\"", c->fix);
        }
        json_array_append_new(
            conns,
            json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:o, s:o, s:b, s:b, s:o, s:o}", "type",
                      c->conn.local ? "local" : "hostssl", "database",
                      c->conn.replication ? "replication" : c->conn.database, "user", c->conn.user,
                      "address", json_str_or_null(c->conn.addr), "required", c->required, "purpose",
                      c->purpose, "matched_line", mr ? json_integer(mr->line) : json_null(),
                      "method", json_str_or_null(mr ? mr->method : NULL), "allowed", allowed,
                      "uncertain", c->uncertain, "note", json_str_or_null(note[0] ? note : NULL),
                      "fix", json_str_or_null(fix[0] ? fix : NULL)));
    }
    json_object_set_new(details, "rules", json_integer((json_int_t)rules->n));
    json_object_set_new(details, "errors", errors);
    json_object_set_new(details, "connections", conns);
}

static bool has_local_rule(const struct hba_rules *rules)
{
    for (size_t i = 0; i < rules->n; i++)
        if (rules->rules[i].loaded && rules->rules[i].opaque != HBA_OPAQUE_ALL &&
            rules->rules[i].type == HBA_LOCAL)
            return true;
    return false;
}

/* "add "A" before line 6, "B" and "C" before line 3 of pg_hba.conf" for every failing
 * connection from first on. */
static void summary_fixes(char *s, size_t cap, const struct spilo_conn *sc, size_t nsc,
                          size_t first, bool (*fails)(const struct spilo_conn *))
{
    size_t idx[8], k = 0;

    for (size_t i = first; i < nsc && k < ARRAY_LEN(idx); i++)
        if (fails(&sc[i]))
            idx[k++] = i;
    if (k == 0)
        return;
    sappend(s, cap, "add ");
    for (size_t j = 0; j < k; j++) {
        const struct spilo_conn *c = &sc[idx[j]];
        bool last = j + 1 == k;

        sappend(s, cap, "%s\"%s\"", j == 0 ? "" : last ? " and " : ", ", c->fix);
        if (c->before_line > 0 && (last || sc[idx[j + 1]].before_line != c->before_line))
            sappend(s, cap, " before line %d", c->before_line);
    }
    sappend(s, cap, sc[idx[k - 1]].before_line > 0 ? " of pg_hba.conf" : " to pg_hba.conf");
}

static bool fails_certainly(const struct spilo_conn *c)
{
    return c->required && !c->uncertain && c->outcome != O_ALLOW;
}

/* For the lines to add once the verdict is critical anyway: every connection that certainly
 * fails, the optional ones too (harbor-operator's fixed list has "local replication postgres",
 * and a person fixing the list should get it in one go). */
static bool fails_to_add(const struct spilo_conn *c)
{
    return !c->uncertain && c->outcome != O_ALLOW;
}

static bool in_doubt(const struct spilo_conn *c)
{
    return c->required && c->uncertain;
}

/* The connections, in the order the verdict names them. */
static void spilo_conns_init(struct spilo_conn sc[4], const char *superuser,
                             const char *replication_user, const char *peer_addr)
{
    memset(sc, 0, 4 * sizeof(*sc));
    /* 0: the superuser replicating over the socket. Spilo replicates as replication_user (its
     * default list has no such line), so this is needed only when both are the same role. */
    sc[0].conn = (struct hba_conn){.local = true, .replication = true, .user = superuser};
    sc[0].required = strcmp(superuser, replication_user) == 0;
    snprintf(sc[0].what, sizeof(sc[0].what), "local replication connections by \"%s\"", superuser);
    sc[0].purpose = "pg_basebackup or Patroni over the unix socket as the superuser";
    snprintf(sc[0].fix, sizeof(sc[0].fix), "local replication %s trust", superuser);
    /* 1: Patroni's replication connection to its own server (use_unix_socket_repl). */
    sc[1].conn = (struct hba_conn){.local = true, .replication = true, .user = replication_user};
    sc[1].required = !sc[0].required; /* else the same connection as 0: report it once */
    snprintf(sc[1].what, sizeof(sc[1].what), "local replication connections by \"%s\"",
             replication_user);
    sc[1].purpose = "Patroni's replication connection over the unix socket";
    snprintf(sc[1].fix, sizeof(sc[1].fix), "local replication %s trust", replication_user);
    /* 2: replicas streaming and pg_basebackup from another pod; Spilo's rule uses md5, which
     * also accepts SCRAM passwords. */
    sc[2].conn = (struct hba_conn){
        .ssl = true, .addr = peer_addr, .replication = true, .user = replication_user};
    sc[2].required = true;
    snprintf(sc[2].what, sizeof(sc[2].what), "replication connections by \"%s\" over SSL from %s",
             replication_user, peer_addr ? peer_addr : "the replicas");
    sc[2].purpose = "replicas streaming WAL and pg_basebackup";
    snprintf(sc[2].fix, sizeof(sc[2].fix), "hostssl replication %s all md5", replication_user);
    /* 3: Patroni's superuser connection and postgres_backup.sh's psql (pg_is_in_recovery()). */
    sc[3].conn = (struct hba_conn){.local = true, .database = "postgres", .user = superuser};
    sc[3].required = true;
    snprintf(sc[3].what, sizeof(sc[3].what), "local connections by \"%s\"", superuser);
    sc[3].purpose = "Patroni's superuser connection and the backup cron's psql";
    snprintf(sc[3].fix, sizeof(sc[3].fix), "local all %s trust", superuser);
}

/* A line with an error: PostgreSQL refuses the whole file (or, for a warning, never matches the
 * line). False if there is none. */
static bool summary_errors(const struct hba_rules *rules, char *s, size_t cap)
{
    const struct hba_rule *first = NULL;
    const char *error;
    char buf[128];
    size_t n = 0;

    for (size_t i = 0; i < rules->n; i++) {
        if (rules->rules[i].error) {
            if (!first)
                first = &rules->rules[i];
            n++;
        }
    }
    if (!first)
        return false;
    error = error_shown(first->error, buf, sizeof(buf));
    if (first->loaded)
        snprintf(s, cap, "pg_hba.conf line %d can never match (%s)", first->line, error);
    else
        snprintf(s, cap,
                 "pg_hba.conf line %d is invalid (%s), so PostgreSQL will not load the file (a "
                 "reload keeps the old rules, a restart fails)",
                 first->line, error);
    if (n > 1)
        sappend(s, cap, " and %zu more lines have errors", n - 1);
    sappend(s, cap, ": fix %s in the pg_hba list of the postgresql CR",
            n > 1 ? "them" : "that line");
    return true;
}

static void summary_failing(const struct hba_rules *rules, const struct spilo_conn *sc, size_t nsc,
                            size_t failing, const char *superuser, char *s, size_t cap)
{
    const struct spilo_conn *c = &sc[failing];
    bool local_failing = false;

    if (c->m.index >= 0) {
        char txt[96];

        rule_text(&rules->rules[c->m.index], txt, sizeof(txt));
        snprintf(s, cap,
                 "pg_hba.conf line %d (%s) rejects %s (%s): ", rules->rules[c->m.index].line, txt,
                 c->what, c->purpose);
    } else {
        snprintf(s, cap, "pg_hba has no rule for %s (%s): ", c->what, c->purpose);
    }
    summary_fixes(s, cap, sc, nsc, 0, fails_to_add);
    for (size_t i = 0; i < nsc; i++)
        local_failing = local_failing || (fails_certainly(&sc[i]) && sc[i].conn.local);
    if (local_failing && !has_local_rule(rules))
        sappend(s, cap,
                " (harbor-operator <= v1.3.0 ships no local rules: Patroni and the backup cron "
                "fail with FATAL: no pg_hba.conf entry for host \"[local]\", user \"%s\")",
                superuser);
}

static void summary_doubt(const struct hba_rules *rules, const struct spilo_conn *sc, size_t nsc,
                          size_t doubtful, char *s, size_t cap)
{
    const struct spilo_conn *c = &sc[doubtful];
    int dline = rules->rules[c->doubt_index].line;

    if (c->outcome == O_ALLOW)
        snprintf(s, cap,
                 "pg_hba lets %s in through line %d only if line %d, which %s, does not match "
                 "first: ",
                 c->what, rules->rules[c->m.index].line, dline, c->doubt_note);
    else if (c->doubt_index == c->m.index)
        snprintf(s, cap,
                 "pg_hba line %d matches %s but takes its authentication method from an @file "
                 "include: ",
                 dline, c->what);
    else
        snprintf(s, cap, "pg_hba lets %s in only if line %d, which %s, matches: ", c->what, dline,
                 c->doubt_note);
    summary_fixes(s, cap, sc, nsc, doubtful, in_doubt);
    sappend(s, cap, " to be sure");
}

void hba_evaluate_spilo(const struct hba_rules *rules, const char *superuser,
                        const char *replication_user, const char *peer_addr,
                        struct check_result *out)
{
    struct spilo_conn sc[4];
    size_t nsc = ARRAY_LEN(sc);
    char s[sizeof(out->summary)] = "";

    if (!superuser)
        superuser = "postgres";
    if (!replication_user)
        replication_user = "standby";
    spilo_conns_init(sc, superuser, replication_user, peer_addr);
    for (size_t i = 0; i < nsc; i++)
        spilo_conn_eval(rules, &sc[i]);
    details_fill(rules, sc, nsc, replication_user, out->details);

    if (summary_errors(rules, s, sizeof(s))) {
        check_result_set(out, VERDICT_CRITICAL, "%s", s);
        check_result_cause(out, CAUSE_PG_HBA_INVALID);
        return;
    }
    for (size_t i = 0; i < nsc; i++) {
        if (fails_certainly(&sc[i])) {
            summary_failing(rules, sc, nsc, i, superuser, s, sizeof(s));
            check_result_set(out, VERDICT_CRITICAL, "%s", s);
            check_result_cause(out, CAUSE_PG_HBA_LOCKOUT);
            return;
        }
    }
    for (size_t i = 0; i < nsc; i++) {
        if (in_doubt(&sc[i])) {
            summary_doubt(rules, sc, nsc, i, s, sizeof(s));
            check_result_set(out, VERDICT_WARNING, "%s", s);
            return;
        }
    }
    snprintf(s, sizeof(s), "pg_hba lets in ");
    for (size_t i = 0, k = 0; i < nsc; i++) {
        const struct hba_rule *r;

        if (!sc[i].required)
            continue;
        r = &rules->rules[sc[i].m.index];
        sappend(s, sizeof(s), "%s%s (line %d, %s)", k++ ? ", " : "", sc[i].what, r->line,
                r->method);
    }
    check_result_set(out, VERDICT_OK, "%s", s);
}

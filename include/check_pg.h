/* check_pg.h - the checks that ask PostgreSQL (through pgconn) and Patroni (through curlm):
 * wal_archive and pg_hba. Both also report the member's role. */
#ifndef AGENT_CHECK_PG_H
#define AGENT_CHECK_PG_H

#include "check.h"

extern const struct check_def check_wal_archive;
extern const struct check_def check_pg_hba;

#endif

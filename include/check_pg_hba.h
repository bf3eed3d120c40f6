/* check_pg_hba.h - the pg_hba check: the rules PostgreSQL loaded (pg_hba_file_rules) through a
 * pgjob session, judged by hba_evaluate_spilo(). */
#ifndef AGENT_CHECK_PG_HBA_H
#define AGENT_CHECK_PG_HBA_H

#include "check.h"

extern const struct check_def check_pg_hba;

#endif

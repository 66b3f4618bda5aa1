/*
 * flows: external deposits and withdrawals of the account, and their parser.
 *
 * Format: CSV lines "date,amount" (core/csvrow.h: no quoting), dates exactly
 * "YYYY-MM-DD" in any order, amounts exact decimals in the account currency
 * (a deposit > 0, a withdrawal < 0); an optional first line "date,amount" is
 * a header. Several flows may share a date (they add up). An empty file is
 * no flow.
 */
#ifndef PERFAGG_CORE_FLOWS_H
#define PERFAGG_CORE_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"

struct flows_entry {
	int64_t day;			/* days since the epoch */
	struct dec amount;
};

struct flows {
	struct flows_entry *v;		/* in input order */
	size_t n;
};

/*
 * Parses (buf, len). Returns a new list (caller flows_free()s), or NULL with
 * *line (1-based) and *errstr (static) set.
 */
struct flows *flows_parse(const char *buf, size_t len, size_t *line, const char **errstr);
void flows_free(struct flows *f);

#endif

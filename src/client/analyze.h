/*
 * analyze: the pieces of `perfagg analyze` shared by its source files
 * (cli_analyze.c: options, input, ledger, output; analyze_returns.c: the
 * return series; analyze_table.c: the text form of the extra sections).
 */
#ifndef PERFAGG_CLIENT_ANALYZE_H
#define PERFAGG_CLIENT_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dec.h"
#include "core/fill.h"
#include "core/ledger.h"
#include "core/stats.h"

#define ANALYZE_CMD "analyze"

/* A parsed fill and where it came from, for sorting and error messages. */
struct analyze_item {
	struct fill f;
	size_t pos;		/* input position, 0-based */
	size_t line;		/* CSV line, or 0 for JSON */
};

struct analyze_opts {
	const char *marks, *flows, *benchmark;	/* paths, or NULL */
	const char *quote;			/* --quote, or NULL */
	struct dec capital;			/* with marks */
	int carry;				/* --carry-marks */
	struct stats_params params;
};

/*
 * Applies v[*next], v[*next + 1], ... (sorted by timestamp) while their
 * timestamp is below until, advancing *next. Returns CLI_OK, or CLI_USAGE
 * after printing an error naming the fill.
 */
int analyze_apply(struct ledger *l, const struct analyze_item *v, size_t n, size_t *next,
    int64_t until);

/*
 * With o->marks set: loads the marks, flows and benchmark, applies the
 * fills of v (n, sorted) day by day from *next into l, and returns in *out
 * a new object {"account", "daily", "twr", "statistics", "correlation",
 * "exposure_hhi"}; its "account"."quote" is the account currency. Returns
 * CLI_OK, or an exit code after printing an error (*out NULL).
 */
int analyze_returns(const struct analyze_opts *o, struct ledger *l, const struct analyze_item *v,
    size_t n, size_t *next, json_t **out);

/* The readable text of rep's "concentration", "account", "daily", "twr",
 * "statistics" and "correlation" (those present). Caller frees. */
char *analyze_table(json_t *rep);

#endif

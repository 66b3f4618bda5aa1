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
#include "core/marks.h"
#include "core/stats.h"

#define ANALYZE_CMD "analyze"

/* A parsed fill and where it came from, for sorting and error messages. */
struct analyze_item {
	struct fill f;
	size_t pos;		/* input position, 0-based */
	size_t line;		/* CSV line, or 0 for JSON */
};

#define ANALYZE_FIXED_MAX 16

/* How third-currency fees are converted (analyze_fees.c). */
struct analyze_fees {
	struct {
		char cur[FILL_CUR_MAX], quote[FILL_CUR_MAX];
		struct dec rate;
	} fixed[ANALYZE_FIXED_MAX];		/* --fee-rate, for every day */
	size_t nfixed;
	const char *closes_path;		/* --fee-closes, or NULL */
	struct marks *closes;			/* its closes (owned) */
	const char *pivot;			/* --fee-pivot: the closes' currency (USDT) */
};

struct analyze_opts {
	const char *marks, *flows, *benchmark;	/* paths, or NULL */
	const char *quote;			/* --quote, or NULL */
	struct dec capital;			/* with marks */
	int carry;				/* --carry-marks */
	struct stats_params params;
	struct analyze_fees fees;
};

/* Parses "--fee-rate CUR/QUOTE=RATE" into fees. Returns CLI_OK, or
 * CLI_USAGE after printing an error. */
int analyze_fees_fixed(struct analyze_fees *fees, const char *arg);

/* Loads fees->closes_path (the --marks formats). CLI_OK or CLI_USAGE. */
int analyze_fees_load(struct analyze_fees *fees);

void analyze_fees_clear(struct analyze_fees *fees);

/* Converts every pending fee of l whose rate fees know (ledger_resolve_fees):
 * a --fee-rate for its pair, else the closes of its day (core/feerate.h).
 * CLI_OK, or CLI_FAIL after printing an error. */
int analyze_fees_resolve(const struct analyze_fees *fees, struct ledger *l);

/* The "fee_conversion" section (report_fees_json) for l. */
json_t *analyze_fees_json(const struct analyze_fees *fees, const struct ledger *l);

/*
 * Applies v[*next], v[*next + 1], ... (sorted by timestamp) while their
 * timestamp is below until, advancing *next, then converts the fees it can
 * (analyze_fees_resolve: the daemon's apply-then-resolve path). Returns
 * CLI_OK, or an exit code after printing an error naming the fill.
 */
int analyze_apply(struct ledger *l, const struct analyze_fees *fees, const struct analyze_item *v, size_t n,
    size_t *next, int64_t until);

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

/*
 * valuation: an account's daily equity in one quote currency Q, from its
 * holdings (core/holdings.h) and daily closes supplied by the caller, with
 * the time-weighted return and an aligned benchmark. No I/O.
 *
 *	E_d = sum_c bal_c(end of d) * price_c(d),
 * price_Q = 1; price_c = the close of "c/Q" (a futures position, whose
 * "currency" is its symbol: the close of that symbol) on day d, or the
 * latest close before d (carry: a day without a candle keeps the last one).
 * Each product is exact and rounded once to 18 places (dec_mul).
 *
 * Unpriced currencies: one with a non-zero balance on some day and no close
 * at all is left out of E (every day) and listed in unpriced[]; the series
 * is then the equity of the rest. A day on which a held currency has no
 * close yet (its closes begin later) cannot be valued: the series begins
 * after the last such day, and then at the first day with positive equity.
 *
 * Flows F_d = sum_c flow_c(d) * price_c(d), taken at the start of the day:
 *	pnl_d = E_d - (E_{d-1} + F_d),  r_d = pnl_d / (E_{d-1} + F_d)
 * (as core/equity.h and docs/ANALYTICS.md section 3), r_d computed exactly,
 * rounded once, then converted to double; undefined (no return that day)
 * when E_{d-1} + F_d <= 0. TWR = prod(1 + r_d) - 1 over the defined days.
 */
#ifndef PERFAGG_CORE_VALUATION_H
#define PERFAGG_CORE_VALUATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/holdings.h"

#define VALUATION_MAX_DAYS 20000

/* The close of symbol on day, or the latest before it: 0 and *close, or -1
 * when there is none on or before day. */
typedef int (*valuation_price_fn)(void *arg, const char *symbol, int64_t day, struct dec *close);

struct valuation_day {
	int64_t day;			/* days since the epoch */
	struct dec equity;		/* at the end of the day */
	struct dec flow;		/* F_d */
	struct dec pnl;			/* when has_return */
	double ret;			/* r_d, when has_return */
	bool has_return;
};

struct valuation {
	char quote[FILL_CUR_MAX];
	struct valuation_day *days;	/* valued days, ascending, consecutive */
	size_t ndays;
	double *returns;		/* the defined r_d, in order */
	int64_t *return_days;		/* their days */
	size_t nreturns;
	double twr;			/* prod(1 + r) - 1; 0 when no return */
	char (*unpriced)[HOLDINGS_NAME_MAX];
	size_t nunpriced;
	const char *why_empty;		/* static text when ndays == 0 */
};

/*
 * Values h in quote up to today (days since the epoch) with closes from
 * price(arg, ...). Fills *v (the caller frees it with valuation_clear()).
 * Returns 0 (v->ndays may be 0: v->why_empty says why), or -1 with *errstr
 * (no balance snapshot, overflow).
 */
int valuation_compute(struct valuation *v, const struct holdings *h, const char *quote, int64_t today,
    valuation_price_fn price, void *arg, const char **errstr);
void valuation_clear(struct valuation *v);

/*
 * The benchmark's daily returns close_d / close_{d-1} - 1 of symbol (carry
 * as above), on the days of v's returns where both closes exist: writes the
 * aligned pairs into r[] and b[] (v->nreturns entries each at most, caller
 * allocated), *n pairs, *twr = prod(1 + b) - 1. Returns 0, or -1 with
 * *errstr when the symbol has no close at all.
 */
int valuation_benchmark(const struct valuation *v, const char *symbol, valuation_price_fn price, void *arg,
    double *r, double *b, size_t *n, double *twr, const char **errstr);

#endif

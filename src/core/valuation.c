#include "core/valuation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"
#include "util/xalloc.h"


/* The symbol whose close prices currency c in quote, or NULL for quote itself. */
static const char *
price_symbol(const char *c, const char *quote, char *buf, size_t cap)
{
	if (strcmp(c, quote) == 0)
		return NULL;
	if (strchr(c, '/') != NULL)
		return c;
	snprintf(buf, cap, "%s/%s", c, quote);
	return buf;
}

/* price of currency (sym NULL: the quote) on day: 0, or -1 when none yet. */
static int
price_on(const char *sym, int64_t day, valuation_price_fn price, void *arg, struct dec *out)
{
	if (sym == NULL) {
		*out = dec_one();
		return 0;
	}
	return price(arg, sym, day, out);
}

/* The exact return (end - base) / base as a double; base > 0. */
static int
day_return(struct dec base, struct dec end, struct dec *pnl, double *ret)
{
	struct dec r;

	if (dec_sub(pnl, end, base) != 0 || dec_div(&r, *pnl, base) != 0)
		return -1;
	*ret = dec_to_double(r);
	return 0;
}

void
valuation_clear(struct valuation *v)
{
	free(v->days);
	free(v->returns);
	free(v->return_days);
	free(v->unpriced);
	memset(v, 0, sizeof(*v));
}

int
valuation_compute(struct valuation *v, const struct holdings *h, const char *quote, int64_t today,
    valuation_price_fn price, void *arg, const char **errstr)
{
	size_t nc = holdings_ncurrencies(h), nd, start;
	int64_t first, last, snap_ms, snap_day;
	struct dec *bal = NULL, *eq = NULL, *fl = NULL;
	bool *valued = NULL, *excluded = NULL;
	char (*syms)[HOLDINGS_NAME_MAX + FILL_CUR_MAX] = NULL;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	snprintf(v->quote, sizeof(v->quote), "%s", quote);
	if (!holdings_has_balances(h, &snap_ms)) {
		*errstr = "no balance snapshot";
		return -1;
	}
	snap_day = time_day_of_ms(snap_ms);
	if (holdings_span(h, &first, &last) != 0)
		first = last = snap_day;
	if (snap_day < first)
		first = snap_day;
	if (snap_day > last)
		last = snap_day;
	if (today > last)
		last = today;
	if (last - first + 1 > VALUATION_MAX_DAYS)
		first = last - VALUATION_MAX_DAYS + 1;
	nd = (size_t)(last - first + 1);
	bal = xcalloc(nc * nd + 1, sizeof(*bal));
	eq = xcalloc(nd, sizeof(*eq));
	fl = xcalloc(nd, sizeof(*fl));
	valued = xcalloc(nd, sizeof(*valued));
	excluded = xcalloc(nc + 1, sizeof(*excluded));
	syms = xcalloc(nc + 1, sizeof(*syms));
	v->unpriced = xcalloc(nc + 1, sizeof(*v->unpriced));
	for (size_t c = 0; c < nc; c++) {
		const char *name = holdings_currency(h, c), *sym;
		struct dec p;
		bool held = false;

		if (holdings_daily_balances(h, c, first, nd, &bal[c * nd], errstr) != 0)
			goto done;
		for (size_t d = 0; d < nd && !held; d++)
			held = !dec_is_zero(bal[c * nd + d]);
		sym = price_symbol(name, quote, syms[c], sizeof(syms[c]));
		if (sym == NULL)
			syms[c][0] = '\0';
		else if (sym != syms[c])
			snprintf(syms[c], sizeof(syms[c]), "%s", sym);
		/* Never priced: left out and listed, never valued at 0. */
		if (sym != NULL && price(arg, sym, last, &p) != 0) {
			excluded[c] = true;
			if (held)
				snprintf(v->unpriced[v->nunpriced++], HOLDINGS_NAME_MAX, "%s", name);
		}
	}
	for (size_t d = 0; d < nd; d++) {
		int64_t day = first + (int64_t)d;

		valued[d] = true;
		for (size_t c = 0; c < nc && valued[d]; c++) {
			struct dec p, x, f;
			const struct dec *b = &bal[c * nd + d];

			if (excluded[c])
				continue;
			if (holdings_flows_on(h, c, day, &f) != 0)
				goto overflow;
			if (dec_is_zero(*b) && dec_is_zero(f))
				continue;
			if (price_on(syms[c][0] != '\0' ? syms[c] : NULL, day, price, arg, &p) != 0) {
				valued[d] = false;	/* its closes begin later */
				break;
			}
			if (dec_mul(&x, *b, p) != 0 || dec_add(&eq[d], eq[d], x) != 0)
				goto overflow;
			if (!dec_is_zero(f) && (dec_mul(&x, f, p) != 0 || dec_add(&fl[d], fl[d], x) != 0))
				goto overflow;
		}
	}
	/* After the last day that cannot be valued, from the first positive equity. */
	start = 0;
	for (size_t d = 0; d < nd; d++)
		if (!valued[d])
			start = d + 1;
	while (start < nd && dec_sign(eq[start]) <= 0)
		start++;
	if (start == nd) {
		v->why_empty = v->nunpriced > 0 && v->nunpriced == nc ? "no held currency has a price" :
		    "no day with positive equity that every held currency's closes cover";
		rc = 0;
		goto done;
	}
	v->days = xcalloc(nd - start, sizeof(*v->days));
	v->returns = xcalloc(nd - start, sizeof(*v->returns));
	v->return_days = xcalloc(nd - start, sizeof(*v->return_days));
	v->twr = 1.0;
	for (size_t d = start; d < nd; d++) {
		struct valuation_day *o = &v->days[v->ndays++];
		struct dec base;

		o->day = first + (int64_t)d;
		o->equity = eq[d];
		o->flow = fl[d];
		if (d == start)
			continue;
		if (dec_add(&base, eq[d - 1], fl[d]) != 0)
			goto overflow;
		if (dec_sign(base) <= 0)
			continue;	/* nothing invested at the start of the day */
		if (day_return(base, eq[d], &o->pnl, &o->ret) != 0)
			goto overflow;
		o->has_return = true;
		v->returns[v->nreturns] = o->ret;
		v->return_days[v->nreturns++] = o->day;
		v->twr *= 1.0 + o->ret;
	}
	v->twr -= 1.0;
	rc = 0;
	goto done;
overflow:
	*errstr = "overflow valuing the account";
done:
	free(bal);
	free(eq);
	free(fl);
	free(valued);
	free(excluded);
	free(syms);
	if (rc != 0)
		valuation_clear(v);
	return rc;
}

int
valuation_benchmark(const struct valuation *v, const char *symbol, valuation_price_fn price, void *arg,
    double *r, double *b, size_t *n, double *twr, const char **errstr)
{
	struct dec last;

	*n = 0;
	*twr = 0;
	if (v->nreturns == 0 || price(arg, symbol, v->return_days[v->nreturns - 1], &last) != 0) {
		*errstr = "no close for the benchmark";
		return -1;
	}
	*twr = 1.0;
	for (size_t i = 0; i < v->nreturns; i++) {
		struct dec c0, c1, pnl;
		double br;
		if (price(arg, symbol, v->return_days[i] - 1, &c0) != 0 ||
		    price(arg, symbol, v->return_days[i], &c1) != 0 || dec_sign(c0) <= 0 ||
		    day_return(c0, c1, &pnl, &br) != 0)
			continue;
		r[*n] = v->returns[i];
		b[*n] = br;
		(*n)++;
		*twr *= 1.0 + br;
	}
	*twr -= 1.0;
	return 0;
}

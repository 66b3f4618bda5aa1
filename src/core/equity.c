#include "core/equity.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

struct flow {
	int64_t day;
	struct dec amount;
};

struct equity {
	char quote[FILL_CUR_MAX];
	struct dec capital;		/* starting capital + flows of closed days */
	struct dec last;		/* equity at the end of the last closed day */
	int64_t next_day;
	struct flow *flows;		/* not yet closed */
	size_t nflows;
	struct equity_day *days;
	double *rets;
	size_t ndays, cap;
};

struct equity *
equity_new(const char *quote, struct dec capital, int64_t first_day, const char **errstr)
{
	struct equity *e;

	if (strlen(quote) == 0 || strlen(quote) >= FILL_CUR_MAX) {
		*errstr = "bad currency code";
		return NULL;
	}
	if (dec_sign(capital) <= 0) {
		*errstr = "starting capital must be positive";
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	strcpy(e->quote, quote);
	e->capital = e->last = capital;
	e->next_day = first_day;
	return e;
}

void
equity_free(struct equity *e)
{
	if (e == NULL)
		return;
	free(e->flows);
	free(e->days);
	free(e->rets);
	free(e);
}

int
equity_flow(struct equity *e, int64_t day, struct dec amount, const char **errstr)
{
	if (day < e->next_day) {
		*errstr = "flow dated on a closed day";
		return -1;
	}
	e->flows = xreallocarray(e->flows, e->nflows + 1, sizeof(*e->flows));
	e->flows[e->nflows++] = (struct flow){ day, amount };
	return 0;
}

static int
flows_on(const struct equity *e, int64_t day, struct dec *sum)
{
	*sum = DEC_ZERO;
	for (size_t i = 0; i < e->nflows; i++)
		if (e->flows[i].day == day && dec_add(sum, *sum, e->flows[i].amount) == -1)
			return -1;
	return 0;
}

/* realized + unrealized over the symbols quoted in e->quote. */
static int
ledger_pnl(const struct equity *e, const struct ledger *l, const struct equity_mark *marks,
    size_t nmarks, struct dec *out, const char **errstr)
{
	*out = DEC_ZERO;
	for (size_t i = 0; i < ledger_nsymbols(l); i++) {
		struct ledger_stats st;
		const struct equity_mark *m = NULL;
		struct dec u;

		ledger_symbol_stats(l, i, &st);
		if (strcmp(st.quote, e->quote) != 0)
			continue;
		if (dec_add(out, *out, st.realized_pnl) == -1)
			goto range;
		if (dec_is_zero(st.open_long_qty) && dec_is_zero(st.open_short_qty))
			continue;
		for (size_t k = 0; k < nmarks && m == NULL; k++)
			if (strcmp(marks[k].symbol, st.name) == 0)
				m = &marks[k];
		if (m == NULL) {
			*errstr = "no mark for a symbol with an open position";
			return -1;
		}
		if (ledger_mark(l, st.name, m->price, &u) == -1 || dec_add(out, *out, u) == -1)
			goto range;
	}
	return 0;
range:
	*errstr = "equity out of range";
	return -1;
}

/* The return of a day that starts at base and ends at end. */
static int
day_return(struct dec base, struct dec end, double *ret, const char **errstr)
{
	struct dec diff, r;

	if (dec_sign(base) <= 0) {
		*errstr = "equity not positive at the start of a day";
		return -1;
	}
	if (dec_sub(&diff, end, base) == -1 || dec_div(&r, diff, base) == -1) {
		*errstr = "equity out of range";
		return -1;
	}
	*ret = dec_to_double(r);
	return 0;
}

int
equity_close_day(struct equity *e, const struct ledger *l, int64_t day,
    const struct equity_mark *marks, size_t nmarks, const char **errstr)
{
	size_t add, k;
	struct dec pnl, capital = e->capital, last = e->last, flow, base, end;
	struct equity_day *d;

	if (day < e->next_day) {
		*errstr = "day already closed";
		return -1;
	}
	if (day - e->next_day >= 100000) {
		*errstr = "day too far ahead";
		return -1;
	}
	if (ledger_pnl(e, l, marks, nmarks, &pnl, errstr) == -1)
		return -1;
	add = (size_t)(day - e->next_day + 1);
	if (e->ndays + add > e->cap) {
		e->cap = e->ndays + add + e->cap;
		e->days = xreallocarray(e->days, e->cap, sizeof(*e->days));
		e->rets = xreallocarray(e->rets, e->cap, sizeof(*e->rets));
	}
	/* compute into the spare slots first; commit only if every day is valid */
	for (k = 0; k < add; k++) {
		int64_t dd = e->next_day + (int64_t)k;
		d = &e->days[e->ndays + k];
		if (flows_on(e, dd, &flow) == -1 || dec_add(&base, last, flow) == -1 ||
		    dec_add(&capital, capital, flow) == -1)
			goto range;
		if (dd < day)
			end = base;	/* skipped day: carried forward */
		else if (dec_add(&end, capital, pnl) == -1)
			goto range;
		if (day_return(base, end, &e->rets[e->ndays + k], errstr) == -1)
			return -1;
		if (dec_sub(&d->pnl, end, base) == -1)
			goto range;
		d->day = dd;
		d->flow = flow;
		d->equity = end;
		d->ret = e->rets[e->ndays + k];
		last = end;
	}
	e->ndays += add;
	e->capital = capital;
	e->last = last;
	e->next_day = day + 1;
	/* drop the flows of closed days */
	for (size_t i = 0; i < e->nflows;)
		if (e->flows[i].day <= day)
			e->flows[i] = e->flows[--e->nflows];
		else
			i++;
	return 0;
range:
	*errstr = "equity out of range";
	return -1;
}

size_t
equity_ndays(const struct equity *e)
{
	return e->ndays;
}

const struct equity_day *
equity_day(const struct equity *e, size_t i)
{
	if (i >= e->ndays)
		fatalx("equity_day: %zu of %zu", i, e->ndays);
	return &e->days[i];
}

const double *
equity_returns(const struct equity *e)
{
	return e->rets;
}

double
equity_twr(const struct equity *e)
{
	double g = 1.0;

	for (size_t i = 0; i < e->ndays; i++)
		g *= 1.0 + e->rets[i];
	return g - 1.0;
}

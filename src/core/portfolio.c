#include "core/portfolio.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

struct psym {
	size_t lidx;			/* index in the ledger */
	char name[FILL_SYMBOL_MAX];
	struct dec value;		/* realized + unrealized at the last close */
	struct dec exposure;
	double *pnl;			/* per closed day */
	/* the day being closed, committed on success */
	struct dec new_value, new_exposure;
};

struct portfolio {
	char quote[FILL_CUR_MAX];
	struct equity *eq;
	int carry;
	int64_t next_day;
	size_t ndays, capdays;
	size_t scanned;			/* ledger symbols looked at */
	struct psym *syms;
	size_t nsyms, capsyms;
	struct equity_mark *marks;	/* scratch, one per symbol */
};

struct portfolio *
portfolio_new(const char *quote, struct dec capital, int64_t first_day, int carry,
    const char **errstr)
{
	struct portfolio *p;
	struct equity *eq;

	if ((eq = equity_new(quote, capital, first_day, errstr)) == NULL)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	strcpy(p->quote, quote);	/* equity_new checked its length */
	p->eq = eq;
	p->carry = carry;
	p->next_day = first_day;
	return p;
}

void
portfolio_free(struct portfolio *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsyms; i++)
		free(p->syms[i].pnl);
	free(p->syms);
	free(p->marks);
	equity_free(p->eq);
	free(p);
}

int
portfolio_flow(struct portfolio *p, int64_t day, struct dec amount, const char **errstr)
{
	return equity_flow(p->eq, day, amount, errstr);
}

/* Picks up the ledger's new symbols in the account currency. */
static void
scan(struct portfolio *p, const struct ledger *l)
{
	struct ledger_stats st;

	for (; p->scanned < ledger_nsymbols(l); p->scanned++) {
		ledger_symbol_stats(l, p->scanned, &st);
		if (strcmp(st.quote, p->quote) != 0)
			continue;
		if (p->nsyms == p->capsyms) {
			p->capsyms = p->capsyms ? 2 * p->capsyms : 16;
			p->syms = xreallocarray(p->syms, p->capsyms, sizeof(*p->syms));
			p->marks = xreallocarray(p->marks, p->capsyms, sizeof(*p->marks));
		}
		memset(&p->syms[p->nsyms], 0, sizeof(p->syms[0]));
		p->syms[p->nsyms].lidx = p->scanned;
		strcpy(p->syms[p->nsyms].name, st.name);	/* < FILL_SYMBOL_MAX */
		/* zero PnL on the days before its first fill */
		p->syms[p->nsyms].pnl = xcalloc(p->capdays ? p->capdays : 1, sizeof(double));
		p->nsyms++;
	}
}

/* Values symbol s at day's mark into s->new_value and s->new_exposure, and
 * its mark into *mk when it has an open position (*open = 1). */
static int
value(struct portfolio *p, const struct ledger *l, struct psym *s, int64_t day,
    const struct marks *m, struct equity_mark *mk, int *open, const char **symbol,
    const char **errstr)
{
	struct ledger_stats st;
	struct dec u, qty;

	ledger_symbol_stats(l, s->lidx, &st);
	s->new_value = st.realized_pnl;
	s->new_exposure = DEC_ZERO;
	*open = !dec_is_zero(st.open_long_qty) || !dec_is_zero(st.open_short_qty);
	if (!*open)
		return 0;
	mk->symbol = st.name;
	if (marks_price(m, st.name, day, p->carry, &mk->price, NULL) == -1) {
		*symbol = st.name;
		*errstr = "no mark for a symbol with an open position";
		return -1;
	}
	if (dec_sub(&qty, st.open_long_qty, st.open_short_qty) == -1 ||
	    ledger_mark(l, st.name, mk->price, &u) == -1 ||
	    dec_add(&s->new_value, s->new_value, u) == -1 ||
	    dec_mul(&s->new_exposure, qty, mk->price) == -1 ||
	    dec_abs(&s->new_exposure, s->new_exposure) == -1) {
		*errstr = "symbol value out of range";
		return -1;
	}
	return 0;
}

int
portfolio_close_day(struct portfolio *p, const struct ledger *l, int64_t day,
    const struct marks *m, const char **symbol, const char **errstr)
{
	size_t i, nm = 0;
	struct dec diff;
	int open;

	*symbol = NULL;
	if (day != p->next_day)
		fatalx("portfolio_close_day: day %lld, expected %lld", (long long)day,
		    (long long)p->next_day);
	scan(p, l);
	for (i = 0; i < p->nsyms; i++) {
		if (value(p, l, &p->syms[i], day, m, &p->marks[nm], &open, symbol, errstr) == -1)
			return -1;
		nm += open != 0;
		if (dec_sub(&diff, p->syms[i].new_value, p->syms[i].value) == -1) {
			*errstr = "symbol PnL out of range";
			return -1;
		}
	}
	if (equity_close_day(p->eq, l, day, p->marks, nm, errstr) == -1)
		return -1;
	if (p->ndays == p->capdays) {
		p->capdays = p->capdays ? 2 * p->capdays : 64;
		for (i = 0; i < p->nsyms; i++) {
			p->syms[i].pnl = xreallocarray(p->syms[i].pnl, p->capdays, sizeof(double));
			memset(p->syms[i].pnl + p->ndays, 0, (p->capdays - p->ndays) * sizeof(double));
		}
	}
	for (i = 0; i < p->nsyms; i++) {
		struct psym *s = &p->syms[i];

		(void)dec_sub(&diff, s->new_value, s->value);	/* checked above */
		s->pnl[p->ndays] = dec_to_double(diff);
		s->value = s->new_value;
		s->exposure = s->new_exposure;
	}
	p->ndays++;
	p->next_day = day + 1;
	return 0;
}

const struct equity *
portfolio_equity(const struct portfolio *p)
{
	return p->eq;
}

size_t
portfolio_nsymbols(const struct portfolio *p)
{
	return p->nsyms;
}

static const struct psym *
sym_at(const struct portfolio *p, size_t i)
{
	if (i >= p->nsyms)
		fatalx("portfolio: symbol %zu of %zu", i, p->nsyms);
	return &p->syms[i];
}

const char *
portfolio_symbol(const struct portfolio *p, size_t i)
{
	return sym_at(p, i)->name;
}

const double *
portfolio_pnl(const struct portfolio *p, size_t i)
{
	return sym_at(p, i)->pnl;
}

struct dec
portfolio_exposure(const struct portfolio *p, size_t i)
{
	return sym_at(p, i)->exposure;
}

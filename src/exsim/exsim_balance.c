/*
 * exsim_balance: an account's balances from its visible history.
 *
 * Summing a million fills per request would make balance endpoints the
 * simulator's bottleneck, so each symbol keeps running sums up to the last
 * visible fill it was asked about and only the new fills are added; a query
 * for an earlier time recomputes that symbol from zero without touching the
 * cache. Funding (Binance USD-M) is cached the same way, per symbol, up
 * to the last time asked.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exsim/exsim.h"
#include "util/log.h"
#include "util/xalloc.h"

#define NCUR 8

struct symsums {
	uint64_t n;			/* fills summed */
	struct dec delta[NCUR];		/* per account currency */
	int64_t fund_to;		/* funding summed up to this time (inclusive) */
	struct dec fund;		/* in the symbol's quote (exsim_funding_sum) */
};

struct exsim_bcache {
	pthread_mutex_t mu;
	struct symsums *sym;
	size_t nsym;
};

struct exsim_bcache *
exsim_bcache_new(const struct exsim_account *a)
{
	struct exsim_bcache *c = xcalloc(1, sizeof(*c));

	if (pthread_mutex_init(&c->mu, NULL) != 0)
		fatalx("exsim: mutex");
	c->sym = xcalloc(a->nsymbols, sizeof(*c->sym));
	c->nsym = a->nsymbols;
	return c;
}

void
exsim_bcache_free(struct exsim_bcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->sym);
	free(c);
}

static size_t
cur_index(const struct exsim_account *a, const char *cur)
{
	for (size_t j = 0; j < a->ncurrencies; j++)
		if (strcmp(a->currencies[j], cur) == 0)
			return j;
	fatalx("exsim: currency %s not held", cur);
}

static void
add(struct dec *acc, struct dec v, bool negate)
{
	int rc = negate ? dec_sub(acc, *acc, v) : dec_add(acc, *acc, v);

	if (rc == -1)
		fatalx("exsim: balance overflow");
}

/* Adds fills [from, to) of symbol k to the sums. */
static void
sum_fills(const struct exsim_account *a, size_t k, uint64_t from, uint64_t to, struct symsums *ss)
{
	const struct exsim_symbol *s = &a->symbols[k];
	size_t qi = cur_index(a, s->quote), bi = a->market == FILL_FUTURES ? 0 : cur_index(a, s->base);
	struct fill f;

	for (uint64_t i = from; i < to; i++) {
		bool buy;
		exsim_fill(a, k, i, &f);
		buy = f.side == FILL_BUY;
		if (a->market != FILL_FUTURES)
			add(&ss->delta[bi], f.amount, !buy);
		add(&ss->delta[qi], f.cost, buy);
		for (size_t j = 0; j < f.nfees; j++)
			add(&ss->delta[cur_index(a, f.fees[j].currency)], f.fees[j].cost, true);
	}
	ss->n = to;
}

size_t
exsim_balances(const struct exsim_account *a, int64_t now_ms, char (*cur)[FILL_CUR_MAX], struct dec *total,
    size_t cap)
{
	struct dec sum[NCUR];
	size_t n = a->ncurrencies < cap ? a->ncurrencies : cap;

	memset(sum, 0, sizeof(sum));
	for (size_t j = 0; j < a->nflows && a->flows[j].ts_ms <= now_ms; j++)
		add(&sum[cur_index(a, a->flows[j].currency)], a->flows[j].amount, false);
	for (size_t k = 0; k < a->nsymbols; k++) {
		uint64_t vis = exsim_visible(a, k, now_ms);
		struct symsums tmp;

		struct symsums *c = &a->bcache->sym[k];

		pthread_mutex_lock(&a->bcache->mu);
		if (vis >= c->n && now_ms >= c->fund_to) {
			sum_fills(a, k, c->n, vis, c);
			add(&c->fund, exsim_funding_sum(a, k, c->fund_to + 1, now_ms), false);
			c->fund_to = now_ms;
			tmp = *c;
			pthread_mutex_unlock(&a->bcache->mu);
		} else {
			pthread_mutex_unlock(&a->bcache->mu);
			memset(&tmp, 0, sizeof(tmp));
			sum_fills(a, k, 0, vis, &tmp);
			tmp.fund = exsim_funding_sum(a, k, INT64_MIN, now_ms);
		}
		for (size_t j = 0; j < a->ncurrencies; j++)
			add(&sum[j], tmp.delta[j], false);
		if (exsim_has_funding(a))
			add(&sum[cur_index(a, a->symbols[k].quote)], tmp.fund, false);
	}
	for (size_t j = 0; j < n; j++) {
		memcpy(cur[j], a->currencies[j], FILL_CUR_MAX);
		total[j] = sum[j];
	}
	return n;
}

void
exsim_trip_of(const struct exsim_account *a, size_t k, uint64_t upto, struct exsim_trip *t)
{
	const struct exsim_symbol *s = &a->symbols[k];
	uint64_t c2 = 2 * (uint64_t)s->cycle;
	struct fill f;

	memset(t, 0, sizeof(*t));
	if (upto == 0)
		return;
	t->start = (upto - 1) - (upto - 1) % c2;
	for (uint64_t i = t->start; i < upto; i++) {
		bool buy;
		exsim_fill(a, k, i, &f);
		buy = f.side == FILL_BUY;
		add(&t->amt, f.amount, !buy);
		if (i - t->start < s->cycle) {
			add(&t->open_amt, f.amount, !buy);
			add(&t->open_cost, f.cost, !buy);
		}
	}
}

struct dec
exsim_trip_basis(const struct exsim_trip *t, unsigned decimals)
{
	struct dec b = DEC_ZERO;

	if (dec_is_zero(t->amt))
		return DEC_ZERO;
	if (dec_cmp(t->amt, t->open_amt) == 0)
		return t->open_cost;
	if (dec_muldiv(&b, t->open_cost, t->amt, t->open_amt) == -1 || dec_round(&b, b, decimals) == -1)
		fatalx("exsim: basis overflow");
	return b;
}

/*
 * exsim_funding: USD-M positions and the funding Binance books on them
 * (exsim.h "Funding"). Pure functions of the account's history: any funding
 * time is computed directly from the fills around it, so the income
 * endpoint pages and the balances agree without any stored state.
 */
#include <string.h>

#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/log.h"

/* exsim_hash domain of the funding rates. */
#define H_FUNDING 0x66756e64ULL
/* Rates are n x 10^-6 with |n| <= RATE_MAX_MICRO: [-0.0003, 0.0003]. */
#define RATE_MAX_MICRO 300

bool
exsim_has_funding(const struct exsim_account *a)
{
	for (size_t j = 0; j < a->venue->nmarkets; j++)
		if (a->venue->markets[j].market == a->market)
			return a->venue->markets[j].funding;
	return false;
}

int64_t
exsim_funding_ceil(int64_t ts_ms)
{
	int64_t r = ts_ms % EXSIM_FUNDING_PERIOD_MS;

	if (r < 0)
		r += EXSIM_FUNDING_PERIOD_MS;
	return r == 0 ? ts_ms : ts_ms - r + EXSIM_FUNDING_PERIOD_MS;
}

/* The market's rate for native symbol at period p: the same for every
 * account of the world. */
static struct dec
funding_rate(const struct exsim_account *a, const char *native, uint64_t p)
{
	uint64_t h = 0;
	struct dec r;

	for (const char *c = native; *c != '\0'; c++)
		h = h * 131 + (unsigned char)*c;
	h = exsim_hash(a->world_seed ^ h, H_FUNDING, p);
	if (dec_div(&r, dec_from_int((int64_t)(h % (2 * RATE_MAX_MICRO + 1)) - RATE_MAX_MICRO),
	    dec_from_int(1000000)) == -1)
		fatalx("exsim: funding rate");
	return r;
}

bool
exsim_funding_at(const struct exsim_account *a, size_t k, int64_t ts_ms, struct exsim_funding *out)
{
	uint64_t upto, p;
	struct exsim_trip t;
	struct fill last;
	struct dec notional;

	if (!exsim_has_funding(a) || ts_ms % EXSIM_FUNDING_PERIOD_MS != 0 || ts_ms < 0)
		return false;
	upto = exsim_index_at(a, k, ts_ms + 1);
	exsim_trip_of(a, k, upto, &t);
	if (dec_is_zero(t.amt))
		return false;
	exsim_fill(a, k, upto - 1, &last);
	p = (uint64_t)(ts_ms / EXSIM_FUNDING_PERIOD_MS);
	memset(out, 0, sizeof(*out));
	out->ts_ms = ts_ms;
	/* Unique per account: periods since the epoch x 64 symbol slots. */
	out->tran_id = 7000000000ULL + p * 64 + k;
	out->position = t.amt;
	out->mark = last.price;
	out->rate = funding_rate(a, a->symbols[k].native, p);
	/* income = -(position x mark) x rate, rounded once to 8 places */
	if (dec_mul(&notional, t.amt, last.price) == -1 || dec_mul(&out->income, notional, out->rate) == -1 ||
	    dec_neg(&out->income, out->income) == -1 || dec_round(&out->income, out->income, 8) == -1)
		fatalx("exsim: funding overflow");
	return true;
}

struct dec
exsim_funding_sum(const struct exsim_account *a, size_t k, int64_t from_ms, int64_t to_ms)
{
	struct dec sum = DEC_ZERO;
	struct exsim_funding f;

	if (!exsim_has_funding(a) || a->symbols[k].nfills == 0)
		return sum;
	/* nothing is held before the first fill */
	if (from_ms < exsim_fill_ts(a, k, 0))
		from_ms = exsim_fill_ts(a, k, 0);
	/* INT64_MAX (every fill, exsim_visible): up to the last fill */
	if (to_ms == INT64_MAX)
		to_ms = exsim_fill_ts(a, k, a->symbols[k].nfills - 1);
	for (int64_t t = exsim_funding_ceil(from_ms); t <= to_ms; t += EXSIM_FUNDING_PERIOD_MS)
		if (exsim_funding_at(a, k, t, &f) && dec_add(&sum, sum, f.income) == -1)
			fatalx("exsim: funding overflow");
	return sum;
}

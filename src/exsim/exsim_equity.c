/*
 * exsim_equity: the ground truth of an account's daily equity, computed
 * forward from the simulator's own history (not from anything the daemon
 * computes): for every day from the account's first flow or fill to today,
 * the balances at the end of the day (exsim_balances(), and for futures the
 * open position of each symbol) times that day's close as the exchange's
 * public candle endpoint serves it (exsim_close()).
 *
 * Conventions, the same as the daemon's (docs/ANALYTICS.md section 6):
 * quote Q = the quote with the most quote volume; price_Q = 1, else the
 * close of "c/Q" (a futures position: of its symbol), carried from the
 * latest day with one; a currency with no close at all is excluded and
 * listed as unpriced when it held a balance on some day; a day on which a held currency has no close yet is
 * not valued and the series starts after the last such day, at the first
 * positive equity; flows at the start of their day, valued at its close.
 */
#include <stdlib.h>
#include <string.h>

#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define DAY_MS 86400000LL
#define NCUR 16

/* The close of symbol k of a on day: its last visible fill up to the end of
 * the day (Binance klines and Kraken OHLC serve exactly this). */
static int
close_from_fills(const struct exsim_account *a, size_t k, int64_t day, int64_t now_ms, struct dec *close)
{
	uint64_t j = exsim_index_at(a, k, (day + 1) * DAY_MS), vis = exsim_visible(a, k, now_ms);
	struct fill f;

	if (day * DAY_MS > now_ms)
		return -1;
	if (j > vis)
		j = vis;
	if (j == 0)
		return -1;
	exsim_fill(a, k, j - 1, &f);
	*close = f.price;
	return 0;
}

int
exsim_close(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified, int64_t day,
    int64_t now_ms, struct dec *close)
{
	return v->close != NULL ? v->close(w, v, m, unified, day, now_ms, close) : -1;
}

/* The account of v whose fills are unified's candles, and the symbol's
 * index in it: the first account trading it (Kraken: sim_kraken.c
 * pair_owner), of the same futures-ness as m when v is mixed. */
static const struct exsim_account *
candle_owner(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified, size_t *kout)
{
	bool mixed = exsim_venue_mixed(v);

	for (size_t i = 0; i < w->naccounts; i++) {
		const struct exsim_account *a = &w->accounts[i];
		if (a->venue != v || (mixed && (a->market == FILL_FUTURES) != (m == FILL_FUTURES)))
			continue;
		for (size_t k = 0; k < a->nsymbols; k++)
			if (strcmp(a->symbols[k].unified, unified) == 0) {
				*kout = k;
				return a;
			}
	}
	return NULL;
}

int
exsim_close_from_fills(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct dec *close)
{
	size_t k;
	const struct exsim_account *a = candle_owner(w, v, m, unified, &k);

	return a != NULL ? close_from_fills(a, k, day, now_ms, close) : -1;
}

int
exsim_candle_from_fills(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct exsim_candle *c)
{
	size_t k;
	const struct exsim_account *a = candle_owner(w, v, m, unified, &k);
	uint64_t i0, i1, vis;
	struct fill f;

	if (a == NULL || close_from_fills(a, k, day, now_ms, &c->close) != 0)
		return -1;
	vis = exsim_visible(a, k, now_ms);
	i0 = exsim_index_at(a, k, day * DAY_MS);
	i1 = exsim_index_at(a, k, (day + 1) * DAY_MS);
	if (i1 > vis)
		i1 = vis;
	c->fills = i1 > i0 ? i1 - i0 : 0;
	c->open = c->close;
	if (c->fills > 0) {
		exsim_fill(a, k, i0, &f);
		c->open = f.price;
	} else if (i0 > 0) {
		exsim_fill(a, k, i0 - 1, &f);
		c->open = f.price;
	}
	return 0;
}

struct tcur {
	char name[FILL_SYMBOL_MAX];
	char sym[FILL_SYMBOL_MAX + FILL_CUR_MAX];	/* "" for Q */
	struct dec bal;
	bool excluded;
	bool held;			/* a non-zero balance on some day */
};

static void
check(int rc)
{
	if (rc != 0)
		fatalx("exsim: overflow computing the daily equity");
}

json_t *
exsim_daily_equity_json(const struct exsim *w, const struct exsim_account *a, int64_t now_ms)
{
	struct tcur cur[NCUR];
	size_t nc = 0, npos = a->market == FILL_FUTURES ? a->nsymbols : 0;
	char q[FILL_CUR_MAX] = "", bc[8][FILL_CUR_MAX];
	char (*qs)[FILL_CUR_MAX] = xcalloc(a->nsymbols + 1, FILL_CUR_MAX);
	struct dec *vol = xcalloc(a->nsymbols + 1, sizeof(*vol)), bt[8], eq_prev = DEC_ZERO, close;
	int64_t first = -1, today = time_day_of_ms(now_ms);
	uint64_t *pi = xcalloc(npos + 1, sizeof(*pi));
	struct dec *pos = xcalloc(npos + 1, sizeof(*pos));
	json_t *days = json_array(), *unpriced = json_array(), *o;
	double twr = 1.0;
	size_t nq = 0, nb;
	bool started = false;

	/* Q: the most quote volume, as the daemon's ledger totals pick it */
	for (size_t k = 0; k < a->nsymbols; k++) {
		size_t j;
		uint64_t vis = exsim_visible(a, k, now_ms);
		for (j = 0; j < nq && strcmp(qs[j], a->symbols[k].quote) != 0; j++)
			;
		if (j == nq)
			snprintf(qs[nq++], FILL_CUR_MAX, "%s", a->symbols[k].quote);
		for (uint64_t i = 0; i < vis; i++) {
			struct fill f;
			exsim_fill(a, k, i, &f);
			check(dec_add(&vol[j], vol[j], f.cost));
		}
		if (vis > 0 && (first < 0 || time_day_of_ms(exsim_fill_ts(a, k, 0)) < first))
			first = time_day_of_ms(exsim_fill_ts(a, k, 0));
	}
	{
		size_t best = 0;
		for (size_t j = 1; j < nq; j++)
			if (dec_cmp(vol[j], vol[best]) > 0)
				best = j;
		snprintf(q, sizeof(q), "%s", nq > 0 ? qs[best] : "");
	}
	if (a->nflows > 0 && a->flows[0].ts_ms <= now_ms &&
	    (first < 0 || time_day_of_ms(a->flows[0].ts_ms) < first))
		first = time_day_of_ms(a->flows[0].ts_ms);
	/* the currencies and futures positions, and which are never priced */
	for (size_t j = 0; j < a->ncurrencies && nc < NCUR; j++, nc++) {
		memset(&cur[nc], 0, sizeof(cur[nc]));
		snprintf(cur[nc].name, sizeof(cur[nc].name), "%s", a->currencies[j]);
		if (strcmp(a->currencies[j], q) != 0)
			snprintf(cur[nc].sym, sizeof(cur[nc].sym), "%s/%s", a->currencies[j], q);
	}
	for (size_t k = 0; k < npos && nc < NCUR; k++, nc++) {
		memset(&cur[nc], 0, sizeof(cur[nc]));
		snprintf(cur[nc].name, sizeof(cur[nc].name), "%s", a->symbols[k].unified);
		snprintf(cur[nc].sym, sizeof(cur[nc].sym), "%s", a->symbols[k].unified);
	}
	for (size_t c = 0; c < nc; c++)
		cur[c].excluded = cur[c].sym[0] != '\0' &&
		    exsim_close(w, a->venue, a->market, cur[c].sym, today, now_ms, &close) != 0;
	for (int64_t d = first; first >= 0 && d <= today; d++) {
		int64_t end = (d + 1) * DAY_MS - 1 < now_ms ? (d + 1) * DAY_MS - 1 : now_ms;
		struct dec eq = DEC_ZERO, fl = DEC_ZERO, x, base, r;
		bool valued = true;
		char buf[DEC_STR_MAX], date[TIME_DATE_LEN];

		nb = exsim_balances(a, end, bc, bt, 8);
		for (size_t c = 0; c < nc; c++) {
			cur[c].bal = DEC_ZERO;
			for (size_t j = 0; j < nb && j < 8; j++)
				if (strcmp(bc[j], cur[c].name) == 0)
					cur[c].bal = bt[j];
		}
		for (size_t k = 0; k < npos; k++) {
			uint64_t vis = exsim_visible(a, k, end);
			for (; pi[k] < vis; pi[k]++) {
				struct fill f;
				exsim_fill(a, k, pi[k], &f);
				check(f.side == FILL_BUY ? dec_add(&pos[k], pos[k], f.amount) : dec_sub(&pos[k], pos[k], f.amount));
			}
			cur[a->ncurrencies + k].bal = pos[k];
		}
		for (size_t c = 0; c < nc; c++)
			cur[c].held = cur[c].held || !dec_is_zero(cur[c].bal);
		for (size_t c = 0; c < nc && valued; c++) {
			struct dec f = DEC_ZERO, p = dec_one();
			if (cur[c].excluded)
				continue;
			for (size_t j = 0; j < a->nflows; j++)
				if (a->flows[j].ts_ms <= now_ms && time_day_of_ms(a->flows[j].ts_ms) == d &&
				    strcmp(a->flows[j].currency, cur[c].name) == 0)
					check(dec_add(&f, f, a->flows[j].amount));
			if (dec_is_zero(cur[c].bal) && dec_is_zero(f))
				continue;
			if (cur[c].sym[0] != '\0' && exsim_close(w, a->venue, a->market, cur[c].sym, d, now_ms, &p) != 0) {
				/* the latest close before d, if any */
				int64_t e = d - 1;
				while (e >= first - 400 && exsim_close(w, a->venue, a->market, cur[c].sym, e, now_ms, &p) != 0)
					e--;
				if (e < first - 400) {
					valued = false;
					break;
				}
			}
			check(dec_mul(&x, cur[c].bal, p));
			check(dec_add(&eq, eq, x));
			check(dec_mul(&x, f, p));
			check(dec_add(&fl, fl, x));
		}
		if (!valued || (!started && dec_sign(eq) <= 0)) {
			/* not valued: the series starts again after it */
			json_array_clear(days);
			twr = 1.0;
			started = false;
			continue;
		}
		time_format_date(date, d);
		dec_format(buf, sizeof(buf), eq);
		o = json_pack("{s:s, s:s}", "date", date, "equity", buf);
		dec_format(buf, sizeof(buf), fl);
		json_object_set_new(o, "flow", json_string(buf));
		if (started) {
			check(dec_add(&base, eq_prev, fl));
			if (dec_sign(base) > 0) {
				check(dec_sub(&x, eq, base));
				check(dec_div(&r, x, base));
				json_object_set_new(o, "return", json_real(dec_to_double(r)));
				twr *= 1.0 + dec_to_double(r);
			}
		}
		json_array_append_new(days, o);
		started = true;
		eq_prev = eq;
	}
	for (size_t c = 0; c < nc; c++)
		if (cur[c].excluded && cur[c].held)
			json_array_append_new(unpriced, json_string(cur[c].name));
	free(pi);
	free(pos);
	free(qs);
	free(vol);
	return json_pack("{s:s, s:o, s:o, s:f}", "quote", q, "unpriced", unpriced, "days", days, "twr", twr - 1.0);
}

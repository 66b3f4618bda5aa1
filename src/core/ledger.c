#include "core/ledger.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

#define HOUR_MS 3600000LL

struct lot {
	struct dec qty;
	struct dec value;		/* cost of a long lot, proceeds of a short one */
};

struct amounts {
	struct ledger_amount *v;
	size_t n, cap;
};

/* What symbols and quote currencies accumulate. */
struct acc {
	struct dec realized, basis, vol_base, vol_quote, fees_quote;
	struct dec gross_win, gross_loss, unmatched;
	uint64_t trades, wins, losses, dups, stale;
	int64_t first, last;
	struct amounts fees, unconv;
};

struct sym {
	char name[FILL_SYMBOL_MAX];
	char base[FILL_CUR_MAX];
	size_t quote;			/* index into ledger.quotes */
	enum fill_market market;	/* of the first fill */
	bool broken;
	/* FIFO ring of lots */
	struct lot *lots;
	size_t head, nlots, cap;
	bool is_short;			/* side of the lots, when nlots > 0 */
	struct dec open_qty, open_value;
	/* idempotency cursor */
	bool has_last;
	int64_t last_ts;
	char (*ids)[FILL_ID_MAX];	/* ids applied at last_ts */
	size_t nids, capids;
	struct acc acc;
};

struct quote {
	char name[FILL_CUR_MAX];
	struct acc acc;
};

struct bucket {
	int64_t hour;
	size_t quote;
	uint64_t trades;
	struct dec vol_base, vol_quote, fees_quote, realized, basis;
};

struct rate {
	char cur[FILL_CUR_MAX], quote[FILL_CUR_MAX];
	struct dec rate;
};

struct ledger {
	enum ledger_oversell oversell;
	struct sym **syms;
	size_t nsyms, capsyms;
	size_t *htab;			/* open addressing: sym index + 1, 0 = empty */
	size_t hcap;
	struct quote *quotes;
	size_t nquotes;
	struct bucket *buckets;
	size_t nbuckets, capbuckets, blast;
	struct rate *rates;
	size_t nrates;
};

/* The effect of one fill, added to its symbol, quote currency and hour. */
struct delta {
	int64_t ts;
	struct dec realized, basis, vol_base, vol_quote, fees_quote, unmatched;
	bool closed;			/* a round trip */
	const struct fill *f;
	struct ledger_amount unconv[FILL_FEES_MAX];
	size_t nunconv;
};

static int
add(struct dec *a, struct dec b)
{
	return dec_add(a, *a, b);
}

static int
sub(struct dec *a, struct dec b)
{
	return dec_sub(a, *a, b);
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct ledger *
ledger_new(void)
{
	struct ledger *l = xcalloc(1, sizeof(*l));

	l->hcap = 64;
	l->htab = xcalloc(l->hcap, sizeof(*l->htab));
	return l;
}

static void
amounts_free(struct amounts *a)
{
	free(a->v);
}

void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nsyms; i++) {
		struct sym *s = l->syms[i];
		free(s->lots);
		free(s->ids);
		amounts_free(&s->acc.fees);
		amounts_free(&s->acc.unconv);
		free(s);
	}
	for (size_t i = 0; i < l->nquotes; i++) {
		amounts_free(&l->quotes[i].acc.fees);
		amounts_free(&l->quotes[i].acc.unconv);
	}
	free(l->syms);
	free(l->htab);
	free(l->quotes);
	free(l->buckets);
	free(l->rates);
	free(l);
}

void
ledger_set_oversell(struct ledger *l, enum ledger_oversell policy)
{
	l->oversell = policy;
}

static int
cur_ok(const char *s, const char **errstr)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FILL_CUR_MAX) {
		*errstr = "bad currency code";
		return -1;
	}
	return 0;
}

int
ledger_set_fee_rate(struct ledger *l, const char *currency, const char *quote,
    struct dec rate, const char **errstr)
{
	struct rate *r;

	if (cur_ok(currency, errstr) == -1 || cur_ok(quote, errstr) == -1)
		return -1;
	if (dec_sign(rate) < 0) {
		*errstr = "negative fee rate";
		return -1;
	}
	for (size_t i = 0; i < l->nrates; i++)
		if (strcmp(l->rates[i].cur, currency) == 0 && strcmp(l->rates[i].quote, quote) == 0) {
			l->rates[i].rate = rate;
			return 0;
		}
	l->rates = xreallocarray(l->rates, l->nrates + 1, sizeof(*l->rates));
	r = &l->rates[l->nrates++];
	strcpy(r->cur, currency);
	strcpy(r->quote, quote);
	r->rate = rate;
	return 0;
}

static const struct dec *
find_rate(const struct ledger *l, const char *cur, const char *quote)
{
	for (size_t i = 0; i < l->nrates; i++)
		if (strcmp(l->rates[i].cur, cur) == 0 && strcmp(l->rates[i].quote, quote) == 0)
			return &l->rates[i].rate;
	return NULL;
}

static size_t
quote_index(struct ledger *l, const char *name)
{
	for (size_t i = 0; i < l->nquotes; i++)
		if (strcmp(l->quotes[i].name, name) == 0)
			return i;
	l->quotes = xreallocarray(l->quotes, l->nquotes + 1, sizeof(*l->quotes));
	memset(&l->quotes[l->nquotes], 0, sizeof(l->quotes[0]));
	strcpy(l->quotes[l->nquotes].name, name);
	return l->nquotes++;
}

static void
htab_insert(size_t *tab, size_t cap, const char *name, size_t idx)
{
	size_t h = (size_t)hash_str(name) & (cap - 1);

	while (tab[h] != 0)
		h = (h + 1) & (cap - 1);
	tab[h] = idx + 1;
}

static struct sym *
sym_find(const struct ledger *l, const char *name)
{
	size_t h = (size_t)hash_str(name) & (l->hcap - 1);

	for (; l->htab[h] != 0; h = (h + 1) & (l->hcap - 1))
		if (strcmp(l->syms[l->htab[h] - 1]->name, name) == 0)
			return l->syms[l->htab[h] - 1];
	return NULL;
}

static struct sym *
sym_get(struct ledger *l, const struct fill *f)
{
	struct sym *s = sym_find(l, f->symbol);

	if (s != NULL)
		return s;
	if (2 * (l->nsyms + 1) > l->hcap) {
		free(l->htab);
		l->hcap *= 2;
		l->htab = xcalloc(l->hcap, sizeof(*l->htab));
		for (size_t i = 0; i < l->nsyms; i++)
			htab_insert(l->htab, l->hcap, l->syms[i]->name, i);
	}
	if (l->nsyms == l->capsyms) {
		l->capsyms = l->capsyms ? 2 * l->capsyms : 16;
		l->syms = xreallocarray(l->syms, l->capsyms, sizeof(*l->syms));
	}
	s = xcalloc(1, sizeof(*s));
	strcpy(s->name, f->symbol);
	strcpy(s->base, f->base);
	s->quote = quote_index(l, f->quote);
	s->market = f->market;
	l->syms[l->nsyms] = s;
	htab_insert(l->htab, l->hcap, s->name, l->nsyms);
	l->nsyms++;
	return s;
}

static enum ledger_oversell
policy_of(const struct ledger *l, const struct sym *s)
{
	if (l->oversell != LEDGER_OVERSELL_DEFAULT)
		return l->oversell;
	return s->market == FILL_SPOT ? LEDGER_OVERSELL_ZERO_COST : LEDGER_OVERSELL_SHORT;
}

/* ---- lots ---- */

static struct lot *
lot_front(struct sym *s)
{
	return &s->lots[s->head];
}

static void
lot_pop(struct sym *s)
{
	s->head = (s->head + 1) & (s->cap - 1);
	s->nlots--;
}

static int
lot_push(struct sym *s, bool is_short, struct dec qty, struct dec value)
{
	if (s->nlots == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 4;
		struct lot *n = xreallocarray(NULL, ncap, sizeof(*n));
		for (size_t i = 0; i < s->nlots; i++)
			n[i] = s->lots[(s->head + i) & (s->cap - 1)];
		free(s->lots);
		s->lots = n;
		s->cap = ncap;
		s->head = 0;
	}
	if (add(&s->open_qty, qty) || add(&s->open_value, value))
		return -1;
	s->lots[(s->head + s->nlots) & (s->cap - 1)] = (struct lot){ qty, value };
	s->nlots++;
	s->is_short = is_short;
	return 0;
}

/*
 * Closes up to *rem units of the open position against a fill whose value for
 * qty units is value. *rem and *vrem (the fill value not yet used) shrink by
 * what was closed. Realized PnL and basis go into d.
 */
static int
close_lots(struct sym *s, struct dec qty, struct dec value, struct dec *rem, struct dec *vrem,
    struct delta *d)
{
	while (s->nlots > 0 && dec_sign(*rem) > 0) {
		struct lot *lot = lot_front(s);
		struct dec take, lpart, fpart, pnl;
		bool empties = dec_cmp(lot->qty, *rem) <= 0;

		take = empties ? lot->qty : *rem;
		if (empties)
			lpart = lot->value;
		else if (dec_muldiv(&lpart, lot->value, take, lot->qty) == -1)
			return -1;
		if (dec_cmp(take, *rem) == 0)
			fpart = *vrem;
		else if (dec_muldiv(&fpart, value, take, qty) == -1)
			return -1;
		/* long: proceeds - cost; short: proceeds (lot) - cost (fill) */
		if (dec_sub(&pnl, s->is_short ? lpart : fpart, s->is_short ? fpart : lpart) == -1 ||
		    add(&d->realized, pnl) || add(&d->basis, lpart) ||
		    sub(rem, take) || sub(vrem, fpart) ||
		    sub(&s->open_qty, take) || sub(&s->open_value, lpart))
			return -1;
		d->closed = true;
		if (empties)
			lot_pop(s);
		else {
			lot->qty.raw -= take.raw;	/* take < qty: no overflow */
			if (sub(&lot->value, lpart))
				return -1;
		}
	}
	return 0;
}

/* Sorts the fill's fees into quote, base, converted and unconverted. */
static int
sort_fees(const struct ledger *l, const struct fill *f, struct dec *fee_q, struct dec *fee_b,
    struct delta *d)
{
	*fee_q = *fee_b = DEC_ZERO;
	for (size_t i = 0; i < f->nfees; i++) {
		const struct fill_fee *fee = &f->fees[i];
		const struct dec *rate;
		struct dec conv;

		if (strcmp(fee->currency, f->quote) == 0) {
			if (add(fee_q, fee->cost))
				return -1;
		} else if (strcmp(fee->currency, f->base) == 0) {
			if (add(fee_b, fee->cost))
				return -1;
		} else if ((rate = find_rate(l, fee->currency, f->quote)) != NULL) {
			if (dec_mul(&conv, fee->cost, *rate) == -1 || add(fee_q, conv))
				return -1;
		} else {
			struct ledger_amount *u = &d->unconv[d->nunconv++];
			strcpy(u->currency, fee->currency);
			u->amount = fee->cost;
		}
	}
	return 0;
}

static int
amounts_add(struct amounts *a, const char *cur, struct dec v)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].currency, cur) == 0)
			return add(&a->v[i].amount, v);
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 4;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	strcpy(a->v[a->n].currency, cur);
	a->v[a->n++].amount = v;
	return 0;
}

static int
acc_apply(struct acc *a, const struct delta *d)
{
	int sign = dec_sign(d->realized);

	if (add(&a->realized, d->realized) || add(&a->basis, d->basis) ||
	    add(&a->vol_base, d->vol_base) || add(&a->vol_quote, d->vol_quote) ||
	    add(&a->fees_quote, d->fees_quote) || add(&a->unmatched, d->unmatched))
		return -1;
	if (d->closed && sign > 0) {
		a->wins++;
		if (add(&a->gross_win, d->realized))
			return -1;
	} else if (d->closed && sign < 0) {
		a->losses++;
		if (add(&a->gross_loss, d->realized))
			return -1;
	}
	for (size_t i = 0; i < d->f->nfees; i++)
		if (amounts_add(&a->fees, d->f->fees[i].currency, d->f->fees[i].cost))
			return -1;
	for (size_t i = 0; i < d->nunconv; i++)
		if (amounts_add(&a->unconv, d->unconv[i].currency, d->unconv[i].amount))
			return -1;
	if (a->trades == 0 || d->ts < a->first)
		a->first = d->ts;
	if (a->trades == 0 || d->ts > a->last)
		a->last = d->ts;
	a->trades++;
	return 0;
}

static int64_t
hour_of(int64_t ts)
{
	int64_t h = ts / HOUR_MS;

	if (ts % HOUR_MS < 0)
		h--;
	return h * HOUR_MS;
}

static int
bucket_cmp(int64_t hour, size_t quote, const struct bucket *b)
{
	if (hour != b->hour)
		return hour < b->hour ? -1 : 1;
	return quote < b->quote ? -1 : quote > b->quote;
}

static struct bucket *
bucket_get(struct ledger *l, int64_t ts, size_t quote)
{
	int64_t hour = hour_of(ts);
	size_t lo = 0, hi = l->nbuckets;
	struct bucket *b;

	/* fills mostly arrive in time order: try the last bucket used first */
	if (l->blast < l->nbuckets && bucket_cmp(hour, quote, &l->buckets[l->blast]) == 0)
		return &l->buckets[l->blast];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = bucket_cmp(hour, quote, &l->buckets[mid]);
		if (c == 0)
			return &l->buckets[l->blast = mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (l->nbuckets == l->capbuckets) {
		l->capbuckets = l->capbuckets ? 2 * l->capbuckets : 64;
		l->buckets = xreallocarray(l->buckets, l->capbuckets, sizeof(*l->buckets));
	}
	memmove(&l->buckets[lo + 1], &l->buckets[lo], (l->nbuckets - lo) * sizeof(*b));
	b = &l->buckets[lo];
	memset(b, 0, sizeof(*b));
	b->hour = hour;
	b->quote = quote;
	l->nbuckets++;
	l->blast = lo;
	return b;
}

static int
bucket_apply(struct bucket *b, const struct delta *d)
{
	b->trades++;
	return add(&b->vol_base, d->vol_base) || add(&b->vol_quote, d->vol_quote) ||
	    add(&b->fees_quote, d->fees_quote) || add(&b->realized, d->realized) ||
	    add(&b->basis, d->basis) ? -1 : 0;
}

/* The position and PnL effect of f on s, into d. -1 on overflow. */
static int
book(struct ledger *l, struct sym *s, const struct fill *f, struct delta *d, const char **errstr)
{
	struct dec cost, fee_q, fee_b, qty, value, rem, vrem, bval;

	*errstr = "amount out of range";
	if (fill_cost(f, &cost) == -1 || sort_fees(l, f, &fee_q, &fee_b, d) == -1 ||
	    dec_mul(&bval, fee_b, f->price) == -1 || dec_add(&d->fees_quote, fee_q, bval) == -1)
		return -1;
	d->vol_base = f->amount;
	d->vol_quote = cost;
	if (f->side == FILL_BUY) {
		if (dec_sub(&qty, f->amount, fee_b) == -1 || dec_add(&value, cost, fee_q) == -1)
			return -1;
	} else {
		if (dec_add(&qty, f->amount, fee_b) == -1 || dec_sub(&value, cost, fee_q) == -1)
			return -1;
	}
	if (dec_sign(qty) <= 0) {
		*errstr = "base fee leaves no quantity";
		return -1;
	}
	rem = qty;
	vrem = value;
	/* a buy closes shorts, a sell closes longs */
	if (s->nlots > 0 && s->is_short == (f->side == FILL_BUY) &&
	    close_lots(s, qty, value, &rem, &vrem, d) == -1)
		goto broken;
	if (dec_sign(rem) == 0)
		return 0;
	if (f->side == FILL_BUY) {
		if (lot_push(s, false, rem, vrem) == -1)
			goto broken;
		return 0;
	}
	switch (policy_of(l, s)) {
	case LEDGER_OVERSELL_SHORT:
		if (lot_push(s, true, rem, vrem) == -1)
			goto broken;
		break;
	case LEDGER_OVERSELL_ZERO_COST:
		d->closed = true;
		if (add(&d->realized, vrem) || add(&d->unmatched, rem))
			goto broken;
		break;
	default:
		if (add(&d->unmatched, rem))
			goto broken;
		break;
	}
	return 0;
broken:
	s->broken = true;
	return -1;
}

static bool
id_seen(const struct sym *s, const char *id)
{
	for (size_t i = 0; i < s->nids; i++)
		if (strcmp(s->ids[i], id) == 0)
			return true;
	return false;
}

static void
cursor_advance(struct sym *s, const struct fill *f)
{
	if (!s->has_last || f->timestamp > s->last_ts)
		s->nids = 0;
	s->has_last = true;
	s->last_ts = f->timestamp;
	if (f->id[0] == '\0')
		return;
	if (s->nids == s->capids) {
		s->capids = s->capids ? 2 * s->capids : 2;
		s->ids = xreallocarray(s->ids, s->capids, sizeof(*s->ids));
	}
	strcpy(s->ids[s->nids++], f->id);
}

int
ledger_apply(struct ledger *l, const struct fill *f, enum ledger_outcome *outcome,
    const char **errstr)
{
	struct delta d;
	struct sym *s;

	if (dec_sign(f->amount) <= 0 || dec_sign(f->price) < 0 || f->base[0] == '\0' ||
	    f->quote[0] == '\0' || f->nfees > FILL_FEES_MAX) {
		*errstr = "invalid fill";
		return -1;
	}
	s = sym_get(l, f);
	if (s->broken) {
		*errstr = "symbol refused after an earlier overflow";
		return -1;
	}
	if (s->has_last && f->timestamp < s->last_ts) {
		s->acc.stale++;
		*outcome = LEDGER_STALE;
		return 0;
	}
	if (s->has_last && f->timestamp == s->last_ts && f->id[0] != '\0' && id_seen(s, f->id)) {
		s->acc.dups++;
		*outcome = LEDGER_DUPLICATE;
		return 0;
	}
	memset(&d, 0, sizeof(d));
	d.ts = f->timestamp;
	d.f = f;
	if (book(l, s, f, &d, errstr) == -1)
		return -1;
	if (acc_apply(&s->acc, &d) == -1 || acc_apply(&l->quotes[s->quote].acc, &d) == -1 ||
	    bucket_apply(bucket_get(l, f->timestamp, s->quote), &d) == -1) {
		s->broken = true;
		*errstr = "total out of range";
		return -1;
	}
	cursor_advance(s, f);
	*outcome = LEDGER_APPLIED;
	return 0;
}

size_t
ledger_nsymbols(const struct ledger *l)
{
	return l->nsyms;
}

static void
stats_of_acc(const struct acc *a, struct ledger_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->realized_pnl = a->realized;
	out->closed_basis = a->basis;
	out->volume_base = a->vol_base;
	out->volume_quote = a->vol_quote;
	out->fees_quote = a->fees_quote;
	out->gross_win = a->gross_win;
	out->gross_loss = a->gross_loss;
	out->unmatched_sell_qty = a->unmatched;
	out->trades = a->trades;
	out->wins = a->wins;
	out->losses = a->losses;
	out->duplicates = a->dups;
	out->stale = a->stale;
	out->first_fill = a->first;
	out->last_fill = a->last;
	out->fees = a->fees.v;
	out->nfees = a->fees.n;
	out->fees_unconverted = a->unconv.v;
	out->nfees_unconverted = a->unconv.n;
}

/* Adds s's open position to out's open fields. */
static int
add_open(const struct sym *s, struct ledger_stats *out)
{
	if (s->nlots == 0)
		return 0;
	if (s->is_short)
		return add(&out->open_short_qty, s->open_qty) || add(&out->open_short_proceeds, s->open_value);
	return add(&out->open_long_qty, s->open_qty) || add(&out->open_long_cost, s->open_value);
}

void
ledger_symbol_stats(const struct ledger *l, size_t i, struct ledger_stats *out)
{
	const struct sym *s;

	if (i >= l->nsyms)
		fatalx("ledger_symbol_stats: %zu of %zu", i, l->nsyms);
	s = l->syms[i];
	stats_of_acc(&s->acc, out);
	out->name = s->name;
	out->quote = l->quotes[s->quote].name;
	(void)add_open(s, out);		/* from zero: cannot overflow */
}

size_t
ledger_nquotes(const struct ledger *l)
{
	return l->nquotes;
}

int
ledger_quote_stats(const struct ledger *l, size_t i, struct ledger_stats *out)
{
	if (i >= l->nquotes)
		fatalx("ledger_quote_stats: %zu of %zu", i, l->nquotes);
	stats_of_acc(&l->quotes[i].acc, out);
	out->name = out->quote = l->quotes[i].name;
	for (size_t k = 0; k < l->nsyms; k++) {
		const struct sym *s = l->syms[k];
		if (s->quote != i)
			continue;
		out->duplicates += s->acc.dups;
		out->stale += s->acc.stale;
		if (add_open(s, out))
			return -1;
	}
	return 0;
}

size_t
ledger_nbuckets(const struct ledger *l)
{
	return l->nbuckets;
}

void
ledger_bucket(const struct ledger *l, size_t i, struct ledger_bucket *out)
{
	const struct bucket *b;

	if (i >= l->nbuckets)
		fatalx("ledger_bucket: %zu of %zu", i, l->nbuckets);
	b = &l->buckets[i];
	out->hour = b->hour;
	out->quote = l->quotes[b->quote].name;
	out->trades = b->trades;
	out->volume_base = b->vol_base;
	out->volume_quote = b->vol_quote;
	out->fees_quote = b->fees_quote;
	out->realized_pnl = b->realized;
	out->closed_basis = b->basis;
}

int
ledger_mark(const struct ledger *l, const char *symbol, struct dec price, struct dec *unrealized)
{
	const struct sym *s = sym_find(l, symbol);
	struct dec mv;

	*unrealized = DEC_ZERO;
	if (s == NULL || s->nlots == 0)
		return 0;
	if (dec_mul(&mv, s->open_qty, price) == -1)
		return -1;
	return s->is_short ? dec_sub(unrealized, s->open_value, mv) : dec_sub(unrealized, mv, s->open_value);
}

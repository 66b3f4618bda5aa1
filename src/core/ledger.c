#include "core/ledger.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/pack.h"
#include "util/log.h"
#include "util/xalloc.h"

#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define NONE UINT32_MAX

struct lot {
	struct dec qty;
	struct dec value;		/* cost of a long lot, proceeds of a short one,
					 * without third-currency fees */
	uint32_t tf;			/* the opening fill's first third-currency fee, or NONE */
};

struct amounts {
	struct ledger_amount *v;
	uint64_t *cnt;			/* how many fees each sums (pending amounts) */
	size_t n, cap;
};

/* What symbols and quote currencies accumulate. */
struct acc {
	struct dec realized, basis, vol_base, vol_quote, fees_quote;
	struct dec gross_win, gross_loss, unmatched;
	uint64_t trades, wins, losses, dups, stale, fees_pending, trips_pending;
	int64_t first, last;
	struct amounts fees, unconv;
};

/*
 * A third-currency fee of one fill (ledger.h, Fees). Its X units are given
 * out in order: first the parts of the fill's value spent on closed lots,
 * then (pos onwards) the lot the fill opened, which releases them pro rata.
 * Kept while pending, on an open lot, or owed to a pending part.
 */
struct tfee {
	char cur[FILL_CUR_MAX];
	uint32_t sym;			/* index into ledger.syms */
	uint32_t conv;			/* index into ledger.convs */
	uint32_t next;			/* the fill's next fee, or the next free slot; NONE ends */
	uint32_t refs;			/* pending parts owed to round trips */
	int64_t ts;			/* the fill's */
	struct dec amount;		/* the fee, in cur */
	struct dec pos;			/* cur units given out so far */
	struct dec num, den;		/* the rate, once resolved */
	bool used, resolved, on_lot, lot_short;
};

/* A part [from, to] (cumulative cur units) of a pending fee, released by a
 * close: when converted it reduces the round trip's PnL by C(to) - C(from)
 * and moves the closed basis by basis_sign times that. */
struct part {
	uint32_t tf, trip;
	int basis_sign;			/* +1 long lot cost, -1 short lot proceeds, 0 the closing fill */
	struct dec from, to;
};

/* A round trip (closing fill) with pending parts: it is classified as a win
 * or a loss once they are all converted. */
struct trip {
	uint32_t sym, pending, next;	/* next: free list */
	int64_t ts;
	struct dec realized;
};

/* Third-currency fees by (currency, quote currency). */
struct conv {
	char cur[FILL_CUR_MAX];
	size_t quote;
	struct dec total, converted, converted_quote, pending;
	uint64_t fills, pending_fills;
};

struct sym {
	char name[FILL_SYMBOL_MAX];
	char base[FILL_CUR_MAX];
	size_t quote;			/* index into ledger.quotes */
	uint32_t idx;			/* its own index in ledger.syms */
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
	struct tfee *tfees;
	uint32_t ntfees, captfees, tfree;
	uint32_t *unres;		/* the pending fees, oldest first */
	size_t nunres, capunres;
	struct part *parts;		/* released parts of pending fees */
	size_t nparts, capparts;
	struct trip *trips;
	uint32_t ntrips, captrips, trfree;
	struct conv *convs;
	size_t nconvs;
};

/* The effect of one fill, added to its symbol, quote currency and hour. */
struct delta {
	int64_t ts;
	struct dec realized, basis, vol_base, vol_quote, fees_quote, unmatched;
	bool closed;			/* a round trip */
	const struct fill *f;
	struct ledger_amount unconv[FILL_FEES_MAX];
	size_t nunconv;
	uint32_t tf[FILL_FEES_MAX];	/* the fill's third-currency fees (tfees) */
	uint32_t trip;			/* its pending round trip, or NONE */
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
	l->tfree = l->trfree = NONE;
	return l;
}

static void
amounts_free(struct amounts *a)
{
	free(a->v);
	free(a->cnt);
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
	free(l->tfees);
	free(l->unres);
	free(l->parts);
	free(l->trips);
	free(l->convs);
	free(l);
}

void
ledger_set_oversell(struct ledger *l, enum ledger_oversell policy)
{
	l->oversell = policy;
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
	s->idx = (uint32_t)l->nsyms;
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
lot_push(struct sym *s, bool is_short, struct dec qty, struct dec value, uint32_t tf)
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
	s->lots[(s->head + s->nlots) & (s->cap - 1)] = (struct lot){ qty, value, tf };
	s->nlots++;
	s->is_short = is_short;
	return 0;
}

/* ---- third-currency fees: records ---- */

/* C(x): x units of t's currency in the quote, rounded once. */
static int
conv_of(const struct tfee *t, struct dec x, struct dec *out)
{
	return dec_muldiv(out, x, t->num, t->den);
}

/* C(to) - C(from): the value of the part [from, to] of t. */
static int
part_value(const struct tfee *t, struct dec from, struct dec to, struct dec *out)
{
	struct dec a, b;

	if (conv_of(t, from, &a) == -1 || conv_of(t, to, &b) == -1)
		return -1;
	return dec_sub(out, b, a);
}

static uint32_t
tfee_new(struct ledger *l)
{
	uint32_t i;

	if (l->tfree != NONE) {
		i = l->tfree;
		l->tfree = l->tfees[i].next;
	} else {
		if (l->ntfees == l->captfees) {
			if (l->captfees >= NONE / 2)
				fatalx("ledger: too many third-currency fees");
			l->captfees = l->captfees ? 2 * l->captfees : 16;
			l->tfees = xreallocarray(l->tfees, l->captfees, sizeof(*l->tfees));
		}
		i = l->ntfees++;
	}
	memset(&l->tfees[i], 0, sizeof(l->tfees[i]));
	l->tfees[i].used = true;
	l->tfees[i].next = NONE;
	return i;
}

/* Frees t once nothing needs it: converted, off its lot, no part owed. */
static void
tfee_release(struct ledger *l, uint32_t i)
{
	struct tfee *t = &l->tfees[i];

	if (!t->resolved || t->on_lot || t->refs > 0)
		return;
	t->used = false;
	t->next = l->tfree;
	l->tfree = i;
}

static uint32_t
trip_new(struct ledger *l, uint32_t sym, int64_t ts)
{
	uint32_t i;

	if (l->trfree != NONE) {
		i = l->trfree;
		l->trfree = l->trips[i].next;
	} else {
		if (l->ntrips == l->captrips) {
			if (l->captrips >= NONE / 2)
				fatalx("ledger: too many pending round trips");
			l->captrips = l->captrips ? 2 * l->captrips : 16;
			l->trips = xreallocarray(l->trips, l->captrips, sizeof(*l->trips));
		}
		i = l->ntrips++;
	}
	l->trips[i] = (struct trip){ .sym = sym, .next = NONE, .ts = ts };
	return i;
}

static size_t
conv_index(struct ledger *l, const char *cur, size_t quote)
{
	for (size_t i = 0; i < l->nconvs; i++)
		if (l->convs[i].quote == quote && strcmp(l->convs[i].cur, cur) == 0)
			return i;
	l->convs = xreallocarray(l->convs, l->nconvs + 1, sizeof(*l->convs));
	memset(&l->convs[l->nconvs], 0, sizeof(l->convs[0]));
	strcpy(l->convs[l->nconvs].cur, cur);
	l->convs[l->nconvs].quote = quote;
	return l->nconvs++;
}

/* Records a pending part [from, from + piece] of fee tf for d's round trip. */
static void
part_add(struct ledger *l, struct delta *d, const struct sym *s, uint32_t tf, int basis_sign,
    struct dec from, struct dec to)
{
	if (d->trip == NONE)
		d->trip = trip_new(l, s->idx, d->ts);
	if (l->nparts == l->capparts) {
		l->capparts = l->capparts ? 2 * l->capparts : 16;
		l->parts = xreallocarray(l->parts, l->capparts, sizeof(*l->parts));
	}
	l->parts[l->nparts++] = (struct part){ tf, d->trip, basis_sign, from, to };
	l->tfees[tf].refs++;
	l->trips[d->trip].pending++;
}

/*
 * The third-currency fees of a lot losing take of its qty (all of it when
 * empties): each gives out its share of what the lot still holds. Converted
 * fees add their value to *lconv (signed as the lot's value moves: + for a
 * long lot's cost, - for a short lot's proceeds); pending ones owe a part.
 */
static int
lot_fee_parts(struct ledger *l, const struct sym *s, const struct lot *lot, struct dec take, bool empties,
    struct delta *d, struct dec *lconv)
{
	*lconv = DEC_ZERO;
	for (uint32_t i = lot->tf, next; i != NONE; i = next) {
		struct tfee *t = &l->tfees[i];
		struct dec left, piece, to, v;

		next = t->next;		/* tfee_release() reuses the link */

		if (dec_sub(&left, t->amount, t->pos) == -1)
			return -1;
		if (empties)
			piece = left;
		else if (dec_muldiv(&piece, left, take, lot->qty) == -1)
			return -1;
		if (dec_add(&to, t->pos, piece) == -1)
			return -1;
		if (t->resolved) {
			if (part_value(t, t->pos, to, &v) == -1 ||
			    (s->is_short ? sub(lconv, v) : add(lconv, v)))
				return -1;
		} else {
			part_add(l, d, s, i, s->is_short ? -1 : 1, t->pos, to);
			t = &l->tfees[i];
		}
		t->pos = to;
		if (empties) {
			t->on_lot = false;
			tfee_release(l, i);
		}
	}
	return 0;
}

/* The closing fill's own fees: a share take/qty of each (the rest when last),
 * owed to this round trip (they are never converted yet). */
static int
fill_fee_parts(struct ledger *l, const struct sym *s, struct delta *d, struct dec take, struct dec qty,
    bool last)
{
	for (size_t k = 0; k < d->nunconv; k++) {
		struct tfee *t = &l->tfees[d->tf[k]];
		struct dec piece, to;

		if (last) {
			if (dec_sub(&piece, t->amount, t->pos) == -1)
				return -1;
		} else if (dec_muldiv(&piece, t->amount, take, qty) == -1)
			return -1;
		if (dec_add(&to, t->pos, piece) == -1)
			return -1;
		part_add(l, d, s, d->tf[k], 0, t->pos, to);
		l->tfees[d->tf[k]].pos = to;
	}
	return 0;
}

/*
 * Closes up to *rem units of the open position against a fill whose value for
 * qty units is value. *rem and *vrem (the fill value not yet used) shrink by
 * what was closed. Realized PnL and basis go into d.
 */
static int
close_lots(struct ledger *l, struct sym *s, struct dec qty, struct dec value, struct dec *rem, struct dec *vrem,
    struct delta *d)
{
	while (s->nlots > 0 && dec_sign(*rem) > 0) {
		struct lot *lot = lot_front(s);
		struct dec take, lpart, fpart, lval, pnl, lconv;
		bool empties = dec_cmp(lot->qty, *rem) <= 0, last;

		take = empties ? lot->qty : *rem;
		last = dec_cmp(take, *rem) == 0;
		if (empties)
			lpart = lot->value;
		else if (dec_muldiv(&lpart, lot->value, take, lot->qty) == -1)
			return -1;
		if (last)
			fpart = *vrem;
		else if (dec_muldiv(&fpart, value, take, qty) == -1)
			return -1;
		if (lot_fee_parts(l, s, lot, take, empties, d, &lconv) == -1 ||
		    fill_fee_parts(l, s, d, take, qty, last) == -1)
			return -1;
		lot = lot_front(s);
		/* long: proceeds - cost; short: proceeds (lot) - cost (fill) */
		if (dec_add(&lval, lpart, lconv) == -1 ||
		    dec_sub(&pnl, s->is_short ? lval : fpart, s->is_short ? fpart : lval) == -1 ||
		    add(&d->realized, pnl) || add(&d->basis, lval) ||
		    sub(rem, take) || sub(vrem, fpart) ||
		    sub(&s->open_qty, take) || sub(&s->open_value, lval))
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

/* Sorts the fill's fees into quote, base and third-currency ones (d->unconv). */
static int
sort_fees(const struct fill *f, struct dec *fee_q, struct dec *fee_b, struct delta *d)
{
	*fee_q = *fee_b = DEC_ZERO;
	for (size_t i = 0; i < f->nfees; i++) {
		const struct fill_fee *fee = &f->fees[i];

		if (strcmp(fee->currency, f->quote) == 0) {
			if (add(fee_q, fee->cost))
				return -1;
		} else if (strcmp(fee->currency, f->base) == 0) {
			if (add(fee_b, fee->cost))
				return -1;
		} else if (!dec_is_zero(fee->cost)) {
			struct ledger_amount *u = &d->unconv[d->nunconv++];
			strcpy(u->currency, fee->currency);
			u->amount = fee->cost;
		}
	}
	return 0;
}

/* Records d's third-currency fees as pending tfees, chained in fill order. */
static int
fees_record(struct ledger *l, const struct sym *s, struct delta *d)
{
	for (size_t k = 0; k < d->nunconv; k++) {
		uint32_t i = tfee_new(l);
		struct tfee *t = &l->tfees[i];
		struct conv *c;

		strcpy(t->cur, d->unconv[k].currency);
		t->sym = s->idx;
		t->conv = (uint32_t)conv_index(l, t->cur, s->quote);
		t->ts = d->ts;
		t->amount = d->unconv[k].amount;
		d->tf[k] = i;
		c = &l->convs[t->conv];
		if (add(&c->total, t->amount) || add(&c->pending, t->amount))
			return -1;
		c->fills++;
		c->pending_fills++;
		if (l->nunres == l->capunres) {
			l->capunres = l->capunres ? 2 * l->capunres : 16;
			l->unres = xreallocarray(l->unres, l->capunres, sizeof(*l->unres));
		}
		l->unres[l->nunres++] = i;
	}
	for (size_t k = 0; k + 1 < d->nunconv; k++)
		l->tfees[d->tf[k]].next = d->tf[k + 1];
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
		a->cnt = xreallocarray(a->cnt, a->cap, sizeof(*a->cnt));
	}
	strcpy(a->v[a->n].currency, cur);
	a->v[a->n].amount = v;
	a->cnt[a->n++] = 0;
	return 0;
}

/* Adds (dn = 1) or takes away (dn = -1) one pending fee v in cur; an entry
 * with no fee left goes (so a fee and a rebate summing to 0 still show). */
static int
pending_add(struct amounts *a, const char *cur, struct dec v, int dn)
{
	size_t i;

	if (amounts_add(a, cur, v) == -1)
		return -1;
	for (i = 0; strcmp(a->v[i].currency, cur) != 0; i++)
		;
	a->cnt[i] += (uint64_t)(int64_t)dn;
	if (a->cnt[i] == 0) {
		memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(*a->v));
		memmove(&a->cnt[i], &a->cnt[i + 1], (a->n - i - 1) * sizeof(*a->cnt));
		a->n--;
	}
	return 0;
}

/* A complete round trip with PnL pnl: a win, a loss, or neither at 0. */
static int
classify(struct acc *a, struct dec pnl)
{
	int sign = dec_sign(pnl);

	if (sign > 0) {
		a->wins++;
		return add(&a->gross_win, pnl);
	}
	if (sign < 0) {
		a->losses++;
		return add(&a->gross_loss, pnl);
	}
	return 0;
}

static int
acc_apply(struct acc *a, const struct delta *d)
{
	if (add(&a->realized, d->realized) || add(&a->basis, d->basis) ||
	    add(&a->vol_base, d->vol_base) || add(&a->vol_quote, d->vol_quote) ||
	    add(&a->fees_quote, d->fees_quote) || add(&a->unmatched, d->unmatched))
		return -1;
	/* a round trip waiting for fees is classified when they are converted */
	if (d->closed && d->trip != NONE)
		a->trips_pending++;
	else if (d->closed && classify(a, d->realized) == -1)
		return -1;
	for (size_t i = 0; i < d->f->nfees; i++)
		if (amounts_add(&a->fees, d->f->fees[i].currency, d->f->fees[i].cost))
			return -1;
	for (size_t i = 0; i < d->nunconv; i++)
		if (pending_add(&a->unconv, d->unconv[i].currency, d->unconv[i].amount, 1))
			return -1;
	a->fees_pending += d->nunconv;
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

static int64_t
day_of(int64_t ts)
{
	int64_t d = ts / DAY_MS;

	if (ts % DAY_MS < 0)
		d--;
	return d;
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
	if (fill_cost(f, &cost) == -1 || sort_fees(f, &fee_q, &fee_b, d) == -1 ||
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
	if (fees_record(l, s, d) == -1)
		goto broken;
	rem = qty;
	vrem = value;
	/* a buy closes shorts, a sell closes longs */
	if (s->nlots > 0 && s->is_short == (f->side == FILL_BUY) &&
	    close_lots(l, s, qty, value, &rem, &vrem, d) == -1)
		goto broken;
	if (dec_sign(rem) == 0)
		return 0;
	if (f->side == FILL_BUY || policy_of(l, s) == LEDGER_OVERSELL_SHORT) {
		/* what is left of the fill's third-currency fees goes with its lot */
		for (size_t k = 0; k < d->nunconv; k++) {
			l->tfees[d->tf[k]].on_lot = true;
			l->tfees[d->tf[k]].lot_short = f->side == FILL_SELL;
		}
		if (lot_push(s, f->side == FILL_SELL, rem, vrem, d->nunconv > 0 ? d->tf[0] : NONE) == -1)
			goto broken;
		return 0;
	}
	switch (policy_of(l, s)) {
	case LEDGER_OVERSELL_ZERO_COST:
		d->closed = true;
		if (add(&d->realized, vrem) || add(&d->unmatched, rem) ||
		    fill_fee_parts(l, s, d, rem, rem, true) == -1)
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
	d.trip = NONE;
	if (book(l, s, f, &d, errstr) == -1)
		return -1;
	if (d.trip != NONE)
		l->trips[d.trip].realized = d.realized;
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
	out->fees_pending = a->fees_pending;
	out->trips_pending = a->trips_pending;
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

/* ---- third-currency fees: conversion ---- */

/* Converts fee i at num/den (ledger.h, Fees): its value into fees_quote, and
 * the part still on its lot into the open cost or proceeds. */
static int
fee_convert(struct ledger *l, uint32_t i, struct dec num, struct dec den)
{
	struct tfee *t = &l->tfees[i];
	struct sym *s = l->syms[t->sym];
	struct acc *qa = &l->quotes[s->quote].acc;
	struct conv *c = &l->convs[t->conv];
	struct bucket *b;
	struct dec all, done, open, neg;

	/* checked before anything moves: the most negative amount has no
	 * negation */
	if (dec_neg(&neg, t->amount) == -1)
		return -1;
	t->num = num;
	t->den = den;
	if (conv_of(t, t->amount, &all) == -1)
		return -1;
	if (t->on_lot && (conv_of(t, t->pos, &done) == -1 || dec_sub(&open, all, done) == -1 ||
	    (t->lot_short ? sub(&s->open_value, open) : add(&s->open_value, open))))
		return -1;
	b = bucket_get(l, t->ts, s->quote);
	if (add(&s->acc.fees_quote, all) || add(&qa->fees_quote, all) || add(&b->fees_quote, all) ||
	    add(&c->converted, t->amount) || sub(&c->pending, t->amount) || add(&c->converted_quote, all))
		return -1;
	if (pending_add(&s->acc.unconv, t->cur, neg, -1) || pending_add(&qa->unconv, t->cur, neg, -1))
		return -1;
	c->pending_fills--;
	s->acc.fees_pending--;
	qa->fees_pending--;
	t->resolved = true;
	return 0;
}

/* Converts part p of a converted fee into its round trip, which is
 * classified once its last part is in. */
static int
part_convert(struct ledger *l, const struct part *p)
{
	struct tfee *t = &l->tfees[p->tf];
	struct trip *tr = &l->trips[p->trip];
	struct sym *s = l->syms[tr->sym];
	struct acc *qa = &l->quotes[s->quote].acc;
	struct bucket *b = bucket_get(l, tr->ts, s->quote);
	struct dec v, basis;

	if (part_value(t, p->from, p->to, &v) == -1)
		return -1;
	basis = p->basis_sign > 0 ? v : DEC_ZERO;
	if (p->basis_sign < 0 && dec_neg(&basis, v) == -1)
		return -1;
	if (sub(&tr->realized, v) || sub(&s->acc.realized, v) || sub(&qa->realized, v) || sub(&b->realized, v) ||
	    add(&s->acc.basis, basis) || add(&qa->basis, basis) || add(&b->basis, basis))
		return -1;
	t->refs--;
	tfee_release(l, p->tf);
	if (--tr->pending > 0)
		return 0;
	s->acc.trips_pending--;
	qa->trips_pending--;
	if (classify(&s->acc, tr->realized) == -1 || classify(qa, tr->realized) == -1)
		return -1;
	tr->next = l->trfree;
	l->trfree = p->trip;
	return 0;
}

int
ledger_resolve_fees(struct ledger *l, ledger_rate_fn rate, void *arg, size_t *converted,
    const char **errstr)
{
	struct dec num, den;
	const struct tfee *last = NULL;
	int last_rc = -1, rc = 0;
	size_t k = 0, n = 0;

	for (size_t i = 0; i < l->nunres; i++) {
		uint32_t ti = l->unres[i];
		const struct tfee *t = &l->tfees[ti];
		struct sym *s = l->syms[t->sym];
		int64_t day = day_of(t->ts);

		/* fees come mostly day by day: ask once per (currency, symbol quote, day) */
		if (last == NULL || strcmp(last->cur, t->cur) != 0 || l->syms[last->sym]->quote != s->quote ||
		    day_of(last->ts) != day)
			last_rc = rate(arg, t->cur, l->quotes[s->quote].name, day, &num, &den);
		last = t;
		if (last_rc != 0 || s->broken) {
			l->unres[k++] = ti;
			continue;
		}
		if (dec_sign(num) <= 0 || dec_sign(den) <= 0) {
			*errstr = "a fee rate must be positive";
			rc = -1;
			l->unres[k++] = ti;
			continue;
		}
		if (fee_convert(l, ti, num, den) == -1) {
			s->broken = true;
			*errstr = "converting a fee overflows";
			rc = -1;
			l->unres[k++] = ti;
			continue;
		}
		n++;
	}
	l->nunres = k;
	k = 0;
	for (size_t i = 0; i < l->nparts; i++) {
		const struct part *p = &l->parts[i];
		struct sym *s = l->syms[l->trips[p->trip].sym];

		if (!l->tfees[p->tf].resolved || s->broken) {
			l->parts[k++] = *p;
			continue;
		}
		if (part_convert(l, p) == -1) {
			s->broken = true;
			*errstr = "converting a fee overflows";
			rc = -1;
		}
	}
	l->nparts = k;
	if (converted != NULL)
		*converted = n;
	return rc;
}

uint64_t
ledger_fees_pending(const struct ledger *l)
{
	return l->nunres;
}

size_t
ledger_nconversions(const struct ledger *l)
{
	return l->nconvs;
}

void
ledger_conversion(const struct ledger *l, size_t i, struct ledger_conversion *out)
{
	const struct conv *c;
	bool any = false;

	if (i >= l->nconvs)
		fatalx("ledger_conversion: %zu of %zu", i, l->nconvs);
	c = &l->convs[i];
	memset(out, 0, sizeof(*out));
	out->currency = c->cur;
	out->quote = l->quotes[c->quote].name;
	out->total = c->total;
	out->converted = c->converted;
	out->converted_quote = c->converted_quote;
	out->pending = c->pending;
	out->fills = c->fills;
	out->pending_fills = c->pending_fills;
	for (size_t k = 0; k < l->nunres; k++) {
		const struct tfee *t = &l->tfees[l->unres[k]];
		if (t->conv != i)
			continue;
		if (!any || t->ts < out->pending_first)
			out->pending_first = t->ts;
		if (!any || t->ts > out->pending_last)
			out->pending_last = t->ts;
		any = true;
	}
}

/* ---- checkpoints ---- */

#define CK_VERSION 1
/* The slot arrays of a loaded ledger stay where tfee_new() and trip_new()
 * may still double them. */
#define CK_SLOTS_MAX (NONE / 4)
/* Least bytes of one saved item, so unpack_count() bounds a count by the
 * bytes left (a string is at least its u32 length). */
#define CK_AMOUNT_MIN (4 + 16)
#define CK_ACC_MIN (8 * 16 + 7 * 8 + 2 * 8 + 2 * 4)
#define CK_QUOTE_MIN (4 + CK_ACC_MIN)
#define CK_LOT_MIN (16 + 16 + 4)
#define CK_SYM_MIN (4 + 4 + 4 + 3 + 2 * 16 + 4 + 1 + 8 + 4 + CK_ACC_MIN)
#define CK_BUCKET_MIN (8 + 4 + 8 + 5 * 16)
#define CK_CONV_MIN (4 + 4 + 4 * 16 + 2 * 8)
#define CK_SLOT_MIN (1 + 4)
#define CK_PART_MIN (4 + 4 + 1 + 2 * 16)

static void
save_amounts(struct pack *w, const struct amounts *a, bool counts)
{
	pack_u32(w, (uint32_t)a->n);
	for (size_t i = 0; i < a->n; i++) {
		pack_str(w, a->v[i].currency);
		pack_dec(w, a->v[i].amount);
		if (counts)
			pack_u64(w, a->cnt[i]);
	}
}

static void
save_acc(struct pack *w, const struct acc *a)
{
	const struct dec d[] = { a->realized, a->basis, a->vol_base, a->vol_quote, a->fees_quote,
	    a->gross_win, a->gross_loss, a->unmatched };
	const uint64_t u[] = { a->trades, a->wins, a->losses, a->dups, a->stale, a->fees_pending,
	    a->trips_pending };

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		pack_dec(w, d[i]);
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		pack_u64(w, u[i]);
	pack_i64(w, a->first);
	pack_i64(w, a->last);
	save_amounts(w, &a->fees, false);
	/* the pending amounts carry how many fees each sums: an entry goes
	 * when its count reaches 0, not when its amount does */
	save_amounts(w, &a->unconv, true);
}

/* One symbol: its lots in FIFO order (the ring's head and capacity are not
 * state), its cursor and its totals. */
static void
save_sym(struct pack *w, const struct sym *s)
{
	pack_str(w, s->name);
	pack_str(w, s->base);
	pack_u32(w, (uint32_t)s->quote);
	pack_u8(w, (uint8_t)s->market);
	pack_bool(w, s->broken);
	pack_bool(w, s->is_short);
	pack_dec(w, s->open_qty);
	pack_dec(w, s->open_value);
	pack_u32(w, (uint32_t)s->nlots);
	for (size_t i = 0; i < s->nlots; i++) {
		const struct lot *lot = &s->lots[(s->head + i) & (s->cap - 1)];
		pack_dec(w, lot->qty);
		pack_dec(w, lot->value);
		pack_u32(w, lot->tf);
	}
	pack_bool(w, s->has_last);
	pack_i64(w, s->last_ts);
	pack_u32(w, (uint32_t)s->nids);
	for (size_t i = 0; i < s->nids; i++)
		pack_str(w, s->ids[i]);
	save_acc(w, &s->acc);
}

/*
 * Fee and trip slots are saved verbatim, free ones as their free-list link
 * only: which slot the next fee or trip takes is then the same after a load
 * as before, so a loaded ledger saves byte for byte what the original would
 * have saved after the same fills.
 */
static void
save_fees(struct pack *w, const struct ledger *l)
{
	pack_u32(w, l->ntfees);
	pack_u32(w, l->tfree);
	for (uint32_t i = 0; i < l->ntfees; i++) {
		const struct tfee *t = &l->tfees[i];

		pack_bool(w, t->used);
		pack_u32(w, t->next);
		if (!t->used)
			continue;
		pack_str(w, t->cur);
		pack_u32(w, t->sym);
		pack_u32(w, t->conv);
		pack_u32(w, t->refs);
		pack_i64(w, t->ts);
		pack_dec(w, t->amount);
		pack_dec(w, t->pos);
		pack_bool(w, t->resolved);
		if (t->resolved) {
			pack_dec(w, t->num);
			pack_dec(w, t->den);
		}
		pack_bool(w, t->on_lot);
		pack_bool(w, t->lot_short);
	}
	pack_u32(w, (uint32_t)l->nunres);
	for (size_t i = 0; i < l->nunres; i++)
		pack_u32(w, l->unres[i]);
}

static void
save_trips(struct pack *w, const struct ledger *l)
{
	bool *isfree = xcalloc(l->ntrips + 1, sizeof(*isfree));

	/* a trip has no used flag: it is free when on the free list */
	for (uint32_t i = l->trfree; i != NONE; i = l->trips[i].next)
		isfree[i] = true;
	pack_u32(w, l->ntrips);
	pack_u32(w, l->trfree);
	for (uint32_t i = 0; i < l->ntrips; i++) {
		const struct trip *tr = &l->trips[i];

		pack_bool(w, isfree[i]);
		if (isfree[i]) {
			pack_u32(w, tr->next);
			continue;
		}
		pack_u32(w, tr->sym);
		pack_u32(w, tr->pending);
		pack_i64(w, tr->ts);
		pack_dec(w, tr->realized);
	}
	free(isfree);
	pack_u32(w, (uint32_t)l->nparts);
	for (size_t i = 0; i < l->nparts; i++) {
		const struct part *p = &l->parts[i];
		pack_u32(w, p->tf);
		pack_u32(w, p->trip);
		pack_u8(w, (uint8_t)(p->basis_sign + 1));
		pack_dec(w, p->from);
		pack_dec(w, p->to);
	}
}

void
ledger_save(const struct ledger *l, struct pack *w)
{
	pack_u8(w, CK_VERSION);
	pack_u8(w, (uint8_t)l->oversell);
	pack_u32(w, (uint32_t)l->nquotes);
	for (size_t i = 0; i < l->nquotes; i++) {
		pack_str(w, l->quotes[i].name);
		save_acc(w, &l->quotes[i].acc);
	}
	pack_u32(w, (uint32_t)l->nsyms);
	for (size_t i = 0; i < l->nsyms; i++)
		save_sym(w, l->syms[i]);
	pack_u32(w, (uint32_t)l->nbuckets);
	for (size_t i = 0; i < l->nbuckets; i++) {
		const struct bucket *b = &l->buckets[i];
		pack_i64(w, b->hour);
		pack_u32(w, (uint32_t)b->quote);
		pack_u64(w, b->trades);
		pack_dec(w, b->vol_base);
		pack_dec(w, b->vol_quote);
		pack_dec(w, b->fees_quote);
		pack_dec(w, b->realized);
		pack_dec(w, b->basis);
	}
	pack_u32(w, (uint32_t)l->nconvs);
	for (size_t i = 0; i < l->nconvs; i++) {
		const struct conv *c = &l->convs[i];
		pack_str(w, c->cur);
		pack_u32(w, (uint32_t)c->quote);
		pack_dec(w, c->total);
		pack_dec(w, c->converted);
		pack_dec(w, c->converted_quote);
		pack_dec(w, c->pending);
		pack_u64(w, c->fills);
		pack_u64(w, c->pending_fills);
	}
	save_fees(w, l);
	save_trips(w, l);
}

/* The reader's reads fill arrays that are sized and counted before they
 * are read, so whatever fails, ledger_free() frees exactly what is there;
 * values are checked once everything is in (check_ledger). */
static void
load_amounts(struct unpack *r, struct amounts *a, bool counts)
{
	size_t n = unpack_count(r, CK_AMOUNT_MIN + (counts ? 8 : 0), UINT32_MAX);

	if (n == 0)
		return;
	a->v = xcalloc(n, sizeof(*a->v));
	a->cnt = xcalloc(n, sizeof(*a->cnt));
	a->n = a->cap = n;
	for (size_t i = 0; i < n; i++) {
		unpack_str(r, a->v[i].currency, sizeof(a->v[i].currency));
		a->v[i].amount = unpack_dec(r);
		if (counts)
			a->cnt[i] = unpack_u64(r);
	}
}

static void
load_acc(struct unpack *r, struct acc *a)
{
	struct dec *d[] = { &a->realized, &a->basis, &a->vol_base, &a->vol_quote, &a->fees_quote,
	    &a->gross_win, &a->gross_loss, &a->unmatched };
	uint64_t *u[] = { &a->trades, &a->wins, &a->losses, &a->dups, &a->stale, &a->fees_pending,
	    &a->trips_pending };

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		*d[i] = unpack_dec(r);
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		*u[i] = unpack_u64(r);
	a->first = unpack_i64(r);
	a->last = unpack_i64(r);
	load_amounts(r, &a->fees, false);
	load_amounts(r, &a->unconv, true);
}

/* A pending amount is removed when its count reaches 0. */
static bool
amounts_ok(const struct amounts *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->cnt[i] == 0 || a->v[i].currency[0] == '\0')
			return false;
	return true;
}

/* Reads symbol number l->nsyms into the table. Returns 0, or -1 when the
 * reader went bad or (with *errstr) the name is empty or repeated. */
static int
load_sym(struct unpack *r, struct ledger *l, const char **errstr)
{
	struct sym *s = xcalloc(1, sizeof(*s));
	size_t n;

	/* owned by l from here on, so the failure path frees it */
	l->syms[l->nsyms] = s;
	s->idx = (uint32_t)l->nsyms++;
	unpack_str(r, s->name, sizeof(s->name));
	unpack_str(r, s->base, sizeof(s->base));
	s->quote = unpack_u32(r);
	s->market = (enum fill_market)unpack_u8(r);
	s->broken = unpack_bool(r);
	s->is_short = unpack_bool(r);
	s->open_qty = unpack_dec(r);
	s->open_value = unpack_dec(r);
	if ((n = unpack_count(r, CK_LOT_MIN, UINT32_MAX)) > 0) {
		s->cap = 4;
		while (s->cap < n)
			s->cap *= 2;
		s->lots = xcalloc(s->cap, sizeof(*s->lots));
		s->nlots = n;
		for (size_t i = 0; i < n; i++) {
			s->lots[i].qty = unpack_dec(r);
			s->lots[i].value = unpack_dec(r);
			s->lots[i].tf = unpack_u32(r);
		}
	}
	s->has_last = unpack_bool(r);
	s->last_ts = unpack_i64(r);
	if ((n = unpack_count(r, 4, UINT32_MAX)) > 0) {
		s->ids = xcalloc(n, sizeof(*s->ids));
		s->nids = s->capids = n;
		for (size_t i = 0; i < n; i++)
			unpack_str(r, s->ids[i], sizeof(s->ids[i]));
	}
	load_acc(r, &s->acc);
	if (!unpack_ok(r))
		return -1;
	if (s->name[0] == '\0' || s->base[0] == '\0' || sym_find(l, s->name) != NULL) {
		*errstr = "ledger checkpoint: a symbol without a name, or twice";
		return -1;
	}
	htab_insert(l->htab, l->hcap, s->name, s->idx);
	return 0;
}

static void
load_fees(struct unpack *r, struct ledger *l)
{
	size_t n = unpack_count(r, CK_SLOT_MIN, CK_SLOTS_MAX);

	l->tfree = unpack_u32(r);
	if (n > 0) {
		l->tfees = xcalloc(n, sizeof(*l->tfees));
		l->ntfees = l->captfees = (uint32_t)n;
	}
	for (size_t i = 0; i < n; i++) {
		struct tfee *t = &l->tfees[i];

		t->used = unpack_bool(r);
		t->next = unpack_u32(r);
		if (!t->used)
			continue;
		unpack_str(r, t->cur, sizeof(t->cur));
		t->sym = unpack_u32(r);
		t->conv = unpack_u32(r);
		t->refs = unpack_u32(r);
		t->ts = unpack_i64(r);
		t->amount = unpack_dec(r);
		t->pos = unpack_dec(r);
		t->resolved = unpack_bool(r);
		if (t->resolved) {
			t->num = unpack_dec(r);
			t->den = unpack_dec(r);
		}
		t->on_lot = unpack_bool(r);
		t->lot_short = unpack_bool(r);
	}
	if ((n = unpack_count(r, 4, UINT32_MAX)) > 0) {
		l->unres = xcalloc(n, sizeof(*l->unres));
		l->nunres = l->capunres = n;
		for (size_t i = 0; i < n; i++)
			l->unres[i] = unpack_u32(r);
	}
}

/* *isfree (caller frees) gets which trip slots were saved free. */
static void
load_trips(struct unpack *r, struct ledger *l, bool **isfree)
{
	size_t n = unpack_count(r, CK_SLOT_MIN, CK_SLOTS_MAX);

	l->trfree = unpack_u32(r);
	*isfree = xcalloc(n + 1, sizeof(**isfree));
	if (n > 0) {
		l->trips = xcalloc(n, sizeof(*l->trips));
		l->ntrips = l->captrips = (uint32_t)n;
	}
	for (size_t i = 0; i < n; i++) {
		struct trip *tr = &l->trips[i];

		tr->next = NONE;
		if (((*isfree)[i] = unpack_bool(r))) {
			tr->next = unpack_u32(r);
			continue;
		}
		tr->sym = unpack_u32(r);
		tr->pending = unpack_u32(r);
		tr->ts = unpack_i64(r);
		tr->realized = unpack_dec(r);
	}
	if ((n = unpack_count(r, CK_PART_MIN, UINT32_MAX)) > 0) {
		l->parts = xcalloc(n, sizeof(*l->parts));
		l->nparts = l->capparts = n;
		for (size_t i = 0; i < n; i++) {
			struct part *p = &l->parts[i];
			uint8_t sign;

			p->tf = unpack_u32(r);
			p->trip = unpack_u32(r);
			sign = unpack_u8(r);
			if (sign > 2)
				unpack_fail(r);
			p->basis_sign = (int)sign - 1;
			p->from = unpack_dec(r);
			p->to = unpack_dec(r);
		}
	}
}

/* A timestamp whose hour hour_of() computes without overflow (converting a
 * fee finds the bucket of its fill's hour). */
static bool
ts_ok(int64_t ts)
{
	return ts >= INT64_MIN + HOUR_MS;
}

/* Marks of fee slots while checking (check_fees). */
#define MK_FREE 1u
#define MK_LOT 2u
#define MK_UNRES 4u

/* The fee records: free list, fields, lot chains, pending list. */
static const char *
check_fees(const struct ledger *l, uint8_t *mark)
{
	uint32_t nfree = 0, nused_free = 0;

	/* the free list visits exactly the unused slots, each once */
	for (uint32_t i = l->tfree; i != NONE; i = l->tfees[i].next) {
		if (i >= l->ntfees || l->tfees[i].used || (mark[i] & MK_FREE) != 0)
			return "ledger checkpoint: inconsistent fee free list";
		mark[i] |= MK_FREE;
		nfree++;
	}
	for (uint32_t i = 0; i < l->ntfees; i++) {
		const struct tfee *t = &l->tfees[i];

		if (!t->used) {
			nused_free++;
			continue;
		}
		/* the conversion negates the amount: the most negative raw value
		 * has no negation */
		if (t->cur[0] == '\0' || t->sym >= l->nsyms || t->conv >= l->nconvs ||
		    (t->next != NONE && t->next >= l->ntfees) || !ts_ok(t->ts) ||
		    (unsigned __int128)t->amount.raw == (unsigned __int128)1 << 127 ||
		    l->convs[t->conv].quote != l->syms[t->sym]->quote || strcmp(l->convs[t->conv].cur, t->cur) != 0 ||
		    (t->resolved && (dec_sign(t->num) <= 0 || dec_sign(t->den) <= 0)))
			return "ledger checkpoint: inconsistent fee";
	}
	if (nfree != nused_free)
		return "ledger checkpoint: inconsistent fee free list";
	/* each lot's chain: fees of its symbol, on a lot of its side, ending;
	 * and every fee on a lot is on exactly one chain. A symbol broken by an
	 * overflow midway may hold anything there, but its lots are never
	 * closed again (it refuses fills) and its fees never converted. */
	for (size_t k = 0; k < l->nsyms; k++) {
		const struct sym *s = l->syms[k];

		for (size_t j = 0; j < s->nlots && !s->broken; j++)
			for (uint32_t i = s->lots[j].tf; i != NONE; i = l->tfees[i].next) {
				const struct tfee *t;

				if (i >= l->ntfees || (mark[i] & MK_LOT) != 0)
					return "ledger checkpoint: inconsistent lot fees";
				t = &l->tfees[i];
				if (!t->used || !t->on_lot || t->sym != k || t->lot_short != s->is_short)
					return "ledger checkpoint: inconsistent lot fees";
				mark[i] |= MK_LOT;
			}
	}
	for (uint32_t i = 0; i < l->ntfees; i++)
		if (l->tfees[i].used && l->tfees[i].on_lot && (mark[i] & MK_LOT) == 0 &&
		    !l->syms[l->tfees[i].sym]->broken)
			return "ledger checkpoint: inconsistent lot fees";
	/* the pending list holds unconverted fees, each once, and all of them
	 * but those an overflow left out of it (broken symbol) */
	for (size_t k = 0; k < l->nunres; k++) {
		uint32_t i = l->unres[k];

		if (i >= l->ntfees || !l->tfees[i].used || l->tfees[i].resolved || (mark[i] & MK_UNRES) != 0)
			return "ledger checkpoint: inconsistent pending fees";
		mark[i] |= MK_UNRES;
	}
	for (uint32_t i = 0; i < l->ntfees; i++)
		if (l->tfees[i].used && !l->tfees[i].resolved && (mark[i] & MK_UNRES) == 0 &&
		    !l->syms[l->tfees[i].sym]->broken)
			return "ledger checkpoint: inconsistent pending fees";
	return NULL;
}

/* Round trips and parts. A part's fee and trip are its symbol's, and each
 * fee's refs and trip's pending count its parts: exactly, unless the
 * symbol broke (a part whose conversion overflowed is dropped). */
static const char *
check_trips(const struct ledger *l, const bool *isfree)
{
	uint64_t *refs = NULL, *pend = NULL;
	const char *err = "ledger checkpoint: inconsistent round trips";
	uint32_t nfree = 0, nsaved = 0;

	for (uint32_t i = l->trfree; i != NONE; i = l->trips[i].next) {
		/* a list longer than the slots runs in a cycle */
		if (i >= l->ntrips || !isfree[i] || nfree == l->ntrips)
			return err;
		nfree++;
	}
	for (uint32_t i = 0; i < l->ntrips; i++) {
		if (isfree[i])
			nsaved++;
		else if (l->trips[i].sym >= l->nsyms || !ts_ok(l->trips[i].ts))
			return err;
	}
	if (nfree != nsaved)
		return err;
	refs = xcalloc(l->ntfees + 1, sizeof(*refs));
	pend = xcalloc(l->ntrips + 1, sizeof(*pend));
	for (size_t k = 0; k < l->nparts; k++) {
		const struct part *p = &l->parts[k];
		const struct tfee *t;

		if (p->tf >= l->ntfees || p->trip >= l->ntrips || isfree[p->trip])
			goto fail;
		t = &l->tfees[p->tf];
		if (!t->used || t->sym != l->trips[p->trip].sym || (t->resolved && !l->syms[t->sym]->broken))
			goto fail;
		refs[p->tf]++;
		pend[p->trip]++;
	}
	for (uint32_t i = 0; i < l->ntfees; i++) {
		const struct tfee *t = &l->tfees[i];
		if (t->used && (l->syms[t->sym]->broken ? t->refs < refs[i] : t->refs != refs[i]))
			goto fail;
	}
	for (uint32_t i = 0; i < l->ntrips; i++) {
		const struct trip *tr = &l->trips[i];
		if (!isfree[i] && (l->syms[tr->sym]->broken ? tr->pending < pend[i] :
		    tr->pending != pend[i] || tr->pending == 0))
			goto fail;
	}
	err = NULL;
fail:
	free(refs);
	free(pend);
	return err;
}

static const char *
check_ledger(const struct ledger *l, const bool *tripfree)
{
	uint8_t *mark;
	const char *err;

	if (l->oversell > LEDGER_OVERSELL_SKIP)
		return "ledger checkpoint: unknown oversell policy";
	for (size_t i = 0; i < l->nquotes; i++) {
		if (l->quotes[i].name[0] == '\0' || !amounts_ok(&l->quotes[i].acc.unconv))
			return "ledger checkpoint: inconsistent quote currency";
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->quotes[i].name, l->quotes[j].name) == 0)
				return "ledger checkpoint: inconsistent quote currency";
	}
	for (size_t k = 0; k < l->nsyms; k++) {
		const struct sym *s = l->syms[k];
		struct dec sum = DEC_ZERO;

		if (s->quote >= l->nquotes || s->market > FILL_FUTURES || !amounts_ok(&s->acc.unconv) ||
		    (!s->has_last && s->nids > 0))
			return "ledger checkpoint: inconsistent symbol";
		for (size_t i = 0; i < s->nids; i++)
			if (s->ids[i][0] == '\0')
				return "ledger checkpoint: inconsistent symbol";
		/* lots hold something, and (unless an overflow broke the symbol
		 * midway) the open quantity is their sum */
		for (size_t i = 0; i < s->nlots; i++)
			if (dec_sign(s->lots[i].qty) <= 0 || add(&sum, s->lots[i].qty))
				return "ledger checkpoint: inconsistent lots";
		if (!s->broken && dec_cmp(sum, s->open_qty) != 0)
			return "ledger checkpoint: inconsistent lots";
	}
	for (size_t i = 0; i < l->nbuckets; i++) {
		const struct bucket *b = &l->buckets[i];

		/* bucket_get() searches them sorted, one per (hour, quote);
		 * hour_of() could overflow on an arbitrary value: % cannot */
		if (b->quote >= l->nquotes || b->hour % HOUR_MS != 0 ||
		    (i > 0 && bucket_cmp(b->hour, b->quote, &l->buckets[i - 1]) <= 0))
			return "ledger checkpoint: inconsistent hourly buckets";
	}
	for (size_t i = 0; i < l->nconvs; i++) {
		const struct conv *c = &l->convs[i];

		if (c->quote >= l->nquotes || c->cur[0] == '\0')
			return "ledger checkpoint: inconsistent conversions";
		for (size_t j = 0; j < i; j++)
			if (l->convs[j].quote == c->quote && strcmp(l->convs[j].cur, c->cur) == 0)
				return "ledger checkpoint: inconsistent conversions";
	}
	mark = xcalloc((size_t)l->ntfees + 1, 1);
	err = check_fees(l, mark);
	free(mark);
	if (err == NULL)
		err = check_trips(l, tripfree);
	return err;
}

struct ledger *
ledger_load(struct unpack *r, const char **errstr)
{
	struct ledger *l = ledger_new();
	bool *tripfree = NULL;
	uint8_t version, oversell;
	size_t n;

	*errstr = "ledger checkpoint: truncated or malformed";
	if ((version = unpack_u8(r)) != CK_VERSION) {
		if (unpack_ok(r))
			*errstr = "ledger checkpoint: unknown version";
		goto fail;
	}
	oversell = unpack_u8(r);
	l->oversell = oversell <= LEDGER_OVERSELL_SKIP ? (enum ledger_oversell)oversell : LEDGER_OVERSELL_DEFAULT;
	if (oversell > LEDGER_OVERSELL_SKIP) {
		*errstr = "ledger checkpoint: unknown oversell policy";
		goto fail;
	}
	if ((n = unpack_count(r, CK_QUOTE_MIN, UINT32_MAX)) > 0) {
		l->quotes = xcalloc(n, sizeof(*l->quotes));
		l->nquotes = n;
		for (size_t i = 0; i < n; i++) {
			unpack_str(r, l->quotes[i].name, sizeof(l->quotes[i].name));
			load_acc(r, &l->quotes[i].acc);
		}
	}
	if ((n = unpack_count(r, CK_SYM_MIN, CK_SLOTS_MAX)) > 0) {
		/* sym_get()'s invariant: the table at most half full */
		while (2 * n > l->hcap)
			l->hcap *= 2;
		free(l->htab);
		l->htab = xcalloc(l->hcap, sizeof(*l->htab));
		l->syms = xcalloc(n, sizeof(*l->syms));
		l->capsyms = n;
		for (size_t i = 0; i < n; i++)
			if (load_sym(r, l, errstr) == -1)
				goto fail;
	}
	if ((n = unpack_count(r, CK_BUCKET_MIN, UINT32_MAX)) > 0) {
		l->buckets = xcalloc(n, sizeof(*l->buckets));
		l->nbuckets = l->capbuckets = n;
		for (size_t i = 0; i < n; i++) {
			struct bucket *b = &l->buckets[i];
			b->hour = unpack_i64(r);
			b->quote = unpack_u32(r);
			b->trades = unpack_u64(r);
			b->vol_base = unpack_dec(r);
			b->vol_quote = unpack_dec(r);
			b->fees_quote = unpack_dec(r);
			b->realized = unpack_dec(r);
			b->basis = unpack_dec(r);
		}
	}
	if ((n = unpack_count(r, CK_CONV_MIN, UINT32_MAX)) > 0) {
		l->convs = xcalloc(n, sizeof(*l->convs));
		l->nconvs = n;
		for (size_t i = 0; i < n; i++) {
			struct conv *c = &l->convs[i];
			unpack_str(r, c->cur, sizeof(c->cur));
			c->quote = unpack_u32(r);
			c->total = unpack_dec(r);
			c->converted = unpack_dec(r);
			c->converted_quote = unpack_dec(r);
			c->pending = unpack_dec(r);
			c->fills = unpack_u64(r);
			c->pending_fills = unpack_u64(r);
		}
	}
	load_fees(r, l);
	load_trips(r, l, &tripfree);
	if (!unpack_ok(r))
		goto fail;
	{
		const char *err = check_ledger(l, tripfree);
		if (err != NULL) {
			*errstr = err;
			goto fail;
		}
	}
	free(tripfree);
	return l;
fail:
	unpack_fail(r);
	free(tripfree);
	ledger_free(l);
	return NULL;
}

/*
 * Checkpoints of the ledger and the holdings (ledger_save/ledger_load,
 * holdings_save/holdings_load). A pseudo-random but deterministic stream of
 * operations (several symbols and quote currencies, longs and shorts, every
 * oversell policy, duplicate and stale fills, quote, base and third-currency
 * fees resolved at different times, an overflow that breaks a symbol) goes
 * through one object straight and through one saved and loaded every k
 * operations: every getter and the final save must be identical. Damaged
 * buffers (every prefix, byte changes, huge counts) must be refused or give
 * a ledger that works, never crash (run under ASan/UBSan in build-asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/holdings.h"
#include "core/ledger.h"
#include "core/pack.h"

#define MINUTE 60000LL
#define DAY 86400000LL
#define T0 1700000000000LL

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static unsigned
pick(uint64_t *x, unsigned n)
{
	return (unsigned)(rnd(x) % n);
}

static struct dec Df(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A decimal from printf-style text. */
static struct dec
Df(const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return D(buf);
}

static int64_t
day_of(int64_t ts)
{
	return ts / DAY - (ts % DAY < 0);
}

/* ---- the ledger's operation stream ---- */

static const struct {
	const char *symbol;
	enum fill_market market;
	unsigned price;
} SYMS[] = {
	{ "BTC/USDT", FILL_SPOT, 30000 },
	{ "ETH/USDT", FILL_SPOT, 2000 },
	{ "ETH/BTC", FILL_SPOT, 0 },
	{ "BTC/USDT:USDT", FILL_FUTURES, 30000 },
	{ "SOL/EUR", FILL_MARGIN, 20 },
	{ "XRP/USDT", FILL_SPOT, 1 },
	{ "BNB/USDT", FILL_SPOT, 300 },
	{ "ADA/BTC", FILL_SPOT, 0 },
	{ "DOT/EUR", FILL_SPOT, 6 },
	{ "LTC/USDT:USDT", FILL_FUTURES, 70 },
};
#define NSYMS (sizeof(SYMS) / sizeof(SYMS[0]))

enum op_kind { OP_FILL, OP_OVERSELL, OP_RESOLVE };

struct op {
	enum op_kind kind;
	struct fill f;
	enum ledger_oversell policy;
	int64_t known_before;		/* OP_RESOLVE: rates of days before it are known */
};

static void
set_symbol(struct fill *f, const char *symbol, enum fill_market market)
{
	const char *err;

	assert_int_equal(fill_set_symbol(f, symbol, strlen(symbol), &err), 0);
	f->market = market;
}

static void
add_fee(struct fill *f, struct dec cost, const char *cur)
{
	const char *err;

	assert_int_equal(fill_add_fee(f, cost, cur, &err), 0);
}

static void
gen_fill(uint64_t *x, struct fill *f, size_t nsyms, int64_t ts, unsigned seq)
{
	size_t s = pick(x, (unsigned)nsyms);

	memset(f, 0, sizeof(*f));
	set_symbol(f, SYMS[s].symbol, SYMS[s].market);
	snprintf(f->id, sizeof(f->id), "t%u", seq);
	f->timestamp = ts;
	f->side = pick(x, 2) == 0 ? FILL_BUY : FILL_SELL;
	f->amount = Df("%u.%03u", pick(x, 4), 1 + pick(x, 999));
	f->price = Df("%u.%04u", SYMS[s].price + pick(x, SYMS[s].price / 10 + 1), pick(x, 10000));
	if (pick(x, 6) == 0) {
		f->has_cost = true;
		assert_int_equal(dec_mul(&f->cost, f->price, f->amount), 0);
		f->cost = (struct dec){ f->cost.raw / 1000000 * 1000000 };
	}
	switch (pick(x, 8)) {
	case 0:
		break;
	case 1:
		add_fee(f, Df("0.%02u%02u", pick(x, 100), 1 + pick(x, 99)), f->quote);
		break;
	case 2:
		add_fee(f, Df("0.0000%u%u", 1 + pick(x, 9), pick(x, 10)), f->base);
		break;
	case 3:
	case 4:
		add_fee(f, Df("0.000%u%u", 1 + pick(x, 9), pick(x, 10)), "BNB");
		break;
	case 5:
		add_fee(f, Df("0.000%u%u", 1 + pick(x, 9), pick(x, 10)), "BNB");
		add_fee(f, Df("0.00%u%u", 1 + pick(x, 9), pick(x, 10)), "KCS");
		break;
	case 6:
		add_fee(f, Df("-0.00%u%u", 1 + pick(x, 9), pick(x, 10)), f->quote);
		break;
	default:
		add_fee(f, Df("0.000%u%u", 1 + pick(x, 9), pick(x, 10)), "BNB");
		add_fee(f, Df("0.0%u%u", pick(x, 10), 1 + pick(x, 9)), f->quote);
		break;
	}
}

/* nfills fills over nsyms symbols, with oversell switches and resolves
 * (when rich) in between; *nops gets how many operations. */
static struct op *
gen_ops(size_t nfills, size_t nsyms, bool rich, uint64_t seed, size_t *nops)
{
	struct op *ops = calloc(nfills * 2 + 16, sizeof(*ops));
	uint64_t x = seed;
	int64_t ts = T0;
	size_t n = 0;
	unsigned policy = 0;

	assert_non_null(ops);
	for (size_t i = 0; i < nfills; i++) {
		struct op *o = &ops[n++];

		o->kind = OP_FILL;
		if (rich && i > 0 && pick(&x, 20) == 0) {
			o->f = ops[n - 2].kind == OP_FILL ? ops[n - 2].f : ops[0].f;	/* a duplicate (or stale) */
		} else if (rich && i > 0 && pick(&x, 25) == 0) {
			gen_fill(&x, &o->f, nsyms, ts - DAY, (unsigned)i);	/* stale for a busy symbol */
		} else {
			/* same millisecond now and then: several ids at one cursor */
			if (pick(&x, 5) != 0)
				ts += pick(&x, 90) * MINUTE + pick(&x, 1000);
			gen_fill(&x, &o->f, nsyms, ts, (unsigned)i);
		}
		if (rich && i == 100) {
			/* 1e20 twice: the second overflows the open quantity and
			 * breaks BIG/USDT (its BNB fees are left as they were) */
			for (int k = 0; k < 3; k++) {
				o = &ops[n++];
				memset(o, 0, sizeof(*o));
				o->kind = OP_FILL;
				set_symbol(&o->f, "BIG/USDT", FILL_SPOT);
				snprintf(o->f.id, sizeof(o->f.id), "big%d", k);
				o->f.timestamp = ts;
				o->f.side = FILL_BUY;
				o->f.price = D("1");
				o->f.amount = D("100000000000000000000");
				add_fee(&o->f, D("0.5"), "BNB");
			}
		}
		if (!rich)
			continue;
		if (i % 97 == 50) {
			o = &ops[n++];
			o->kind = OP_OVERSELL;
			o->policy = (enum ledger_oversell)(++policy % 4);
		}
		if (i % 13 == 12) {
			o = &ops[n++];
			o->kind = OP_RESOLVE;
			o->known_before = day_of(ts) - pick(&x, 3);
		}
	}
	if (rich) {
		/* ends short: a sell beyond any long position under SHORT */
		struct op *o = &ops[n++];

		o->kind = OP_OVERSELL;
		o->policy = LEDGER_OVERSELL_SHORT;
		o = &ops[n++];
		o->kind = OP_FILL;
		gen_fill(&x, &o->f, nsyms, ts + MINUTE, (unsigned)nfills);
		o->f.side = FILL_SELL;
		o->f.amount = D("1000");
	}
	*nops = n;
	return ops;
}

/* Rates: BNB known for days before known_before, KCS only when final. */
struct rates {
	int64_t known_before;
	bool final;
};

static int
rate(void *arg, const char *cur, const char *quote, int64_t day, struct dec *num, struct dec *den)
{
	const struct rates *t = arg;
	unsigned d = (unsigned)(day % 97);

	if (day >= t->known_before && !t->final)
		return -1;
	if (strcmp(cur, "KCS") == 0) {
		if (!t->final)
			return -1;
		*num = D("7");
		*den = D("3");
		return 0;
	}
	if (strcmp(quote, "BTC") == 0) {
		*num = D("1");
		*den = Df("%u.%u", 100 + d, 7);
		return 0;
	}
	*num = Df("%u.%u", (strcmp(quote, "EUR") == 0 ? 250 : 200) + d, 3);
	*den = D("1");
	return 0;
}

static void
save_to(const struct ledger *l, struct pack *w)
{
	pack_init(w);
	ledger_save(l, w);
}

/* Saves l, frees it, and returns the ledger loaded from the bytes. */
static struct ledger *
reload(struct ledger *l)
{
	struct pack w;
	struct unpack r;
	const char *err = NULL;
	struct ledger *n;

	save_to(l, &w);
	ledger_free(l);
	unpack_init(&r, w.buf, w.len);
	if ((n = ledger_load(&r, &err)) == NULL)
		fail_msg("ledger_load: %s", err);
	assert_true(unpack_end(&r));
	pack_free(&w);
	return n;
}

static void
run_op(struct ledger *l, const struct op *o, FILE *trace)
{
	enum ledger_outcome out = LEDGER_APPLIED;
	const char *err = "";
	struct rates t = { o->known_before, false };
	size_t conv = 0;
	int rc;

	switch (o->kind) {
	case OP_FILL:
		rc = ledger_apply(l, &o->f, &out, &err);
		fprintf(trace, "fill %s %d %d %s\n", o->f.id, rc, rc == 0 ? (int)out : -1, rc == 0 ? "" : err);
		break;
	case OP_OVERSELL:
		ledger_set_oversell(l, o->policy);
		break;
	case OP_RESOLVE:
		rc = ledger_resolve_fees(l, rate, &t, &conv, &err);
		fprintf(trace, "resolve %d %zu %s\n", rc, conv, rc == 0 ? "" : err);
		break;
	}
}

/* Runs ops[0..n) on a new ledger, saved and loaded after every k-th (k 0:
 * never), and the final resolve when final. */
static struct ledger *
run_ledger(const struct op *ops, size_t n, size_t k, bool final, FILE *trace)
{
	struct ledger *l = ledger_new();

	for (size_t i = 0; i < n; i++) {
		run_op(l, &ops[i], trace);
		if (k > 0 && (i + 1) % k == 0)
			l = reload(l);
	}
	if (final) {
		struct rates t = { 0, true };
		const char *err = "";
		size_t conv = 0;
		int rc = ledger_resolve_fees(l, rate, &t, &conv, &err);

		fprintf(trace, "final %d %zu %s\n", rc, conv, rc == 0 ? "" : err);
	}
	return l;
}

static void
put_dec(FILE *o, struct dec d)
{
	char b[DEC_STR_MAX];

	dec_format(b, sizeof(b), d);
	fprintf(o, " %s", b);
}

static void
put_amounts(FILE *o, const struct ledger_amount *v, size_t n)
{
	fprintf(o, " [");
	for (size_t i = 0; i < n; i++) {
		fprintf(o, " %s", v[i].currency);
		put_dec(o, v[i].amount);
	}
	fprintf(o, " ]");
}

static void
put_stats(FILE *o, const struct ledger_stats *s)
{
	const struct dec d[] = { s->realized_pnl, s->closed_basis, s->volume_base, s->volume_quote, s->fees_quote,
	    s->gross_win, s->gross_loss, s->open_long_qty, s->open_long_cost, s->open_short_qty,
	    s->open_short_proceeds, s->unmatched_sell_qty };

	fprintf(o, "%s %s", s->name, s->quote);
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		put_dec(o, d[i]);
	fprintf(o, " %llu %llu %llu %llu %llu %lld %lld %llu %llu", (unsigned long long)s->trades,
	    (unsigned long long)s->wins, (unsigned long long)s->losses, (unsigned long long)s->duplicates,
	    (unsigned long long)s->stale, (long long)s->first_fill, (long long)s->last_fill,
	    (unsigned long long)s->fees_pending, (unsigned long long)s->trips_pending);
	put_amounts(o, s->fees, s->nfees);
	put_amounts(o, s->fees_unconverted, s->nfees_unconverted);
	fprintf(o, "\n");
}

/* Every public getter of l, as text (caller frees). */
static char *
ledger_digest(const struct ledger *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);

	assert_non_null(o);
	for (size_t i = 0; i < ledger_nsymbols(l); i++) {
		struct ledger_stats st;
		struct dec u;
		int rc;

		ledger_symbol_stats(l, i, &st);
		put_stats(o, &st);
		rc = ledger_mark(l, st.name, D("123.456"), &u);
		fprintf(o, "mark %d", rc);
		put_dec(o, u);
		fprintf(o, "\n");
	}
	for (size_t i = 0; i < ledger_nquotes(l); i++) {
		struct ledger_stats st;

		fprintf(o, "quote %d ", ledger_quote_stats(l, i, &st));
		put_stats(o, &st);
	}
	for (size_t i = 0; i < ledger_nbuckets(l); i++) {
		struct ledger_bucket b;

		ledger_bucket(l, i, &b);
		fprintf(o, "bucket %lld %s %llu", (long long)b.hour, b.quote, (unsigned long long)b.trades);
		put_dec(o, b.volume_base);
		put_dec(o, b.volume_quote);
		put_dec(o, b.fees_quote);
		put_dec(o, b.realized_pnl);
		put_dec(o, b.closed_basis);
		fprintf(o, "\n");
	}
	for (size_t i = 0; i < ledger_nconversions(l); i++) {
		struct ledger_conversion c;

		ledger_conversion(l, i, &c);
		fprintf(o, "conv %s %s", c.currency, c.quote);
		put_dec(o, c.total);
		put_dec(o, c.converted);
		put_dec(o, c.converted_quote);
		put_dec(o, c.pending);
		fprintf(o, " %llu %llu %lld %lld\n", (unsigned long long)c.fills, (unsigned long long)c.pending_fills,
		    (long long)c.pending_first, (long long)c.pending_last);
	}
	fprintf(o, "pending %llu\n", (unsigned long long)ledger_fees_pending(l));
	fclose(o);
	return buf;
}

/* Two objects' digests (every getter) and saves are the same; frees them. */
static void
assert_same(char *da, char *db, struct pack *wa, struct pack *wb)
{
	assert_string_equal(da, db);
	assert_int_equal(wa->len, wb->len);
	assert_memory_equal(wa->buf, wb->buf, wa->len);
	free(da);
	free(db);
	pack_free(wa);
	pack_free(wb);
}

static void
assert_same_ledger(const struct ledger *a, const struct ledger *b)
{
	struct pack wa, wb;

	save_to(a, &wa);
	save_to(b, &wb);
	assert_same(ledger_digest(a), ledger_digest(b), &wa, &wb);
}

/* The stream covers what it is meant to (checked on the straight run). */
static void
assert_rich(const struct ledger *l, const char *trace)
{
	uint64_t dups = 0, stale = 0, trips = 0;
	bool shorts = false;

	for (size_t i = 0; i < ledger_nsymbols(l); i++) {
		struct ledger_stats st;

		ledger_symbol_stats(l, i, &st);
		dups += st.duplicates;
		stale += st.stale;
		trips += st.trips_pending;
		shorts |= dec_sign(st.open_short_qty) > 0;
	}
	if (!(dups > 0 && stale > 0 && trips > 0 && shorts))
		fail_msg("dups %llu stale %llu trips %llu shorts %d", (unsigned long long)dups,
		    (unsigned long long)stale, (unsigned long long)trips, shorts);
	assert_true(ledger_fees_pending(l) > 0);
	assert_true(ledger_nquotes(l) == 3 && ledger_nconversions(l) >= 5);
	assert_non_null(strstr(trace, "refused after an earlier overflow"));
	assert_non_null(strstr(trace, "resolve 0 1"));
}

static void
trace_close(FILE *f)
{
	fclose(f);
}

static void
test_ledger_equivalence(void **state)
{
	size_t n, ks[] = { 1, 7 };
	struct op *ops = gen_ops(1200, NSYMS, true, 0x1234567, &n);

	(void)state;
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		char *ta = NULL, *tb = NULL;
		size_t la, lb;
		FILE *fa = open_memstream(&ta, &la), *fb = open_memstream(&tb, &lb);
		struct ledger *a = run_ledger(ops, n, 0, false, fa);
		struct ledger *b = run_ledger(ops, n, ks[i], false, fb);

		trace_close(fa);
		trace_close(fb);
		assert_string_equal(ta, tb);
		assert_rich(a, ta);
		assert_same_ledger(a, b);
		/* resolving afterwards gives the same too */
		free(ta);
		free(tb);
		fa = open_memstream(&ta, &la);
		fb = open_memstream(&tb, &lb);
		{
			struct rates t = { 0, true };
			const char *err = "";
			size_t ca = 0, cb = 0;

			fprintf(fa, "%d", ledger_resolve_fees(a, rate, &t, &ca, &err));
			fprintf(fb, "%d", ledger_resolve_fees(b, rate, &t, &cb, &err));
			assert_int_equal(ca, cb);
			assert_true(ca > 0);
		}
		trace_close(fa);
		trace_close(fb);
		assert_string_equal(ta, tb);
		assert_same_ledger(a, b);
		b = reload(b);
		assert_same_ledger(a, b);
		free(ta);
		free(tb);
		ledger_free(a);
		ledger_free(b);
	}
	free(ops);
}

/* save(load(save(x))) == save(x), at several points of the stream. */
static void
test_ledger_idempotent(void **state)
{
	size_t n, upto[] = { 0, 1, 30, 150, 400, 0 };
	struct op *ops = gen_ops(500, NSYMS, true, 42, &n);
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	upto[5] = n;
	for (size_t i = 0; i < sizeof(upto) / sizeof(upto[0]); i++) {
		struct ledger *l = run_ledger(ops, upto[i], 0, i == 5, devnull);
		struct pack w1, w2;
		struct unpack r;
		const char *err = NULL;
		struct ledger *m;

		save_to(l, &w1);
		unpack_init(&r, w1.buf, w1.len);
		m = ledger_load(&r, &err);
		assert_non_null(m);
		assert_true(unpack_end(&r));
		save_to(m, &w2);
		assert_int_equal(w1.len, w2.len);
		assert_memory_equal(w1.buf, w2.buf, w1.len);
		pack_free(&w1);
		pack_free(&w2);
		ledger_free(l);
		ledger_free(m);
	}
	fclose(devnull);
	free(ops);
}

/* A small ledger with pending fees, parts and trips, and a broken symbol;
 * *ops gets the *nops operations that follow its state (to exercise it). */
static void
small_ledger_save(struct pack *w, struct op **ops, const struct op **next, size_t *nops)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct ledger *l;
	size_t n;

	*ops = gen_ops(150, NSYMS, true, 7, &n);
	*nops = 20;
	*next = *ops + n - *nops;
	l = run_ledger(*ops, n - *nops, 0, false, devnull);
	assert_true(ledger_fees_pending(l) > 0);
	save_to(l, w);
	ledger_free(l);
	fclose(devnull);
}

static void
test_ledger_prefixes(void **state)
{
	struct pack w;
	struct op *ops;
	const struct op *next;
	size_t nops;

	(void)state;
	small_ledger_save(&w, &ops, &next, &nops);
	for (size_t len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len + 1);	/* exactly len readable: ASan sees overreads */
		struct unpack r;
		const char *err = NULL;

		memcpy(copy, w.buf, len);
		unpack_init(&r, copy, len);
		if (ledger_load(&r, &err) != NULL)
			fail_msg("prefix of %zu bytes of %zu loaded", len, w.len);
		assert_non_null(err);
		assert_false(unpack_ok(&r));
		free(copy);
	}
	/* trailing bytes are the next section's: left unread */
	{
		uint8_t *more = malloc(w.len + 3);
		struct unpack r;
		const char *err = NULL;
		struct ledger *l;

		memcpy(more, w.buf, w.len);
		memcpy(more + w.len, "xyz", 3);
		unpack_init(&r, more, w.len + 3);
		assert_non_null(l = ledger_load(&r, &err));
		assert_int_equal(r.off, w.len);
		ledger_free(l);
		free(more);
	}
	pack_free(&w);
	free(ops);
}

/* A loaded ledger works: it saves what it was loaded from, takes fills and
 * conversions, and saves and loads again. */
static void
exercise(struct ledger *l, const uint8_t *buf, size_t used, const struct op *ops, size_t nops)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct pack w;
	struct unpack r;
	const char *err = NULL;
	struct rates t = { 0, true };
	char *d;

	save_to(l, &w);
	assert_int_equal(w.len, used);
	assert_memory_equal(w.buf, buf, used);
	pack_free(&w);
	free(ledger_digest(l));
	for (size_t i = 0; i < nops; i++)
		run_op(l, &ops[i], devnull);
	(void)ledger_resolve_fees(l, rate, &t, NULL, &err);
	d = ledger_digest(l);
	save_to(l, &w);
	ledger_free(l);
	unpack_init(&r, w.buf, w.len);
	if ((l = ledger_load(&r, &err)) == NULL)
		fail_msg("a working ledger does not reload: %s", err);
	pack_free(&w);
	free(d);
	ledger_free(l);
	fclose(devnull);
}

static void
try_ledger(const uint8_t *buf, size_t len, const struct op *ops, size_t nops, size_t *accepted)
{
	uint8_t *copy = malloc(len + 1);
	struct unpack r;
	const char *err = NULL;
	struct ledger *l;

	memcpy(copy, buf, len);
	unpack_init(&r, copy, len);
	if ((l = ledger_load(&r, &err)) == NULL) {
		assert_non_null(err);
	} else {
		(*accepted)++;
		exercise(l, copy, r.off, ops, nops);
	}
	free(copy);
}

static void
test_ledger_mutations(void **state)
{
	struct pack w;
	struct op *ops;
	const struct op *next;
	size_t nops, accepted = 0, tried = 0;
	uint64_t x = 99;
	uint8_t *m;

	(void)state;
	small_ledger_save(&w, &ops, &next, &nops);
	{
		/* the operations exercise() runs do book (they are not stale) */
		struct unpack r;
		const char *err = NULL;
		struct ledger *l;
		enum ledger_outcome o;
		size_t applied = 0;

		unpack_init(&r, w.buf, w.len);
		assert_non_null(l = ledger_load(&r, &err));
		for (size_t i = 0; i < nops; i++)
			applied += next[i].kind == OP_FILL && ledger_apply(l, &next[i].f, &o, &err) == 0 &&
			    o == LEDGER_APPLIED;
		assert_true(applied >= nops / 2);
		ledger_free(l);
	}
	m = malloc(w.len);
	/* every byte flipped (low bit, high bit or all, in turn), then random
	 * bytes at random places */
	for (size_t pos = 0; pos < w.len; pos++, tried++) {
		memcpy(m, w.buf, w.len);
		m[pos] ^= (uint8_t[]){ 0x01, 0x80, 0xff }[pos % 3];
		try_ledger(m, w.len, next, nops, &accepted);
	}
	for (int i = 0; i < 3000; i++, tried++) {
		memcpy(m, w.buf, w.len);
		m[pick(&x, (unsigned)w.len)] = (uint8_t)rnd(&x);
		try_ledger(m, w.len, next, nops, &accepted);
	}
	print_message("ledger mutations: %zu tried on %zu bytes, %zu loaded (changed values), the rest refused\n",
	    tried, w.len, accepted);
	free(m);
	pack_free(&w);
	free(ops);
}

/* A count of 0xffffffff is refused before anything that large is allocated. */
static void
test_ledger_huge_counts(void **state)
{
	struct ledger *l = ledger_new(), *l2;
	struct pack w;
	struct unpack r;
	const char *err = NULL;
	struct fill f;
	enum ledger_outcome o;
	size_t lots_at;

	(void)state;
	memset(&f, 0, sizeof(f));
	set_symbol(&f, "BTC/USDT", FILL_SPOT);
	f.amount = D("1");
	f.price = D("100");
	assert_int_equal(ledger_apply(l, &f, &o, &err), 0);
	save_to(l, &w);
	/* version, policy, 1 quote "USDT" with its totals (no fees), 1 symbol
	 * "BTC/USDT" base "BTC", quote index, 3 flags, 2 decs: then the lots */
	lots_at = 1 + 1 + 4 + (4 + 4 + 8 * 16 + 9 * 8 + 4 + 4) + 4 + (4 + 8) + (4 + 3) + 4 + 3 + 2 * 16;
	assert_memory_equal(w.buf + lots_at, "\0\0\0\1", 4);
	for (size_t at = 2; at <= lots_at; at += lots_at - 2) {
		uint8_t save[4];

		memcpy(save, w.buf + at, 4);
		memset(w.buf + at, 0xff, 4);
		unpack_init(&r, w.buf, w.len);
		err = NULL;
		assert_null(ledger_load(&r, &err));
		assert_non_null(err);
		memcpy(w.buf + at, save, 4);
	}
	unpack_init(&r, w.buf, w.len);
	assert_non_null(l2 = ledger_load(&r, &err));
	ledger_free(l2);
	pack_free(&w);
	ledger_free(l);

	/* an empty ledger whose fee slot count is huge */
	pack_init(&w);
	pack_u8(&w, 1);
	pack_u8(&w, 0);
	for (int i = 0; i < 4; i++)
		pack_u32(&w, 0);
	pack_u32(&w, 0xffffffff);
	pack_u32(&w, 0xffffffff);
	unpack_init(&r, w.buf, w.len);
	assert_null(ledger_load(&r, &err));
	pack_free(&w);
}

static void
test_ledger_version(void **state)
{
	struct ledger *l = ledger_new();
	struct pack w;
	struct unpack r;
	const char *err = NULL;

	(void)state;
	save_to(l, &w);
	w.buf[0] = 2;
	unpack_init(&r, w.buf, w.len);
	assert_null(ledger_load(&r, &err));
	assert_non_null(strstr(err, "unknown version"));
	w.buf[0] = 1;
	w.buf[1] = 4;	/* no such oversell policy */
	unpack_init(&r, w.buf, w.len);
	assert_null(ledger_load(&r, &err));
	assert_non_null(err);
	pack_free(&w);
	ledger_free(l);
}

/* The measured size of a checkpoint: 1,000 fills over 10 symbols with the
 * fee mix above, none of the third-currency fees converted (the largest
 * case: every fee and part is kept), then the rich stream, whose fees are
 * converted as it goes. */
static void
test_ledger_size(void **state)
{
	size_t n;
	struct op *ops = gen_ops(1000, NSYMS, false, 5, &n);
	FILE *devnull = fopen("/dev/null", "w");
	struct ledger *l = run_ledger(ops, n, 0, false, devnull);
	struct pack w;

	(void)state;
	save_to(l, &w);
	print_message("ledger checkpoint: 1000 fills over %zu symbols, %zu hourly buckets, %llu fees pending: %zu bytes\n",
	    ledger_nsymbols(l), ledger_nbuckets(l), (unsigned long long)ledger_fees_pending(l), w.len);
	pack_free(&w);
	ledger_free(l);
	free(ops);
	ops = gen_ops(1000, NSYMS, true, 5, &n);
	l = run_ledger(ops, n, 0, true, devnull);
	save_to(l, &w);
	print_message("ledger checkpoint: the same with duplicates, stale fills, resolves (rich stream): %zu bytes\n",
	    w.len);
	pack_free(&w);
	ledger_free(l);
	free(ops);
	fclose(devnull);
}

/* ---- holdings ---- */

enum hop_kind { H_FILL, H_FLOW, H_FUNDING, H_SNAPSHOT, H_ABORT };

struct hop {
	enum hop_kind kind;
	struct fill f;
	char id[16], cur[FILL_CUR_MAX], sym[FILL_SYMBOL_MAX];
	int64_t ts;
	struct dec amount;
	size_t nbal;
	struct {
		const char *cur;
		struct dec total;
	} bal[4];
};

static const char *const HCURS[] = { "USDT", "BTC", "ETH", "EUR", "BNB", "SOL" };

static struct hop *
gen_hops(size_t n, uint64_t seed)
{
	struct hop *ops = calloc(n, sizeof(*ops));
	uint64_t x = seed;
	int64_t ts = T0;

	assert_non_null(ops);
	for (size_t i = 0; i < n; i++) {
		struct hop *o = &ops[i];
		unsigned k = pick(&x, 20);

		ts += pick(&x, 300) * MINUTE;
		/* connectors walk symbols one by one: some events are older */
		o->ts = ts - (pick(&x, 4) == 0 ? (int64_t)pick(&x, 5) * DAY : 0);
		if (k < 12) {
			o->kind = H_FILL;
			gen_fill(&x, &o->f, NSYMS, o->ts, (unsigned)i);
		} else if (k < 15 || k == 19) {
			o->kind = H_FLOW;
			snprintf(o->id, sizeof(o->id), "d%u", pick(&x, 40));	/* repeats are ignored */
			snprintf(o->cur, sizeof(o->cur), "%s", HCURS[pick(&x, 6)]);
			o->amount = Df("%s%u.%u", pick(&x, 3) == 0 ? "-" : "", 1 + pick(&x, 500), pick(&x, 100));
		} else if (k < 17) {
			o->kind = H_FUNDING;
			snprintf(o->id, sizeof(o->id), "f%u", pick(&x, 30));
			snprintf(o->sym, sizeof(o->sym), "%s", pick(&x, 2) ? "BTC/USDT:USDT" : "LTC/USDT:USDT");
			snprintf(o->cur, sizeof(o->cur), "USDT");
			o->amount = Df("%s0.%u%u", pick(&x, 2) ? "-" : "", pick(&x, 10), 1 + pick(&x, 9));
		} else {
			o->kind = k == 17 ? H_SNAPSHOT : H_ABORT;
			o->ts = ts - (int64_t)pick(&x, 600) * MINUTE;
			o->nbal = 1 + pick(&x, 4);
			for (size_t j = 0; j < o->nbal; j++) {
				o->bal[j].cur = HCURS[pick(&x, 6)];
				o->bal[j].total = Df("%u.%u", pick(&x, 100000), pick(&x, 1000));
			}
		}
	}
	return ops;
}

static void
run_hop(struct holdings *h, const struct hop *o, FILE *trace)
{
	const char *err = "";
	int rc = 0;

	switch (o->kind) {
	case H_FILL:
		rc = holdings_fill(h, &o->f, &err);
		break;
	case H_FLOW:
		rc = holdings_flow(h, o->id, o->ts, o->cur, o->amount, &err);
		break;
	case H_FUNDING:
		rc = holdings_funding(h, o->id, o->ts, o->sym, o->cur, o->amount, &err);
		break;
	case H_SNAPSHOT:
	case H_ABORT:
		holdings_balances_begin(h);
		for (size_t j = 0; j < o->nbal; j++)
			assert_int_equal(holdings_balance(h, o->bal[j].cur, o->bal[j].total, &err), 0);
		if (o->kind == H_SNAPSHOT)
			holdings_balances_commit(h, o->ts);
		else
			holdings_balances_abort(h);
		break;
	}
	fprintf(trace, "%d %d %s\n", (int)o->kind, rc, rc < 0 ? err : "");
}

static struct holdings *
hreload(struct holdings *h)
{
	struct pack w;
	struct unpack r;
	const char *err = NULL;
	struct holdings *n;

	pack_init(&w);
	holdings_save(h, &w);
	holdings_free(h);
	unpack_init(&r, w.buf, w.len);
	if ((n = holdings_load(&r, &err)) == NULL)
		fail_msg("holdings_load: %s", err);
	assert_true(unpack_end(&r));
	pack_free(&w);
	return n;
}

static struct holdings *
run_holdings(const struct hop *ops, size_t n, size_t k, FILE *trace)
{
	struct holdings *h = holdings_new();

	for (size_t i = 0; i < n; i++) {
		run_hop(h, &ops[i], trace);
		if (k > 0 && (i + 1) % k == 0)
			h = hreload(h);
	}
	return h;
}

static char *
holdings_digest(const struct holdings *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	int64_t first = 0, last = 0, at = 0;
	bool snap = holdings_has_balances(h, &at), span = holdings_span(h, &first, &last) == 0;

	assert_non_null(o);
	fprintf(o, "snapshot %d %lld span %d %lld %lld\n", snap, snap ? (long long)at : 0LL, span,
	    (long long)first, (long long)last);
	for (size_t i = 0; i < holdings_nfunding(h); i++) {
		const char *sym, *cur;
		struct dec total;
		uint64_t payments;

		assert_int_equal(holdings_funding_total(h, i, &sym, &cur, &total, &payments), 0);
		fprintf(o, "funding %s %s", sym, cur);
		put_dec(o, total);
		fprintf(o, " %llu\n", (unsigned long long)payments);
	}
	for (size_t i = 0; i < holdings_ncurrencies(h); i++) {
		fprintf(o, "currency %s\n", holdings_currency(h, i));
		if (snap && span) {
			int64_t from = first - 1, to = last > day_of(at) ? last : day_of(at);
			size_t nd = (size_t)(to - from + 1);
			struct dec *out = calloc(nd, sizeof(*out));
			const char *err = "";
			int rc = holdings_daily_balances(h, i, from, nd, out, &err);

			fprintf(o, "daily %d %s", rc, rc == 0 ? "" : err);
			for (size_t d = 0; rc == 0 && d < nd; d++)
				put_dec(o, out[d]);
			fprintf(o, "\n");
			free(out);
		}
		for (int64_t d = first; span && d <= last; d++) {
			struct dec f;

			assert_int_equal(holdings_flows_on(h, i, d, &f), 0);
			if (!dec_is_zero(f)) {
				fprintf(o, "flows %lld", (long long)d);
				put_dec(o, f);
				fprintf(o, "\n");
			}
		}
	}
	fclose(o);
	return buf;
}

static void
assert_same_holdings(const struct holdings *a, const struct holdings *b)
{
	struct pack wa, wb;

	pack_init(&wa);
	pack_init(&wb);
	holdings_save(a, &wa);
	holdings_save(b, &wb);
	assert_same(holdings_digest(a), holdings_digest(b), &wa, &wb);
}

static void
test_holdings_equivalence(void **state)
{
	size_t n = 1500, ks[] = { 1, 7 };
	struct hop *ops = gen_hops(n, 0xfeed);

	(void)state;
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		char *ta = NULL, *tb = NULL;
		size_t la, lb;
		FILE *fa = open_memstream(&ta, &la), *fb = open_memstream(&tb, &lb);
		struct holdings *a = run_holdings(ops, n, 0, fa);
		struct holdings *b = run_holdings(ops, n, ks[i], fb);
		char *d;

		fclose(fa);
		fclose(fb);
		assert_string_equal(ta, tb);
		assert_same_holdings(a, b);
		/* the stream covered ignored repeats, funding and a snapshot
		 * with changes after it */
		assert_non_null(strstr(ta, "1 0 "));
		assert_non_null(strstr(ta, "2 0 "));
		assert_true(holdings_nfunding(a) == 2 && holdings_has_balances(a, NULL));
		d = holdings_digest(a);
		assert_non_null(strstr(d, "flows "));
		assert_non_null(strstr(d, "daily 0"));
		free(d);
		free(ta);
		free(tb);
		holdings_free(a);
		holdings_free(b);
	}
	free(ops);
}

static void
test_holdings_idempotent_and_refusals(void **state)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct hop *ops = gen_hops(330, 3);
	struct holdings *h = run_holdings(ops, 300, 0, devnull), *m;
	struct pack w, w2;
	struct unpack r;
	const char *err = NULL;
	uint8_t *copy;
	uint64_t x = 5;
	size_t accepted = 0;

	(void)state;
	/* a staged set is not saved */
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("1"), &err), 0);
	pack_init(&w);
	holdings_save(h, &w);
	holdings_balances_abort(h);
	pack_init(&w2);
	holdings_save(h, &w2);
	assert_int_equal(w.len, w2.len);
	assert_memory_equal(w.buf, w2.buf, w.len);
	pack_free(&w2);

	unpack_init(&r, w.buf, w.len);
	assert_non_null(m = holdings_load(&r, &err));
	assert_true(unpack_end(&r));
	pack_init(&w2);
	holdings_save(m, &w2);
	assert_int_equal(w.len, w2.len);
	assert_memory_equal(w.buf, w2.buf, w.len);
	pack_free(&w2);
	holdings_free(m);

	for (size_t len = 0; len < w.len; len++) {
		copy = malloc(len + 1);
		memcpy(copy, w.buf, len);
		unpack_init(&r, copy, len);
		err = NULL;
		if (holdings_load(&r, &err) != NULL)
			fail_msg("prefix of %zu bytes of %zu loaded", len, w.len);
		assert_non_null(err);
		free(copy);
	}
	copy = malloc(w.len);
	for (int i = 0; i < 6000; i++) {
		memcpy(copy, w.buf, w.len);
		copy[pick(&x, (unsigned)w.len)] ^= (uint8_t)(1 + pick(&x, 255));
		unpack_init(&r, copy, w.len);
		err = NULL;
		if ((m = holdings_load(&r, &err)) == NULL) {
			assert_non_null(err);
			continue;
		}
		/* it saves what it was loaded from, and works */
		accepted++;
		pack_init(&w2);
		holdings_save(m, &w2);
		assert_int_equal(w2.len, r.off);
		assert_memory_equal(w2.buf, copy, r.off);
		pack_free(&w2);
		for (size_t k = 0; k < 30; k++)
			run_hop(m, &ops[300 + k], devnull);
		free(holdings_digest(m));
		m = hreload(m);
		holdings_free(m);
	}
	print_message("holdings mutations: 6000 tried on %zu bytes, %zu loaded\n", w.len, accepted);
	free(copy);

	/* unknown version, huge count */
	w.buf[0] = 9;
	unpack_init(&r, w.buf, w.len);
	assert_null(holdings_load(&r, &err));
	assert_non_null(strstr(err, "unknown version"));
	w.buf[0] = 1;
	memset(w.buf + 1, 0xff, 4);
	unpack_init(&r, w.buf, w.len);
	assert_null(holdings_load(&r, &err));
	pack_free(&w);
	holdings_free(h);
	free(ops);
	fclose(devnull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ledger_equivalence),
		cmocka_unit_test(test_ledger_idempotent),
		cmocka_unit_test(test_ledger_prefixes),
		cmocka_unit_test(test_ledger_mutations),
		cmocka_unit_test(test_ledger_huge_counts),
		cmocka_unit_test(test_ledger_version),
		cmocka_unit_test(test_ledger_size),
		cmocka_unit_test(test_holdings_equivalence),
		cmocka_unit_test(test_holdings_idempotent_and_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

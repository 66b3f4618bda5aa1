/*
 * bench_ledger: applies N (default 10,000,000) synthetic fills over 200
 * symbols, generated in memory (not parsed), and reports fills/s and peak
 * RSS after 1M fills and at the end, to show that memory does not grow with
 * the number of fills. The generator's own cost is measured separately.
 *
 *	bench_ledger [N]
 *
 * Fills: ids and timestamps increasing, price a random walk with 2 decimals,
 * amount 0.001..1 with 3 decimals, cost given (as exchanges do), a 0.1%
 * quote fee, sides chosen so each position stays bounded (sells sometimes
 * exceed it: spot zero-cost path), every 20th fill with a BNB fee (unconverted).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/ledger.h"

#define NSYM 200
#define E13 ((__int128)10000000000000LL)

struct gen {
	uint64_t rng;
	struct fill tmpl[NSYM];
	int64_t price_cents[NSYM];
	int64_t pos_milli[NSYM];
};

static uint64_t
next(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static void
gen_init(struct gen *g)
{
	const char *err;

	memset(g, 0, sizeof(*g));
	g->rng = 0x2545f4914f6cdd1dULL;
	for (int s = 0; s < NSYM; s++) {
		char sym[32];
		int n = snprintf(sym, sizeof(sym), "S%03d/USDT", s);
		if (fill_set_symbol(&g->tmpl[s], sym, (size_t)n, &err) == -1)
			abort();
		g->tmpl[s].has_cost = true;
		g->tmpl[s].nfees = 1;
		strcpy(g->tmpl[s].fees[0].currency, "USDT");
		strcpy(g->tmpl[s].fees[1].currency, "BNB");
		g->price_cents[s] = 1000000 + (int64_t)(next(g) % 100000);
	}
}

/* Writes v in decimal into out (NUL-terminated). */
static void
u64_to_str(char *out, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*out++ = tmp[--n];
	*out = '\0';
}

/* The i-th fill. */
static const struct fill *
gen_fill(struct gen *g, uint64_t i)
{
	int s = (int)(i % NSYM);
	struct fill *f = &g->tmpl[s];
	uint64_t r = next(g);
	int64_t a = 1 + (int64_t)(r % 1000), *pos = &g->pos_milli[s];
	int64_t *p = &g->price_cents[s];
	__int128 cost;

	*p += (int64_t)((r >> 10) % 201) - 100;
	if (*p < 100)
		*p = 100;
	if (*pos == 0 || (*pos < 3000 && ((r >> 20) & 1)))
		f->side = FILL_BUY;
	else
		f->side = FILL_SELL;
	if (f->side == FILL_BUY)
		*pos += a;
	else
		*pos = *pos > a ? *pos - a : 0;
	f->timestamp = 1704067200000LL + (int64_t)(i * 7);
	u64_to_str(f->id, i);
	f->price.raw = (__int128)*p * 10000000000000000LL;	/* cents -> 1e18 */
	f->amount.raw = (__int128)a * 1000000000000000LL;	/* milli -> 1e18 */
	cost = (__int128)*p * a * E13;
	f->cost.raw = cost;
	f->fees[0].cost.raw = cost / 1000;			/* 0.1%, exact */
	f->nfees = (i % 20 == 0) ? 2 : 1;
	f->fees[1].cost.raw = (__int128)5 * 1000000000000LL;	/* 0.000005 BNB */
	return f;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000ULL, i;
	struct ledger *l;
	struct gen *g = malloc(sizeof(*g));
	enum ledger_outcome o;
	const char *err;
	double t0, tgen;
	volatile int64_t sink = 0;
	struct ledger_stats st;

	if (g == NULL || n == 0)
		return 1;
	/* the generator alone */
	gen_init(g);
	t0 = bench_now_s();
	for (i = 0; i < n; i++)
		sink += gen_fill(g, i)->timestamp;
	tgen = bench_now_s() - t0;
	printf("generator alone: %" PRIu64 " fills in %.3f s\n", n, tgen);

	gen_init(g);
	l = ledger_new();
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		if (ledger_apply(l, gen_fill(g, i), &o, &err) == -1 || o != LEDGER_APPLIED) {
			fprintf(stderr, "fill %" PRIu64 ": %s\n", i, err);
			return 1;
		}
		if (i + 1 == 1000000 || i + 1 == n) {
			double t = bench_now_s() - t0;
			printf("%" PRIu64 " fills: %.3f s, %.0f fills/s (%.0f fills/s net of the generator),"
			    " peak RSS %ld KiB, %zu buckets\n",
			    i + 1, t, (double)(i + 1) / t,
			    (double)(i + 1) / (t - tgen * (double)(i + 1) / (double)n),
			    bench_maxrss_kib(), ledger_nbuckets(l));
		}
	}
	ledger_quote_stats(l, 0, &st);
	{
		char pnl[DEC_STR_MAX], lq[DEC_STR_MAX];
		dec_format(pnl, sizeof(pnl), st.realized_pnl);
		dec_format(lq, sizeof(lq), st.open_long_qty);
		printf("USDT totals: trades %" PRIu64 ", realized %s, open long qty %s\n",
		    st.trades, pnl, lq);
	}
	ledger_free(l);
	free(g);
	return sink == 42;
}

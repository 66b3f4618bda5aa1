/*
 * Connector checkpoints (ops->save/load, xconn_save/xconn_load) against the
 * simulator over real HTTP: the simulator runs in process (exsim_http) so
 * that the test sets its clock (cfg.faults.clock_offset_ms) and two
 * connectors see the very same account state.
 *
 * For every connector and market: A backfills and runs one more cycle, is
 * saved, and B is opened fresh and loaded. The simulator's clock then jumps
 * past an 8-hour funding time (new live fills, Binance USD-M funding) to a
 * time T with no fill in the next seconds; A runs a cycle at T, and B runs
 * one at T too (the clock set back by the time A took). B must emit exactly
 * A's fills, flows and funding (nothing from before the checkpoint), make
 * exactly A's requests for every part but the fills part's fixed public
 * steps (server time, markets) and the forced balances, and the closes it
 * fetches again (the pricebook is not checkpointed). Also: save(load(save))
 * is the same bytes, every strict prefix and a flipped byte anywhere are
 * refused or loaded without a crash, and a checkpoint of another exchange or
 * market is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "core/fill.h"
#include "core/pack.h"
#include "exchange/exchange.h"
#include "exchange/xsync.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include "collect.h"

#define FUNDING_MS EXSIM_FUNDING_PERIOD_MS
/* No fill of the account in [T, T + QUIET_MS]: both final cycles fit. */
#define QUIET_MS 4000

/* ------------------------------------------------------------------ what a cycle reports */

/* collect.h's sink (fills, flows, balances, prices, permissions), plus the
 * funding payments and the distinct series priced. */
struct got {
	struct collected col;		/* first: the sink's arg is the struct */
	char (*funding)[48];
	size_t nfunding, fcap;
	char series[64][FILL_SYMBOL_MAX];
	size_t nseries;
};

static int
g_funding(void *arg, const char *id, int64_t ts, const char *sym, const char *cur, struct dec amount)
{
	struct got *g = arg;

	(void)ts, (void)sym, (void)cur, (void)amount;
	if (g->nfunding == g->fcap) {
		g->fcap = g->fcap ? 2 * g->fcap : 64;
		g->funding = xreallocarray(g->funding, g->fcap, sizeof(*g->funding));
	}
	snprintf(g->funding[g->nfunding++], sizeof(g->funding[0]), "%s", id);
	return 0;
}

static int
g_price(void *arg, const char *sym, int64_t day, struct dec close)
{
	struct got *g = arg;
	size_t i;

	for (i = 0; i < g->nseries && strcmp(g->series[i], sym) != 0; i++)
		;
	if (i == g->nseries) {
		assert_true(g->nseries < 64);
		snprintf(g->series[g->nseries++], FILL_SYMBOL_MAX, "%s", sym);
	}
	return col_price(&g->col, sym, day, close);
}

/* Counted only: Coinbase reports every wallet (hundreds), more than
 * collect.h keeps by name. */
static int
g_balance(void *arg, const char *cur, struct dec total)
{
	(void)cur, (void)total;
	((struct got *)arg)->col.nbalances++;
	return 0;
}

static struct xsink
g_sink(struct got *g)
{
	struct xsink s = col_sink(&g->col);

	s.balance = g_balance;
	s.price = g_price;
	s.funding = g_funding;
	return s;
}

static void
g_clear(struct got *g)
{
	free(g->col.fills);
	free(g->funding);
	memset(g, 0, sizeof(*g));
}

/* By (symbol, id): Binance's trade ids are per symbol. */
static int
fill_key_cmp(const void *x, const void *y)
{
	const struct fill *a = x, *b = y;
	int r = strcmp(a->symbol, b->symbol);

	return r != 0 ? r : strcmp(a->id, b->id);
}

static int
id_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* The flows' ids, then the funding ids, sorted: what must match. */
static char (*ids_of(struct got *g, size_t *n))[48]
{
	char (*ids)[48] = xcalloc(g->col.nflows + g->nfunding + 1, sizeof(*ids));

	*n = 0;
	for (size_t i = 0; i < g->col.nflows; i++)
		snprintf(ids[(*n)++], sizeof(ids[0]), "F:%s", g->col.flows[i].id);
	for (size_t i = 0; i < g->nfunding; i++)
		snprintf(ids[(*n)++], sizeof(ids[0]), "P:%s", g->funding[i]);
	if (*n > 0)
		qsort(ids, *n, sizeof(*ids), id_cmp);
	return ids;
}

/* A and B reported the same fills (every field), flows and funding. */
static void
assert_same(struct got *a, struct got *b)
{
	struct collected *x = &a->col, *y = &b->col;
	char (*ia)[48], (*ib)[48];
	size_t na, nb;

	assert_int_equal(x->nfills, y->nfills);
	if (x->nfills > 0) {
		qsort(x->fills, x->nfills, sizeof(*x->fills), fill_key_cmp);
		qsort(y->fills, y->nfills, sizeof(*y->fills), fill_key_cmp);
	}
	for (size_t i = 0; i < x->nfills; i++) {
		const struct fill *f = &x->fills[i], *h = &y->fills[i];
		if (strcmp(f->id, h->id) != 0 || f->timestamp != h->timestamp || strcmp(f->symbol, h->symbol) != 0 ||
		    f->side != h->side || dec_cmp(f->price, h->price) != 0 || dec_cmp(f->amount, h->amount) != 0 ||
		    f->nfees != h->nfees || f->role != h->role)
			fail_msg("fill %zu: A %s, B %s", i, f->id, h->id);
	}
	ia = ids_of(a, &na);
	ib = ids_of(b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(ia[i], ib[i]);
	free(ia);
	free(ib);
}

/* ------------------------------------------------------------------ the simulator in process */

struct world {
	struct exsim w;
	struct exsim_http *http;
	char base[64];
	const struct exsim_account *a;
};

/* One account of venue/market whose history ends 40 s before a funding time
 * B0 (the world's start); the clock starts a second after it. */
static void
world_start(struct world *wd, const char *venue, enum fill_market m, int64_t *bnd)
{
	struct exsim_config cfg;
	const char *err = NULL;
	int64_t now = time_now_ms();

	exsim_config_default(&cfg);
	cfg.seed = 29;
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = 1200;
	cfg.live_spacing_ms = 5000;
	*bnd = now - now % FUNDING_MS + FUNDING_MS;
	cfg.start_ms = *bnd - 40000;
	cfg.faults.clock_offset_ms = cfg.start_ms + 1000 - now;
	cfg.threads = 2;
	assert_int_equal(exsim_init(&wd->w, &cfg, &err), 0);
	wd->a = NULL;
	for (size_t i = 0; i < wd->w.naccounts; i++)
		if (wd->w.accounts[i].venue == exsim_venue_find(venue) && wd->w.accounts[i].market == m)
			wd->a = &wd->w.accounts[i];
	assert_non_null(wd->a);
	wd->http = exsim_http_start(&wd->w, 0, 2, &err);
	if (wd->http == NULL)
		fail_msg("exsim_http_start: %s", err);
	snprintf(wd->base, sizeof(wd->base), "http://127.0.0.1:%u", (unsigned)exsim_http_port(wd->http));
}

static void
world_stop(struct world *wd)
{
	exsim_http_stop(wd->http);
	exsim_free(&wd->w);
}

/* The simulator's clock now. */
static int64_t
sim_now(const struct world *wd)
{
	return time_now_ms() + wd->w.cfg.faults.clock_offset_ms;
}

/* Sets the simulator's clock to t (no request is in flight: between cycles). */
static void
sim_set(struct world *wd, int64_t t)
{
	wd->w.cfg.faults.clock_offset_ms = t - time_now_ms();
}

/* The first time at or after from with no fill of the account in
 * [T, T + QUIET_MS]. */
static int64_t
quiet_time(const struct exsim_account *a, int64_t from)
{
	for (int64_t t = from;; t += 100) {
		bool quiet = true;
		for (size_t k = 0; k < a->nsymbols && quiet; k++)
			quiet = exsim_visible(a, k, t) == exsim_visible(a, k, t + QUIET_MS);
		if (quiet)
			return t;
	}
}

/* ------------------------------------------------------------------ sessions */

static void
conn_open(struct xconn *c, const struct exchange_ops *ops, enum fill_market m, const char *base)
{
	struct xconf conf = { .market = m, .base_url = base };
	const char *err = NULL;

	if (xconn_open(c, ops, &conf, &err) != 0)
		fail_msg("xconn_open %s: %s", ops->name, err);
}

static void
cycle(struct xconn *c, const struct exsim_account *a, struct got *g, struct xsync_stats *st)
{
	struct credential cred = { a->api_key, strlen(a->api_key), a->secret, strlen(a->secret), a->passphrase,
		strlen(a->passphrase) };
	struct xsink sink = g_sink(g);

	if (xsync_cycle(c, &cred, &sink, 3, st) != 0)
		fail_msg("%s cycle: %d %s", c->ops->name, st->last, st->error);
}

/* Every strict prefix of buf, and buf with any one byte flipped: refused
 * (c then as freshly opened: a later load works), or, for a flip that
 * leaves a valid checkpoint, loaded; never a crash (the sanitizer build
 * runs this too). */
static void
assert_damage_refused(const struct exchange_ops *ops, enum fill_market m, const char *base, const struct pack *buf)
{
	struct xconn c;
	struct unpack r;
	const char *err;
	uint8_t *copy = xmalloc(buf->len);
	size_t loaded = 0;

	for (size_t n = 0; n < buf->len; n++) {
		conn_open(&c, ops, m, base);
		unpack_init(&r, buf->buf, n);
		err = NULL;
		if (xconn_load(&c, &r, &err) == 0)
			fail_msg("%s: a %zu-byte prefix of %zu was loaded", ops->name, n, buf->len);
		assert_non_null(err);
		assert_false(c.validated);
		xconn_close(&c);
	}
	for (size_t i = 0; i < buf->len; i++) {
		memcpy(copy, buf->buf, buf->len);
		copy[i] ^= 0xa5;
		conn_open(&c, ops, m, base);
		unpack_init(&r, copy, buf->len);
		if (xconn_load(&c, &r, &err) == 0)
			loaded++;
		xconn_close(&c);
	}
	/* one more byte at the end */
	conn_open(&c, ops, m, base);
	{
		uint8_t *longer = xmalloc(buf->len + 1);
		memcpy(longer, buf->buf, buf->len);
		longer[buf->len] = 0;
		unpack_init(&r, longer, buf->len + 1);
		assert_int_equal(xconn_load(&c, &r, &err), -1);
		free(longer);
	}
	xconn_close(&c);
	print_message("  %s: %zu prefixes refused; %zu of %zu one-byte flips still load (values in range)\n",
	    ops->name, buf->len, loaded, buf->len);
	free(copy);
}

/* Extra requests B makes per part in its first cycle: the fills part's
 * public steps and forced balances read (the connector's own list), and the
 * daily closes all fetched again (at least one series; A, an hour not
 * passed, fetched none). */
struct extra {
	unsigned fills;			/* server time, markets, forced balances (in the fills part) */
	unsigned balances;		/* forced balances (a part of their own) */
};

/* Saved checkpoints of every run, for the cross-loading test. */
static struct saved {
	const struct exchange_ops *ops;
	enum fill_market market;
	struct pack buf;
} saved[8];
static size_t nsaved;

static void
run(const struct exchange_ops *ops, const char *venue, enum fill_market m, const struct extra *ex)
{
	struct world wd;
	struct xconn A, B;
	struct got g = { 0 }, ga = { 0 }, gb = { 0 };
	struct xsync_stats s0, st, sa, sb;
	struct pack w1, w2;
	struct unpack r;
	const char *err = NULL;
	int64_t bnd, t, t0, old, saved_max = 0;
	bool funding_due = false;

	world_start(&wd, venue, m, &bnd);
	conn_open(&A, ops, m, wd.base);
	cycle(&A, wd.a, &g, &s0);
	assert_true(A.backfill_done);
	assert_true(g.col.nfills > 0);
	cycle(&A, wd.a, &g, &st);
	for (size_t i = 0; i < g.col.nfills; i++)
		if (g.col.fills[i].timestamp > saved_max)
			saved_max = g.col.fills[i].timestamp;

	pack_init(&w1);
	assert_int_equal(xconn_save(&A, &w1), 0);
	conn_open(&B, ops, m, wd.base);
	unpack_init(&r, w1.buf, w1.len);
	if (xconn_load(&B, &r, &err) != 0)
		fail_msg("xconn_load: %s", err);
	/* save(load(save)) is the same bytes */
	pack_init(&w2);
	assert_int_equal(xconn_save(&B, &w2), 0);
	assert_int_equal(w2.len, w1.len);
	assert_memory_equal(w2.buf, w1.buf, w1.len);
	pack_free(&w2);

	/* New activity: past the funding time bnd to a quiet T. */
	t = quiet_time(wd.a, bnd + 5000);
	for (size_t k = 0; k < wd.a->nsymbols; k++) {
		struct exsim_funding f;
		funding_due |= exsim_has_funding(wd.a) && exsim_funding_at(wd.a, k, bnd, &f);
	}
	/* A's clock stays in step with the exchange's across the jump (as
	 * the wall clock would have moved); B syncs its own. */
	old = sim_now(&wd);
	sim_set(&wd, t);
	A.clock_offset_ms += sim_now(&wd) - old;
	t0 = time_now_ms();
	cycle(&A, wd.a, &ga, &sa);
	assert_true(time_now_ms() - t0 < QUIET_MS / 2);
	usleep(50000);	/* Kraken Futures' millisecond nonces: B's start above A's last */
	sim_set(&wd, t);
	t0 = time_now_ms();
	cycle(&B, wd.a, &gb, &sb);
	assert_true(time_now_ms() - t0 < QUIET_MS / 2);
	assert_true(B.validated);
	assert_true(B.backfill_done);

	print_message("%s %s: %zu-byte checkpoint; backfill %u requests (prices %u); requests A %u B %u (fills %u/%u, balances %u/%u, flows %u/%u, "
	    "prices %u/%u, permissions %u/%u); new fills %zu, flows %zu, funding %zu; closes B %zu of %zu series\n", ops->name,
	    m == FILL_SPOT ? "spot" : m == FILL_MARGIN ? "margin" : "futures", w1.len, s0.requests,
	    s0.by_part[XPART_PRICES], sa.requests, sb.requests,
	    sa.by_part[XPART_FILLS], sb.by_part[XPART_FILLS], sa.by_part[XPART_BALANCES], sb.by_part[XPART_BALANCES],
	    sa.by_part[XPART_FLOWS], sb.by_part[XPART_FLOWS], sa.by_part[XPART_PRICES], sb.by_part[XPART_PRICES],
	    sa.by_part[XPART_PERMISSIONS], sb.by_part[XPART_PERMISSIONS], ga.col.nfills, ga.col.nflows,
	    ga.nfunding, gb.col.nprices, gb.nseries);

	/* the same new facts, nothing from before the checkpoint */
	assert_same(&ga, &gb);
	assert_true(ga.col.nfills > 0);
	for (size_t i = 0; i < gb.col.nfills; i++)
		assert_true(gb.col.fills[i].timestamp >= saved_max);
	if (funding_due)
		assert_true(gb.nfunding > 0);
	else
		assert_int_equal(gb.nfunding, 0);
	/* the same requests but the public steps, the forced balances and
	 * the closes */
	assert_int_equal(sb.by_part[XPART_FILLS], sa.by_part[XPART_FILLS] + ex->fills);
	assert_int_equal(sb.by_part[XPART_BALANCES], sa.by_part[XPART_BALANCES] + ex->balances);
	assert_int_equal(sb.by_part[XPART_FLOWS], sa.by_part[XPART_FLOWS]);
	assert_int_equal(sb.by_part[XPART_PERMISSIONS], sa.by_part[XPART_PERMISSIONS]);
	assert_int_equal(sa.by_part[XPART_PRICES], 0);
	/* every series again, as the backfill asked for them: the same
	 * requests (one page each: the history is shorter than a page;
	 * Coinbase's one more is a product it lists no closes for, asked
	 * again as by a fresh session) */
	assert_true(gb.nseries >= 1);
	assert_int_equal(sb.by_part[XPART_PRICES], s0.by_part[XPART_PRICES]);
	assert_true(sb.by_part[XPART_PRICES] >= gb.nseries && sb.by_part[XPART_PRICES] <= gb.nseries + 1);
	assert_int_equal(sb.retries, 0);
	assert_int_equal(sa.retries, 0);

	assert_damage_refused(ops, m, wd.base, &w1);
	assert_true(nsaved < sizeof(saved) / sizeof(saved[0]));
	saved[nsaved++] = (struct saved){ ops, m, w1 };

	xconn_close(&A);
	xconn_close(&B);
	g_clear(&g);
	g_clear(&ga);
	g_clear(&gb);
	world_stop(&wd);
}

/* The cases: B's extra requests in the fills part (and balances part) of
 * its first cycle. Binance: the time, exchangeInfo and the account (forced;
 * margin: and its margin balances), all fills steps. Coinbase: the clock
 * sync (its balances are read every cycle anyway). Kraken: AssetPairs.
 * Kraken Futures: none (nothing but the closes). */
struct ckcase {
	const struct exchange_ops *ops;
	const char *venue;
	enum fill_market market;
	struct extra extra;
};

static struct ckcase cases[] = {
	{ &exchange_binance, "binance", FILL_SPOT, { 3, 0 } },
	{ &exchange_binance, "binance", FILL_MARGIN, { 4, 0 } },
	{ &exchange_binance, "binance", FILL_FUTURES, { 3, 0 } },
	{ &exchange_coinbase, "coinbase", FILL_SPOT, { 1, 0 } },
	{ &exchange_kraken, "kraken", FILL_SPOT, { 1, 0 } },
	{ &exchange_krakenfutures, "krakenfutures", FILL_FUTURES, { 0, 0 } },
};

static void
test_case(void **state)
{
	const struct ckcase *k = *state;

	run(k->ops, k->venue, k->market, &k->extra);
}

/* A checkpoint of one exchange or market is refused by every other. */
static void
test_cross_refused(void **state)
{
	(void)state;
	assert_true(nsaved >= 2);
	for (size_t i = 0; i < nsaved; i++)
		for (size_t j = 0; j < nsaved; j++) {
			struct xconn c;
			struct unpack r;
			const char *err = NULL;
			int rc;

			if (i == j)
				continue;
			conn_open(&c, saved[j].ops, saved[j].market, "http://127.0.0.1:1");
			unpack_init(&r, saved[i].buf.buf, saved[i].buf.len);
			rc = xconn_load(&c, &r, &err);
			assert_int_equal(rc, -1);
			assert_string_equal(err, "checkpoint of another exchange or account type");
			xconn_close(&c);
		}
	for (size_t i = 0; i < nsaved; i++)
		pack_free(&saved[i].buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_case, &cases[0]),
		cmocka_unit_test_prestate(test_case, &cases[1]),
		cmocka_unit_test_prestate(test_case, &cases[2]),
		cmocka_unit_test_prestate(test_case, &cases[3]),
		cmocka_unit_test_prestate(test_case, &cases[4]),
		cmocka_unit_test_prestate(test_case, &cases[5]),
		cmocka_unit_test(test_cross_refused),
	};
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

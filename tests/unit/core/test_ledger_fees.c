/*
 * Third-currency fees (BNB on Binance): pending when applied, converted by
 * ledger_resolve_fees() at the rate of the fill's day. Every expected
 * number is worked out in the comment above its assertions (metrics.md
 * section 4: the converted fee is added to a buy's cost and taken from a
 * sell's proceeds). The last test checks that the figures do not depend on
 * when fees are resolved, which is what lets the daemon (resolving after
 * each cycle) and perfagg analyze (after each batch) agree to the digit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/ledger.h"

#define DAY 86400000LL

static void
check(struct dec d, const char *want, const char *what)
{
	char buf[DEC_STR_MAX];

	dec_format(buf, sizeof(buf), d);
	if (strcmp(buf, want) != 0)
		fail_msg("%s: want %s, got %s", what, want, buf);
}

static struct fill
F(int64_t ts, const char *id, const char *symbol, const char *side, const char *price, const char *amount,
    const char *fee_cost, const char *fee_cur)
{
	struct fill f;
	const char *err;

	memset(&f, 0, sizeof(f));
	f.timestamp = ts;
	snprintf(f.id, sizeof(f.id), "%s", id);
	assert_int_equal(fill_set_symbol(&f, symbol, strlen(symbol), &err), 0);
	f.side = strcmp(side, "buy") == 0 ? FILL_BUY : FILL_SELL;
	f.market = strchr(symbol, ':') != NULL ? FILL_FUTURES : FILL_SPOT;
	f.price = D(price);
	f.amount = D(amount);
	if (fee_cost != NULL)
		assert_int_equal(fill_add_fee(&f, D(fee_cost), fee_cur, &err), 0);
	return f;
}

static void
apply(struct ledger *l, struct fill f)
{
	enum ledger_outcome o;
	const char *err = NULL;

	if (ledger_apply(l, &f, &o, &err) != 0)
		fail_msg("apply: %s", err);
	assert_int_equal(o, LEDGER_APPLIED);
}

/* Rates by (currency, quote, day); day -1 = every day. */
struct rates {
	struct {
		const char *cur, *quote;
		int64_t day;
		const char *num, *den;
	} r[16];
	size_t n;
	int64_t known_before;	/* only days < this are known (INT64_MAX: all) */
	unsigned asked;
};

static int
rate(void *arg, const char *cur, const char *quote, int64_t day, struct dec *num, struct dec *den)
{
	struct rates *t = arg;

	t->asked++;
	if (day >= t->known_before)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->r[i].cur, cur) == 0 && strcmp(t->r[i].quote, quote) == 0 &&
		    (t->r[i].day == day || t->r[i].day == -1)) {
			*num = D(t->r[i].num);
			*den = D(t->r[i].den != NULL ? t->r[i].den : "1");
			return 0;
		}
	return -1;
}

static void
resolve(struct ledger *l, struct rates *t, size_t want)
{
	const char *err = NULL;
	size_t n = 0;

	if (ledger_resolve_fees(l, rate, t, &n, &err) != 0)
		fail_msg("resolve: %s", err);
	assert_int_equal(n, want);
}

static void
stats(struct ledger *l, size_t i, struct ledger_stats *st)
{
	assert_true(i < ledger_nsymbols(l));
	ledger_symbol_stats(l, i, st);
}

static const char *
amount_of(const struct ledger_amount *v, size_t n, const char *cur, char buf[DEC_STR_MAX])
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].currency, cur) == 0) {
			dec_format(buf, DEC_STR_MAX, v[i].amount);
			return buf;
		}
	return "absent";
}

static struct rates
bnb_rates(void)
{
	struct rates t = { .n = 2, .known_before = INT64_MAX };

	t.r[0].cur = t.r[1].cur = "BNB";
	t.r[0].quote = t.r[1].quote = "USDT";
	t.r[0].day = 0;
	t.r[0].num = "300";
	t.r[1].day = 1;
	t.r[1].num = "200";
	return t;
}

/*
 * buy 1 @ 100, fee 0.001 BNB on day 0 (BNB = 300 USDT): 0.3, cost 100.3.
 * sell 1 @ 110, fee 0.001 BNB on day 1 (BNB = 200): 0.2, proceeds 109.8.
 * PnL 9.5, basis 100.3, fees_quote 0.5, one win.
 */
static void
test_buy_then_sell_resolved_after(void **state)
{
	struct ledger *l = ledger_new();
	struct rates t = bnb_rates();
	struct ledger_stats st;
	struct ledger_conversion c;
	char b[DEC_STR_MAX];

	(void)state;
	apply(l, F(10, "1", "BTC/USDT", "buy", "100", "1", "0.001", "BNB"));
	apply(l, F(DAY + 10, "2", "BTC/USDT", "sell", "110", "1", "0.001", "BNB"));
	stats(l, 0, &st);
	check(st.realized_pnl, "10", "pnl before");
	assert_int_equal(st.fees_pending, 2);
	assert_int_equal(st.trips_pending, 1);
	assert_int_equal(st.wins, 0);
	resolve(l, &t, 2);
	stats(l, 0, &st);
	check(st.realized_pnl, "9.5", "pnl");
	check(st.closed_basis, "100.3", "basis");
	check(st.fees_quote, "0.5", "fees quote");
	check(st.gross_win, "9.5", "gross win");
	assert_int_equal(st.wins, 1);
	assert_int_equal(st.fees_pending, 0);
	assert_int_equal(st.trips_pending, 0);
	assert_int_equal(st.nfees_unconverted, 0);
	assert_string_equal(amount_of(st.fees, st.nfees, "BNB", b), "0.002");
	assert_int_equal(ledger_quote_stats(l, 0, &st), 0);
	check(st.realized_pnl, "9.5", "total pnl");
	assert_int_equal(st.wins, 1);
	/* the hourly buckets: the buy's hour has its fee, the sell's its PnL */
	{
		struct ledger_bucket bk;
		assert_int_equal(ledger_nbuckets(l), 2);
		ledger_bucket(l, 0, &bk);
		check(bk.fees_quote, "0.3", "bucket 0 fees");
		check(bk.realized_pnl, "0", "bucket 0 pnl");
		ledger_bucket(l, 1, &bk);
		check(bk.fees_quote, "0.2", "bucket 1 fees");
		check(bk.realized_pnl, "9.5", "bucket 1 pnl");
		check(bk.closed_basis, "100.3", "bucket 1 basis");
	}
	assert_int_equal(ledger_nconversions(l), 1);
	ledger_conversion(l, 0, &c);
	assert_string_equal(c.currency, "BNB");
	assert_string_equal(c.quote, "USDT");
	check(c.total, "0.002", "conv total");
	check(c.converted, "0.002", "converted");
	check(c.converted_quote, "0.5", "converted quote");
	check(c.pending, "0", "pending");
	assert_int_equal(c.fills, 2);
	assert_int_equal(c.pending_fills, 0);
	/* nothing left to ask */
	t.asked = 0;
	resolve(l, &t, 0);
	assert_int_equal(t.asked, 0);
	ledger_free(l);
}

/* The same fills resolved before the sell, and one day at a time: the same
 * figures. In between: the open cost holds the converted buy fee; with the
 * sell's fee pending, PnL 9.7 and the round trip is not counted yet. */
static void
test_resolved_before_sell_and_day_by_day(void **state)
{
	struct ledger *l = ledger_new();
	struct rates t = bnb_rates();
	struct ledger_stats st;
	char b[DEC_STR_MAX];

	(void)state;
	t.known_before = 1;
	apply(l, F(10, "1", "BTC/USDT", "buy", "100", "1", "0.001", "BNB"));
	stats(l, 0, &st);
	check(st.open_long_cost, "100", "open cost pending");
	resolve(l, &t, 1);
	stats(l, 0, &st);
	check(st.open_long_cost, "100.3", "open cost converted");
	apply(l, F(DAY + 10, "2", "BTC/USDT", "sell", "110", "1", "0.001", "BNB"));
	resolve(l, &t, 0);	/* day 1 not known yet */
	stats(l, 0, &st);
	check(st.realized_pnl, "9.7", "pnl, sell fee pending");
	check(st.closed_basis, "100.3", "basis");
	check(st.open_long_cost, "0", "flat");
	assert_int_equal(st.trips_pending, 1);
	assert_int_equal(st.wins, 0);
	assert_string_equal(amount_of(st.fees_unconverted, st.nfees_unconverted, "BNB", b), "0.001");
	t.known_before = INT64_MAX;
	resolve(l, &t, 1);
	stats(l, 0, &st);
	check(st.realized_pnl, "9.5", "pnl");
	check(st.closed_basis, "100.3", "basis");
	check(st.fees_quote, "0.5", "fees quote");
	assert_int_equal(st.wins, 1);
	assert_int_equal(st.nfees_unconverted, 0);
	ledger_free(l);
}

/*
 * A lot closed in parts: buy 3 for 300, fee 0.001 BNB (BNB = 300: 0.3);
 * sell 1 @ 110, then 2 @ 120, no fee. The lot's BNB is given out pro rata
 * in BNB: 0.001 * 1/3 = 0.000333333333333333 (rounded), worth
 * C(0.000333333333333333) = 0.0999999999999999; the last close takes the
 * rest, worth C(0.001) - C(0.000333333333333333) = 0.2000000000000001:
 * exactly 0.3 in all. PnL 110 - 100.0999999999999999 = 9.9000000000000001,
 * then 240 - 200.2000000000000001 = 39.7999999999999999; 49.7 in all.
 * The fee is resolved between the sells once, and after both once more:
 * the same figures.
 */
static void
partial(bool between, struct ledger_stats *out, struct ledger **lp)
{
	struct ledger *l = ledger_new();
	struct rates t = bnb_rates();

	apply(l, F(10, "1", "ETH/USDT", "buy", "100", "3", "0.001", "BNB"));
	apply(l, F(20, "2", "ETH/USDT", "sell", "110", "1", NULL, NULL));
	if (between) {
		struct ledger_stats st;
		resolve(l, &t, 1);
		stats(l, 0, &st);
		check(st.realized_pnl, "9.9000000000000001", "pnl 1");
		check(st.open_long_cost, "200.2000000000000001", "open cost after 1");
	}
	apply(l, F(30, "3", "ETH/USDT", "sell", "120", "2", NULL, NULL));
	resolve(l, &t, between ? 0 : 1);
	stats(l, 0, out);
	*lp = l;
}

static void
test_partial_lot(void **state)
{
	struct ledger *a, *b;
	struct ledger_stats x, y;

	(void)state;
	partial(true, &x, &a);
	partial(false, &y, &b);
	check(x.realized_pnl, "49.7", "pnl");
	check(x.closed_basis, "300.3", "basis");
	check(x.fees_quote, "0.3", "fees");
	assert_int_equal(x.wins, 2);
	assert_int_equal(dec_cmp(x.realized_pnl, y.realized_pnl), 0);
	assert_int_equal(dec_cmp(x.closed_basis, y.closed_basis), 0);
	check(x.gross_win, "49.7", "gross win");
	check(y.gross_win, "49.7", "gross win, resolved at the end");
	ledger_free(a);
	ledger_free(b);
}

/*
 * Futures short: sell 1 @ 100, fee 0.001 BNB (day 0: 0.3): proceeds 99.7;
 * buy 1 @ 90, fee 0.001 BNB (day 1: 0.2): cost 90.2. PnL 9.5, basis 99.7.
 */
static void
test_short(void **state)
{
	struct ledger *l = ledger_new();
	struct rates t = bnb_rates();
	struct ledger_stats st;

	(void)state;
	apply(l, F(10, "1", "BTC/USDT:USDT", "sell", "100", "1", "0.001", "BNB"));
	stats(l, 0, &st);
	check(st.open_short_proceeds, "100", "proceeds, fee pending");
	t.known_before = 1;
	resolve(l, &t, 1);
	stats(l, 0, &st);
	check(st.open_short_proceeds, "99.7", "proceeds, fee converted");
	t.known_before = INT64_MAX;
	apply(l, F(DAY + 10, "2", "BTC/USDT:USDT", "buy", "90", "1", "0.001", "BNB"));
	resolve(l, &t, 1);
	stats(l, 0, &st);
	check(st.realized_pnl, "9.5", "pnl");
	check(st.closed_basis, "99.7", "basis");
	check(st.open_short_qty, "0", "flat");
	check(st.open_short_proceeds, "0", "flat proceeds");
	assert_int_equal(st.wins, 1);
	ledger_free(l);
}

/* Rebates: buy 1 @ 100 fee -0.001 BNB (BNB = 300: -0.3): cost 99.7; sell 1
 * @ 100 fee -0.001 BNB: proceeds 100.3. PnL 0.6, fees_quote -0.6. */
static void
test_rebate(void **state)
{
	struct ledger *l = ledger_new();
	struct rates t = bnb_rates();
	struct ledger_stats st;

	(void)state;
	apply(l, F(10, "1", "BTC/USDT", "buy", "100", "1", "-0.001", "BNB"));
	apply(l, F(20, "2", "BTC/USDT", "sell", "100", "1", "-0.001", "BNB"));
	stats(l, 0, &st);
	check(st.realized_pnl, "0", "pnl pending");
	assert_int_equal(st.losses + st.wins, 0);
	resolve(l, &t, 2);
	stats(l, 0, &st);
	check(st.realized_pnl, "0.6", "pnl");
	check(st.closed_basis, "99.7", "basis");
	check(st.fees_quote, "-0.6", "fees quote");
	assert_int_equal(st.wins, 1);
	ledger_free(l);
}

/* A fee and a rebate pending at once (summing to 0) stay listed; no rate:
 * everything stays pending, and the conversion says from when to when. */
static void
test_pending_without_rate(void **state)
{
	struct ledger *l = ledger_new();
	struct rates t = bnb_rates();
	struct ledger_stats st;
	struct ledger_conversion c;
	char b[DEC_STR_MAX];

	(void)state;
	apply(l, F(5 * DAY + 1, "1", "BTC/USDT", "buy", "100", "1", "0.001", "BNB"));
	apply(l, F(6 * DAY + 2, "2", "BTC/USDT", "sell", "100", "0.5", "-0.001", "BNB"));
	resolve(l, &t, 0);
	stats(l, 0, &st);
	assert_int_equal(st.nfees_unconverted, 1);
	assert_string_equal(amount_of(st.fees_unconverted, st.nfees_unconverted, "BNB", b), "0");
	assert_int_equal(st.fees_pending, 2);
	check(st.open_long_cost, "50", "open cost without the fee");
	ledger_conversion(l, 0, &c);
	check(c.total, "0", "total");
	check(c.converted, "0", "converted");
	assert_int_equal(c.pending_fills, 2);
	assert_true(c.pending_first == 5 * DAY + 1 && c.pending_last == 6 * DAY + 2);
	assert_int_equal(ledger_fees_pending(l), 2);
	/* a bad rate is an error, the fee stays pending */
	{
		struct rates bad = { .n = 1, .known_before = INT64_MAX };
		const char *err = NULL;
		bad.r[0].cur = "BNB";
		bad.r[0].quote = "USDT";
		bad.r[0].day = -1;
		bad.r[0].num = "0";
		assert_int_equal(ledger_resolve_fees(l, rate, &bad, NULL, &err), -1);
		assert_non_null(err);
		assert_int_equal(ledger_fees_pending(l), 2);
	}
	ledger_free(l);
}

/* A cross rate: a fee of 0.002 BNB on ETH/BTC with BNB/USDT 300 and
 * BTC/USDT 60000 is 0.002 * 300 / 60000 = 0.00001 BTC. */
static void
test_cross_rate(void **state)
{
	struct ledger *l = ledger_new();
	struct rates t = { .n = 1, .known_before = INT64_MAX };
	struct ledger_stats st;

	(void)state;
	t.r[0].cur = "BNB";
	t.r[0].quote = "BTC";
	t.r[0].day = 0;
	t.r[0].num = "300";
	t.r[0].den = "60000";
	apply(l, F(10, "1", "ETH/BTC", "buy", "0.05", "1", "0.002", "BNB"));
	resolve(l, &t, 1);
	stats(l, 0, &st);
	check(st.open_long_cost, "0.05001", "cost");
	check(st.fees_quote, "0.00001", "fees");
	ledger_free(l);
}

/*
 * Oversell on spot with a BNB fee (BNB = 100): buy 1 @ 100; sell 3 @ 110,
 * fee 0.003 BNB (0.3). The close of the lot takes 1/3 of it (0.1): PnL 10 -
 * 0.1 = 9.9. zero-cost: the other 2 realize 220 - 0.2: 229.7 in all. skip:
 * the other 2 are ignored, and so is their part of the fee: 9.9. fees_quote
 * is the whole fee either way.
 */
static void
test_oversell_with_fee(void **state)
{
	enum ledger_oversell p[] = { LEDGER_OVERSELL_ZERO_COST, LEDGER_OVERSELL_SKIP };
	const char *want[] = { "229.7", "9.9" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct ledger *l = ledger_new();
		struct rates t = { .n = 1, .known_before = INT64_MAX };
		struct ledger_stats st;
		t.r[0].cur = "BNB";
		t.r[0].quote = "USDT";
		t.r[0].day = 0;
		t.r[0].num = "100";
		ledger_set_oversell(l, p[i]);
		apply(l, F(10, "1", "BTC/USDT", "buy", "100", "1", NULL, NULL));
		apply(l, F(20, "2", "BTC/USDT", "sell", "110", "3", "0.003", "BNB"));
		resolve(l, &t, 1);
		stats(l, 0, &st);
		check(st.realized_pnl, want[i], "pnl");
		check(st.closed_basis, "100", "basis");
		check(st.fees_quote, "0.3", "fees");
		check(st.unmatched_sell_qty, "2", "unmatched");
		ledger_free(l);
	}
}

/* ---- the figures do not depend on when fees are resolved ---- */

static uint64_t
lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

#define NFILLS 600

static void
scenario(struct fill *v)
{
	static const char *const syms[] = { "BTC/USDT", "ETH/USDT:USDT", "ETH/BTC" };
	static const char *const prices[] = { "100.37", "99.9", "101.03", "97.7", "0.0513", "3.3" };
	static const char *const amounts[] = { "1", "0.3", "2.7", "0.7", "1.3", "0.1" };
	static const char *const fees[] = { "0.000713", "-0.0000137", "0.0019", "0.00000001" };
	uint64_t s = 42;

	for (int i = 0; i < NFILLS; i++) {
		unsigned r = (unsigned)lcg(&s);
		const char *sym = syms[r % 3], *fc = NULL, *cur = NULL;
		char id[16];
		unsigned k = (unsigned)lcg(&s);

		snprintf(id, sizeof(id), "%d", i);
		if (k % 5 < 3) {
			fc = fees[k % 4];
			cur = "BNB";
		} else if (k % 5 == 3) {
			fc = "0.01";
			cur = strchr(sym, ':') != NULL ? "USDT" : strstr(sym, "BTC") == sym ? "BTC" : "ETH";
		}
		v[i] = F((int64_t)i * DAY / 37 + 5, id, sym, lcg(&s) % 2 ? "buy" : "sell",
		    prices[lcg(&s) % 6], amounts[lcg(&s) % 6], fc, cur);
		if (fc != NULL && k % 7 == 0) {	/* a second third-currency fee */
			const char *err;
			assert_int_equal(fill_add_fee(&v[i], D("0.5"), "KFEE", &err), 0);
		}
	}
}

static struct rates
all_rates(void)
{
	struct rates t = { .n = 4, .known_before = INT64_MAX };

	t.r[0].cur = t.r[1].cur = "BNB";
	t.r[2].cur = t.r[3].cur = "KFEE";
	t.r[3].quote = "BTC";
	t.r[3].day = -1;
	t.r[3].num = "0.0001";
	t.r[3].den = "61234.5";
	t.r[0].quote = t.r[2].quote = "USDT";
	t.r[1].quote = "BTC";
	t.r[0].day = t.r[1].day = t.r[2].day = -1;
	t.r[0].num = "301.123456789";
	t.r[1].num = "301.123456789";
	t.r[1].den = "61234.5";
	t.r[2].num = "0.0001";
	return t;
}

static void
same_stats(const struct ledger_stats *a, const struct ledger_stats *b, const char *what)
{
	const struct dec *x[] = { &a->realized_pnl, &a->closed_basis, &a->fees_quote, &a->gross_win, &a->gross_loss,
		&a->open_long_qty, &a->open_long_cost, &a->open_short_qty, &a->open_short_proceeds, &a->unmatched_sell_qty };
	const struct dec *y[] = { &b->realized_pnl, &b->closed_basis, &b->fees_quote, &b->gross_win, &b->gross_loss,
		&b->open_long_qty, &b->open_long_cost, &b->open_short_qty, &b->open_short_proceeds, &b->unmatched_sell_qty };

	for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		if (dec_cmp(*x[i], *y[i]) != 0) {
			char p[DEC_STR_MAX], q[DEC_STR_MAX];
			dec_format(p, sizeof(p), *x[i]);
			dec_format(q, sizeof(q), *y[i]);
			fail_msg("%s field %zu: %s vs %s", what, i, p, q);
		}
	assert_int_equal(a->wins, b->wins);
	assert_int_equal(a->losses, b->losses);
	assert_int_equal(a->fees_pending, b->fees_pending);
	assert_int_equal(a->trips_pending, b->trips_pending);
}

static void
test_resolve_timing_does_not_matter(void **state)
{
	static struct fill v[NFILLS];
	struct ledger *each = ledger_new(), *end = ledger_new(), *late = ledger_new();
	struct rates t = all_rates(), tl = all_rates();
	const char *err = NULL;
	bool some_pending_trip = false;

	(void)state;
	scenario(v);
	ledger_set_oversell(end, LEDGER_OVERSELL_SHORT);
	ledger_set_oversell(each, LEDGER_OVERSELL_SHORT);
	ledger_set_oversell(late, LEDGER_OVERSELL_SHORT);
	for (int i = 0; i < NFILLS; i++) {
		struct ledger_stats st;
		apply(each, v[i]);
		apply(end, v[i]);
		apply(late, v[i]);
		assert_int_equal(ledger_resolve_fees(each, rate, &t, NULL, &err), 0);
		/* late: a day's rate is known two days after it, resolved every 5 fills */
		tl.known_before = v[i].timestamp / DAY - 1;
		if (i % 5 == 0)
			assert_int_equal(ledger_resolve_fees(late, rate, &tl, NULL, &err), 0);
		ledger_symbol_stats(late, 0, &st);
		some_pending_trip = some_pending_trip || st.trips_pending > 0;
	}
	assert_true(some_pending_trip);
	assert_true(ledger_fees_pending(end) > 100);
	tl.known_before = INT64_MAX;
	assert_int_equal(ledger_resolve_fees(end, rate, &t, NULL, &err), 0);
	assert_int_equal(ledger_resolve_fees(late, rate, &tl, NULL, &err), 0);
	assert_int_equal(ledger_fees_pending(end), 0);
	for (size_t i = 0; i < ledger_nsymbols(end); i++) {
		struct ledger_stats a, b, c;
		ledger_symbol_stats(each, i, &a);
		ledger_symbol_stats(end, i, &b);
		ledger_symbol_stats(late, i, &c);
		same_stats(&a, &b, "each/end");
		same_stats(&a, &c, "each/late");
		assert_true(a.wins + a.losses > 10);
	}
	for (size_t i = 0; i < ledger_nquotes(end); i++) {
		struct ledger_stats a, b;
		assert_int_equal(ledger_quote_stats(each, i, &a), 0);
		assert_int_equal(ledger_quote_stats(late, i, &b), 0);
		same_stats(&a, &b, "quote");
	}
	assert_int_equal(ledger_nbuckets(each), ledger_nbuckets(late));
	for (size_t i = 0; i < ledger_nbuckets(each); i++) {
		struct ledger_bucket a, b;
		ledger_bucket(each, i, &a);
		ledger_bucket(late, i, &b);
		assert_int_equal(dec_cmp(a.realized_pnl, b.realized_pnl), 0);
		assert_int_equal(dec_cmp(a.closed_basis, b.closed_basis), 0);
		assert_int_equal(dec_cmp(a.fees_quote, b.fees_quote), 0);
	}
	for (size_t i = 0; i < ledger_nconversions(each); i++) {
		struct ledger_conversion a, b;
		ledger_conversion(each, i, &a);
		ledger_conversion(late, i, &b);
		assert_int_equal(dec_cmp(a.converted_quote, b.converted_quote), 0);
		assert_int_equal(dec_cmp(a.converted, a.total), 0);
	}
	ledger_free(each);
	ledger_free(end);
	ledger_free(late);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buy_then_sell_resolved_after),
		cmocka_unit_test(test_resolved_before_sell_and_day_by_day),
		cmocka_unit_test(test_partial_lot),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_rebate),
		cmocka_unit_test(test_pending_without_rate),
		cmocka_unit_test(test_cross_rate),
		cmocka_unit_test(test_oversell_with_fee),
		cmocka_unit_test(test_resolve_timing_does_not_matter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Hand-checked FIFO cases. Every expected number is worked out in the
 * comment above its assertions, from metrics.md section 4.
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

static void
check(struct dec d, const char *want, const char *what)
{
	char buf[DEC_STR_MAX];

	dec_format(buf, sizeof(buf), d);
	if (strcmp(buf, want) != 0)
		fail_msg("%s: want %s, got %s", what, want, buf);
}

/* A fill; cost NULL = absent; fee NULL = none. "fee" is "cost CUR". */
static struct fill
F(int64_t ts, const char *id, const char *symbol, const char *side, const char *price,
    const char *amount, const char *cost, const char *fee_cost, const char *fee_cur)
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
	if (cost != NULL) {
		f.cost = D(cost);
		f.has_cost = true;
	}
	if (fee_cost != NULL)
		assert_int_equal(fill_add_fee(&f, D(fee_cost), fee_cur, &err), 0);
	return f;
}

static void
apply(struct ledger *l, struct fill f, enum ledger_outcome want)
{
	enum ledger_outcome o;
	const char *err = NULL;

	if (ledger_apply(l, &f, &o, &err) != 0)
		fail_msg("apply: %s", err);
	assert_int_equal(o, want);
}

static void
sym(struct ledger *l, size_t i, struct ledger_stats *st)
{
	assert_true(i < ledger_nsymbols(l));
	ledger_symbol_stats(l, i, st);
}

static const char *
fee_of(const struct ledger_amount *v, size_t n, const char *cur, char buf[DEC_STR_MAX])
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].currency, cur) == 0) {
			dec_format(buf, DEC_STR_MAX, v[i].amount);
			return buf;
		}
	return "absent";
}

static void
test_round_trip_quote_fee(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	char b[DEC_STR_MAX];

	(void)state;
	/* buy 1 @ 100 fee 0.1 USDT: lot (1, 100.1). sell 1 @ 110 fee 0.11 USDT:
	 * proceeds 109.89. PnL 109.89 - 100.1 = 9.79, basis 100.1. */
	apply(l, F(1000, "1", "BTC/USDT", "buy", "100", "1", NULL, "0.1", "USDT"), LEDGER_APPLIED);
	apply(l, F(2000, "2", "BTC/USDT", "sell", "110", "1", NULL, "0.11", "USDT"), LEDGER_APPLIED);
	sym(l, 0, &st);
	assert_string_equal(st.name, "BTC/USDT");
	assert_string_equal(st.quote, "USDT");
	check(st.realized_pnl, "9.79", "pnl");
	check(st.closed_basis, "100.1", "basis");
	check(st.volume_base, "2", "vol base");
	check(st.volume_quote, "210", "vol quote");
	check(st.fees_quote, "0.21", "fees quote");
	assert_string_equal(fee_of(st.fees, st.nfees, "USDT", b), "0.21");
	assert_int_equal(st.nfees_unconverted, 0);
	assert_int_equal(st.trades, 2);
	assert_int_equal(st.wins, 1);
	assert_int_equal(st.losses, 0);
	check(st.gross_win, "9.79", "gross win");
	check(st.open_long_qty, "0", "open");
	check(st.open_long_cost, "0", "open cost");
	assert_true(st.first_fill == 1000 && st.last_fill == 2000);
	ledger_free(l);
}

static void
test_base_fee(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	char b[DEC_STR_MAX];

	(void)state;
	/* buy 1 @ 100 fee 0.001 BTC: lot (0.999, 100). sell 0.999 @ 110: proceeds
	 * 109.89, PnL 9.89, basis 100. fees_quote = 0.001 * 100 = 0.1. */
	apply(l, F(1, "1", "BTC/USDT", "buy", "100", "1", NULL, "0.001", "BTC"), LEDGER_APPLIED);
	apply(l, F(2, "2", "BTC/USDT", "sell", "110", "0.999", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "9.89", "pnl");
	check(st.closed_basis, "100", "basis");
	check(st.fees_quote, "0.1", "fees quote");
	assert_string_equal(fee_of(st.fees, st.nfees, "BTC", b), "0.001");
	check(st.open_long_qty, "0", "flat");
	check(st.volume_base, "1.999", "vol base");

	/* sell side: buy 2 @ 100 (lot 2, 200); sell 1 @ 110 fee 0.01 ETH takes
	 * 1.01 from the lot: part 200*1.01/2 = 101, proceeds 110, PnL 9.
	 * Open 0.99 at cost 99. fees_quote 0.01 * 110 = 1.1. */
	apply(l, F(1, "1", "ETH/USDT", "buy", "100", "2", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(2, "2", "ETH/USDT", "sell", "110", "1", NULL, "0.01", "ETH"), LEDGER_APPLIED);
	sym(l, 1, &st);
	check(st.realized_pnl, "9", "pnl");
	check(st.closed_basis, "101", "basis");
	check(st.open_long_qty, "0.99", "open qty");
	check(st.open_long_cost, "99", "open cost");
	check(st.fees_quote, "1.1", "fees quote");
	ledger_free(l);
}

/* Applying a third-currency fee leaves it pending (conversion:
 * test_ledger_fees.c): PnL without it, listed in fees_unconverted. */
static void
test_third_currency_fee_pending(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	char b[DEC_STR_MAX];

	(void)state;
	apply(l, F(1, "1", "BTC/EUR", "buy", "100", "1", NULL, "0.001", "BNB"), LEDGER_APPLIED);
	apply(l, F(2, "2", "BTC/EUR", "sell", "110", "1", NULL, "0.001", "BNB"), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "10", "pnl without rate");
	check(st.closed_basis, "100", "basis without rate");
	check(st.fees_quote, "0", "fees quote without rate");
	assert_string_equal(fee_of(st.fees, st.nfees, "BNB", b), "0.002");
	assert_string_equal(fee_of(st.fees_unconverted, st.nfees_unconverted, "BNB", b), "0.002");
	assert_int_equal(st.fees_pending, 2);
	assert_int_equal(st.trips_pending, 1);
	assert_int_equal(st.wins, 0);
	assert_int_equal(ledger_fees_pending(l), 2);
	ledger_free(l);
}

static void
test_partial_lots_exact_remainder(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;

	(void)state;
	/* buy 3 for cost 10: lot (3, 10). Three sells of 1 @ 5:
	 * 1st: part = 10*1/3 = 3.333333333333333333(3..) -> 3.333333333333333333,
	 *      PnL 1.666666666666666667; lot (2, 6.666666666666666667).
	 * 2nd: part = 6.666666666666666667/2 = 3.3333333333333333335, a tie,
	 *      to even -> 3.333333333333333334, PnL 1.666666666666666666;
	 *      lot (1, 3.333333333333333333).
	 * 3rd: empties the lot: exact remainder 3.333333333333333333,
	 *      PnL 1.666666666666666667.
	 * Total PnL 5 and basis 10 exactly: nothing lost to rounding. */
	apply(l, F(1, "1", "X/USD", "buy", "3.3", "3", "10", NULL, NULL), LEDGER_APPLIED);
	apply(l, F(2, "2", "X/USD", "sell", "5", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "1.666666666666666667", "pnl 1");
	check(st.open_long_cost, "6.666666666666666667", "cost left 1");
	apply(l, F(3, "3", "X/USD", "sell", "5", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "3.333333333333333333", "pnl 2");
	check(st.open_long_cost, "3.333333333333333333", "cost left 2");
	apply(l, F(4, "4", "X/USD", "sell", "5", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "5", "pnl total");
	check(st.closed_basis, "10", "basis total");
	check(st.open_long_cost, "0", "flat");
	assert_int_equal(st.wins, 3);

	/* one sell across two lots: buy 1 @ 10, buy 1 @ 20, sell 1.5 @ 30 (45):
	 * lot 1 whole: fill part 45*1/1.5 = 30, PnL 20; lot 2 half: part
	 * 20*0.5/1 = 10, fill part = the remaining 15, PnL 5. PnL 25, basis 20,
	 * one round trip; open (0.5, 10). */
	apply(l, F(1, "1", "Y/USD", "buy", "10", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(2, "2", "Y/USD", "buy", "20", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(3, "3", "Y/USD", "sell", "30", "1.5", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 1, &st);
	check(st.realized_pnl, "25", "pnl");
	check(st.closed_basis, "20", "basis");
	check(st.open_long_qty, "0.5", "open qty");
	check(st.open_long_cost, "10", "open cost");
	assert_int_equal(st.wins, 1);
	ledger_free(l);
}

static void
test_shorts_and_mark(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	struct dec u;

	(void)state;
	/* futures (contract symbol): default short. sell 2 @ 100: short lot
	 * (2, 200). buy 1 @ 90 fee 0.09 USDT (cost 90.09) covers 1: lot part 100,
	 * PnL 100 - 90.09 = 9.91, basis 100. Mark at 95 now: short (1, 100):
	 * 100 - 95 = 5. buy 2 @ 110 (220): covers the last 1 (lot part 100, fill
	 * part 220*1/2 = 110, PnL -10), then opens long (1, 110).
	 * Total PnL -0.09, basis 200, 1 win 1 loss. Mark at 120: 120-110 = 10. */
	apply(l, F(1, "1", "BTC/USDT:USDT", "sell", "100", "2", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.open_short_qty, "2", "short qty");
	check(st.open_short_proceeds, "200", "short proceeds");
	check(st.unmatched_sell_qty, "0", "unmatched");
	apply(l, F(2, "2", "BTC/USDT:USDT", "buy", "90", "1", NULL, "0.09", "USDT"), LEDGER_APPLIED);
	assert_int_equal(ledger_mark(l, "BTC/USDT:USDT", D("95"), &u), 0);
	check(u, "5", "unrealized short");
	apply(l, F(3, "3", "BTC/USDT:USDT", "buy", "110", "2", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "-0.09", "pnl");
	check(st.closed_basis, "200", "basis");
	check(st.gross_win, "9.91", "gross win");
	check(st.gross_loss, "-10", "gross loss");
	assert_int_equal(st.wins, 1);
	assert_int_equal(st.losses, 1);
	check(st.open_short_qty, "0", "short closed");
	check(st.open_long_qty, "1", "long qty");
	check(st.open_long_cost, "110", "long cost");
	assert_int_equal(ledger_mark(l, "BTC/USDT:USDT", D("120"), &u), 0);
	check(u, "10", "unrealized long");
	assert_int_equal(ledger_mark(l, "NOPE/USDT", D("120"), &u), 0);
	check(u, "0", "unknown symbol");
	ledger_free(l);
}

/* buy 1 @ 100, then sell 3 @ 110 (330) under policy p on spot. */
static void
oversell(enum ledger_oversell p, struct ledger_stats *st)
{
	struct ledger *l = ledger_new();

	ledger_set_oversell(l, p);
	apply(l, F(1, "1", "BTC/USDT", "buy", "100", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(2, "2", "BTC/USDT", "sell", "110", "3", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, st);
	st->name = st->quote = NULL;	/* freed below */
	st->fees = st->fees_unconverted = NULL;
	ledger_free(l);
}

static void
test_oversell_policies(void **state)
{
	struct ledger_stats st;

	(void)state;
	/* the lot of 1 closes against 330*1/3 = 110: PnL 10, basis 100. The
	 * excess 2 units carry proceeds 220. */
	/* zero-cost (the spot default): +220 at zero cost, PnL 230, unmatched 2 */
	oversell(LEDGER_OVERSELL_DEFAULT, &st);
	check(st.realized_pnl, "230", "default spot pnl");
	check(st.unmatched_sell_qty, "2", "default spot unmatched");
	oversell(LEDGER_OVERSELL_ZERO_COST, &st);
	check(st.realized_pnl, "230", "zero-cost pnl");
	check(st.closed_basis, "100", "zero-cost basis");
	check(st.unmatched_sell_qty, "2", "zero-cost unmatched");
	check(st.open_short_qty, "0", "zero-cost no short");
	assert_int_equal(st.wins, 1);
	/* skip: excess ignored: PnL 10, unmatched 2, no short */
	oversell(LEDGER_OVERSELL_SKIP, &st);
	check(st.realized_pnl, "10", "skip pnl");
	check(st.closed_basis, "100", "skip basis");
	check(st.unmatched_sell_qty, "2", "skip unmatched");
	check(st.open_short_qty, "0", "skip no short");
	check(st.volume_base, "4", "skip still counts volume");
	/* short: PnL 10, short lot (2, 220), nothing unmatched */
	oversell(LEDGER_OVERSELL_SHORT, &st);
	check(st.realized_pnl, "10", "short pnl");
	check(st.open_short_qty, "2", "short qty");
	check(st.open_short_proceeds, "220", "short proceeds");
	check(st.unmatched_sell_qty, "0", "short unmatched");
}

static void
test_margin_default_short(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	struct fill f = F(1, "1", "BTC/USDT", "sell", "100", "1", NULL, NULL, NULL);

	(void)state;
	f.market = FILL_MARGIN;
	apply(l, f, LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.open_short_qty, "1", "margin opens a short");
	check(st.realized_pnl, "0", "no pnl");
	ledger_free(l);
}

static void
test_maker_rebate(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	char b[DEC_STR_MAX];

	(void)state;
	/* buy 1 @ 100 fee -0.02 USDT: cost 99.98. sell 1 @ 100 fee -0.02:
	 * proceeds 100.02. PnL 0.04; fees -0.04. */
	apply(l, F(1, "1", "BTC/USDT", "buy", "100", "1", NULL, "-0.02", "USDT"), LEDGER_APPLIED);
	apply(l, F(2, "2", "BTC/USDT", "sell", "100", "1", NULL, "-0.02", "USDT"), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "0.04", "pnl");
	check(st.closed_basis, "99.98", "basis");
	check(st.fees_quote, "-0.04", "fees quote");
	assert_string_equal(fee_of(st.fees, st.nfees, "USDT", b), "-0.04");
	ledger_free(l);
}

static void
test_cost_beats_price_times_amount(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;

	(void)state;
	/* price*amount = 0.1*0.3 = 0.03 but the exchange says cost 0.031: the lot
	 * costs 0.031. Sell without cost: 0.2*0.3 = 0.06. PnL 0.029. */
	apply(l, F(1, "1", "A/B", "buy", "0.1", "0.3", "0.031", NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.open_long_cost, "0.031", "exchange cost");
	apply(l, F(2, "2", "A/B", "sell", "0.2", "0.3", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	check(st.realized_pnl, "0.029", "pnl");
	check(st.volume_quote, "0.091", "volume quote");
	ledger_free(l);
}

static void
test_duplicates_and_stale(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;

	(void)state;
	/* a@1000 applied; a@1000 again duplicate; b@1000 (same ms, other id)
	 * applied; c@999 stale; a@1000 still a duplicate; d@1001 applied, after
	 * which a@1000 is stale (older than the cursor). */
	apply(l, F(1000, "a", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(1000, "a", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_DUPLICATE);
	apply(l, F(1000, "b", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(999, "c", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_STALE);
	apply(l, F(1000, "a", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_DUPLICATE);
	apply(l, F(1001, "d", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(1000, "a", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_STALE);
	/* without an id nothing is a duplicate */
	apply(l, F(1001, "", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(1001, "", "A/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	/* another symbol has its own cursor */
	apply(l, F(5, "a", "C/B", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	sym(l, 0, &st);
	assert_int_equal(st.trades, 5);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.stale, 2);
	check(st.open_long_qty, "5", "qty");
	assert_int_equal(ledger_quote_stats(l, 0, &st), 0);
	assert_int_equal(st.trades, 6);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.stale, 2);
	ledger_free(l);
}

static void
test_several_quotes_and_buckets(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	struct ledger_bucket b;
	const int64_t h10 = 1704103200000LL;	/* 2024-01-01T10:00:00Z */

	(void)state;
	/* USDT: BTC/USDT buy 1 @ 100, sell 1 @ 120 at 10:59:59.999 (PnL 19.9);
	 * ETH/USDT buy 2 @ 10 at 11:00 then sell 2 @ 9 at 11:30 (PnL -2).
	 * EUR: BTC/EUR buy 1 @ 90 at 10:00:10. BTC/USDT pays a 0.1 USDT fee on the buy.
	 * Totals USDT: PnL 17.9, basis 120.1,
	 * volume_quote 100+120+20+18 = 258, trades 4, win 1 loss 1. */
	apply(l, F(h10 + 10000, "1", "BTC/USDT", "buy", "100", "1", NULL, "0.1", "USDT"), LEDGER_APPLIED);
	apply(l, F(h10 + 10000, "1", "BTC/EUR", "buy", "90", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(h10 + 3599999, "2", "BTC/USDT", "sell", "120", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(h10 + 3600000, "1", "ETH/USDT", "buy", "10", "2", NULL, NULL, NULL), LEDGER_APPLIED);
	apply(l, F(h10 + 5400000, "2", "ETH/USDT", "sell", "9", "2", NULL, NULL, NULL), LEDGER_APPLIED);
	assert_int_equal(ledger_nquotes(l), 2);
	assert_int_equal(ledger_quote_stats(l, 0, &st), 0);
	assert_string_equal(st.name, "USDT");
	/* BTC: cost 100.1, proceeds 120 -> 19.9; ETH: 18 - 20 = -2; total 17.9 */
	check(st.realized_pnl, "17.9", "usdt pnl");
	check(st.closed_basis, "120.1", "usdt basis");
	check(st.volume_quote, "258", "usdt vol quote");
	check(st.volume_base, "6", "usdt vol base");
	assert_int_equal(st.trades, 4);
	assert_int_equal(st.wins, 1);
	assert_int_equal(st.losses, 1);
	assert_true(st.first_fill == h10 + 10000 && st.last_fill == h10 + 5400000);
	assert_int_equal(ledger_quote_stats(l, 1, &st), 0);
	assert_string_equal(st.name, "EUR");
	check(st.open_long_qty, "1", "eur open");
	check(st.open_long_cost, "90", "eur cost");
	assert_int_equal(st.trades, 1);

	/* buckets: (10:00 USDT: 2 trades, vq 220, fee 0.1, PnL 19.9, basis 100.1),
	 * (10:00 EUR: 1 trade), (11:00 USDT: 2 trades, vq 38, PnL -2, basis 20) */
	assert_int_equal(ledger_nbuckets(l), 3);
	ledger_bucket(l, 0, &b);
	assert_true(b.hour == h10);
	assert_string_equal(b.quote, "USDT");
	assert_int_equal(b.trades, 2);
	check(b.volume_quote, "220", "b0 vq");
	check(b.fees_quote, "0.1", "b0 fees");
	check(b.realized_pnl, "19.9", "b0 pnl");
	check(b.closed_basis, "100.1", "b0 basis");
	ledger_bucket(l, 1, &b);
	assert_true(b.hour == h10);
	assert_string_equal(b.quote, "EUR");
	assert_int_equal(b.trades, 1);
	ledger_bucket(l, 2, &b);
	assert_true(b.hour == h10 + 3600000);
	assert_int_equal(b.trades, 2);
	check(b.volume_base, "4", "b2 vb");
	check(b.realized_pnl, "-2", "b2 pnl");
	/* a fill before the epoch lands in the hour that contains it (floor) */
	apply(l, F(-1, "1", "Z/EUR", "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	ledger_bucket(l, 0, &b);
	assert_true(b.hour == -3600000LL);
	ledger_free(l);
}

static void
test_errors(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	enum ledger_outcome o;
	const char *err;
	struct fill f;

	(void)state;
	/* a base fee eating the whole amount is refused and nothing is counted */
	f = F(1, "1", "A/B", "buy", "1", "1", NULL, "1", "A");
	assert_int_equal(ledger_apply(l, &f, &o, &err), -1);
	assert_string_equal(err, "base fee leaves no quantity");
	sym(l, 0, &st);
	assert_int_equal(st.trades, 0);
	/* an invalid fill */
	f = F(1, "1", "A/B", "buy", "1", "1", NULL, NULL, NULL);
	f.amount = DEC_ZERO;
	assert_int_equal(ledger_apply(l, &f, &o, &err), -1);
	assert_string_equal(err, "invalid fill");
	/* overflow: a lot near the top of the range, then another: the symbol is
	 * refused from then on */
	f = F(1, "1", "A/B", "buy", "1", "100000000000000000000", "100000000000000000000", NULL, NULL);
	apply(l, f, LEDGER_APPLIED);
	f = F(2, "2", "A/B", "buy", "1", "100000000000000000000", "100000000000000000000", NULL, NULL);
	assert_int_equal(ledger_apply(l, &f, &o, &err), -1);
	f = F(3, "3", "A/B", "sell", "1", "1", NULL, NULL, NULL);
	assert_int_equal(ledger_apply(l, &f, &o, &err), -1);
	assert_string_equal(err, "symbol refused after an earlier overflow");
	/* other symbols are unaffected */
	apply(l, F(3, "3", "C/B", "sell", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	ledger_free(l);
	ledger_free(NULL);
}

static void
test_many_lots_ring(void **state)
{
	struct ledger *l = ledger_new();
	struct ledger_stats st;
	char sym_name[16];

	(void)state;
	/* 100 buys of 1 @ i (cost 1..100), then 30 sells of 1 @ 200 interleaved
	 * with buys so the ring wraps; then 300 symbols to grow the hash table.
	 * Sells close lots 1..30 in FIFO order: PnL = 30*200 - (1+...+30) = 5535. */
	for (int i = 1; i <= 100; i++) {
		char p[8];
		snprintf(p, sizeof(p), "%d", i);
		apply(l, F(i, "", "R/U", "buy", p, "1", NULL, NULL, NULL), LEDGER_APPLIED);
		if (i > 70)
			apply(l, F(i, "", "R/U", "sell", "200", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	}
	sym(l, 0, &st);
	check(st.realized_pnl, "5535", "fifo pnl");
	check(st.open_long_qty, "70", "open");
	/* open cost: 31+...+100 = 5050 - 465 = 4585 */
	check(st.open_long_cost, "4585", "open cost");
	for (int i = 0; i < 300; i++) {
		snprintf(sym_name, sizeof(sym_name), "S%d/U", i);
		apply(l, F(1, "1", sym_name, "buy", "1", "1", NULL, NULL, NULL), LEDGER_APPLIED);
	}
	assert_int_equal(ledger_nsymbols(l), 301);
	apply(l, F(1, "1", "S7/U", "buy", "1", "1", NULL, NULL, NULL), LEDGER_DUPLICATE);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_quote_fee),
		cmocka_unit_test(test_base_fee),
		cmocka_unit_test(test_third_currency_fee_pending),
		cmocka_unit_test(test_partial_lots_exact_remainder),
		cmocka_unit_test(test_shorts_and_mark),
		cmocka_unit_test(test_oversell_policies),
		cmocka_unit_test(test_margin_default_short),
		cmocka_unit_test(test_maker_rebate),
		cmocka_unit_test(test_cost_beats_price_times_amount),
		cmocka_unit_test(test_duplicates_and_stale),
		cmocka_unit_test(test_several_quotes_and_buckets),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many_lots_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

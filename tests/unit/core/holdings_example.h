/*
 * The hand-computed account of the hand-computed example of test_holdings, shared by
 * test_holdings and test_valuation (include after cmocka.h).
 */
#ifndef PERFAGG_TESTS_HOLDINGS_EXAMPLE_H
#define PERFAGG_TESTS_HOLDINGS_EXAMPLE_H

#include <stdio.h>
#include <string.h>

#include "dec_helpers.h"

#include "core/holdings.h"

#define DAY 86400000LL
#define D0 20000		/* 2024-10-04 */

static inline struct fill
mkfill(const char *id, const char *symbol, int64_t day, int64_t ms_in_day, const char *side, const char *amount,
    const char *cost, const char *fee, const char *fee_cur)
{
	struct fill f;
	const char *err;

	memset(&f, 0, sizeof(f));
	snprintf(f.id, sizeof(f.id), "%s", id);
	assert_int_equal(fill_set_symbol(&f, symbol, strlen(symbol), &err), 0);
	f.market = strchr(symbol, ':') != NULL ? FILL_FUTURES : FILL_SPOT;
	f.timestamp = day * DAY + ms_in_day;
	f.side = strcmp(side, "buy") == 0 ? FILL_BUY : FILL_SELL;
	f.amount = D(amount);
	f.cost = D(cost);
	f.has_cost = true;
	assert_int_equal(dec_div(&f.price, f.cost, f.amount), 0);
	if (fee != NULL)
		assert_int_equal(fill_add_fee(&f, D(fee), fee_cur, &err), 0);
	return f;
}

static inline size_t
cur(const struct holdings *h, const char *name)
{
	for (size_t i = 0; i < holdings_ncurrencies(h); i++)
		if (strcmp(holdings_currency(h, i), name) == 0)
			return i;
	fail_msg("no currency %s", name);
	return 0;
}

/* The example of the hand-computed example of test_holdings: deposit, buy, top-up, sell
 * with the fee in base; closes 500, 550, 600. */
static inline void
example(struct holdings *h, bool reversed)
{
	struct fill buy = mkfill("1", "BTC/USDT", D0 + 1, 3600000, "buy", "1", "500", "0.5", "USDT");
	struct fill sell = mkfill("2", "BTC/USDT", D0 + 3, 7200000, "sell", "0.5", "300", "0.001", "BTC");
	const char *err;

	if (!reversed) {
		assert_int_equal(holdings_flow(h, "D1", D0 * DAY + 1000, "USDT", D("1000"), &err), 1);
		assert_int_equal(holdings_fill(h, &buy, &err), 0);
		assert_int_equal(holdings_flow(h, "D2", (D0 + 2) * DAY + 5, "USDT", D("100"), &err), 1);
		assert_int_equal(holdings_fill(h, &sell, &err), 0);
	} else {
		assert_int_equal(holdings_fill(h, &sell, &err), 0);
		assert_int_equal(holdings_flow(h, "D2", (D0 + 2) * DAY + 5, "USDT", D("100"), &err), 1);
		assert_int_equal(holdings_fill(h, &buy, &err), 0);
		assert_int_equal(holdings_flow(h, "D1", D0 * DAY + 1000, "USDT", D("1000"), &err), 1);
	}
	/* re-read windows: the same ids again change nothing */
	assert_int_equal(holdings_flow(h, "D2", (D0 + 2) * DAY + 5, "USDT", D("100"), &err), 0);
	assert_int_equal(holdings_flow(h, "D1", D0 * DAY + 1000, "USDT", D("1000"), &err), 0);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("899.5"), &err), 0);
	assert_int_equal(holdings_balance(h, "BTC", D("0.499"), &err), 0);
	holdings_balances_commit(h, (D0 + 3) * DAY + 9000000);
}

#endif

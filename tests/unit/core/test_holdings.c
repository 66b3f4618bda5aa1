#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "holdings_example.h"

static void
assert_days(const struct holdings *h, const char *name, int64_t first, size_t n, const char *const *want)
{
	struct dec out[16];
	const char *err = NULL;

	assert_true(n <= 16);
	if (holdings_daily_balances(h, cur(h, name), first, n, out, &err) != 0)
		fail_msg("%s: %s", name, err);
	for (size_t i = 0; i < n; i++)
		assert_dec_str(out[i], want[i]);
}

static void
test_backwards_with_flows(void **state)
{
	const char *usdt[] = { "1000", "499.5", "599.5", "899.5" }, *btc[] = { "0", "1", "1", "0.499" };
	struct holdings *h = holdings_new();
	int64_t first, last, at;
	struct dec f;

	(void)state;
	assert_false(holdings_has_balances(h, &at));
	example(h, false);
	assert_true(holdings_has_balances(h, &at));
	assert_true(at == (D0 + 3) * DAY + 9000000);
	assert_int_equal(holdings_span(h, &first, &last), 0);
	assert_true(first == D0 && last == D0 + 3);
	assert_days(h, "USDT", D0, 4, usdt);
	assert_days(h, "BTC", D0, 4, btc);
	assert_int_equal(holdings_flows_on(h, cur(h, "USDT"), D0 + 2, &f), 0);
	assert_dec_str(f, "100");
	assert_int_equal(holdings_flows_on(h, cur(h, "BTC"), D0 + 2, &f), 0);
	assert_dec_str(f, "0");
	holdings_free(h);
	holdings_free(NULL);
}

/* Fills and flows in any order give the same days. */
static void
test_order_independent(void **state)
{
	struct holdings *a = holdings_new(), *b = holdings_new();
	struct dec x[5], y[5];
	const char *err;

	(void)state;
	example(a, false);
	example(b, true);
	assert_int_equal(holdings_ncurrencies(a), holdings_ncurrencies(b));
	for (size_t i = 0; i < holdings_ncurrencies(a); i++) {
		const char *name = holdings_currency(a, i);
		assert_int_equal(holdings_daily_balances(a, i, D0 - 1, 5, x, &err), 0);
		assert_int_equal(holdings_daily_balances(b, cur(b, name), D0 - 1, 5, y, &err), 0);
		for (size_t d = 0; d < 5; d++)
			assert_int_equal(dec_cmp(x[d], y[d]), 0);
	}
	holdings_free(a);
	holdings_free(b);
}

static void
test_snapshot_begin_commit(void **state)
{
	struct holdings *h = holdings_new();
	const char *err, *z[] = { "0" }, *three[] = { "3" };
	struct dec out[1];
	char longname[80];

	(void)state;
	assert_int_equal(holdings_daily_balances(h, 0, D0, 1, out, &err), -1);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "BTC", D("1"), &err), 0);
	assert_int_equal(holdings_balance(h, "USDT", D("2"), &err), 0);
	assert_int_equal(holdings_balance(h, "USDT", D("3"), &err), 0);	/* a repeat replaces */
	holdings_balances_commit(h, D0 * DAY);
	/* the next answer omits BTC (a zero balance): it is gone */
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("3"), &err), 0);
	holdings_balances_commit(h, D0 * DAY + 1);
	assert_days(h, "BTC", D0, 1, z);
	assert_days(h, "USDT", D0, 1, three);
	/* a failed answer leaves the previous snapshot */
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "BTC", D("5"), &err), 0);
	holdings_balances_abort(h);
	assert_days(h, "BTC", D0, 1, z);
	assert_days(h, "USDT", D0, 1, three);
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(holdings_balance(h, longname, D("1"), &err), -1);
	/* activity after the last day asked is refused */
	assert_int_equal(holdings_flow(h, "x", (D0 + 2) * DAY, "USDT", D("1"), &err), 1);
	assert_int_equal(holdings_daily_balances(h, cur(h, "USDT"), D0, 1, out, &err), -1);
	holdings_free(h);
}

/* A change after the snapshot is in today's balance; the next snapshot
 * that includes it drops it from the log. */
static void
test_after_snapshot(void **state)
{
	struct holdings *h = holdings_new();
	struct fill f = mkfill("9", "ETH/USDT", D0, 5000, "buy", "2", "10", NULL, NULL);
	const char *err, *eth[] = { "2" }, *usdt[] = { "90" };

	(void)state;
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("100"), &err), 0);
	holdings_balances_commit(h, D0 * DAY + 4000);
	assert_int_equal(holdings_fill(h, &f, &err), 0);
	assert_days(h, "ETH", D0, 1, eth);
	assert_days(h, "USDT", D0, 1, usdt);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("90"), &err), 0);
	assert_int_equal(holdings_balance(h, "ETH", D("2"), &err), 0);
	holdings_balances_commit(h, D0 * DAY + 6000);
	assert_days(h, "ETH", D0, 1, eth);
	assert_days(h, "USDT", D0, 1, usdt);
	holdings_free(h);
}

/* Futures: the position is the symbol, cash moves in the settle currency. */
static void
test_futures_cash_view(void **state)
{
	struct holdings *h = holdings_new();
	struct fill open = mkfill("1", "BTC/USDT:USDT", D0, 1000, "buy", "2", "200", "0.1", "USDT");
	struct fill close = mkfill("2", "BTC/USDT:USDT", D0 + 1, 1000, "sell", "2", "220", "0.11", "USDT");
	const char *err, *pos[] = { "0", "2", "0" }, *cash[] = { "1000", "799.9", "1019.79" };

	(void)state;
	assert_int_equal(holdings_flow(h, "T1", (D0 - 1) * DAY, "USDT", D("1000"), &err), 1);
	assert_int_equal(holdings_fill(h, &open, &err), 0);
	assert_int_equal(holdings_fill(h, &close, &err), 0);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("1019.79"), &err), 0);
	holdings_balances_commit(h, (D0 + 1) * DAY + 5000);
	assert_days(h, "BTC/USDT:USDT", D0 - 1, 3, pos);
	assert_days(h, "USDT", D0 - 1, 3, cash);
	assert_true(holdings_bytes(h) > sizeof(void *));
	holdings_free(h);
}

/* Funding: cash in the settle currency like a flow, but not a flow (the
 * returns count it), once per id (its own namespace), totalled per symbol. */
static void
test_futures_funding(void **state)
{
	struct holdings *h = holdings_new();
	struct fill open = mkfill("1", "BTC/USDT:USDT", D0, 1000, "buy", "2", "200", "0.1", "USDT");
	struct fill close = mkfill("2", "BTC/USDT:USDT", D0 + 1, 1000, "sell", "2", "220", "0.11", "USDT");
	const char *err, *cash[] = { "1000", "799.86", "1019.76" }, *sym, *c;
	struct dec f, total;
	uint64_t n;

	(void)state;
	assert_int_equal(holdings_flow(h, "T1", (D0 - 1) * DAY, "USDT", D("1000"), &err), 1);
	assert_int_equal(holdings_fill(h, &open, &err), 0);
	assert_int_equal(holdings_funding(h, "F1", D0 * DAY + 16 * 3600000LL, "BTC/USDT:USDT", "USDT", D("-0.04"),
	    &err), 1);
	assert_int_equal(holdings_funding(h, "F1", D0 * DAY + 16 * 3600000LL, "BTC/USDT:USDT", "USDT", D("-0.04"),
	    &err), 0);
	assert_int_equal(holdings_funding(h, "F2", (D0 + 1) * DAY, "BTC/USDT:USDT", "USDT", D("0.01"), &err), 1);
	assert_int_equal(holdings_fill(h, &close, &err), 0);
	/* a flow's id does not hide a payment's, nor the reverse */
	assert_int_equal(holdings_funding(h, "T1", (D0 + 1) * DAY, "BTC/USDT:USDT", "USDT", D("0"), &err), 1);
	assert_int_equal(holdings_funding(h, NULL, D0 * DAY, "BTC/USDT:USDT", "USDT", D("1"), &err), -1);
	assert_int_equal(holdings_funding(h, "F3", D0 * DAY, "", "USDT", D("1"), &err), -1);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("1019.76"), &err), 0);
	holdings_balances_commit(h, (D0 + 1) * DAY + 5000);
	assert_days(h, "USDT", D0 - 1, 3, cash);
	assert_int_equal(holdings_flows_on(h, cur(h, "USDT"), D0, &f), 0);
	assert_dec_str(f, "0");
	assert_int_equal(holdings_flows_on(h, cur(h, "USDT"), D0 - 1, &f), 0);
	assert_dec_str(f, "1000");
	assert_int_equal(holdings_nfunding(h), 1);
	assert_int_equal(holdings_funding_total(h, 0, &sym, &c, &total, &n), 0);
	assert_string_equal(sym, "BTC/USDT:USDT");
	assert_string_equal(c, "USDT");
	assert_dec_str(total, "-0.03");
	assert_int_equal(n, 3);
	assert_int_equal(holdings_funding_total(h, 1, &sym, &c, &total, &n), -1);
	holdings_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backwards_with_flows),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_snapshot_begin_commit),
		cmocka_unit_test(test_after_snapshot),
		cmocka_unit_test(test_futures_cash_view),
		cmocka_unit_test(test_futures_funding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

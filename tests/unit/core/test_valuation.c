#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "holdings_example.h"

#include "core/valuation.h"

/* ---- valuation ---- */

static const struct {
	const char *symbol;
	int64_t day;
	const char *close;
} closes[] = {
	{ "BTC/USDT", D0 + 1, "500" },
	{ "BTC/USDT", D0 + 2, "550" },
	{ "BTC/USDT", D0 + 3, "600" },
	{ "ETH/USDT", D0 + 2, "20" },
};

static int
price(void *arg, const char *symbol, int64_t day, struct dec *close)
{
	int64_t best = INT64_MIN;

	(void)arg;
	for (size_t i = 0; i < sizeof(closes) / sizeof(closes[0]); i++)
		if (strcmp(closes[i].symbol, symbol) == 0 && closes[i].day <= day && closes[i].day > best) {
			best = closes[i].day;
			*close = D(closes[i].close);
		}
	return best == INT64_MIN ? -1 : 0;
}

static void
test_valuation_example(void **state)
{
	struct holdings *h = holdings_new();
	struct valuation v;
	const char *err, *eq[] = { "1000", "999.5", "1149.5", "1198.9", "1198.9" };
	double r[4], b[4], btwr, twr = 1;
	size_t n;

	(void)state;
	example(h, false);
	assert_int_equal(valuation_compute(&v, h, "USDT", D0 + 4, price, NULL, &err), 0);
	assert_int_equal(v.ndays, 5);
	assert_int_equal(v.nunpriced, 0);
	for (size_t i = 0; i < 5; i++) {
		assert_true(v.days[i].day == D0 + (int64_t)i);
		assert_dec_str(v.days[i].equity, eq[i]);
	}
	assert_dec_str(v.days[0].flow, "1000");
	assert_false(v.days[0].has_return);
	assert_dec_str(v.days[2].flow, "100");
	assert_dec_str(v.days[1].pnl, "-0.5");
	assert_dec_str(v.days[2].pnl, "50");
	assert_dec_str(v.days[3].pnl, "49.4");
	assert_dec_str(v.days[4].pnl, "0");	/* today carries day 3's close */
	assert_int_equal(v.nreturns, 4);
	assert_true(v.returns[0] == -0.0005);
	assert_true(fabs(v.returns[1] - 50.0 / 1099.5) < 1e-16);
	assert_true(fabs(v.returns[2] - 49.4 / 1149.5) < 1e-16);
	for (size_t i = 0; i < 4; i++)
		twr *= 1 + v.returns[i];
	assert_true(fabs(v.twr - (twr - 1)) < 1e-15);
	/* benchmark: BTC 500 -> 550 -> 600 -> 600, aligned on days 2..4 (day 1 has no close before it) */
	assert_int_equal(valuation_benchmark(&v, "BTC/USDT", price, NULL, r, b, &n, &btwr, &err), 0);
	assert_int_equal(n, 3);
	assert_true(b[0] == 0.1 && r[0] == v.returns[1]);
	assert_true(fabs(btwr - 0.2) < 1e-15);
	assert_int_equal(valuation_benchmark(&v, "DOGE/USDT", price, NULL, r, b, &n, &btwr, &err), -1);
	valuation_clear(&v);
	holdings_free(h);
}

/* A held currency without any close is listed and left out, never 0. */
static void
test_valuation_unpriced(void **state)
{
	struct holdings *h = holdings_new();
	struct valuation v;
	const char *err;

	(void)state;
	example(h, false);
	assert_int_equal(holdings_flow(h, "X", (D0 + 1) * DAY, "XYZ", D("7"), &err), 1);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "USDT", D("899.5"), &err), 0);
	assert_int_equal(holdings_balance(h, "BTC", D("0.499"), &err), 0);
	assert_int_equal(holdings_balance(h, "XYZ", D("7"), &err), 0);
	holdings_balances_commit(h, (D0 + 3) * DAY + 9000000);
	assert_int_equal(valuation_compute(&v, h, "USDT", D0 + 3, price, NULL, &err), 0);
	assert_int_equal(v.nunpriced, 1);
	assert_string_equal(v.unpriced[0], "XYZ");
	assert_int_equal(v.ndays, 4);
	assert_dec_str(v.days[3].equity, "1198.9");
	valuation_clear(&v);
	/* nothing valued at all: no days, and a reason */
	holdings_free(h);
	h = holdings_new();
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "XYZ", D("7"), &err), 0);
	holdings_balances_commit(h, D0 * DAY);
	assert_int_equal(valuation_compute(&v, h, "USDT", D0, price, NULL, &err), 0);
	assert_int_equal(v.ndays, 0);
	assert_non_null(v.why_empty);
	valuation_clear(&v);
	holdings_free(h);
	/* no snapshot: an error */
	h = holdings_new();
	assert_int_equal(valuation_compute(&v, h, "USDT", D0, price, NULL, &err), -1);
	holdings_free(h);
}

/* A held currency whose closes begin later: the series starts once priced. */
static void
test_valuation_late_closes(void **state)
{
	struct holdings *h = holdings_new();
	struct valuation v;
	const char *err;

	(void)state;
	assert_int_equal(holdings_flow(h, "E", D0 * DAY, "ETH", D("3"), &err), 1);
	assert_int_equal(holdings_flow(h, "U", D0 * DAY, "USDT", D("40"), &err), 1);
	holdings_balances_begin(h);
	assert_int_equal(holdings_balance(h, "ETH", D("3"), &err), 0);
	assert_int_equal(holdings_balance(h, "USDT", D("40"), &err), 0);
	holdings_balances_commit(h, (D0 + 3) * DAY);
	assert_int_equal(valuation_compute(&v, h, "USDT", D0 + 3, price, NULL, &err), 0);
	assert_int_equal(v.ndays, 2);
	assert_true(v.days[0].day == D0 + 2);
	assert_dec_str(v.days[0].equity, "100");
	assert_int_equal(v.nreturns, 1);
	assert_true(v.returns[0] == 0);
	valuation_clear(&v);
	holdings_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valuation_example),
		cmocka_unit_test(test_valuation_unpriced),
		cmocka_unit_test(test_valuation_late_closes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

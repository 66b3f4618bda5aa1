#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/report.h"

static void
apply_json(struct ledger *l, const char *text)
{
	int line;
	const char *err = NULL, *field = NULL;
	json_t *arr = fill_json_loads(text, strlen(text), &line, &err), *o;
	size_t i;
	struct fill f;
	enum ledger_outcome out;

	assert_non_null(arr);
	json_array_foreach(arr, i, o) {
		if (fill_from_json(&f, o, &field, &err) != 0)
			fail_msg("fill %zu: %s: %s", i, field, err);
		assert_int_equal(ledger_apply(l, &f, &out, &err), 0);
	}
	json_decref(arr);
}

static void
assert_jstr(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	if (want == NULL) {
		if (!json_is_null(v))
			fail_msg("%s: want null", key);
		return;
	}
	if (!json_is_string(v))
		fail_msg("%s: want string %s", key, want);
	if (strcmp(json_string_value(v), want) != 0)
		fail_msg("%s: want %s got %s", key, want, json_string_value(v));
}

static void
test_report_json(void **state)
{
	struct ledger *l = ledger_new();
	const char *err;
	json_t *r, *s, *t, *h;

	(void)state;
	/* the short scenario of test_ledger: PnL -0.09 on basis 200, 1 win
	 * (9.91) 1 loss (-10), open long 1 at 110; plus a lone EUR buy. */
	apply_json(l, "["
	    "{\"id\":\"1\",\"timestamp\":1704103200000,\"symbol\":\"BTC/USDT:USDT\",\"side\":\"sell\",\"price\":100,\"amount\":2},"
	    "{\"id\":\"2\",\"timestamp\":1704103200001,\"symbol\":\"BTC/USDT:USDT\",\"side\":\"buy\",\"price\":90,\"amount\":1,"
	    " \"fee\":{\"cost\":0.09,\"currency\":\"USDT\"}},"
	    "{\"id\":\"3\",\"timestamp\":1704106800000,\"symbol\":\"BTC/USDT:USDT\",\"side\":\"buy\",\"price\":110,\"amount\":2},"
	    "{\"id\":\"4\",\"timestamp\":1704106800000,\"symbol\":\"ETH/EUR\",\"side\":\"buy\",\"price\":3,\"amount\":3,"
	    " \"fee\":{\"cost\":0.5,\"currency\":\"BNB\"}}]");
	r = report_json(l, &err);
	assert_non_null(r);
	s = json_object_get(json_object_get(r, "symbols"), "BTC/USDT:USDT");
	assert_non_null(s);
	assert_jstr(s, "quote", "USDT");
	assert_jstr(s, "realized_pnl", "-0.09");
	assert_jstr(s, "closed_basis", "200");
	/* 100 * -0.09 / 200 = -0.045 */
	assert_jstr(s, "return_pct", "-0.045");
	assert_jstr(s, "win_rate", "0.5");
	assert_jstr(s, "avg_win", "9.91");
	assert_jstr(s, "avg_loss", "-10");
	/* 9.91 / |-10| */
	assert_jstr(s, "profit_factor", "0.991");
	assert_jstr(s, "open_long_qty", "1");
	assert_jstr(s, "open_long_cost", "110");
	assert_jstr(s, "open_long_avg_price", "110");
	assert_jstr(s, "open_short_qty", "0");
	assert_jstr(s, "open_short_avg_price", NULL);
	assert_jstr(s, "volume_quote", "510");
	assert_jstr(s, "first_fill", "2024-01-01T10:00:00.000Z");
	assert_jstr(s, "last_fill", "2024-01-01T11:00:00.000Z");
	assert_int_equal(json_integer_value(json_object_get(s, "trades")), 3);
	assert_jstr(json_object_get(s, "fees"), "USDT", "0.09");

	/* no round trip, no basis: nulls, never a number */
	s = json_object_get(json_object_get(r, "symbols"), "ETH/EUR");
	assert_jstr(s, "return_pct", NULL);
	assert_jstr(s, "win_rate", NULL);
	assert_jstr(s, "avg_win", NULL);
	assert_jstr(s, "avg_loss", NULL);
	assert_jstr(s, "profit_factor", NULL);
	assert_jstr(s, "open_long_avg_price", "3");
	assert_jstr(json_object_get(s, "fees_unconverted"), "BNB", "0.5");

	/* totals keyed by quote, sorted: EUR before USDT */
	t = json_object_get(r, "totals");
	assert_int_equal(json_object_size(t), 2);
	assert_jstr(json_object_get(t, "USDT"), "realized_pnl", "-0.09");
	assert_jstr(json_object_get(t, "EUR"), "open_long_cost", "9");
	{
		char *txt = json_dumps(t, 0);
		assert_true(strstr(txt, "\"EUR\"") < strstr(txt, "\"USDT\""));
		free(txt);
	}

	/* hourly: 10:00 USDT (sell + cover: PnL 9.91, basis 100, return 9.91),
	 * 11:00 USDT (PnL -10 on basis 100: -10), 11:00 EUR */
	h = json_object_get(r, "hourly");
	assert_int_equal(json_array_size(h), 3);
	assert_jstr(json_array_get(h, 0), "t", "2024-01-01T10:00:00.000Z");
	assert_jstr(json_array_get(h, 0), "return_pct", "9.91");
	assert_jstr(json_array_get(h, 0), "fees_quote", "0.09");
	assert_jstr(json_array_get(h, 1), "quote", "USDT");
	assert_jstr(json_array_get(h, 1), "return_pct", "-10");
	assert_jstr(json_array_get(h, 2), "quote", "EUR");
	assert_jstr(json_array_get(h, 2), "return_pct", NULL);
	json_decref(r);

	{
		char *tab = report_table(l, &err);
		assert_non_null(tab);
		assert_non_null(strstr(tab, "BTC/USDT:USDT"));
		assert_non_null(strstr(tab, "-0.045"));
		assert_non_null(strstr(tab, "TOTAL (QUOTE)"));
		free(tab);
	}
	ledger_free(l);
}

static void
test_return_pct_rounding(void **state)
{
	struct ledger *l = ledger_new();
	const char *err;
	json_t *r;

	(void)state;
	/* PnL 9.79 on basis 100.1: 100*9.79/100.1 = 9.780219780219780219|78...
	 * -> rounded half-even to 18 places: 9.780219780219780220 (printed shortest) */
	apply_json(l, "["
	    "{\"timestamp\":1,\"symbol\":\"BTC/USDT\",\"side\":\"buy\",\"price\":100,\"amount\":1,\"fee\":{\"cost\":0.1,\"currency\":\"USDT\"}},"
	    "{\"timestamp\":2,\"symbol\":\"BTC/USDT\",\"side\":\"sell\",\"price\":110,\"amount\":1,\"fee\":{\"cost\":\"0.11\",\"currency\":\"USDT\"}}]");
	r = report_json(l, &err);
	assert_jstr(json_object_get(json_object_get(r, "symbols"), "BTC/USDT"), "return_pct",
	    "9.78021978021978022");
	json_decref(r);
	ledger_free(l);
}

/* A symbol (and quote currency) whose only fill failed inside the ledger is
 * not listed with 0 trades. */
static void
test_failed_symbol_dropped(void **state)
{
	static const char bad[] = "{\"timestamp\":2,\"symbol\":\"ETH/EUR\",\"side\":\"buy\",\"price\":1,"
	    "\"amount\":1,\"fee\":{\"cost\":1,\"currency\":\"ETH\"}}";
	struct ledger *l = ledger_new();
	const char *err = NULL, *field = NULL;
	json_t *arr, *r;
	struct fill f;
	enum ledger_outcome out;
	int line;
	char *table;

	(void)state;
	apply_json(l, "[{\"timestamp\":1,\"symbol\":\"BTC/USDT\",\"side\":\"buy\",\"price\":100,\"amount\":1}]");
	/* a base fee equal to the amount leaves nothing: refused */
	arr = fill_json_loads(bad, strlen(bad), &line, &err);
	assert_non_null(arr);
	assert_int_equal(fill_from_json(&f, arr, &field, &err), 0);
	assert_int_equal(ledger_apply(l, &f, &out, &err), -1);
	assert_string_equal(err, "base fee leaves no quantity");
	json_decref(arr);
	assert_int_equal(ledger_nsymbols(l), 2);	/* the ledger knows it */
	r = report_json(l, &err);
	assert_non_null(r);
	assert_int_equal(json_object_size(json_object_get(r, "symbols")), 1);
	assert_null(json_object_get(json_object_get(r, "symbols"), "ETH/EUR"));
	assert_int_equal(json_object_size(json_object_get(r, "totals")), 1);
	assert_null(json_object_get(json_object_get(r, "totals"), "EUR"));
	json_decref(r);
	table = report_table(l, &err);
	assert_non_null(table);
	assert_null(strstr(table, "ETH/EUR"));
	assert_null(strstr(table, "EUR "));
	free(table);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_return_pct_rounding),
		cmocka_unit_test(test_failed_symbol_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

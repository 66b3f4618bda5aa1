#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/fill.h"

static json_t *
loads(const char *s)
{
	int line = 0;
	const char *err = NULL;
	json_t *j = fill_json_loads(s, strlen(s), &line, &err);

	if (j == NULL)
		fail_msg("line %d: %s", line, err);
	return j;
}

/* Parses one JSON object; returns 0 or -1 with field/err. */
static int
from_text(const char *s, struct fill *f, const char **field, const char **err)
{
	json_t *j = loads(s);
	int rc = fill_from_json(f, j, field, err);

	json_decref(j);
	return rc;
}

static void
test_json_exact_numbers(void **state)
{
	struct fill f;
	const char *field, *err;

	(void)state;
	assert_int_equal(from_text("{\"id\":\"t-1\",\"order\":42,\"timestamp\":1704103200000,"
	    "\"symbol\":\"BTC/USDT\",\"side\":\"buy\",\"price\":0.1,\"amount\":1e-8,"
	    "\"cost\":\"0.000000001\",\"fee\":{\"cost\":-0.00000001,\"currency\":\"BTC\"},"
	    "\"takerOrMaker\":\"maker\",\"type\":\"limit\",\"info\":{\"x\":[1.5,2e400]}}", &f, &field, &err), 0);
	assert_string_equal(f.id, "t-1");
	assert_string_equal(f.order, "42");
	assert_true(f.timestamp == 1704103200000LL);
	assert_string_equal(f.base, "BTC");
	assert_string_equal(f.quote, "USDT");
	assert_int_equal(f.side, FILL_BUY);
	assert_dec_str(f.price, "0.1");		/* a double would be 0.1000000000000000055... */
	assert_dec_str(f.amount, "0.00000001");
	assert_true(f.has_cost);
	assert_dec_str(f.cost, "0.000000001");
	assert_int_equal(f.nfees, 1);
	assert_string_equal(f.fees[0].currency, "BTC");
	assert_dec_str(f.fees[0].cost, "-0.00000001");
	assert_int_equal(f.role, FILL_MAKER);
	assert_int_equal(f.market, FILL_SPOT);

	/* 19 fractional digits as a JSON number: refused, never rounded */
	assert_int_equal(from_text("{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"sell\","
	    "\"price\":0.1000000000000000001,\"amount\":1}", &f, &field, &err), -1);
	assert_string_equal(field, "price");
	assert_string_equal(err, "more than 18 fractional digits");

	/* strings that look like numbers or hold escaped quotes are left alone */
	assert_int_equal(from_text("{\"id\":\"a\\\"1,2\",\"timestamp\":\"5\",\"symbol\":\"A/B\","
	    "\"side\":\"sell\",\"price\":\"7\",\"amount\":\"-0\" }", &f, &field, &err), -1);
	assert_string_equal(field, "amount");
	assert_string_equal(err, "must be positive");
}

static void
test_json_fees_and_defaults(void **state)
{
	struct fill f;
	const char *field, *err;

	(void)state;
	/* fees[] wins over fee; same currency summed; null cost skipped */
	assert_int_equal(from_text("{\"timestamp\":1,\"symbol\":\"ETH/USDT:USDT\",\"side\":\"sell\","
	    "\"price\":\"2000\",\"amount\":\"1\",\"fee\":{\"cost\":9,\"currency\":\"USDT\"},"
	    "\"fees\":[{\"cost\":\"0.5\",\"currency\":\"USDT\"},{\"cost\":0.25,\"currency\":\"USDT\"},"
	    "{\"cost\":null,\"currency\":\"BNB\"},{\"cost\":0.001,\"currency\":\"BNB\"}]}", &f, &field, &err), 0);
	assert_int_equal(f.market, FILL_FUTURES);	/* contract symbol */
	assert_string_equal(f.quote, "USDT");
	assert_false(f.has_cost);
	assert_int_equal(f.nfees, 2);
	assert_string_equal(f.fees[0].currency, "USDT");
	assert_dec_str(f.fees[0].cost, "0.75");
	assert_string_equal(f.fees[1].currency, "BNB");
	assert_dec_str(f.fees[1].cost, "0.001");
	assert_string_equal(f.id, "");

	/* datetime when timestamp is absent; marketType overrides */
	assert_int_equal(from_text("{\"datetime\":\"2024-01-01T10:00:10.123Z\",\"symbol\":\"A/B\","
	    "\"side\":\"buy\",\"price\":1,\"amount\":2,\"marketType\":\"margin\",\"fee\":null}",
	    &f, &field, &err), 0);
	assert_true(f.timestamp == 1704103210123LL);
	assert_int_equal(f.market, FILL_MARGIN);
	assert_int_equal(f.nfees, 0);
	{
		struct dec c;
		assert_int_equal(fill_cost(&f, &c), 0);
		assert_dec_str(c, "2");
	}
}

static void
test_json_errors(void **state)
{
	static const struct { const char *in, *field, *err; } t[] = {
		{ "{\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1}", "timestamp", "missing (and no datetime)" },
		{ "{\"timestamp\":1,\"side\":\"buy\",\"price\":1,\"amount\":1}", "symbol", "missing" },
		{ "{\"timestamp\":1,\"symbol\":\"AB\",\"side\":\"buy\",\"price\":1,\"amount\":1}", "symbol", "not BASE/QUOTE" },
		{ "{\"timestamp\":1,\"symbol\":\"A/\",\"side\":\"buy\",\"price\":1,\"amount\":1}", "symbol", "empty currency" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"long\",\"price\":1,\"amount\":1}", "side", "not buy or sell" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"amount\":1}", "price", "missing" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":-1,\"amount\":1}", "price", "must not be negative" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":0}", "amount", "must be positive" },
		{ "{\"timestamp\":1.5,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1}", "timestamp", "not an integer millisecond timestamp" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":\"1 \",\"amount\":1}", "price", "not a decimal number" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1,\"fee\":{\"cost\":1}}", "fee.currency", "missing for a non-zero fee" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1,\"fee\":5}", "fee", "not an object" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1,\"fees\":{}}", "fees", "not an array" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1,\"takerOrMaker\":\"x\"}", "takerOrMaker", "not taker or maker" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":[1],\"amount\":1}", "price", "not a string or number" },
		{ "{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":\"\",\"amount\":1}", "price", "empty string" },
	};
	struct fill f;
	const char *field, *err;
	json_t *o;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		field = err = NULL;
		if (from_text(t[i].in, &f, &field, &err) != -1)
			fail_msg("accepted %s", t[i].in);
		assert_non_null(field);
		assert_string_equal(field, t[i].field);
		assert_string_equal(err, t[i].err);
	}
	/* an object built with json_real() has lost its exact value: refused */
	o = json_pack("{s:i, s:s, s:s, s:f, s:s}", "timestamp", 1, "symbol", "A/B", "side", "buy",
	    "price", 0.1, "amount", "1");
	assert_int_equal(fill_from_json(&f, o, &field, &err), -1);
	assert_string_equal(field, "price");
	json_decref(o);
	/* malformed JSON names the line */
	{
		int line = 0;
		assert_null(fill_json_loads("[\n{\"a\":1},\n{\"a\":01}\n]", 21, &line, &err));
		assert_int_equal(line, 3);
		assert_null(fill_json_loads("{\"a\":1,\"a\":2}", 13, &line, &err));	/* duplicate key */
	}
}

static void
test_csv(void **state)
{
	static const char csv[] =
	    "id,timestamp,symbol,side,price,amount,cost,fee_cost,fee_currency,takerOrMaker,note\r\n"
	    "1,1704103200000,BTC/USDT,buy,42000.5,0.001,42.0005,0.042,USDT,taker,\"a, \"\"quoted\"\"\nnote\"\r\n"
	    "\n"
	    "2,1704103200001,BTC/USDT,sell,42100,0.001,,,,maker,\n";
	struct fill_csv *c;
	struct fill f;
	const char *field, *err;

	(void)state;
	c = fill_csv_new(csv, strlen(csv), &err);
	assert_non_null(c);
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
	assert_int_equal(fill_csv_line(c), 2);
	assert_string_equal(f.id, "1");
	assert_dec_str(f.price, "42000.5");
	assert_dec_str(f.cost, "42.0005");
	assert_int_equal(f.nfees, 1);
	assert_dec_str(f.fees[0].cost, "0.042");
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
	assert_int_equal(fill_csv_line(c), 5);	/* the quoted note spans line 3, then a blank line */
	assert_int_equal(f.side, FILL_SELL);
	assert_false(f.has_cost);
	assert_int_equal(f.nfees, 0);
	assert_int_equal(f.role, FILL_MAKER);
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 0);
	fill_csv_free(c);

	/* fee.cost spelling, error naming line and field */
	{
		static const char bad[] = "timestamp,symbol,side,price,amount,fee.cost,fee.currency\n"
		    "1,A/B,buy,1,1,0.1,B\n"
		    "2,A/B,buy,1,x,0.1,B\n";
		c = fill_csv_new(bad, strlen(bad), &err);
		assert_non_null(c);
		assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
		assert_dec_str(f.fees[0].cost, "0.1");
		assert_int_equal(fill_csv_next(c, &f, &field, &err), -1);
		assert_int_equal(fill_csv_line(c), 3);
		assert_string_equal(field, "amount");
		assert_string_equal(err, "not a decimal number");
		fill_csv_free(c);
	}
	/* malformed rows */
	{
		static const char *rows[] = {
			"timestamp,symbol\n1,A/B,3\n",
			"timestamp,symbol\n\"1,A/B\n",
			"timestamp,symbol\n\"1\"x,A/B\n",
			"timestamp,symbol\n1\"2,A/B\n",
		};
		static const char *errs[] = {
			"wrong number of cells for the header", "unterminated quoted field",
			"text after a quoted field", "quote inside an unquoted field",
		};
		for (size_t i = 0; i < 4; i++) {
			c = fill_csv_new(rows[i], strlen(rows[i]), &err);
			assert_non_null(c);
			assert_int_equal(fill_csv_next(c, &f, &field, &err), -1);
			assert_null(field);
			assert_string_equal(err, errs[i]);
			fill_csv_free(c);
		}
	}
	assert_null(fill_csv_new("", 0, &err));
	assert_string_equal(err, "no header");
	assert_null(fill_csv_new("fee_cost,fee.cost\n", 18, &err));
	assert_string_equal(err, "duplicate column");
	c = fill_csv_new("timestamp,symbol,side,price\n1,A/B,buy,1\n", 40, &err);
	assert_int_equal(fill_csv_next(c, &f, &field, &err), -1);
	assert_string_equal(field, "amount");
	assert_string_equal(err, "missing");
	fill_csv_free(c);
	fill_csv_free(NULL);
}

static void
test_add_fee_limits(void **state)
{
	struct fill f;
	const char *err;
	char cur[4] = "C0";

	(void)state;
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < FILL_FEES_MAX; i++) {
		cur[1] = (char)('0' + i);
		assert_int_equal(fill_add_fee(&f, dec_one(), cur, &err), 0);
	}
	assert_int_equal(fill_add_fee(&f, dec_one(), "XX", &err), -1);
	assert_string_equal(err, "too many fee currencies");
	assert_int_equal(fill_add_fee(&f, (struct dec){ ((__int128)1 << 126) }, "C0", &err), 0);
	assert_int_equal(fill_add_fee(&f, (struct dec){ ((__int128)1 << 126) }, "C0", &err), -1);
	assert_string_equal(err, "fee sum out of range");
	assert_int_equal(fill_add_fee(&f, dec_one(), "A/B", &err), -1);
}

/* FTX's fills export: its column names, microsecond times with an offset,
 * market names mapped to ccxt's unified symbols (docs/ANALYTICS.md). */
static void
test_csv_ftx(void **state)
{
	static const char csv[] =
	    "\"ID\",\"Time\",\"Market\",\"Side\",\"Order Type\",\"Size\",\"Price\",\"Total\",\"Fee\",\"Fee Currency\",\"TWAP\"\n"
	    "101,2021-03-01T10:00:00.123456+00:00,BTC/USD,buy,Limit,0.5,49000,24500,4.9,USD,false\n"
	    "102,2021-03-02T11:00:00+00:00,ETH-PERP,sell,Market,2,1500.5,3001,-0.3001,USD,false\n"
	    "103,2021-12-30T09:30:00.000001+00:00,BTC-0325,buy,Limit,0.01,47000,470,0.0001,FTT,false\n"
	    "104,2021-03-20T09:30:00+00:00,BTC-0326,sell,Limit,0.01,47000,470,0,USD,false\n";
	struct fill_csv *c;
	struct fill f;
	const char *field = NULL, *err = NULL;

	(void)state;
	c = fill_csv_new(csv, strlen(csv), &err);
	assert_non_null(c);
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
	assert_string_equal(f.id, "101");
	assert_int_equal(f.timestamp, 1614592800123LL);	/* microseconds truncated, as ccxt */
	assert_string_equal(f.symbol, "BTC/USD");
	assert_int_equal(f.market, FILL_SPOT);
	assert_dec_str(f.amount, "0.5");
	assert_dec_str(f.cost, "24500");
	assert_string_equal(f.fees[0].currency, "USD");
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
	assert_string_equal(f.symbol, "ETH/USD:USD");
	assert_int_equal(f.market, FILL_FUTURES);
	assert_int_equal(f.side, FILL_SELL);
	assert_dec_str(f.fees[0].cost, "-0.3001");	/* a maker rebate */
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
	assert_string_equal(f.symbol, "BTC/USD:USD-220325");	/* traded in December: next year's contract */
	assert_string_equal(f.fees[0].currency, "FTT");
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 1);
	assert_string_equal(f.symbol, "BTC/USD:USD-210326");
	assert_int_equal(fill_csv_next(c, &f, &field, &err), 0);
	fill_csv_free(c);

	{
		static const char move[] = "Time,Market,Side,Size,Price\n2021-03-01T10:00:00+00:00,BTC-MOVE-0301,buy,1,100\n";
		c = fill_csv_new(move, strlen(move), &err);
		assert_non_null(c);
		assert_int_equal(fill_csv_next(c, &f, &field, &err), -1);
		assert_string_equal(field, "Market");
		assert_string_equal(err, "FTX contract not supported (only spot, -PERP and dated -MMDD futures)");
		fill_csv_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_exact_numbers),
		cmocka_unit_test(test_json_fees_and_defaults),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_ftx),
		cmocka_unit_test(test_add_fee_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/marks.h"
#include "util/timeutil.h"

static struct marks *
parse(const char *text, char *where, const char **err)
{
	return marks_parse(text, strlen(text), where, err);
}

static void
assert_price(const struct marks *m, const char *sym, const char *date, int carry, const char *want,
    const char *from)
{
	struct dec p;
	int64_t day, got;
	char buf[TIME_DATE_LEN];

	assert_int_equal(time_parse_date(date, 10, &day), 0);
	if (want == NULL) {
		assert_int_equal(marks_price(m, sym, day, carry, &p, &got), -1);
		return;
	}
	assert_int_equal(marks_price(m, sym, day, carry, &p, &got), 0);
	assert_dec_str(p, want);
	time_format_date(buf, got);
	assert_string_equal(buf, from);
}

static void
test_lookup(void **state)
{
	char where[MARKS_WHERE_MAX];
	const char *err = NULL;
	struct marks *m;

	(void)state;
	/* columns in any order, blanks trimmed, CRLF, exact decimals */
	m = parse("price, date ,symbol\r\n43000.000000000000000001,2024-01-03,BTC/USDT\r\n\r\n"
	    "1,2024-01-01,ETH/USDT\n42000,2024-01-01,BTC/USDT\n", where, &err);
	assert_non_null(m);
	assert_int_equal(marks_first_day(m), 19723);
	assert_int_equal(marks_last_day(m), 19725);
	assert_price(m, "BTC/USDT", "2024-01-01", 0, "42000", "2024-01-01");
	assert_price(m, "BTC/USDT", "2024-01-02", 0, NULL, NULL);
	assert_price(m, "BTC/USDT", "2024-01-02", 1, "42000", "2024-01-01");
	assert_price(m, "BTC/USDT", "2024-01-03", 1, "43000.000000000000000001", "2024-01-03");
	assert_price(m, "BTC/USDT", "2023-12-31", 1, NULL, NULL);	/* never a later mark */
	assert_price(m, "ETH/USDT", "2024-01-09", 1, "1", "2024-01-01");
	assert_price(m, "ETH/USDT", "2024-01-09", 0, NULL, NULL);
	assert_price(m, "SOL/USDT", "2024-01-01", 1, NULL, NULL);
	assert_price(m, "A/B", "2024-01-01", 1, NULL, NULL);		/* sorts first */
	assert_price(m, "ZZZ/B", "2024-01-01", 1, NULL, NULL);		/* sorts last */
	marks_free(m);
	marks_free(NULL);

	/* JSON: numbers keep their exact text */
	m = parse(" {\"2024-02-29\": {\"BTC/USDT\": 0.1000000000000000001e1, \"X/Y\": \"2\"}}", where, &err);
	assert_non_null(m);
	assert_price(m, "BTC/USDT", "2024-02-29", 0, "1.000000000000000001", "2024-02-29");
	assert_price(m, "X/Y", "2024-02-29", 0, "2", "2024-02-29");
	marks_free(m);
}

static void
test_errors(void **state)
{
	static const struct { const char *text, *where, *err; } t[] = {
		{ "", "", "no header" },
		{ "date,symbol\n", "line 1", "header must name the columns date, symbol and price" },
		{ "date,symbol,price,x\n", "line 1", "too many fields" },
		{ "date,symbol,price\n2024-01-01,BTC/USDT\n", "line 2", "expected date,symbol,price" },
		{ "date,symbol,price\n2024-01-01T00:00:00Z,BTC/USDT,1\n", "line 2", "date: expected YYYY-MM-DD" },
		{ "date,symbol,price\n2024-01-01,BTCUSDT,1\n", "line 2", "symbol: not BASE/QUOTE" },
		{ "date,symbol,price\n2024-01-01,BTC/USDT,1e400\n", "line 2", "out of range" },
		{ "date,symbol,price\n2024-01-01,BTC/USDT,\"1\"\n", "line 2", "quotes are not supported" },
		{ "date,symbol,price\n\n\n2024-01-01,BTC/USDT,-0.5\n", "line 4", "price: must not be negative" },
		{ "date,symbol,price\n", "", "no marks" },
		{ "date,symbol,price\n2024-01-01,A/B,1\n2024-01-01,A/B,1\n", "2024-01-01 A/B",
		  "two marks for the same date and symbol" },
		{ "[]", "line 1", "header must name the columns date, symbol and price" },
		{ "{\"2024-01-01\": 5}", "2024-01-01", "expected an object of symbol: price" },
		{ "{\"2024-01-01\": {\"A/B\": null}}", "2024-01-01 A/B", "price: not a decimal number" },
		{ "{\"2024-01-01\": {\"A/B\": \"1\"}} x", "line 1", NULL },
		{ "{}", "", "no marks" },
	};
	char where[MARKS_WHERE_MAX];
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err = NULL;
		if (parse(t[i].text, where, &err) != NULL)
			fail_msg("case %zu parsed", i);
		if (strcmp(where, t[i].where) != 0 || (t[i].err != NULL && strcmp(err, t[i].err) != 0))
			fail_msg("case %zu: %s: %s", i, where, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

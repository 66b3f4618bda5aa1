#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../core/dec_helpers.h"

#include "exchange/pricebook.h"

#define DAY 86400000LL

static void
test_put_and_carry(void **state)
{
	struct pricebook *b = pricebook_new();
	struct dec c;
	const char *err;
	size_t ns, nc;

	(void)state;
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 100, &c), -1);
	/* out of order, and any ms of the day names that day */
	assert_int_equal(pricebook_put(b, "binance", "BTC/USDT", 102 * DAY, D("3"), &err), 0);
	assert_int_equal(pricebook_put(b, "binance", "BTC/USDT", 100 * DAY + 5, D("1"), &err), 0);
	assert_int_equal(pricebook_put(b, "binance", "BTC/USDT", 101 * DAY, D("2"), &err), 0);
	/* the running day's close moves: replaced */
	assert_int_equal(pricebook_put(b, "binance", "BTC/USDT", 102 * DAY, D("3.5"), &err), 0);
	assert_int_equal(pricebook_put(b, "kraken", "BTC/USDT", 90 * DAY, D("9"), &err), 0);
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 99, &c), -1);
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 100, &c), 0);
	assert_dec_str(c, "1");
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 101, &c), 0);
	assert_dec_str(c, "2");
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 102, &c), 0);
	assert_dec_str(c, "3.5");
	/* carry: the latest close before the day */
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 500, &c), 0);
	assert_dec_str(c, "3.5");
	/* exchanges are separate */
	assert_int_equal(pricebook_close(b, "kraken", "BTC/USDT", 95, &c), 0);
	assert_dec_str(c, "9");
	assert_int_equal(pricebook_close(b, "coinbase", "BTC/USDT", 95, &c), -1);
	pricebook_size(b, &ns, &nc);
	assert_int_equal(ns, 2);
	assert_int_equal(nc, 4);
	pricebook_free(b);
	pricebook_free(NULL);
}

static void
test_refused(void **state)
{
	struct pricebook *b = pricebook_new();
	char longsym[100];
	struct dec c;
	const char *err = NULL;

	(void)state;
	assert_int_equal(pricebook_put(b, "binance", "BTC/USDT", DAY, D("0"), &err), -1);
	assert_non_null(err);
	assert_int_equal(pricebook_put(b, "binance", "BTC/USDT", DAY, D("-1"), &err), -1);
	memset(longsym, 'X', sizeof(longsym) - 1);
	longsym[sizeof(longsym) - 1] = '\0';
	assert_int_equal(pricebook_put(b, "binance", longsym, DAY, D("1"), &err), -1);
	assert_int_equal(pricebook_close(b, "binance", longsym, 1, &c), -1);
	assert_int_equal(pricebook_close(b, "binance", "BTC/USDT", 1, &c), -1);
	pricebook_free(b);
}

/* Only a close fetched PRICEBOOK_FINAL_AFTER_MS after its day ended is
 * final (fee conversion), for that day only: no carry. */
static void
test_final_closes(void **state)
{
	struct pricebook *b = pricebook_new();
	const char *err;
	struct dec c;

	(void)state;
	assert_int_equal(pricebook_put_at(b, "binance", "BNB/USDT", 10 * DAY, D("300"), 10 * DAY + 5, &err), 0);
	assert_int_equal(pricebook_close_final(b, "binance", "BNB/USDT", 10, &c), -1);
	assert_int_equal(pricebook_put_at(b, "binance", "BNB/USDT", 10 * DAY, D("301"),
	    11 * DAY + PRICEBOOK_FINAL_AFTER_MS - 1, &err), 0);
	assert_int_equal(pricebook_close_final(b, "binance", "BNB/USDT", 10, &c), -1);
	assert_int_equal(pricebook_put_at(b, "binance", "BNB/USDT", 10 * DAY, D("302"),
	    11 * DAY + PRICEBOOK_FINAL_AFTER_MS, &err), 0);
	assert_int_equal(pricebook_close_final(b, "binance", "BNB/USDT", 10, &c), 0);
	assert_dec_str(c, "302");
	assert_int_equal(pricebook_close_final(b, "binance", "BNB/USDT", 11, &c), -1);
	assert_int_equal(pricebook_close(b, "binance", "BNB/USDT", 11, &c), 0);	/* carry */
	assert_int_equal(pricebook_close_final(b, "kraken", "BNB/USDT", 10, &c), -1);
	pricebook_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_final_closes),
		cmocka_unit_test(test_put_and_carry),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

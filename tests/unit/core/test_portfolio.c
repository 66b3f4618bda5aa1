#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/portfolio.h"

#define DAY0 19723LL		/* 2024-01-01 */
#define DAY_MS 86400000LL

static void
trade(struct ledger *l, int64_t day, const char *sym, const char *side, const char *price,
    const char *amount)
{
	struct fill f;
	enum ledger_outcome o;
	const char *err;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fill_set_symbol(&f, sym, strlen(sym), &err), 0);
	f.timestamp = day * DAY_MS + 3600000;
	f.side = strcmp(side, "buy") == 0 ? FILL_BUY : FILL_SELL;
	f.price = D(price);
	f.amount = D(amount);
	assert_int_equal(ledger_apply(l, &f, &o, &err), 0);
	assert_int_equal(o, LEDGER_APPLIED);
}

static struct marks *
marks(const char *text)
{
	char where[MARKS_WHERE_MAX];
	const char *err = NULL;
	struct marks *m = marks_parse(text, strlen(text), where, &err);

	if (m == NULL)
		fail_msg("marks: %s: %s", where, err);
	return m;
}

/*
 * Capital 1000 USDT. Day 0: buy 1 A @ 100, short 2 B @ 50 (proceeds 100),
 * and an ETH/BTC fill (another quote: ignored). Marks A 110, B 40: PnL A
 * 10, B 100 - 80 = 20; exposure A 110, B |-2 * 40| = 80; equity 1030.
 * Day 1: marks A 105, B 45: A -5, B (100 - 90) - 20 = -10; equity 1015.
 * Day 2: buy 2 B @ 45 covers (realized 10, flat); mark A 120 only: A 15,
 * B 10 - 10 = 0; exposure A 120, B 0; equity 1030.
 */
static void
test_daily(void **state)
{
	struct ledger *l = ledger_new();
	struct marks *m = marks("date,symbol,price\n"
	    "2024-01-01,A/USDT,110\n2024-01-01,B/USDT,40\n"
	    "2024-01-02,A/USDT,105\n2024-01-02,B/USDT,45\n"
	    "2024-01-03,A/USDT,120\n");
	struct marks *gap = marks("date,symbol,price\n2024-01-01,A/USDT,110\n2024-01-02,A/USDT,105\n"
	    "2024-01-01,B/USDT,40\n");
	const char *err = NULL, *sym = NULL;
	struct portfolio *p = portfolio_new("USDT", D("1000"), DAY0, 0, &err);
	struct portfolio *c = portfolio_new("USDT", D("1000"), DAY0, 1, &err);
	const struct equity *e;

	(void)state;
	assert_non_null(p);
	ledger_set_oversell(l, LEDGER_OVERSELL_SHORT);
	trade(l, DAY0, "A/USDT", "buy", "100", "1");
	trade(l, DAY0, "B/USDT", "sell", "50", "2");
	trade(l, DAY0, "ETH/BTC", "buy", "0.05", "1");
	assert_int_equal(portfolio_close_day(p, l, DAY0, m, &sym, &err), 0);
	assert_null(sym);
	assert_int_equal(portfolio_nsymbols(p), 2);
	assert_string_equal(portfolio_symbol(p, 0), "A/USDT");
	assert_string_equal(portfolio_symbol(p, 1), "B/USDT");
	assert_dec_str(portfolio_exposure(p, 0), "110");
	assert_dec_str(portfolio_exposure(p, 1), "80");

	/* the same day without B's mark fails, naming B, and changes nothing */
	assert_int_equal(portfolio_close_day(c, l, DAY0, gap, &sym, &err), 0);
	assert_int_equal(portfolio_close_day(c, l, DAY0 + 1, gap, &sym, &err), 0);	/* carried */
	assert_dec_str(equity_day(portfolio_equity(c), 1)->equity, "1025");	/* A 5, B 20 at 40 */
	assert_int_equal(portfolio_close_day(p, l, DAY0 + 1, gap, &sym, &err), -1);
	assert_string_equal(sym, "B/USDT");
	assert_string_equal(err, "no mark for a symbol with an open position");
	assert_int_equal(equity_ndays(portfolio_equity(p)), 1);

	assert_int_equal(portfolio_close_day(p, l, DAY0 + 1, m, &sym, &err), 0);
	trade(l, DAY0 + 2, "B/USDT", "buy", "45", "2");
	assert_int_equal(portfolio_close_day(p, l, DAY0 + 2, m, &sym, &err), 0);
	e = portfolio_equity(p);
	assert_int_equal(equity_ndays(e), 3);
	assert_dec_str(equity_day(e, 0)->equity, "1030");
	assert_dec_str(equity_day(e, 1)->equity, "1015");
	assert_dec_str(equity_day(e, 2)->equity, "1030");
	assert_true(portfolio_pnl(p, 0)[0] == 10 && portfolio_pnl(p, 0)[1] == -5 &&
	    portfolio_pnl(p, 0)[2] == 15);
	assert_true(portfolio_pnl(p, 1)[0] == 20 && portfolio_pnl(p, 1)[1] == -10 &&
	    portfolio_pnl(p, 1)[2] == 0);
	assert_dec_str(portfolio_exposure(p, 0), "120");
	assert_dec_str(portfolio_exposure(p, 1), "0");
	assert_null(portfolio_new("USDT", DEC_ZERO, DAY0, 0, &err));
	assert_string_equal(err, "starting capital must be positive");
	portfolio_free(p);
	portfolio_free(c);
	portfolio_free(NULL);
	marks_free(m);
	marks_free(gap);
	ledger_free(l);
}

/* A symbol first traded on a later day has zero PnL on the days before. */
static void
test_late_symbol(void **state)
{
	struct ledger *l = ledger_new();
	struct marks *m = marks("{\"2024-01-03\": {\"A/USDT\": 12}}");
	const char *err = NULL, *sym = NULL;
	struct portfolio *p = portfolio_new("USDT", D("100"), DAY0, 0, &err);

	(void)state;
	assert_int_equal(portfolio_close_day(p, l, DAY0, m, &sym, &err), 0);
	assert_int_equal(portfolio_nsymbols(p), 0);
	assert_int_equal(portfolio_close_day(p, l, DAY0 + 1, m, &sym, &err), 0);
	trade(l, DAY0 + 2, "A/USDT", "buy", "10", "1");
	assert_int_equal(portfolio_close_day(p, l, DAY0 + 2, m, &sym, &err), 0);
	assert_int_equal(portfolio_nsymbols(p), 1);
	assert_true(portfolio_pnl(p, 0)[0] == 0 && portfolio_pnl(p, 0)[1] == 0 &&
	    portfolio_pnl(p, 0)[2] == 2);
	assert_dec_str(equity_day(portfolio_equity(p), 2)->equity, "102");
	portfolio_free(p);
	marks_free(m);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_late_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

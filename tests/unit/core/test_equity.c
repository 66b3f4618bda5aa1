#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/equity.h"

static void
trade(struct ledger *l, int64_t ts, const char *side, const char *price)
{
	struct fill f;
	enum ledger_outcome o;
	const char *err;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fill_set_symbol(&f, "BTC/USDT", 8, &err), 0);
	f.timestamp = ts;
	f.side = strcmp(side, "buy") == 0 ? FILL_BUY : FILL_SELL;
	f.price = D(price);
	f.amount = dec_one();
	assert_int_equal(ledger_apply(l, &f, &o, &err), 0);
}

static void
assert_equity(const struct equity *e, size_t i, int64_t day, const char *eq, double ret)
{
	const struct equity_day *d = equity_day(e, i);
	char buf[DEC_STR_MAX];

	assert_true(d->day == day);
	dec_format(buf, sizeof(buf), d->equity);
	assert_string_equal(buf, eq);
	if (fabs(d->ret - ret) > 1e-15)
		fail_msg("day %zu: return %.17g, want %.17g", i, d->ret, ret);
}

static void
test_daily_twr(void **state)
{
	struct ledger *l = ledger_new();
	const char *err;
	struct equity *e = equity_new("USDT", D("1000"), 19723, &err);	/* 2024-01-01 */
	struct equity_mark m = { "BTC/USDT", D("110") };
	const int64_t day_ms = 86400000LL, t0 = 19723 * day_ms;

	(void)state;
	assert_non_null(e);
	/* day 0: buy 1 @ 100, mark 110: E0 = 1000 + 10 = 1010, r0 = 0.01 */
	trade(l, t0 + 1000, "buy", "100");
	assert_int_equal(equity_close_day(e, l, 19723, &m, 1, &err), 0);
	assert_equity(e, 0, 19723, "1010", 0.01);
	/* day 1: no fill, mark 99: E1 = 999, r1 = (999-1010)/1010 = -0.010891089108910891 */
	m.price = D("99");
	assert_int_equal(equity_close_day(e, l, 19724, &m, 1, &err), 0);
	assert_equity(e, 1, 19724, "999", -0.010891089108910891);
	/* day 2: deposit 1000 at the start, sell 1 @ 105 (realized 5), flat:
	 * E2 = 2000 + 5 = 2005, base 999 + 1000 = 1999, r2 = 6/1999 */
	assert_int_equal(equity_flow(e, 19725, D("1000"), &err), 0);
	assert_int_equal(equity_flow(e, 19727, D("-5"), &err), 0);
	trade(l, t0 + 2 * day_ms + 5, "sell", "105");
	assert_int_equal(equity_close_day(e, l, 19725, NULL, 0, &err), 0);
	assert_equity(e, 2, 19725, "2005", 0.003001500750375188);
	/* days 3 and 4 closed at once: day 3 carried (E 2005, r 0); day 4
	 * withdraws 5 at its start: base 2005 - 5 = 2000, and E4 = capital
	 * 1000 + 1000 - 5, plus realized 5, = 2000: r 0 */
	assert_int_equal(equity_close_day(e, l, 19727, NULL, 0, &err), 0);
	assert_int_equal(equity_ndays(e), 5);
	assert_equity(e, 3, 19726, "2005", 0.0);
	assert_equity(e, 4, 19727, "2000", 0.0);
	/* day PnL = equity - (previous equity + flow): 10, -11, 6, 0, 0 */
	assert_dec_str(equity_day(e, 0)->pnl, "10");
	assert_dec_str(equity_day(e, 1)->pnl, "-11");
	assert_dec_str(equity_day(e, 2)->pnl, "6");
	assert_dec_str(equity_day(e, 2)->flow, "1000");
	assert_dec_str(equity_day(e, 3)->pnl, "0");
	assert_dec_str(equity_day(e, 4)->pnl, "0");
	assert_dec_str(equity_day(e, 4)->flow, "-5");
	/* TWR = 1.01 * 999/1010 * 2005/1999 - 1 = 0.0019984992496248124... */
	assert_true(fabs(equity_twr(e) - 0.0019984992496248124) < 1e-15);
	assert_true(equity_returns(e)[2] == equity_day(e, 2)->ret);

	/* errors */
	assert_int_equal(equity_close_day(e, l, 19727, NULL, 0, &err), -1);
	assert_string_equal(err, "day already closed");
	assert_int_equal(equity_flow(e, 19700, D("1"), &err), -1);
	trade(l, t0 + 6 * day_ms, "buy", "100");
	assert_int_equal(equity_close_day(e, l, 19729, NULL, 0, &err), -1);
	assert_string_equal(err, "no mark for a symbol with an open position");
	assert_int_equal(equity_ndays(e), 5);	/* nothing added */
	assert_null(equity_new("USDT", DEC_ZERO, 0, &err));
	assert_null(equity_new("", dec_one(), 0, &err));
	equity_free(e);
	equity_free(NULL);

	/* a wiped-out account: a day starting at 0 has no return */
	ledger_free(l);
	l = ledger_new();
	e = equity_new("USDT", D("1"), 0, &err);
	assert_int_equal(equity_flow(e, 1, D("-1"), &err), 0);
	assert_int_equal(equity_close_day(e, l, 1, NULL, 0, &err), -1);
	assert_string_equal(err, "equity not positive at the start of a day");
	assert_int_equal(equity_ndays(e), 0);
	assert_int_equal(equity_close_day(e, l, 0, NULL, 0, &err), 0);
	assert_equity(e, 0, 0, "1", 0.0);
	assert_int_equal(equity_close_day(e, l, 200000, NULL, 0, &err), -1);
	assert_string_equal(err, "day too far ahead");
	equity_free(e);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily_twr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

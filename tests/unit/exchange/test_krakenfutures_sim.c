/* The Kraken Futures connector against the simulator: backfill of the
 * history executions, incremental cycles while trading, faults, budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim_helpers.h"

static void
test_backfill_live(void **state)
{
	static const char *const args[] = { "--seed", "21", "--accounts", "1", "--fills", "10000", "--live-spacing-ms",
		"20", NULL };
	(void)state;
	sim_run(&exchange_krakenfutures, "krakenfutures", FILL_FUTURES, args, 3, false);
}

static void
test_faults(void **state)
{
	static const char *const args[] = { "--seed", "22", "--accounts", "1", "--fills", "3000", "--live-spacing-ms",
		"50", "--fault-5xx", "0.05", "--fault-429", "0.05", "--fault-truncate", "0.05", "--fault-malformed", "0.05",
		"--fault-overlap", "0.3", NULL };
	(void)state;
	sim_run(&exchange_krakenfutures, "krakenfutures", FILL_FUTURES, args, 3, false);
}

static void
test_bad_secret(void **state)
{
	static const char *const args[] = { "--seed", "23", "--accounts", "1", "--fills", "100", NULL };
	struct simproc s;
	char key[160], secret[512];
	struct credential cred = { 0 };
	struct collected col = { 0 };
	struct xsink sink = col_sink(&col);
	struct xconf conf = { .market = FILL_FUTURES };
	struct xconn c;
	struct xsync_stats st;
	const char *err = NULL;

	(void)state;
	sim_start(&s, args);
	sim_account(&s, "krakenfutures", "futures", key, sizeof(key), secret, sizeof(secret));
	conf.base_url = s.base;
	secret[0] = secret[0] == 'A' ? 'B' : 'A';
	cred.api_key = key;
	cred.api_key_len = strlen(key);
	cred.secret = secret;
	cred.secret_len = strlen(secret);
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), 0);
	assert_int_equal(xsync_cycle(&c, &cred, &sink, 3, &st), -1);
	assert_int_equal(st.last, XR_AUTH);
	assert_non_null(strstr(st.error, "authenticationError"));
	assert_false(c.validated);
	xconn_close(&c);
	sim_stop(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backfill_live),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_bad_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

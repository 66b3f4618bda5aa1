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
	sim_credential(&s, "krakenfutures", "futures", key, secret, &cred);
	conf.base_url = s.base;
	secret[0] = secret[0] == 'A' ? 'B' : 'A';
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), 0);
	assert_int_equal(xsync_cycle(&c, &cred, &sink, 3, &st), -1);
	assert_int_equal(st.last, XR_AUTH);
	assert_non_null(strstr(st.error, "authenticationError"));
	assert_false(c.validated);
	xconn_close(&c);
	sim_stop(&s);
}

/* Balances through the simulator's flex account and open positions, in the
 * cash view: every currency equals the truth exactly, and each open
 * position equals the signed sum of the truth's fills of its symbol (seed 7,
 * 603 fills: a long and a short are open at the end). */
static void
test_balances_positions(void **state)
{
	static const char *const args[] = { "--seed", "7", "--accounts", "1", "--fills", "603", NULL };
	struct simproc s;
	char key[160], secret[512], b[DEC_STR_MAX], *path, *body;
	struct credential cred = { 0 };
	struct collected col = { 0 };
	struct xsink sink = col_sink(&col);
	struct xconf conf = { .market = FILL_FUTURES };
	struct xconn c;
	struct xsync_stats st;
	const char *err = NULL, *cur;
	json_t *t, *v, *pos;
	size_t i, npos = 0;

	(void)state;
	sim_start(&s, args);
	sim_credential(&s, "krakenfutures", "futures", key, secret, &cred);
	conf.base_url = s.base;
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), 0);
	if (xsync_cycle(&c, &cred, &sink, 60, &st) != 0)
		fail_msg("cycle: %s", st.error);
	path = xasprintf("/exsim/truth?api_key=%s", key);
	body = sim_get(&s, path);
	t = json_loads(body, 0, NULL);
	assert_non_null(t);
	json_object_foreach(json_object_get(t, "balances"), cur, v) {
		struct dec d;
		const char *e;
		assert_int_equal(dec_parse(json_string_value(v), strlen(json_string_value(v)), &d, &e), 0);
		dec_format(b, sizeof(b), d);
		{
			char got[DEC_STR_MAX];
			if (col_balance_of(&col, cur, got) == NULL || strcmp(got, b) != 0)
				fail_msg("balance %s: %s, truth %s", cur, col_balance_of(&col, cur, got), b);
		}
	}
	/* positions: the signed sum of the truth's fills per symbol */
	pos = json_object();
	json_array_foreach(json_object_get(t, "fills"), i, v) {
		const char *sym = json_string_value(json_object_get(v, "symbol"));
		const char *amt = json_string_value(json_object_get(v, "amount")), *e;
		struct dec a, sum = DEC_ZERO;
		json_t *prev = json_object_get(pos, sym);
		assert_int_equal(dec_parse(amt, strlen(amt), &a, &e), 0);
		if (prev != NULL)
			assert_int_equal(dec_parse(json_string_value(prev), strlen(json_string_value(prev)), &sum, &e), 0);
		assert_int_equal(strcmp(json_string_value(json_object_get(v, "side")), "buy") == 0 ?
		    dec_add(&sum, sum, a) : dec_sub(&sum, sum, a), 0);
		dec_format(b, sizeof(b), sum);
		json_object_set_new(pos, sym, json_string(b));
	}
	json_object_foreach(pos, cur, v) {
		char got[DEC_STR_MAX];
		const char *g = col_balance_of(&col, cur, got);
		if (strcmp(json_string_value(v), "0") == 0) {
			assert_null(g);
			continue;
		}
		npos++;
		if (g == NULL || strcmp(g, json_string_value(v)) != 0)
			fail_msg("position %s: %s, truth's fills %s", cur, g, json_string_value(v));
	}
	assert_int_equal(npos, 2);
	json_decref(pos);
	json_decref(t);
	free(body);
	free(path);
	xconn_close(&c);
	sim_stop(&s);
	free(col.fills);
}

/* Prices seen by a sink: unified symbol -> {day ms: close}. */
static json_t *prices_seen;

static int
keep_price(void *arg, const char *symbol, int64_t day, struct dec close)
{
	char k[24], b[DEC_STR_MAX];
	json_t *o = json_object_get(prices_seen, symbol);

	(void)arg;
	if (o == NULL)
		json_object_set_new(prices_seen, symbol, o = json_object());
	snprintf(k, sizeof(k), "%lld", (long long)day);
	dec_format(b, sizeof(b), close);
	json_object_set_new(o, k, json_string(b));
	return 0;
}

/* Daily closes through the charts API over a history longer than one
 * answer (2,000 candles): every close equals the simulator's candle truth
 * (/exsim/closes, its last 1,000 days), every day from the first fill on
 * is there, the requests
 * stay within the stated bound, and a second cycle within the hour asks for
 * no closes. */
static void
test_closes(void **state)
{
	static const char *const args[] = { "--seed", "7", "--accounts", "1", "--fills", "603", "--history-days",
		"2300", NULL };
	static const char *const syms[] = { "BTC/USD:USD", "ETH/USD:USD" };
	struct simproc s;
	char key[160], secret[512];
	struct credential cred = { 0 };
	struct collected col = { 0 };
	struct xsink sink = col_sink(&col);
	struct xconf conf = { .market = FILL_FUTURES };
	struct xconn c;
	struct xsync_stats st;
	const char *err = NULL;
	unsigned bound;

	(void)state;
	prices_seen = json_object();
	sink.price = keep_price;
	sim_start(&s, args);
	sim_credential(&s, "krakenfutures", "futures", key, secret, &cred);
	conf.base_url = s.base;
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), 0);
	if (xsync_cycle(&c, &cred, &sink, 60, &st) != 0)
		fail_msg("cycle: %s", st.error);
	assert_true(c.backfill_done);
	for (size_t i = 0; i < 2; i++) {
		char *path = xasprintf("/exsim/closes?exchange=krakenfutures&market=futures&symbol=%s", syms[i]);
		char *body = sim_get(&s, path);
		json_t *truth = json_loads(body, 0, NULL), *got = json_object_get(prices_seen, syms[i]), *v;
		const char *day;
		assert_non_null(truth);
		assert_non_null(got);
		assert_true(json_object_size(got) > 2000);	/* more than one answer */
		{
			/* every day from the first on (the truth lists the last 1,000) */
			long long lo = -1, hi = -1;
			json_object_foreach(got, day, v) {
				long long d = atoll(day);
				lo = lo < 0 || d < lo ? d : lo;
				hi = d > hi ? d : hi;
			}
			assert_int_equal((hi - lo) / 86400000LL + 1, json_object_size(got));
		}
		json_object_foreach(truth, day, v) {
			const json_t *g = json_object_get(got, day);
			if (g == NULL || strcmp(json_string_value(g), json_string_value(v)) != 0)
				fail_msg("%s day %s: close %s, truth %s", syms[i], day, g != NULL ? json_string_value(g) :
				    "(none)", json_string_value(v));
		}
		json_decref(truth);
		free(body);
		free(path);
	}
	/* R = 3 + (floor(E / 100) + 1) + (floor(L / 500) + 1) + sum over series
	 * (floor(D / 2000) + 1), L the account-log entries (its flows here) */
	bound = 3 + (unsigned)(col.nfills / 100 + 1) + (unsigned)(col.nflows / 500 + 1);
	for (size_t i = 0; i < 2; i++)
		bound += (unsigned)(json_object_size(json_object_get(prices_seen, syms[i])) / 2000 + 1);
	if (st.requests > bound)
		fail_msg("first cycle: %u requests, bound %u", st.requests, bound);
	/* within the hour: executions, account-log, openpositions, accounts;
	 * no closes */
	json_object_clear(prices_seen);
	assert_int_equal(xsync_cycle(&c, &cred, &sink, 60, &st), 0);
	assert_int_equal(st.requests, 4);
	assert_int_equal(json_object_size(prices_seen), 0);
	assert_string_equal(c.degraded[XPART_PRICES], "");
	assert_null(c.caveat[XPART_PRICES]);
	json_decref(prices_seen);
	xconn_close(&c);
	sim_stop(&s);
	free(col.fills);
}

/* Deposits and withdrawals from the account-log's transfers equal the
 * truth's flows (id, time, currency, signed amount), and the next cycle
 * emits none again. */
static void
test_flows(void **state)
{
	static const char *const args[] = { "--seed", "7", "--accounts", "1", "--fills", "603", NULL };
	struct simproc s;
	char key[160], secret[512], *path, *body, b[DEC_STR_MAX];
	struct credential cred = { 0 };
	struct collected col = { 0 };
	struct xsink sink = col_sink(&col);
	struct xconf conf = { .market = FILL_FUTURES };
	struct xconn c;
	struct xsync_stats st;
	const char *err = NULL;
	json_t *t, *flows, *v;
	size_t i;

	(void)state;
	sim_start(&s, args);
	sim_credential(&s, "krakenfutures", "futures", key, secret, &cred);
	conf.base_url = s.base;
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), 0);
	if (xsync_cycle(&c, &cred, &sink, 60, &st) != 0)
		fail_msg("cycle: %s", st.error);
	assert_null(c.caveat[XPART_FLOWS]);
	assert_string_equal(c.degraded[XPART_FLOWS], "");
	path = xasprintf("/exsim/truth?api_key=%s", key);
	body = sim_get(&s, path);
	t = json_loads(body, 0, NULL);
	assert_non_null(t);
	flows = json_object_get(t, "flows");
	assert_true(json_array_size(flows) > 0);
	assert_int_equal(col.nflows, json_array_size(flows));
	json_array_foreach(flows, i, v) {
		const char *amt = json_string_value(json_object_get(v, "amount")), *e;
		struct dec want;
		assert_int_equal(dec_parse(amt, strlen(amt), &want, &e), 0);
		if (strcmp(json_string_value(json_object_get(v, "type")), "withdrawal") == 0 && dec_sign(want) > 0)
			assert_int_equal(dec_neg(&want, want), 0);
		assert_string_equal(col.flows[i].id, json_string_value(json_object_get(v, "id")));
		assert_int_equal(col.flows[i].ts, json_integer_value(json_object_get(v, "timestamp")));
		assert_string_equal(col.flows[i].cur, json_string_value(json_object_get(v, "currency")));
		if (dec_cmp(col.flows[i].amount, want) != 0) {
			dec_format(b, sizeof(b), col.flows[i].amount);
			fail_msg("flow %s: %s, truth %s", col.flows[i].id, b, amt);
		}
	}
	assert_int_equal(xsync_cycle(&c, &cred, &sink, 60, &st), 0);
	assert_int_equal(col.nflows, json_array_size(flows));
	json_decref(t);
	free(body);
	free(path);
	xconn_close(&c);
	sim_stop(&s);
	free(col.fills);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backfill_live),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_bad_secret),
		cmocka_unit_test(test_balances_positions),
		cmocka_unit_test(test_closes),
		cmocka_unit_test(test_flows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

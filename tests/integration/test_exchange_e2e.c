/*
 * Issue #4 end to end: the exchange simulator, the real perfaggd pointed at
 * it, and the real perfagg client. Every simulated account whose exchange has
 * a connector is registered through the encrypted envelope; the daemon
 * validates the key, backfills, and its /enclave/metrics must equal `perfagg
 * analyze` run on the simulator's ground-truth export, symbol by symbol. Run
 * once clean and once with faults injected: nothing lost, nothing twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../unit/exchange/exsim_run.h"
#include "client/httpc.h"
#include "exchange/exchange.h"
#include "harness.h"
#include "harness_exchange.h"
#include "util/xalloc.h"

static const char *const compared[] = { "realized_pnl", "closed_basis", "volume_base", "volume_quote", "fees_quote",
	"trades", "wins", "losses", "open_long_qty", "open_long_cost", "open_short_qty", "open_short_proceeds",
	"unmatched_sell_qty", "first_fill", "last_fill" };

/* The daemon's metrics for every symbol equal `perfagg analyze` on the truth. */
static void
compare(const struct daemon *d, const struct exsim_run *s, json_t *acct, const char *sid, const char *what)
{
	char *path, *enc, *text, *file, *out = NULL, *err = NULL;
	json_t *truth, *metrics, *analysis, *symbols, *m;
	size_t i, nsym;
	int rc;

	enc = xurl_encode(json_string_value(json_object_get(acct, "api_key")),
	    json_string_length(json_object_get(acct, "api_key")));
	path = xasprintf("/exsim/truth?api_key=%s", enc);
	truth = harness_sim_get(s, path);
	text = json_dumps(json_pack("{s:O}", "fills", json_object_get(truth, "fills")), 0);
	file = harness_write_tmp("perfagg-truth", text);
	{
		const char *argv[] = { "perfagg", "analyze", file, NULL };
		rc = harness_run(argv, NULL, NULL, &out, &err);
	}
	unlink(file);
	if (rc != 0)
		fail_msg("%s: analyze: %s", what, err);
	analysis = json_loads(out, 0, NULL);
	assert_non_null(analysis);
	symbols = json_object_get(analysis, "symbols");

	assert_int_equal(harness_http(d, "GET", "/enclave/metrics", NULL, 0, NULL, sid, &metrics), 200);
	m = json_object_get(metrics, "metrics");
	nsym = json_array_size(m);
	assert_int_equal(nsym, json_object_size(symbols));
	assert_true(json_is_true(json_object_get(json_object_get(metrics, "freshness"), "backfill_done")));
	for (i = 0; i < nsym; i++) {
		json_t *got = json_array_get(m, i);
		const char *sym = json_string_value(json_object_get(got, "symbol"));
		json_t *want = json_object_get(symbols, sym);
		if (want == NULL)
			fail_msg("%s: the daemon has %s, the truth does not", what, sym);
		for (size_t k = 0; k < sizeof(compared) / sizeof(compared[0]); k++) {
			json_t *a = json_object_get(got, compared[k]), *b = json_object_get(want, compared[k]);
			if (!json_equal(a, b)) {
				char *sa = json_dumps(a, JSON_ENCODE_ANY), *sb = json_dumps(b, JSON_ENCODE_ANY);
				fail_msg("%s %s %s: daemon %s, analyze on truth %s", what, sym, compared[k], sa, sb);
			}
		}
	}
	json_decref(metrics);
	json_decref(analysis);
	json_decref(truth);
	free(path);
	free(enc);
	free(text);
	free(file);
	free(out);
	free(err);
}

static void
run_world(const char *const *sim_args, const char *label)
{
	struct exsim_run s;
	struct daemon d;
	char urls[512];
	json_t *accounts;
	size_t tested = 0;

	exsim_run_start(&s, sim_args);
	snprintf(urls, sizeof(urls), "EXCHANGE_BASE_URLS=binance=%s,coinbase=%s,kraken=%s,krakenfutures=%s", s.url, s.url,
	    s.url, s.url);
	{
		const char *env[] = { urls, "API_INTERVAL=1000", "RATE_LIMIT_MAX=100000", "LOG_LEVEL=info", NULL };
		harness_start(&d, env);
	}
	accounts = harness_sim_get(&s, "/exsim/accounts");
	for (size_t i = 0; i < json_array_size(accounts); i++) {
		json_t *a = json_array_get(accounts, i);
		const char *ex = json_string_value(json_object_get(a, "exchange"));
		char what[96], *sid;
		if (exchange_find(ex) == NULL)
			continue;	/* no connector yet for this exchange */
		snprintf(what, sizeof(what), "[%s] %s/%s", label, ex, json_string_value(json_object_get(a, "market")));
		sid = harness_register(&d, a);
		harness_wait_backfilled(&d, sid, what);
		compare(&d, &s, a, sid, what);
		free(sid);
		tested++;
	}
	assert_true(tested >= 4);
	json_decref(accounts);
	assert_int_equal(harness_stop(&d), 0);
	exsim_run_stop(&s);
}

static void
test_backfill_equals_truth(void **state)
{
	const char *args[] = { "--seed", "11", "--accounts", "1", "--fills", "3000", NULL };

	(void)state;
	run_world(args, "clean");
}

static void
test_backfill_under_faults(void **state)
{
	const char *args[] = { "--seed", "12", "--accounts", "1", "--fills", "2000", "--fault-5xx", "0.05",
		"--fault-429", "0.03", "--fault-truncate", "0.03", "--fault-malformed", "0.03", "--fault-overlap", "0.1",
		NULL };

	(void)state;
	run_world(args, "faults");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backfill_equals_truth),
		cmocka_unit_test(test_backfill_under_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

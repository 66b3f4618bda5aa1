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
#include <math.h>
#include <cmocka.h>

#include "../unit/exchange/exsim_run.h"
#include "client/httpc.h"
#include "exchange/exchange.h"
#include "exchange/pricebook.h"
#include "harness.h"
#include "harness_exchange.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *const compared[] = { "realized_pnl", "closed_basis", "volume_base", "volume_quote", "fees_quote",
	"trades", "wins", "losses", "fees_pending", "trips_pending", "open_long_qty", "open_long_cost", "open_short_qty", "open_short_proceeds",
	"unmatched_sell_qty", "first_fill", "last_fill" };

static struct dec
dec_of(json_t *v, const char *what)
{
	struct dec d;
	const char *err;

	if (!json_is_string(v) || dec_parse(json_string_value(v), json_string_length(v), &d, &err) != 0)
		fail_msg("%s: not a decimal string", what);
	return d;
}

/*
 * The summary's realized funding equals the truth's FUNDING_FEE payments:
 * per currency the sum, per symbol the count (Binance USD-M; null for spot
 * and margin; Kraken Futures: not collected, and the summary says so).
 */
static void
compare_funding(json_t *sum, json_t *truth, const char *ex, const char *what)
{
	json_t *fund = json_object_get(sum, "funding"), *rows = json_object_get(truth, "funding"), *v;
	struct dec want = DEC_ZERO;
	size_t i, n = 0;

	if (strcmp(json_string_value(json_object_get(sum, "account_type")), "futures") != 0) {
		assert_true(json_is_null(fund));
		return;
	}
	if (strcmp(ex, "krakenfutures") == 0) {
		/* not collected, and said so; the simulator books none there */
		assert_true(json_is_false(json_object_get(fund, "collected")));
		assert_non_null(json_string_value(json_object_get(fund, "note")));
		assert_int_equal(json_array_size(rows), 0);
		return;
	}
	assert_true(json_is_true(json_object_get(fund, "collected")));
	assert_string_equal(ex, "binance");
	assert_true(json_array_size(rows) > 0);
	json_array_foreach(rows, i, v)
		assert_int_equal(dec_add(&want, want, dec_of(json_object_get(v, "amount"), what)), 0);
	if (dec_cmp(dec_of(json_object_get(json_object_get(fund, "totals"), "USDT"), what), want) != 0) {
		char b[DEC_STR_MAX];
		dec_format(b, sizeof(b), want);
		fail_msg("%s: funding %s, truth %s", what,
		    json_string_value(json_object_get(json_object_get(fund, "totals"), "USDT")), b);
	}
	json_array_foreach(json_object_get(fund, "symbols"), i, v)
		n += (size_t)json_integer_value(json_object_get(v, "payments"));
	assert_int_equal(n, json_array_size(rows));
}

/*
 * The summary's daily account equity equals the simulator's forward truth
 * exactly, day by day, and the TWR to 1e-12. Coinbase reports no flows, so
 * its equity is only exact from the last flow's day on and its TWR is not
 * compared (its summary says so in a note).
 */
static void
compare_equity(const struct daemon *d, json_t *truth, const char *ex, const char *sid, const char *what)
{
	json_t *sum, *acc, *de = json_object_get(truth, "daily_equity"), *tdays, *sdays, *v;
	char from[TIME_DATE_LEN] = "";
	size_t i, j, matched = 0;
	bool noflows = strcmp(ex, "coinbase") == 0;

	assert_int_equal(harness_http(d, "GET", "/enclave/summary", NULL, 0, NULL, sid, &sum), 200);
	acc = json_object_get(sum, "account");
	if (!json_is_object(acc))
		fail_msg("%s: no account equity in the summary", what);
	if (noflows)
		assert_true(json_array_size(json_object_get(acc, "notes")) > 0);
	assert_string_equal(json_string_value(json_object_get(acc, "quote")),
	    json_string_value(json_object_get(de, "quote")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(sum, "statistics"), "series")),
	    "daily account equity (time-weighted)");
	/* the same currencies left out, never valued at 0 */
	{
		json_t *su = json_object_get(acc, "unpriced"), *tu = json_object_get(de, "unpriced"), *x, *y;
		size_t k, m;
		bool found;
		assert_int_equal(json_array_size(su), json_array_size(tu));
		json_array_foreach(su, k, x) {
			found = false;
			json_array_foreach(tu, m, y)
				found = found || json_equal(x, y);
			if (!found)
				fail_msg("%s: %s unpriced in the summary, not in the truth", what, json_string_value(x));
		}
	}
	tdays = json_object_get(de, "days");
	sdays = json_object_get(sum, "daily");
	assert_true(json_array_size(tdays) > 30);
	if (noflows)
		json_array_foreach(json_object_get(truth, "flows"), i, v) {
			char day[TIME_DATE_LEN];
			time_format_date(day, time_day_of_ms(json_integer_value(json_object_get(v, "timestamp"))));
			if (strcmp(day, from) > 0)
				memcpy(from, day, sizeof(from));
		}
	else
		assert_int_equal(json_array_size(sdays), json_array_size(tdays));
	json_array_foreach(tdays, i, v) {
		const char *date = json_string_value(json_object_get(v, "date"));
		json_t *got = NULL;
		if (strcmp(date, from) < 0)
			continue;
		for (j = 0; j < json_array_size(sdays) && got == NULL; j++)
			if (strcmp(json_string_value(json_object_get(json_array_get(sdays, j), "date")), date) == 0)
				got = json_array_get(sdays, j);
		if (got == NULL)
			fail_msg("%s: the truth has %s, the summary does not", what, date);
		if (dec_cmp(dec_of(json_object_get(got, "equity"), what), dec_of(json_object_get(v, "equity"), what)) != 0)
			fail_msg("%s %s: equity %s, truth %s", what, date,
			    json_string_value(json_object_get(got, "equity")), json_string_value(json_object_get(v, "equity")));
		matched++;
	}
	assert_true(matched > 0);
	if (!noflows) {
		double tw = json_real_value(json_object_get(de, "twr")), sw = json_real_value(json_object_get(sum, "twr"));
		if (fabs(tw - sw) > 1e-12)
			fail_msg("%s: TWR %.17g, truth %.17g", what, sw, tw);
		assert_true(json_is_object(json_object_get(sum, "benchmark")));
	}
	compare_funding(sum, truth, ex, what);
	json_decref(sum);
}

/*
 * The simulator's final daily closes of the series the daemon converts
 * Binance's BNB fees with (BNB/USDT, and BTC/USDT for the cross of
 * BTC-quoted symbols), as a --fee-closes CSV: the days that had ended
 * (PRICEBOOK_FINAL_AFTER_MS past) before the daemon fetched them. A run
 * across that boundary could see one day more here than in the daemon.
 */
/* GET path from the simulator, through its injected faults. */
static json_t *
sim_get_retry(const struct exsim_run *s, const char *path)
{
	char *url = xasprintf("%s%s", s->url, path), err[256];
	json_t *j = NULL;

	for (int i = 0; i < 100 && j == NULL; i++) {
		struct httpc_request req = { .method = "GET", .timeout_s = 120, .url = url };
		struct httpc_response resp;
		if (httpc_do(&req, &resp, err, sizeof(err)) == 0) {
			if (resp.status == 200 && json_is_array(resp.json))
				j = json_incref(resp.json);
			httpc_response_clear(&resp);
		}
		if (j == NULL)
			usleep(20000);
	}
	if (j == NULL)
		fail_msg("simulator %s: no answer in 100 tries", path);
	free(url);
	return j;
}

static char *
fee_closes(const struct exsim_run *s)
{
	static const char *const series[][2] = { { "BNBUSDT", "BNB/USDT" }, { "BTCUSDT", "BTC/USDT" } };
	int64_t last_day = time_day_of_ms(time_now_ms() - PRICEBOOK_FINAL_AFTER_MS) - 1;
	char *csv = xasprintf("date,symbol,price\n"), *path, date[TIME_DATE_LEN];

	for (size_t k = 0; k < 2; k++)
		for (int64_t from = 0;; from += 1000 * TIME_DAY_MS) {
			json_t *rows, *row;
			size_t i;
			path = xasprintf("/api/v3/klines?symbol=%s&interval=1d&startTime=%lld&limit=1000", series[k][0],
			    (long long)from);
			rows = sim_get_retry(s, path);
			free(path);
			json_array_foreach(rows, i, row) {
				json_t *jt = json_array_get(row, 0);
				int64_t t = json_is_integer(jt) ? json_integer_value(jt) :
				    strtoll(json_string_value(jt) != NULL ? json_string_value(jt) : "0", NULL, 10);
				char *next;
				if (!json_is_string(json_array_get(row, 4)))
					fail_msg("klines %s: the close is not a string", series[k][0]);
				if (time_day_of_ms(t) > last_day)
					continue;
				time_format_date(date, time_day_of_ms(t));
				next = xasprintf("%s%s,%s,%s\n", csv, date, series[k][1],
				    json_string_value(json_array_get(row, 4)));
				free(csv);
				csv = next;
			}
			i = json_array_size(rows);
			json_decref(rows);
			if (i < 1000)
				break;
		}
	return csv;
}

/* The daemon's metrics for every symbol equal `perfagg analyze` on the truth
 * (with the same closes converting BNB fees). */
static void
compare(const struct daemon *d, const struct exsim_run *s, json_t *acct, const char *sid, const char *what)
{
	char *path, *enc, *text, *file, *out = NULL, *err = NULL;
	json_t *truth, *metrics, *analysis, *symbols, *m;
	size_t i, nsym;
	bool bnb_seen = false;
	int rc;

	enc = xurl_encode(json_string_value(json_object_get(acct, "api_key")),
	    json_string_length(json_object_get(acct, "api_key")));
	path = xasprintf("/exsim/truth?api_key=%s", enc);
	truth = harness_sim_get(s, path);
	{
		json_t *wrap = json_pack("{s:O}", "fills", json_object_get(truth, "fills"));
		text = json_dumps(wrap, 0);
		json_decref(wrap);
	}
	file = harness_write_tmp("perfagg-truth", text);
	{
		char *csv = fee_closes(s), *closes = harness_write_tmp("perfagg-closes", csv);
		const char *argv[] = { "perfagg", "analyze", "--fee-closes", closes, file, NULL };
		rc = harness_run(argv, NULL, NULL, &out, &err);
		unlink(closes);
		free(closes);
		free(csv);
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
	/* the conversions are stated, and the same as analyze's */
	{
		json_t *fa = json_object_get(json_object_get(analysis, "fee_conversion"), "currencies"),
		    *fd = json_object_get(json_object_get(metrics, "fee_conversion"), "currencies");
		assert_int_equal(json_array_size(fa), json_array_size(fd));
		for (size_t k = 0; k < json_array_size(fd); k++) {
			const char *keys[] = { "fees", "fills", "converted", "converted_quote", "pending", "pending_fills" };
			json_t *x = json_array_get(fd, k), *y = NULL;
			for (size_t c = 0; c < json_array_size(fa) && y == NULL; c++)
				if (json_equal(json_object_get(json_array_get(fa, c), "currency"), json_object_get(x, "currency")) &&
				    json_equal(json_object_get(json_array_get(fa, c), "quote"), json_object_get(x, "quote")))
					y = json_array_get(fa, c);
			if (y == NULL)
				fail_msg("%s fee_conversion %zu: not in analyze's", what, k);
			/* BNB fees of the past days were converted, not left pending */
			if (strcmp(json_string_value(json_object_get(x, "currency")), "BNB") == 0 &&
			    strcmp(json_string_value(json_object_get(x, "converted_quote")), "0") == 0)
				fail_msg("%s: no BNB fee converted", what);
			bnb_seen = true;
			for (size_t q = 0; q < sizeof(keys) / sizeof(keys[0]); q++)
				if (!json_equal(json_object_get(x, keys[q]), json_object_get(y, keys[q])))
					fail_msg("%s fee_conversion %s/%s %s differs", what,
					    json_string_value(json_object_get(x, "currency")),
					    json_string_value(json_object_get(x, "quote")), keys[q]);
		}
	}
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
	if (strcmp(json_string_value(json_object_get(acct, "exchange")), "binance") == 0 &&
	    strcmp(json_string_value(json_object_get(acct, "market")), "futures") != 0 && !bnb_seen)
		fail_msg("%s: no third-currency fee in fee_conversion", what);
	json_decref(metrics);
	json_decref(analysis);
	compare_equity(d, truth, json_string_value(json_object_get(acct, "exchange")), sid, what);
	json_decref(truth);
	free(path);
	free(enc);
	free(text);
	free(file);
	free(out);
	free(err);
}

/* The signed metrics, saved with the attestation, verify offline; one changed
 * byte does not. */
static void
check_signed(const struct daemon *d, const char *sid)
{
	char *mfile = xasprintf("/tmp/perfagg-m-%d.json", (int)getpid()), *afile = xasprintf("/tmp/perfagg-a-%d.json",
	    (int)getpid()), *out, *err, *text, line[80];
	const char *fetch[] = { "perfagg", "metrics", "--url", d->url, "--allow-dev", "--out", mfile,
		"--save-attestation", afile, "-", NULL };
	const char *verify[] = { "perfagg", "verify", mfile, "--attestation", afile, "--allow-dev", NULL };
	const char *strict[] = { "perfagg", "verify", mfile, "--attestation", afile, NULL };
	size_t len, changed = 0;
	FILE *f;
	int rc;

	snprintf(line, sizeof(line), "%s\n", sid);
	rc = harness_run(fetch, NULL, line, &out, &err);
	if (rc != 0)
		fail_msg("perfagg metrics: %s", err);
	assert_non_null(strstr(err, "signature verified"));
	free(out);
	free(err);
	rc = harness_run(verify, NULL, NULL, &out, &err);
	if (rc != 0)
		fail_msg("perfagg verify: %s", err);
	assert_non_null(strstr(out, "verified"));
	free(out);
	free(err);
	/* Development evidence is refused unless allowed. */
	assert_int_equal(harness_run(strict, NULL, NULL, &out, &err), 1);
	free(out);
	free(err);
	/* Change one digit of a money value: verification fails. */
	f = fopen(mfile, "r");
	assert_non_null(f);
	text = xmalloc(1 << 24);
	len = fread(text, 1, (1 << 24) - 1, f);
	fclose(f);
	text[len] = '\0';
	for (char *p = strstr(text, "\"realized_pnl\": \""); p != NULL && changed == 0; p = strstr(p + 1, "\"realized_pnl\": \"")) {
		char *digit = p + strlen("\"realized_pnl\": \"");
		while (*digit != '\0' && (*digit < '0' || *digit > '9'))
			digit++;
		if (*digit != '\0') {
			*digit = *digit == '9' ? '8' : (char)(*digit + 1);
			changed++;
		}
	}
	assert_int_equal(changed, 1);
	f = fopen(mfile, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	assert_int_equal(harness_run(verify, NULL, NULL, &out, &err), 1);
	assert_non_null(strstr(err, "NOT verified"));
	free(out);
	free(err);
	free(text);
	unlink(mfile);
	unlink(afile);
	free(mfile);
	free(afile);
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
		/* The simulator does not enforce the exchanges' limits here, so the
		 * daemon need not pace itself (Kraken's Starter counter would make
		 * a backfill take minutes); the connector tests cover pacing. */
		const char *env[] = { urls, "API_INTERVAL=1000", "RATE_LIMIT_MAX=100000", "LOG_LEVEL=info",
			"POLL_KEY_BUDGETS=0", "POLL_IP_BUDGETS=0", NULL };
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
		if (tested == 0)
			check_signed(&d, sid);
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

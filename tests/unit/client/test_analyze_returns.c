/*
 * `perfagg analyze --marks ...` (src/client/analyze_returns.c), run as the
 * built binary ($PERFAGG_BIN_DIR/perfagg): the daily equity, returns and TWR
 * of a hand-worked account, days without fills, missing marks, several quote
 * currencies, statistics equal to `perfagg stats` on the daily returns,
 * benchmark alignment, concentration, and the option and input errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "util/file.h"

static char dir[] = "/tmp/perfagg-returns-XXXXXX";
static const char *const files[] = { "fills", "marks", "flows", "bench", "daily", "out", "err" };

struct result {
	int status;
	char *out, *err;
	json_t *j;		/* stdout as JSON when it parses */
};

static char *
slurp(const char *path)
{
	size_t len;
	const char *err;
	char *s = (char *)file_read_all(path, 1 << 24, &len, &err);

	assert_non_null(s);
	return s;
}

static void
put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Runs perfagg CMDLINE in dir (file names are relative to it). */
static struct result
run(const char *cmdline)
{
	const char *bin = getenv("PERFAGG_BIN_DIR");
	char *cmd, path[128];
	struct result r;

	assert_non_null(bin);
	assert_true(asprintf(&cmd, "cd '%s' && '%s/perfagg' %s >out 2>err", dir, bin, cmdline) > 0);
	r.status = system(cmd);
	free(cmd);
	assert_true(WIFEXITED(r.status));
	r.status = WEXITSTATUS(r.status);
	snprintf(path, sizeof(path), "%s/out", dir);
	r.out = slurp(path);
	snprintf(path, sizeof(path), "%s/err", dir);
	r.err = slurp(path);
	r.j = json_loads(r.out, 0, NULL);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->j);
}

/* Runs and expects success with JSON on stdout and nothing on stderr. */
static struct result
run_ok(const char *cmdline)
{
	struct result r = run(cmdline);

	if (r.status != 0 || r.j == NULL || r.err[0] != '\0')
		fail_msg("%s: exit %d\nstderr: %s\nstdout: %.300s", cmdline, r.status, r.err, r.out);
	return r;
}

/* Runs and expects exit 2, nothing on stdout and exactly err on stderr. */
static void
run_err(const char *cmdline, const char *err)
{
	struct result r = run(cmdline);

	if (r.status != 2 || strcmp(r.err, err) != 0)
		fail_msg("%s: exit %d\nstderr: %s\nwanted: %s", cmdline, r.status, r.err, err);
	assert_string_equal(r.out, "");
	result_free(&r);
}

static void
assert_near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static double
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		fail_msg("%s is not a number", key);
	return json_number_value(v);
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

/*
 * The hand-worked account: capital 10000 USDT, 2024-01-01 to 2024-01-04.
 *
 * Day 1 (01-01): buy 0.1 BTC @ 40000, fee 4 USDT: lot 0.1 costing 4004.
 *   Mark 41000: unrealized 4100 - 4004 = 96. E1 = 10000 + 96 = 10096,
 *   r1 = 96 / 10000 = 0.0096.
 * Day 2 (01-02): deposit 1000 at the start: base = 10096 + 1000 = 11096.
 *   Sell 0.05 BTC @ 42000, fee 2.1: proceeds 2097.9 against half the lot
 *   (2002): realized 95.9; buy 1 ETH @ 2000. Marks BTC 42000, ETH 2050:
 *   unrealized (2100 - 2002) + (2050 - 2000) = 148. E2 = 11000 + 95.9 +
 *   148 = 11243.9, PnL 147.9, r2 = 147.9 / 11096.
 * Day 3 (01-03): no fill. Marks BTC 40000, ETH 2100: unrealized -2 + 100.
 *   E3 = 11000 + 95.9 + 98 = 11193.9, PnL -50, r3 = -50 / 11243.9.
 * Day 4 (01-04): withdrawal 500 at the start: base = 11193.9 - 500 =
 *   10693.9. Sell 1 ETH @ 2200: realized 200, ETH flat (no ETH mark
 *   needed). Mark BTC 43000: unrealized 2150 - 2002 = 148. E4 = 10500 +
 *   295.9 + 148 = 10943.9, PnL 250, r4 = 250 / 10693.9.
 * TWR = 1.0096 * (11243.9/11096) * (11193.9/11243.9) * (10943.9/10693.9) - 1
 *     = 313840941451 / 7416219650000 = 0.042318183152922...
 * Per-symbol daily PnL: BTC 96, 97.9, -100, 150; ETH 0, 50, 50, 100
 * (sums 96, 147.9, -50, 250: the account's). Their Pearson correlation is
 * 0.20005871583278265 (Python statistics.correlation). Exposure at the last
 * marks: BTC 0.05 * 43000 = 2150, ETH 0: HHI 1. Volume: BTC 4000 + 2100 =
 * 6100, ETH 2000 + 2200 = 4200: HHI (6100/10300)^2 + (4200/10300)^2 =
 * 0.51701385615986...
 */
static const char fills[] = "[\n"
    "{\"id\":\"1\",\"datetime\":\"2024-01-01T10:00:00Z\",\"symbol\":\"BTC/USDT\",\"side\":\"buy\","
    "\"price\":40000,\"amount\":0.1,\"fee\":{\"cost\":4,\"currency\":\"USDT\"}},\n"
    "{\"id\":\"3\",\"datetime\":\"2024-01-02T13:00:00Z\",\"symbol\":\"ETH/USDT\",\"side\":\"buy\","
    "\"price\":\"2000\",\"amount\":\"1\"},\n"
    "{\"id\":\"2\",\"datetime\":\"2024-01-02T12:00:00Z\",\"symbol\":\"BTC/USDT\",\"side\":\"sell\","
    "\"price\":\"42000\",\"amount\":\"0.05\",\"fee\":{\"cost\":\"2.1\",\"currency\":\"USDT\"}},\n"
    "{\"id\":\"4\",\"datetime\":\"2024-01-04T23:59:59.999Z\",\"symbol\":\"ETH/USDT\",\"side\":\"sell\","
    "\"price\":\"2200\",\"amount\":\"1\"}\n"
    "]\n";

static const char marks_csv[] =
    "date,symbol,price\n"
    "2024-01-01,BTC/USDT,41000\n"
    "2024-01-02,BTC/USDT,42000\n"
    "2024-01-02,ETH/USDT,2050\n"
    "2024-01-03,BTC/USDT,40000\n"
    "2024-01-03,ETH/USDT,2100\n"
    "2024-01-04,BTC/USDT,43000\n";

/* The same marks as JSON, numbers and strings mixed, in another order. */
static const char marks_json[] =
    "{\"2024-01-04\": {\"BTC/USDT\": 43000},\n"
    " \"2024-01-01\": {\"BTC/USDT\": \"41000\"},\n"
    " \"2024-01-02\": {\"ETH/USDT\": 2050.0, \"BTC/USDT\": \"42000\"},\n"
    " \"2024-01-03\": {\"BTC/USDT\": 4.0e4, \"ETH/USDT\": \"2100\"}}\n";

static const char flows_csv[] = "date,amount\n2024-01-02,1000\n2024-01-04,-500\n";

#define ACCOUNT "analyze --marks marks --capital 10000 --flows flows"

static void
check_four_days(json_t *j)
{
	static const struct { const char *date, *equity, *pnl, *flow; double ret; } want[] = {
		{ "2024-01-01", "10096", "96", "0", 96.0 / 10000 },
		{ "2024-01-02", "11243.9", "147.9", "1000", 147.9 / 11096 },
		{ "2024-01-03", "11193.9", "-50", "0", -50 / 11243.9 },
		{ "2024-01-04", "10943.9", "250", "-500", 250 / 10693.9 },
	};
	json_t *daily = json_object_get(j, "daily"), *c, *m;

	assert_int_equal(json_array_size(daily), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *d = json_array_get(daily, i);

		assert_string_equal(str(d, "date"), want[i].date);
		assert_string_equal(str(d, "equity"), want[i].equity);
		assert_string_equal(str(d, "pnl"), want[i].pnl);
		assert_string_equal(str(d, "flow"), want[i].flow);
		assert_near(num(d, "return"), want[i].ret, 1e-17, want[i].date);
	}
	assert_near(num(j, "twr"), 313840941451.0 / 7416219650000.0, 1e-15, "twr");
	assert_near(num(json_object_get(j, "statistics"), "cum_returns_final"), num(j, "twr"), 1e-15,
	    "cum_returns_final");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "statistics"), "n")), 4);
	c = json_object_get(j, "concentration");
	assert_string_equal(str(c, "quote"), "USDT");
	assert_near(num(c, "exposure_hhi"), 1.0, 0, "exposure_hhi");
	assert_near(num(c, "volume_hhi"), (6100.0 * 6100 + 4200.0 * 4200) / (10300.0 * 10300), 1e-15,
	    "volume_hhi");
	c = json_object_get(j, "correlation");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "symbols"), 0)), "BTC/USDT");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "symbols"), 1)), "ETH/USDT");
	m = json_object_get(c, "matrix");
	assert_near(json_number_value(json_array_get(json_array_get(m, 0), 0)), 1, 0, "corr 0 0");
	assert_near(json_number_value(json_array_get(json_array_get(m, 0), 1)), 0.20005871583278265, 1e-12,
	    "corr 0 1");
	assert_near(json_number_value(json_array_get(json_array_get(m, 1), 0)), 0.20005871583278265, 1e-12,
	    "corr 1 0");
	/* the ledger report is unchanged: realized 95.9 + 200 */
	assert_string_equal(str(json_object_get(json_object_get(j, "totals"), "USDT"), "realized_pnl"),
	    "295.9");
	assert_string_equal(str(json_object_get(j, "account"), "capital"), "10000");
}

static void
test_four_days(void **state)
{
	struct result r;

	(void)state;
	put("fills", fills);
	put("marks", marks_csv);
	put("flows", flows_csv);
	r = run_ok(ACCOUNT " fills");
	check_four_days(r.j);
	result_free(&r);
	/* JSON marks read exactly give the same account */
	put("marks", marks_json);
	r = run_ok(ACCOUNT " fills");
	check_four_days(r.j);
	result_free(&r);
	/* the table shows the sections */
	r = run(ACCOUNT " --format table fills");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "DAILY EQUITY (USDT, capital 10000"));
	assert_non_null(strstr(r.out, "2024-01-03"));
	assert_non_null(strstr(r.out, "11193.9"));
	assert_non_null(strstr(r.out, "TWR 0.0423182"));
	assert_non_null(strstr(r.out, "sharpe_ratio"));
	assert_non_null(strstr(r.out, "CORRELATION OF DAILY PNL"));
	assert_non_null(strstr(r.out, "0.200059"));
	assert_non_null(strstr(r.out, "exposure_hhi"));
	result_free(&r);
}

/*
 * Days without fills and without marks for a flat book: one buy on
 * 2024-03-01 closed the same day, marks up to 2024-03-05 for another
 * symbol only. Capital 100: buy 1 A @ 10, sell @ 11: E = 101 on 03-01
 * (r 0.01), then four days of 101 with return 0 (no open position, so no
 * mark needed), and the series still reaches the last mark's day.
 */
static void
test_days_without_fills(void **state)
{
	struct result r;
	json_t *daily;

	(void)state;
	put("fills", "timestamp,symbol,side,price,amount\n"
	    "1709287200000,A/USD,buy,10,1\n1709290800000,A/USD,sell,11,1\n");
	put("marks", "symbol,price,date\nZ/USD,1,2024-03-05\n");
	r = run_ok("analyze --marks marks --capital 100 fills");
	daily = json_object_get(r.j, "daily");
	assert_int_equal(json_array_size(daily), 5);
	assert_string_equal(str(json_array_get(daily, 0), "equity"), "101");
	assert_near(num(json_array_get(daily, 0), "return"), 0.01, 1e-17, "day 1");
	for (size_t i = 1; i < 5; i++) {
		assert_string_equal(str(json_array_get(daily, i), "equity"), "101");
		assert_string_equal(str(json_array_get(daily, i), "pnl"), "0");
		assert_near(num(json_array_get(daily, i), "return"), 0, 0, "flat day");
	}
	assert_string_equal(str(json_array_get(daily, 4), "date"), "2024-03-05");
	/* a flat book has no exposure: undefined HHI */
	assert_true(json_is_null(json_object_get(json_object_get(r.j, "concentration"), "exposure_hhi")));
	result_free(&r);
}

static void
test_missing_mark(void **state)
{
	struct result r;
	json_t *d;

	(void)state;
	put("fills", fills);
	put("flows", flows_csv);
	/* no ETH mark on 01-03 while 1 ETH is held */
	put("marks", "date,symbol,price\n2024-01-01,BTC/USDT,41000\n2024-01-02,BTC/USDT,42000\n"
	    "2024-01-02,ETH/USDT,2050\n2024-01-03,BTC/USDT,40000\n2024-01-04,BTC/USDT,43000\n");
	run_err(ACCOUNT " fills", "perfagg analyze: 2024-01-03: no mark for ETH/USDT, which has an open "
	    "position (add it to the marks, or use --carry-marks)\n");
	/* carried: ETH stays at 2050 on 01-03: unrealized -2 + 50, E3 = 11143.9 */
	r = run_ok(ACCOUNT " --carry-marks fills");
	d = json_array_get(json_object_get(r.j, "daily"), 2);
	assert_string_equal(str(d, "equity"), "11143.9");
	assert_string_equal(str(d, "pnl"), "-100");
	assert_true(json_is_true(json_object_get(json_object_get(r.j, "account"), "carry_marks")));
	result_free(&r);
	/* nothing to carry from: the first BTC mark is missing */
	put("marks", "date,symbol,price\n2024-01-02,BTC/USDT,42000\n2024-01-02,ETH/USDT,2050\n"
	    "2024-01-04,BTC/USDT,43000\n");
	run_err(ACCOUNT " --carry-marks fills", "perfagg analyze: 2024-01-01: no mark for BTC/USDT, "
	    "which has an open position (add it to the marks, or use --carry-marks)\n");
}

static const char two_quotes[] = "timestamp,symbol,side,price,amount\n"
    "1704103200000,BTC/USDT,buy,100,1\n"
    "1704103200001,ETH/BTC,buy,0.05,2\n"
    "1704103200002,SOL/USDT,buy,10,10\n";

static void
test_several_quotes(void **state)
{
	struct result r;
	json_t *c;

	(void)state;
	put("fills", two_quotes);
	put("marks", "date,symbol,price\n2024-01-01,BTC/USDT,110\n2024-01-01,SOL/USDT,9\n");
	run_err("analyze --marks marks --capital 1000 fills", "perfagg analyze: fills are quoted in "
	    "several currencies (USDT, BTC, ...): one equity series values one, choose it with --quote\n");
	run_err("analyze --marks marks --capital 1000 --quote EUR fills",
	    "perfagg analyze: --quote EUR: no fill is quoted in EUR\n");
	/* USDT chosen: ETH/BTC (no mark given) is left out of the equity:
	 * 1000 + (110 - 100) + (90 - 100) = 1000 */
	r = run_ok("analyze --marks marks --capital 1000 --quote USDT fills");
	assert_string_equal(str(json_array_get(json_object_get(r.j, "daily"), 0), "equity"), "1000");
	c = json_object_get(r.j, "concentration");
	assert_string_equal(str(c, "quote"), "USDT");
	assert_near(num(c, "volume_hhi"), 0.5, 1e-15, "volume_hhi USDT");
	/* exposure 110 and 90: (0.55^2 + 0.45^2) */
	assert_near(num(c, "exposure_hhi"), 0.55 * 0.55 + 0.45 * 0.45, 1e-15, "exposure_hhi");
	assert_near(num(json_object_get(c, "volume_hhi_by_quote"), "BTC"), 1, 0, "volume_hhi BTC");
	result_free(&r);
}

/* Volume concentration is always there; exposure only with marks. */
static void
test_concentration_without_marks(void **state)
{
	struct result r;
	json_t *c;

	(void)state;
	put("fills", two_quotes);
	r = run_ok("analyze fills");
	c = json_object_get(r.j, "concentration");
	assert_true(json_is_null(json_object_get(c, "quote")));
	assert_true(json_is_null(json_object_get(c, "volume_hhi")));
	assert_near(num(json_object_get(c, "volume_hhi_by_quote"), "USDT"), 0.5, 1e-15, "USDT");
	assert_null(json_object_get(c, "exposure_hhi"));
	assert_null(json_object_get(r.j, "daily"));
	result_free(&r);
	r = run_ok("analyze --quote USDT fills");
	assert_near(num(json_object_get(r.j, "concentration"), "volume_hhi"), 0.5, 1e-15, "--quote");
	result_free(&r);
	/* one quote currency: it is the account's; 100 and 300 -> 0.625 */
	put("fills", "timestamp,symbol,side,price,amount\n1,A/USD,buy,100,1\n2,B/USD,buy,100,3\n");
	r = run_ok("analyze fills");
	c = json_object_get(r.j, "concentration");
	assert_string_equal(str(c, "quote"), "USD");
	assert_near(num(c, "volume_hhi"), 0.625, 1e-15, "one quote");
	result_free(&r);
	r = run("analyze --format table fills");
	assert_non_null(strstr(r.out, "CONCENTRATION (HHI)"));
	assert_non_null(strstr(r.out, "0.625"));
	result_free(&r);
	run_err("analyze --quote EUR fills", "perfagg analyze: --quote EUR: no fill is quoted in EUR\n");
	r = run_ok("analyze fills");
	result_free(&r);
}

/* Writes the "daily" returns of j as a dated series file (%.17g: exact). */
static void
write_daily(json_t *j)
{
	json_t *daily = json_object_get(j, "daily"), *d;
	char *text = NULL;
	size_t i, len = 0;
	FILE *f = open_memstream(&text, &len);

	fputs("date,return\n", f);
	json_array_foreach(daily, i, d)
		fprintf(f, "%s,%.17g\n", str(d, "date"), num(d, "return"));
	fclose(f);
	put("daily", text);
	free(text);
}

/* Every statistic of analyze equals that of perfagg stats within 1e-12. */
static void
assert_same_stats(json_t *a, json_t *b)
{
	const char *k;
	json_t *v;

	assert_int_equal(json_object_size(a), json_object_size(b));
	json_object_foreach(a, k, v) {
		json_t *w = json_object_get(b, k);

		if (json_is_null(v) || json_is_null(w)) {
			if (!json_is_null(v) || !json_is_null(w))
				fail_msg("%s: one is null", k);
			continue;
		}
		assert_near(json_number_value(v), json_number_value(w),
		    1e-12 + 1e-12 * fabs(json_number_value(w)), k);
	}
}

static const char bench_dated[] =
    "date,return\n"
    "2023-12-31,0.5\n"		/* before the series: unused */
    "2024-01-01,0.01\n"
    "2024-01-03,-0.02\n"		/* 01-02 missing */
    "2024-01-04,0.015\n"
    "2024-01-05,0.3\n";		/* after the series: unused */

static void
test_statistics_equal_stats(void **state)
{
	struct result a, s;

	(void)state;
	put("fills", fills);
	put("marks", marks_csv);
	put("flows", flows_csv);
	put("bench", bench_dated);
	a = run_ok(ACCOUNT " --periods 252 --risk-free 0.0001 --benchmark bench fills");
	write_daily(a.j);
	s = run_ok("stats --periods 252 --risk-free 0.0001 --benchmark bench daily");
	assert_same_stats(json_object_get(a.j, "statistics"), s.j);
	/* aligned on the three dates both have */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a.j, "statistics"),
	    "n_benchmark")), 3);
	assert_true(json_is_number(json_object_get(json_object_get(a.j, "statistics"), "beta")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a.j, "statistics"),
	    "periods")), 252);
	result_free(&a);
	result_free(&s);
	/* defaults (365, no benchmark) */
	a = run_ok(ACCOUNT " fills");
	write_daily(a.j);
	s = run_ok("stats daily");
	assert_same_stats(json_object_get(a.j, "statistics"), s.j);
	result_free(&a);
	result_free(&s);
}

static void
test_benchmark_alignment(void **state)
{
	struct result r;
	json_t *st;

	(void)state;
	put("fills", fills);
	put("marks", marks_csv);
	put("flows", flows_csv);
	/* undated: by position, so exactly four returns */
	put("bench", "0.01\n0.02\n-0.02\n0.015\n");
	r = run_ok(ACCOUNT " --benchmark bench fills");
	st = json_object_get(r.j, "statistics");
	assert_int_equal(json_integer_value(json_object_get(st, "n_benchmark")), 4);
	assert_true(json_is_number(json_object_get(st, "alpha")));
	result_free(&r);
	put("bench", "0.01\n0.02\n");
	run_err(ACCOUNT " --benchmark bench fills", "perfagg analyze: benchmark has 2 returns, the daily "
	    "series 4 (an undated benchmark pairs by position)\n");
	/* dated, no common date: beta undefined, none paired */
	put("bench", "date,return\n2023-01-01,0.01\n2023-01-02,0.02\n");
	r = run_ok(ACCOUNT " --benchmark bench fills");
	st = json_object_get(r.j, "statistics");
	assert_int_equal(json_integer_value(json_object_get(st, "n_benchmark")), 0);
	assert_true(json_is_null(json_object_get(st, "beta")));
	result_free(&r);
	/* a dated benchmark equal to the series: beta 1, alpha 0 */
	put("bench", "date,return\n2024-01-01,0.0096\n2024-01-02,0.013329127613554434\n"
	    "2024-01-03,-0.004446855628385169\n2024-01-04,0.023377813519857116\n");
	r = run_ok(ACCOUNT " --benchmark bench fills");
	st = json_object_get(r.j, "statistics");
	assert_near(num(st, "beta"), 1, 1e-12, "beta");
	assert_near(num(st, "alpha"), 0, 1e-12, "alpha");
	result_free(&r);
	put("bench", "date,return\n2024-01-01,x\n");
	run_err(ACCOUNT " --benchmark bench fills",
	    "perfagg analyze: bench:2: malformed return (expected a finite decimal number)\n");
}

static void
test_errors(void **state)
{
	(void)state;
	put("fills", fills);
	put("marks", marks_csv);
	put("flows", flows_csv);
	run_err("analyze --marks marks fills", "perfagg analyze: --marks needs --capital (the starting equity)\n");
	run_err("analyze --capital 10 fills", "perfagg analyze: --capital, --flows, --benchmark and "
	    "--carry-marks need --marks\n");
	run_err("analyze --carry-marks fills", "perfagg analyze: --capital, --flows, --benchmark and "
	    "--carry-marks need --marks\n");
	run_err("analyze --marks marks --capital 0 fills",
	    "perfagg analyze: --capital: starting capital must be positive\n");
	run_err("analyze --marks marks --capital ten fills",
	    "perfagg analyze: --capital ten: not a decimal number\n");
	run_err("analyze --marks marks --capital 1 --periods 0 fills", "perfagg analyze: --periods must be > 0\n");
	run_err("analyze --marks marks --capital 1 --risk-free nan fills",
	    "perfagg analyze: --risk-free nan: not a finite number\n");
	run_err("analyze --marks - --capital 1 -", "perfagg analyze: only one input can be standard input\n");
	run_err("analyze --marks nosuch --capital 1 fills", "perfagg analyze: --marks nosuch: no such file\n");
	put("flows", "date,amount\n2024-01-02,1000\n2024-01-09,-500\n");
	run_err(ACCOUNT " fills", "perfagg analyze: --flows: a flow dated 2024-01-09 is outside the series "
	    "(2024-01-01 to the last mark's day)\n");
	put("flows", "date,amount\n2024-01-02,1000\n2024-01-04,-5x\n");
	run_err(ACCOUNT " fills", "perfagg analyze: --flows flows: line 3: not a decimal number\n");
	put("flows", flows_csv);
	/* the marks stop before the last fill */
	put("marks", "date,symbol,price\n2024-01-01,BTC/USDT,41000\n2024-01-02,BTC/USDT,42000\n");
	run_err(ACCOUNT " fills", "perfagg analyze: the marks end on 2024-01-02, before the last fill in "
	    "USDT (2024-01-04)\n");
	put("marks", "date,symbol,price\n2024-01-01,BTC/USDT,41000\n2024-01-02,BTC/USDT,-1\n");
	run_err(ACCOUNT " fills", "perfagg analyze: --marks marks: line 3: price: must not be negative\n");
	put("marks", "date,symbol,price\n2024-01-01,BTC/USDT,41000\n2024-01-01,BTC/USDT,41001\n");
	run_err(ACCOUNT " fills",
	    "perfagg analyze: --marks marks: 2024-01-01 BTC/USDT: two marks for the same date and symbol\n");
	put("marks", "day,symbol,price\n");
	run_err(ACCOUNT " fills", "perfagg analyze: --marks marks: line 1: header must name the columns "
	    "date, symbol and price\n");
	put("marks", "{\"2024-01-01\": {\"BTC/USDT\": \"4e\"}}");
	run_err(ACCOUNT " fills", "perfagg analyze: --marks marks: 2024-01-01 BTC/USDT: not a decimal number\n");
	put("marks", "{\"2024-1-01\": {}}");
	run_err(ACCOUNT " fills", "perfagg analyze: --marks marks: 2024-1-01: date: expected YYYY-MM-DD\n");
	put("marks", "date,symbol,price\n");
	run_err(ACCOUNT " fills", "perfagg analyze: --marks marks: no marks\n");
	put("marks", marks_csv);
	put("fills", "[]");
	run_err(ACCOUNT " fills", "perfagg analyze: --marks: no fill to value\n");
	/* a withdrawal of everything: no return for a day starting at 0 */
	put("fills", fills);
	put("flows", "date,amount\n2024-01-02,-10096\n");
	run_err(ACCOUNT " fills", "perfagg analyze: 2024-01-02: equity not positive at the start of a day\n");
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char path[128];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_days),
		cmocka_unit_test(test_days_without_fills),
		cmocka_unit_test(test_missing_mark),
		cmocka_unit_test(test_several_quotes),
		cmocka_unit_test(test_concentration_without_marks),
		cmocka_unit_test(test_statistics_equal_stats),
		cmocka_unit_test(test_benchmark_alignment),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Runs the built `perfagg analyze` ($PERFAGG_BIN_DIR/perfagg) on small
 * inputs and checks its output, exit codes and error lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "util/file.h"

struct result {
	int status;
	char *out, *err;
};

static char dir[] = "/tmp/perfagg-analyze-XXXXXX";

static char *
slurp(const char *path)
{
	size_t len;
	const char *err;
	char *s = (char *)file_read_all(path, 1 << 24, &len, &err);

	assert_non_null(s);
	return s;
}

/* Runs perfagg analyze ARGS on input (written to a file). */
static struct result
run(const char *args, const char *input)
{
	const char *bin = getenv("PERFAGG_BIN_DIR");
	char in[128], out[128], err[128], *cmd;
	struct result r;
	FILE *f;

	assert_non_null(bin);
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	assert_non_null(f = fopen(in, "w"));
	fputs(input, f);
	fclose(f);
	assert_true(asprintf(&cmd, "'%s/perfagg' analyze %s '%s' >'%s' 2>'%s'", bin, args, in, out, err) > 0);
	r.status = system(cmd);
	assert_true(WIFEXITED(r.status));
	r.status = WEXITSTATUS(r.status);
	free(cmd);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

static const char *
field(json_t *root, const char *section, const char *key, const char *name)
{
	json_t *v = json_object_get(json_object_get(json_object_get(root, section), key), name);

	return json_is_string(v) ? json_string_value(v) : json_is_null(v) ? "null" : "?";
}

static json_t *
parse_out(const struct result *r)
{
	json_error_t e;
	json_t *j = json_loads(r->out, 0, &e);

	if (j == NULL)
		fail_msg("output is not JSON: %s\n%s", e.text, r->out);
	return j;
}

/* The round trip of test_ledger: PnL 9.79 on basis 100.1. Unsorted on
 * purpose: the sell comes first in the file. */
static const char unsorted[] = "[\n"
    "{\"id\":\"2\",\"timestamp\":1704103260000,\"symbol\":\"BTC/USDT\",\"side\":\"sell\",\"price\":110,\"amount\":1,"
    "\"fee\":{\"cost\":0.11,\"currency\":\"USDT\"}},\n"
    "{\"id\":\"1\",\"timestamp\":1704103200000,\"symbol\":\"BTC/USDT\",\"side\":\"buy\",\"price\":100,\"amount\":1,"
    "\"fee\":{\"cost\":0.1,\"currency\":\"USDT\"}},\n"
    "{\"id\":\"1\",\"timestamp\":1704103200000,\"symbol\":\"BTC/USDT\",\"side\":\"buy\",\"price\":100,\"amount\":1,"
    "\"fee\":{\"cost\":0.1,\"currency\":\"USDT\"}}\n"
    "]\n";

static void
test_json_unsorted_and_duplicates(void **state)
{
	struct result r;
	json_t *j;

	(void)state;
	r = run("", unsorted);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	j = parse_out(&r);
	/* sorted by timestamp the buy comes first, so nothing is oversold; the
	 * repeated buy (same timestamp and id) is a duplicate */
	assert_string_equal(field(j, "symbols", "BTC/USDT", "realized_pnl"), "9.79");
	assert_string_equal(field(j, "symbols", "BTC/USDT", "return_pct"), "9.78021978021978022");
	assert_string_equal(field(j, "symbols", "BTC/USDT", "unmatched_sell_qty"), "0");
	assert_string_equal(field(j, "totals", "USDT", "volume_quote"), "210");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "symbols"),
	    "BTC/USDT"), "duplicates")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "hourly")), 1);
	json_decref(j);
	result_free(&r);
}

static void
test_csv_and_options(void **state)
{
	static const char csv[] =
	    "id,timestamp,symbol,side,price,amount,fee_cost,fee_currency\n"
	    "1,1000,BTC/USDT,buy,100,1,0.001,BNB\n"
	    "2,2000,BTC/USDT,sell,110,3,,\n";
	struct result r;
	json_t *j;

	(void)state;
	/* default (spot, zero-cost): lot part 330/3=110 vs 100 -> 10, plus the
	 * 2 oversold units at zero cost: 220; PnL 230; BNB unconverted */
	r = run("", csv);
	assert_int_equal(r.status, 0);
	j = parse_out(&r);
	assert_string_equal(field(j, "symbols", "BTC/USDT", "realized_pnl"), "230");
	assert_string_equal(field(json_object_get(j, "symbols"), "BTC/USDT", "fees_unconverted", "BNB"), "0.001");
	json_decref(j);
	result_free(&r);
	/* skip, and the BNB fee at 300 USDT: cost 100.3; PnL 110 - 100.3 = 9.7 */
	r = run("--oversell skip --fee-rate BNB/USDT=300", csv);
	assert_int_equal(r.status, 0);
	j = parse_out(&r);
	assert_string_equal(field(j, "symbols", "BTC/USDT", "realized_pnl"), "9.7");
	assert_string_equal(field(j, "symbols", "BTC/USDT", "unmatched_sell_qty"), "2");
	json_decref(j);
	result_free(&r);
	/* short: a short lot of 2 with proceeds 220 */
	r = run("--oversell=short --format json", csv);
	assert_int_equal(r.status, 0);
	j = parse_out(&r);
	assert_string_equal(field(j, "symbols", "BTC/USDT", "open_short_proceeds"), "220");
	json_decref(j);
	result_free(&r);
	r = run("--format table", csv);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "BTC/USDT"));
	assert_non_null(strstr(r.out, "230"));
	result_free(&r);
}

/* Several fees in CSV: a fees column holding ccxt's fees[] as JSON text. */
static void
test_csv_fees(void **state)
{
	static const char csv[] =
	    "id,timestamp,symbol,side,price,amount,fee_cost,fee_currency,fees\n"
	    "1,1000,BTC/USDT,buy,100,1,9,USDT,\"[{\"\"cost\"\":\"\"0.5\"\",\"\"currency\"\":\"\"USDT\"\"},"
	    "{\"\"cost\"\":0.001000000000000000001,\"\"currency\"\":\"\"BNB\"\"}]\"\n"
	    "2,2000,BTC/USDT,sell,110,1,0.25,USDT,\n";
	struct result r;
	json_t *j, *s;

	(void)state;
	/* fees[] wins over fee_cost on the first row (as in JSON): cost
	 * 100.5; the second row's single fee: proceeds 109.75; PnL 9.25; BNB
	 * kept exact (19 digits would be refused, 18 are not: see below) */
	r = run("", csv);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, "perfagg analyze: line 2: fees: more than 18 fractional digits\n");
	assert_string_equal(r.out, "");
	result_free(&r);
	{
		char *fixed = strdup(csv), *p = strstr(fixed, "0.001000000000000000001");

		memmove(p + 5, p + 23, strlen(p + 23) + 1);	/* -> 0.001 */
		r = run("", fixed);
		free(fixed);
	}
	assert_int_equal(r.status, 0);
	j = parse_out(&r);
	s = json_object_get(json_object_get(j, "symbols"), "BTC/USDT");
	assert_string_equal(field(j, "symbols", "BTC/USDT", "realized_pnl"), "9.25");
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "fees"), "USDT")), "0.75");
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "fees"), "BNB")), "0.001");
	json_decref(j);
	result_free(&r);
	r = run("", "timestamp,symbol,side,price,amount,fees\n1,A/B,buy,1,1,[{]\n");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, "perfagg analyze: line 2: fees: malformed JSON\n");
	result_free(&r);
	r = run("", "timestamp,symbol,side,price,amount,fees\n1,A/B,buy,1,1,{}\n");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, "perfagg analyze: line 2: fees: not an array\n");
	result_free(&r);
}

static void
test_errors(void **state)
{
	static const struct { const char *args, *input, *err; } t[] = {
		{ "", "[{\"timestamp\":1,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":1},\n"
		      "{\"timestamp\":2,\"symbol\":\"A/B\",\"side\":\"buy\",\"price\":1,\"amount\":0.1234567890123456789}]",
		  "perfagg analyze: fill 2: amount: more than 18 fractional digits\n" },
		{ "", "[\n{\"timestamp\":1,\n\"symbol\":\"A/B\",,}]", "perfagg analyze: line 3: malformed JSON\n" },
		{ "", "{\"trades\":[]}", "perfagg analyze: expected a JSON array of fills or {\"fills\": [...]}\n" },
		{ "", "timestamp,symbol,side,price,amount\n1,A/B,buy,1,1\n2,A/B,sell,1\n",
		  "perfagg analyze: line 3: wrong number of cells for the header\n" },
		{ "", "timestamp,symbol,side,price,amount\n1,A/B,buy,1,1\n2,A/B,hold,1,1\n",
		  "perfagg analyze: line 3: side: not buy or sell\n" },
		{ "--oversell never", "[]", "perfagg analyze: --oversell never: expected short, zero-cost or skip\n" },
		{ "--fee-rate BNB=3", "[]", "perfagg analyze: --fee-rate BNB=3: expected CUR/QUOTE=RATE\n" },
		{ "--fee-rate BNB/USDT=x", "[]", "perfagg analyze: --fee-rate BNB/USDT=x: rate: not a decimal number\n" },
		{ "--format xml", "[]", "perfagg analyze: --format xml: expected json or table\n" },
		{ "--bogus", "[]", "perfagg analyze: unknown option --bogus (see --help)\n" },
		{ "extra", "[]", "perfagg analyze: one input file only (see --help)\n" },
	};
	struct result r;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = run(t[i].args, t[i].input);
		if (r.status != 2)
			fail_msg("case %zu: exit %d, stderr %s", i, r.status, r.err);
		assert_string_equal(r.out, "");	/* nothing partial on stdout */
		assert_string_equal(r.err, t[i].err);
		result_free(&r);
	}
	r = run("--help", "");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "usage: perfagg analyze"));
	result_free(&r);
	/* an empty array is a valid, empty report */
	r = run("", "[]");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"symbols\": {}"));
	result_free(&r);
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
	const char *names[] = { "in", "out", "err" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_unsorted_and_duplicates),
		cmocka_unit_test(test_csv_and_options),
		cmocka_unit_test(test_csv_fees),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

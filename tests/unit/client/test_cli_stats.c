/*
 * `perfagg stats`, run as the built binary ($PERFAGG_BIN_DIR/perfagg): output
 * against the fixture of tests/vectors/stats, input formats, benchmark
 * pairing, and every error path (exit 2, a line number, nothing on stdout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/stats.h"

extern char **environ;

static char tmpdir[] = "/tmp/perfagg-cli-stats-XXXXXX";
static char *out_text, *err_text;

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	buf = calloc((size_t)len + 1, 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static char *
tmp_path(const char *name)
{
	static char path[4][512];
	static int slot;
	char *p = path[slot++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static const char *
write_bytes(const char *name, const char *buf, size_t len)
{
	const char *p = tmp_path(name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	return p;
}

static const char *
write_file(const char *name, const char *text)
{
	return write_bytes(name, text, strlen(text));
}

/* Runs perfagg with args (NULL-terminated, after "perfagg"), stdin from text. */
static int
run(const char *stdin_text, ...)
{
	const char *bindir = getenv("PERFAGG_BIN_DIR"), *a;
	char bin[512], *argv[16], outp[512], errp[512], inp[512];
	posix_spawn_file_actions_t fa;
	va_list ap;
	pid_t pid;
	int argc = 0, status;

	assert_non_null(bindir);
	snprintf(bin, sizeof(bin), "%s/perfagg", bindir);
	argv[argc++] = bin;
	va_start(ap, stdin_text);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 15)
		argv[argc++] = (char *)(uintptr_t)a;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(inp, sizeof(inp), "%s", write_file("stdin", stdin_text ? stdin_text : ""));
	snprintf(outp, sizeof(outp), "%s/stdout", tmpdir);
	snprintf(errp, sizeof(errp), "%s/stderr", tmpdir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, inp, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	free(out_text);
	free(err_text);
	out_text = slurp(outp);
	err_text = slurp(errp);
	return WEXITSTATUS(status);
}

/* Exit 2, one stderr line containing want, nothing on stdout. */
static void
expect_input_error(const char *want)
{
	assert_string_equal(out_text, "");
	if (strstr(err_text, want) == NULL)
		fail_msg("stderr '%s' lacks '%s'", err_text, want);
	/* exactly one line */
	assert_non_null(strchr(err_text, '\n'));
	assert_string_equal(strchr(err_text, '\n'), "\n");
}

static json_t *fixture;

static json_t *
fixture_case(const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(fixture, "cases"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	fail_msg("no fixture case %s", name);
	return NULL;
}

/* The series of a fixture case as text, one per line or dated from day0. */
static char *
series_text(json_t *a, int dated, int day0)
{
	size_t i, cap = json_array_size(a) * 48 + 64, len = 0;
	char *s = calloc(cap, 1);
	json_t *x;

	assert_non_null(s);
	json_array_foreach(a, i, x) {
		if (dated)
			len += (size_t)snprintf(s + len, cap - len, "2024-03-%02d,", day0 + (int)i);
		len += (size_t)snprintf(s + len, cap - len, "%.17g\n", json_number_value(x));
	}
	return s;
}

static int
close_enough(double a, double b)
{
	return fabs(a - b) <= 1e-12 + 1e-9 * fmax(fabs(a), fabs(b));
}

/* stdout is one JSON object matching the fixture's expectations for case. */
static void
expect_case(const char *name)
{
	json_t *o = json_loads(out_text, 0, NULL), *exp, *v, *w;
	const char *key;

	if (o == NULL)
		fail_msg("stdout is not JSON: %s", out_text);
	exp = json_object_get(fixture_case(name), "expected");
	assert_int_equal(json_integer_value(json_object_get(o, "n")),
	    json_array_size(json_object_get(fixture_case(name), "returns")));
	json_object_foreach(exp, key, w) {
		v = json_object_get(o, key);
		assert_non_null(v);
		if (json_is_null(w)) {
			if (!json_is_null(v))
				fail_msg("%s.%s: want null", name, key);
		} else if (!json_is_number(v) || !close_enough(json_number_value(v), json_number_value(w)))
			fail_msg("%s.%s: want %.17g", name, key, json_number_value(w));
	}
	json_decref(o);
}

static int
setup(void **state)
{
	const char *dir = getenv("PERFAGG_SOURCE_DIR");
	char path[1024];

	(void)state;
	if (dir == NULL || mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tests/vectors/stats/stats_cases.json", dir);
	fixture = json_load_file(path, 0, NULL);
	return fixture == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	const char *names[] = { "stdin", "stdout", "stderr", "r.txt", "b.txt", "r.csv", "b.csv", "bad" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmp_path(names[i]));
	rmdir(tmpdir);
	json_decref(fixture);
	free(out_text);
	free(err_text);
	return 0;
}

static void
test_help(void **state)
{
	(void)state;
	assert_int_equal(run(NULL, "stats", "--help", NULL), 0);
	assert_non_null(strstr(out_text, "usage: perfagg stats"));
	assert_int_equal(run(NULL, "--help", NULL), 0);
	assert_non_null(strstr(out_text, "stats"));
	assert_non_null(strstr(out_text, "risk and performance statistics of a return series"));
}

static void
test_fixture_cases(void **state)
{
	char *t;

	(void)state;
	t = series_text(json_object_get(fixture_case("mixed"), "returns"), 0, 1);
	assert_int_equal(run(t, "stats", "-", NULL), 0);
	expect_case("mixed");
	assert_int_equal(run(t, "stats", "--periods", "252", "-", NULL), 0);
	expect_case("mixed_252");
	free(t);
	t = series_text(json_object_get(fixture_case("long"), "returns"), 0, 1);
	write_file("r.txt", t);
	free(t);
	t = series_text(json_object_get(fixture_case("long"), "benchmark"), 0, 1);
	write_file("b.txt", t);
	free(t);
	assert_int_equal(run(NULL, "stats", "--benchmark", tmp_path("b.txt"), tmp_path("r.txt"), NULL), 0);
	expect_case("long");
	assert_non_null(strstr(out_text, "\"n_benchmark\": 1000"));
	t = series_text(json_object_get(fixture_case("const_pos_30"), "returns"), 0, 1);
	assert_int_equal(run(t, "stats", "-", NULL), 0);
	expect_case("const_pos_30");
	free(t);
	assert_int_equal(run("", "stats", "-", NULL), 0);
	expect_case("empty");
	assert_int_equal(run("0.01\n", "stats", "-", NULL), 0);
	expect_case("one");
}

/* Every double on stdout is the library's double, to the bit. */
static void
test_round_trip(void **state)
{
	const double r[] = { 0.1, -0.2, 0.30000000000000004, 1e-7, 0.007, -0.0123456789012345 };
	struct stats_params p;
	struct stats s;
	const char *err;
	json_t *o;

	(void)state;
	assert_int_equal(run("0.1\n-0.2\n0.30000000000000004\n1e-7\n0.007\n-0.0123456789012345\n",
	    "stats", "--periods", "252", "--risk-free", "0.0001", "-", NULL), 0);
	stats_params_default(&p);
	p.periods = 252;
	p.risk_free = 0.0001;
	assert_int_equal(stats_compute(r, 6, &p, &s, &err), 0);
	o = json_loads(out_text, 0, NULL);
	assert_non_null(o);
	assert_true(json_real_value(json_object_get(o, "sharpe_ratio")) == s.sharpe_ratio);
	assert_true(json_real_value(json_object_get(o, "annual_return")) == s.annual_return);
	assert_true(json_real_value(json_object_get(o, "kurtosis")) == s.kurtosis);
	assert_true(json_real_value(json_object_get(o, "omega_ratio")) == s.omega_ratio);
	json_decref(o);
}

static void
test_formats(void **state)
{
	char *plain;

	(void)state;
	assert_int_equal(run("0.01\n0.10\n-0.04\n0.02\n0.03\n0.02\n0.01\n-0.10\n", "stats", "-", NULL), 0);
	plain = strdup(out_text);
	/* header, CRLF, blanks, spaces, no final newline */
	assert_int_equal(run("date,return\r\n2024-01-01,0.01\r\n\r\n2024-01-02, 0.10\n 2024-01-03 ,-0.04\n"
	    "2024-01-04,0.02\n\n\n2024-01-05,0.03\n2024-01-06T00:00:00Z,0.02\n2024-01-07,0.01\n"
	    "2024-01-08,-0.10", "stats", "-", NULL), 0);
	assert_string_equal(out_text, plain);
	assert_int_equal(run("return\n0.01\n0.10\n-0.04\n0.02\n0.03\n0.02\n0.01\n-0.10\n\n", "stats",
	    write_file("r.txt", "0.01\n0.10\n-0.04\n0.02\n0.03\n0.02\n0.01\n-0.10\n"), NULL), 0);
	assert_string_equal(out_text, plain);
	assert_int_equal(run("return\n0.01\n0.10\n-0.04\n0.02\n0.03\n0.02\n0.01\n-0.10\n\n", "stats", "-",
	    NULL), 0);
	assert_string_equal(out_text, plain);
	free(plain);
}

static void
test_benchmark_pairing(void **state)
{
	char *r, *b, *mid;

	(void)state;
	/* positional: the fixture's mixed_bench */
	write_file("b.txt", "-0.06\n-0.07\n-0.01\n-0.09\n-0.02\n-0.06\n-0.08\n-0.05\n");
	assert_int_equal(run("0.01\n0.10\n-0.04\n0.02\n0.03\n0.02\n0.01\n-0.10\n", "stats", "--benchmark",
	    tmp_path("b.txt"), "-", NULL), 0);
	expect_case("mixed_bench");
	/* dated: the benchmark has extra days around and inside; the join is the 8 days */
	r = series_text(json_object_get(fixture_case("mixed"), "returns"), 1, 3);
	b = series_text(json_object_get(fixture_case("mixed_bench"), "benchmark"), 1, 3);
	write_file("r.csv", r);
	{
		char buf[2048];
		mid = strstr(b, "2024-03-06");
		assert_non_null(mid);
		snprintf(buf, sizeof(buf), "date,benchmark\n2024-03-01,0.5\n2024-03-02,-0.3\n%.*s"
		    "2024-03-05T12:00:00Z,0.9\n%s2024-03-20,0.4\n", (int)(mid - b), b, mid);
		write_file("b.csv", buf);
	}
	assert_int_equal(run(NULL, "stats", "--benchmark", tmp_path("b.csv"), tmp_path("r.csv"), NULL), 0);
	expect_case("mixed_bench");
	assert_non_null(strstr(out_text, "\"n_benchmark\": 8"));
	/* constant benchmark: beta and alpha null */
	write_file("b.txt", "0.01\n0.01\n0.01\n0.01\n0.01\n0.01\n0.01\n0.01\n");
	assert_int_equal(run(NULL, "stats", "--benchmark", tmp_path("b.txt"), tmp_path("r.csv"), NULL), 0);
	expect_case("mixed_bench_const");
	/* undated lengths differ */
	write_file("b.txt", "0.01\n0.02\n");
	assert_int_equal(run(NULL, "stats", "--benchmark", tmp_path("b.txt"), tmp_path("r.csv"), NULL), 2);
	expect_input_error("benchmark has 2 returns, the series 8");
	free(r);
	free(b);
}

static void
test_input_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "0.01\n0.02\nabc\n", "<stdin>:3: malformed return" },
		{ "nan\n0.01\n", "<stdin>:1: malformed return" },
		{ "0.01\n-inf\n", "<stdin>:2: malformed return" },
		{ "0.01\n1e999\n", "<stdin>:2: malformed return" },
		{ "0.01\n0x10\n", "<stdin>:2: malformed return" },
		{ "0.01\n0.02 x\n", "<stdin>:2: malformed return" },
		{ "0.01\n\n\n2024-01-01,0.02\n", "<stdin>:4: unexpected date" },
		{ "2024-01-01,0.01\n0.02\n", "<stdin>:2: missing date" },
		{ "2024-01-02,0.01\n2024-01-01,0.02\n", "<stdin>:2: date not after" },
		{ "2024-01-01,0.01\n2024-01-01,0.02\n", "<stdin>:2: date not after" },
		{ "2024-02-30,0.01\n", "<stdin>:1: malformed date" },
		{ "2024-01-01,0.01,7\n", "<stdin>:1: too many fields" },
		{ "2024-01-01,\n", "<stdin>:1: missing return" },
		{ "date,return\ndate,return\n", "<stdin>:2: malformed return" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(bad[i].text, "stats", "-", NULL) != 2)
			fail_msg("case %zu: exit status not 2", i);
		expect_input_error(bad[i].want);
	}
	/* a NUL byte is not a line terminator */
	assert_int_equal(run(NULL, "stats", write_bytes("bad", "0.01\n0.0\0002\n", 10), NULL), 2);
	expect_input_error("/bad:2: NUL byte");
	/* named file in the message */
	assert_int_equal(run(NULL, "stats", write_file("bad", "0.1\n?\n"), NULL), 2);
	expect_input_error("/bad:2: malformed return");
	/* bad benchmark file: its own name and line */
	assert_int_equal(run("0.1\n0.2\n", "stats", "--benchmark", write_file("b.txt", "0.1\nx\n"), "-",
	    NULL), 2);
	expect_input_error("/b.txt:2: malformed return");
}

static void
test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run("0.1\n", "stats", NULL), 2);
	assert_string_equal(out_text, "");
	assert_int_equal(run("0.1\n", "stats", "--periods", "0", "-", NULL), 2);
	expect_input_error("--periods must be > 0");
	assert_int_equal(run("0.1\n", "stats", "--periods", "abc", "-", NULL), 2);
	expect_input_error("not a finite number");
	assert_int_equal(run("0.1\n", "stats", "--risk-free", NULL), 2);
	expect_input_error("--risk-free needs a value");
	assert_int_equal(run("0.1\n", "stats", "--required-return", "-1", "-", NULL), 2);
	expect_input_error("must be > -1");
	assert_int_equal(run("0.1\n", "stats", "--bogus", "-", NULL), 2);
	expect_input_error("unknown option '--bogus'");
	assert_int_equal(run("0.1\n", "stats", "-", "-", NULL), 2);
	expect_input_error("one input file only");
	assert_int_equal(run("0.1\n", "stats", "--benchmark", "-", "-", NULL), 2);
	expect_input_error("cannot both be stdin");
	assert_int_equal(run(NULL, "stats", "/nonexistent/returns.txt", NULL), 2);
	expect_input_error("/nonexistent/returns.txt");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_fixture_cases),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_benchmark_pairing),
		cmocka_unit_test(test_input_errors),
		cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

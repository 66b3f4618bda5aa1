/*
 * Statistics against values computed independently (empyrical's formulas in
 * numpy/scipy: tests/vectors/stats/gen_stats.py -> stats_cases.json), against
 * numbers published in empyrical's own test suite, and the undefined-value
 * policy, concentration and JSON rendering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/concentration.h"
#include "core/stats.h"
#include "core/stats_json.h"

static const struct {
	const char	*name;
	size_t		 off;
} fields[] = {
#define F(x) { #x, offsetof(struct stats, x) }
	F(cum_returns_final), F(annual_return), F(annual_volatility), F(sharpe_ratio),
	F(sortino_ratio), F(downside_risk), F(max_drawdown), F(calmar_ratio), F(omega_ratio),
	F(value_at_risk), F(conditional_value_at_risk), F(tail_ratio), F(stability_of_timeseries),
	F(beta), F(alpha), F(skew), F(kurtosis), F(value_at_risk_parametric),
	F(conditional_value_at_risk_parametric),
#undef F
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static double
field(const struct stats *s, size_t i)
{
	double v;

	memcpy(&v, (const char *)s + fields[i].off, sizeof(v));
	return v;
}

/* metrics.md: |a - b| <= 1e-12 + 1e-9 * max(|a|, |b|). */
static int
close_enough(double a, double b)
{
	return fabs(a - b) <= 1e-12 + 1e-9 * fmax(fabs(a), fabs(b));
}

/* cmocka 1.1 has no assert_double_equal. */
#define assert_near(a, b, tol) assert_near_at((a), (b), (tol), #a, __LINE__)

static void
assert_near_at(double a, double b, double tol, const char *what, int line)
{
	if (!(fabs(a - b) <= tol))
		fail_msg("line %d: %s = %.17g, want %.17g (tolerance %g)", line, what, a, b, tol);
}

static json_t *
load_fixture(void)
{
	const char *dir = getenv("PERFAGG_SOURCE_DIR");
	char path[4096];
	json_error_t err;
	json_t *doc;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/tests/vectors/stats/stats_cases.json", dir);
	doc = json_load_file(path, 0, &err);
	if (doc == NULL)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	return doc;
}

/* A fresh array of the reals in a (never NULL, even when empty). */
static double *
doubles(json_t *a, size_t *n)
{
	double *v;
	size_t i;
	json_t *x;

	assert_true(json_is_array(a));
	*n = json_array_size(a);
	v = calloc(*n + 1, sizeof(*v));
	assert_non_null(v);
	json_array_foreach(a, i, x) {
		assert_true(json_is_number(x));
		v[i] = json_number_value(x);
	}
	return v;
}

static json_t *fixture;

static int
setup(void **state)
{
	(void)state;
	fixture = load_fixture();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(fixture);
	return 0;
}

static void
test_vectors(void **state)
{
	json_t *cases = json_object_get(fixture, "cases"), *c, *exp, *e;
	size_t ci, n, nb, checked = 0, undefined = 0;
	struct stats_params p;
	struct stats s;
	const char *err = NULL;
	double *r, *b, v;

	(void)state;
	assert_true(json_array_size(cases) >= 20);
	json_array_foreach(cases, ci, c) {
		const char *name = json_string_value(json_object_get(c, "name"));

		r = doubles(json_object_get(c, "returns"), &n);
		p.periods = json_number_value(json_object_get(c, "periods"));
		p.risk_free = json_number_value(json_object_get(c, "risk_free"));
		p.required_return = json_number_value(json_object_get(c, "required_return"));
		p.omega_required_return = json_number_value(json_object_get(c, "omega_required_return"));
		assert_int_equal(stats_compute(r, n, &p, &s, &err), 0);
		assert_int_equal(s.n, n);
		b = NULL;
		if (!json_is_null(json_object_get(c, "benchmark"))) {
			b = doubles(json_object_get(c, "benchmark"), &nb);
			assert_int_equal(nb, n);
			assert_int_equal(stats_compute_benchmark(r, b, n, &p, &s, &err), 0);
			assert_int_equal(s.n_benchmark, n);
		}
		exp = json_object_get(c, "expected");
		for (size_t i = 0; i < NFIELDS; i++) {
			e = json_object_get(exp, fields[i].name);
			assert_non_null(e);
			v = field(&s, i);
			if (json_is_null(e)) {
				if (!isnan(v))
					fail_msg("%s.%s: expected undefined, got %.17g", name, fields[i].name, v);
				undefined++;
			} else if (!close_enough(v, json_number_value(e)))
				fail_msg("%s.%s: expected %.17g, got %.17g", name, fields[i].name,
				    json_number_value(e), v);
			checked++;
		}
		free(r);
		free(b);
	}
	/* Sanity: the fixture exercises both sides of the policy. */
	assert_true(checked >= 400);
	assert_true(undefined >= 100);
}

/* Each public metric agrees with what stats_compute reports. */
static void
test_single_metrics(void **state)
{
	const double r[] = { 0.01, 0.10, -0.04, 0.02, 0.03, 0.02, 0.01, -0.10 };
	const double b[] = { -0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05 };
	const size_t n = 8;
	struct stats_params p = { 252, 0.001, 0.002, 0.1 };
	struct stats s;
	const char *err;

	(void)state;
	assert_int_equal(stats_compute(r, n, &p, &s, &err), 0);
	assert_int_equal(stats_compute_benchmark(r, b, n, &p, &s, &err), 0);
	assert_true(s.cum_returns_final == stats_cum_returns_final(r, n));
	assert_true(s.annual_return == stats_annual_return(r, n, 252));
	assert_true(s.annual_volatility == stats_annual_volatility(r, n, 252));
	assert_true(s.sharpe_ratio == stats_sharpe_ratio(r, n, 0.001, 252));
	assert_true(s.sortino_ratio == stats_sortino_ratio(r, n, 0.002, 252));
	assert_true(s.downside_risk == stats_downside_risk(r, n, 0.002, 252));
	assert_true(s.max_drawdown == stats_max_drawdown(r, n));
	assert_true(s.calmar_ratio == stats_calmar_ratio(r, n, 252));
	assert_true(s.omega_ratio == stats_omega_ratio(r, n, 0.001, 0.1, 252));
	assert_true(s.value_at_risk == stats_value_at_risk(r, n, STATS_CUTOFF));
	assert_true(s.conditional_value_at_risk == stats_conditional_value_at_risk(r, n, STATS_CUTOFF));
	assert_true(s.tail_ratio == stats_tail_ratio(r, n));
	assert_true(s.stability_of_timeseries == stats_stability_of_timeseries(r, n));
	assert_true(s.beta == stats_beta(r, b, n));
	assert_true(s.alpha == stats_alpha(r, b, n, 0.001, 252));
	assert_true(s.skew == stats_skew(r, n));
	assert_true(s.kurtosis == stats_kurtosis(r, n));
	assert_true(s.value_at_risk_parametric == stats_value_at_risk_parametric(r, n));
	assert_true(s.conditional_value_at_risk_parametric ==
	    stats_conditional_value_at_risk_parametric(r, n));
}

/*
 * Numbers published in empyrical's test suite (empyrical/tests/test_stats.py,
 * asserted there to 8 decimals), on NaN-free inputs: mixed_returns without
 * its leading NaN (every statistic below skips NaN, so the value carries
 * over), positive_returns, negative_returns, weekly_returns. A = 252 unless
 * said otherwise.
 */
static void
test_published_empyrical(void **state)
{
	const double mixed[] = { 0.01, 0.10, -0.04, 0.02, 0.03, 0.02, 0.01, -0.10 };
	const double pos[] = { 0.01, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01 };
	const double neg[] = { 0.0, -0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05 };
	const double weekly[] = { 0.0, 0.01, 0.10, -0.04, 0.02, 0.03, 0.02, 0.01, -0.10 };
	const double one[] = { 0.01 };
	const double tol = 1e-8;

	(void)state;
	assert_near(stats_sharpe_ratio(mixed, 8, 0, 252), 1.7238613961706866, tol);
	assert_near(stats_annual_volatility(mixed, 8, 252), 0.9136465399704637, tol);
	assert_near(stats_downside_risk(mixed, 8, 0, 252), 0.60448325038829653, tol);
	assert_near(stats_downside_risk(mixed, 8, 0.1, 252), 1.7161730681956295, tol);
	assert_near(stats_sortino_ratio(mixed, 8, 0, 252), 2.605531251673693, tol);
	assert_near(stats_omega_ratio(mixed, 8, 0, 10.0, 252), 0.83354263497557934, tol);
	assert_near(stats_max_drawdown(mixed, 8), -0.1, tol);
	assert_near(stats_stability_of_timeseries(mixed, 8), 0.1529973665111273, tol);
	assert_near(stats_beta(mixed, neg + 1, 8), -0.71296296296296313, tol);
	assert_near(stats_sharpe_ratio(pos, 9, 0, 252), 52.915026221291804, tol);
	assert_near(stats_sharpe_ratio(neg, 9, 0, 252), -24.406808633910085, tol);
	assert_near(stats_sortino_ratio(neg, 9, 0, 252), -13.532743075043401, tol);
	assert_near(stats_omega_ratio(pos, 9, 0.011, 0, 252), 1.125, tol);
	assert_near(stats_omega_ratio(pos, 9, 0.02, 0, 252), 0.0, tol);
	assert_near(stats_omega_ratio(neg, 9, 0.01, 0, 252), 0.0, tol);
	assert_true(isnan(stats_omega_ratio(pos, 9, 0.01, 0, 252)));
	assert_near(stats_cum_returns_final(neg, 9), -0.36590, 1e-4);
	assert_near(stats_annual_return(one, 1, 252), 11.274002099240244, tol);
	assert_near(stats_annual_return(weekly, 9, 52), 0.24690830513998208, tol);
	assert_near(stats_annual_volatility(weekly, 9, 52), 0.38851569394870583, tol);
	assert_near(stats_calmar_ratio(weekly, 9, 52), 2.4690830513998208, tol);
	assert_near(stats_sortino_ratio(weekly, 9, 0, 52), 1.1158901056866439, tol);
	assert_near(stats_downside_risk(weekly, 9, 0.1, 52), 0.7733045971672482, tol);
	/* empyrical: positive_returns Sortino is +inf; one_return downside risk 0. */
	assert_true(isnan(stats_sortino_ratio(pos, 9, 0, 252)));
	assert_near(stats_downside_risk(one, 1, 0, 252), 0.0, 0);
}

static void
test_pairwise_sum(void **state)
{
	json_t *c, *sums = json_object_get(fixture, "pairwise_sums"), *e;
	size_t i, n;
	double *r = NULL;

	(void)state;
	json_array_foreach(json_object_get(fixture, "cases"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), "long") == 0)
			r = doubles(json_object_get(c, "returns"), &n);
	assert_non_null(r);
	assert_true(json_array_size(sums) > 5);
	json_array_foreach(sums, i, e) {
		size_t k = (size_t)json_integer_value(json_object_get(e, "k"));
		double want = json_number_value(json_object_get(e, "sum"));

		assert_true(k <= n);
		/* Bit-identical to np.sum: same pairwise order. */
		if (stats_sum(r, k) != want)
			fail_msg("k=%zu: np.sum %.17g, stats_sum %.17g", k, want, stats_sum(r, k));
	}
	free(r);
}

static void
test_rejects_nonfinite(void **state)
{
	double r[] = { 0.01, -0.02, 0.03 }, b[] = { 0.01, 0.0, 0.02 };
	struct stats_params p;
	struct stats s;
	const char *err;

	(void)state;
	stats_params_default(&p);
	assert_true(p.periods == 365 && p.risk_free == 0 && p.required_return == 0);
	memset(&s, 0x5a, sizeof(s));
	r[1] = NAN;
	err = NULL;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), -1);
	assert_non_null(err);
	assert_int_equal(s.n, 0x5a5a5a5a5a5a5a5aULL);	/* untouched */
	assert_true(isnan(stats_sharpe_ratio(r, 3, 0, 365)));
	assert_true(isnan(stats_max_drawdown(r, 3)));
	assert_true(isnan(stats_value_at_risk(r, 3, 0.05)));
	r[1] = INFINITY;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), -1);
	assert_true(isnan(stats_cum_returns_final(r, 3)));
	r[1] = -0.02;
	p.periods = 0;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), -1);
	p.periods = -252;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), -1);
	p.periods = NAN;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), -1);
	assert_true(isnan(stats_annual_return(r, 3, 0)));
	p.periods = 365;
	p.risk_free = INFINITY;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), -1);
	p.risk_free = 0;
	assert_int_equal(stats_compute(r, 3, &p, &s, &err), 0);
	b[2] = NAN;
	assert_int_equal(stats_compute_benchmark(r, b, 3, &p, &s, &err), -1);
	assert_true(isnan(stats_beta(r, b, 3)));
	assert_true(isnan(stats_alpha(r, b, 3, 0, 365)));
	/* a cutoff outside [0, 1] is no cutoff */
	assert_true(isnan(stats_value_at_risk(r, 3, 1.5)));
	assert_true(isnan(stats_conditional_value_at_risk(r, 3, -0.1)));
}

/* The fragile rule, at its edge: Sharpe is defined until std <= 1e-12 |mean|. */
static void
test_fragile_threshold(void **state)
{
	double r[4] = { 1.0, 1.0, 1.0, 1.0 };

	(void)state;
	assert_true(isnan(stats_sharpe_ratio(r, 4, 0, 365)));
	r[0] = 1.0 + 1e-9;	/* std ~ 5e-10: a real (if extreme) deviation */
	assert_false(isnan(stats_sharpe_ratio(r, 4, 0, 365)));
	assert_true(stats_sharpe_ratio(r, 4, 0, 365) > 1e9);
	r[0] = 1.0 + 4e-16;	/* one ULP or two: rounding noise */
	assert_true(isnan(stats_sharpe_ratio(r, 4, 0, 365)));
	assert_true(isnan(stats_skew(r, 4)));
	assert_true(isnan(stats_value_at_risk_parametric(r, 4)));
	/* a tiny but real drawdown against a huge annual return: Calmar undefined */
	{
		double q[3] = { 0.5, -1e-15, 0.5 };
		assert_true(stats_max_drawdown(q, 3) < 0);
		assert_true(isnan(stats_calmar_ratio(q, 3, 365)));
	}
}

static void
test_hhi(void **state)
{
	json_t *e;
	size_t i, n;
	double *w, h, zero[3] = { 0, 0, 0 }, bad[2] = { 1, -1 };
	const char *err;

	(void)state;
	json_array_foreach(json_object_get(fixture, "hhi"), i, e) {
		w = doubles(json_object_get(e, "weights"), &n);
		assert_int_equal(concentration_hhi(w, n, &h, &err), 0);
		assert_true(close_enough(h, json_number_value(json_object_get(e, "expected"))));
		assert_true(h >= 1.0 / (double)n && h <= 1.0);
		free(w);
	}
	assert_int_equal(concentration_hhi(zero, 0, &h, &err), 0);
	assert_true(isnan(h));
	assert_int_equal(concentration_hhi(zero, 3, &h, &err), 0);
	assert_true(isnan(h));
	err = NULL;
	assert_int_equal(concentration_hhi(bad, 2, &h, &err), -1);
	assert_non_null(err);
	bad[1] = NAN;
	assert_int_equal(concentration_hhi(bad, 2, &h, &err), -1);
	bad[1] = INFINITY;
	assert_int_equal(concentration_hhi(bad, 2, &h, &err), -1);
}

static void
test_correlation(void **state)
{
	json_t *corr = json_object_get(fixture, "correlation"), *series, *exp, *e;
	size_t k, n, i, j, len;
	double *x, *m, *row, one[4] = { 1, 2, 3, 4 };
	const char *err;

	(void)state;
	series = json_object_get(corr, "series");
	exp = json_object_get(corr, "expected");
	k = json_array_size(series);
	row = doubles(json_array_get(series, 0), &n);
	free(row);
	x = calloc(k * n, sizeof(*x));
	m = calloc(k * k, sizeof(*m));
	assert_true(x != NULL && m != NULL);
	for (i = 0; i < k; i++) {
		row = doubles(json_array_get(series, i), &len);
		assert_int_equal(len, n);
		memcpy(x + i * n, row, n * sizeof(*x));
		free(row);
	}
	assert_int_equal(concentration_correlation(x, k, n, m, &err), 0);
	for (i = 0; i < k; i++)
		for (j = 0; j < k; j++) {
			e = json_array_get(json_array_get(exp, i), j);
			if (json_is_null(e))
				assert_true(isnan(m[i * k + j]));
			else if (!close_enough(m[i * k + j], json_number_value(e)))
				fail_msg("corr[%zu][%zu] %.17g want %.17g", i, j, m[i * k + j],
				    json_number_value(e));
			if (i == j && !json_is_null(e))
				assert_true(m[i * k + j] == 1.0);
			assert_memory_equal(&m[i * k + j], &m[j * k + i], sizeof(double));
		}
	/* n < 2: nothing is defined */
	assert_int_equal(concentration_correlation(one, 4, 1, m, &err), 0);
	for (i = 0; i < 16; i++)
		assert_true(isnan(m[i]));
	x[3] = NAN;
	err = NULL;
	assert_int_equal(concentration_correlation(x, k, n, m, &err), -1);
	assert_non_null(err);
	free(x);
	free(m);
}

static void
test_json(void **state)
{
	const double r[] = { 0.1, -0.2, 0.30000000000000004, 1e-300, 0.007 };
	struct stats_params p;
	struct stats s;
	const char *err, *key;
	const char *order[] = { "n", "periods", "cum_returns_final", "annual_return",
	    "annual_volatility", "sharpe_ratio", "sortino_ratio", "downside_risk", "max_drawdown",
	    "calmar_ratio", "omega_ratio", "value_at_risk", "conditional_value_at_risk", "tail_ratio",
	    "stability_of_timeseries", "beta", "alpha", "skew", "kurtosis", "value_at_risk_parametric",
	    "conditional_value_at_risk_parametric", "n_benchmark" };
	json_t *o, *back, *v;
	char *text;
	size_t i = 0;

	(void)state;
	stats_params_default(&p);
	assert_int_equal(stats_compute(r, 5, &p, &s, &err), 0);
	s.sharpe_ratio = INFINITY;	/* the renderer itself maps +-inf to null */
	o = stats_json_render(&s);
	text = json_dumps(o, 0);
	assert_non_null(text);
	back = json_loads(text, 0, NULL);
	assert_non_null(back);
	json_object_foreach(back, key, v) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	assert_int_equal(json_integer_value(json_object_get(back, "n")), 5);
	assert_int_equal(json_integer_value(json_object_get(back, "periods")), 365);
	assert_true(json_is_null(json_object_get(back, "sharpe_ratio")));
	assert_true(json_is_null(json_object_get(back, "beta")));
	/* round trip to the bit */
	for (size_t f = 0; f < NFIELDS; f++) {
		v = json_object_get(back, fields[f].name);
		if (isfinite(field(&s, f)))
			assert_true(json_number_value(v) == field(&s, f));
		else
			assert_true(json_is_null(v));
	}
	free(text);
	json_decref(o);
	json_decref(back);
	s.periods = 365.25;
	o = stats_json_render(&s);
	assert_true(json_real_value(json_object_get(o, "periods")) == 365.25);
	json_decref(o);
	{
		double mm[4] = { 1, NAN, -0.5, 1 };
		o = stats_json_matrix(mm, 2);
		text = json_dumps(o, JSON_COMPACT);
		assert_string_equal(text, "[[1.0,null],[-0.5,1.0]]");
		free(text);
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_single_metrics),
		cmocka_unit_test(test_published_empyrical),
		cmocka_unit_test(test_pairwise_sum),
		cmocka_unit_test(test_rejects_nonfinite),
		cmocka_unit_test(test_fragile_threshold),
		cmocka_unit_test(test_hhi),
		cmocka_unit_test(test_correlation),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/*
 * Each metric follows the order of operations of empyrical / numpy / scipy
 * where that is cheap to do, so that results agree to a few ULPs rather than
 * merely within the tolerance.
 */

/* numpy's unroll factor and block size in pairwise_sum (loops_utils.h.src). */
#define PW_UNROLL	8
#define PW_BLOCKSIZE	128

static double
pairwise(const double *a, size_t n)
{
	double r[PW_UNROLL], res;
	size_t i, n2;

	if (n < PW_UNROLL) {
		res = 0.;
		for (i = 0; i < n; i++)
			res += a[i];
		return res;
	}
	if (n <= PW_BLOCKSIZE) {
		for (i = 0; i < PW_UNROLL; i++)
			r[i] = a[i];
		for (i = PW_UNROLL; i < n - (n % PW_UNROLL); i += PW_UNROLL)
			for (size_t j = 0; j < PW_UNROLL; j++)
				r[j] += a[i + j];
		res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	n2 = n / 2;
	n2 -= n2 % PW_UNROLL;
	return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double
stats_sum(const double *x, size_t n)
{
	/* np.add.reduce starts from the identity 0.0. */
	return 0.0 + pairwise(x, n);
}

static int
finite_all(const double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

static double
mean(const double *x, size_t n)
{
	return stats_sum(x, n) / (double)n;
}

/* A copy of x[0..n-1] minus c (numpy's `returns - c`); never NULL. */
static double *
shifted(const double *x, size_t n, double c)
{
	double *y = xmalloc(n > 0 ? n * sizeof(*y) : 1);

	for (size_t i = 0; i < n; i++)
		y[i] = x[i] - c;
	return y;
}

/* Sum of (x - m)^k for k = 2, 3 or 4, in scipy's _moment order. */
static double
central_sum(const double *x, size_t n, double m, int k)
{
	double *s = xmalloc(n > 0 ? n * sizeof(*s) : 1), d, v;

	for (size_t i = 0; i < n; i++) {
		d = x[i] - m;
		if (k == 2)
			v = d * d;
		else if (k == 3)
			v = (d * d) * d;
		else
			v = (d * d) * (d * d);
		s[i] = v;
	}
	v = stats_sum(s, n);
	free(s);
	return v;
}

/* np.nanstd(x, ddof=1) for n >= 2, also returning the mean. */
static double
std1(const double *x, size_t n, double *meanp)
{
	double m = mean(x, n);

	if (meanp != NULL)
		*meanp = m;
	return sqrt(central_sum(x, n, m, 2) / (double)(n - 1));
}

/*
 * The fragile rule of the policy in stats.h: a denominator that is not
 * clearly above rounding noise relative to its numerator (true for 0 and NaN).
 */
static int
fragile(double den, double num)
{
	return !(fabs(den) > STATS_FRAGILE_REL * fabs(num));
}

static double
defined(double v)
{
	return isfinite(v) ? v : NAN;
}

static int
params_ok(double periods)
{
	return isfinite(periods) && periods > 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double *
sorted_copy(const double *r, size_t n)
{
	double *s = xmalloc(n > 0 ? n * sizeof(*s) : 1);

	if (n > 0)
		memcpy(s, r, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s;
}

/* np.percentile(s, 100 * q), method "linear", on sorted s, n >= 1. */
static double
percentile_sorted(const double *s, size_t n, double q)
{
	double h, lo, g, a, b, diff;
	size_t i, j;

	h = (double)(n - 1) * q;
	lo = floor(h);
	if (lo < 0)
		lo = 0;
	i = (size_t)lo;
	if (i > n - 1)
		i = n - 1;
	j = i + 1 < n ? i + 1 : n - 1;
	g = h - lo;
	a = s[i];
	b = s[j];
	diff = b - a;
	/* numpy's _lerp: the form that is exact at the nearer end. */
	return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

void
stats_params_default(struct stats_params *p)
{
	memset(p, 0, sizeof(*p));
	p->periods = STATS_PERIODS_DEFAULT;
}

int
stats_check(const double *r, size_t n, const char **errstr)
{
	if (!finite_all(r, n)) {
		*errstr = "return series contains NaN or infinity";
		return -1;
	}
	return 0;
}

static double
product(const double *r, size_t n)
{
	double p = 1.0;

	for (size_t i = 0; i < n; i++)
		p *= r[i] + 1;
	return p;
}

double
stats_cum_returns_final(const double *r, size_t n)
{
	if (n == 0 || !finite_all(r, n))
		return NAN;
	return defined(product(r, n) - 1);
}

double
stats_annual_return(const double *r, size_t n, double periods)
{
	double years;

	if (n == 0 || !finite_all(r, n) || !params_ok(periods))
		return NAN;
	years = (double)n / periods;
	return defined(pow(product(r, n), 1.0 / years) - 1);
}

double
stats_annual_volatility(const double *r, size_t n, double periods)
{
	if (n < 2 || !finite_all(r, n) || !params_ok(periods))
		return NAN;
	return defined(std1(r, n, NULL) * pow(periods, 1.0 / 2.0));
}

double
stats_sharpe_ratio(const double *r, size_t n, double risk_free, double periods)
{
	double *x, m, s, v;

	if (n < 2 || !finite_all(r, n) || !isfinite(risk_free) || !params_ok(periods))
		return NAN;
	x = shifted(r, n, risk_free);
	s = std1(x, n, &m);
	free(x);
	if (fragile(s, m))
		return NAN;
	v = m / s * sqrt(periods);
	return defined(v);
}

/* sqrt(mean(min(r - req, 0)^2)), unannualized; n >= 1. */
static double
downside(const double *r, size_t n, double required_return)
{
	double *x = shifted(r, n, required_return), v;

	for (size_t i = 0; i < n; i++)
		x[i] = x[i] < 0 ? x[i] * x[i] : 0.0;
	v = sqrt(mean(x, n));
	free(x);
	return v;
}

double
stats_downside_risk(const double *r, size_t n, double required_return, double periods)
{
	if (n == 0 || !finite_all(r, n) || !isfinite(required_return) || !params_ok(periods))
		return NAN;
	return defined(downside(r, n, required_return) * sqrt(periods));
}

double
stats_sortino_ratio(const double *r, size_t n, double required_return, double periods)
{
	double *x, m, d;

	if (n < 2 || !finite_all(r, n) || !isfinite(required_return) || !params_ok(periods))
		return NAN;
	x = shifted(r, n, required_return);
	m = mean(x, n) * periods;
	free(x);
	d = downside(r, n, required_return) * sqrt(periods);
	if (fragile(d, m))
		return NAN;
	return defined(m / d);
}

double
stats_max_drawdown(const double *r, size_t n)
{
	double p = 1.0, w, peak = 100.0, dd, mdd = 0.0;

	if (n == 0 || !finite_all(r, n))
		return NAN;
	/* W0 = 100 is a peak: a loss on the first day is a drawdown. */
	for (size_t i = 0; i < n; i++) {
		p *= r[i] + 1;
		w = p * 100.0;
		if (w > peak)
			peak = w;
		dd = (w - peak) / peak;
		if (dd < mdd)
			mdd = dd;
	}
	return defined(mdd);
}

double
stats_calmar_ratio(const double *r, size_t n, double periods)
{
	double mdd, ar;

	mdd = stats_max_drawdown(r, n);
	if (!(mdd < 0))
		return NAN;
	ar = stats_annual_return(r, n, periods);
	if (isnan(ar) || fragile(mdd, ar))
		return NAN;
	return defined(ar / fabs(mdd));
}

double
stats_omega_ratio(const double *r, size_t n, double risk_free, double annual_required_return,
    double periods)
{
	double thr, x, numer = 0, denom = 0;

	if (n < 2 || !finite_all(r, n) || !isfinite(risk_free) || !isfinite(annual_required_return) ||
	    !params_ok(periods))
		return NAN;
	if (periods == 1)
		thr = annual_required_return;
	else if (annual_required_return <= -1)
		return NAN;
	else
		thr = pow(1 + annual_required_return, 1. / periods) - 1;
	/* Python's built-in sum: left to right. */
	for (size_t i = 0; i < n; i++) {
		x = r[i] - risk_free - thr;
		if (x > 0.0)
			numer += x;
		else if (x < 0.0)
			denom += x;
	}
	denom = -1.0 * denom;
	if (!(denom > 0.0) || fragile(denom, numer))
		return NAN;
	return defined(numer / denom);
}

static int
cutoff_ok(double cutoff)
{
	return cutoff >= 0 && cutoff <= 1;
}

double
stats_value_at_risk(const double *r, size_t n, double cutoff)
{
	double *s, v;

	if (n == 0 || !finite_all(r, n) || !cutoff_ok(cutoff))
		return NAN;
	s = sorted_copy(r, n);
	/* empyrical passes 100 * cutoff, numpy divides by 100 again. */
	v = percentile_sorted(s, n, (100 * cutoff) / 100);
	free(s);
	return defined(v);
}

double
stats_conditional_value_at_risk(const double *r, size_t n, double cutoff)
{
	double *s, v;
	size_t k;

	if (n == 0 || !finite_all(r, n) || !cutoff_ok(cutoff))
		return NAN;
	/* int((len - 1) * cutoff) in Python: a truncated double. */
	k = (size_t)((double)(n - 1) * cutoff);
	s = sorted_copy(r, n);
	v = mean(s, k + 1);
	free(s);
	return defined(v);
}

double
stats_tail_ratio(const double *r, size_t n)
{
	double *s, hi, lo;

	if (n == 0 || !finite_all(r, n))
		return NAN;
	s = sorted_copy(r, n);
	hi = fabs(percentile_sorted(s, n, 95 / 100.0));
	lo = fabs(percentile_sorted(s, n, 5 / 100.0));
	free(s);
	if (fragile(lo, hi))
		return NAN;
	return defined(hi / lo);
}

double
stats_stability_of_timeseries(const double *r, size_t n)
{
	double *x, *y, *t, xm, ym, sxx, syy, sxy, inv, rr;
	size_t i;

	if (n < 2 || !finite_all(r, n))
		return NAN;
	/* log1p(-1) = -inf and log1p(< -1) = NaN: scipy then gives NaN. */
	for (i = 0; i < n; i++)
		if (r[i] <= -1)
			return NAN;
	x = xmalloc(n * sizeof(*x));
	y = xmalloc(n * sizeof(*y));
	t = xmalloc(n * sizeof(*t));
	for (i = 0; i < n; i++) {
		x[i] = (double)i;
		y[i] = (i > 0 ? y[i - 1] : 0.0) + log1p(r[i]);
	}
	/* scipy.stats.linregress via np.cov(x, y, bias=1): centred products times 1/n. */
	xm = mean(x, n);
	ym = mean(y, n);
	for (i = 0; i < n; i++) {
		x[i] -= xm;
		y[i] -= ym;
	}
	inv = 1.0 / (double)n;
	for (i = 0; i < n; i++)
		t[i] = x[i] * x[i];
	sxx = stats_sum(t, n) * inv;
	for (i = 0; i < n; i++)
		t[i] = y[i] * y[i];
	syy = stats_sum(t, n) * inv;
	for (i = 0; i < n; i++)
		t[i] = x[i] * y[i];
	sxy = stats_sum(t, n) * inv;
	free(x);
	free(y);
	free(t);
	if (sxx == 0.0 || syy == 0.0)
		rr = 0.0;
	else {
		rr = sxy / sqrt(sxx * syy);
		if (rr > 1.0)
			rr = 1.0;
		else if (rr < -1.0)
			rr = -1.0;
	}
	return defined(rr * rr);
}

double
stats_beta(const double *r, const double *b, size_t n)
{
	double *c, *t, bm, cov, var;

	if (n < 2 || !finite_all(r, n) || !finite_all(b, n))
		return NAN;
	c = xmalloc(n * sizeof(*c));
	t = xmalloc(n * sizeof(*t));
	bm = mean(b, n);
	for (size_t i = 0; i < n; i++) {
		c[i] = b[i] - bm;
		t[i] = c[i] * r[i];
	}
	cov = mean(t, n);
	for (size_t i = 0; i < n; i++)
		t[i] = c[i] * c[i];
	var = mean(t, n);
	free(c);
	free(t);
	/* empyrical's own floor, then the fragile rule on the benchmark's deviation. */
	if (var < 1.0e-30 || fragile(sqrt(var), bm))
		return NAN;
	return defined(cov / var);
}

double
stats_alpha(const double *r, const double *b, size_t n, double risk_free, double periods)
{
	double beta, *a, m;

	if (n < 2 || !isfinite(risk_free) || !params_ok(periods))
		return NAN;
	beta = stats_beta(r, b, n);
	if (isnan(beta))
		return NAN;
	a = xmalloc(n * sizeof(*a));
	for (size_t i = 0; i < n; i++)
		a[i] = (r[i] - risk_free) - beta * (b[i] - risk_free);
	m = mean(a, n);
	free(a);
	return defined(pow(m + 1, periods) - 1);
}

/* scipy.stats.skew (k = 3) or kurtosis (k = 4), biased; n >= 1. */
static double
moment_ratio(const double *r, size_t n, int k)
{
	double m, m2, mk;

	if (n == 0 || !finite_all(r, n))
		return NAN;
	m = mean(r, n);
	m2 = central_sum(r, n, m, 2) / (double)n;
	/* scipy's own zero test is m2 <= (1e-15 * mean)^2; ours is wider. */
	if (fragile(sqrt(m2), m))
		return NAN;
	mk = central_sum(r, n, m, k) / (double)n;
	if (k == 3)
		return defined(mk / pow(m2, 1.5));
	return defined(mk / pow(m2, 2.0) - 3);
}

double
stats_skew(const double *r, size_t n)
{
	return moment_ratio(r, n, 3);
}

double
stats_kurtosis(const double *r, size_t n)
{
	return moment_ratio(r, n, 4);
}

double
stats_value_at_risk_parametric(const double *r, size_t n)
{
	double m, s;

	if (n < 2 || !finite_all(r, n))
		return NAN;
	s = std1(r, n, &m);
	/* scipy's norm.ppf is NaN for sigma = 0; rounding-noise sigma likewise. */
	if (fragile(s, m))
		return NAN;
	/* norm.ppf(1 - 0.95, mu, sigma) = mu + sigma * ppf(0.05...). */
	return defined(m + s * -STATS_Z95);
}

double
stats_conditional_value_at_risk_parametric(const double *r, size_t n)
{
	double var, *below, v;
	size_t k = 0;

	var = stats_value_at_risk_parametric(r, n);
	if (isnan(var))
		return NAN;
	below = xmalloc(n * sizeof(*below));
	for (size_t i = 0; i < n; i++)
		if (r[i] < var)
			below[k++] = r[i];
	v = k > 0 ? mean(below, k) : var;
	free(below);
	return defined(v);
}

int
stats_compute(const double *r, size_t n, const struct stats_params *p, struct stats *out,
    const char **errstr)
{
	struct stats s;

	if (stats_check(r, n, errstr) == -1)
		return -1;
	if (!params_ok(p->periods)) {
		*errstr = "periods must be a finite number > 0";
		return -1;
	}
	if (!isfinite(p->risk_free) || !isfinite(p->required_return) ||
	    !isfinite(p->omega_required_return)) {
		*errstr = "risk-free and required returns must be finite";
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.periods = p->periods;
	s.cum_returns_final = stats_cum_returns_final(r, n);
	s.annual_return = stats_annual_return(r, n, p->periods);
	s.annual_volatility = stats_annual_volatility(r, n, p->periods);
	s.sharpe_ratio = stats_sharpe_ratio(r, n, p->risk_free, p->periods);
	s.sortino_ratio = stats_sortino_ratio(r, n, p->required_return, p->periods);
	s.downside_risk = stats_downside_risk(r, n, p->required_return, p->periods);
	s.max_drawdown = stats_max_drawdown(r, n);
	s.calmar_ratio = stats_calmar_ratio(r, n, p->periods);
	s.omega_ratio = stats_omega_ratio(r, n, p->risk_free, p->omega_required_return, p->periods);
	s.value_at_risk = stats_value_at_risk(r, n, STATS_CUTOFF);
	s.conditional_value_at_risk = stats_conditional_value_at_risk(r, n, STATS_CUTOFF);
	s.tail_ratio = stats_tail_ratio(r, n);
	s.stability_of_timeseries = stats_stability_of_timeseries(r, n);
	s.beta = NAN;
	s.alpha = NAN;
	s.skew = stats_skew(r, n);
	s.kurtosis = stats_kurtosis(r, n);
	s.value_at_risk_parametric = stats_value_at_risk_parametric(r, n);
	s.conditional_value_at_risk_parametric = stats_conditional_value_at_risk_parametric(r, n);
	s.n_benchmark = 0;
	*out = s;
	return 0;
}

int
stats_compute_benchmark(const double *r, const double *b, size_t n, const struct stats_params *p,
    struct stats *out, const char **errstr)
{
	if (stats_check(r, n, errstr) == -1)
		return -1;
	if (!finite_all(b, n)) {
		*errstr = "benchmark series contains NaN or infinity";
		return -1;
	}
	if (!params_ok(p->periods) || !isfinite(p->risk_free)) {
		*errstr = "periods must be > 0 and the risk-free return finite";
		return -1;
	}
	out->beta = stats_beta(r, b, n);
	out->alpha = stats_alpha(r, b, n, p->risk_free, p->periods);
	out->n_benchmark = n;
	return 0;
}

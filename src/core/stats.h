/*
 * stats: risk and performance statistics of a series of simple per-period
 * returns, defined exactly as empyrical defines them (see
 * ../shared/reference/metrics.md sections 1-3), plus quantstats' parametric
 * (Gaussian) VaR and CVaR.
 *
 * Inputs are (r, n) arrays of simple returns (0.01 = +1%) that the caller
 * owns; no function keeps a pointer. Every result is a double.
 *
 * UNDEFINED-VALUE POLICY. A result is undefined, represented as NaN here and
 * as JSON null by stats_json, when empyrical gives NaN or +-inf for it, and
 * also when it is a ratio whose denominator is a deviation that is zero or
 * indistinguishable from rounding noise: denominator <= STATS_FRAGILE_REL *
 * |numerator| (Sharpe, Sortino, Calmar, Omega, tail ratio), or, for skew,
 * kurtosis, beta (and so alpha) and the parametric VaR and CVaR, a standard
 * deviation <= STATS_FRAGILE_REL * |mean| (of the benchmark for beta).
 * Such ratios would be >= 1e12 in magnitude and carry no information (a
 * constant 0.001 series has a numpy std of 2e-19 and a "Sharpe" of 7e16).
 * Hence an undefined value is never a huge meaningless number, and a finite
 * result is always one that agrees with empyrical.
 * Non-finite input (NaN, +-inf in r, in a benchmark or in a parameter), or
 * periods <= 0, makes every per-metric function return NaN;
 * stats_compute() rejects it with an error instead.
 *
 * SUMMATION. Means and variances use stats_sum(), a replica of numpy's
 * pairwise summation (the reduction np.sum, np.mean, np.nanmean and
 * np.nanstd use), not Kahan: the goal is agreement with numpy, and
 * replicating its order gives bit-identical sums up to 8192 elements where
 * Kahan would be "more exact" but different.
 */
#ifndef PERFAGG_CORE_STATS_H
#define PERFAGG_CORE_STATS_H

#include <stddef.h>

#define STATS_PERIODS_DEFAULT	365.0	/* calendar-daily crypto series */
#define STATS_CUTOFF		0.05	/* historical VaR / CVaR tail */
#define STATS_FRAGILE_REL	1e-12	/* see the policy above */
/* -norm.ppf(1 - 0.95) as quantstats evaluates it (1 - 0.95 != 0.05). */
#define STATS_Z95		1.6448536269514722

struct stats_params {
	double	periods;		/* annualization factor A, > 0 */
	double	risk_free;		/* per period: Sharpe, Omega, alpha */
	double	required_return;	/* per period: Sortino, downside risk */
	double	omega_required_return;	/* ANNUAL, as empyrical's Omega takes it */
};

/* Every double is NaN when undefined. */
struct stats {
	size_t	n;			/* length of the return series */
	double	periods;
	double	cum_returns_final;
	double	annual_return;
	double	annual_volatility;
	double	sharpe_ratio;
	double	sortino_ratio;
	double	downside_risk;
	double	max_drawdown;
	double	calmar_ratio;
	double	omega_ratio;
	double	value_at_risk;
	double	conditional_value_at_risk;
	double	tail_ratio;
	double	stability_of_timeseries;
	double	beta;
	double	alpha;
	double	skew;
	double	kurtosis;
	double	value_at_risk_parametric;
	double	conditional_value_at_risk_parametric;
	size_t	n_benchmark;		/* pairs used for beta and alpha; 0: none */
};

/* Sets periods = STATS_PERIODS_DEFAULT and every other parameter to 0. */
void stats_params_default(struct stats_params *p);

/* numpy's pairwise sum of x[0..n-1] (0 for n = 0). */
double stats_sum(const double *x, size_t n);

/* Returns 0 if all of r[0..n-1] are finite, else -1 with *errstr set. */
int stats_check(const double *r, size_t n, const char **errstr);

/*
 * Fills *out with every statistic of r[0..n-1]; beta and alpha are NaN and
 * n_benchmark 0 (see stats_compute_benchmark). Returns 0, or -1 with *errstr
 * set when r or a parameter is not finite or periods <= 0 (*out untouched).
 */
int stats_compute(const double *r, size_t n, const struct stats_params *p, struct stats *out,
    const char **errstr);

/*
 * Sets out->beta, out->alpha and out->n_benchmark from the aligned pairs
 * (r[i], b[i]), i < n, which may be a subset of the series given to
 * stats_compute (dates both series have). Returns 0, or -1 with *errstr set
 * on non-finite input (*out untouched).
 */
int stats_compute_benchmark(const double *r, const double *b, size_t n, const struct stats_params *p,
    struct stats *out, const char **errstr);

/* The metrics, one by one. NaN = undefined (see the policy above). */
double stats_cum_returns_final(const double *r, size_t n);
double stats_annual_return(const double *r, size_t n, double periods);
double stats_annual_volatility(const double *r, size_t n, double periods);
double stats_sharpe_ratio(const double *r, size_t n, double risk_free, double periods);
double stats_downside_risk(const double *r, size_t n, double required_return, double periods);
double stats_sortino_ratio(const double *r, size_t n, double required_return, double periods);
double stats_max_drawdown(const double *r, size_t n);	/* <= 0 */
double stats_calmar_ratio(const double *r, size_t n, double periods);
double stats_omega_ratio(const double *r, size_t n, double risk_free, double annual_required_return,
    double periods);
double stats_value_at_risk(const double *r, size_t n, double cutoff);
double stats_conditional_value_at_risk(const double *r, size_t n, double cutoff);
double stats_tail_ratio(const double *r, size_t n);
double stats_stability_of_timeseries(const double *r, size_t n);
double stats_beta(const double *r, const double *b, size_t n);
double stats_alpha(const double *r, const double *b, size_t n, double risk_free, double periods);
double stats_skew(const double *r, size_t n);		/* scipy, biased */
double stats_kurtosis(const double *r, size_t n);	/* scipy, biased, excess */
/* quantstats: mean - STATS_Z95 * std(ddof=1). */
double stats_value_at_risk_parametric(const double *r, size_t n);
/* quantstats: mean of the returns strictly below the parametric VaR, else that VaR. */
double stats_conditional_value_at_risk_parametric(const double *r, size_t n);

#endif

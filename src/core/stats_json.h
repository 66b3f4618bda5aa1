/*
 * stats_json: the JSON rendering (jansson) of statistics. An undefined value
 * (NaN, or +-inf, see core/stats.h) becomes JSON null. Numbers are JSON reals;
 * dump them with jansson's default precision (17 significant digits, "%.17g"),
 * which round-trips every double.
 */
#ifndef PERFAGG_CORE_STATS_JSON_H
#define PERFAGG_CORE_STATS_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "core/stats.h"

/* A new reference: a JSON real for finite v, else JSON null. Never NULL. */
json_t *stats_json_number(double v);

/*
 * A new object (the caller owns the reference) with, in this order:
 * n, periods, cum_returns_final, annual_return, annual_volatility,
 * sharpe_ratio, sortino_ratio, downside_risk, max_drawdown, calmar_ratio,
 * omega_ratio, value_at_risk, conditional_value_at_risk, tail_ratio,
 * stability_of_timeseries, beta, alpha, skew, kurtosis,
 * value_at_risk_parametric, conditional_value_at_risk_parametric,
 * n_benchmark. periods is an integer when it is integral.
 */
json_t *stats_json_render(const struct stats *s);

/* A new k x k array of arrays from the row-major m[k * k]; NaN -> null. */
json_t *stats_json_matrix(const double *m, size_t k);

#endif

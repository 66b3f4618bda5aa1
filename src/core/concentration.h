/*
 * concentration: how concentrated a portfolio is. The Herfindahl-Hirschman
 * index of non-negative weights (volume or open exposure by symbol) and the
 * Pearson correlation matrix of per-symbol daily PnL series. Doubles, like
 * every statistic: the caller converts exact decimals at the boundary.
 * Undefined values are NaN (JSON null), as in core/stats.h.
 */
#ifndef PERFAGG_CORE_CONCENTRATION_H
#define PERFAGG_CORE_CONCENTRATION_H

#include <stddef.h>

/*
 * Sets *out to sum_i (v_i / sum v)^2 over v[0..n-1], a value in [1/n, 1]
 * (1 = everything in one symbol), or NaN when n = 0 or every weight is 0.
 * Returns 0, or -1 with *errstr set when a weight is negative or not finite.
 */
int concentration_hhi(const double *v, size_t n, double *out, const char **errstr);

/*
 * Pearson correlation (numpy.corrcoef) of k series of n values each; series
 * i is x[i * n .. i * n + n - 1]. Writes the row-major k x k matrix to out
 * (caller-allocated, k * k doubles): entries in [-1, 1], diagonal exactly 1,
 * and NaN in the row and column of a series that is constant (standard
 * deviation <= STATS_FRAGILE_REL * |mean|) and everywhere when n < 2.
 * Returns 0, or -1 with *errstr set when a value is not finite.
 */
int concentration_correlation(const double *x, size_t k, size_t n, double *out, const char **errstr);

#endif

#include "core/concentration.h"

#include <math.h>
#include <stdlib.h>

#include "core/stats.h"
#include "util/xalloc.h"

int
concentration_hhi(const double *v, size_t n, double *out, const char **errstr)
{
	double mx = 0, *w, total, h;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isfinite(v[i]) || v[i] < 0) {
			*errstr = "weights must be finite and non-negative";
			return -1;
		}
		if (v[i] > mx)
			mx = v[i];
	}
	if (mx == 0) {
		*out = NAN;
		return 0;
	}
	/* Scaling by the largest weight first keeps the total finite. */
	w = xmalloc(n * sizeof(*w));
	for (i = 0; i < n; i++)
		w[i] = v[i] / mx;
	total = stats_sum(w, n);
	for (i = 0; i < n; i++) {
		w[i] /= total;
		w[i] *= w[i];
	}
	h = stats_sum(w, n);
	free(w);
	/* Rounding may step a hair outside the mathematical range. */
	if (h > 1)
		h = 1;
	if (h < 1.0 / (double)n)
		h = 1.0 / (double)n;
	*out = h;
	return 0;
}

int
concentration_correlation(const double *x, size_t k, size_t n, double *out, const char **errstr)
{
	double *d, *sd, *t, m, c;
	size_t i, j, u;

	for (i = 0; i < k * n; i++)
		if (!isfinite(x[i])) {
			*errstr = "PnL series contains NaN or infinity";
			return -1;
		}
	for (i = 0; i < k * k; i++)
		out[i] = NAN;
	if (n < 2 || k == 0)
		return 0;
	d = xmalloc(k * n * sizeof(*d));
	sd = xmalloc(k * sizeof(*sd));
	t = xmalloc(n * sizeof(*t));
	for (i = 0; i < k; i++) {
		m = stats_sum(x + i * n, n) / (double)n;
		for (u = 0; u < n; u++) {
			d[i * n + u] = x[i * n + u] - m;
			t[u] = d[i * n + u] * d[i * n + u];
		}
		sd[i] = sqrt(stats_sum(t, n) / (double)(n - 1));
		if (!(sd[i] > STATS_FRAGILE_REL * fabs(m)))
			sd[i] = NAN;
	}
	for (i = 0; i < k; i++) {
		if (isnan(sd[i]))
			continue;
		out[i * k + i] = 1.0;
		for (j = i + 1; j < k; j++) {
			if (isnan(sd[j]))
				continue;
			for (u = 0; u < n; u++)
				t[u] = d[i * n + u] * d[j * n + u];
			/* numpy.corrcoef: cov, then divided by each deviation, then clipped. */
			c = stats_sum(t, n) / (double)(n - 1);
			c = c / sd[i] / sd[j];
			if (c > 1)
				c = 1;
			else if (c < -1)
				c = -1;
			out[i * k + j] = out[j * k + i] = c;
		}
	}
	free(d);
	free(sd);
	free(t);
	return 0;
}

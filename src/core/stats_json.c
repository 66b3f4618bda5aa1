#include "core/stats_json.h"

#include <math.h>

#include "util/log.h"

/* json_object_set_new() fails only on a bad key or out of memory: a bug. */
static void
set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		fatalx("stats_json: cannot set %s", key);
}

json_t *
stats_json_number(double v)
{
	json_t *j = isfinite(v) ? json_real(v) : json_null();

	if (j == NULL)
		fatalx("stats_json: out of memory");
	return j;
}

static json_t *
count(size_t n)
{
	return json_integer((json_int_t)n);
}

json_t *
stats_json_render(const struct stats *s)
{
	json_t *o = json_object();

	if (o == NULL)
		fatalx("stats_json: out of memory");
	set(o, "n", count(s->n));
	if (isfinite(s->periods) && s->periods == floor(s->periods) && fabs(s->periods) < 1e15)
		set(o, "periods", json_integer((json_int_t)s->periods));
	else
		set(o, "periods", stats_json_number(s->periods));
	set(o, "cum_returns_final", stats_json_number(s->cum_returns_final));
	set(o, "annual_return", stats_json_number(s->annual_return));
	set(o, "annual_volatility", stats_json_number(s->annual_volatility));
	set(o, "sharpe_ratio", stats_json_number(s->sharpe_ratio));
	set(o, "sortino_ratio", stats_json_number(s->sortino_ratio));
	set(o, "downside_risk", stats_json_number(s->downside_risk));
	set(o, "max_drawdown", stats_json_number(s->max_drawdown));
	set(o, "calmar_ratio", stats_json_number(s->calmar_ratio));
	set(o, "omega_ratio", stats_json_number(s->omega_ratio));
	set(o, "value_at_risk", stats_json_number(s->value_at_risk));
	set(o, "conditional_value_at_risk", stats_json_number(s->conditional_value_at_risk));
	set(o, "tail_ratio", stats_json_number(s->tail_ratio));
	set(o, "stability_of_timeseries", stats_json_number(s->stability_of_timeseries));
	set(o, "beta", stats_json_number(s->beta));
	set(o, "alpha", stats_json_number(s->alpha));
	set(o, "skew", stats_json_number(s->skew));
	set(o, "kurtosis", stats_json_number(s->kurtosis));
	set(o, "value_at_risk_parametric", stats_json_number(s->value_at_risk_parametric));
	set(o, "conditional_value_at_risk_parametric",
	    stats_json_number(s->conditional_value_at_risk_parametric));
	set(o, "n_benchmark", count(s->n_benchmark));
	return o;
}

json_t *
stats_json_matrix(const double *m, size_t k)
{
	json_t *rows = json_array(), *row;

	if (rows == NULL)
		fatalx("stats_json: out of memory");
	for (size_t i = 0; i < k; i++) {
		if ((row = json_array()) == NULL)
			fatalx("stats_json: out of memory");
		for (size_t j = 0; j < k; j++)
			if (json_array_append_new(row, stats_json_number(m[i * k + j])) == -1)
				fatalx("stats_json: out of memory");
		if (json_array_append_new(rows, row) == -1)
			fatalx("stats_json: out of memory");
	}
	return rows;
}

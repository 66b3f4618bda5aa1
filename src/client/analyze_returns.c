/*
 * perfagg analyze --marks: the account's calendar-daily equity, returns,
 * time-weighted return and statistics, and the concentration and
 * correlation of its symbols (core/portfolio.h does the valuation).
 *
 * Decisions:
 * - One account currency: the quote currency of the fills, or --quote when
 *   they have several (an error otherwise).
 * - The series runs from the UTC day of the first fill quoted in the account
 *   currency to the last day with any mark, every calendar day included;
 *   the marks must reach the last such fill's day.
 * - Fills of day d are applied before day d is valued; a flow dated d
 *   happens at the start of d (core/equity.h) and must fall inside the
 *   series.
 * - The daily series is dated (00:00 UTC of each day), so a dated benchmark
 *   pairs on dates and an undated one by position (core/series.h), exactly
 *   as `perfagg stats` pairs a dated series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/analyze.h"
#include "client/cli.h"
#include "core/concentration.h"
#include "core/flows.h"
#include "core/marks.h"
#include "core/portfolio.h"
#include "core/series.h"
#include "core/stats_json.h"
#include "util/file.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define CMD ANALYZE_CMD
#define MARKS_MAX ((size_t)1 << 30)
#define DAYS_MAX 36600		/* a hundred years of days */

static json_t *
jdec(struct dec d)
{
	char buf[DEC_STR_MAX];

	dec_format(buf, sizeof(buf), d);
	return json_string(buf);
}

static void
set(json_t *o, const char *k, json_t *v)
{
	if (v == NULL || json_object_set_new(o, k, v) == -1)
		fatalx("analyze: cannot set %s", k);
}

static struct marks *
load_marks(const char *path)
{
	const char *err = NULL;
	char where[MARKS_WHERE_MAX];
	struct marks *m;
	uint8_t *buf;
	size_t len;

	if ((buf = file_read_all(path, MARKS_MAX, &len, &err)) == NULL) {
		cli_error(CMD, CLI_USAGE, "--marks %s: %s", path, err);
		return NULL;
	}
	if ((m = marks_parse((const char *)buf, len, where, &err)) == NULL) {
		if (where[0] != '\0')
			cli_error(CMD, CLI_USAGE, "--marks %s: %s: %s", path, where, err);
		else
			cli_error(CMD, CLI_USAGE, "--marks %s: %s", path, err);
	}
	free(buf);
	return m;
}

static struct flows *
load_flows(const char *path)
{
	const char *err = NULL;
	struct flows *f;
	uint8_t *buf;
	size_t len, line = 0;

	if ((buf = file_read_all(path, MARKS_MAX, &len, &err)) == NULL) {
		cli_error(CMD, CLI_USAGE, "--flows %s: %s", path, err);
		return NULL;
	}
	if ((f = flows_parse((const char *)buf, len, &line, &err)) == NULL)
		cli_error(CMD, CLI_USAGE, "--flows %s: line %zu: %s", path, line, err);
	free(buf);
	return f;
}

/* The account currency (see the decisions above), or NULL after an error. */
static const char *
pick_quote(const struct analyze_opts *o, const struct analyze_item *v, size_t n)
{
	const char *first = NULL, *other = NULL;

	for (size_t i = 0; i < n; i++) {
		if (o->quote != NULL && strcmp(v[i].f.quote, o->quote) == 0)
			return o->quote;
		if (first == NULL)
			first = v[i].f.quote;
		else if (other == NULL && strcmp(v[i].f.quote, first) != 0)
			other = v[i].f.quote;
	}
	if (o->quote != NULL)
		cli_error(CMD, CLI_USAGE, "--quote %s: no fill is quoted in %s", o->quote, o->quote);
	else if (first == NULL)
		cli_error(CMD, CLI_USAGE, "--marks: no fill to value");
	else if (other != NULL)
		cli_error(CMD, CLI_USAGE, "fills are quoted in several currencies (%s, %s, ...): "
		    "one equity series values one, choose it with --quote", first, other);
	else
		return first;
	return NULL;
}

static json_t *
daily_json(const struct equity *e)
{
	json_t *a = json_array(), *o;
	char date[TIME_DATE_LEN];

	for (size_t i = 0; i < equity_ndays(e); i++) {
		const struct equity_day *d = equity_day(e, i);

		o = json_object();
		time_format_date(date, d->day);
		set(o, "date", json_string(date));
		set(o, "equity", jdec(d->equity));
		set(o, "pnl", jdec(d->pnl));
		set(o, "flow", jdec(d->flow));
		set(o, "return", stats_json_number(d->ret));
		json_array_append_new(a, o);
	}
	return a;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* {"symbols": [...], "matrix": [[...]]} of the symbols' daily PnL, by name. */
static json_t *
correlation_json(const struct portfolio *p, size_t ndays)
{
	size_t k = portfolio_nsymbols(p);
	const char **names = xcalloc(k + 1, sizeof(*names));
	double *x = xcalloc(k * ndays + 1, sizeof(*x)), *m = xcalloc(k * k + 1, sizeof(*m));
	const char *err = NULL;
	json_t *o = json_object(), *syms = json_array();

	for (size_t i = 0; i < k; i++)
		names[i] = portfolio_symbol(p, i);
	qsort(names, k, sizeof(*names), cmp_str);
	for (size_t i = 0; i < k; i++) {
		size_t j = 0;

		while (strcmp(portfolio_symbol(p, j), names[i]) != 0)
			j++;
		if (ndays > 0)
			memcpy(x + i * ndays, portfolio_pnl(p, j), ndays * sizeof(*x));
		json_array_append_new(syms, json_string(names[i]));
	}
	/* PnL converted from finite decimals: always finite */
	if (concentration_correlation(x, k, ndays, m, &err) == -1)
		fatalx("analyze: correlation: %s", err);
	set(o, "symbols", syms);
	set(o, "matrix", stats_json_matrix(m, k));
	free(names);
	free(x);
	free(m);
	return o;
}

static json_t *
exposure_hhi(const struct portfolio *p)
{
	size_t k = portfolio_nsymbols(p);
	double *w = xcalloc(k + 1, sizeof(*w)), h;
	const char *err = NULL;

	for (size_t i = 0; i < k; i++)
		w[i] = dec_to_double(portfolio_exposure(p, i));
	if (concentration_hhi(w, k, &h, &err) == -1)
		fatalx("analyze: exposure: %s", err);
	free(w);
	return stats_json_number(h);
}

/* Statistics of the daily returns, with beta and alpha against bench. */
static int
statistics(const struct analyze_opts *o, const struct equity *e, const struct series *bench,
    json_t **out)
{
	struct series ds;
	struct stats st;
	const char *err = NULL;
	double *pr = NULL, *pb = NULL;
	size_t np = 0;
	int rc = CLI_USAGE;

	series_init(&ds);
	ds.dated = 1;
	for (size_t i = 0; i < equity_ndays(e); i++)
		series_push(&ds, equity_day(e, i)->ret, equity_day(e, i)->day * TIME_DAY_MS);
	if (stats_compute(ds.v, ds.n, &o->params, &st, &err) == -1) {
		cli_error(CMD, CLI_USAGE, "statistics: %s", err);
		goto out;
	}
	if (bench != NULL) {
		if (series_pair(&ds, bench, &pr, &pb, &np, &err) == -1) {
			cli_error(CMD, CLI_USAGE, "benchmark has %zu returns, the daily series %zu "
			    "(an undated benchmark pairs by position)", bench->n, ds.n);
			goto out;
		}
		if (stats_compute_benchmark(pr, pb, np, &o->params, &st, &err) == -1) {
			cli_error(CMD, CLI_USAGE, "benchmark: %s", err);
			goto out;
		}
	}
	*out = stats_json_render(&st);
	rc = CLI_OK;
out:
	free(pr);
	free(pb);
	series_clear(&ds);
	return rc;
}

/* Values every day first..last, applying the fills of each day first. */
static int
run_days(struct portfolio *p, struct ledger *l, const struct analyze_fees *fees, const struct analyze_item *v,
    size_t n, size_t *next, const struct marks *m, int64_t first, int64_t last)
{
	const char *err = NULL, *sym = NULL;
	char date[TIME_DATE_LEN];
	int rc;

	for (int64_t d = first; d <= last; d++) {
		if ((rc = analyze_apply(l, fees, v, n, next, (d + 1) * TIME_DAY_MS)) != CLI_OK)
			return rc;
		if (portfolio_close_day(p, l, d, m, &sym, &err) == -1) {
			time_format_date(date, d);
			if (sym != NULL)
				return cli_error(CMD, CLI_USAGE, "%s: no mark for %s, which has an open "
				    "position (add it to the marks, or use --carry-marks)", date, sym);
			return cli_error(CMD, CLI_USAGE, "%s: %s", date, err);
		}
	}
	return CLI_OK;
}

int
analyze_returns(const struct analyze_opts *o, struct ledger *l, const struct analyze_item *v,
    size_t n, size_t *next, json_t **out)
{
	struct marks *m = NULL;
	struct flows *fl = NULL;
	struct series bench;
	struct portfolio *p = NULL;
	const char *quote, *err = NULL;
	char d1[TIME_DATE_LEN], d2[TIME_DATE_LEN];
	int64_t first = 0, last_fill = 0, last;
	json_t *res = NULL, *acc, *st = NULL;
	int rc = CLI_USAGE;

	*out = NULL;
	series_init(&bench);
	if ((quote = pick_quote(o, v, n)) == NULL)
		goto out;
	if ((m = load_marks(o->marks)) == NULL)
		goto out;
	if (o->flows != NULL && (fl = load_flows(o->flows)) == NULL)
		goto out;
	if (o->benchmark != NULL && cli_read_series(CMD, o->benchmark, &bench) != CLI_OK)
		goto out;
	for (size_t i = 0, seen = 0; i < n; i++)
		if (strcmp(v[i].f.quote, quote) == 0) {
			last_fill = time_day_of_ms(v[i].f.timestamp);
			if (!seen++)
				first = last_fill;
		}
	last = marks_last_day(m);
	time_format_date(d1, last);
	time_format_date(d2, last_fill);
	if (last < last_fill) {
		cli_error(CMD, CLI_USAGE, "the marks end on %s, before the last fill in %s (%s)", d1,
		    quote, d2);
		goto out;
	}
	if (last - first >= DAYS_MAX) {
		cli_error(CMD, CLI_USAGE, "the series would span more than %d days", DAYS_MAX);
		goto out;
	}
	if ((p = portfolio_new(quote, o->capital, first, o->carry, &err)) == NULL) {
		cli_error(CMD, CLI_USAGE, "--capital: %s", err);
		goto out;
	}
	for (size_t i = 0; fl != NULL && i < fl->n; i++) {
		if (fl->v[i].day < first || fl->v[i].day > last) {
			time_format_date(d1, fl->v[i].day);
			time_format_date(d2, first);
			cli_error(CMD, CLI_USAGE, "--flows: a flow dated %s is outside the series "
			    "(%s to the last mark's day)", d1, d2);
			goto out;
		}
		if (portfolio_flow(p, fl->v[i].day, fl->v[i].amount, &err) == -1)
			fatalx("analyze: flow: %s", err);	/* checked above */
	}
	if ((rc = run_days(p, l, &o->fees, v, n, next, m, first, last)) != CLI_OK)
		goto out;
	if ((rc = statistics(o, portfolio_equity(p), o->benchmark ? &bench : NULL, &st)) != CLI_OK)
		goto out;
	res = json_object();
	acc = json_object();
	set(acc, "quote", json_string(quote));
	set(acc, "capital", jdec(o->capital));
	set(acc, "carry_marks", json_boolean(o->carry));
	set(res, "account", acc);
	set(res, "daily", daily_json(portfolio_equity(p)));
	set(res, "twr", stats_json_number(equity_twr(portfolio_equity(p))));
	set(res, "statistics", st);
	set(res, "correlation", correlation_json(p, equity_ndays(portfolio_equity(p))));
	set(res, "exposure_hhi", exposure_hhi(p));
	*out = res;
	rc = CLI_OK;
out:
	portfolio_free(p);
	marks_free(m);
	flows_free(fl);
	series_clear(&bench);
	return rc;
}

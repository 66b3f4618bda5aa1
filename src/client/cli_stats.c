/*
 * perfagg stats: the statistics of core/stats.h over a return series read
 * from a file, printed as one JSON object (core/stats_json.h).
 *
 * Input format and benchmark pairing: core/series.h (by position for
 * undated files, on dates present in both when both are dated). The other
 * statistics always use the whole series. Anything malformed is an error
 * naming the line; nothing is printed on stdout then.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/cli.h"
#include "core/series.h"
#include "core/stats.h"
#include "core/stats_json.h"

#define CMD		"stats"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: perfagg stats [--periods N] [--risk-free R] [--required-return R]\n"
	    "                     [--benchmark FILE] FILE|-\n"
	    "\n"
	    "Risk and performance statistics of a series of simple returns, defined as\n"
	    "empyrical defines them, printed as one JSON object; an undefined value is null.\n"
	    "\n"
	    "FILE (- for standard input) holds one simple return per line (0.01 = +1%%), or\n"
	    "CSV lines date,return (dates increasing) with an optional header line.\n"
	    "\n"
	    "  --periods N          annualization factor, > 0 (default 365; 252 for trading days)\n"
	    "  --risk-free R        risk-free return per period (Sharpe, Omega, alpha; default 0)\n"
	    "  --required-return R  required return per period (Sortino, downside risk; default 0);\n"
	    "                       Omega takes the same hurdle annualized, (1+R)^N - 1\n"
	    "  --benchmark FILE     benchmark returns, same format, for beta and alpha: matched on\n"
	    "                       dates when both files are dated, else by position (the\n"
	    "                       lengths must then be equal)\n"
	    "\n"
	    "Exit status: 0 success, 2 usage or input error.\n");
}

static int
option_number(const char *opt, const char *arg, double *out)
{
	if (arg == NULL)
		return cli_error(CMD, CLI_USAGE, "%s needs a value (perfagg stats --help)", opt);
	if (series_parse_number(arg, strlen(arg), out) == -1)
		return cli_error(CMD, CLI_USAGE, "%s: '%s' is not a finite number", opt, arg);
	return CLI_OK;
}

int
cli_stats(int argc, char **argv)
{
	struct series r, b;
	struct stats_params p;
	struct stats st;
	const char *path = NULL, *bench = NULL, *errstr = NULL;
	double *pr = NULL, *pb = NULL;
	size_t np = 0;
	json_t *o = NULL;
	char *text = NULL;
	int rc = CLI_USAGE, i;

	series_init(&r);
	series_init(&b);
	stats_params_default(&p);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return CLI_OK;
		} else if (strcmp(a, "--periods") == 0) {
			if ((rc = option_number(a, v, &p.periods)) != CLI_OK)
				return rc;
			if (!(p.periods > 0))
				return cli_error(CMD, CLI_USAGE, "--periods must be > 0");
			i++;
		} else if (strcmp(a, "--risk-free") == 0) {
			if ((rc = option_number(a, v, &p.risk_free)) != CLI_OK)
				return rc;
			i++;
		} else if (strcmp(a, "--required-return") == 0) {
			if ((rc = option_number(a, v, &p.required_return)) != CLI_OK)
				return rc;
			i++;
		} else if (strcmp(a, "--benchmark") == 0) {
			if (v == NULL)
				return cli_error(CMD, CLI_USAGE, "--benchmark needs a file");
			bench = v;
			i++;
		} else if (a[0] == '-' && a[1] != '\0')
			return cli_error(CMD, CLI_USAGE, "unknown option '%s' (perfagg stats --help)", a);
		else if (path != NULL)
			return cli_error(CMD, CLI_USAGE, "one input file only (perfagg stats --help)");
		else
			path = a;
	}
	if (path == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (p.required_return <= -1)
		return cli_error(CMD, CLI_USAGE, "--required-return must be > -1");
	p.omega_required_return = pow(1 + p.required_return, p.periods) - 1;
	if (!isfinite(p.omega_required_return))
		return cli_error(CMD, CLI_USAGE, "--required-return compounds beyond range over --periods");
	if (bench != NULL && strcmp(bench, "-") == 0 && strcmp(path, "-") == 0)
		return cli_error(CMD, CLI_USAGE, "the series and the benchmark cannot both be stdin");

	if ((rc = cli_read_series(CMD, path, &r)) != CLI_OK)
		goto done;
	if (bench != NULL) {
		if ((rc = cli_read_series(CMD, bench, &b)) != CLI_OK)
			goto done;
		if (series_pair(&r, &b, &pr, &pb, &np, &errstr) == -1) {
			rc = cli_error(CMD, CLI_USAGE,
			    "benchmark has %zu returns, the series %zu (undated files pair by position)",
			    b.n, r.n);
			goto done;
		}
	}
	rc = CLI_USAGE;
	if (stats_compute(r.v, r.n, &p, &st, &errstr) == -1) {
		cli_error(CMD, CLI_USAGE, "%s", errstr);
		goto done;
	}
	if (bench != NULL && stats_compute_benchmark(pr, pb, np, &p, &st, &errstr) == -1) {
		cli_error(CMD, CLI_USAGE, "%s", errstr);
		goto done;
	}
	o = stats_json_render(&st);
	/* Default real precision: 17 significant digits, a lossless round trip. */
	if ((text = json_dumps(o, JSON_INDENT(2))) == NULL) {
		rc = cli_error(CMD, CLI_FAIL, "cannot render JSON");
		goto done;
	}
	if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
		rc = cli_error(CMD, CLI_FAIL, "cannot write the result");
		goto done;
	}
	rc = CLI_OK;
 done:
	free(text);
	json_decref(o);
	free(pr);
	free(pb);
	series_clear(&r);
	series_clear(&b);
	return rc;
}

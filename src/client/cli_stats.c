/*
 * perfagg stats: the statistics of core/stats.h over a return series read
 * from a file, printed as one JSON object (core/stats_json.h).
 *
 * Input format, decided here: one simple return per line, or CSV
 * "date,return" lines (the date as time_parse_iso() accepts it, strictly
 * increasing). Blank lines, surrounding blanks and CR before LF are ignored.
 * The first non-blank line is a header, and skipped, when it starts with a
 * letter and its last field is not a number ("date,return", "return").
 * A file is either all dated or all undated. Anything else is an error naming
 * the line; nothing is printed on stdout then.
 *
 * Benchmark pairing, decided here: when both files are dated, beta and alpha
 * use the dates present in both (the inner join: what empyrical computes on
 * date-indexed pandas Series, whose NaN-skipping drops unmatched dates);
 * otherwise the benchmark must have exactly as many returns as the series and
 * pairs by position. The other statistics always use the whole series.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "client/cli.h"
#include "core/stats.h"
#include "core/stats_json.h"
#include "util/file.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define CMD		"stats"
#define INPUT_MAX	(256u << 20)
#define NUMBER_MAX	64	/* longest numeric field accepted */

struct series {
	double	*v;
	int64_t	*ms;		/* dates when dated, else NULL */
	size_t	 n;
	size_t	 cap;
	int	 dated;		/* -1 not yet known, 0 no, 1 yes */
};

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

/* A finite decimal number, nothing else: no hex, inf, nan or trailing text. */
static int
parse_number(const char *s, size_t len, double *out)
{
	char buf[NUMBER_MAX + 1], *end;
	double v;

	if (len == 0 || len > NUMBER_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && strchr("+-.eE", s[i]) == NULL)
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (end != buf + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* "nan", "-inf", "Infinity"...: a bad number, never a header. */
static int
nonfinite_word(const char *s, size_t len)
{
	static const char *const words[] = { "nan", "inf", "infinity" };

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		s++;
		len--;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
			return 1;
	return 0;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

static void
series_push(struct series *s, double v, int64_t ms)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		s->ms = xreallocarray(s->ms, s->cap, sizeof(*s->ms));
	}
	s->v[s->n] = v;
	s->ms[s->n] = ms;
	s->n++;
}

static void
series_clear(struct series *s)
{
	free(s->v);
	free(s->ms);
	memset(s, 0, sizeof(*s));
}

/*
 * Parses one non-blank line (already trimmed). Returns 0, 1 for a header
 * line to skip (only when first), or -1 with *errstr set.
 */
static int
parse_line(struct series *s, const char *p, size_t len, int first, const char **errstr)
{
	const char *comma = memchr(p, ',', len), *f1 = p, *f2;
	size_t l1 = len, l2;
	int64_t ms = 0;
	double v;

	if (comma != NULL) {
		l1 = (size_t)(comma - p);
		f2 = comma + 1;
		l2 = len - l1 - 1;
		if (memchr(f2, ',', l2) != NULL) {
			*errstr = "too many fields (expected 'return' or 'date,return')";
			return -1;
		}
		trim(&f1, &l1);
		trim(&f2, &l2);
	} else {
		f2 = p;
		l2 = len;
	}
	if (parse_number(f2, l2, &v) == -1) {
		if (first && isalpha((unsigned char)p[0]) && !nonfinite_word(f2, l2))
			return 1;
		*errstr = l2 == 0 ? "missing return" : "malformed return (expected a finite decimal number)";
		return -1;
	}
	if (s->dated == -1)
		s->dated = comma != NULL;
	if (s->dated != (comma != NULL)) {
		*errstr = s->dated ? "missing date (earlier lines are 'date,return')" :
		    "unexpected date (earlier lines are bare returns)";
		return -1;
	}
	if (s->dated) {
		if (time_parse_iso(f1, l1, &ms) == -1) {
			*errstr = "malformed date (expected YYYY-MM-DD or ISO 8601 UTC)";
			return -1;
		}
		if (s->n > 0 && ms <= s->ms[s->n - 1]) {
			*errstr = "date not after the previous line's date";
			return -1;
		}
	}
	series_push(s, v, ms);
	return 0;
}

/* Parses (buf, len). Returns 0, or -1 with *lineno and *errstr set. */
static int
series_parse(struct series *s, const char *buf, size_t len, size_t *lineno, const char **errstr)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t l;
	int first = 1, rc;

	memset(s, 0, sizeof(*s));
	s->dated = -1;
	*lineno = 0;
	while (p < end) {
		(*lineno)++;
		nl = memchr(p, '\n', (size_t)(end - p));
		l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (memchr(p, '\0', l) != NULL) {
			*errstr = "NUL byte";
			goto fail;
		}
		{
			const char *q = p;

			trim(&q, &l);
			if (l > 0) {
				if ((rc = parse_line(s, q, l, first, errstr)) == -1)
					goto fail;
				first = 0;
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
 fail:
	series_clear(s);
	return -1;
}

static int
read_series(const char *path, struct series *s)
{
	const char *errstr = NULL, *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	uint8_t *buf;
	size_t len, lineno;

	if ((buf = file_read_all(path, INPUT_MAX, &len, &errstr)) == NULL)
		return cli_error(CMD, CLI_USAGE, "%s: %s", name, errstr);
	if (series_parse(s, (const char *)buf, len, &lineno, &errstr) == -1) {
		free(buf);
		return cli_error(CMD, CLI_USAGE, "%s:%zu: %s", name, lineno, errstr);
	}
	free(buf);
	return CLI_OK;
}

/* Pairs r and b for beta/alpha into fresh arrays (see the header comment). */
static int
pair_benchmark(const struct series *r, const struct series *b, double **pr, double **pb, size_t *np)
{
	size_t i = 0, j = 0, k = 0, cap;

	if (!(r->dated == 1 && b->dated == 1)) {
		if (r->n != b->n)
			return cli_error(CMD, CLI_USAGE,
			    "benchmark has %zu returns, the series %zu (undated files pair by position)",
			    b->n, r->n);
		cap = r->n;
	} else
		cap = r->n < b->n ? r->n : b->n;
	*pr = xcalloc(cap + 1, sizeof(**pr));
	*pb = xcalloc(cap + 1, sizeof(**pb));
	if (!(r->dated == 1 && b->dated == 1)) {
		if (cap > 0) {
			memcpy(*pr, r->v, cap * sizeof(**pr));
			memcpy(*pb, b->v, cap * sizeof(**pb));
		}
		*np = cap;
		return CLI_OK;
	}
	/* Both sorted by date: a merge join. */
	while (i < r->n && j < b->n) {
		if (r->ms[i] < b->ms[j])
			i++;
		else if (r->ms[i] > b->ms[j])
			j++;
		else {
			(*pr)[k] = r->v[i++];
			(*pb)[k] = b->v[j++];
			k++;
		}
	}
	*np = k;
	return CLI_OK;
}

static int
option_number(const char *opt, const char *arg, double *out)
{
	if (arg == NULL)
		return cli_error(CMD, CLI_USAGE, "%s needs a value (perfagg stats --help)", opt);
	if (parse_number(arg, strlen(arg), out) == -1)
		return cli_error(CMD, CLI_USAGE, "%s: '%s' is not a finite number", opt, arg);
	return CLI_OK;
}

int
cli_stats(int argc, char **argv)
{
	struct series r = { 0 }, b = { 0 };
	struct stats_params p;
	struct stats st;
	const char *path = NULL, *bench = NULL, *errstr = NULL;
	double *pr = NULL, *pb = NULL;
	size_t np = 0;
	json_t *o = NULL;
	char *text = NULL;
	int rc = CLI_USAGE, i;

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

	if ((rc = read_series(path, &r)) != CLI_OK)
		goto done;
	if (bench != NULL) {
		if ((rc = read_series(bench, &b)) != CLI_OK)
			goto done;
		if ((rc = pair_benchmark(&r, &b, &pr, &pb, &np)) != CLI_OK)
			goto done;
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

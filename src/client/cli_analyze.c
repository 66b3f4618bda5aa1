/*
 * perfagg analyze: FIFO PnL, volumes and fees from a file of fills, and with
 * --marks the account's daily equity, returns and statistics
 * (analyze_returns.c).
 *
 * The whole input is parsed and checked before anything is applied, and the
 * report is printed only when every fill was accepted and every section
 * computed, so an error never leaves a partial report on stdout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/analyze.h"
#include "client/cli.h"
#include "core/concentration.h"
#include "core/fill.h"
#include "core/ledger.h"
#include "core/report.h"
#include "core/series.h"
#include "core/stats_json.h"
#include "util/file.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CMD ANALYZE_CMD
#define MAX_INPUT ((size_t)1 << 30)

static const char usage_text[] =
    "usage: perfagg analyze [--oversell short|zero-cost|skip] [--fee-rate CUR/QUOTE=RATE ...]\n"
    "                       [--fee-closes FILE [--fee-pivot CUR]]\n"
    "                       [--format json|table] [--quote CUR]\n"
    "                       [--marks FILE --capital AMOUNT [--flows FILE] [--carry-marks]\n"
    "                        [--benchmark FILE] [--periods N] [--risk-free R]\n"
    "                        [--required-return R]] FILE|-\n"
    "\n"
    "FILE (- for standard input) holds ccxt unified trades: a JSON array, {\"fills\": [...]},\n"
    "or CSV with a header of the same field names. In CSV one fee is fee_cost,fee_currency\n"
    "(or fee.cost,fee.currency); several fees are a fees column holding ccxt's JSON array,\n"
    "CSV-quoted, e.g. [{\"cost\":\"0.1\",\"currency\":\"BNB\"},{\"cost\":0.2,\"currency\":\"USDT\"}]\n"
    "(numbers read exactly); a non-empty fees replaces fee_cost. Fills are applied per\n"
    "symbol in (timestamp, input position) order, FIFO, with exact decimals. FTX's fills\n"
    "CSV export is read as it is (ID,Time,Market,Side,Size,Price,Total,Fee,Fee Currency).\n"
    "  --oversell P        policy for a sell beyond the position, for every symbol\n"
    "                      (default: short on margin/futures, zero-cost on spot)\n"
    "  --fee-rate C/Q=R    convert fees paid in C on fills quoted in Q at R units of Q\n"
    "                      per C, whatever the day (repeatable; wins over --fee-closes)\n"
    "  --fee-closes FILE   daily closes (the --marks formats) converting a fee paid in a\n"
    "                      third currency C on a fill quoted in Q at the close of the\n"
    "                      fill's UTC day, as the daemon does: C/PIVOT, divided by\n"
    "                      Q/PIVOT unless Q is PIVOT; a fee without its day's close\n"
    "                      stays pending (fee_conversion says which)\n"
    "  --fee-pivot CUR     the currency the closes are quoted in (default USDT)\n"
    "  --format F          json (default) or table\n"
    "  --quote CUR         the account currency when the fills have several quote\n"
    "                      currencies (for --marks and the volume concentration)\n"
    "Return series (all need --marks):\n"
    "  --marks FILE        daily marks: CSV date,symbol,price (with that header) or JSON\n"
    "                      {\"YYYY-MM-DD\": {\"BTC/USDT\": \"43000.5\", ...}}; exact decimals.\n"
    "                      Adds daily equity/pnl/flow/return for every day from the first\n"
    "                      fill's day to the last mark's day, twr, statistics, exposure\n"
    "                      concentration and the correlation of per-symbol daily PnL.\n"
    "  --capital AMOUNT    starting equity in the account currency (required, > 0)\n"
    "  --flows FILE        external flows: CSV date,amount (deposit > 0, withdrawal < 0),\n"
    "                      each at the start of its day\n"
    "  --carry-marks       value an open position without that day's mark at its latest\n"
    "                      earlier mark (default: an error naming the date and symbol)\n"
    "  --benchmark FILE    benchmark returns as perfagg stats reads them (beta, alpha);\n"
    "                      dated lines pair on dates, undated ones by position\n"
    "  --periods N         annualization factor (default 365)\n"
    "  --risk-free R       risk-free return per period (default 0)\n"
    "  --required-return R required return per period (Sortino, downside; default 0)\n";

struct items {
	struct analyze_item *v;
	size_t n, cap;
};

static struct analyze_item *
items_push(struct items *it)
{
	if (it->n == it->cap) {
		it->cap = it->cap ? 2 * it->cap : 256;
		it->v = xreallocarray(it->v, it->cap, sizeof(*it->v));
	}
	it->v[it->n].pos = it->n;
	it->v[it->n].line = 0;
	return &it->v[it->n++];
}

/* "fill 3" for JSON or "line 7" for CSV: where an error is. */
static const char *
where(const struct analyze_item *i, char buf[64])
{
	if (i->line > 0)
		snprintf(buf, 64, "line %zu", i->line);
	else
		snprintf(buf, 64, "fill %zu", i->pos + 1);
	return buf;
}

static int
load_json(const char *buf, size_t len, struct items *it)
{
	const char *err = NULL, *field = NULL;
	json_t *root, *arr, *o;
	int line = 0, rc = CLI_USAGE;
	size_t i;
	char w[64];

	if ((root = fill_json_loads(buf, len, &line, &err)) == NULL)
		return cli_error(CMD, CLI_USAGE, "line %d: %s", line, err);
	arr = json_is_object(root) ? json_object_get(root, "fills") : root;
	if (!json_is_array(arr)) {
		cli_error(CMD, CLI_USAGE, "expected a JSON array of fills or {\"fills\": [...]}");
		goto out;
	}
	json_array_foreach(arr, i, o) {
		struct analyze_item *e = items_push(it);
		if (fill_from_json(&e->f, o, &field, &err) == -1) {
			if (field != NULL)
				cli_error(CMD, CLI_USAGE, "%s: %s: %s", where(e, w), field, err);
			else
				cli_error(CMD, CLI_USAGE, "%s: %s", where(e, w), err);
			goto out;
		}
	}
	rc = CLI_OK;
out:
	json_decref(root);
	return rc;
}

static int
load_csv(const char *buf, size_t len, struct items *it)
{
	const char *err = NULL, *field = NULL;
	struct fill_csv *c;
	struct fill f;
	int r, rc = CLI_USAGE;

	if ((c = fill_csv_new(buf, len, &err)) == NULL)
		return cli_error(CMD, CLI_USAGE, "CSV header: %s", err);
	while ((r = fill_csv_next(c, &f, &field, &err)) == 1) {
		struct analyze_item *e = items_push(it);
		e->f = f;
		e->line = fill_csv_line(c);
	}
	if (r == -1) {
		if (field != NULL)
			cli_error(CMD, CLI_USAGE, "line %zu: %s: %s", fill_csv_line(c), field, err);
		else
			cli_error(CMD, CLI_USAGE, "line %zu: %s", fill_csv_line(c), err);
	} else
		rc = CLI_OK;
	fill_csv_free(c);
	return rc;
}

static int
cmp_item(const void *a, const void *b)
{
	const struct analyze_item *x = a, *y = b;

	if (x->f.timestamp != y->f.timestamp)
		return x->f.timestamp < y->f.timestamp ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
parse_oversell(const char *s, enum ledger_oversell *out)
{
	if (strcmp(s, "short") == 0)
		*out = LEDGER_OVERSELL_SHORT;
	else if (strcmp(s, "zero-cost") == 0)
		*out = LEDGER_OVERSELL_ZERO_COST;
	else if (strcmp(s, "skip") == 0)
		*out = LEDGER_OVERSELL_SKIP;
	else
		return -1;
	return 0;
}

/* The value of option name at argv[*i] ("--name=v" or "--name v"), or NULL. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int
analyze_apply(struct ledger *l, const struct analyze_fees *fees, const struct analyze_item *v, size_t n,
    size_t *next, int64_t until)
{
	const char *err = NULL;
	enum ledger_outcome o;
	char w[64];

	for (; *next < n && v[*next].f.timestamp < until; (*next)++)
		if (ledger_apply(l, &v[*next].f, &o, &err) == -1)
			return cli_error(CMD, CLI_USAGE, "%s (%s): %s", where(&v[*next], w),
			    v[*next].f.symbol, err);
	return analyze_fees_resolve(fees, l);
}

/* The HHI of the quote volume of the symbols quoted in quote. */
static double
volume_hhi(const struct ledger *l, const char *quote)
{
	size_t n = ledger_nsymbols(l), k = 0;
	double *w = xcalloc(n + 1, sizeof(*w)), h;
	struct ledger_stats st;
	const char *err = NULL;

	for (size_t i = 0; i < n; i++) {
		ledger_symbol_stats(l, i, &st);
		if (st.trades > 0 && strcmp(st.quote, quote) == 0)
			w[k++] = dec_to_double(st.volume_quote);
	}
	/* volumes are sums of non-negative costs */
	if (concentration_hhi(w, k, &h, &err) == -1)
		fatalx("analyze: volume: %s", err);
	free(w);
	return h;
}

/*
 * "concentration": {"quote", "volume_hhi", "volume_hhi_by_quote",
 * ["exposure_hhi"]}. Volumes in different quote currencies are not
 * comparable: volume_hhi is that of the account currency (quote: --quote,
 * the --marks account, or the only quote currency), null when the fills
 * have several quote currencies and none was chosen.
 */
static json_t *
concentration_json(const struct ledger *l, const char *quote, json_t *exposure)
{
	json_t *c = json_object(), *by = json_object();
	struct ledger_stats st;
	const char *only = NULL;

	for (size_t i = 0; i < ledger_nquotes(l); i++) {
		if (ledger_quote_stats(l, i, &st) == -1 || st.trades == 0)
			continue;
		json_object_set_new(by, st.name, stats_json_number(volume_hhi(l, st.name)));
		only = st.name;
	}
	if (quote == NULL && json_object_size(by) == 1)
		quote = only;
	json_object_set_new(c, "quote", quote != NULL ? json_string(quote) : json_null());
	json_object_set_new(c, "volume_hhi", quote != NULL ? stats_json_number(volume_hhi(l, quote)) :
	    json_null());
	json_object_set_new(c, "volume_hhi_by_quote", by);
	if (exposure != NULL)
		json_object_set_new(c, "exposure_hhi", json_incref(exposure));
	return c;
}

/* Adds the fee conversion, concentration and return-series sections to rep. */
static void
extend(json_t *rep, const struct ledger *l, const struct analyze_opts *o, const char *quote, json_t *ret)
{
	const char *k;
	json_t *v;

	json_object_set_new(rep, "fee_conversion", analyze_fees_json(&o->fees, l));
	json_object_set_new(rep, "concentration",
	    concentration_json(l, quote, ret ? json_object_get(ret, "exposure_hhi") : NULL));
	json_object_foreach(ret, k, v)
		if (strcmp(k, "exposure_hhi") != 0)
			json_object_set(rep, k, v);
}

static int
load(const char *path, struct items *it)
{
	uint8_t *buf = NULL;
	size_t len = 0, k = 0;
	const char *err = NULL;
	int rc;

	if ((buf = file_read_all(path, MAX_INPUT, &len, &err)) == NULL)
		return cli_error(CMD, CLI_USAGE, "%s: %s", path, err);
	while (k < len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r' || buf[k] == '\n'))
		k++;
	if (k < len && (buf[k] == '[' || buf[k] == '{'))
		rc = load_json((const char *)buf, len, it);
	else
		rc = load_csv((const char *)buf, len, it);
	free(buf);
	/* the offline tool may sort; the ledger itself refuses older fills */
	if (rc == CLI_OK && it->n > 1)
		qsort(it->v, it->n, sizeof(*it->v), cmp_item);
	return rc;
}

static int
run(struct ledger *l, struct analyze_opts *o, const char *path, int table)
{
	struct items it = { NULL, 0, 0 };
	size_t next = 0;
	const char *err = NULL, *quote = o->quote;
	char *out = NULL, *extra = NULL;
	json_t *rep = NULL, *ret = NULL;
	int rc;

	if ((rc = load(path, &it)) != CLI_OK || (rc = analyze_fees_load(&o->fees)) != CLI_OK)
		goto out;
	if (o->marks != NULL) {
		if ((rc = analyze_returns(o, l, it.v, it.n, &next, &ret)) != CLI_OK)
			goto out;
		quote = json_string_value(json_object_get(json_object_get(ret, "account"), "quote"));
	} else if (quote != NULL) {
		for (; next < it.n && strcmp(it.v[next].f.quote, quote) != 0; next++)
			;
		if (next == it.n) {
			rc = cli_error(CMD, CLI_USAGE, "--quote %s: no fill is quoted in %s", quote, quote);
			goto out;
		}
		next = 0;
	}
	if ((rc = analyze_apply(l, &o->fees, it.v, it.n, &next, INT64_MAX)) != CLI_OK)
		goto out;
	if ((rep = report_json(l, &err)) == NULL) {
		rc = cli_error(CMD, CLI_FAIL, "report: %s", err);
		goto out;
	}
	extend(rep, l, o, quote, ret);
	if (table) {
		if ((out = report_table(l, &err)) != NULL)
			extra = analyze_table(rep);
	} else
		out = json_dumps(rep, JSON_INDENT(2));
	if (out == NULL) {
		rc = cli_error(CMD, CLI_FAIL, "report: %s", err != NULL ? err : "cannot format");
		goto out;
	}
	fputs(out, stdout);
	if (extra != NULL)
		fputs(extra, stdout);
	if (!table)
		fputc('\n', stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = cli_error(CMD, CLI_FAIL, "cannot write the report");
out:
	free(out);
	free(extra);
	json_decref(rep);
	json_decref(ret);
	free(it.v);
	return rc;
}

/* A finite number option; CLI_OK or CLI_USAGE after an error. */
static int
number_opt(const char *name, const char *v, double *out)
{
	if (series_parse_number(v, strlen(v), out) == -1)
		return cli_error(CMD, CLI_USAGE, "%s %s: not a finite number", name, v);
	return CLI_OK;
}

/* Checks the combinations of options. */
static int
check_opts(struct analyze_opts *o, int has_capital, const char *path)
{
	struct stats_params *p = &o->params;

	if (o->fees.closes_path == NULL && strcmp(o->fees.pivot, "USDT") != 0)
		return cli_error(CMD, CLI_USAGE, "--fee-pivot needs --fee-closes");
	if (o->marks == NULL && (has_capital || o->flows || o->benchmark || o->carry))
		return cli_error(CMD, CLI_USAGE, "--capital, --flows, --benchmark and --carry-marks "
		    "need --marks");
	if (o->marks != NULL && !has_capital)
		return cli_error(CMD, CLI_USAGE, "--marks needs --capital (the starting equity)");
	if (!(p->periods > 0))
		return cli_error(CMD, CLI_USAGE, "--periods must be > 0");
	if (p->required_return <= -1)
		return cli_error(CMD, CLI_USAGE, "--required-return must be > -1");
	p->omega_required_return = pow(1 + p->required_return, p->periods) - 1;
	if (!isfinite(p->omega_required_return))
		return cli_error(CMD, CLI_USAGE, "--required-return compounds beyond range over --periods");
	{
		const char *in[] = { path, o->marks, o->flows, o->benchmark, o->fees.closes_path };
		int stdin_n = 0;

		for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
			stdin_n += in[i] != NULL && strcmp(in[i], "-") == 0;
		if (stdin_n > 1)
			return cli_error(CMD, CLI_USAGE, "only one input can be standard input");
	}
	return CLI_OK;
}

int
cli_analyze(int argc, char **argv)
{
	struct ledger *l = ledger_new();
	struct analyze_opts o;
	const char *path = NULL, *v, *err = NULL;
	enum ledger_oversell policy;
	int i, rc = CLI_USAGE, table = 0, missing = 0, has_capital = 0;

	memset(&o, 0, sizeof(o));
	stats_params_default(&o.params);
	o.fees.pivot = "USDT";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			rc = CLI_OK;
			goto out;
		} else if (strcmp(argv[i], "--carry-marks") == 0) {
			o.carry = 1;
		} else if ((v = opt_value(argc, argv, &i, "--oversell", &missing)) != NULL) {
			if (parse_oversell(v, &policy) == -1) {
				cli_error(CMD, CLI_USAGE, "--oversell %s: expected short, zero-cost or skip", v);
				goto out;
			}
			ledger_set_oversell(l, policy);
		} else if ((v = opt_value(argc, argv, &i, "--fee-rate", &missing)) != NULL) {
			if (analyze_fees_fixed(&o.fees, v) != CLI_OK)
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--fee-closes", &missing)) != NULL) {
			o.fees.closes_path = v;
		} else if ((v = opt_value(argc, argv, &i, "--fee-pivot", &missing)) != NULL) {
			if (strlen(v) == 0 || strlen(v) >= FILL_CUR_MAX) {
				cli_error(CMD, CLI_USAGE, "--fee-pivot %s: not a currency code", v);
				goto out;
			}
			o.fees.pivot = v;
		} else if ((v = opt_value(argc, argv, &i, "--format", &missing)) != NULL) {
			if (strcmp(v, "json") != 0 && strcmp(v, "table") != 0) {
				cli_error(CMD, CLI_USAGE, "--format %s: expected json or table", v);
				goto out;
			}
			table = strcmp(v, "table") == 0;
		} else if ((v = opt_value(argc, argv, &i, "--marks", &missing)) != NULL) {
			o.marks = v;
		} else if ((v = opt_value(argc, argv, &i, "--flows", &missing)) != NULL) {
			o.flows = v;
		} else if ((v = opt_value(argc, argv, &i, "--benchmark", &missing)) != NULL) {
			o.benchmark = v;
		} else if ((v = opt_value(argc, argv, &i, "--quote", &missing)) != NULL) {
			o.quote = v;
		} else if ((v = opt_value(argc, argv, &i, "--capital", &missing)) != NULL) {
			if (dec_parse(v, strlen(v), &o.capital, &err) == -1) {
				cli_error(CMD, CLI_USAGE, "--capital %s: %s", v, err);
				goto out;
			}
			has_capital = 1;
		} else if ((v = opt_value(argc, argv, &i, "--periods", &missing)) != NULL) {
			if (number_opt("--periods", v, &o.params.periods) != CLI_OK)
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--risk-free", &missing)) != NULL) {
			if (number_opt("--risk-free", v, &o.params.risk_free) != CLI_OK)
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--required-return", &missing)) != NULL) {
			if (number_opt("--required-return", v, &o.params.required_return) != CLI_OK)
				goto out;
		} else if (missing) {
			cli_error(CMD, CLI_USAGE, "%s needs a value", argv[i]);
			goto out;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cli_error(CMD, CLI_USAGE, "unknown option %s (see --help)", argv[i]);
			goto out;
		} else if (path != NULL) {
			cli_error(CMD, CLI_USAGE, "one input file only (see --help)");
			goto out;
		} else
			path = argv[i];
	}
	if (path == NULL) {
		fputs(usage_text, stderr);
		goto out;
	}
	if (check_opts(&o, has_capital, path) != CLI_OK)
		goto out;
	rc = run(l, &o, path, table);
out:
	analyze_fees_clear(&o.fees);
	ledger_free(l);
	return rc;
}

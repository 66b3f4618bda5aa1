/*
 * perfagg analyze: FIFO PnL, volumes and fees from a file of fills.
 *
 * The whole input is parsed and checked before anything is applied, and the
 * report is printed only when every fill was accepted, so an error never
 * leaves a partial report on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "core/fill.h"
#include "core/ledger.h"
#include "core/report.h"
#include "util/file.h"
#include "util/xalloc.h"

#define CMD "analyze"
#define MAX_INPUT ((size_t)1 << 30)

static const char usage_text[] =
    "usage: perfagg analyze [--oversell short|zero-cost|skip] [--fee-rate CUR/QUOTE=RATE ...]\n"
    "                       [--format json|table] FILE|-\n"
    "\n"
    "FILE (- for standard input) holds ccxt unified trades: a JSON array, {\"fills\": [...]},\n"
    "or CSV with a header of the same field names (fee as fee_cost,fee_currency).\n"
    "Fills are applied per symbol in (timestamp, input position) order, FIFO, with exact decimals.\n"
    "  --oversell P        policy for a sell beyond the position, for every symbol\n"
    "                      (default: short on margin/futures, zero-cost on spot)\n"
    "  --fee-rate C/Q=R    convert fees paid in C at R units of Q per C (repeatable)\n"
    "  --format F          json (default) or table\n";

/* A parsed fill and where it came from, for sorting and error messages. */
struct item {
	struct fill f;
	size_t pos;		/* input position, 0-based */
	size_t line;		/* CSV line, or 0 for JSON */
};

struct items {
	struct item *v;
	size_t n, cap;
};

static struct item *
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
where(const struct item *i, char buf[64])
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
		struct item *e = items_push(it);
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
		struct item *e = items_push(it);
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
	const struct item *x = a, *y = b;

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

/* "BNB/USDT=300" */
static int
add_fee_rate(struct ledger *l, const char *arg)
{
	const char *slash = strchr(arg, '/'), *eq = strchr(arg, '='), *err = NULL;
	char cur[FILL_CUR_MAX], quote[FILL_CUR_MAX];
	struct dec rate;

	if (slash == NULL || eq == NULL || eq < slash || slash == arg ||
	    (size_t)(slash - arg) >= sizeof(cur) || (size_t)(eq - slash - 1) >= sizeof(quote))
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: expected CUR/QUOTE=RATE", arg);
	memcpy(cur, arg, (size_t)(slash - arg));
	cur[slash - arg] = '\0';
	memcpy(quote, slash + 1, (size_t)(eq - slash - 1));
	quote[eq - slash - 1] = '\0';
	if (dec_parse(eq + 1, strlen(eq + 1), &rate, &err) == -1)
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: rate: %s", arg, err);
	if (ledger_set_fee_rate(l, cur, quote, rate, &err) == -1)
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: %s", arg, err);
	return CLI_OK;
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

static int
run(struct ledger *l, const char *path, int table)
{
	struct items it = { NULL, 0, 0 };
	uint8_t *buf = NULL;
	size_t len = 0, k = 0;
	const char *err = NULL;
	char *out = NULL, w[64];
	json_t *rep = NULL;
	int rc;

	if ((buf = file_read_all(path, MAX_INPUT, &len, &err)) == NULL)
		return cli_error(CMD, CLI_USAGE, "%s: %s", path, err);
	while (k < len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r' || buf[k] == '\n'))
		k++;
	if (k < len && (buf[k] == '[' || buf[k] == '{'))
		rc = load_json((const char *)buf, len, &it);
	else
		rc = load_csv((const char *)buf, len, &it);
	if (rc != CLI_OK)
		goto out;
	/* the offline tool may sort; the ledger itself refuses older fills */
	if (it.n > 1)
		qsort(it.v, it.n, sizeof(*it.v), cmp_item);
	for (size_t i = 0; i < it.n; i++) {
		enum ledger_outcome o;
		if (ledger_apply(l, &it.v[i].f, &o, &err) == -1) {
			rc = cli_error(CMD, CLI_USAGE, "%s (%s): %s", where(&it.v[i], w), it.v[i].f.symbol, err);
			goto out;
		}
	}
	if (table)
		out = report_table(l, &err);
	else if ((rep = report_json(l, &err)) != NULL)
		out = json_dumps(rep, JSON_INDENT(2));
	if (out == NULL) {
		rc = cli_error(CMD, CLI_FAIL, "report: %s", err != NULL ? err : "cannot format");
		goto out;
	}
	fputs(out, stdout);
	if (!table)
		fputc('\n', stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = cli_error(CMD, CLI_FAIL, "cannot write the report");
out:
	free(out);
	json_decref(rep);
	free(it.v);
	free(buf);
	return rc;
}

int
cli_analyze(int argc, char **argv)
{
	struct ledger *l = ledger_new();
	const char *path = NULL, *v;
	enum ledger_oversell policy;
	int i, rc = CLI_USAGE, table = 0, missing = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			rc = CLI_OK;
			goto out;
		} else if ((v = opt_value(argc, argv, &i, "--oversell", &missing)) != NULL) {
			if (parse_oversell(v, &policy) == -1) {
				cli_error(CMD, CLI_USAGE, "--oversell %s: expected short, zero-cost or skip", v);
				goto out;
			}
			ledger_set_oversell(l, policy);
		} else if ((v = opt_value(argc, argv, &i, "--fee-rate", &missing)) != NULL) {
			if (add_fee_rate(l, v) != CLI_OK)
				goto out;
		} else if ((v = opt_value(argc, argv, &i, "--format", &missing)) != NULL) {
			if (strcmp(v, "json") != 0 && strcmp(v, "table") != 0) {
				cli_error(CMD, CLI_USAGE, "--format %s: expected json or table", v);
				goto out;
			}
			table = strcmp(v, "table") == 0;
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
	rc = run(l, path, table);
out:
	ledger_free(l);
	return rc;
}

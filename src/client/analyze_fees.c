/*
 * perfagg analyze: converting third-currency fees, the daemon's way. Fills
 * are applied, then ledger_resolve_fees() converts each pending fee at
 * --fee-rate (a fixed rate for a currency pair) or at the closes of the
 * fill's day from --fee-closes, crossed through --fee-pivot by the rule the
 * daemon applies to its price book (core/feerate.h): the same fills and the
 * same closes give the same figures, to the last digit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/analyze.h"
#include "client/cli.h"
#include "core/feerate.h"
#include "core/report.h"
#include "util/file.h"

#define CMD ANALYZE_CMD
#define CLOSES_MAX ((size_t)1 << 28)

int
analyze_fees_fixed(struct analyze_fees *fees, const char *arg)
{
	const char *slash = strchr(arg, '/'), *eq = strchr(arg, '='), *err = NULL;
	struct dec rate;
	size_t lc, lq;

	if (slash == NULL || eq == NULL || eq < slash || slash == arg || (lc = (size_t)(slash - arg)) >= FILL_CUR_MAX ||
	    (lq = (size_t)(eq - slash - 1)) >= FILL_CUR_MAX || lq == 0)
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: expected CUR/QUOTE=RATE", arg);
	if (dec_parse(eq + 1, strlen(eq + 1), &rate, &err) == -1)
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: rate: %s", arg, err);
	if (dec_sign(rate) <= 0)
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: the rate must be > 0", arg);
	if (fees->nfixed == ANALYZE_FIXED_MAX)
		return cli_error(CMD, CLI_USAGE, "--fee-rate %s: at most %d rates", arg, ANALYZE_FIXED_MAX);
	memcpy(fees->fixed[fees->nfixed].cur, arg, lc);
	fees->fixed[fees->nfixed].cur[lc] = '\0';
	memcpy(fees->fixed[fees->nfixed].quote, slash + 1, lq);
	fees->fixed[fees->nfixed].quote[lq] = '\0';
	fees->fixed[fees->nfixed++].rate = rate;
	return CLI_OK;
}

int
analyze_fees_load(struct analyze_fees *fees)
{
	const char *err = NULL;
	char where[MARKS_WHERE_MAX];
	uint8_t *buf;
	size_t len;

	if (fees->closes_path == NULL)
		return CLI_OK;
	if ((buf = file_read_all(fees->closes_path, CLOSES_MAX, &len, &err)) == NULL)
		return cli_error(CMD, CLI_USAGE, "--fee-closes %s: %s", fees->closes_path, err);
	fees->closes = marks_parse((const char *)buf, len, where, &err);
	free(buf);
	if (fees->closes == NULL && where[0] != '\0')
		return cli_error(CMD, CLI_USAGE, "--fee-closes %s: %s: %s", fees->closes_path, where, err);
	if (fees->closes == NULL)
		return cli_error(CMD, CLI_USAGE, "--fee-closes %s: %s", fees->closes_path, err);
	return CLI_OK;
}

void
analyze_fees_clear(struct analyze_fees *fees)
{
	marks_free(fees->closes);
	fees->closes = NULL;
}

/* The callbacks' argument (they take a void *, the fees are const). */
struct ctx {
	const struct analyze_fees *fees;
};

static const struct dec *
fixed_rate(const struct analyze_fees *fees, const char *cur, const char *quote)
{
	for (size_t i = 0; i < fees->nfixed; i++)
		if (strcmp(fees->fixed[i].cur, cur) == 0 && strcmp(fees->fixed[i].quote, quote) == 0)
			return &fees->fixed[i].rate;
	return NULL;
}

static int
file_close(void *arg, const char *symbol, int64_t day, struct dec *close)
{
	const struct analyze_fees *fees = ((struct ctx *)arg)->fees;

	return marks_price(fees->closes, symbol, day, 0, close, NULL);
}

static int
rate_of(void *arg, const char *cur, const char *quote, int64_t day, struct dec *num, struct dec *den)
{
	const struct analyze_fees *fees = ((struct ctx *)arg)->fees;
	const struct dec *r = fixed_rate(fees, cur, quote);

	if (r != NULL) {
		*num = *r;
		*den = dec_one();
		return 0;
	}
	if (fees->closes == NULL)
		return -1;
	return feerate_from_closes(fees->pivot, cur, quote, day, file_close, arg, num, den);
}

int
analyze_fees_resolve(const struct analyze_fees *fees, struct ledger *l)
{
	struct ctx c = { fees };
	const char *err = NULL;

	if (ledger_fees_pending(l) == 0)
		return CLI_OK;
	if (ledger_resolve_fees(l, rate_of, &c, NULL, &err) == -1)
		return cli_error(CMD, CLI_FAIL, "converting fees: %s", err);
	return CLI_OK;
}

static void
source_of(const void *arg, const char *cur, const char *quote, char *buf, size_t cap)
{
	const struct analyze_fees *fees = arg;
	const struct dec *r = fixed_rate(fees, cur, quote);
	char origin[300], rs[DEC_STR_MAX];

	if (r != NULL) {
		dec_format(rs, sizeof(rs), *r);
		snprintf(buf, cap, "fixed rate %s %s per %s (--fee-rate)", rs, quote, cur);
	} else if (fees->closes_path != NULL) {
		snprintf(origin, sizeof(origin), "--fee-closes %s", fees->closes_path);
		feerate_source(buf, cap, fees->pivot, cur, quote, origin);
	} else
		snprintf(buf, cap, "none: no --fee-rate %s/%s and no --fee-closes", cur, quote);
}

json_t *
analyze_fees_json(const struct analyze_fees *fees, const struct ledger *l)
{
	return report_fees_json(l, source_of, fees);
}

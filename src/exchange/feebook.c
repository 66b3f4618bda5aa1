#include "exchange/feebook.h"

#include <stdio.h>
#include <string.h>

#include "core/feerate.h"

/*
 * What each connector puts in the price book for valuing balances: Binance
 * <asset>USDT, Coinbase <CUR>-USD, Kraken <asset>/USD (exchange facts; to
 * move into the connectors with the exchange.h rework). Kraken Futures
 * fetches no closes.
 */
static const struct {
	const char *exchange, *pivot;
} pivots[] = {
	{ "binance", "USDT" },
	{ "coinbase", "USD" },
	{ "kraken", "USD" },
};

const char *
feebook_pivot(const char *exchange)
{
	for (size_t i = 0; i < sizeof(pivots) / sizeof(pivots[0]); i++)
		if (strcmp(pivots[i].exchange, exchange) == 0)
			return pivots[i].pivot;
	return NULL;
}

struct ctx {
	struct pricebook *book;
	const char *exchange, *pivot;
};

static int
final_close(void *arg, const char *symbol, int64_t day, struct dec *close)
{
	const struct ctx *c = arg;

	return pricebook_close_final(c->book, c->exchange, symbol, day, close);
}

static int
rate(void *arg, const char *cur, const char *quote, int64_t day, struct dec *num, struct dec *den)
{
	struct ctx *c = arg;

	return feerate_from_closes(c->pivot, cur, quote, day, final_close, c, num, den);
}

int
feebook_resolve(struct ledger *l, struct pricebook *b, const char *exchange, const char **errstr)
{
	struct ctx c = { b, exchange, feebook_pivot(exchange) };

	if (c.pivot == NULL || ledger_fees_pending(l) == 0)
		return 0;
	return ledger_resolve_fees(l, rate, &c, NULL, errstr);
}

void
feebook_source(const void *arg, const char *currency, const char *quote, char *buf, size_t cap)
{
	const char *exchange = arg, *pivot = feebook_pivot(exchange);

	if (pivot == NULL)
		snprintf(buf, cap, "none: %s has no daily closes to convert %s fees", exchange, currency);
	else
		feerate_source(buf, cap, pivot, currency, quote, exchange);
}

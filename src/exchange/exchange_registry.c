/* The connector registry: every exchange_ops, found by name. */
#include <stddef.h>
#include <string.h>

#include "exchange/exchange.h"

static const struct exchange_ops *const registry[] = {
	&exchange_binance,
	&exchange_coinbase,
	&exchange_kraken,
	&exchange_krakenfutures,
};

const struct exchange_ops *
exchange_find(const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

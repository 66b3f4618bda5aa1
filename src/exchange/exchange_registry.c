/* The connector registry: every exchange_ops, found by name. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "exchange/exchange.h"

static const struct exchange_ops *const registry[] = {
	&exchange_binance,
	&exchange_coinbase,
	&exchange_kraken,
	&exchange_krakenfutures,
};

const struct exchange_ops *
exchange_at(size_t i)
{
	return i < sizeof(registry) / sizeof(registry[0]) ? registry[i] : NULL;
}

const char *
exchange_names(void)
{
	static char names[128];

	/* Built once from the registry; the poller and the HTTP threads only
	 * read it, and the first call happens at start-up (config checks). */
	if (names[0] == '\0') {
		size_t off = 0;
		for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i > 0 ? ", " : "",
			    registry[i]->name);
	}
	return names;
}

const struct exchange_ops *
exchange_find(const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

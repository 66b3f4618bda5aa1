/* The connector registry: exchange_find() over every connector built in. */
#include <stddef.h>
#include <string.h>

#include "exchange/exchange.h"

/* Each connector branch adds its own line here when it lands. */
static const struct exchange_ops *const registry[] = {
	&exchange_binance,
};

const struct exchange_ops *
exchange_find(const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

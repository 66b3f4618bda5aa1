/* The connector registry. */
#include <string.h>

#include "exchange/exchange.h"

static const struct exchange_ops *const all[] = {
	&exchange_kraken,
	&exchange_krakenfutures,
};

const struct exchange_ops *
exchange_find(const char *name)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

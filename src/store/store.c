#include "store/store.h"

#include <string.h>

static const struct store_ops *const backends[] = { &store_sqlite };

const struct store_ops *
store_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/*
 * exsim_venue: the venue registry (every simulated exchange, found by name
 * or by URL), and what the shared code derives from a venue alone.
 */
#include <stddef.h>
#include <string.h>

#include "exsim/exsim_venue.h"

/*
 * The registry: one line per venue, each defined at the end of its
 * sim_<venue>.c. The order is the order of the world's accounts (a new
 * venue appends, or every existing world's account indices move).
 */
#define EXSIM_VENUES(X) \
	X(sim_binance_venue) \
	X(sim_coinbase_venue) \
	X(sim_kraken_venue) \
	X(sim_krakenfutures_venue)

#define DECLARE(v) extern const struct exsim_venue v;
EXSIM_VENUES(DECLARE)
#undef DECLARE

#define ENTRY(v) &v,
static const struct exsim_venue *const registry[] = { EXSIM_VENUES(ENTRY) };
#undef ENTRY
#define NVENUES (sizeof(registry) / sizeof(registry[0]))

const struct exsim_venue *
exsim_venue_at(size_t i)
{
	return i < NVENUES ? registry[i] : NULL;
}

const struct exsim_venue *
exsim_venue_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < NVENUES; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const struct exsim_venue *
exsim_venue_of_path(const char *path)
{
	const struct exsim_venue *best = NULL;
	size_t bestlen = 0;

	for (size_t i = 0; i < NVENUES; i++)
		for (const char *const *p = registry[i]->prefixes; *p != NULL; p++) {
			size_t n = strlen(*p);
			if (n > bestlen && strncmp(path, *p, n) == 0) {
				best = registry[i];
				bestlen = n;
			}
		}
	return best;
}

bool
exsim_venue_mixed(const struct exsim_venue *v)
{
	bool fut = false, other = false;

	for (size_t m = 0; m < v->nmarkets; m++) {
		fut = fut || v->markets[m].market == FILL_FUTURES;
		other = other || v->markets[m].market != FILL_FUTURES;
	}
	return fut && other;
}

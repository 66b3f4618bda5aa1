#include "core/feerate.h"

#include <stdio.h>
#include <string.h>

#include "core/fill.h"

/* The close of cur/pivot on day (1 for the pivot itself). */
static int
close_in_pivot(const char *pivot, const char *cur, int64_t day, feerate_close_fn close, void *arg,
    struct dec *out)
{
	char sym[2 * FILL_CUR_MAX + 1];

	if (strcmp(cur, pivot) == 0) {
		*out = dec_one();
		return 0;
	}
	if ((size_t)snprintf(sym, sizeof(sym), "%s/%s", cur, pivot) >= sizeof(sym))
		return -1;
	if (close(arg, sym, day, out) != 0 || dec_sign(*out) <= 0)
		return -1;
	return 0;
}

int
feerate_from_closes(const char *pivot, const char *cur, const char *quote, int64_t day,
    feerate_close_fn close, void *arg, struct dec *num, struct dec *den)
{
	if (close_in_pivot(pivot, cur, day, close, arg, num) != 0 ||
	    close_in_pivot(pivot, quote, day, close, arg, den) != 0)
		return -1;
	return 0;
}

void
feerate_source(char *buf, size_t cap, const char *pivot, const char *cur, const char *quote,
    const char *origin)
{
	if (strcmp(quote, pivot) == 0)
		snprintf(buf, cap, "daily close %s/%s of the fill's UTC day, %s", cur, pivot, origin);
	else if (strcmp(cur, pivot) == 0)
		snprintf(buf, cap, "1 / daily close %s/%s of the fill's UTC day, %s", quote, pivot, origin);
	else
		snprintf(buf, cap, "daily closes %s/%s / %s/%s of the fill's UTC day (cross via %s), %s", cur,
		    pivot, quote, pivot, pivot, origin);
}

#include "exchange/budget.h"

#include <math.h>
#include <stddef.h>

void
budget_set(struct budget *b, double cap, double per_s)
{
	b->cap = cap;
	b->rate = per_s / 1000.0;
}

static void
refill(struct budget *b, int64_t now)
{
	if (b->at_ms == 0) {
		b->tokens = b->cap;
		b->at_ms = now;
	}
	if (now > b->at_ms) {
		b->tokens += (double)(now - b->at_ms) * b->rate;
		if (b->tokens > b->cap)
			b->tokens = b->cap;
		b->at_ms = now;
	}
}

int64_t
budget_blocked(const struct budget *b, int64_t now)
{
	return b != NULL && b->blocked_until > now ? b->blocked_until - now : 0;
}

int64_t
budget_reserve(struct budget *b, double w, int64_t now)
{
	if (b == NULL || b->cap <= 0)
		return 0;
	refill(b, now);
	if (w > b->cap)
		w = b->cap;
	b->tokens -= w;
	if (b->tokens >= 0)
		return 0;
	/* +1: the slot is the first whole ms at which the debt is repaid. */
	return (int64_t)ceil(-b->tokens / b->rate) + 1;
}

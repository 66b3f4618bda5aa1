/*
 * budget: a token bucket pacing requests to an exchange (per API key or per
 * egress IP), with the pauses the exchange imposes, and reservations so that
 * requests waiting on one bucket queue in order.
 *
 * Capacity cap tokens, refilled at rate tokens per ms; full at first use.
 * Times are monotonic ms. Not thread-safe (the poller thread owns them).
 */
#ifndef PERFAGG_EXCHANGE_BUDGET_H
#define PERFAGG_EXCHANGE_BUDGET_H

#include <stdint.h>

struct budget {
	double tokens, cap, rate;
	int64_t at_ms;			/* last refill; 0 = never used */
	int64_t blocked_until;		/* a pause the exchange imposed (429 Retry-After, 418) */
};

/* Sets cap and rate (per second), keeping the tokens. */
void budget_set(struct budget *b, double cap, double per_s);

/* The pause left on b at now, in ms; 0 if none (also for b == NULL). */
int64_t budget_blocked(const struct budget *b, int64_t now);

/*
 * Takes w tokens (at most cap) at now. When there are not enough it takes
 * them anyway, the bucket going into debt, and returns the ms until the debt
 * is repaid: the caller sends then without asking again. Waiting callers thus
 * get successive slots, each woken once, instead of all retrying whenever a
 * few tokens come back. Returns 0 when the tokens were there (and for
 * b == NULL or cap <= 0: no limit).
 */
int64_t budget_reserve(struct budget *b, double w, int64_t now);

#endif

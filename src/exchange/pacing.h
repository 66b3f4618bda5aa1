/*
 * pacing: the exchanges' rate pools (exchange.h, struct xpool) as token
 * buckets (exchange/budget.h) shared by every session that draws on them:
 * a per-IP pool by every session of its exchange, a per-key pool by the
 * sessions of one API key. The poller binds each session to its pools once
 * and asks, per request, how long to wait.
 *
 * Not thread-safe: the poller thread owns it.
 */
#ifndef PERFAGG_EXCHANGE_PACING_H
#define PERFAGG_EXCHANGE_PACING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange/budget.h"
#include "exchange/exchange.h"

struct pacing;

/* The budgets of one session's pools, by pool index (NULL: not paced). */
struct pacing_set {
	struct budget *b[XPOOL_MAX];
	size_t n;
};

/* ip_pools / key_pools: whether per-IP and per-key pools are honoured (off
 * only for load tests against a local simulator). Never NULL. */
struct pacing *pacing_new(bool ip_pools, bool key_pools);
/* Frees every budget. NULL is a no-op. */
void pacing_free(struct pacing *pc);

/*
 * Binds out to the budgets of pools[0..n) of exchange; key_hash identifies
 * the API key (a hash of it, never the key). A budget is created on first
 * use; a per-key pool is the same budget for every session of one key with
 * the same pool name and limits. The budgets stay owned by pc.
 */
void pacing_bind(struct pacing *pc, const char *exchange, const struct xpool *pools, size_t n,
    const uint8_t key_hash[32], struct pacing_set *out);

/* The pause the exchange imposed on pool, left at now (ms); 0 if none. */
int64_t pacing_blocked(const struct pacing_set *s, unsigned pool, int64_t now);

/* Reserves weight w on pool at now: 0 if it may go now, else the ms until
 * its slot (the caller sends then without asking again). */
int64_t pacing_reserve(const struct pacing_set *s, unsigned pool, double w, int64_t now);

/* The exchange said slow down (429 Retry-After, 418): nobody sharing pool
 * sends before until. */
void pacing_block(const struct pacing_set *s, unsigned pool, int64_t until);

#endif

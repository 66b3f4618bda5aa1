/*
 * pricebook: daily closes shared by every session of the poller. A public
 * close is the same for every account of an exchange, so it is kept once,
 * keyed by (exchange, unified symbol), as days ascending with one close per
 * day (a later close for the same day replaces it: the running day's candle
 * moves until the day ends).
 * THREAD SAFETY: every function may be called from any thread (one mutex).
 */
#ifndef PERFAGG_EXCHANGE_PRICEBOOK_H
#define PERFAGG_EXCHANGE_PRICEBOOK_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"

struct pricebook;

/* A new empty book; never NULL. */
struct pricebook *pricebook_new(void);
/* Frees b; NULL is a no-op. */
void pricebook_free(struct pricebook *b);

/* Records the close of symbol on exchange for the UTC day starting at
 * day_ms (any ms of the day is taken as that day). Returns 0, or -1 with
 * *errstr (a name too long, a non-positive close). */
int pricebook_put(struct pricebook *b, const char *exchange, const char *symbol, int64_t day_ms, struct dec close,
    const char **errstr);

/* The close of symbol on exchange for day (days since the epoch), or the
 * latest one before it (carry). Returns 0 and *close, or -1 when there is
 * none on or before day. */
int pricebook_close(struct pricebook *b, const char *exchange, const char *symbol, int64_t day, struct dec *close);

/* How many series and closes the book holds (for /metrics and estimates). */
void pricebook_size(struct pricebook *b, size_t *series, size_t *closes);

#endif

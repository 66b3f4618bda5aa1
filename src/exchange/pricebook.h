/*
 * pricebook: daily closes shared by every session of the poller. A public
 * close is the same for every account of an exchange, so it is kept once,
 * keyed by (exchange, unified symbol), as days ascending with one close per
 * day (a later close for the same day replaces it: the running day's candle
 * moves until the day ends). A close is final when it was recorded at least
 * PRICEBOOK_FINAL_AFTER_MS after its day ended (the exchange's candle for
 * that day was closed when it was fetched): only final closes convert fees
 * (exchange/feebook.h), since a running day's close still moves.
 * THREAD SAFETY: every function may be called from any thread (one mutex).
 */
#ifndef PERFAGG_EXCHANGE_PRICEBOOK_H
#define PERFAGG_EXCHANGE_PRICEBOOK_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"

/* Margin past the end of a day before a close fetched then counts as the
 * day's final one (clocks differ a little between us and the exchange). */
#define PRICEBOOK_FINAL_AFTER_MS (2 * 60 * 1000LL)

struct pricebook;

/* A new empty book; never NULL. */
struct pricebook *pricebook_new(void);
/* Frees b; NULL is a no-op. */
void pricebook_free(struct pricebook *b);

/* Records the close of symbol on exchange for the UTC day starting at
 * day_ms (any ms of the day is taken as that day), fetched now (wall
 * clock). Returns 0, or -1 with *errstr (a name too long, a non-positive
 * close). */
int pricebook_put(struct pricebook *b, const char *exchange, const char *symbol, int64_t day_ms, struct dec close,
    const char **errstr);
/* As pricebook_put, fetched at seen_ms (wall clock): final when seen_ms is
 * PRICEBOOK_FINAL_AFTER_MS past the day's end. A later put replaces the
 * close; a final close stays final. */
int pricebook_put_at(struct pricebook *b, const char *exchange, const char *symbol, int64_t day_ms,
    struct dec close, int64_t seen_ms, const char **errstr);

/* The close of symbol on exchange for day (days since the epoch), or the
 * latest one before it (carry). Returns 0 and *close, or -1 when there is
 * none on or before day. */
int pricebook_close(struct pricebook *b, const char *exchange, const char *symbol, int64_t day, struct dec *close);

/* The final close of symbol on exchange for day itself (no carry).
 * Returns 0 and *close, or -1 when there is none (yet). */
int pricebook_close_final(struct pricebook *b, const char *exchange, const char *symbol, int64_t day,
    struct dec *close);

/* How many series and closes the book holds (for /metrics and estimates). */
void pricebook_size(struct pricebook *b, size_t *series, size_t *closes);

#endif

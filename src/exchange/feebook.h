/*
 * feebook: a session's third-currency fees (BNB on Binance) converted from
 * the shared price book: at the final daily close of the fill's UTC day,
 * in the currency the exchange's closes are quoted in, crossed through it
 * for other quote currencies (core/feerate.h). perfagg analyze applies the
 * same rule to a closes file (client/analyze_fees.c).
 */
#ifndef PERFAGG_EXCHANGE_FEEBOOK_H
#define PERFAGG_EXCHANGE_FEEBOOK_H

#include <stddef.h>

#include "core/ledger.h"
#include "exchange/pricebook.h"

/* The currency exchange's <asset> closes are quoted in ("USDT" for
 * Binance), or NULL when its connector fetches none. */
const char *feebook_pivot(const char *exchange);

/* Converts every pending fee of l whose day has final closes in b
 * (ledger_resolve_fees). The caller holds l's lock. Returns 0, or -1 with
 * *errstr. */
int feebook_resolve(struct ledger *l, struct pricebook *b, const char *exchange, const char **errstr);

/* Describes the rate of fees in currency on fills quoted in quote, for the
 * results documents (a report_source_fn; arg is the exchange name). */
void feebook_source(const void *arg, const char *currency, const char *quote, char *buf, size_t cap);

#endif

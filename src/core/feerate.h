/*
 * feerate: the rate converting a third-currency fee (BNB on Binance), from
 * daily closes. The daemon (its price book) and `perfagg analyze` (a closes
 * file) both go through it, so the same closes give the same rates, and the
 * same figures (docs/ANALYTICS.md section 2).
 *
 * A fee in CUR paid by a fill quoted in QUOTE on the UTC day D is converted
 * at the closes of day D itself (never an earlier day's), in the currency
 * PIVOT the closes are quoted in (USDT for Binance's <asset>USDT series):
 *	QUOTE = PIVOT:	1 CUR = close(CUR/PIVOT, D) QUOTE
 *	CUR = PIVOT:	1 CUR = 1 / close(QUOTE/PIVOT, D) QUOTE
 *	otherwise:	1 CUR = close(CUR/PIVOT, D) / close(QUOTE/PIVOT, D) QUOTE
 *			(a cross through PIVOT, both closes of day D)
 * The rate is returned as num / den so that the ledger rounds once
 * (fee * num / den), never the rate itself. A missing close leaves the fee
 * pending. The rule is fixed (the direct CUR/QUOTE series is not tried
 * first) so that it never depends on which series happen to be known.
 */
#ifndef PERFAGG_CORE_FEERATE_H
#define PERFAGG_CORE_FEERATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"

/* The close of symbol ("BNB/USDT") for day (days since the epoch), that day
 * only. Returns 0 with *close > 0, or -1 when there is none. */
typedef int (*feerate_close_fn)(void *arg, const char *symbol, int64_t day, struct dec *close);

/* The rate of a fee in cur on a fill quoted in quote on day (rule above).
 * Returns 0 with *num, *den > 0, or -1 when a close is missing. */
int feerate_from_closes(const char *pivot, const char *cur, const char *quote, int64_t day,
    feerate_close_fn close, void *arg, struct dec *num, struct dec *den);

/* Writes into buf (cap bytes) what the rate of cur in quote is made of:
 * "daily close BNB/USDT of the fill's UTC day, <origin>", or "daily closes
 * BNB/USDT / BTC/USDT of the fill's UTC day (cross via USDT), <origin>". */
void feerate_source(char *buf, size_t cap, const char *pivot, const char *cur, const char *quote,
    const char *origin);

#endif

/*
 * ledger: exact FIFO accounting of fills, per symbol, per quote currency and
 * per UTC hour (conventions: shared/reference/metrics.md section 4).
 *
 * Incremental: apply one fill at a time (ledger_apply), read results at any
 * time. A fill is not kept after it is applied: memory is O(open lots +
 * symbols + quote currencies + hourly buckets + fill ids sharing a symbol's
 * latest millisecond).
 *
 * Conventions (all amounts exact decimals):
 * - Lots. Per symbol the position is a FIFO queue of lots, all long or all
 *   short. A long lot holds (qty, cost), a short lot (qty, proceeds). Taking
 *   part of a lot releases value*take/qty (dec_muldiv, one rounding); the
 *   take that empties a lot releases its exact remainder. Likewise the value
 *   of a fill is spread over the lots it closes pro rata, the last part
 *   getting the exact remainder, so nothing is lost to rounding.
 * - Fees. quote fee F: a buy's value is cost + F, a sell's proceeds are
 *   cost - F. base fee B: a buy adds amount - B to the position, a sell takes
 *   amount + B from it (value unchanged). Any other currency X is converted
 *   with the rate set by ledger_set_fee_rate(X, QUOTE) (fee*rate) and then
 *   treated as a quote fee; without a rate it is reported in
 *   fees_unconverted and left out of PnL. Negative fees (rebates) work the
 *   same way. fees[] holds the raw sums per currency; fees_quote = quote fees
 *   + converted fees + base fees * fill price (informational).
 * - cost: the exchange's cost (quote quantity) wins over price*amount.
 * - Oversell (a sell beyond the long position): SHORT opens a short lot that
 *   later buys cover FIFO; ZERO_COST realizes the excess against zero cost
 *   and counts it in unmatched_sell_qty (rotki); SKIP ignores the excess
 *   (no PnL, no lot) and counts it in unmatched_sell_qty. Default: SHORT for
 *   margin and futures, ZERO_COST for spot, by the market type of a symbol's
 *   first fill; ledger_set_oversell() overrides it for every symbol.
 * - Realized PnL: long close = proceeds part - lot cost; short cover = lot
 *   proceeds - cost part. closed_basis = cost of closed long lots + proceeds
 *   of closed short lots. A fill that closes anything (or realizes at zero
 *   cost) is one round trip: a win if its realized PnL > 0, a loss if < 0.
 * - volume_base = sum of amount, volume_quote = sum of cost, both sides.
 * - Idempotency and order, per symbol: fills must come in non-decreasing
 *   timestamp order. The ledger remembers the last timestamp and the ids
 *   applied at that millisecond: a fill with that timestamp and one of those
 *   ids is a duplicate (ignored, counted); a fill older than the last
 *   timestamp is stale (refused, counted, never merged). Several fills in
 *   the same millisecond may come in any id order. A fill without an id
 *   cannot be recognized as a duplicate.
 * - Overflow (beyond ~1.7e20) while applying a fill is reported; that symbol
 *   then refuses further fills, because its lots may be half updated.
 * - Totals are per quote currency, without FX conversion; their base
 *   quantities (volume_base, open quantities) are plain sums over symbols.
 * - Amounts are taken as base quantities (a contract size of 1).
 */
#ifndef PERFAGG_CORE_LEDGER_H
#define PERFAGG_CORE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/fill.h"

enum ledger_oversell {
	LEDGER_OVERSELL_DEFAULT,	/* by market type */
	LEDGER_OVERSELL_SHORT,
	LEDGER_OVERSELL_ZERO_COST,
	LEDGER_OVERSELL_SKIP
};

enum ledger_outcome {
	LEDGER_APPLIED,
	LEDGER_DUPLICATE,	/* same timestamp and id as an applied fill: ignored */
	LEDGER_STALE		/* older than the symbol's last fill: refused */
};

struct ledger_amount {
	char currency[FILL_CUR_MAX];
	struct dec amount;
};

/* Results for one symbol or one quote currency. Pointers stay valid until
 * the next ledger_apply() or ledger_free(). */
struct ledger_stats {
	const char *name;		/* "BTC/USDT", or "USDT" for totals */
	const char *quote;
	struct dec realized_pnl;
	struct dec closed_basis;
	struct dec volume_base;
	struct dec volume_quote;
	struct dec fees_quote;
	struct dec gross_win;		/* sum of winning round trips' PnL (>= 0) */
	struct dec gross_loss;		/* sum of losing round trips' PnL (<= 0) */
	struct dec open_long_qty;
	struct dec open_long_cost;
	struct dec open_short_qty;
	struct dec open_short_proceeds;
	struct dec unmatched_sell_qty;
	uint64_t trades;		/* fills applied */
	uint64_t wins, losses;		/* round trips */
	uint64_t duplicates, stale;
	int64_t first_fill, last_fill;	/* ms; meaningful when trades > 0 */
	const struct ledger_amount *fees;	/* raw sums per currency */
	size_t nfees;
	const struct ledger_amount *fees_unconverted;
	size_t nfees_unconverted;
};

/* One UTC hour of one quote currency. */
struct ledger_bucket {
	int64_t hour;			/* ms at the start of the hour */
	const char *quote;
	uint64_t trades;
	struct dec volume_base;
	struct dec volume_quote;
	struct dec fees_quote;
	struct dec realized_pnl;
	struct dec closed_basis;
};

/* A new empty ledger (caller frees with ledger_free()). */
struct ledger *ledger_new(void);
void ledger_free(struct ledger *l);

/* Overrides the oversell policy for every symbol, including those already
 * seen; LEDGER_OVERSELL_DEFAULT restores the per-market default. */
void ledger_set_oversell(struct ledger *l, enum ledger_oversell policy);

/* Sets the rate converting fees in currency into quote (1 currency = rate
 * quote), replacing an earlier one. Returns 0, or -1 with *errstr. */
int ledger_set_fee_rate(struct ledger *l, const char *currency, const char *quote,
    struct dec rate, const char **errstr);

/*
 * Applies fill f (not retained). Returns 0 with *outcome set, or -1 with
 * *errstr set (invalid fill, overflow, or a symbol broken by an earlier
 * overflow); on -1 nothing was counted.
 */
int ledger_apply(struct ledger *l, const struct fill *f, enum ledger_outcome *outcome,
    const char **errstr);

/* Symbols in first-seen order: 0 <= i < ledger_nsymbols(). */
size_t ledger_nsymbols(const struct ledger *l);
void ledger_symbol_stats(const struct ledger *l, size_t i, struct ledger_stats *out);

/* Quote currencies in first-seen order. Returns 0, or -1 if summing the
 * open positions overflows. */
size_t ledger_nquotes(const struct ledger *l);
int ledger_quote_stats(const struct ledger *l, size_t i, struct ledger_stats *out);

/* Hourly buckets ordered by (hour, quote currency first-seen order). */
size_t ledger_nbuckets(const struct ledger *l);
void ledger_bucket(const struct ledger *l, size_t i, struct ledger_bucket *out);

/*
 * Unrealized PnL of symbol's open position at price: long qty*price - cost,
 * short proceeds - qty*price; 0 for an unknown symbol or a flat position.
 * Returns 0, or -1 on overflow.
 */
int ledger_mark(const struct ledger *l, const char *symbol, struct dec price, struct dec *unrealized);

#endif

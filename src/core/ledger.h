/*
 * ledger: exact FIFO accounting of fills, per symbol, per quote currency and
 * per UTC hour (conventions: shared/reference/metrics.md section 4).
 *
 * Incremental: apply one fill at a time (ledger_apply), read results at any
 * time. A fill is not kept after it is applied: memory is O(open lots +
 * symbols + quote currencies + hourly buckets + fill ids sharing a symbol's
 * latest millisecond + third-currency fees that are pending or on an open
 * lot + parts of pending fees already released by closes).
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
 *   amount + B from it (value unchanged). Negative fees (rebates) work the
 *   same way. fees[] holds the raw sums per currency; fees_quote = quote fees
 *   + converted third-currency fees + base fees * fill price (informational).
 * - Third-currency fees (X neither base nor quote, e.g. BNB): converted at
 *   the rate of the fill's UTC day and then handled like a quote fee, but
 *   the rate may not be known when the fill is applied (the day's close is
 *   fetched later, or the day has not ended). So ledger_apply() records the
 *   fee as pending, split in X units where it goes: the parts of the fill's
 *   value spent on the lots it closes (pro rata, exact remainder last) and
 *   the new lot it opens, whose part is released pro rata by later closes.
 *   ledger_resolve_fees() later asks a rate for each pending fee and
 *   converts every part: with C(x) = x * num / den rounded once, a part
 *   [a, b] of the fee (cumulative X units) is worth C(b) - C(a), so the
 *   parts add up to exactly C(fee), and since the split is made in X units
 *   when the fill is applied, the results do not depend on when (or how
 *   often) fees are resolved: apply-then-resolve gives the same figures,
 *   to the last digit, whether resolving after every fill or once at the
 *   end. A converted part reduces realized PnL and moves closed_basis and
 *   the open cost like a quote fee would. Until its fee is converted, a
 *   part is left out: realized PnL, closed_basis, fees_quote and the open
 *   cost exclude pending fees (fees_unconverted lists them; fees_pending
 *   counts them), and a round trip with a pending part counts in neither
 *   wins nor losses (trips_pending) until it is complete.
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

struct pack;
struct unpack;

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
	const struct ledger_amount *fees_unconverted;	/* pending third-currency fees */
	size_t nfees_unconverted;
	uint64_t fees_pending;		/* third-currency fees not converted yet */
	uint64_t trips_pending;		/* round trips waiting for them (not in wins/losses) */
};

/* The third-currency fees paid in currency on symbols quoted in quote. */
struct ledger_conversion {
	const char *currency;
	const char *quote;
	struct dec total;		/* every such fee, in currency */
	struct dec converted;		/* the part converted, in currency */
	struct dec converted_quote;	/* its value in quote */
	struct dec pending;		/* the part not converted yet, in currency */
	uint64_t fills, pending_fills;
	int64_t pending_first, pending_last;	/* ms of the pending fills, when pending_fills > 0 */
};

/*
 * The rate of a third-currency fee paid on day (days since the epoch) by a
 * fill quoted in quote: 1 currency = num / den quote (a direct close: den =
 * 1; a cross through another currency: the two closes). Returns 0 with num,
 * den > 0, or -1 when the rate is not known (yet).
 */
typedef int (*ledger_rate_fn)(void *arg, const char *currency, const char *quote, int64_t day,
    struct dec *num, struct dec *den);

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

/*
 * Converts every pending third-currency fee whose rate rate() knows (see
 * Fees above): each fee is asked once, and a converted fee is final.
 * *converted (may be NULL) gets how many fees were converted. Returns 0, or
 * -1 with *errstr when a conversion overflows or rate() gives a rate <= 0
 * (that fee stays pending; its symbol refuses further fills on overflow).
 */
int ledger_resolve_fees(struct ledger *l, ledger_rate_fn rate, void *arg, size_t *converted,
    const char **errstr);

/* How many third-currency fees are pending (0: nothing waits for a rate). */
uint64_t ledger_fees_pending(const struct ledger *l);

/* Conversions by (currency, quote) in first-seen order:
 * 0 <= i < ledger_nconversions(). Strings live as long as l. */
size_t ledger_nconversions(const struct ledger *l);
void ledger_conversion(const struct ledger *l, size_t i, struct ledger_conversion *out);

/*
 * Applies fill f (not retained); its third-currency fees become pending.
 * Returns 0 with *outcome set, or -1 with *errstr set (invalid fill,
 * overflow, or a symbol broken by an earlier overflow); on -1 nothing was
 * counted.
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

/*
 * Checkpoints (core/pack.h). ledger_save() appends l's complete state to w
 * (a version byte first): the oversell policy, every symbol with its lots
 * in FIFO order, its idempotency cursor and its totals, the quote totals,
 * the hourly buckets, and the third-currency fee records (pending fees,
 * their parts and round trips, with the slots' free lists verbatim), so a
 * loaded ledger goes on exactly as l would have: same results, same save.
 * Capacities and lookup caches are not saved.
 *
 * ledger_load() reads what ledger_save() wrote from r's position (other
 * sections may follow: it does not require r to be at its end) and returns
 * a new ledger (caller frees with ledger_free()), or NULL with *errstr
 * (static) when the version is unknown or the bytes are truncated or
 * inconsistent: every index, count, string, free list and fee chain is
 * checked, so a damaged buffer is refused, never followed. On NULL, r is
 * bad and nothing is leaked.
 */
void ledger_save(const struct ledger *l, struct pack *w);
struct ledger *ledger_load(struct unpack *r, const char **errstr);

#endif

/*
 * report: ledger results as JSON (the `perfagg analyze` contract of issue 3)
 * and as a readable text table.
 *
 * JSON shape:
 *	{"symbols": {"BTC/USDT": S, ...},	sorted by symbol
 *	 "totals": {"USDT": S, ...},		sorted by quote currency
 *	 "hourly": [H, ...]}			by (hour, quote currency)
 * S = {quote, realized_pnl, closed_basis, return_pct, volume_base,
 *	volume_quote, fees: {CUR: amount}, fees_quote, fees_unconverted:
 *	{CUR: amount}, fees_pending, trips_pending, trades, wins, losses, win_rate, avg_win, avg_loss,
 *	profit_factor, open_long_qty, open_long_cost, open_long_avg_price,
 *	open_short_qty, open_short_proceeds, open_short_avg_price,
 *	unmatched_sell_qty, first_fill, last_fill, duplicates, stale}
 * H = {t, quote, trades, volume_base, volume_quote, fees_quote,
 *	realized_pnl, closed_basis, return_pct}
 *
 * Symbols and quote currencies without any applied fill (every fill of
 * theirs failed inside the ledger) are left out.
 * Money and quantities are JSON strings of exact decimals (dec_format).
 * Counts are JSON integers; times are ISO 8601 UTC strings ("...000Z").
 * Derived values are decimal strings rounded once, half to even, to 18
 * places, or null when undefined:
 *	return_pct = 100 * realized_pnl / closed_basis	(null if basis 0)
 *	win_rate = wins / (wins + losses)		(null if no round trip)
 *	avg_win = gross_win / wins, avg_loss = gross_loss / losses (negative)
 *	profit_factor = gross_win / |gross_loss|	(null if no loss)
 *	open_*_avg_price = cost (or proceeds) / qty	(null if flat)
 *	first_fill, last_fill				(null if no trade)
 */
#ifndef PERFAGG_CORE_REPORT_H
#define PERFAGG_CORE_REPORT_H

#include <jansson.h>

#include "core/ledger.h"

/* The JSON object for one symbol or total (shape S above). Returns a new
 * reference, or NULL with *errstr set when a derived value overflows. */
/* The exact text of d as a JSON string (a new reference). */
json_t *report_dec_json(struct dec d);

json_t *report_stats_json(const struct ledger_stats *st, const char **errstr);

/* The whole report (shape above). New reference, or NULL with *errstr. */
json_t *report_json(const struct ledger *l, const char **errstr);

/* A readable fixed-width table of the same results (derived values rounded
 * to 4 places for display only). Returns a string the caller frees, or NULL
 * with *errstr. */
char *report_table(const struct ledger *l, const char **errstr);

/* Describes in buf (cap bytes) the rate that converts fees paid in
 * currency into quote ("daily close BNB/USDT of the fill's UTC day, ..."). */
typedef void (*report_source_fn)(const void *arg, const char *currency, const char *quote, char *buf, size_t cap);

/*
 * The "fee_conversion" section: how third-currency fees were converted and
 * what is still pending (a new reference):
 *	{rule, complete, pending_fees, currencies: [{currency, quote, fees,
 *	 fills, converted, converted_quote, source, pending, pending_fills,
 *	 pending_first_fill, pending_last_fill}], note (when pending)}
 * fees, converted and pending are in currency; converted_quote in quote.
 */
json_t *report_fees_json(const struct ledger *l, report_source_fn source, const void *arg);

#endif

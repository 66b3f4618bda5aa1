/*
 * holdings: what an account holds, per currency and per UTC day, built from
 * order-independent aggregates so that fills may arrive in any order (the
 * connectors walk one symbol's whole history, then the next). No I/O.
 *
 * Kept per account:
 *  - per currency, per day with activity (sparse: only days with a change),
 *    the net change of the balance from the fills and flows applied:
 *    spot and margin: a buy adds amount of base and takes cost of quote, a
 *    sell the opposite; futures (the cash view): the position "currency" is
 *    the unified symbol ("BTC/USDT:USDT") with +-amount, and cost moves the
 *    settle currency (after ':', else the quote) the other way; every fee
 *    takes its cost in its currency;
 *  - external flows (deposit > 0, withdrawal < 0) by id: an id seen again is
 *    ignored (connectors re-read overlapping windows); a flow also adds to
 *    its day's net change;
 *  - futures funding payments (received > 0, paid < 0) by id, the same way:
 *    P&L that is neither a fill nor a flow. A payment adds to its currency's
 *    day's net change (so balances and equity include it) but is not a flow
 *    (holdings_flows_on leaves it out, so returns count it as P&L), and is
 *    totalled per (position symbol, currency);
 *  - the latest complete balance snapshot (currency -> total) and when it
 *    was taken. Balances are staged between holdings_balances_begin() and
 *    holdings_balances_commit(): a currency absent from the new snapshot is
 *    gone; holdings_balances_abort() keeps the previous one.
 *  - once a snapshot exists, the changes timestamped after it (a short log,
 *    trimmed at each commit), so the balance at the end of today is the
 *    snapshot plus what happened since.
 *
 * The balance at the end of day d is then found backwards from today:
 *	bal_c(end of today) = snapshot_c + changes_c after the snapshot,
 *	bal_c(end of d - 1) = bal_c(end of d) - net_c(d).
 * Days are days since the Unix epoch (UTC).
 */
#ifndef PERFAGG_CORE_HOLDINGS_H
#define PERFAGG_CORE_HOLDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/fill.h"

struct pack;
struct unpack;

/* A currency code or, for a futures position, a unified symbol. */
#define HOLDINGS_NAME_MAX FILL_SYMBOL_MAX

struct holdings;

/* A new, empty account; never NULL (aborts on OOM). */
struct holdings *holdings_new(void);
/* Frees h; NULL is a no-op. */
void holdings_free(struct holdings *h);

/* Applies fill f (not retained; applied once: the caller deduplicates).
 * Returns 0, or -1 with *errstr on overflow or a name too long (h unchanged). */
int holdings_fill(struct holdings *h, const struct fill *f, const char **errstr);

/* Records the external flow id (copied) of amount in currency at ts_ms.
 * Returns 1 when applied, 0 when id was seen already (ignored), -1 with
 * *errstr on overflow or a bad argument (h unchanged). */
int holdings_flow(struct holdings *h, const char *id, int64_t ts_ms, const char *currency, struct dec amount,
    const char **errstr);

/* Records the funding payment id (copied) of the futures position symbol:
 * amount (received > 0, paid < 0) in currency at ts_ms. Ids are their own
 * namespace (a flow's id never hides a payment's). Returns 1 when applied,
 * 0 when id was seen already (ignored), -1 with *errstr on overflow or a bad
 * argument (h unchanged). */
int holdings_funding(struct holdings *h, const char *id, int64_t ts_ms, const char *symbol, const char *currency,
    struct dec amount, const char **errstr);
/* The funding totals, one per (symbol, currency), in first-seen order,
 * 0 <= i < holdings_nfunding(): 0 with the names (owned by h), the sum of
 * the payments and their count; -1 when i is out of range. */
size_t holdings_nfunding(const struct holdings *h);
int holdings_funding_total(const struct holdings *h, size_t i, const char **symbol, const char **currency,
    struct dec *total, uint64_t *payments);

/* Balance snapshot: begin discards any staged entries; balance stages one
 * currency (a repeat replaces it; -1 with *errstr if the name is too long);
 * commit makes the staged set the snapshot, taken at at_ms; abort drops it. */
void holdings_balances_begin(struct holdings *h);
int holdings_balance(struct holdings *h, const char *currency, struct dec total, const char **errstr);
void holdings_balances_commit(struct holdings *h, int64_t at_ms);
void holdings_balances_abort(struct holdings *h);
/* True once a snapshot was committed; *at_ms then says when. */
bool holdings_has_balances(const struct holdings *h, int64_t *at_ms);

/* Every currency (and futures symbol) with activity or a balance, in first-
 * seen order; 0 <= i < holdings_ncurrencies(). The name is owned by h. */
size_t holdings_ncurrencies(const struct holdings *h);
const char *holdings_currency(const struct holdings *h, size_t i);

/* The first and last day with any activity (fill or flow). Returns -1 when
 * there is none. */
int holdings_span(const struct holdings *h, int64_t *first_day, int64_t *last_day);

/*
 * Writes the balance of currency i at the end of each day first_day ..
 * first_day + ndays - 1 into out[0..ndays-1], reconstructed backwards from
 * the snapshot as above (needs a snapshot; last day = the snapshot's day or
 * later, every activity after it included). Returns 0, or -1 with *errstr
 * (no snapshot, overflow, ndays 0, or activity after the last day asked).
 */
int holdings_daily_balances(const struct holdings *h, size_t i, int64_t first_day, size_t ndays, struct dec *out,
    const char **errstr);

/* The sum of the flows of currency i dated day (0 when none; funding is not
 * a flow). Returns 0, or -1 on overflow. */
int holdings_flows_on(const struct holdings *h, size_t i, int64_t day, struct dec *out);

/*
 * Checkpoints (core/pack.h). holdings_save() appends h's state to w (a
 * version byte first): every currency with its daily changes and committed
 * balance, the flows and funding payments with their ids (so a flow seen
 * again after a load is still ignored), the funding totals, the committed
 * snapshot's time, the changes after it, and the span. A balance snapshot
 * being staged is NOT saved: a checkpoint is taken between snapshots (after
 * commit or abort), and a staged set is lost as by holdings_balances_abort().
 *
 * holdings_load() reads what holdings_save() wrote from r's position (other
 * sections may follow) and returns new holdings (caller frees with
 * holdings_free()), or NULL with *errstr (static) when the version is
 * unknown or the bytes are truncated or inconsistent (indices, order, names,
 * counts are all checked). On NULL, r is bad and nothing is leaked.
 */
void holdings_save(const struct holdings *h, struct pack *w);
struct holdings *holdings_load(struct unpack *r, const char **errstr);

/* Approximate heap bytes held by h (for capacity estimates). */
size_t holdings_bytes(const struct holdings *h);

#endif

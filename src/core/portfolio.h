/*
 * portfolio: the calendar-daily valuation of one quote currency's account,
 * day after day, from a ledger and daily marks: the account's equity and
 * returns (core/equity.h), each symbol's daily PnL (for the correlation
 * matrix) and each symbol's open exposure at the last close (for the
 * exposure concentration).
 *
 * A symbol's daily PnL on day d = (realized + unrealized at d's marks) -
 * (the same at the end of d-1), in the account currency, fees included;
 * 0 before the symbol's first fill. Summed over the symbols it is the
 * account's daily PnL (equity_day.pnl). Its exposure is |open quantity *
 * mark| at the last closed day (0 when flat).
 *
 * Marks: a symbol quoted in the account currency with an open position at
 * the end of a day needs that day's mark; with carry, the latest mark on or
 * before that day serves (never a later one).
 */
#ifndef PERFAGG_CORE_PORTFOLIO_H
#define PERFAGG_CORE_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/equity.h"
#include "core/ledger.h"
#include "core/marks.h"

/* A new account in quote (copied) with capital (> 0) at the start of
 * first_day. NULL with *errstr on bad arguments (see equity_new). */
struct portfolio *portfolio_new(const char *quote, struct dec capital, int64_t first_day, int carry,
    const char **errstr);
void portfolio_free(struct portfolio *p);

/* An external flow dated day (see equity_flow). Returns 0 or -1 with *errstr. */
int portfolio_flow(struct portfolio *p, int64_t day, struct dec amount, const char **errstr);

/*
 * Closes day, which must be the day after the last one closed (or the first
 * day; a caller bug otherwise), after the caller applied to l every fill up
 * to the end of day. Returns 0, or -1 with *errstr set, and *symbol set to
 * the symbol's name (valid until l changes) when its mark is missing, else
 * to NULL; on -1 nothing changed.
 */
int portfolio_close_day(struct portfolio *p, const struct ledger *l, int64_t day,
    const struct marks *m, const char **symbol, const char **errstr);

/* The equity series (owned by p). */
const struct equity *portfolio_equity(const struct portfolio *p);

/* Symbols quoted in the account currency, in first-seen order. */
size_t portfolio_nsymbols(const struct portfolio *p);
const char *portfolio_symbol(const struct portfolio *p, size_t i);
/* Symbol i's daily PnL, equity_ndays() values (owned by p, valid until the
 * next close). */
const double *portfolio_pnl(const struct portfolio *p, size_t i);
/* Symbol i's exposure at the last closed day. */
struct dec portfolio_exposure(const struct portfolio *p, size_t i);

#endif

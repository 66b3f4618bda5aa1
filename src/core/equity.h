/*
 * equity: calendar-daily account equity and time-weighted returns in one
 * quote currency, from a ledger and daily marks supplied by the caller.
 *
 * Equity at the end of day d = starting capital + external flows dated up to
 * d + realized PnL + unrealized PnL at that day's marks, summed over the
 * ledger's symbols quoted in the account currency (fees are inside PnL;
 * fees_unconverted and other quote currencies are not included).
 *
 * Returns: a flow (deposit > 0, withdrawal < 0) dated day d is taken to
 * happen at the start of d, before that day's trading, so
 *	r_d = (E_d - (E_{d-1} + F_d)) / (E_{d-1} + F_d),	E_{-1} = capital,
 * and chaining them, prod(1 + r_d) - 1, is the time-weighted return
 * (metrics.md section 1). Each r_d is computed exactly (rounded once to 18
 * places) and then converted to double for the statistics module.
 *
 * Every calendar day is in the series. The caller closes day d after
 * applying to the ledger every fill up to the end of d. Days skipped between
 * two closes carry the equity forward (only their flows change it), so
 * their return is 0; the skipped days' fills count on the day closed.
 * Days are days since the Unix epoch (time_days_from_civil()).
 */
#ifndef PERFAGG_CORE_EQUITY_H
#define PERFAGG_CORE_EQUITY_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/ledger.h"

struct equity_mark {
	const char *symbol;		/* as in the ledger, e.g. "BTC/USDT" */
	struct dec price;		/* in the account currency */
};

struct equity_day {
	int64_t day;			/* days since the epoch */
	struct dec flow;		/* external flows dated that day */
	struct dec equity;		/* at the end of the day */
	struct dec pnl;			/* equity - (previous equity + flow) */
	double ret;			/* r_d above */
};

/* A new series for account currency quote (copied), starting on first_day
 * with capital (> 0). NULL with *errstr on bad arguments. */
struct equity *equity_new(const char *quote, struct dec capital, int64_t first_day,
    const char **errstr);
void equity_free(struct equity *e);

/* Records an external flow on day (not before the next day to close).
 * Returns 0, or -1 with *errstr. */
int equity_flow(struct equity *e, int64_t day, struct dec amount, const char **errstr);

/*
 * Closes every day up to and including day, valuing open positions at marks
 * (not retained; every symbol in the account currency with an open position
 * needs one). Returns 0, or -1 with *errstr (day already closed, missing
 * mark, overflow, equity not positive at the start of a day); on -1 no day
 * was added.
 */
int equity_close_day(struct equity *e, const struct ledger *l, int64_t day,
    const struct equity_mark *marks, size_t nmarks, const char **errstr);

/* Days closed so far, in order; 0 <= i < equity_ndays(). */
size_t equity_ndays(const struct equity *e);
const struct equity_day *equity_day(const struct equity *e, size_t i);

/* The daily return series (equity_ndays() values; valid until the next
 * close or free) and the time-weighted return prod(1 + r) - 1 (0 when empty). */
const double *equity_returns(const struct equity *e);
double equity_twr(const struct equity *e);

#endif

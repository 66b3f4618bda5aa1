/*
 * marks: daily mark prices (one price per symbol per day, in the symbol's
 * quote currency) for valuing open positions, and their parser.
 *
 * Formats (the first non-blank byte decides):
 * - JSON: {"YYYY-MM-DD": {"BTC/USDT": "43000.5", ...}, ...}; prices are
 *   strings or numbers, both read from their exact text (fill_json_loads).
 * - CSV (core/csvrow.h: no quoting): a header naming the columns date,
 *   symbol and price in any order, then one mark per line.
 * Dates are exactly "YYYY-MM-DD" (UTC days). A price is an exact decimal
 * (dec_parse) and not negative. Two marks for the same date and symbol, or
 * no mark at all, are errors.
 */
#ifndef PERFAGG_CORE_MARKS_H
#define PERFAGG_CORE_MARKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"

#define MARKS_WHERE_MAX 80

/*
 * Parses (buf, len). Returns a new table (caller marks_free()s), or NULL
 * with *errstr (static) set and where (at least MARKS_WHERE_MAX bytes) set to
 * "line N" (CSV) or "DATE" / "DATE SYMBOL" (JSON).
 */
struct marks *marks_parse(const char *buf, size_t len, char *where, const char **errstr);
void marks_free(struct marks *m);

/* The first and last day (since the epoch) with any mark. */
int64_t marks_first_day(const struct marks *m);
int64_t marks_last_day(const struct marks *m);

/*
 * The mark of symbol on day into *price. With carry, the latest mark on or
 * before day (its day into *from, which may be NULL). Returns 0, or -1 when
 * there is none.
 */
int marks_price(const struct marks *m, const char *symbol, int64_t day, int carry,
    struct dec *price, int64_t *from);

#endif
